//! Checks on an SDP offer's text before it reaches str0m, so that an offer that cannot work
//! is rejected without changing any connection state.

use str0m::media::MediaKind;

use crate::error::PublishError;

/// Codec names (as in `a=rtpmap`) that the server forwards.
pub const SUPPORTED_CODECS: &str = "opus, VP8, H264, VP9, AV1";

const FORWARDED: [&str; 5] = ["opus", "vp8", "h264", "vp9", "av1"];

/// Maximum number of m-lines in a publishing offer. A publisher sends a camera, a microphone,
/// a screen and its sound, so 16 leaves room to spare. The limit keeps one client from making
/// the router parse and track hundreds of m-lines.
pub const MAX_PUBLISHED_MEDIA: usize = 16;

/// Maximum number of simulcast layers (`a=rid` lines) on one m-line. Browsers send up to
/// three; the limit keeps one client from making the router track many streams per track.
pub const MAX_LAYERS: usize = 4;

/// Checks that `offer` has at least one audio or video m-line, that every sending audio or
/// video m-line offers at least one forwarded codec, and that none declares more than
/// [`MAX_LAYERS`] simulcast layers.
pub fn check_offer(offer: &str) -> Result<(), PublishError> {
    let sections = media_sections(offer);
    let media: Vec<&Section> = sections.iter().filter(|s| s.is_audio_or_video).collect();
    if media.is_empty() {
        return Err(PublishError::NoMedia);
    }
    if sections.len() > MAX_PUBLISHED_MEDIA {
        return Err(PublishError::TooManyMedia {
            count: sections.len(),
            max: MAX_PUBLISHED_MEDIA,
        });
    }
    for section in media.iter().filter(|s| s.is_sending()) {
        if section.rids > MAX_LAYERS {
            return Err(PublishError::TooManyLayers {
                mid: section.mid.clone().unwrap_or_else(|| "?".into()),
                count: section.rids,
                max: MAX_LAYERS,
            });
        }
        if !section.codecs.iter().any(|c| is_forwarded(c)) {
            return Err(PublishError::UnsupportedCodec {
                mid: section.mid.clone().unwrap_or_else(|| "?".into()),
                supported: SUPPORTED_CODECS,
            });
        }
    }
    Ok(())
}

/// Returns the MID and kind (`audio` or `video`) of every sending audio or video m-line.
pub(crate) fn sending_media(offer: &str) -> Vec<(String, String)> {
    media_sections(offer)
        .into_iter()
        .filter(|s| s.is_audio_or_video && s.is_sending())
        .map(|s| (s.mid.unwrap_or_default(), s.kind))
        .collect()
}

/// An audio or video m-line of an SDP, as its text declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// Audio or video.
    pub kind: MediaKind,
    /// The `a=mid` value, when the m-line has one.
    pub mid: Option<String>,
    /// Whether the m-line's sender sends media on it: `sendrecv` or `sendonly`, port not 0.
    pub sending: bool,
    /// Whether the m-line's sender takes media on it: `sendrecv` or `recvonly`, port not 0.
    pub receiving: bool,
}

/// Returns the audio and video m-lines of `sdp` in their order. Other m-lines, such as
/// `application` for data channels, are left out.
pub fn media_lines(sdp: &str) -> Vec<MediaLine> {
    let lines = media_sections(sdp).into_iter().filter_map(|section| {
        let kind = match section.kind.as_str() {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            _ => return None,
        };
        let direction = section.direction.as_deref().unwrap_or("sendrecv");
        let open = !section.port_zero;
        Some(MediaLine {
            kind,
            sending: open && matches!(direction, "sendrecv" | "sendonly"),
            receiving: open && matches!(direction, "sendrecv" | "recvonly"),
            mid: section.mid,
        })
    });
    lines.collect()
}

/// A video codec the server forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoCodec {
    Vp8,
    H264,
    Vp9,
    Av1,
}

impl VideoCodec {
    /// The server's own order of preference.
    const DEFAULT_ORDER: [VideoCodec; 4] = [Self::Vp8, Self::H264, Self::Vp9, Self::Av1];

    fn from_name(name: &str) -> Option<Self> {
        Self::DEFAULT_ORDER
            .into_iter()
            .find(|codec| name.eq_ignore_ascii_case(codec.name()))
    }

    fn name(self) -> &'static str {
        match self {
            Self::Vp8 => "VP8",
            Self::H264 => "H264",
            Self::Vp9 => "VP9",
            Self::Av1 => "AV1",
        }
    }

    /// Returns every codec, `preferred` first and the rest in the default order.
    pub(crate) fn ordered(preferred: Option<Self>) -> Vec<Self> {
        let mut order: Vec<Self> = preferred.into_iter().collect();
        order.extend(
            Self::DEFAULT_ORDER
                .iter()
                .filter(|c| Some(**c) != preferred),
        );
        order
    }
}

/// Returns the forwarded video codec the offer prefers: the first one in the payload type
/// list of its first sending video m-line, which lists them in order of preference
/// (RFC 8866 section 5.14).
pub(crate) fn preferred_video_codec(offer: &str) -> Option<VideoCodec> {
    let sections = media_sections(offer);
    let video = sections
        .iter()
        .find(|s| s.kind == "video" && s.is_sending())?;
    video.formats.iter().find_map(|format| {
        let name = video.rtpmap.iter().find(|(pt, _)| pt == format)?.1.as_str();
        VideoCodec::from_name(name)
    })
}

