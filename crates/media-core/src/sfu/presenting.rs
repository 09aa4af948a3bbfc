//! Presenters: clients whose tracks reach those who receive only presenters. A client can
//! become a presenter and stop being one while it publishes, as a briefing participant who
//! is given the floor and has it taken back.

use std::time::Instant;

use super::Sfu;
use crate::ids::{ClientId, PeerId, TrackId};

impl Sfu {
    /// Makes `client` a presenter or takes that away. Returns false when the client is not
    /// known.
    ///
    /// A new presenter's tracks are offered at once to every client that may now receive
    /// them. A former presenter's tracks stop at once for every client that may no longer
    /// receive them: nothing more is forwarded, and each such subscriber gets one new offer
    /// in which those m-lines are inactive.
    pub fn set_presenter(&mut self, now: Instant, client: ClientId, presenter: bool) -> bool {
        let Some(entry) = self.clients.get_mut(&client) else {
            return false;
        };
        if entry.options.presenter == presenter {
            return true;
        }
        entry.options.presenter = presenter;
        tracing::debug!(client = %client, presenter, "presenter changed");

        let mut tracks: Vec<TrackId> = self
            .tracks
            .values()
            .filter(|t| t.client == client)
            .map(|t| t.id)
            .collect();
        tracks.sort();
        if presenter {
            self.subscribe_newly_eligible(now, &tracks);
        } else {
            self.unsubscribe_ineligible(&tracks);
        }
        self.process(now);
        true
    }

    /// Returns whether `client` is a presenter, or `None` when it is not known.
    pub fn is_presenter(&self, client: ClientId) -> Option<bool> {
        self.clients.get(&client).map(|c| c.options.presenter)
    }

    pub(super) fn subscribe_newly_eligible(&mut self, now: Instant, tracks: &[TrackId]) {
        let mut receivers: Vec<ClientId> = self.clients.keys().copied().collect();
        receivers.sort();
        for receiver in receivers {
            let receiving = self.clients.get(&receiver).and_then(|c| c.receiving);
            let eligible: Vec<TrackId> = tracks
                .iter()
                .copied()
                .filter(|id| {
                    self.tracks.get(id).is_some_and(|t| {
                        self.may_receive(receiver, t)
                            && !receiving.is_some_and(|peer| subscribed(t, peer))
                    })
                })
                .collect();
            self.subscribe(now, receiver, &eligible);
        }
    }

    pub(super) fn unsubscribe_ineligible(&mut self, tracks: &[TrackId]) {
        let mut affected: Vec<PeerId> = Vec::new();
        for id in tracks {
            let Some(track) = self.tracks.get(id) else {
                continue;
            };
            let dropped: Vec<(PeerId, str0m::media::Mid)> = track
                .subscribers
                .iter()
                .copied()
                .filter(|(peer, _)| {
                    let receiver = self.peers.get(peer).map(|p| p.client);
                    !receiver.is_some_and(|r| self.may_receive(r, track))
                })
                .collect();
            for (peer_id, mid) in &dropped {
                let side = self.peers.get_mut(peer_id).and_then(|p| p.receiving());
                if let Some(side) = side {
                    if let Some(forward) = side.forwards.remove(mid) {
                        side.to_deactivate.push(forward.into_idle(*mid));
                    }
                }
                if !affected.contains(peer_id) {
                    affected.push(*peer_id);
                }
            }
            if let Some(track) = self.tracks.get_mut(id) {
                track.subscribers.retain(|entry| !dropped.contains(entry));
            }
            self.withdraw_queued(*id);
        }
        for peer_id in affected {
            self.negotiate(peer_id);
        }
    }

    /// Removes `track` from the next offer of every receiver that may no longer receive it.
    fn withdraw_queued(&mut self, track: TrackId) {
        let Some(entry) = self.tracks.get(&track) else {
            return;
        };
        let barred: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| !self.may_receive(p.client, entry))
            .map(|p| p.id)
            .collect();
        for peer_id in barred {
            if let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) {
                side.to_add.retain(|t| *t != track);
            }
        }
    }
}

fn subscribed(track: &crate::track::TrackIn, peer: PeerId) -> bool {
    track.subscribers.iter().any(|(p, _)| *p == peer)
}
