//! Signalling messages exchanged over the WebSocket at `/ws`, as JSON text frames.
//!
//! Each direction is one enum tagged by the field `type`. The full description, with
//! examples and the order of messages, is in `docs/signalling.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Version of this protocol. A client sends it in [`ClientMessage::Join`]; the server
/// rejects other versions with [`ErrorCode::UnsupportedProtocol`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest WebSocket frame or message the server accepts at all, in bytes. A message larger
/// than the configured `signalling.max_message_bytes` but within this limit gets
/// [`ErrorCode::MessageTooLarge`] and the session goes on; a larger one ends the session.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// A message from the browser to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Opens the session. Must be the first message.
    Join {
        /// The client's protocol version, [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Access token signed by the server (HMAC JWT).
        token: String,
        /// The `resume_token` of an earlier session of the same identity, to take its
        /// place again after the socket dropped, instead of joining afresh.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// An SDP offer for the publishing connection, sent whenever the set of published
    /// tracks changes. The server replies with [`ServerMessage::PublishAnswer`].
    Publish {
        /// SDP offer text.
        sdp: String,
        /// The source of each sending m-line, by MID.
        tracks: Vec<PublishedTrack>,
    },
    /// The SDP answer to [`ServerMessage::SubscribeOffer`].
    SubscribeAnswer {
        /// SDP answer text.
        sdp: String,
    },
    /// Asks for a new [`ServerMessage::SubscribeOffer`] that restarts ICE on the receiving
    /// connection, after a network change broke it.
    RestartIce {},
    /// Keeps the connection alive; the server replies with [`ServerMessage::Pong`].
    Ping,
    /// Ends the session; the server closes the connection.
    Leave,
    /// Briefing only, participants only: requests the floor.
    RaiseHand {},
    /// Briefing only: withdraws a raised hand. A participant lowers their own; an organiser
    /// names the participant whose hand to lower.
    LowerHand {
        /// Whose hand; only organisers may name someone, and then must.
        #[serde(default)]
        identity: Option<String>,
    },
    /// Briefing only, organisers only: gives a participant the floor, taking it from whoever
    /// has it.
    GiveFloor {
        /// The participant who gets the floor.
        identity: String,
    },
    /// Briefing only, organisers only: takes the floor back from whoever has it.
    TakeFloor {},
    /// Briefing only: posts a question or remark to the room's chat.
    Chat {
        /// The text, 1 to [`MAX_CHAT_CHARS`] characters after trimming, without control
        /// or invisible formatting characters.
        text: String,
    },
    /// Contest rooms only, experts and organisers only: starts talking to a participant.
    /// The client's [`TrackSource::Talk`] audio and [`TrackSource::TalkVideo`] then reach
    /// that participant and everyone who receives every track of the room.
    TalkStart {
        /// The participant to talk to.
        identity: String,
    },
    /// Ends the client's talk.
    TalkStop {},
    /// The size at which the client shows a video track it receives, so that the server
    /// forwards the simulcast layer that suits it. Zero width or height means the video is
    /// not shown. Until a client sends it for a track, it gets the highest layer.
    VideoSize {
        /// The track, as in [`ServerMessage::SubscribeOffer`].
        track: String,
        /// Width in device pixels.
        width: u32,
        /// Height in device pixels.
        height: u32,
    },
}

impl ClientMessage {
    /// Every value of the `type` field a client may send.
    pub const TYPES: [&'static str; 14] = [
        "join",
        "publish",
        "subscribe_answer",
        "restart_ice",
        "ping",
        "leave",
        "raise_hand",
        "lower_hand",
        "give_floor",
        "take_floor",
        "chat",
        "talk_start",
        "talk_stop",
        "video_size",
    ];
}

/// Largest chat message, in characters after trimming.
pub const MAX_CHAT_CHARS: usize = 500;

/// The purpose of a room, as named by the access token's `kind` claim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Participants perform; experts watch everyone and organisers publish and watch.
    #[default]
    Contest,
    /// Organisers present to participants, who watch, raise hands, speak when given the
    /// floor and ask in the chat.
    Briefing,
}

impl RoomKind {
    /// Returns whether this is the default kind, which tokens may leave out.
    pub fn is_contest(&self) -> bool {
        *self == Self::Contest
    }
}

/// The source of one published m-line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedTrack {
    /// The m-line's MID in the publisher's offer.
    pub mid: String,
    /// The device behind the track.
    pub source: TrackSource,
}

