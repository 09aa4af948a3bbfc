//! A server on 127.0.0.1 with ephemeral ports, and a WebSocket client for it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use profstage_server::app::{self, RunningServer};
use profstage_server::config::{Config, RoomConfig, TokenSecret};
use profstage_server::signalling::protocol::{Role, RoomKind, ServerMessage};
use profstage_server::token::{Claims, PhoneClaims, PhoneScope, TokenKeys};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::TcpStream;
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub running: RunningServer,
    keys: TokenKeys,
    /// Spool, local storage, exports and audit log of this server.
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on ephemeral loopback ports, with its files in a fresh temporary
    /// folder, after `adjust` has changed the configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let data = tempfile::tempdir().expect("a temporary folder");
        let mut config = Config::default();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config.media.udp_listen = "127.0.0.1:0".parse().unwrap();
        config.auth.token_secret = Some(TokenSecret::new(SECRET));
        config.dev_mode = Some(true);
        config.recording.spool_dir = data.path().join("spool");
        config.recording.data_dir = data.path().join("data");
        config.storage.local_dir = data.path().join("recordings");
        adjust(&mut config);
        let running = app::start(config).await.expect("server starts");
        Self {
            running,
            keys: TokenKeys::new(SECRET.as_bytes()),
            data,
        }
    }

    pub fn claims(&self, identity: &str, room: &str, role: Role) -> Claims {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        Claims {
            sub: identity.into(),
            name: format!("Name of {identity}"),
            room: room.into(),
            role,
            kind: RoomKind::Contest,
            iat: now,
            exp: now + 3600,
        }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        self.keys.issue(claims)
    }

    pub fn token(&self, identity: &str, room: &str, role: Role) -> String {
        self.issue(&self.claims(identity, room, role))
    }

    /// Returns a phone camera token for the second camera of `identity` in `room`.
    pub fn phone_token(&self, identity: &str, room: &str) -> String {
        let claims = self.claims(identity, room, Role::Participant);
        self.keys.issue_phone(&PhoneClaims {
            sub: claims.sub,
            name: claims.name,
            room: claims.room,
            scope: PhoneScope::Camera2,
            iat: claims.iat,
            exp: claims.exp,
        })
    }
}

/// Adds the room `id` to the rooms of `config`.
pub fn add_room(config: &mut Config, id: &str) {
    config.rooms.push(RoomConfig {
        id: id.parse().expect("a room id"),
        title: format!("Room {id}"),
        retention_days: None,
    });
}

/// Joins room `demo` as `identity` in `role` with a token for a room of `kind`, and returns
/// the client with its `welcome`.
pub async fn join_room(
    server: &TestServer,
    identity: &str,
    role: Role,
    kind: RoomKind,
) -> (Client, ServerMessage) {
    join_named_room(server, "demo", identity, role, kind).await
}

/// Joins `room` as [`join_room`] joins `demo`.
pub async fn join_named_room(
    server: &TestServer,
    room: &str,
    identity: &str,
    role: Role,
    kind: RoomKind,
) -> (Client, ServerMessage) {
    let mut client = Client::connect(server).await;
    let mut claims = server.claims(identity, room, role);
    claims.kind = kind;
    let token = server.issue(&claims);
    client
        .send(serde_json::json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    let welcome = client.receive().await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { .. }),
        "expected welcome, got {welcome:?}"
    );
    (client, welcome)
}

pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(server: &TestServer) -> Self {
        let url = format!("ws://{}/ws", server.running.http_addr);
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket connects");
        Self { socket }
    }

    /// The client's own address, as the server sees it.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        match self.socket.get_ref() {
            MaybeTlsStream::Plain(stream) => stream.local_addr().expect("socket has an address"),
            _ => unreachable!("tests connect without TLS"),
        }
    }

    pub async fn send(&mut self, value: serde_json::Value) {
        self.send_text(&value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("send succeeds");
    }

    /// Returns the next server message, failing the test after a timeout.
    pub async fn receive(&mut self) -> ServerMessage {
        self.receive_within(RECEIVE_TIMEOUT).await
    }

    /// Returns the next server message, failing the test after `timeout`.
    pub async fn receive_within(&mut self, timeout: Duration) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(timeout, self.socket.next())
                .await
                .expect("a message arrives in time")
                .expect("the socket is open")
                .expect("the frame is valid");
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("server message parses")
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Returns whether the server closes the socket within the timeout.
    pub async fn is_closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(RECEIVE_TIMEOUT, self.socket.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Asserts that the session still answers a ping, skipping room events.
    pub async fn expect_alive(&mut self) {
        self.send(serde_json::json!({"type": "ping"})).await;
        loop {
            match self.receive().await {
                ServerMessage::Pong => return,
                ServerMessage::PeerJoined(_) | ServerMessage::PeerLeft { .. } => continue,
                other => panic!("expected pong, got {other:?}"),
            }
        }
    }
}

/// A str0m peer in place of a browser's publishing connection: it sends over UDP to the
/// server's media port, completing ICE and DTLS, until it is dropped. It sends no media.
pub struct TestPublisher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestPublisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Publishes one send-only m-line of `kind` from `source` for `client`: sends `publish`
/// with the offer of a new [`TestPublisher`], applies the server's answer and connects.
/// Other messages that arrive before the answer are skipped. The server announces the
/// track once DTLS is up, because str0m reports the m-lines only then.
pub async fn publish(client: &mut Client, kind: MediaKind, source: &str) -> TestPublisher {
    publish_with(client, kind, source, false).await
}

/// Publishes as [`publish`] does, and once connected sends an audio packet of
/// [`MEDIA_PAYLOAD_BYTES`] every [`MEDIA_PACKET_INTERVAL`]: 80 kbit/s of payload.
pub async fn publish_media(client: &mut Client, source: &str) -> TestPublisher {
    publish_with(client, MediaKind::Audio, source, true).await
}

async fn publish_with(
    client: &mut Client,
    kind: MediaKind,
    source: &str,
    sends_media: bool,
) -> TestPublisher {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP socket");
    let local = socket.local_addr().expect("the socket has an address");
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("a host candidate"));
    let mid = negotiate_publish(client, &mut rtc, kind, source).await;
    let media = sends_media.then(|| AudioSource::new(mid));
    let task = tokio::spawn(drive(rtc, socket, local, media));
    TestPublisher { task }
}

