//! One signalling session: a WebSocket from join to leave.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::ws::{Message, WebSocket};
use media_core::{AnswerError, ClientId, PublishError, TrackSource};
use tokio::sync::mpsc;

use super::phone;
use super::protocol::{
    self, ClientMessage, ErrorCode, Role, RoomKind, ServerMessage, PROTOCOL_VERSION,
};
use crate::media_loop::{error_message, BriefingRequest, JoinRejected, Member, TalkRequest};
use crate::state::AppState;
use crate::token::{PhoneClaims, TokenError};
use crate::token_bucket::TokenBucket;

/// Messages queued for one session before the media loop starts dropping them.
const OUTBOX_CAPACITY: usize = 256;

/// Time a new connection has to send `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Rejected requests of one session that are logged; later ones are counted only.
const LOGGED_REJECTIONS: u32 = 20;

/// Messages a session may send in a burst, and per second after it.
const MESSAGE_BURST: f64 = 60.0;
const MESSAGES_PER_SECOND: f64 = 20.0;

/// `publish` offers a session may send in a burst, and per second after it. Each offer is
/// parsed and applied on the media loop, so offers are limited more tightly.
const PUBLISH_BURST: f64 = 5.0;
const PUBLISHES_PER_SECOND: f64 = 1.0;

/// The session's next step after handling a message.
enum Flow {
    Continue,
    Close,
}

/// How a session ended, which decides what happens to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client left, or the server ended the session: the client is removed.
    Left,
    /// The socket was lost: the client keeps its place for the rejoin grace.
    Lost,
}

struct Session {
    state: Arc<AppState>,
    outbox: mpsc::Sender<ServerMessage>,
    joined: Option<ClientId>,
    /// Whether the session joined with a phone camera token.
    phone: bool,
    messages: TokenBucket,
    publishes: TokenBucket,
    /// Whether the client got `rate_limited` since its last accepted message.
    throttled: bool,
    rejections: u32,
    ending: Ending,
}