fn is_forwarded(codec: &str) -> bool {
    FORWARDED.iter().any(|f| codec.eq_ignore_ascii_case(f))
}

#[derive(Debug, Default)]
struct Section {
    kind: String,
    is_audio_or_video: bool,
    port_zero: bool,
    mid: Option<String>,
    direction: Option<String>,
    codecs: Vec<String>,
    /// Payload types in the order of the m-line.
    formats: Vec<String>,
    /// Payload type and codec name of each `a=rtpmap` line.
    rtpmap: Vec<(String, String)>,
    /// Number of `a=rid` lines: the simulcast layers the m-line declares.
    rids: usize,
}

impl Section {
    fn is_sending(&self) -> bool {
        let direction = self.direction.as_deref().unwrap_or("sendrecv");
        !self.port_zero && matches!(direction, "sendrecv" | "sendonly")
    }
}

fn media_sections(sdp: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            let mut fields = media.split(' ');
            let kind = fields.next().unwrap_or_default();
            let port = fields.next().unwrap_or_default();
            let formats = fields.skip(1).map(str::to_string).collect();
            sections.push(Section {
                kind: kind.to_string(),
                is_audio_or_video: kind == "audio" || kind == "video",
                port_zero: port == "0",
                formats,
                ..Section::default()
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            continue;
        };
        if let Some(mid) = line.strip_prefix("a=mid:") {
            section.mid = Some(mid.to_string());
        } else if line.starts_with("a=rid:") {
            section.rids += 1;
        } else if let Some(rtpmap) = line.strip_prefix("a=rtpmap:") {
            let mut fields = rtpmap.split([' ', '/']);
            if let (Some(pt), Some(name)) = (fields.next(), fields.next()) {
                section.codecs.push(name.to_string());
                section.rtpmap.push((pt.to_string(), name.to_string()));
            }
        } else if let Some(direction) = line.strip_prefix("a=") {
            if matches!(direction, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
                section.direction = Some(direction.to_string());
            }
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO_VP8: &str = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n";

    #[test]
    fn accepts_vp8() {
        assert!(check_offer(VIDEO_VP8).is_ok());
    }

    #[test]
    fn rejects_offer_without_media() {
        let offer = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
        assert!(matches!(check_offer(offer), Err(PublishError::NoMedia)));
        assert!(matches!(check_offer("v=0\r\n"), Err(PublishError::NoMedia)));
    }

    #[test]
    fn rejects_unsupported_codec_only() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\na=sendonly\r\na=rtpmap:0 PCMU/8000\r\n";
        let error = check_offer(offer).unwrap_err();
        assert!(matches!(error, PublishError::UnsupportedCodec { ref mid, .. } if mid == "a"));
    }

    #[test]
    fn preferred_codec_follows_payload_order() {
        let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98 96 45\r\na=mid:0\r\na=sendonly\r\n\
                     a=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\na=rtpmap:45 AV1/90000\r\n";
        assert_eq!(preferred_video_codec(offer), Some(VideoCodec::Vp9));
        assert_eq!(preferred_video_codec(VIDEO_VP8), Some(VideoCodec::Vp8));
        let audio_only = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert_eq!(preferred_video_codec(audio_only), None);
    }

    #[test]
    fn preferred_codec_goes_first() {
        let order = VideoCodec::ordered(Some(VideoCodec::Av1));
        assert_eq!(
            order,
            [
                VideoCodec::Av1,
                VideoCodec::Vp8,
                VideoCodec::H264,
                VideoCodec::Vp9
            ]
        );
        assert_eq!(VideoCodec::ordered(None), VideoCodec::DEFAULT_ORDER);
    }

    #[test]
    fn rejects_too_many_media() {
        let many = VIDEO_VP8.repeat(MAX_PUBLISHED_MEDIA + 1);
        let error = check_offer(&many).unwrap_err();
        assert!(matches!(
            error,
            PublishError::TooManyMedia { count: 17, max: 16 }
        ));
        assert!(check_offer(&VIDEO_VP8.repeat(MAX_PUBLISHED_MEDIA)).is_ok());
    }

    #[test]
    fn accepts_three_layers_and_rejects_many() {
        let layers = |count: usize| {
            let rids: String = (0..count).map(|i| format!("a=rid:r{i} send\r\n")).collect();
            format!("{VIDEO_VP8}{rids}")
        };
        assert!(check_offer(&layers(3)).is_ok());
        let error = check_offer(&layers(MAX_LAYERS + 1)).unwrap_err();
        assert!(matches!(
            error,
            PublishError::TooManyLayers { ref mid, count: 5, max: 4 } if mid == "0"
        ));
    }

    #[test]
    fn ignores_inactive_sections() {
        let offer = format!(
            "{VIDEO_VP8}m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=inactive\r\na=rtpmap:0 PCMU/8000\r\n"
        );
        assert!(check_offer(&offer).is_ok());
    }
}
