//! Rejoining: the tracks of a lost publishing connection keep their subscribers for the
//! rejoin grace, and the client's next publishing connection takes them over.
//!
//! A browser whose network changed, or whose ICE restart failed, opens a new publishing
//! connection. Its tracks get the ids of the old connection's tracks with the same kind
//! and source, so subscribers keep their m-lines and the recorder its recording. The new
//! SSRC that arrives on those tracks is turned into a continuous stream by the rewriter.

use std::collections::HashMap;
use std::time::Instant;

use str0m::media::{MediaKind, Mid};

use super::{summary, Sfu, SfuEvent};
use crate::ids::{ClientId, PeerId, TrackId, TrackSource};
use crate::layer::Layers;
use crate::track::TrackIn;

impl Sfu {
    /// Detaches the tracks of a publishing peer that is going away, so that they outlive it.
    pub(super) fn orphan_tracks(&mut self, now: Instant, peer_id: PeerId) {
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.publishing()) else {
            return;
        };
        let mut ids: Vec<TrackId> = side.tracks.drain().map(|(_, id)| id).collect();
        side.by_ssrc.clear();
        ids.sort();
        for id in ids {
            if let Some(track) = self.tracks.get_mut(&id) {
                tracing::info!(room = %track.room, client = %track.client, track = %id, "track kept for a rejoin");
                track.orphaned_at = Some(now);
                track.layers.forget_streams();
                track.recorder = None;
            }
        }
    }

    /// Reports a publishing connection that restarts ICE as interrupted until ICE completes
    /// again: the client restarts only when it has lost its path to the server.
    pub(super) fn note_ice_restart(&mut self, client: ClientId, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        tracing::debug!(client = %client, peer = %peer_id, "ICE restart");
        if !peer.interrupted {
            peer.interrupted = true;
            self.events.push_back(SfuEvent::MediaInterrupted {
                client,
                kind: crate::peer::PeerKind::Publishing,
            });
        }
    }

    /// Returns whether a publishing offer with `fingerprint` comes from another browser
    /// connection than the one `peer` serves.
    pub(super) fn is_new_connection(&self, peer: PeerId, fingerprint: Option<&str>) -> bool {
        let known = self.peers.get(&peer).and_then(|p| match &p.side {
            crate::peer::Side::Publishing(side) => side.fingerprint.as_deref(),
            crate::peer::Side::Receiving(_) => None,
        });
        matches!((known, fingerprint), (Some(known), Some(offered)) if known != offered)
    }

    /// Assigns the orphaned tracks of `client` to the m-lines of its new connection `peer`
    /// that declare the same source, and unpublishes the orphans no m-line declares.
    pub(super) fn reserve_orphans(
        &mut self,
        client: ClientId,
        peer: PeerId,
        sources: &[(String, TrackSource)],
    ) {
        let mut orphans: Vec<(TrackId, TrackSource)> = self
            .tracks
            .values()
            .filter(|t| t.client == client && t.orphaned_at.is_some())
            .map(|t| (t.id, t.source))
            .collect();
        orphans.sort_by_key(|(id, _)| *id);
        let mut reserved = HashMap::new();
        for (mid, source) in sources {
            let found = orphans.iter().position(|(_, s)| s == source);
            if let Some(index) = found {
                let (id, _) = orphans.remove(index);
                reserved.insert(Mid::from(mid.as_str()), id);
            }
        }
        if let Some(side) = self.peers.get_mut(&peer).and_then(|p| p.publishing()) {
            side.reserved.extend(reserved);
        }
        let ended: Vec<TrackId> = orphans.into_iter().map(|(id, _)| id).collect();
        self.remove_orphans(|t| ended.contains(&t.id));
    }

    /// Gives `peer`'s m-line `mid` the orphaned track reserved for it, when its kind and
    /// source match. Returns the track's id.
    pub(super) fn adopt_orphan(
        &mut self,
        now: Instant,
        peer: PeerId,
        mid: Mid,
        kind: MediaKind,
        source: TrackSource,
    ) -> Option<TrackId> {
        let side = self.peers.get_mut(&peer).and_then(|p| p.publishing())?;
        let id = side.reserved.remove(&mid)?;
        let track = self.tracks.get_mut(&id)?;
        if track.orphaned_at.is_none() || track.kind != kind || track.source != source {
            return None;
        }
        track.peer = peer;
        track.mid = mid;
        track.orphaned_at = None;
        let rids = self
            .peers
            .get(&peer)
            .map(|p| super::forwarding::negotiated_rids(p, mid))
            .unwrap_or_default();
        let track = self.tracks.get_mut(&id)?;
        track.layers = Layers::from_rids(&rids);
        // The new connection's encodings all start active.
        track.wanted = Vec::new();
        tracing::info!(room = %track.room, client = %track.client, track = %id, "track resumed on a new connection");
        self.events.push_back(SfuEvent::TrackResumed {
            room: track.room.clone(),
            track: summary(track),
        });
        // The new streams are unknown until their first packets; the throttles hold the
        // requests until they can be sent.
        let layers = track.layers.len();
        for layer in 0..layers {
            self.request_waiting_keyframe(now, id, layer);
        }
        self.update_wanted_layers(now, id);
        Some(id)
    }

    /// Unpublishes the orphaned tracks that `select` picks.
    pub(super) fn remove_orphans(&mut self, select: impl Fn(&TrackIn) -> bool) {
        let mut ids: Vec<TrackId> = self
            .tracks
            .values()
            .filter(|t| t.orphaned_at.is_some() && select(t))
            .map(|t| t.id)
            .collect();
        ids.sort();
        if !ids.is_empty() {
            self.remove_tracks(&ids);
        }
    }

    /// Unpublishes the orphaned tracks whose rejoin grace has ended.
    pub(super) fn expire_orphans(&mut self, now: Instant) {
        let grace = self.config.rejoin_grace;
        self.remove_orphans(|t| t.orphaned_at.is_some_and(|at| at + grace <= now));
    }

    /// Returns when the first orphaned track's rejoin grace ends.
    pub(super) fn orphan_deadline(&self) -> Option<Instant> {
        let grace = self.config.rejoin_grace;
        self.tracks
            .values()
            .filter_map(|t| t.orphaned_at)
            .min()
            .map(|at| at + grace)
    }
}

/// Returns the first `a=ice-ufrag` value of an SDP.
pub(super) fn offer_ufrag(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=ice-ufrag:"))
        .map(str::to_owned)
}

/// Returns the first `a=fingerprint` value of an SDP, which names the certificate of the
/// browser connection that made it.
pub(super) fn offer_fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=fingerprint:"))
        .map(str::to_owned)
}