/// The device a track comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    /// The workplace camera.
    Camera,
    /// A second camera, such as a view of the whole workplace.
    Camera2,
    /// The microphone.
    Microphone,
    /// A shared screen or window.
    Screen,
    /// Sound captured with a shared screen or tab.
    ScreenAudio,
    /// An expert's or organiser's microphone while they talk to a participant.
    Talk,
    /// An expert's or organiser's camera while they talk to a participant.
    TalkVideo,
}

impl TrackSource {
    /// Checks whether the source is part of a talk, audio or video.
    pub fn is_talk(self) -> bool {
        matches!(self, Self::Talk | Self::TalkVideo)
    }
}

/// A person's role in a room, as named in the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Publishes their own camera, microphone and screen; sees only organisers.
    Participant,
    /// Watches and listens to everyone in the room; publishes nothing.
    Expert,
    /// Publishes and watches.
    Organiser,
}

impl Role {
    /// Returns the role's name as in the protocol and in tokens.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Expert => "expert",
            Self::Organiser => "organiser",
        }
    }
}

/// A message from the server to the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The reply to [`ClientMessage::Join`]: who the client is and who is already there.
    Welcome {
        /// The server's protocol version.
        protocol: u32,
        /// Room identifier.
        room: String,
        /// The room's title, for people.
        room_title: String,
        /// The client's own identity, from the token.
        identity: String,
        /// The client's display name, from the token.
        name: String,
        /// The client's role, from the token.
        role: Role,
        /// The purpose of the room, from the token.
        kind: RoomKind,
        /// People already in the room, with their published tracks.
        peers: Vec<PeerInfo>,
        /// The briefing as it is now; only in briefings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        briefing: Option<BriefingState>,
        /// Talks in progress, oldest first: every talk in the room for experts and
        /// organisers, the talk to themselves for a participant, none in briefings.
        #[serde(default)]
        talks: Vec<Talk>,
        /// Secret that lets a new socket resume this session within the rejoin grace
        /// (`join` with `resume`). Fresh for each session that is not resumed.
        resume_token: String,
        /// Whether this session continues an earlier one: the server kept its published
        /// tracks, subscriptions and connections.
        resumed: bool,
        /// TURN servers with a fresh credential, for the client's peer connections. Empty
        /// without `[turn]` in the configuration.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// The SDP answer to [`ClientMessage::Publish`].
    PublishAnswer {
        /// SDP answer text.
        sdp: String,
    },
    /// An SDP offer for the receiving connection. The client replies with
    /// [`ClientMessage::SubscribeAnswer`].
    SubscribeOffer {
        /// SDP offer text.
        sdp: String,
        /// The track on each sending m-line of the offer. M-lines not listed are unused.
        tracks: Vec<SubscribedTrack>,
    },
    /// Someone entered the room.
    PeerJoined(PeerInfo),
    /// Someone left the room.
    PeerLeft {
        /// Identity of who left.
        identity: String,
    },
    /// Someone's signalling socket or publishing connection was lost. The server keeps
    /// their place for the rejoin grace while their client reconnects; their tracks send
    /// nothing meanwhile.
    PeerReconnecting {
        /// Identity of who is reconnecting.
        identity: String,
    },
    /// Someone who was reconnecting is back: their socket is resumed and their publishing
    /// connection, if they have one, is connected.
    PeerReconnected {
        /// Identity of who is back.
        identity: String,
    },
    /// Someone started publishing a track.
    TrackPublished(TrackInfo),
    /// A track stopped.
    TrackUnpublished {
        /// Track identifier.
        track: String,
        /// Identity of the publisher.
        identity: String,
    },
    /// A request failed. Unless `fatal` is set, the connection stays open.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Whether the server closes the connection after this message.
        fatal: bool,
    },
    /// The reply to [`ClientMessage::Ping`].
    Pong,
    /// Briefing: a participant raised a hand. Sent to organisers and to that participant.
    HandRaised(Hand),
    /// Briefing: a hand was lowered, by its participant, by an organiser or because the
    /// participant got the floor or left. Sent to organisers and to that participant.
    HandLowered {
        /// Whose hand.
        identity: String,
    },
    /// Briefing: a participant has the floor; their microphone and camera now reach
    /// everyone. Sent to everyone in the room.
    FloorGiven(FloorHolder),
    /// Briefing: the participant no longer has the floor; the server forwards nothing they
    /// send, and their client should stop publishing. Sent to everyone in the room.
    FloorTaken {
        /// The participant who had the floor.
        identity: String,
    },
    /// Briefing: a chat message. Sent to everyone in the room, the sender included.
    ChatMessage(ChatEntry),
    /// The simulcast layers of one of the client's published tracks that someone needs.
    /// Sent to the publisher whenever the set changes.
    LayersWanted(LayersWanted),
    /// An expert or organiser started talking to a participant. Sent to that participant
    /// and to every expert and organiser in the room.
    TalkStarted(Talk),
    /// A phone that publishes a participant's second camera joined, started publishing or
    /// stopped. Sent to that participant and to everyone who sees them.
    PhoneCamera {
        /// The participant's identity.
        identity: String,
        /// The phone's new state.
        state: PhoneCameraState,
    },
    /// A talk ended: by `talk_stop`, by a talk to someone else, or because the talker or
    /// the participant left. Sent to those who got [`ServerMessage::TalkStarted`].
    TalkStopped {
        /// The talker's identity.
        talker: String,
        /// The participant's identity.
        participant: String,
    },
    /// How a person's media fares between their browser and the server, at most once per
    /// [`QUALITY_REPORT_INTERVAL`](crate::media_loop::QUALITY_REPORT_INTERVAL). Sent to the
    /// experts and organisers who may see the person.
    ConnectionQuality(super::quality::QualityReport),
}