/// Runs a session until the client leaves, the socket closes or the client is idle too long.
pub async fn run(state: Arc<AppState>, mut socket: WebSocket) {
    let idle = Duration::from_secs(state.config.signalling.idle_timeout_secs);
    let (outbox, mut inbox) = mpsc::channel(OUTBOX_CAPACITY);
    let mut session = Session {
        state,
        outbox,
        joined: None,
        phone: false,
        messages: TokenBucket::new(MESSAGE_BURST, MESSAGES_PER_SECOND),
        publishes: TokenBucket::new(PUBLISH_BURST, PUBLISHES_PER_SECOND),
        throttled: false,
        rejections: 0,
        ending: Ending::Lost,
    };
    let join_deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    // Only what the client sends keeps the session alive, not what the server sends it.
    let mut idle_deadline = tokio::time::Instant::now() + idle;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(join_deadline), if session.joined.is_none() => {
                let message = error_message(
                    ErrorCode::NotJoined,
                    "No join message came within 10 seconds of connecting.",
                    true,
                );
                let _ = send(&mut socket, &message).await;
                break;
            }
            () = tokio::time::sleep_until(idle_deadline) => {
                tracing::debug!(client = ?session.joined, "signalling session idle, closing");
                break;
            }
            received = socket.recv() => {
                idle_deadline = tokio::time::Instant::now() + idle;
                let flow = match received {
                    None | Some(Err(_)) => Flow::Close,
                    Some(Ok(message)) => session.handle_frame(&mut socket, message).await,
                };
                if matches!(flow, Flow::Close) {
                    break;
                }
            }
            Some(message) = inbox.recv() => {
                let fatal = matches!(message, ServerMessage::Error { fatal: true, .. });
                if fatal {
                    session.ending = Ending::Left;
                }
                if send(&mut socket, &message).await.is_err() || fatal {
                    break;
                }
            }
        }
    }
    if let Some(client) = session.joined {
        let media = &session.state.media;
        let outbox = session.outbox.clone();
        match session.ending {
            Ending::Left => media.leave(client, outbox).await,
            Ending::Lost => media.detach(client, outbox).await,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(message).expect("server messages always serialize");
    socket.send(Message::Text(text.into())).await
}

impl Session {
    async fn handle_frame(&mut self, socket: &mut WebSocket, frame: Message) -> Flow {
        if matches!(frame, Message::Text(_) | Message::Binary(_)) && !self.admit(Instant::now()) {
            return self.throttle(socket).await;
        }
        let reply = match frame {
            Message::Text(text) => self.handle_text(text.as_str()).await,
            Message::Binary(_) => Err(failure(
                ErrorCode::InvalidMessage,
                "Binary frames are not part of the protocol; send JSON text frames.",
            )),
            Message::Close(frame) => {
                // A page that closes or navigates away sends 1000 or 1001; any other code,
                // or none, is a connection that broke.
                let code = frame.map(|f| f.code);
                if matches!(code, Some(1000 | 1001)) {
                    self.ending = Ending::Left;
                }
                return Flow::Close;
            }
            Message::Ping(_) | Message::Pong(_) => return Flow::Continue,
        };
        let (message, flow) = match reply {
            Ok(Some(message)) => (message, Flow::Continue),
            Ok(None) => return Flow::Continue,
            Err(Failure::Close) => return Flow::Close,
            Err(Failure::Error(message)) => {
                let message = *message;
                let fatal = matches!(message, ServerMessage::Error { fatal: true, .. });
                if let ServerMessage::Error { code, .. } = &message {
                    self.log_rejection(*code, fatal);
                }
                if fatal {
                    self.ending = Ending::Left;
                }
                (message, if fatal { Flow::Close } else { Flow::Continue })
            }
        };
        if send(socket, &message).await.is_err() {
            return Flow::Close;
        }
        flow
    }

    /// Takes a token for one message. Returns false when the client sends too fast.
    fn admit(&mut self, now: Instant) -> bool {
        let admitted = self.messages.take(now);
        if admitted {
            self.throttled = false;
        }
        admitted
    }

    /// Answers the first message over the rate with `rate_limited` and drops the others
    /// silently until the client slows down.
    async fn throttle(&mut self, socket: &mut WebSocket) -> Flow {
        if self.throttled {
            return Flow::Continue;
        }
        self.throttled = true;
        tracing::info!(client = ?self.joined, "signalling rate limit reached, dropping messages");
        let message = error_message(
            ErrorCode::RateLimited,
            "Too many messages; the server drops them until the client slows down.",
            false,
        );
        match send(socket, &message).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
        }
    }

    fn log_rejection(&mut self, code: ErrorCode, fatal: bool) {
        self.rejections += 1;
        if self.rejections <= LOGGED_REJECTIONS {
            tracing::info!(client = ?self.joined, ?code, fatal, "request rejected");
        }
        if self.rejections == LOGGED_REJECTIONS {
            tracing::info!(client = ?self.joined, "further rejected requests of this session are not logged");
        }
    }

    async fn handle_text(&mut self, text: &str) -> Result<Option<ServerMessage>, Failure> {
        let limit = self.state.config.signalling.max_message_bytes;
        if text.len() > limit {
            let message = format!(
                "The message has {} bytes; the limit is {limit}.",
                text.len()
            );
            return Err(failure(ErrorCode::MessageTooLarge, &message));
        }
        let message = parse(text)?;
        if self.phone && !phone::allows(&message) {
            return Err(failure(ErrorCode::Forbidden, phone::FORBIDDEN));
        }
        match message {
            ClientMessage::Join {
                protocol,
                token,
                resume,
            } => self.join(protocol, &token, resume).await,
            ClientMessage::Publish { sdp, tracks } => {
                let client = self.client()?;
                if !self.publishes.take(Instant::now()) {
                    return Err(failure(
                        ErrorCode::RateLimited,
                        "Too many publish offers; wait a second and offer again.",
                    ));
                }
                let sources: Vec<_> = tracks
                    .into_iter()
                    .map(|t| (t.mid, source(t.source)))
                    .collect();
                if self.phone {
                    phone::check_offer(&sdp, &sources)
                        .map_err(|message| failure(ErrorCode::Forbidden, &message))?;
                }
                let result = self.state.media.publish(client, sdp, sources).await;
                let answer = result
                    .map_err(|_| Failure::Close)?
                    .map_err(publish_failure)?;
                Ok(Some(ServerMessage::PublishAnswer { sdp: answer }))
            }
            ClientMessage::SubscribeAnswer { sdp } => {
                let client = self.client()?;
                let result = self.state.media.subscribe_answer(client, sdp).await;
                result
                    .map_err(|_| Failure::Close)?
                    .map_err(answer_failure)?;
                Ok(None)
            }
            ClientMessage::RestartIce {} => {
                let client = self.client()?;
                let restarted = self.state.media.restart_ice(client).await;
                if !restarted.map_err(|_| Failure::Close)? {
                    return Err(failure(
                        ErrorCode::NoConnection,
                        "There is no receiving connection to restart; the server offers one when there is something to receive.",
                    ));
                }
                Ok(None)
            }
            ClientMessage::Ping => Ok(Some(ServerMessage::Pong)),
            ClientMessage::Leave => {
                self.ending = Ending::Left;
                Err(Failure::Close)
            }
            ClientMessage::RaiseHand {} => self.briefing(BriefingRequest::RaiseHand).await,
            ClientMessage::LowerHand { identity } => {
                self.briefing(BriefingRequest::LowerHand { identity }).await
            }
            ClientMessage::GiveFloor { identity } => {
                self.briefing(BriefingRequest::GiveFloor { identity }).await
            }
            ClientMessage::TakeFloor {} => self.briefing(BriefingRequest::TakeFloor).await,
            ClientMessage::Chat { text } => self.briefing(BriefingRequest::Chat { text }).await,
            ClientMessage::TalkStart { identity } => {
                self.talk(TalkRequest::Start { identity }).await
            }
            ClientMessage::TalkStop {} => self.talk(TalkRequest::Stop).await,
            ClientMessage::VideoSize {
                track,
                width,
                height,
            } => {
                let client = self.client()?;
                let view = media_core::ViewSize { width, height };
                let sent = self.state.media.video_size(client, track, view).await;
                sent.map_err(|_| Failure::Close)?;
                Ok(None)
            }
        }
    }

    /// Passes a briefing request to the media loop. Its effects reach this client, like
    /// everyone else, as room messages; only a rejection is answered directly.
    async fn briefing(
        &mut self,
        request: BriefingRequest,
    ) -> Result<Option<ServerMessage>, Failure> {
        let client = self.client()?;
        let result = self.state.media.briefing(client, request).await;
        let outcome = result.map_err(|_| Failure::Close)?;
        outcome.map_err(|rejected| failure(rejected.code, &rejected.message))?;
        Ok(None)
    }

    /// Passes a talk request to the media loop. The client learns of its effect from
    /// `talk_started` or `talk_stopped`, and only a rejection gets a direct reply.
    async fn talk(&mut self, request: TalkRequest) -> Result<Option<ServerMessage>, Failure> {
        let client = self.client()?;
        let result = self.state.media.talk(client, request).await;
        let outcome = result.map_err(|_| Failure::Close)?;
        outcome.map_err(|rejected| failure(rejected.code, &rejected.message))?;
        Ok(None)
    }

    fn client(&self) -> Result<ClientId, Failure> {
        self.joined.ok_or_else(|| {
            failure(
                ErrorCode::NotJoined,
                "Send join with a token before any other message.",
            )
        })
    }

    async fn join(
        &mut self,
        version: u32,
        token: &str,
        resume: Option<String>,
    ) -> Result<Option<ServerMessage>, Failure> {
        if self.joined.is_some() {
            return Err(failure(
                ErrorCode::AlreadyJoined,
                "This session has already joined.",
            ));
        }
        if version != PROTOCOL_VERSION {
            let message = format!(
                "Protocol version {version} is not supported; this server speaks version {PROTOCOL_VERSION}. Reload the page."
            );
            return Err(fatal(ErrorCode::UnsupportedProtocol, &message));
        }
        let claims = match self.state.tokens.verify(token) {
            Ok(claims) => claims,
            Err(TokenError::Malformed) => match self.state.tokens.verify_phone(token) {
                Ok(phone) => return self.join_phone(phone).await,
                Err(_) => return Err(token_failure(TokenError::Malformed)),
            },
            Err(error) => return Err(token_failure(error)),
        };
        let Some(room_title) = super::room_title(&self.state, &claims.room).await else {
            return Err(fatal(
                ErrorCode::UnknownRoom,
                "The room named in the link does not exist. Ask the organiser for a new link.",
            ));
        };
        let member = Member {
            room: claims.room.clone(),
            identity: claims.sub.clone(),
            name: claims.name.clone(),
            role: claims.role,
            kind: claims.kind,
        };
        let joined = self
            .state
            .media
            .join(member, resume, self.outbox.clone())
            .await
            .map_err(|_| Failure::Close)?
            .map_err(join_failure)?;
        self.joined = Some(joined.client);
        let turn = &self.state.config.turn;
        let ice_servers = crate::turn::ice_servers(turn, &claims.sub, SystemTime::now());
        Ok(Some(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            room: claims.room,
            room_title,
            identity: claims.sub,
            name: claims.name,
            role: claims.role,
            kind: claims.kind,
            peers: joined.peers,
            briefing: joined.briefing,
            talks: joined.talks,
            resume_token: joined.resume_token,
            resumed: joined.resumed,
            ice_servers,
        }))
    }
}

