//! Sans-IO selective forwarding of WebRTC media, built on str0m.
//!
//! The crate tracks rooms, clients, peer connections and tracks, and decides who receives
//! which track. It owns no socket and no clock: [`Sfu`] takes datagrams and timeouts with an
//! explicit `now` and gives back datagrams to send, events for signalling and the time it
//! next needs to run. RTP is forwarded as it arrives, without decoding; only SSRC, sequence
//! number, timestamp and payload type are rewritten for each subscriber.

#![warn(missing_docs)]

mod bitrate;
mod error;
mod ids;
pub mod keyframe;
mod layer;
mod peer;
pub mod rewrite;
mod sdp_check;
mod sfu;
mod track;

pub use error::{AnswerError, PublishError, WatchError};
pub use ids::{ClientId, PeerId, RoomId, TrackId, TrackSource};
pub use layer::ViewSize;
pub use peer::PeerKind;
pub use sdp_check::{media_lines, MediaLine, SUPPORTED_CODECS};
pub use sfu::{
    offered_sources, ClientOptions, ClientQuality, LinkQuality, MediaPacket, OfferedTrack,
    Receives, SenderClock, Sfu, SfuConfig, SfuEvent, TrackQuality, TrackSummary,
};
pub use str0m::format::Codec;
pub use str0m::media::MediaKind;
pub use str0m::net::{Protocol, Transmit};