/// The simulcast layers of a published track that receivers or the recording need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayersWanted {
    /// The track's m-line in the client's own `publish` offer.
    pub mid: String,
    /// The RIDs of the encodings to send, lowest first. The client may pause the others.
    pub rids: Vec<String>,
}

/// The state of a phone camera, in [`ServerMessage::PhoneCamera`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneCameraState {
    /// The phone joined; its camera is not published yet.
    Connected,
    /// The phone's camera is published as the participant's `camera2`.
    Publishing,
    /// The phone's session ended: its page closed or went to the background, its camera
    /// stopped, or its connection was lost. Scanning a new link starts it again.
    Stopped,
}

/// A talk between an expert or organiser and a participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Talk {
    /// The talker's identity.
    pub talker: String,
    /// The talker's display name.
    pub name: String,
    /// The participant's identity.
    pub participant: String,
    /// When the talk started, in milliseconds since the Unix epoch on the server's clock.
    pub started_unix_ms: u64,
}

/// A TURN server and a credential for it, shaped as WebRTC's `RTCIceServer`. `Debug`
/// hides the user name and the credential.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct IceServer {
    /// TURN URLs, such as `turns:turn.example.org:443?transport=tcp`.
    pub urls: Vec<String>,
    /// `<expiry>:<identity>`, with the expiry in seconds since the Unix epoch.
    pub username: String,
    /// base64(HMAC-SHA1(shared secret, `username`)).
    pub credential: String,
}

impl fmt::Debug for IceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &"<hidden>")
            .field("credential", &"<hidden>")
            .finish()
    }
}

/// The state of a briefing sent with [`ServerMessage::Welcome`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefingState {
    /// The participant who has the floor, if any.
    pub floor: Option<FloorHolder>,
    /// Raised hands, oldest first: every hand for organisers, only their own for
    /// participants, none for experts.
    pub hands: Vec<Hand>,
    /// The latest chat messages, oldest first.
    pub chat: Vec<ChatEntry>,
}

/// A raised hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hand {
    /// The participant's identity.
    pub identity: String,
    /// The participant's display name.
    pub name: String,
    /// When the hand went up, in milliseconds since the Unix epoch on the server's clock.
    pub at_unix_ms: u64,
}

/// The participant who has the floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FloorHolder {
    /// The participant's identity.
    pub identity: String,
    /// The participant's display name.
    pub name: String,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatEntry {
    /// Sequence number within the briefing, from 1.
    pub id: u64,
    /// The sender's identity.
    pub identity: String,
    /// The sender's display name.
    pub name: String,
    /// The sender's role.
    pub role: Role,
    /// The text, trimmed.
    pub text: String,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// A person in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Identity from the token.
    pub identity: String,
    /// Display name from the token.
    pub name: String,
    /// Role from the token.
    pub role: Role,
    /// Tracks the person publishes now.
    pub tracks: Vec<TrackInfo>,
    /// Whether the person is reconnecting, as announced by
    /// [`ServerMessage::PeerReconnecting`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnecting: bool,
}

/// A published track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// Track identifier, unique within the server.
    pub track: String,
    /// Identity of the publisher.
    pub identity: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The device behind the track.
    pub source: TrackSource,
}

/// A track offered on the receiving connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribedTrack {
    /// The m-line's MID in [`ServerMessage::SubscribeOffer`].
    pub mid: String,
    /// The track forwarded on that m-line.
    #[serde(flatten)]
    pub info: TrackInfo,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

