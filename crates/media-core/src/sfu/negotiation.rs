//! Negotiation of receiving connections: the server offers, the subscriber answers.

use std::collections::HashMap;
use std::time::Instant;

use str0m::media::{Direction, MediaKind};

use super::{OfferedTrack, Sfu, SfuEvent};
use crate::ids::{ClientId, PeerId, TrackId};
use crate::peer::{Forward, IdleSlot, PeerKind, ReceivingSide, Side};
use crate::track::TrackIn;

impl Sfu {
    /// Adds `tracks` to the client's receiving connection, creating it if needed, in one
    /// offer.
    pub(super) fn subscribe(&mut self, now: Instant, client: ClientId, tracks: &[TrackId]) {
        if tracks.is_empty() {
            return;
        }
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let peer_id = match entry.receiving {
            Some(peer) => peer,
            None => {
                let side = Side::Receiving(ReceivingSide::default());
                let peer = self.create_peer(now, client, side, None);
                self.attach(client, peer, PeerKind::Receiving);
                peer
            }
        };
        if let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) {
            side.to_add.extend_from_slice(tracks);
        }
        self.negotiate(peer_id);
    }

    /// Makes the next offer on the client's receiving connection restart ICE, and sends it
    /// now unless an offer waits for its answer. Returns false when the client has no
    /// receiving connection.
    pub fn restart_receiving_ice(&mut self, now: Instant, client: ClientId) -> bool {
        let Some(peer_id) = self.clients.get(&client).and_then(|c| c.receiving) else {
            return false;
        };
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) else {
            return false;
        };
        side.ice_restart = true;
        self.negotiate(peer_id);
        self.process(now);
        true
    }

    /// Sends a new offer on a receiving connection if something changed and no offer waits.
    pub(super) fn negotiate(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let client = peer.client;
        let Side::Receiving(side) = &mut peer.side else {
            return;
        };
        if side.viewer_offered {
            side.to_add.clear();
            side.to_deactivate.clear();
            return;
        }
        if side.pending.is_some() {
            return;
        }

        let to_add = std::mem::take(&mut side.to_add);
        let to_deactivate = std::mem::take(&mut side.to_deactivate);
        let ice_restart = std::mem::take(&mut side.ice_restart);
        let mut idle = std::mem::take(&mut side.idle);
        let plan = plan_additions(&self.tracks, to_add, &mut idle);
        let applied = peer.guarded(|rtc| {
            let mut change = rtc.sdp_api();
            if ice_restart {
                change.ice_restart(true);
            }
            let mut mids = Vec::with_capacity(plan.len());
            for addition in &plan {
                let mid = match &addition.slot {
                    Some(slot) => {
                        change.set_direction(slot.mid, Direction::SendOnly);
                        slot.mid
                    }
                    None => {
                        let stream = Some(addition.stream.clone());
                        let track = Some(addition.track.to_string());
                        change.add_media(addition.kind, Direction::SendOnly, stream, track, None)
                    }
                };
                mids.push(mid);
            }
            for slot in &to_deactivate {
                change.set_direction(slot.mid, Direction::Inactive);
            }
            change.apply().map(|offer| (offer, mids))
        });

        let side = peer.receiving().expect("checked above");
        idle.extend(to_deactivate);
        side.idle = idle;
        let Some(Some(((offer, pending), mids))) = applied else {
            return;
        };
        side.pending = Some(pending);
        let mut added = Vec::with_capacity(plan.len());
        for (addition, mid) in plan.into_iter().zip(mids) {
            let rewriter = addition.slot.and_then(|slot| slot.rewriter);
            let forward = Forward::new(addition.track, addition.kind, rewriter);
            side.forwards.insert(mid, forward);
            added.push((mid, addition.track));
        }
        let offered = offered_tracks(side);
        for (mid, id) in added {
            if let Some(track) = self.tracks.get_mut(&id) {
                track.subscribers.push((peer_id, mid));
            }
        }

        self.dirty.push(peer_id);
        self.events.push_back(SfuEvent::SubscribeOffer {
            client,
            sdp: offer.to_sdp_string(),
            tracks: offered,
        });
    }

    /// Marks the forwards covered by an accepted answer as open and asks their publishers for
    /// keyframes, so that the new subscriber can start decoding.
    pub(super) fn open_forwards(&mut self, now: Instant, peer_id: PeerId) {
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) else {
            return;
        };
        let mut opened = Vec::new();
        for forward in side.forwards.values_mut().filter(|f| !f.open) {
            forward.open = true;
            if forward.kind == MediaKind::Video {
                opened.push(forward.track);
            }
        }
        opened.sort();
        for track in opened {
            let layer = self
                .peers
                .get(&peer_id)
                .and_then(|p| match &p.side {
                    Side::Receiving(side) => side.forwards.values().find(|f| f.track == track),
                    Side::Publishing(_) => None,
                })
                .map(|f| self.layer_for_keyframe(now, f))
                .unwrap_or(0);
            self.request_waiting_keyframe(now, track, layer);
            self.update_wanted_layers(now, track);
        }
    }
}

/// Lists the tracks a receiving connection carries, by MID.
fn offered_tracks(side: &ReceivingSide) -> Vec<OfferedTrack> {
    let mut offered: Vec<OfferedTrack> = side
        .forwards
        .iter()
        .map(|(mid, forward)| OfferedTrack {
            mid: mid.to_string(),
            track: forward.track,
        })
        .collect();
    offered.sort_by(|a, b| a.mid.cmp(&b.mid));
    offered
}

/// A track to add to a receiving connection, on an idle m-line of its kind or a new one.
struct Addition {
    track: TrackId,
    kind: MediaKind,
    /// The publisher's client, as the MSID stream of a new m-line.
    stream: String,
    slot: Option<IdleSlot>,
}

/// Pairs each track still published with an idle m-line of its kind, where one is left.
fn plan_additions(
    tracks: &HashMap<TrackId, TrackIn>,
    to_add: Vec<TrackId>,
    idle: &mut Vec<IdleSlot>,
) -> Vec<Addition> {
    let mut plan = Vec::with_capacity(to_add.len());
    for id in to_add {
        let Some(track) = tracks.get(&id) else {
            continue;
        };
        let slot = idle
            .iter()
            .position(|slot| slot.kind == track.kind)
            .map(|position| idle.remove(position));
        plan.push(Addition {
            track: id,
            kind: track.kind,
            stream: track.client.to_string(),
            slot,
        });
    }
    plan
}
