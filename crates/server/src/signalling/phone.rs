//! Limits of a phone camera session: it may join with a phone camera token, publish one
//! video m-line as `camera2`, ping and leave. Everything else is rejected with `forbidden`, so
//! the phone receives no media and takes part in nothing else.

use media_core::{offered_sources, MediaKind, TrackSource};

use super::protocol::{ClientMessage, Role, RoomKind};
use crate::media_loop::Member;
use crate::token::PhoneClaims;

/// Text sent when a phone requests something beyond publishing its camera.
pub(super) const FORBIDDEN: &str =
    "A phone camera session only publishes the participant's second camera (camera2).";

/// Returns whether a phone camera session may send `message`.
pub(super) fn allows(message: &ClientMessage) -> bool {
    matches!(
        message,
        ClientMessage::Join { .. }
            | ClientMessage::Publish { .. }
            | ClientMessage::Ping
            | ClientMessage::Leave
    )
}

/// Checks that an offer sends at most one m-line, a video one declared as `camera2`.
pub(super) fn check_offer(sdp: &str, sources: &[(String, TrackSource)]) -> Result<(), String> {
    let offered = offered_sources(sdp, sources);
    if offered.len() > 1 {
        return Err(format!(
            "The offer sends {} m-lines; a phone camera sends one video m-line as camera2.",
            offered.len()
        ));
    }
    match offered.first() {
        Some((mid, kind, source))
            if *kind != MediaKind::Video || *source != TrackSource::Camera2 =>
        {
            Err(format!(
                "m-line {mid} sends {source:?} {kind:?}; a phone camera sends only camera2 video."
            ))
        }
        _ => Ok(()),
    }
}

/// Returns the participant a phone camera token publishes for.
pub(super) fn owner(claims: &PhoneClaims) -> Member {
    Member {
        room: claims.room.clone(),
        identity: claims.sub.clone(),
        name: claims.name.clone(),
        role: Role::Participant,
        kind: RoomKind::Contest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO_AND_AUDIO: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n";

    fn video_only() -> String {
        VIDEO_AND_AUDIO.split("m=audio").next().unwrap().to_owned()
    }

    #[test]
    fn camera2_video_is_allowed() {
        let sources = [("0".to_owned(), TrackSource::Camera2)];
        assert!(check_offer(&video_only(), &sources).is_ok());
    }

    #[test]
    fn undeclared_video_is_a_camera_and_rejected() {
        assert!(check_offer(&video_only(), &[]).is_err());
    }

    #[test]
    fn audio_next_to_camera2_is_rejected() {
        let sources = [
            ("0".to_owned(), TrackSource::Camera2),
            ("1".to_owned(), TrackSource::Camera2),
        ];
        assert!(check_offer(VIDEO_AND_AUDIO, &sources).is_err());
    }

    #[test]
    fn only_join_publish_ping_and_leave() {
        let talk = ClientMessage::TalkStart {
            identity: "u-1".to_owned(),
        };
        let answer = ClientMessage::SubscribeAnswer { sdp: String::new() };
        assert!(allows(&ClientMessage::Ping));
        assert!(allows(&ClientMessage::Leave));
        assert!(!allows(&talk));
        assert!(!allows(&answer));
        assert!(!allows(&ClientMessage::RestartIce {}));
    }
}