/// Error codes of `error` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or lacks a required field.
    InvalidMessage,
    /// The `type` field names no known message.
    UnknownType,
    /// The message exceeds the configured `signalling.max_message_bytes`.
    MessageTooLarge,
    /// The client speaks another protocol version. Fatal.
    UnsupportedProtocol,
    /// A message other than `join` came before `join`.
    NotJoined,
    /// `join` came twice.
    AlreadyJoined,
    /// The token is malformed or its signature is wrong. Fatal.
    InvalidToken,
    /// The token has expired. Fatal.
    TokenExpired,
    /// The token names a room that does not exist. Fatal.
    UnknownRoom,
    /// The same identity joined the room from another session, which replaces this one.
    /// Fatal.
    SessionReplaced,
    /// The role may not do this (for example, an expert publishing).
    Forbidden,
    /// The SDP could not be parsed or applied.
    InvalidSdp,
    /// The SDP offer contains no audio or video.
    NoMedia,
    /// None of the offered codecs is supported.
    UnsupportedCodec,
    /// An answer came when no offer was pending.
    NoPendingOffer,
    /// `restart_ice` came when the client has no receiving connection.
    NoConnection,
    /// The client sends messages faster than the server accepts them.
    RateLimited,
    /// The server failed; the message gives no details of the cause.
    Internal,
    /// A briefing message came in a room that is not a briefing.
    NotBriefing,
    /// A chat message is empty, too long or contains control or invisible characters.
    InvalidText,
    /// The message names someone who is not a participant in the room.
    UnknownPeer,
    /// The token names a room kind other than the one the people already in the room
    /// joined with. Fatal.
    RoomKindMismatch,
    /// A published track's source needs the other kind of m-line.
    InvalidSource,
    /// Someone else is already talking to the participant.
    TalkBusy,
    /// `talk_stop` came when the client was not talking.
    NotTalking,
    /// A phone camera joined while its participant is not in the room, or the participant
    /// left. Fatal.
    ParticipantAbsent,
    /// A phone camera's media connection was lost; the phone stops. Fatal.
    MediaLost,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_parses_from_json() {
        let text = r#"{"type":"join","protocol":1,"token":"abc"}"#;
        let parsed: ClientMessage = serde_json::from_str(text).unwrap();
        let expected = ClientMessage::Join {
            protocol: 1,
            token: "abc".into(),
            resume: None,
        };
        assert_eq!(parsed, expected);
    }

    #[test]
    fn every_listed_type_is_a_message() {
        for name in ClientMessage::TYPES {
            let text = format!(r#"{{"type":"{name}"}}"#);
            let error = serde_json::from_str::<ClientMessage>(&text).err();
            let unknown = error.is_some_and(|e| e.to_string().contains("unknown variant"));
            assert!(!unknown, "{name} is not a client message type");
        }
    }

    #[test]
    fn error_serializes_with_snake_case_code() {
        let message = ServerMessage::Error {
            code: ErrorCode::MessageTooLarge,
            message: "too large".into(),
            fatal: false,
        };
        let text = serde_json::to_string(&message).unwrap();
        assert_eq!(
            text,
            r#"{"type":"error","code":"message_too_large","message":"too large","fatal":false}"#
        );
    }

    #[test]
    fn video_size_parses_and_layers_wanted_serializes() {
        let text = r#"{"type":"video_size","track":"tr-5","width":480,"height":270}"#;
        let parsed: ClientMessage = serde_json::from_str(text).unwrap();
        let expected = ClientMessage::VideoSize {
            track: "tr-5".into(),
            width: 480,
            height: 270,
        };
        assert_eq!(parsed, expected);

        let message = ServerMessage::LayersWanted(LayersWanted {
            mid: "0".into(),
            rids: vec!["q".into(), "f".into()],
        });
        let text = serde_json::to_string(&message).unwrap();
        assert_eq!(
            text,
            r#"{"type":"layers_wanted","mid":"0","rids":["q","f"]}"#
        );
    }

    #[test]
    fn subscribed_track_is_flat() {
        let track = SubscribedTrack {
            mid: "0".into(),
            info: TrackInfo {
                track: "t1".into(),
                identity: "p1".into(),
                kind: MediaKind::Video,
                source: TrackSource::Screen,
            },
        };
        let value = serde_json::to_value(&track).unwrap();
        assert_eq!(value["mid"], "0");
        assert_eq!(value["source"], "screen");
        assert_eq!(value["identity"], "p1");
    }
}