impl Session {
    /// Joins a phone that publishes the second camera of the participant named in its
    /// token. The phone receives no room events and cannot resume, so its `resume_token` is empty.
    async fn join_phone(&mut self, claims: PhoneClaims) -> Result<Option<ServerMessage>, Failure> {
        let Some(room_title) = super::room_title(&self.state, &claims.room).await else {
            return Err(fatal(
                ErrorCode::UnknownRoom,
                "The room named in the link does not exist.",
            ));
        };
        let owner = phone::owner(&claims);
        let client = self
            .state
            .media
            .join_phone(owner, self.outbox.clone())
            .await
            .map_err(|_| Failure::Close)?
            .map_err(|_| {
                fatal(
                    ErrorCode::ParticipantAbsent,
                    "The participant is not in the room. Join on the participant's page, then scan a new QR code.",
                )
            })?;
        self.joined = Some(client);
        self.phone = true;
        // A phone on a mobile network may need the relay as much as a workplace computer.
        let turn = &self.state.config.turn;
        let ice_servers = crate::turn::ice_servers(turn, &claims.sub, SystemTime::now());
        Ok(Some(ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            room: claims.room,
            room_title,
            identity: claims.sub,
            name: claims.name,
            role: Role::Participant,
            kind: RoomKind::Contest,
            peers: Vec::new(),
            briefing: None,
            talks: Vec::new(),
            resume_token: String::new(),
            resumed: false,
            ice_servers,
        }))
    }
}

