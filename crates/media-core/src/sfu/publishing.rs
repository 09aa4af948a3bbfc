//! Publishing: tracks appear and disappear as publishers' m-lines start and stop receiving.

use std::time::Instant;

use str0m::media::{MediaKind, Mid};

use super::{summary, Sfu, SfuEvent};
use crate::ids::{ClientId, PeerId, TrackId, TrackSource};
use crate::layer::Layers;
use crate::track::TrackIn;

impl Sfu {
    pub(super) fn note_mid(&mut self, peer_id: PeerId, mid: Mid) {
        let side = self.peers.get_mut(&peer_id).and_then(|p| p.publishing());
        if let Some(side) = side {
            if !side.mids.contains(&mid) {
                side.mids.push(mid);
            }
        }
    }

    /// Brings every m-line of a publishing peer in line with its negotiated direction.
    pub(super) fn reconcile_published(&mut self, now: Instant, peer_id: PeerId) {
        let mids = match self.peers.get_mut(&peer_id).and_then(|p| p.publishing()) {
            Some(side) => side.mids.clone(),
            None => return,
        };
        for mid in mids {
            self.reconcile_mid(now, peer_id, mid);
        }
    }

    /// Publishes a track for an m-line that receives and has none, or unpublishes the track
    /// of an m-line that no longer receives.
    pub(super) fn reconcile_mid(&mut self, now: Instant, peer_id: PeerId, mid: Mid) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let media = peer.rtc.media(mid);
        let receiving = media.is_some_and(|m| m.direction().is_receiving() && !m.disabled());
        let kind = media.map(|m| m.kind());
        let client = peer.client;
        let side = peer
            .publishing()
            .expect("reconcile is called for publishing peers");
        let existing = side.tracks.get(&mid).copied();
        match (receiving, existing, kind) {
            (true, None, Some(kind)) => {
                let source = side.sources.get(&mid).copied().unwrap_or(match kind {
                    MediaKind::Audio => TrackSource::Microphone,
                    MediaKind::Video => TrackSource::Camera,
                });
                if let Some(id) = self.adopt_orphan(now, peer_id, mid, kind, source) {
                    let side = self.peers.get_mut(&peer_id).and_then(|p| p.publishing());
                    side.expect("checked above").tracks.insert(mid, id);
                    return;
                }
                let id = TrackId(self.allocate_id());
                let side = self.peers.get_mut(&peer_id).and_then(|p| p.publishing());
                side.expect("checked above").tracks.insert(mid, id);
                self.add_track(now, client, peer_id, mid, kind, source, id);
            }
            (false, Some(track), _) => {
                side.tracks.remove(&mid);
                side.by_ssrc.retain(|_, (t, _)| *t != track);
                self.remove_tracks(&[track]);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_track(
        &mut self,
        now: Instant,
        client: ClientId,
        peer: PeerId,
        mid: Mid,
        kind: MediaKind,
        source: TrackSource,
        id: TrackId,
    ) {
        let Some((room, recorded)) = self
            .clients
            .get(&client)
            .map(|c| (c.options.room.clone(), c.options.recorded))
        else {
            return;
        };
        let layers = self
            .peers
            .get(&peer)
            .map(|p| Layers::from_rids(&super::forwarding::negotiated_rids(p, mid)))
            .unwrap_or_else(Layers::single);
        let track = TrackIn {
            id,
            client,
            room: room.clone(),
            peer,
            mid,
            kind,
            source,
            layers,
            wanted: Vec::new(),
            wanted_checked_at: None,
            subscribers: Vec::new(),
            full_intra_requested: false,
            recorded,
            recorder: None,
            orphaned_at: None,
        };
        tracing::info!(room = %room, client = %client, track = %id, ?kind, ?source, "track published");
        self.events.push_back(SfuEvent::TrackPublished {
            room,
            track: summary(&track),
        });
        self.tracks.insert(id, track);
        let receivers: Vec<ClientId> = self.clients.keys().copied().collect();
        for receiver in receivers {
            let eligible = self
                .tracks
                .get(&id)
                .is_some_and(|t| self.may_receive(receiver, t));
            if eligible {
                self.subscribe(now, receiver, &[id]);
            }
        }
    }

    /// Removes tracks and stops the m-lines that carry them, with one new offer per affected
    /// subscriber, so that a publisher leaving with several tracks costs one renegotiation.
    pub(super) fn remove_tracks(&mut self, ids: &[TrackId]) {
        let mut affected: Vec<PeerId> = Vec::new();
        for id in ids {
            let Some(track) = self.tracks.remove(id) else {
                continue;
            };
            tracing::info!(room = %track.room, client = %track.client, track = %id, "track unpublished");
            for (peer_id, mid) in &track.subscribers {
                let side = self.peers.get_mut(peer_id).and_then(|p| p.receiving());
                if let Some(side) = side {
                    if let Some(forward) = side.forwards.remove(mid) {
                        side.to_deactivate.push(forward.into_idle(*mid));
                    }
                    side.to_add.retain(|t| t != id);
                }
                if !affected.contains(peer_id) {
                    affected.push(*peer_id);
                }
            }
            self.events.push_back(SfuEvent::TrackUnpublished {
                room: track.room,
                track: *id,
                client: track.client,
            });
        }
        for peer_id in affected {
            self.negotiate(peer_id);
        }
    }
}
