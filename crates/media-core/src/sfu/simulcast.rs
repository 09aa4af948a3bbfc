//! Simulcast: the size each subscriber shows a track at, the layer that suits it, and the
//! layers the publisher needs to send.

use std::time::Instant;

use str0m::media::{MediaKind, Rid};

use super::{Sfu, SfuEvent};
use crate::ids::{ClientId, TrackId};
use crate::layer::ViewSize;
use crate::peer::Forward;
use crate::track::TrackIn;

impl Sfu {
    /// Returns the simulcast layer of `track` that `client` receives now: its RTP stream id
    /// and, when known, its frame size. `None` when the track has one layer or the client
    /// has not received a packet of it yet.
    pub fn forwarded_layer(
        &self,
        client: ClientId,
        track: TrackId,
    ) -> Option<(String, Option<(u32, u32)>)> {
        let layers = &self.tracks.get(&track)?.layers;
        if !layers.is_simulcast() {
            return None;
        }
        let peer_id = self.clients.get(&client)?.receiving?;
        let side = self.peers.get(&peer_id)?.receiving_side()?;
        let forward = side.forwards.values().find(|f| f.track == track)?;
        let layer = layers.get(forward.layer?)?;
        Some((layer.rid?.to_string(), layer.size))
    }

    /// Records that `client` shows `track` at `view`, so that it receives the layer that
    /// suits that size, from the next keyframe of that layer on. Returns false when the
    /// client does not receive the track.
    pub fn set_view_size(
        &mut self,
        now: Instant,
        client: ClientId,
        track: TrackId,
        view: ViewSize,
    ) -> bool {
        let Some(peer_id) = self.clients.get(&client).and_then(|c| c.receiving) else {
            return false;
        };
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) else {
            return false;
        };
        let Some(forward) = side.forwards.values_mut().find(|f| f.track == track) else {
            return false;
        };
        forward.view = Some(view);
        let (open, limit) = (forward.open, forward.cap.limit());
        self.update_wanted_layers(now, track);
        if open {
            self.request_chosen_keyframe(now, track, view, limit);
        }
        self.process(now);
        true
    }

    /// Asks for a keyframe of the layer that suits `view` within the bandwidth `limit`,
    /// when it arrives, so that a subscriber whose view changed switches without waiting
    /// for the encoder's next one.
    fn request_chosen_keyframe(
        &mut self,
        now: Instant,
        track: TrackId,
        view: ViewSize,
        limit: Option<usize>,
    ) {
        let Some(entry) = self.tracks.get(&track) else {
            return;
        };
        let layers = &entry.layers;
        if !layers.is_simulcast() {
            return;
        }
        let target = layers.for_view_within(Some(view), limit);
        if let Some(layer) = layers.fallback(target, now) {
            self.request_waiting_keyframe(now, track, layer);
        }
    }

    /// Returns the layer a subscriber's forward should get a keyframe of: the layer it
    /// receives now, or else the one that suits its view.
    pub(super) fn layer_for_keyframe(&self, now: Instant, forward: &Forward) -> usize {
        let Some(track) = self.tracks.get(&forward.track) else {
            return 0;
        };
        let layers = &track.layers;
        let current = forward.rewriter.as_ref().and_then(|r| r.current_ssrc());
        if let Some(layer) = current.and_then(|ssrc| layers.index_of_ssrc(ssrc)) {
            return layer;
        }
        let target = forward.target_layer(layers);
        layers.fallback(target, now).unwrap_or(target)
    }

    /// Works out which layers of `track` someone needs, and reports them to the publisher
    /// when they changed.
    pub(super) fn update_wanted_layers(&mut self, now: Instant, track: TrackId) {
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        if entry.kind != MediaKind::Video || !entry.layers.is_simulcast() {
            return;
        }
        entry.wanted_checked_at = Some(now);

        let (targets, current) = self.layers_in_use(track);
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        let wanted = wanted_rids(entry, &targets, &current, now);
        if wanted == entry.wanted {
            return;
        }

        tracing::debug!(track = %track, ?wanted, "simulcast layers wanted");
        let event = SfuEvent::LayersWanted {
            client: entry.client,
            mid: entry.mid.to_string(),
            rids: wanted.iter().map(|rid| rid.to_string()).collect(),
        };
        entry.wanted = wanted;
        self.events.push_back(event);
    }

    /// Returns the layers of `track` that suit its subscribers' views and the recording,
    /// and the layers its subscribers receive now.
    fn layers_in_use(&self, track: TrackId) -> (Vec<usize>, Vec<usize>) {
        let mut targets: Vec<usize> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let Some(entry) = self.tracks.get(&track) else {
            return (targets, current);
        };
        let forwards = entry.subscribers.iter().filter_map(|(peer, mid)| {
            let side = match &self.peers.get(peer)?.side {
                crate::peer::Side::Receiving(side) => side,
                crate::peer::Side::Publishing(_) => return None,
            };
            side.forwards.get(mid)
        });
        for forward in forwards {
            targets.push(forward.target_layer(&entry.layers));
            let ssrc = forward.rewriter.as_ref().and_then(|r| r.current_ssrc());
            current.extend(ssrc.and_then(|ssrc| entry.layers.index_of_ssrc(ssrc)));
        }
        if entry.recorded {
            targets.push(entry.layers.top());
        }
        (targets, current)
    }
}

/// Returns the RIDs of the layers of `track` that someone needs at `now`, lowest first.
/// These are the `targets`, which suit the subscribers' views or the recording, and the
/// `current` layers, which subscribers receive until they switch. A target that does not
/// arrive adds the layer below it, for the subscribers to fall back to. Every layer whose
/// frame size is not known yet is needed too, because it cannot be matched to a view
/// without it. The lowest is always needed, so that subscribers have a layer to fall back
/// to at once.
fn wanted_rids(track: &TrackIn, targets: &[usize], current: &[usize], now: Instant) -> Vec<Rid> {
    let layers = &track.layers;
    let mut wanted = vec![false; layers.len()];
    wanted[0] = true;
    for &target in targets {
        let fallback = (target > 0 && !layers.is_arriving(target, now)).then(|| target - 1);
        for layer in [Some(target), fallback].into_iter().flatten() {
            if let Some(wanted) = wanted.get_mut(layer) {
                *wanted = true;
            }
        }
    }
    for layer in current {
        if let Some(wanted) = wanted.get_mut(*layer) {
            *wanted = true;
        }
    }
    for (index, layer) in layers.iter().enumerate() {
        if layer.size.is_none() {
            wanted[index] = true;
        }
    }
    layers
        .iter()
        .zip(wanted)
        .filter(|(_, wanted)| *wanted)
        .filter_map(|(layer, _)| layer.rid)
        .collect()
}
