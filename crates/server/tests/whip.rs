//! WHIP and WHEP against a server on 127.0.0.1, with str0m peers over real UDP in place of
//! an encoder and a player. The workplace camera reaches an expert's socket, a WHEP viewer
//! and the recording. The person appears once beside their browser session. Rejected
//! requests get their status and change nothing.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{join_room, publish, Client, TestServer};
use profstage_loadgen::payload::{vp8_frame, Kind, Probe};
use profstage_server::media_loop::MAX_VIEWERS_PER_PERSON;
use profstage_server::signalling::protocol::{
    ErrorCode, Role, RoomKind, ServerMessage, TrackSource,
};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Time between two frames of the test camera: 30 frames a second.
const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// Every this many frames is a keyframe.
const KEYFRAME_EVERY: u32 = 15;
/// Time the media has to arrive.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(15);

/// A reply to an HTTP request, read whole.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Returns the `error.code` of a JSON error body.
    fn code(&self) -> String {
        let value: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body));
        value["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Sends one HTTP/1.1 request and reads the reply until the server closes the connection.
async fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> Reply {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.running.http_addr,
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    let mut stream = TcpStream::connect(server.running.http_addr)
        .await
        .expect("HTTP connects");
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .expect("request is sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("reply is read");
    let text = String::from_utf8(raw).expect("reply is UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("reply has a head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line.split(' ').nth(1).expect("status code");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Reply {
        status: status.parse().expect("numeric status"),
        headers,
        body: body.to_owned(),
    }
}

/// Sends `DELETE` for a session resource.
async fn delete(server: &TestServer, path: &str, token: Option<&str>) -> Reply {
    request(server, "DELETE", path, token, None, "").await
}

/// A str0m peer with its own UDP socket on 127.0.0.1.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
}

impl Peer {
    async fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP socket");
        let local = socket.local_addr().expect("the socket has an address");
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("a host candidate"));
        Self { rtc, socket, local }
    }

    /// Creates an offer with one m-line of each given kind and direction.
    fn offer(&mut self, lines: &[(MediaKind, Direction)]) -> (String, SdpPendingOffer, Vec<Mid>) {
        let mut change = self.rtc.sdp_api();
        let mids = lines
            .iter()
            .map(|(kind, direction)| change.add_media(*kind, *direction, None, None, None))
            .collect();
        let (offer, pending) = change.apply().expect("an offer with media");
        (offer.to_sdp_string(), pending, mids)
    }

    fn accept(&mut self, pending: SdpPendingOffer, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).expect("the answer parses");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the answer applies");
    }
}

/// A peer running in its own task until dropped. A publisher sends VP8 on its m-line; a
/// viewer counts the RTP packets it receives.
struct Running {
    task: tokio::task::JoinHandle<()>,
    received: Arc<AtomicU64>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    fn start(peer: Peer, sending: Option<Mid>) -> Self {
        let received = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(drive(peer, sending, Arc::clone(&received)));
        Self { task, received }
    }

