//! The server's HTTP development endpoints and its WebSocket signalling, as a browser uses
//! them (`docs/signalling.md`).

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::Error;

/// The signalling protocol version this tool speaks.
const PROTOCOL_VERSION: u32 = 1;

/// The server's HTTP address, from a URL such as `http://127.0.0.1:8080/`.
#[derive(Debug, Clone)]
pub struct Server {
    /// `host:port` as written in the URL, for the `Host` header.
    pub authority: String,
    /// The resolved address.
    pub addr: SocketAddr,
    /// The URL's path without its trailing `/`: empty for `http://host:port/`.
    pub path: String,
}

impl Server {
    /// Parses an `http://` URL and resolves its host.
    pub async fn resolve(url: &str) -> Result<Self, Error> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            Error::Setup(format!("{url}: the server URL must start with http://"))
        })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let authority = authority.to_string();
        let path = match path.trim_end_matches('/') {
            "" => String::new(),
            path => format!("/{path}"),
        };
        if authority.is_empty() {
            return Err(Error::Setup(format!("{url}: the URL names no host")));
        }
        let with_port = if authority.contains(':') && !authority.ends_with(']') {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(&with_port)
            .await
            .map_err(|e| Error::io("resolving the server's host", e))?
            .next()
            .ok_or_else(|| Error::Setup(format!("{authority} resolves to no address")))?;
        Ok(Self {
            authority,
            addr,
            path,
        })
    }

    /// Returns the base path of Janus's REST API: the URL's path, or `/janus`, Janus's
    /// default, when the URL has none.
    pub fn janus_base(&self) -> String {
        if self.path.is_empty() {
            "/janus".to_string()
        } else {
            self.path.clone()
        }
    }

    /// Sends one HTTP/1.1 request and returns the status and body.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, Bytes), Error> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| Error::io("connecting to the server", e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority);
        let body = match body {
            Some(value) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(body))
            .map_err(|e| Error::Http(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Error::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::Http(e.to_string()))?
            .to_bytes();
        Ok((status, body))
    }

    /// Lists the rooms, from `GET /api/dev/rooms`.
    pub async fn rooms(&self) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Room {
            id: String,
        }
        let (status, body) = self.request(Method::GET, "/api/dev/rooms", None).await?;
        if status != 200 {
            return Err(Error::Http(format!(
                "GET /api/dev/rooms returned {status}: is the server in development mode?"
            )));
        }
        let rooms: Vec<Room> =
            serde_json::from_slice(&body).map_err(|e| Error::Http(format!("rooms: {e}")))?;
        Ok(rooms.into_iter().map(|room| room.id).collect())
    }

    /// Gets a token from `POST /api/dev/token`.
    pub async fn token(&self, room: &str, name: &str, role: &str) -> Result<String, Error> {
        #[derive(Deserialize)]
        struct Token {
            token: String,
        }
        let body = json!({"room": room, "name": name, "role": role});
        let (status, body) = self
            .request(Method::POST, "/api/dev/token", Some(body))
            .await?;
        if status != 200 {
            let text = String::from_utf8_lossy(&body);
            return Err(Error::Http(format!(
                "POST /api/dev/token returned {status}: {text}"
            )));
        }
        let token: Token =
            serde_json::from_slice(&body).map_err(|e| Error::Http(format!("token: {e}")))?;
        Ok(token.token)
    }
}

/// A message from the client, as in `docs/signalling.md`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage<'a> {
    /// Opens the session.
    Join {
        /// The protocol version.
        protocol: u32,
        /// The access token.
        token: &'a str,
    },
    /// An offer for the publishing connection.
    Publish {
        /// SDP offer.
        sdp: String,
        /// The source of each m-line.
        tracks: Vec<PublishedTrack>,
    },
    /// The answer to a `subscribe_offer`.
    SubscribeAnswer {
        /// SDP answer.
        sdp: String,
    },
    /// The size at which the client shows a video track it receives, which chooses the
    /// simulcast layer the server sends.
    VideoSize {
        /// The track's identifier, from `subscribe_offer`.
        track: &'a str,
        /// Width in device pixels.
        width: u32,
        /// Height in device pixels.
        height: u32,
    },
    /// Keeps the session alive.
    Ping,
    /// Ends the session.
    Leave,
}

/// The source of one published m-line.
#[derive(Debug, Serialize)]
pub struct PublishedTrack {
    /// The m-line's MID.
    pub mid: String,
    /// `camera` or `microphone`.
    pub source: &'static str,
}

