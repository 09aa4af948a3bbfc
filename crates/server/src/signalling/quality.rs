//! The `connection_quality` message: how one person's media fares between their browser
//! and the server.

use media_core::LinkQuality;
use serde::{Deserialize, Serialize};

/// Connection quality of one person, sent with
/// [`ServerMessage::ConnectionQuality`](super::protocol::ServerMessage::ConnectionQuality).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Identity of the person.
    pub identity: String,
    /// Media the person publishes, as the server receives it. Absent while they publish
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishing: Option<LinkFigures>,
    /// Media the server sends to the person. Absent while they receive nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving: Option<LinkFigures>,
    /// The simulcast layer of the person's camera that the server forwards to the
    /// recipient of the message: its frame size such as `640x360` when known, else its RTP
    /// stream id. Null while the recipient gets no layer of it or the camera has one layer.
    pub layer: Option<String>,
}

/// The figures of one connection over the latest stats interval of about a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkFigures {
    /// RTP bits per second, retransmissions included.
    pub bitrate_bps: u64,
    /// Fraction of RTP packets lost, from 0 to 1, from RTCP receiver reports. Null until a
    /// report exists.
    pub loss: Option<f32>,
    /// Round-trip time between server and browser in milliseconds, from RTCP. Null when the
    /// browser sends no report that gives it.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter in milliseconds, the largest of the connection's streams.
    pub jitter_ms: Option<f64>,
    /// Bitrate of each track on the connection.
    pub tracks: Vec<TrackFigures>,
}

/// The bitrate of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackFigures {
    /// Track identifier, as in `track_published`.
    pub track: String,
    /// RTP bits per second.
    pub bitrate_bps: u64,
}

impl From<&LinkQuality> for LinkFigures {
    fn from(link: &LinkQuality) -> Self {
        Self {
            bitrate_bps: link.bitrate,
            loss: link.loss.map(round_loss),
            rtt_ms: link.rtt.map(|d| round_ms(d.as_secs_f64())),
            jitter_ms: link.jitter.map(|d| round_ms(d.as_secs_f64())),
            tracks: link
                .tracks
                .iter()
                .map(|t| TrackFigures {
                    track: t.track.to_string(),
                    bitrate_bps: t.bitrate,
                })
                .collect(),
        }
    }
}

/// Rounds a loss fraction to 0.1 percent.
fn round_loss(loss: f32) -> f32 {
    (loss * 1000.0).round() / 1000.0
}

/// Converts seconds to milliseconds rounded to 0.1 ms.
fn round_ms(seconds: f64) -> f64 {
    (seconds * 10_000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use media_core::{MediaKind, TrackId, TrackQuality};

    use super::*;

    #[test]
    fn figures_round_to_tenths() {
        let link = LinkQuality {
            bitrate: 812_345,
            loss: Some(0.012_345),
            rtt: Some(Duration::from_micros(41_234)),
            jitter: Some(Duration::from_micros(3_456)),
            tracks: vec![TrackQuality {
                track: TrackId(5),
                kind: MediaKind::Video,
                bitrate: 700_000,
                loss: None,
                jitter: None,
            }],
        };
        let figures = LinkFigures::from(&link);
        assert_eq!(figures.bitrate_bps, 812_345);
        assert_eq!(figures.loss, Some(0.012));
        assert_eq!(figures.rtt_ms, Some(41.2));
        assert_eq!(figures.jitter_ms, Some(3.5));
        assert_eq!(figures.tracks[0].track, "tr-5");
    }
}
