//! Negotiation of receiving connections: the server offers, the subscriber answers.

use std::time::Instant;

use str0m::media::{Direction, KeyframeRequestKind, MediaKind};

use super::{OfferedTrack, Sfu, SfuEvent};
use crate::ids::{ClientId, PeerId, TrackId};
use crate::peer::{Forward, PeerKind, ReceivingSide, Side};

impl Sfu {
    pub(super) fn subscribe(&mut self, now: Instant, client: ClientId, track: TrackId) {
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
            side.to_add.push(track);
        }
        self.negotiate(peer_id);
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
        if side.pending.is_some() {
            return;
        }

        let to_add = std::mem::take(&mut side.to_add);
        let to_stop = std::mem::take(&mut side.to_stop);
        let mut added = Vec::new();
        let tracks = &self.tracks;
        let applied = peer.guarded(|rtc| {
            let mut change = rtc.sdp_api();
            for id in to_add {
                let Some(track) = tracks.get(&id) else {
                    continue;
                };
                let stream = Some(track.client.to_string());
                let track_id = Some(id.to_string());
                let mid = change.add_media(track.kind, Direction::SendOnly, stream, track_id, None);
                added.push((mid, id, track.kind));
            }
            for mid in to_stop {
                change.stop_media(mid);
            }
            change.apply()
        });
        let Some(Some((offer, pending))) = applied else {
            return;
        };

        let side = peer.receiving().expect("checked above");
        side.pending = Some(pending);
        for (mid, id, kind) in &added {
            side.forwards.insert(*mid, Forward::new(*id, *kind));
        }
        let offered = offered_tracks(side);
        for (mid, id, _) in added {
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
        for track in opened {
            self.request_keyframe(now, track, KeyframeRequestKind::Pli);
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