/// The server messages this tool acts on; it ignores the others.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The reply to `join`.
    Welcome {
        /// The client's identity.
        identity: String,
    },
    /// The answer to `publish`.
    PublishAnswer {
        /// SDP answer.
        sdp: String,
    },
    /// An offer for the receiving connection.
    SubscribeOffer {
        /// SDP offer.
        sdp: String,
        /// The track on each m-line of the offer.
        #[serde(default)]
        tracks: Vec<OfferedTrack>,
    },
    /// The simulcast layers of a published track that someone receives.
    LayersWanted(LayersWanted),
    /// A failed request.
    Error {
        /// Stable code.
        code: String,
        /// Explanation.
        message: String,
        /// Whether the server closes the session.
        fatal: bool,
    },
    /// Any other message.
    #[serde(other)]
    Other,
}

/// A track on an m-line of `subscribe_offer`; the tool reads only what it needs.
#[derive(Debug, Deserialize)]
pub struct OfferedTrack {
    /// The track's identifier.
    pub track: String,
    /// `audio` or `video`.
    pub kind: String,
}

/// The body of `layers_wanted`.
#[derive(Debug, Deserialize)]
pub struct LayersWanted {
    /// The m-line of the client's `publish` offer.
    pub mid: String,
    /// The RIDs of the layers someone receives.
    pub rids: Vec<String>,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Server messages read ahead before the reader waits for the client to take them.
const INBOX_CAPACITY: usize = 64;

/// A signalling WebSocket. A task of its own reads the socket, so that a client's `select!`
/// loop waits on a channel: polling the WebSocket itself after every media packet would
/// make tungstenite zero its read buffer each time.
pub struct Signalling {
    sink: SplitSink<Socket, Message>,
    inbox: mpsc::Receiver<Result<ServerMessage, Error>>,
    reader: JoinHandle<()>,
}

impl Drop for Signalling {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Signalling {
    /// Opens `/ws`, sends `join` and waits for `welcome`. Returns the session and the
    /// client's identity.
    pub async fn join(server: &Server, token: &str) -> Result<(Self, String), Error> {
        let url = format!("ws://{}/ws", server.authority);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| Error::Signalling(format!("WebSocket: {e}")))?;
        let (sink, stream) = socket.split();
        let (sender, inbox) = mpsc::channel(INBOX_CAPACITY);
        let reader = tokio::spawn(read_messages(stream, sender));
        let mut session = Self {
            sink,
            inbox,
            reader,
        };
        session
            .send(&ClientMessage::Join {
                protocol: PROTOCOL_VERSION,
                token,
            })
            .await?;
        match session.receive().await? {
            ServerMessage::Welcome { identity } => Ok((session, identity)),
            ServerMessage::Error { code, message, .. } => Err(Error::Signalling(format!(
                "join rejected: {code}: {message}"
            ))),
            other => Err(Error::Signalling(format!(
                "expected welcome, got {other:?}"
            ))),
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &ClientMessage<'_>) -> Result<(), Error> {
        let text = serde_json::to_string(message)
            .map_err(|e| Error::Signalling(format!("encoding a message: {e}")))?;
        self.sink
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| Error::Signalling(format!("sending: {e}")))
    }

    /// Returns the next server message; an error when the socket closes.
    pub async fn receive(&mut self) -> Result<ServerMessage, Error> {
        match self.inbox.recv().await {
            Some(message) => message,
            None => Err(Error::Signalling("the server closed the WebSocket".into())),
        }
    }

    /// Sends `leave` and closes the socket.
    pub async fn leave(mut self) {
        let _ = self.send(&ClientMessage::Leave).await;
        let _ = self.sink.close().await;
    }
}

/// Reads server messages into `inbox` until the socket closes or fails; the last item
/// sent is the error that ended it.
async fn read_messages(
    mut stream: SplitStream<Socket>,
    inbox: mpsc::Sender<Result<ServerMessage, Error>>,
) {
    loop {
        let message = match stream.next().await {
            None | Some(Ok(Message::Close(_))) => {
                Err(Error::Signalling("the server closed the WebSocket".into()))
            }
            Some(Err(e)) => Err(Error::Signalling(format!("receiving: {e}"))),
            Some(Ok(Message::Text(text))) => parse(text.as_str()),
            Some(Ok(_)) => continue,
        };
        let ended = message.is_err();
        if inbox.send(message).await.is_err() || ended {
            return;
        }
    }
}

/// Parses one server message. A type this tool does not act on, such as `talk_started`,
/// becomes [`ServerMessage::Other`], and fields it does not read are ignored, so that a
/// server with newer messages does not end a run.
fn parse(text: &str) -> Result<ServerMessage, Error> {
    serde_json::from_str(text).map_err(|e| Error::Signalling(format!("server message: {e}")))
}

#[cfg(test)]
mod tests {
    use profstage_server::signalling::protocol as server;

    use super::*;

