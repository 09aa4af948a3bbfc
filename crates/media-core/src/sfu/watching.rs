//! Watching on the viewer's offer: a receiving connection whose m-lines the viewer offers,
//! as a WHEP player does, and whose tracks the server picks once, when it answers.

use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::media::Mid;

use super::{OfferedTrack, Sfu};
use crate::error::WatchError;
use crate::ids::{ClientId, TrackId};
use crate::peer::{Forward, PeerKind, ReceivingSide, Side};
use crate::sdp_check::media_lines;

impl Sfu {
    /// Applies a viewer's offer on a new receiving connection of `client` and returns the
    /// answer with the track sent on each m-line. `tracks` are given in order of preference:
    /// each receiving m-line of the offer carries the first of them of its kind that no
    /// earlier m-line carries, and m-lines left over stay silent.
    ///
    /// The server never offers on this connection. A track that ends leaves its m-line
    /// silent, and tracks published later are not added; the viewer offers again on a new
    /// connection to get them.
    pub fn watch(
        &mut self,
        now: Instant,
        client: ClientId,
        offer: &str,
        tracks: &[TrackId],
    ) -> Result<(String, Vec<OfferedTrack>), WatchError> {
        let entry = self
            .clients
            .get(&client)
            .ok_or(WatchError::UnknownClient(client))?;
        if entry.receiving.is_some() {
            return Err(WatchError::AlreadyReceiving(client));
        }
        let parsed =
            SdpOffer::from_sdp_string(offer).map_err(|e| WatchError::InvalidSdp(e.to_string()))?;
        let receiving: Vec<_> = media_lines(offer)
            .into_iter()
            .filter(|line| line.receiving)
            .filter_map(|line| Some((Mid::from(line.mid?.as_str()), line.kind)))
            .collect();
        if receiving.is_empty() {
            return Err(WatchError::NoMedia);
        }

        let side = Side::Receiving(ReceivingSide {
            viewer_offered: true,
            ..ReceivingSide::default()
        });
        let peer_id = self.create_peer(now, client, side, None);
        let peer = self
            .peers
            .get_mut(&peer_id)
            .expect("the peer was just created");
        let answer = match peer.guarded(|rtc| rtc.sdp_api().accept_offer(parsed)) {
            Some(Ok(answer)) => answer,
            Some(Err(error)) => {
                self.peers.remove(&peer_id);
                return Err(WatchError::InvalidSdp(error.to_string()));
            }
            None => {
                self.peers.remove(&peer_id);
                return Err(WatchError::Failed);
            }
        };
        self.attach(client, peer_id, PeerKind::Receiving);

        let mut remaining: Vec<TrackId> = tracks.to_vec();
        let mut offered = Vec::new();
        for (mid, kind) in receiving {
            let position = remaining
                .iter()
                .position(|id| self.tracks.get(id).is_some_and(|t| t.kind == kind));
            let Some(track) = position.map(|i| remaining.remove(i)) else {
                continue;
            };
            let side = self.peers.get_mut(&peer_id).and_then(|p| p.receiving());
            let side = side.expect("the peer was just created as receiving");
            side.forwards.insert(mid, Forward::new(track, kind, None));
            if let Some(entry) = self.tracks.get_mut(&track) {
                entry.subscribers.push((peer_id, mid));
            }
            offered.push(OfferedTrack {
                mid: mid.to_string(),
                track,
            });
        }
        tracing::info!(client = %client, peer = %peer_id, tracks = offered.len(), "viewer offer answered");
        self.open_forwards(now, peer_id);
        self.dirty.push(peer_id);
        self.process(now);
        Ok((answer.to_sdp_string(), offered))
    }
}
