//! Settings of the router and of each client.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ids::RoomId;
use crate::track::KeyframeGaps;

/// Settings of the router.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The address put in every ICE host candidate: where browsers send media. Behind NAT,
    /// the public address of the port forward.
    pub candidate: SocketAddr,
    /// The address put in a passive TCP host candidate (RFC 6544), for browsers whose
    /// network blocks UDP. `None` offers UDP only.
    pub tcp_candidate: Option<SocketAddr>,
    /// Shortest time between two keyframe requests sent to a publisher for one layer: for
    /// subscribers' PLIs and FIRs and the recorder's requests, and before asking again
    /// when a request got no keyframe.
    pub keyframe_interval: Duration,
    /// Shortest time between two keyframe requests for one layer when the later one is for
    /// a receiver that has no picture of the layer yet (a new subscription, a switch of
    /// layer) and a keyframe followed the earlier one. Joins wait at most this long for a
    /// request, and a flood of joins brings at most one keyframe per this time.
    pub waiting_keyframe_interval: Duration,
    /// How long the tracks of a lost publishing connection stay subscribed, waiting for
    /// the same client to publish them again on a new connection.
    pub rejoin_grace: Duration,
    /// How often each peer connection reports its RTP statistics, the window over which
    /// [`Sfu::quality`](super::Sfu::quality) measures bitrates.
    pub stats_interval: Duration,
    /// The first client, peer and track number the router hands out, and the step between
    /// two numbers. Routers that share a process and take the same step with different
    /// first numbers never hand out the same identifier.
    pub ids: (u64, u64),
}

impl SfuConfig {
    /// Returns a configuration with a UDP candidate only, a keyframe interval of one second
    /// and of 200 ms for waiting receivers, a rejoin grace of 30 seconds, stats every second
    /// and identifiers counted from 1.
    ///
    /// With 200 ms a subscriber that joins on loopback receives its first frame within
    /// about 300 ms: about 50 ms to connect, at most 200 ms until the request goes, and a frame
    /// time (33 ms at 30 frames per second) for the encoder to respond. A flood of joins
    /// then brings the publisher at most five keyframe requests a second.
    pub fn new(candidate: SocketAddr) -> Self {
        Self {
            candidate,
            tcp_candidate: None,
            keyframe_interval: Duration::from_secs(1),
            waiting_keyframe_interval: Duration::from_millis(200),
            rejoin_grace: Duration::from_secs(30),
            stats_interval: Duration::from_secs(1),
            ids: (1, 1),
        }
    }

    pub(crate) fn keyframe_gaps(&self) -> KeyframeGaps {
        KeyframeGaps {
            waiting: self.waiting_keyframe_interval,
            interval: self.keyframe_interval,
        }
    }
}

/// Whose tracks a client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receives {
    /// Nothing.
    Nothing,
    /// Only tracks of clients marked as presenters.
    Presenters,
    /// Every other client's tracks in the room.
    Everyone,
}

/// Permissions and subscriptions of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The room the client is in.
    pub room: RoomId,
    /// Whether the client may publish its own camera, microphone and screen.
    pub may_publish: bool,
    /// Whether the client may publish [`TrackSource::Talk`](crate::TrackSource::Talk) audio
    /// and [`TrackSource::TalkVideo`](crate::TrackSource::TalkVideo), and be given a talk
    /// target.
    pub may_talk: bool,
    /// Whether the client's tracks go to clients that receive only presenters.
    /// [`Sfu::set_presenter`](super::Sfu::set_presenter) changes it while the client is in.
    pub presenter: bool,
    /// Whose tracks the client receives.
    pub receives: Receives,
    /// Whether the packets of the client's tracks are handed out for recording
    /// ([`Sfu::poll_media`](super::Sfu::poll_media)).
    pub recorded: bool,
}