    /// Serializes `message` as the server sends it and parses it back.
    fn reparse(message: &server::ServerMessage) -> ServerMessage {
        let text = serde_json::to_string(message).expect("server messages serialize");
        parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn talk_track() -> server::TrackInfo {
        server::TrackInfo {
            track: "tr-9".into(),
            identity: "o1".into(),
            kind: server::MediaKind::Audio,
            source: server::TrackSource::Talk,
        }
    }

    fn talk() -> server::Talk {
        server::Talk {
            talker: "o1".into(),
            name: "Организаторова Ольга".into(),
            participant: "p1".into(),
            started_unix_ms: 1_796_420_391_002,
        }
    }

    #[test]
    fn talk_messages_are_other() {
        let messages = [
            server::ServerMessage::TalkStarted(talk()),
            server::ServerMessage::TalkStopped {
                talker: "o1".into(),
                participant: "p1".into(),
            },
            server::ServerMessage::TrackPublished(talk_track()),
            server::ServerMessage::TrackUnpublished {
                track: "tr-9".into(),
                identity: "o1".into(),
            },
        ];
        for message in messages {
            let parsed = reparse(&message);
            assert!(
                matches!(parsed, ServerMessage::Other),
                "{message:?}: {parsed:?}"
            );
        }
    }

    #[test]
    fn welcome_with_talks_parses() {
        let welcome = server::ServerMessage::Welcome {
            protocol: 1,
            room: "demo".into(),
            room_title: "Demo".into(),
            identity: "p1".into(),
            name: "Слушаева Анна".into(),
            role: server::Role::Participant,
            kind: server::RoomKind::Contest,
            peers: vec![server::PeerInfo {
                identity: "o1".into(),
                name: "Организаторова Ольга".into(),
                role: server::Role::Organiser,
                tracks: vec![talk_track()],
                reconnecting: true,
            }],
            briefing: None,
            talks: vec![talk()],
            resume_token: "ab".repeat(32),
            resumed: true,
            ice_servers: Vec::new(),
        };
        match reparse(&welcome) {
            ServerMessage::Welcome { identity } => assert_eq!(identity, "p1"),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    #[test]
    fn subscribe_offer_with_talk_track_parses() {
        let offer = server::ServerMessage::SubscribeOffer {
            sdp: "v=0\r\n".into(),
            tracks: vec![server::SubscribedTrack {
                mid: "0".into(),
                info: talk_track(),
            }],
        };
        match reparse(&offer) {
            ServerMessage::SubscribeOffer { sdp, tracks } => {
                assert_eq!(sdp, "v=0\r\n");
                assert_eq!(tracks.len(), 1);
                assert_eq!(tracks[0].track, "tr-9");
            }
            other => panic!("expected subscribe_offer, got {other:?}"),
        }
    }

    #[test]
    fn unknown_types_and_fields_are_ignored() {
        let future = r#"{"type": "talk_moved", "talk": {"talker": "o1"}, "to": ["p2"]}"#;
        assert!(matches!(parse(future), Ok(ServerMessage::Other)));

        let answer = r#"{"type": "publish_answer", "sdp": "v=0", "ice": {"lite": true}}"#;
        match parse(answer) {
            Ok(ServerMessage::PublishAnswer { sdp }) => assert_eq!(sdp, "v=0"),
            other => panic!("expected publish_answer, got {other:?}"),
        }

        let error = r#"{"type": "error", "code": "talk_busy", "message": "busy",
                        "fatal": false, "retry_after_ms": 500}"#;
        match parse(error) {
            Ok(ServerMessage::Error { code, fatal, .. }) => {
                assert_eq!(code, "talk_busy");
                assert!(!fatal);
            }
            other => panic!("expected error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn url_path_becomes_janus_base() {
        let janus = Server::resolve("http://127.0.0.1:8088/janus/")
            .await
            .unwrap();
        assert_eq!(janus.authority, "127.0.0.1:8088");
        assert_eq!(janus.path, "/janus");
        assert_eq!(janus.janus_base(), "/janus");

        let other = Server::resolve("http://127.0.0.1:8088/gateway/v1")
            .await
            .unwrap();
        assert_eq!(other.janus_base(), "/gateway/v1");

        let bare = Server::resolve("http://127.0.0.1:8080").await.unwrap();
        assert_eq!(bare.path, "");
        assert_eq!(bare.addr.port(), 8080);
        assert_eq!(bare.janus_base(), "/janus");
    }

    #[test]
    fn malformed_message_is_an_error() {
        for text in ["not json", r#"{"sdp": "v=0"}"#, r#"{"type": "welcome"}"#] {
            assert!(parse(text).is_err(), "{text} parsed");
        }
    }
}
