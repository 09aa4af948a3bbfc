//! Bandwidth capping: str0m's send-side bandwidth estimate (TWCC) of each receiving
//! connection limits the simulcast layers its tracks get, so that they fit together.

use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::media::{MediaKind, Mid};

use super::Sfu;
use crate::bitrate::{allocate, VideoDemand};
use crate::ids::{PeerId, TrackId};
use crate::peer::Side;

/// The estimate a receiving connection starts with, before any feedback, in bits per
/// second. str0m probes upwards from it.
pub(super) const INITIAL_ESTIMATE: u64 = 1_000_000;

/// The share of the estimate a higher layer must fit in before a subscriber gets it. The
/// rest absorbs retransmissions, a layer that sends more for a while, and an estimate that
/// is too high. Layers a subscriber has may use the whole estimate, so that a connection
/// whose estimate hovers just above its rate does not flap.
const HEADROOM: f64 = 0.85;

/// How often each receiving connection shares its estimate among its tracks again, so
/// that new layer bitrates count and a held raise takes effect.
const ALLOCATION_INTERVAL: Duration = Duration::from_millis(250);

impl Sfu {
    /// Records a new bandwidth estimate of a receiving connection and shares it at once.
    pub(super) fn note_estimate(&mut self, now: Instant, peer_id: PeerId, estimate: Bitrate) {
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) else {
            return;
        };
        side.estimate = Some(estimate.as_u64());
        self.allocate_bandwidth(now, peer_id);
    }

    /// Shares the estimate of every receiving connection whose turn has come.
    pub(super) fn allocate_due(&mut self, now: Instant) {
        let mut due: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| match &p.side {
                Side::Receiving(side) => side.next_allocation.is_some_and(|at| at <= now),
                Side::Publishing(_) => false,
            })
            .map(|p| p.id)
            .collect();
        due.sort();
        for peer_id in due {
            self.allocate_bandwidth(now, peer_id);
        }
    }

    /// Returns the earliest time a receiving connection shares its estimate again.
    pub(super) fn allocation_deadline(&self) -> Option<Instant> {
        self.peers
            .values()
            .filter_map(|p| match &p.side {
                Side::Receiving(side) => side.next_allocation,
                Side::Publishing(_) => None,
            })
            .min()
    }

    /// Caps the layer of each video track of a receiving connection so that the measured
    /// bitrates of all its tracks fit the estimate, and tells str0m what the views call
    /// for, so that it probes for that much. Audio is never capped and is paid first.
    fn allocate_bandwidth(&mut self, now: Instant, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let Side::Receiving(side) = &mut peer.side else {
            return;
        };
        side.next_allocation = Some(now + ALLOCATION_INTERVAL);
        let Some(estimate) = side.estimate else {
            return;
        };

        let mut audio: u64 = 0;
        let mut desired: u64 = 0;
        let mut video: Vec<Mid> = Vec::new();
        let mut demands: Vec<VideoDemand> = Vec::new();
        let mut mids: Vec<Mid> = side.forwards.keys().copied().collect();
        mids.sort();
        for mid in mids {
            let forward = &side.forwards[&mid];
            let Some(track) = self.tracks.get(&forward.track).filter(|_| forward.open) else {
                continue;
            };
            let layer_bitrates = track.layers.bitrates();
            let target = track.layers.for_view(forward.view);
            let wanted = layer_bitrates.get(target).copied().unwrap_or(0);
            desired += wanted;
            if forward.kind == MediaKind::Audio {
                audio += wanted;
                continue;
            }
            video.push(mid);
            demands.push(VideoDemand {
                layer_bitrates,
                target,
            });
        }

        let video_budget = estimate.saturating_sub(audio);
        let keep = allocate(video_budget, &demands);
        let raise = allocate((video_budget as f64 * HEADROOM) as u64, &demands);
        let mut changed: Vec<TrackId> = Vec::new();
        for (index, mid) in video.iter().enumerate() {
            let Some(forward) = side.forwards.get_mut(mid) else {
                continue;
            };
            let target = demands[index].target;
            let limit = |level: usize| (level < target).then_some(level);
            if forward
                .cap
                .update(now, limit(keep[index]), limit(raise[index]))
            {
                tracing::debug!(peer = %peer_id, track = %forward.track, limit = ?forward.cap.limit(), estimate, "bandwidth cap changed");
                changed.push(forward.track);
            }
        }

        // While a track is capped, str0m pads up to what the views call for, within its
        // estimate, so that the estimate can grow back to a higher layer: it rises only
        // with what is sent.
        let capped = side.forwards.values().any(|f| f.cap.limit().is_some());
        let desired = Bitrate::bps((desired as f64 / HEADROOM) as u64);
        let minimum = if capped { desired } else { Bitrate::ZERO };
        peer.guarded(|rtc| rtc.bwe().set_bitrate(minimum, desired));
        self.dirty.push(peer_id);
        for track in changed {
            self.update_wanted_layers(now, track);
        }
    }
}