    /// Waits until at least `count` RTP packets arrived, failing the test after a timeout.
    async fn wait_for_packets(&self, count: u64) {
        let deadline = Instant::now() + MEDIA_TIMEOUT;
        while self.received.load(Ordering::Relaxed) < count {
            assert!(
                Instant::now() < deadline,
                "only {} RTP packets arrived",
                self.received.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Moves datagrams between the peer and its socket, runs its timers, sends a frame every
/// [`FRAME_INTERVAL`] on `sending` once connected, and counts received RTP packets.
async fn drive(mut peer: Peer, sending: Option<Mid>, received: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 2048];
    let mut connected = false;
    let mut frame = 0u32;
    let mut next_frame = Instant::now();
    loop {
        let deadline = match peer.rtc.poll_output() {
            Ok(Output::Transmit(transmit)) => {
                let _ = peer
                    .socket
                    .send_to(&transmit.contents, transmit.destination)
                    .await;
                continue;
            }
            Ok(Output::Event(Event::Connected)) => {
                connected = true;
                continue;
            }
            Ok(Output::Event(Event::RtpPacket(_))) => {
                received.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Ok(Output::Event(_)) => continue,
            Ok(Output::Timeout(at)) => at,
            Err(error) => panic!("the test peer failed: {error}"),
        };
        if let Some(mid) = sending.filter(|_| connected && Instant::now() >= next_frame) {
            send_frame(&mut peer.rtc, mid, frame);
            frame += 1;
            next_frame += FRAME_INTERVAL;
            continue;
        }
        let wake = if sending.is_some() && connected {
            deadline.min(next_frame)
        } else {
            deadline
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
        let input = tokio::select! {
            result = peer.socket.recv_from(&mut buffer) => {
                let (length, source) = result.expect("UDP receive");
                let Ok(receive) = Receive::new(Protocol::Udp, source, peer.local, &buffer[..length])
                else {
                    continue;
                };
                Input::Receive(Instant::now(), receive)
            }
            () = sleep => Input::Timeout(Instant::now()),
        };
        peer.rtc
            .handle_input(input)
            .expect("the peer takes its input");
    }
}

/// Writes one 640x480 VP8 frame of synthetic payload, with a correct descriptor and frame
/// header, on `mid`.
fn send_frame(rtc: &mut Rtc, mid: Mid, frame: u32) {
    let pt = rtc
        .codec_config()
        .find(|p| p.spec().codec == Codec::Vp8)
        .expect("VP8 is configured")
        .pt();
    let keyframe = frame.is_multiple_of(KEYFRAME_EVERY);
    let probe = Probe {
        sent_ns: 0,
        publisher: 0,
        kind: Kind::Video,
        index: u64::from(frame) * 4,
        frame,
        part: 0,
        parts: 1,
        keyframe,
        layer: 0,
    };
    let size = if keyframe { 3000 } else { 800 };
    let payloads = vp8_frame(probe, size, frame as u16, 640, 480);
    let count = payloads.len();
    let timestamp = frame * 3000;
    let mut api = rtc.direct_api();
    let stream = api
        .stream_tx_by_mid(mid, None)
        .expect("the m-line has a sending stream");
    for (part, payload) in payloads.into_iter().enumerate() {
        let sequence = u64::from(frame) * 4 + part as u64;
        let write = RtpWrite::new(pt, sequence.into(), timestamp, Instant::now(), payload)
            .marker(part + 1 == count)
            .nackable(true);
        stream.write_rtp(write);
    }
}

/// Publishes a WHIP camera for the holder of `token` and returns the running publisher and
/// the session's resource path.
async fn whip_publish(server: &TestServer, token: &str) -> (Running, String) {
    let mut peer = Peer::new().await;
    let (offer, pending, mids) = peer.offer(&[(MediaKind::Video, Direction::SendOnly)]);
    let reply = request(
        server,
        "POST",
        "/api/v1/whip",
        Some(token),
        Some("application/sdp"),
        &offer,
    )
    .await;
    assert_eq!(reply.status, 201, "WHIP POST failed: {}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/sdp"));
    let location = reply
        .header("location")
        .expect("a Location header")
        .to_owned();
    assert!(location.starts_with("/api/v1/whip/sessions/"), "{location}");
    peer.accept(pending, &reply.body);
    (Running::start(peer, Some(mids[0])), location)
}

/// Watches `identity` over WHEP with a video and an audio m-line, as players offer.
async fn whep_watch(server: &TestServer, token: &str, identity: &str) -> (Running, String) {
    let mut peer = Peer::new().await;
    let lines = [
        (MediaKind::Audio, Direction::RecvOnly),
        (MediaKind::Video, Direction::RecvOnly),
    ];
    let (offer, pending, _) = peer.offer(&lines);
    let path = format!("/api/v1/whep/{identity}");
    let reply = request(
        server,
        "POST",
        &path,
        Some(token),
        Some("application/sdp"),
        &offer,
    )
    .await;
    assert_eq!(reply.status, 201, "WHEP POST failed: {}", reply.body);
    let location = reply
        .header("location")
        .expect("a Location header")
        .to_owned();
    assert!(location.starts_with("/api/v1/whep/sessions/"), "{location}");
    peer.accept(pending, &reply.body);
    (Running::start(peer, None), location)
}

/// Returns the next message about people or tracks, skipping offers and pongs.
async fn next_room_event(client: &mut Client) -> ServerMessage {
    loop {
        match client.receive().await {
            ServerMessage::SubscribeOffer { .. } | ServerMessage::Pong => continue,
            other => return other,
        }
    }
}

/// Asserts that the client learned of no change in the room: the next message other than
/// an offer for tracks it knows of is the `pong` to a ping sent now.
async fn expect_nothing_sent(client: &mut Client) {
    client.send(serde_json::json!({"type": "ping"})).await;
    let message = loop {
        match client.receive().await {
            ServerMessage::SubscribeOffer { .. } => continue,
            other => break other,
        }
    };
    assert_eq!(message, ServerMessage::Pong);
}

/// Reads the recordings in progress in room `demo` until `identity` has a `camera2`
/// source with bytes written, failing the test after a timeout.
async fn wait_for_recorded_camera2(server: &TestServer, token: &str, identity: &str) {
    let deadline = Instant::now() + MEDIA_TIMEOUT;
    loop {
        let reply = request(
            server,
            "GET",
            "/api/v1/recordings/live?room=demo",
            Some(token),
            None,
            "",
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let live: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let recorded = live["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["participant"] == identity)
            .flat_map(|p| p["sources"].as_array().cloned().unwrap_or_default())
            .any(|s| s["source"] == "camera2" && s["bytes"].as_u64().unwrap_or(0) > 0);
        if recorded {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "camera2 of {identity} is not recorded: {live}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A `POST` that is rejected: path, token, content type, body, and the status and error
/// code of the reply.
type Rejection<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    u16,
    &'a str,
);

async fn start_server() -> TestServer {
    TestServer::start_with(|config| config.recording.segment_secs = 1).await
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    since_epoch.as_millis() as u64
}

#[tokio::test]
async fn whip_camera_reaches_expert_viewer_and_recording() {
    let server = start_server().await;
    let (mut expert, _) = join_room(&server, "e-1", Role::Expert, RoomKind::Contest).await;
    let participant = server.token("p-1", "demo", Role::Participant);
    let expert_token = server.token("e-1", "demo", Role::Expert);
    let started_ms = now_ms();

    let (publisher, whip_location) = whip_publish(&server, &participant).await;
    match next_room_event(&mut expert).await {
        ServerMessage::PeerJoined(peer) => assert_eq!(peer.identity, "p-1"),
        other => panic!("expected peer_joined, got {other:?}"),
    }
    let track = match next_room_event(&mut expert).await {
        ServerMessage::TrackPublished(info) => info,
        other => panic!("expected track_published, got {other:?}"),
    };
    assert_eq!(track.identity, "p-1");
    assert_eq!(track.source, TrackSource::Camera2);

    let (viewer, whep_location) = whep_watch(&server, &expert_token, "p-1").await;
    viewer.wait_for_packets(60).await;
    wait_for_recorded_camera2(&server, &expert_token, "p-1").await;

    let audit = std::fs::read_to_string(server.data.path().join("data/audit.jsonl"))
        .expect("the audit log exists");
    let watched = audit
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|entry| entry["action"] == "live.watch")
        .unwrap_or_else(|| panic!("no live.watch entry in {audit}"));
    assert_eq!(watched["actor"], "e-1");
    assert_eq!(watched["participant"], "p-1");
    assert!(watched["at_unix_ms"].as_u64().unwrap() >= started_ms);

    let ended = delete(&server, &whep_location, Some(&expert_token)).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let again = delete(&server, &whep_location, Some(&expert_token)).await;
    assert_eq!(again.status, 404, "{}", again.body);

    let ended = delete(&server, &whip_location, Some(&participant)).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    match next_room_event(&mut expert).await {
        ServerMessage::TrackUnpublished {
            track: id,
            identity,
        } => {
            assert_eq!(id, track.track);
            assert_eq!(identity, "p-1");
        }
        other => panic!("expected track_unpublished, got {other:?}"),
    }
    match next_room_event(&mut expert).await {
        ServerMessage::PeerLeft { identity } => assert_eq!(identity, "p-1"),
        other => panic!("expected peer_left, got {other:?}"),
    }
    drop(publisher);
}

/// Publishes p-1's camera over WHIP while e-1 is in the room, and returns the publisher
/// and e-1's token once e-1 has seen the camera.
async fn published_to_expert(server: &TestServer) -> (Running, String) {
    let (mut expert, _) = join_room(server, "e-1", Role::Expert, RoomKind::Contest).await;
    let participant = server.token("p-1", "demo", Role::Participant);
    let (publisher, _) = whip_publish(server, &participant).await;
    let _ = next_room_event(&mut expert).await;
    let _ = next_room_event(&mut expert).await;
    (publisher, server.token("e-1", "demo", Role::Expert))
}

/// Offers to watch p-1's video over WHEP with `token`, and returns the reply.
async fn whep_post(server: &TestServer, token: &str) -> Reply {
    let mut peer = Peer::new().await;
    let (offer, _, _) = peer.offer(&[(MediaKind::Video, Direction::RecvOnly)]);
    let sdp = Some("application/sdp");
    request(server, "POST", "/api/v1/whep/p-1", Some(token), sdp, &offer).await
}

#[tokio::test]
async fn whep_sessions_per_viewer_are_limited() {
    let server = start_server().await;
    let (_publisher, expert_token) = published_to_expert(&server).await;

    let mut locations = Vec::new();
    for attempt in 0..=MAX_VIEWERS_PER_PERSON {
        let reply = whep_post(&server, &expert_token).await;
        if attempt < MAX_VIEWERS_PER_PERSON {
            assert_eq!(reply.status, 201, "session {attempt}: {}", reply.body);
            locations.push(reply.header("location").unwrap().to_owned());
        } else {
            assert_eq!(reply.status, 429, "{}", reply.body);
            assert_eq!(reply.code(), "too_many_sessions");
        }
    }

    let ended = delete(&server, &locations[0], Some(&expert_token)).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let reply = whep_post(&server, &expert_token).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn browser_and_whip_session_are_one_person() {
    let server = start_server().await;
    let (mut browser, _) = join_room(&server, "p-1", Role::Participant, RoomKind::Contest).await;
    let (mut expert, welcome) = join_room(&server, "e-1", Role::Expert, RoomKind::Contest).await;
    let ServerMessage::Welcome { peers, .. } = welcome else {
        unreachable!("join_room checks the welcome");
    };
    assert_eq!(peers.len(), 1);
    let token = server.token("p-1", "demo", Role::Participant);

    let (_publisher, location) = whip_publish(&server, &token).await;
    match next_room_event(&mut expert).await {
        ServerMessage::TrackPublished(info) => {
            assert_eq!(info.identity, "p-1");
            assert_eq!(info.source, TrackSource::Camera2);
        }
        other => panic!("expected only track_published, got {other:?}"),
    }

    // A second expert sees one person with the WHIP track.
    let (_late, welcome) = join_room(&server, "e-2", Role::Expert, RoomKind::Contest).await;
    let ServerMessage::Welcome { peers, .. } = welcome else {
        unreachable!("join_room checks the welcome");
    };
    let people: Vec<&str> = peers.iter().map(|p| p.identity.as_str()).collect();
    assert_eq!(
        people.iter().filter(|p| **p == "p-1").count(),
        1,
        "{people:?}"
    );
    let person = peers.iter().find(|p| p.identity == "p-1").unwrap();
    assert_eq!(person.tracks.len(), 1);
    assert_eq!(person.tracks[0].source, TrackSource::Camera2);
    match next_room_event(&mut expert).await {
        ServerMessage::PeerJoined(peer) => assert_eq!(peer.identity, "e-2"),
        other => panic!("expected peer_joined of e-2, got {other:?}"),
    }

    // The browser may not send a second camera while the WHIP camera is on.
    let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                 m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
                 a=sendonly\r\na=rtpmap:96 VP8/90000\r\n";
    browser
        .send(serde_json::json!({"type": "publish", "sdp": offer,
                                 "tracks": [{"mid": "0", "source": "camera2"}]}))
        .await;
    match browser.receive().await {
        ServerMessage::Error { code, fatal, .. } => {
            assert_eq!(code, ErrorCode::Forbidden);
            assert!(!fatal);
        }
        other => panic!("expected forbidden, got {other:?}"),
    }

    // The browser leaving does not make the person leave while the camera is on.
    browser.send(serde_json::json!({"type": "leave"})).await;
    expect_nothing_sent(&mut expert).await;
    let ended = delete(&server, &location, Some(&token)).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    match next_room_event(&mut expert).await {
        ServerMessage::TrackUnpublished { identity, .. } => assert_eq!(identity, "p-1"),
        other => panic!("expected track_unpublished, got {other:?}"),
    }
    match next_room_event(&mut expert).await {
        ServerMessage::PeerLeft { identity } => assert_eq!(identity, "p-1"),
        other => panic!("expected peer_left, got {other:?}"),
    }
}

#[tokio::test]
async fn whip_rejected_while_browser_sends_camera2() {
    let server = start_server().await;
    let (mut browser, _) = join_room(&server, "p-1", Role::Participant, RoomKind::Contest).await;
    let (mut expert, _) = join_room(&server, "e-1", Role::Expert, RoomKind::Contest).await;
    let _camera2 = publish(&mut browser, MediaKind::Video, "camera2").await;
    match next_room_event(&mut expert).await {
        ServerMessage::TrackPublished(info) => assert_eq!(info.source, TrackSource::Camera2),
        other => panic!("expected track_published, got {other:?}"),
    }

    let token = server.token("p-1", "demo", Role::Participant);
    let mut peer = Peer::new().await;
    let (offer, _, _) = peer.offer(&[(MediaKind::Video, Direction::SendOnly)]);
    let reply = request(
        &server,
        "POST",
        "/api/v1/whip",
        Some(&token),
        Some("application/sdp"),
        &offer,
    )
    .await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.code(), "source_in_use");
    expect_nothing_sent(&mut expert).await;
}

#[tokio::test]
async fn rejected_requests_change_nothing() {
    let server = start_server().await;
    let (mut expert, _) = join_room(&server, "e-1", Role::Expert, RoomKind::Contest).await;
    let (_browser, _) = join_room(&server, "p-2", Role::Participant, RoomKind::Contest).await;
    let _ = next_room_event(&mut expert).await;
    let participant = server.token("p-1", "demo", Role::Participant);
    let other_participant = server.token("p-2", "demo", Role::Participant);
    let expert_token = server.token("e-1", "demo", Role::Expert);
    let mut other_room = server.claims("p-1", "nowhere", Role::Participant);
    other_room.kind = RoomKind::Contest;
    let other_room = server.issue(&other_room);
    let mut briefing = server.claims("p-1", "demo", Role::Participant);
    briefing.kind = RoomKind::Briefing;
    let briefing = server.issue(&briefing);

    let mut peer = Peer::new().await;
    let (video, _, _) = peer.offer(&[(MediaKind::Video, Direction::SendOnly)]);
    let mut peer = Peer::new().await;
    let both = [
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ];
    let (with_audio, _, _) = peer.offer(&both);
    let mut peer = Peer::new().await;
    let (watching, _, _) = peer.offer(&[(MediaKind::Video, Direction::RecvOnly)]);

    let sdp = Some("application/sdp");
    let whip = "/api/v1/whip";
    let oversized = "a".repeat(70 * 1024);
    let cases: [Rejection; 13] = [
        (
            whip,
            Some(&participant),
            sdp,
            &oversized,
            413,
            "invalid_body",
        ),
        (whip, None, sdp, &video, 401, "unauthorized"),
        (whip, Some("not-a-token"), sdp, &video, 401, "unauthorized"),
        (
            whip,
            Some(&participant),
            Some("application/json"),
            &video,
            415,
            "unsupported_media_type",
        ),
        (
            whip,
            Some(&participant),
            None,
            &video,
            415,
            "unsupported_media_type",
        ),
        (
            whip,
            Some(&participant),
            sdp,
            "v=0\r\nm=video nonsense",
            400,
            "invalid_sdp",
        ),
        (
            whip,
            Some(&participant),
            sdp,
            &with_audio,
            422,
            "unsupported_offer",
        ),
        (whip, Some(&expert_token), sdp, &video, 403, "forbidden"),
        (whip, Some(&other_room), sdp, &video, 404, "unknown_room"),
        (whip, Some(&briefing), sdp, &video, 403, "forbidden"),
        (
            "/api/v1/whep/p-2",
            Some(&participant),
            sdp,
            &watching,
            403,
            "forbidden",
        ),
        (
            "/api/v1/whep/p-9",
            Some(&expert_token),
            sdp,
            &watching,
            404,
            "unknown_peer",
        ),
        (
            "/api/v1/whep/p-2",
            Some(&expert_token),
            sdp,
            &watching,
            404,
            "not_publishing",
        ),
    ];
    for (path, token, content_type, body, status, code) in cases {
        let reply = request(&server, "POST", path, token, content_type, body).await;
        let case = format!("POST {path} ({status} {code})");
        assert_eq!(reply.status, status, "{case}: {}", reply.body);
        assert_eq!(reply.code(), code, "{case}");
        let challenged = reply
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"));
        assert_eq!(challenged, status == 401, "{case}: WWW-Authenticate");
    }
    expect_nothing_sent(&mut expert).await;

    // A session is ended only by its creator, and PATCH is not supported.
    let (_publisher, location) = whip_publish(&server, &participant).await;
    let _ = next_room_event(&mut expert).await;
    let reply = delete(&server, &location, Some(&other_participant)).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    let reply = delete(&server, &location, None).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let reply = request(
        &server,
        "PATCH",
        &location,
        Some(&participant),
        Some("application/trickle-ice-sdpfrag"),
        "",
    )
    .await;
    assert_eq!(reply.status, 405, "{}", reply.body);
    assert_eq!(reply.header("allow"), Some("DELETE"));
    let reply = delete(&server, "/api/v1/whip/sessions/0000", Some(&participant)).await;
    assert_eq!(reply.status, 404, "{}", reply.body);
    match next_room_event(&mut expert).await {
        ServerMessage::TrackPublished(info) => assert_eq!(info.identity, "p-1"),
        other => panic!("expected track_published, got {other:?}"),
    }
    expect_nothing_sent(&mut expert).await;
}

/// A WHEP session whose audit entry cannot be written is ended at once: it does not count
/// against the viewer's limit of sessions.
#[tokio::test]
async fn whep_without_audit_is_refused() {
    let server = start_server().await;
    let (_publisher, expert_token) = published_to_expert(&server).await;

    // A folder where the audit file should be makes every append fail.
    let audit = server.data.path().join("data/audit.jsonl");
    let set_aside = server.data.path().join("data/audit.kept");
    let existed = std::fs::rename(&audit, &set_aside).is_ok();
    std::fs::create_dir(&audit).unwrap();
    for attempt in 0..=MAX_VIEWERS_PER_PERSON {
        let reply = whep_post(&server, &expert_token).await;
        assert_eq!(reply.status, 503, "attempt {attempt}: {}", reply.body);
        assert_eq!(reply.code(), "audit_unavailable");
    }

    std::fs::remove_dir(&audit).unwrap();
    if existed {
        std::fs::rename(&set_aside, &audit).unwrap();
    }
    for attempt in 0..MAX_VIEWERS_PER_PERSON {
        let reply = whep_post(&server, &expert_token).await;
        assert_eq!(reply.status, 201, "session {attempt}: {}", reply.body);
    }
}
