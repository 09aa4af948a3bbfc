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

/// Limits keyframe requests sent to a publisher to one per interval per track, and keeps
/// a request that came too early so that it is sent when the interval has passed.
#[derive(Debug, Default)]
pub(crate) struct KeyframeThrottle {
    last_sent: Option<Instant>,
    pending: bool,
}

impl KeyframeThrottle {
    /// Records a request at `now`. Returns true when it should be sent now.
    pub fn request(&mut self, now: Instant, interval: Duration) -> bool {
        if self.may_send(now, interval) {
            self.pending = false;
            self.last_sent = Some(now);
            return true;
        }
        self.pending = true;
        false
    }

    /// Takes a held request whose time has come. Returns true when it should be sent now.
    pub fn take_due(&mut self, now: Instant, interval: Duration) -> bool {
        self.pending && self.request(now, interval)
    }

    /// Returns when a held request becomes due, if one is held.
    pub fn due_at(&self, interval: Duration) -> Option<Instant> {
        if !self.pending {
            return None;
        }
        self.last_sent.map(|at| at + interval)
    }

    /// Forgets that the last request was sent, so that a request that could not be sent
    /// (the publisher's stream is not yet known) is retried.
    pub fn hold(&mut self) {
        self.pending = true;
    }

    fn may_send(&self, now: Instant, interval: Duration) -> bool {
        self.last_sent
            .is_none_or(|at| now.saturating_duration_since(at) >= interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn first_request_goes_at_once() {
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(Instant::now(), SECOND));
        assert_eq!(throttle.due_at(SECOND), None);
    }

    #[test]
    fn second_request_waits_for_interval() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, SECOND));
        let early = start + Duration::from_millis(300);
        assert!(!throttle.request(early, SECOND));
        assert!(!throttle.request(early, SECOND));
        assert_eq!(throttle.due_at(SECOND), Some(start + SECOND));
        assert!(!throttle.take_due(start + Duration::from_millis(999), SECOND));
        assert!(throttle.take_due(start + SECOND, SECOND));
        assert!(!throttle.take_due(start + SECOND, SECOND));
    }

    #[test]
    fn requests_after_interval_go_at_once() {
        let start = Instant::now();
        let mut throttle = KeyframeThrottle::default();
        assert!(throttle.request(start, SECOND));
        assert!(throttle.request(start + 2 * SECOND, SECOND));
    }
}