/// The outcome of a message that got no normal reply.
enum Failure {
    /// Send this error message.
    Error(Box<ServerMessage>),
    /// Close the session without a message (the client left or the server is stopping).
    Close,
}

fn failure(code: ErrorCode, message: &str) -> Failure {
    Failure::Error(Box::new(error_message(code, message, false)))
}

fn fatal(code: ErrorCode, message: &str) -> Failure {
    Failure::Error(Box::new(error_message(code, message, true)))
}

/// Parses a text frame, telling apart broken JSON, unknown message types and bad fields.
fn parse(text: &str) -> Result<ClientMessage, Failure> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        failure(
            ErrorCode::InvalidMessage,
            &format!("The message is not valid JSON: {e}."),
        )
    })?;
    let Some(kind) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
    else {
        return Err(failure(
            ErrorCode::InvalidMessage,
            "The message must be a JSON object with a string field \"type\".",
        ));
    };
    if !ClientMessage::TYPES.contains(&kind.as_str()) {
        let known = ClientMessage::TYPES.join(", ");
        let message = format!("Unknown message type \"{kind}\"; known types: {known}.");
        return Err(failure(ErrorCode::UnknownType, &message));
    }
    serde_json::from_value(value).map_err(|e| {
        failure(
            ErrorCode::InvalidMessage,
            &format!("Invalid \"{kind}\" message: {e}."),
        )
    })
}

