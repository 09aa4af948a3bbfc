//! Simulcast layers of a published video track, and the choice of one layer per receiver.
//!
//! A simulcast publisher sends one video track as up to three encodings of different sizes,
//! each an RTP stream with its own SSRC and a RID (RFC 8853). A track that is not simulcast
//! has one layer without a RID. Layers are kept lowest first. The offer's `a=simulcast`
//! line, which browsers write in the order of `sendEncodings`, lists them highest first.

use std::time::{Duration, Instant};

use str0m::media::Rid;
use str0m::rtp::Ssrc;

use crate::bitrate::BitrateMeter;
use crate::track::KeyframeThrottle;

/// A layer that sent nothing for this long counts as stopped, and receivers fall back to
/// another layer. Cameras send 15 to 30 frames per second, so a second is many frames.
pub(crate) const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(1);

/// The size at which a receiver shows a video, in device pixels. A zero size means that
/// the video is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewSize {
    /// Width in device pixels.
    pub width: u32,
    /// Height in device pixels.
    pub height: u32,
}

impl ViewSize {
    fn is_hidden(self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// One encoding of a video track.
#[derive(Debug)]
pub(crate) struct Layer {
    /// The RTP stream id, or `None` for a track that is not simulcast.
    pub rid: Option<Rid>,
    /// SSRC of the newest packet of this layer.
    pub ssrc: Option<Ssrc>,
    last_arrival: Option<Instant>,
    /// Frame width and height, read from the layer's keyframes where the codec allows.
    pub size: Option<(u32, u32)>,
    pub keyframes: KeyframeThrottle,
    /// The layer's bitrate, measured from its packets.
    pub bitrate: BitrateMeter,
}

impl Layer {
    fn new(rid: Option<Rid>) -> Self {
        Self {
            rid,
            ssrc: None,
            last_arrival: None,
            size: None,
            keyframes: KeyframeThrottle::default(),
            bitrate: BitrateMeter::default(),
        }
    }
}

/// The layers of one track, lowest first.
#[derive(Debug)]
pub(crate) struct Layers {
    layers: Vec<Layer>,
    /// When the first packet of any layer arrived. For [`ARRIVAL_TIMEOUT`] after it, a
    /// layer that has not sent anything yet counts as arriving, so that receivers do not
    /// start on whichever layer happens to come first and switch a moment later.
    first_arrival: Option<Instant>,
}

impl Layers {
    /// Returns the single layer of a track that is not simulcast.
    pub fn single() -> Self {
        Self {
            layers: vec![Layer::new(None)],
            first_arrival: None,
        }
    }

    /// Returns the layers `rids` names, or a single layer without a RID when `rids` is
    /// empty. `rids` is in the order of the offer, highest first.
    pub fn from_rids(rids: &[Rid]) -> Self {
        if rids.is_empty() {
            return Self::single();
        }
        Self {
            layers: rids
                .iter()
                .rev()
                .map(|rid| Layer::new(Some(*rid)))
                .collect(),
            first_arrival: None,
        }
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_simulcast(&self) -> bool {
        self.layers.len() > 1
    }

    pub fn get(&self, index: usize) -> Option<&Layer> {
        self.layers.get(index)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Layer> {
        self.layers.get_mut(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Layer> {
        self.layers.iter_mut()
    }

    /// Returns the index of the layer with `rid`. A packet without a RID belongs to the
    /// only layer of a track that is not simulcast.
    pub fn index_of(&self, rid: Option<Rid>) -> Option<usize> {
        self.layers.iter().position(|layer| layer.rid == rid)
    }

    /// Returns the index of the layer whose newest packet came with `ssrc`.
    pub fn index_of_ssrc(&self, ssrc: Ssrc) -> Option<usize> {
        self.layers
            .iter()
            .position(|layer| layer.ssrc == Some(ssrc))
    }

    /// Records a packet of layer `index` that arrived at `now`, with the frame size its
    /// keyframe declares, if any.
    pub fn note_packet(
        &mut self,
        index: usize,
        ssrc: Ssrc,
        now: Instant,
        size: Option<(u32, u32)>,
    ) {
        self.first_arrival.get_or_insert(now);
        if let Some(layer) = self.layers.get_mut(index) {
            layer.ssrc = Some(ssrc);
            layer.last_arrival = Some(now);
            if size.is_some() {
                layer.size = size;
            }
        }
    }

    /// Forgets what arrived, for a track whose publisher sends again on a new connection.
    pub fn forget_streams(&mut self) {
        self.first_arrival = None;
        for layer in &mut self.layers {
            layer.ssrc = None;
            layer.last_arrival = None;
        }
    }

    /// Returns whether layer `index` sent a packet within [`ARRIVAL_TIMEOUT`] of `now`, or
    /// may still send its first one.
    pub fn is_arriving(&self, index: usize, now: Instant) -> bool {
        let recent = |at: Instant| now.saturating_duration_since(at) < ARRIVAL_TIMEOUT;
        match self.layers.get(index).map(|layer| layer.last_arrival) {
            Some(Some(at)) => recent(at),
            Some(None) => self.first_arrival.is_some_and(recent),
            None => false,
        }
    }

    /// Returns the measured bitrate of each layer in bits per second, lowest first, with
    /// zero for a layer not measured yet.
    pub fn bitrates(&self) -> Vec<u64> {
        self.layers
            .iter()
            .map(|layer| layer.bitrate.bits_per_second().unwrap_or(0))
            .collect()
    }

    pub fn top(&self) -> usize {
        self.layers.len() - 1
    }

    /// Returns the layer that suits a view of `view`: the lowest layer whose known frame
    /// size covers the view in width or height, so that it is scaled down or not at all.
    /// Without a view, or when no known size covers it, that is the top layer; a hidden
    /// view gets the lowest.
    pub fn for_view(&self, view: Option<ViewSize>) -> usize {
        let Some(view) = view else {
            return self.top();
        };
        if view.is_hidden() {
            return 0;
        }
        let covers = |layer: &Layer| {
            layer
                .size
                .is_some_and(|(width, height)| width >= view.width || height >= view.height)
        };
        self.layers.iter().position(covers).unwrap_or(self.top())
    }

    /// Returns the layer that suits `view`, like [`Layers::for_view`], but at most `limit`.
    pub fn for_view_within(&self, view: Option<ViewSize>, limit: Option<usize>) -> usize {
        let target = self.for_view(view);
        limit.map_or(target, |limit| target.min(limit))
    }

    /// Returns the layer to forward when `target` is wanted: `target` while it arrives,
    /// else the highest arriving layer below it, else the lowest arriving layer above it.
    /// Returns `None` when no layer arrives.
    pub fn fallback(&self, target: usize, now: Instant) -> Option<usize> {
        let target = target.min(self.top());
        let below = (0..=target).rev().find(|&i| self.is_arriving(i, now));
        below.or_else(|| (target + 1..self.layers.len()).find(|&i| self.is_arriving(i, now)))
    }

    /// Returns the highest layer that arrives, or the top layer when none does.
    pub fn highest_arriving(&self, now: Instant) -> usize {
        self.fallback(self.top(), now).unwrap_or(self.top())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_layers(now: Instant) -> Layers {
        let rids: Vec<Rid> = ["f", "h", "q"].iter().map(|r| Rid::from(*r)).collect();
        let mut layers = Layers::from_rids(&rids);
        assert_eq!(layers.get(0).and_then(|l| l.rid), Some(Rid::from("q")));
        let sizes = [(320, 180), (640, 360), (1280, 720)];
        for (index, size) in sizes.into_iter().enumerate() {
            layers.note_packet(index, Ssrc::from(index as u32 + 1), now, Some(size));
        }
        layers
    }

    fn view(width: u32, height: u32) -> Option<ViewSize> {
        Some(ViewSize { width, height })
    }

    #[test]
    fn view_picks_lowest_covering_layer() {
        let layers = three_layers(Instant::now());
        assert_eq!(layers.for_view(view(200, 120)), 0);
        assert_eq!(layers.for_view(view(320, 240)), 0, "320 wide covers 320");
        assert_eq!(layers.for_view(view(400, 300)), 1);
        assert_eq!(layers.for_view(view(1000, 560)), 2);
        assert_eq!(layers.for_view(view(2560, 1440)), 2, "nothing covers it");
        assert_eq!(layers.for_view(None), 2, "no view: the top layer");
        assert_eq!(layers.for_view(view(0, 0)), 0, "hidden: the lowest layer");
    }

    #[test]
    fn unknown_sizes_choose_top() {
        let rids: Vec<Rid> = ["f", "h", "q"].iter().map(|r| Rid::from(*r)).collect();
        let layers = Layers::from_rids(&rids);
        assert_eq!(layers.for_view(view(100, 100)), 2);
    }

    #[test]
    fn fallback_prefers_lower_then_higher() {
        let start = Instant::now();
        let mut layers = three_layers(start);
        let later = start + ARRIVAL_TIMEOUT;
        assert!(layers.is_arriving(1, later - Duration::from_millis(1)));
        layers.note_packet(0, Ssrc::from(1), later, None);
        layers.note_packet(2, Ssrc::from(3), later, None);
        assert_eq!(layers.fallback(2, later), Some(2));
        assert_eq!(
            layers.fallback(1, later),
            Some(0),
            "the middle layer stopped"
        );
        layers.note_packet(2, Ssrc::from(3), later + ARRIVAL_TIMEOUT, None);
        let last = later + ARRIVAL_TIMEOUT;
        assert_eq!(
            layers.fallback(0, last),
            Some(2),
            "only the top layer arrives"
        );
        assert_eq!(layers.highest_arriving(last), 2);
        assert_eq!(layers.fallback(0, last + ARRIVAL_TIMEOUT), None);
    }

    #[test]
    fn silent_layer_counts_as_arriving_at_first() {
        let rids: Vec<Rid> = ["f", "q"].iter().map(|r| Rid::from(*r)).collect();
        let mut layers = Layers::from_rids(&rids);
        let start = Instant::now();
        assert_eq!(layers.fallback(1, start), None, "nothing arrived yet");
        layers.note_packet(0, Ssrc::from(1), start, None);
        assert_eq!(
            layers.fallback(1, start),
            Some(1),
            "the top layer may still come"
        );
        let late = start + ARRIVAL_TIMEOUT;
        layers.note_packet(0, Ssrc::from(1), late, None);
        assert_eq!(
            layers.fallback(1, late),
            Some(0),
            "the top layer never came"
        );
    }

    #[test]
    fn single_layer_has_no_rid() {
        let layers = Layers::from_rids(&[]);
        assert_eq!(layers.len(), 1);
        assert!(!layers.is_simulcast());
        assert_eq!(layers.index_of(None), Some(0));
        assert_eq!(layers.for_view(view(10, 10)), 0);
    }
}