/// Adds a send-only m-line of `kind` from `source` to `rtc`, sends `publish` with the offer
/// and applies the server's answer, then returns the m-line. Other messages that arrive
/// before the answer are skipped.
pub async fn negotiate_publish(
    client: &mut Client,
    rtc: &mut Rtc,
    kind: MediaKind,
    source: &str,
) -> Mid {
    let (mid, pending) = send_offer(client, rtc, kind, source).await;
    let answer = loop {
        match client.receive().await {
            ServerMessage::PublishAnswer { sdp } => break sdp,
            error @ ServerMessage::Error { .. } => panic!("publish rejected: {error:?}"),
            _ => continue,
        }
    };
    let answer = SdpAnswer::from_sdp_string(&answer).expect("the answer parses");
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("the answer applies");
    mid
}

/// Sends `publish` with an offer from `rtc` of one send-only m-line of `kind`, declared as
/// `source`, and returns the m-line and the offer for the answer to complete.
pub async fn send_offer(
    client: &mut Client,
    rtc: &mut Rtc,
    kind: MediaKind,
    source: &str,
) -> (Mid, SdpPendingOffer) {
    let mut change = rtc.sdp_api();
    let mid = change.add_media(kind, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().expect("an offer with media");
    client
        .send(serde_json::json!({
            "type": "publish",
            "sdp": offer.to_sdp_string(),
            "tracks": [{"mid": mid.to_string(), "source": source}],
        }))
        .await;
    (mid, pending)
}

/// Payload bytes of each packet a media-sending [`TestPublisher`] writes.
pub const MEDIA_PAYLOAD_BYTES: usize = 200;
/// Time between two packets of a media-sending [`TestPublisher`].
pub const MEDIA_PACKET_INTERVAL: Duration = Duration::from_millis(20);

/// Opus-numbered packets of filler bytes on one m-line, one per [`MEDIA_PACKET_INTERVAL`].
struct AudioSource {
    mid: Mid,
    sequence: u64,
    timestamp: u32,
    next_at: Option<Instant>,
}

impl AudioSource {
    fn new(mid: Mid) -> Self {
        Self {
            mid,
            sequence: 1,
            timestamp: 0,
            next_at: None,
        }
    }

    /// Writes the packets that are due and returns when the next one is.
    fn write_due(&mut self, rtc: &mut Rtc, now: Instant) -> Option<Instant> {
        let next_at = *self.next_at.get_or_insert(now);
        if next_at > now {
            return Some(next_at);
        }
        let pt = rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())?;
        let mut api = rtc.direct_api();
        let stream = api.stream_tx_by_mid(self.mid, None)?;
        let payload = vec![0x5a; MEDIA_PAYLOAD_BYTES];
        let write = RtpWrite::new(pt, self.sequence.into(), self.timestamp, now, payload);
        stream.write_rtp(write);
        self.sequence += 1;
        self.timestamp = self.timestamp.wrapping_add(960);
        let next = next_at + MEDIA_PACKET_INTERVAL;
        self.next_at = Some(next);
        Some(next)
    }
}

/// Moves datagrams between the peer and its socket and runs its timers. With `media`, it
/// also writes packets once ICE and DTLS are up.
async fn drive(mut rtc: Rtc, socket: UdpSocket, local: SocketAddr, mut media: Option<AudioSource>) {
    let mut buffer = vec![0u8; 2048];
    let mut connected = false;
    loop {
        let deadline = match rtc.poll_output() {
            Ok(Output::Transmit(transmit)) => {
                let _ = socket
                    .send_to(&transmit.contents, transmit.destination)
                    .await;
                continue;
            }
            Ok(Output::Event(Event::Connected)) => {
                connected = true;
                continue;
            }
            Ok(Output::Event(_)) => continue,
            Ok(Output::Timeout(at)) => at,
            Err(error) => panic!("the test publisher failed: {error}"),
        };
        let media_at = match media.as_mut().filter(|_| connected) {
            Some(source) => source.write_due(&mut rtc, Instant::now()),
            None => None,
        };
        let deadline = media_at.map_or(deadline, |at| at.min(deadline));
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        let input = tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                let (length, source) = received.expect("UDP receive");
                let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buffer[..length])
                else {
                    continue;
                };
                Input::Receive(Instant::now(), receive)
            }
            () = sleep => Input::Timeout(Instant::now()),
        };
        rtc.handle_input(input).expect("the peer takes its input");
    }
}
