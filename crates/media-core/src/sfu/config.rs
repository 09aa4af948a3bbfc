//! Settings of the router and of each client.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ids::RoomId;

/// Settings of the router.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The address put in every ICE host candidate: where browsers send media. Behind NAT,
    /// the public address of the port forward.
    pub candidate: SocketAddr,
    /// The address put in a passive TCP host candidate (RFC 6544), for browsers whose
    /// network blocks UDP. `None` offers UDP only.
    pub tcp_candidate: Option<SocketAddr>,
    /// Shortest time between two keyframe requests sent to a publisher for one track.
    pub keyframe_interval: Duration,
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
    /// Returns a configuration with a UDP candidate only, the default keyframe interval of
    /// one second, a rejoin grace of 30 seconds, stats every second and identifiers counted
    /// from 1.
    pub fn new(candidate: SocketAddr) -> Self {
        Self {
            candidate,
            tcp_candidate: None,
            keyframe_interval: Duration::from_secs(1),
            rejoin_grace: Duration::from_secs(30),
            stats_interval: Duration::from_secs(1),
            ids: (1, 1),
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
