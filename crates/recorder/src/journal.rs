//! Append-only journal of the RTP packets of one segment of one track.

use serde::{Deserialize, Serialize};

/// Kind of media a track carries.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Sound.
    Audio,
    /// Pictures.
    Video,
}

/// Codec of a recorded track.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Opus audio (RFC 7587).
    Opus,
    /// VP8 video (RFC 7741).
    Vp8,
    /// VP9 video (RFC 9628).
    Vp9,
    /// H.264 video (RFC 6184).
    H264,
    /// AV1 video (AV1 RTP specification of the Alliance for Open Media).
    Av1,
}

impl Codec {
    /// Returns whether the codec is audio or video.
    pub fn kind(self) -> MediaKind {
        match self {
            Self::Opus => MediaKind::Audio,
            Self::Vp8 | Self::Vp9 | Self::H264 | Self::Av1 => MediaKind::Video,
        }
    }

    /// Returns the RTP clock rate in Hz: 48000 for Opus, 90000 for video.
    pub fn clock_rate(self) -> u32 {
        match self.kind() {
            MediaKind::Audio => 48_000,
            MediaKind::Video => 90_000,
        }
    }
}
