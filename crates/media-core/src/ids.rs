//! Identifiers used by the media core.

use std::fmt;

/// A client: one signalling session, owning at most one publishing and one receiving peer
/// connection. Assigned by [`crate::Sfu::add_client`]; never reused while the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// One WebRTC peer connection, backed by one `str0m::Rtc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

/// A published track: one m-line of a publishing connection. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId(pub u64);

/// A room: the set of clients that may see each other's tracks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub String);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

impl fmt::Display for TrackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tr-{}", self.0)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The device a track comes from, as the publisher declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackSource {
    /// A camera.
    Camera,
    /// A second camera, such as a view of the whole workplace.
    Camera2,
    /// A microphone.
    Microphone,
    /// A shared screen or window.
    Screen,
    /// Sound captured with a shared screen or tab.
    ScreenAudio,
    /// An expert's or organiser's microphone while they talk to one participant. It reaches
    /// that participant and those who receive everyone, and only while the talk lasts
    /// ([`Sfu::set_talk_target`](crate::Sfu::set_talk_target)).
    Talk,
    /// The camera of an expert or organiser while they talk to one participant, routed
    /// exactly as their [`TrackSource::Talk`] audio.
    TalkVideo,
}

impl TrackSource {
    /// Returns the kind of m-line the source must be sent on, or `None` when any kind is
    /// accepted, as for the sources that existed before kinds were checked.
    pub fn required_kind(self) -> Option<crate::MediaKind> {
        match self {
            Self::Camera2 => Some(crate::MediaKind::Video),
            Self::Talk => Some(crate::MediaKind::Audio),
            Self::TalkVideo => Some(crate::MediaKind::Video),
            Self::Camera | Self::Microphone | Self::Screen | Self::ScreenAudio => None,
        }
    }

    /// Checks whether the source is part of a talk: [`TrackSource::Talk`] audio or
    /// [`TrackSource::TalkVideo`].
    pub fn is_talk(self) -> bool {
        matches!(self, Self::Talk | Self::TalkVideo)
    }
}
