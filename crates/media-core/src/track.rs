//! Published tracks and the keyframe request throttle.

use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid, Rid};

use crate::ids::{ClientId, PeerId, RoomId, TrackId, TrackSource};
use crate::layer::Layers;
use crate::sfu::RecorderFeed;

/// A track a publisher sends to the server: one receiving m-line of its publishing connection.
#[derive(Debug)]
pub(crate) struct TrackIn {
    pub id: TrackId,
    pub client: ClientId,
    pub room: RoomId,
    pub peer: PeerId,
    pub mid: Mid,
    pub kind: MediaKind,
    pub source: TrackSource,
    /// The simulcast layers, or the one layer of a track that is not simulcast. A new
    /// SSRC on a layer means the publisher restarted that stream.
    pub layers: Layers,
    /// The RIDs last reported as wanted from the publisher
    /// ([`SfuEvent::LayersWanted`](crate::SfuEvent::LayersWanted)).
    pub wanted: Vec<Rid>,
    /// When `wanted` was last worked out.
    pub wanted_checked_at: Option<Instant>,
    /// Subscribers' receiving connections and the m-line carrying this track in each.
    pub subscribers: Vec<(PeerId, Mid)>,
    /// Whether a subscriber asked for a full intra refresh (FIR) since the last request.
    pub full_intra_requested: bool,
    /// Whether packets are copied out for recording.
    pub recorded: bool,
    /// The layer handed to the recorder and its numbering, once a packet was handed out.
    pub recorder: Option<RecorderFeed>,
    /// When the track's publishing connection was lost or replaced. Until the client
    /// publishes the same source again, or the rejoin grace ends, the track keeps its
    /// subscribers and carries no packets.
    pub orphaned_at: Option<Instant>,
}

/// Reason for a keyframe request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KeyframeNeed {
    /// A receiver's picture broke: a subscriber's PLI or FIR, or the recorder's request.
    Repair,
    /// A receiver has no picture of the layer yet and shows nothing until a keyframe comes:
    /// a new subscription, a switch of layer, a publisher that sends again.
    Waiting,
}

/// Shortest times between two keyframe requests sent to a publisher for one layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyframeGaps {
    /// Before a request for a waiting receiver, once a keyframe followed the last request.
    pub waiting: Duration,
    /// Before any other request: a repair, or any request while no keyframe followed the
    /// last one yet.
    pub interval: Duration,
}

/// Limits the keyframe requests sent to a publisher for one layer, and keeps a request
/// that came too early so that it is sent when its gap has passed. A keyframe of the layer
/// satisfies every request held, which is then dropped.
///
/// A request for a waiting receiver needs only the short gap after the last request, once
/// a keyframe followed that one. Repairs, and any request while no keyframe followed the
/// last one, need the whole interval. So joins get a keyframe quickly, while neither a
/// flood of joins nor one of PLIs makes the encoder send keyframes back to back.
#[derive(Debug, Default)]
pub(crate) struct KeyframeThrottle {
    last_sent: Option<Instant>,
    /// Whether no keyframe arrived since the last request was sent.
    unanswered: bool,
    pending: Option<KeyframeNeed>,
}

impl KeyframeThrottle {
    /// Records a request at `now`. Returns true when it should be sent now.
    pub fn request(&mut self, now: Instant, need: KeyframeNeed, gaps: KeyframeGaps) -> bool {
        let need = self.pending.map_or(need, |held| held.max(need));
        let gap = self.gap(need, gaps);
        if self
            .last_sent
            .is_none_or(|at| now.saturating_duration_since(at) >= gap)
        {
            self.pending = None;
            self.last_sent = Some(now);
            self.unanswered = true;
            return true;
        }
        self.pending = Some(need);
        false
    }

    /// Takes a held request whose time has come. Returns true when it should be sent now.
    pub fn take_due(&mut self, now: Instant, gaps: KeyframeGaps) -> bool {
        match self.pending {
            Some(need) => self.request(now, need, gaps),
            None => false,
        }
    }