fn join_failure(error: JoinRejected) -> Failure {
    match error {
        JoinRejected::KindMismatch { .. } => fatal(
            ErrorCode::RoomKindMismatch,
            "The room is in use as another kind of room than this link is for. Ask the organiser for a new link.",
        ),
    }
}

fn token_failure(error: TokenError) -> Failure {
    match error {
        TokenError::Expired => fatal(
            ErrorCode::TokenExpired,
            "The access link has expired. Ask the organiser for a new one.",
        ),
        _ => fatal(
            ErrorCode::InvalidToken,
            "The access token is invalid. Open the link from the organiser again.",
        ),
    }
}

/// Text sent for an offer the SDP parser rejects. The parser's own message names its
/// internals, so it goes to the debug log only.
const INVALID_OFFER: &str = "The SDP offer could not be parsed. Send the offer that the \
                             browser's createOffer() produced, unchanged.";

/// Text sent for an answer the SDP parser rejects or that does not match the offer.
const INVALID_ANSWER: &str = "The SDP answer could not be parsed or does not match the \
                              offer. Send the answer that the browser's createAnswer() \
                              produced, unchanged.";

fn publish_failure(error: PublishError) -> Failure {
    if let PublishError::InvalidSdp(detail) = &error {
        tracing::debug!(%detail, "SDP offer rejected");
        return failure(ErrorCode::InvalidSdp, INVALID_OFFER);
    }
    let code = match &error {
        PublishError::Forbidden(_) | PublishError::SourceNotAllowed { .. } => ErrorCode::Forbidden,
        PublishError::SourceKindMismatch { .. } => ErrorCode::InvalidSource,
        PublishError::InvalidSdp(_)
        | PublishError::TooManyMedia { .. }
        | PublishError::TooManyLayers { .. } => ErrorCode::InvalidSdp,
        PublishError::NoMedia => ErrorCode::NoMedia,
        PublishError::UnsupportedCodec { .. } => ErrorCode::UnsupportedCodec,
        PublishError::UnknownClient(_) | PublishError::Failed => {
            tracing::warn!(error = %error, "publish failed");
            ErrorCode::Internal
        }
    };
    failure(code, &error.to_string())
}

fn answer_failure(error: AnswerError) -> Failure {
    if let AnswerError::InvalidSdp(detail) = &error {
        tracing::debug!(%detail, "SDP answer rejected");
        return failure(ErrorCode::InvalidSdp, INVALID_ANSWER);
    }
    let code = match &error {
        AnswerError::NoPendingOffer => ErrorCode::NoPendingOffer,
        AnswerError::InvalidSdp(_) => ErrorCode::InvalidSdp,
        AnswerError::UnknownClient(_) | AnswerError::Failed => {
            tracing::warn!(error = %error, "subscribe answer failed");
            ErrorCode::Internal
        }
    };
    failure(code, &error.to_string())
}

fn source(source: protocol::TrackSource) -> TrackSource {
    match source {
        protocol::TrackSource::Camera => TrackSource::Camera,
        protocol::TrackSource::Microphone => TrackSource::Microphone,
        protocol::TrackSource::Screen => TrackSource::Screen,
        protocol::TrackSource::ScreenAudio => TrackSource::ScreenAudio,
        protocol::TrackSource::Camera2 => TrackSource::Camera2,
        protocol::TrackSource::Talk => TrackSource::Talk,
        protocol::TrackSource::TalkVideo => TrackSource::TalkVideo,
    }
}