    /// Returns when a held request becomes due, if one is held.
    pub fn due_at(&self, gaps: KeyframeGaps) -> Option<Instant> {
        let need = self.pending?;
        self.last_sent.map(|at| at + self.gap(need, gaps))
    }

    /// Records a keyframe of the layer, which satisfies the last request and every held one.
    pub fn keyframe_arrived(&mut self) {
        self.unanswered = false;
        self.pending = None;
    }

    /// Keeps a request that could not be sent (the publisher's stream is not yet known),
    /// so that it is tried again after the short gap. Nothing reached the publisher, so
    /// there is no keyframe to wait for.
    pub fn hold(&mut self) {
        self.unanswered = false;
        self.pending = Some(KeyframeNeed::Waiting);
    }

    fn gap(&self, need: KeyframeNeed, gaps: KeyframeGaps) -> Duration {
        if need == KeyframeNeed::Waiting && !self.unanswered {
            gaps.waiting
        } else {
            gaps.interval
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    const GAPS: KeyframeGaps = KeyframeGaps {
        waiting: Duration::from_millis(200),
        interval: SECOND,
    };

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn first_request_goes_at_once() {
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(Instant::now(), KeyframeNeed::Repair, GAPS));
        assert_eq!(throttle.due_at(GAPS), None);
    }

    #[test]
    fn second_repair_waits_for_interval() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Repair, GAPS));
        throttle.keyframe_arrived();
        let early = start + ms(300);
        assert!(!throttle.request(early, KeyframeNeed::Repair, GAPS));
        assert!(!throttle.request(early, KeyframeNeed::Repair, GAPS));
        assert_eq!(throttle.due_at(GAPS), Some(start + SECOND));
        assert!(!throttle.take_due(start + ms(999), GAPS));
        assert!(throttle.take_due(start + SECOND, GAPS));
        assert!(!throttle.take_due(start + SECOND, GAPS));
    }

    #[test]
    fn requests_after_interval_go_at_once() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Repair, GAPS));
        assert!(throttle.request(start + 2 * SECOND, KeyframeNeed::Repair, GAPS));
    }

    #[test]
    fn waiting_request_after_keyframe_needs_short_gap() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Waiting, GAPS));
        throttle.keyframe_arrived();
        assert!(!throttle.request(start + ms(50), KeyframeNeed::Waiting, GAPS));
        assert_eq!(throttle.due_at(GAPS), Some(start + ms(200)));
        assert!(throttle.take_due(start + ms(200), GAPS));
        throttle.keyframe_arrived();
        assert!(throttle.request(start + ms(450), KeyframeNeed::Waiting, GAPS));
    }

    #[test]
    fn unanswered_request_holds_waiting_ones_for_interval() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Waiting, GAPS));
        assert!(!throttle.request(start + ms(300), KeyframeNeed::Waiting, GAPS));
        assert_eq!(
            throttle.due_at(GAPS),
            Some(start + SECOND),
            "no keyframe came: asked again after the interval"
        );
        assert!(throttle.take_due(start + SECOND, GAPS));
    }

    #[test]
    fn keyframe_drops_held_request() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Repair, GAPS));
        assert!(!throttle.request(start + ms(10), KeyframeNeed::Waiting, GAPS));
        throttle.keyframe_arrived();
        assert_eq!(throttle.due_at(GAPS), None);
        assert!(!throttle.take_due(start + SECOND, GAPS));
    }

    #[test]
    fn waiting_request_upgrades_held_repair() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Repair, GAPS));
        throttle.keyframe_arrived();
        assert!(!throttle.request(start + ms(50), KeyframeNeed::Repair, GAPS));
        assert!(!throttle.request(start + ms(60), KeyframeNeed::Waiting, GAPS));
        assert!(!throttle.request(start + ms(70), KeyframeNeed::Repair, GAPS));
        assert_eq!(throttle.due_at(GAPS), Some(start + ms(200)));
    }

    #[test]
    fn unsent_request_is_retried_after_short_gap() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, KeyframeNeed::Waiting, GAPS));
        throttle.hold();
        assert_eq!(throttle.due_at(GAPS), Some(start + ms(200)));
    }
}
