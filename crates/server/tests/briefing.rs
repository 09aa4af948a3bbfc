//! Briefings over a real WebSocket against a server on 127.0.0.1: hands, the floor, the
//! chat and its limits, rejected requests that change nothing, the room kind, and the
//! attendance route with its access checks and audit entries. Media forwarding under the
//! floor is tested in the media core (`crates/media-core/tests/presenter.rs`).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{join_room, Client, TestServer};
use profstage_server::audit::AuditLog;
use profstage_server::signalling::protocol::{ErrorCode, Role, RoomKind, ServerMessage};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn token(server: &TestServer, identity: &str, role: Role, kind: RoomKind) -> String {
    let mut claims = server.claims(identity, "demo", role);
    claims.kind = kind;
    server.issue(&claims)
}

async fn join(server: &TestServer, identity: &str, role: Role) -> (Client, ServerMessage) {
    join_room(server, identity, role, RoomKind::Briefing).await
}

async fn joined(server: &TestServer, identity: &str, role: Role) -> Client {
    join(server, identity, role).await.0
}

/// Returns the next message that is not about people joining or leaving.
async fn next_event(client: &mut Client) -> ServerMessage {
    loop {
        match client.receive().await {
            ServerMessage::PeerJoined(_) | ServerMessage::PeerLeft { .. } => continue,
            other => return other,
        }
    }
}

/// Asserts that nothing but join and leave news reached `client` before its pong.
async fn expect_nothing(client: &mut Client) {
    client.send(json!({"type": "ping"})).await;
    assert_eq!(next_event(client).await, ServerMessage::Pong);
}

async fn expect_error(client: &mut Client, code: ErrorCode) -> String {
    match next_event(client).await {
        ServerMessage::Error {
            code: got,
            fatal,
            message,
        } => {
            assert_eq!(got, code, "{message}");
            assert!(!fatal, "{code:?} must not be fatal");
            message
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn welcome_carries_kind_and_state() {
    let server = TestServer::start().await;
    let (_organiser, welcome) = join(&server, "org", Role::Organiser).await;
    match welcome {
        ServerMessage::Welcome { kind, briefing, .. } => {
            assert_eq!(kind, RoomKind::Briefing);
            let state = briefing.expect("a briefing sends its state");
            assert!(state.floor.is_none());
            assert!(state.hands.is_empty());
            assert!(state.chat.is_empty());
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn hand_and_floor_reach_the_right_people() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut speaker = joined(&server, "p1", Role::Participant).await;
    let mut listener = joined(&server, "p2", Role::Participant).await;

    speaker.send(json!({"type": "raise_hand"})).await;
    for client in [&mut organiser, &mut speaker] {
        match next_event(client).await {
            ServerMessage::HandRaised(hand) => {
                assert_eq!(hand.identity, "p1");
                assert_eq!(hand.name, "Name of p1");
                assert!(hand.at_unix_ms > 1_600_000_000_000);
            }
            other => panic!("expected hand_raised, got {other:?}"),
        }
    }
    expect_nothing(&mut listener).await;

    organiser
        .send(json!({"type": "give_floor", "identity": "p1"}))
        .await;
    for client in [&mut organiser, &mut speaker] {
        let lowered = next_event(client).await;
        let expected = ServerMessage::HandLowered {
            identity: "p1".into(),
        };
        assert_eq!(lowered, expected, "the hand goes down with the floor");
    }
    for client in [&mut organiser, &mut speaker, &mut listener] {
        match next_event(client).await {
            ServerMessage::FloorGiven(holder) => {
                assert_eq!(holder.identity, "p1");
                assert_eq!(holder.name, "Name of p1");
            }
            other => panic!("expected floor_given, got {other:?}"),
        }
    }

    let (_late, welcome) = join(&server, "p3", Role::Participant).await;
    match welcome {
        ServerMessage::Welcome { briefing, .. } => {
            let floor = briefing.and_then(|b| b.floor).expect("the floor is shown");
            assert_eq!(floor.identity, "p1");
        }
        other => panic!("expected welcome, got {other:?}"),
    }

    organiser.send(json!({"type": "take_floor"})).await;
    for client in [&mut organiser, &mut speaker, &mut listener] {
        let taken = next_event(client).await;
        let expected = ServerMessage::FloorTaken {
            identity: "p1".into(),
        };
        assert_eq!(taken, expected);
    }
}

#[tokio::test]
async fn floor_moves_from_one_participant_to_another() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut first = joined(&server, "p1", Role::Participant).await;
    let _second = joined(&server, "p2", Role::Participant).await;
    organiser
        .send(json!({"type": "give_floor", "identity": "p1"}))
        .await;
    assert!(matches!(
        next_event(&mut first).await,
        ServerMessage::FloorGiven(_)
    ));
    organiser
        .send(json!({"type": "give_floor", "identity": "p2"}))
        .await;
    let taken = next_event(&mut first).await;
    let expected = ServerMessage::FloorTaken {
        identity: "p1".into(),
    };
    assert_eq!(taken, expected);
    match next_event(&mut first).await {
        ServerMessage::FloorGiven(holder) => assert_eq!(holder.identity, "p2"),
        other => panic!("expected floor_given, got {other:?}"),
    }
}

#[tokio::test]
async fn floor_holder_leaving_frees_the_floor() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut speaker = joined(&server, "p1", Role::Participant).await;
    organiser
        .send(json!({"type": "give_floor", "identity": "p1"}))
        .await;
    assert!(matches!(
        next_event(&mut organiser).await,
        ServerMessage::FloorGiven(_)
    ));
    speaker.send(json!({"type": "leave"})).await;
    let taken = next_event(&mut organiser).await;
    let expected = ServerMessage::FloorTaken {
        identity: "p1".into(),
    };
    assert_eq!(taken, expected);
}

#[tokio::test]
async fn chat_reaches_everyone_with_server_time() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut asker = joined(&server, "p1", Role::Participant).await;
    let mut other = joined(&server, "p2", Role::Participant).await;
    asker
        .send(json!({"type": "chat", "text": "  Сколько длится этап?  "}))
        .await;
    for client in [&mut organiser, &mut asker, &mut other] {
        match next_event(client).await {
            ServerMessage::ChatMessage(entry) => {
                assert_eq!(entry.text, "Сколько длится этап?");
                assert_eq!(entry.identity, "p1");
                assert_eq!(entry.role, Role::Participant);
                assert_eq!(entry.id, 1);
                assert!(entry.at_unix_ms > 1_600_000_000_000);
            }
            other => panic!("expected chat_message, got {other:?}"),
        }
    }
    let (_late, welcome) = join(&server, "p3", Role::Participant).await;
    match welcome {
        ServerMessage::Welcome { briefing, .. } => {
            let chat = briefing.map(|b| b.chat).unwrap_or_default();
            assert_eq!(chat.len(), 1, "a late joiner gets the chat so far");
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn chat_rate_limit_rejects_then_recovers() {
    let server = TestServer::start().await;
    let mut asker = joined(&server, "p1", Role::Participant).await;
    for i in 0..5 {
        asker
            .send(json!({"type": "chat", "text": format!("question {i}")}))
            .await;
        assert!(matches!(
            next_event(&mut asker).await,
            ServerMessage::ChatMessage(_)
        ));
    }
    asker
        .send(json!({"type": "chat", "text": "too fast"}))
        .await;
    expect_error(&mut asker, ErrorCode::RateLimited).await;
    expect_nothing(&mut asker).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    asker.send(json!({"type": "chat", "text": "later"})).await;
    match next_event(&mut asker).await {
        ServerMessage::ChatMessage(entry) => assert_eq!(entry.id, 6),
        other => panic!("expected chat_message, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_requests_get_errors_and_change_nothing() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut participant = joined(&server, "p1", Role::Participant).await;
    let mut expert = joined(&server, "e1", Role::Expert).await;

    let too_long = "я".repeat(501);
    let participant_cases = [
        (
            json!({"type": "give_floor", "identity": "p1"}),
            ErrorCode::Forbidden,
        ),
        (json!({"type": "take_floor"}), ErrorCode::Forbidden),
        (
            json!({"type": "lower_hand", "identity": "p2"}),
            ErrorCode::Forbidden,
        ),
        (json!({"type": "chat", "text": ""}), ErrorCode::InvalidText),
        (
            json!({"type": "chat", "text": "   "}),
            ErrorCode::InvalidText,
        ),
        (
            json!({"type": "chat", "text": too_long}),
            ErrorCode::InvalidText,
        ),
        (
            json!({"type": "chat", "text": "a\nb"}),
            ErrorCode::InvalidText,
        ),
        (
            json!({"type": "chat", "text": "\u{202E}abc"}),
            ErrorCode::InvalidText,
        ),
        (json!({"type": "chat"}), ErrorCode::InvalidMessage),
        (
            json!({"type": "chat", "text": 5}),
            ErrorCode::InvalidMessage,
        ),
        (json!({"type": "give_floor"}), ErrorCode::InvalidMessage),
        (
            json!({"type": "raise_hand", "x": 1}),
            ErrorCode::InvalidMessage,
        ),
    ];
    for (message, code) in participant_cases {
        participant.send(message.clone()).await;
        let text = expect_error(&mut participant, code).await;
        assert!(!text.is_empty(), "{message} gets an explanation");
    }
    let organiser_cases = [
        (json!({"type": "raise_hand"}), ErrorCode::Forbidden),
        (
            json!({"type": "give_floor", "identity": "nobody"}),
            ErrorCode::UnknownPeer,
        ),
        (
            json!({"type": "give_floor", "identity": "e1"}),
            ErrorCode::UnknownPeer,
        ),
        (
            json!({"type": "give_floor", "identity": "org"}),
            ErrorCode::UnknownPeer,
        ),
        (json!({"type": "lower_hand"}), ErrorCode::InvalidMessage),
        (
            json!({"type": "take_floor", "identity": 5}),
            ErrorCode::InvalidMessage,
        ),
    ];
    for (message, code) in organiser_cases {
        organiser.send(message).await;
        expect_error(&mut organiser, code).await;
    }
    expert.send(json!({"type": "raise_hand"})).await;
    expect_error(&mut expert, ErrorCode::Forbidden).await;
    expert
        .send(json!({"type": "give_floor", "identity": "p1"}))
        .await;
    expect_error(&mut expert, ErrorCode::Forbidden).await;

    for client in [&mut organiser, &mut participant, &mut expert] {
        expect_nothing(client).await;
    }
    let (_late, welcome) = join(&server, "p2", Role::Participant).await;
    match welcome {
        ServerMessage::Welcome { briefing, .. } => {
            let state = briefing.expect("briefing state");
            assert!(state.floor.is_none(), "no floor was given");
            assert!(state.chat.is_empty(), "no chat message was kept");
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn briefing_messages_outside_briefing_are_rejected() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server).await;
    let token = token(&server, "p1", Role::Participant, RoomKind::Contest);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    match client.receive().await {
        ServerMessage::Welcome { kind, briefing, .. } => {
            assert_eq!(kind, RoomKind::Contest);
            assert!(briefing.is_none());
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    for message in [
        json!({"type": "raise_hand"}),
        json!({"type": "chat", "text": "hello"}),
    ] {
        client.send(message).await;
        expect_error(&mut client, ErrorCode::NotBriefing).await;
    }
}

#[tokio::test]
async fn other_kind_in_same_room_is_fatal() {
    let server = TestServer::start().await;
    let _organiser = joined(&server, "org", Role::Organiser).await;
    let mut client = Client::connect(&server).await;
    let token = token(&server, "e1", Role::Expert, RoomKind::Contest);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    match client.receive().await {
        ServerMessage::Error { code, fatal, .. } => {
            assert_eq!(code, ErrorCode::RoomKindMismatch);
            assert!(fatal);
        }
        other => panic!("expected room_kind_mismatch, got {other:?}"),
    }
    assert!(client.is_closed().await);
}

/// Sends one HTTP/1.1 GET and returns the status and body.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("HTTP connects");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).expect("UTF-8 response");
    let status = text[9..12].parse().expect("status code");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

async fn attendance(server: &TestServer, token: &str) -> Value {
    let addr = server.running.http_addr;
    let (status, body) = get(addr, "/api/v1/briefings/demo/attendance", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("attendance is JSON")
}

#[tokio::test]
async fn attendance_lists_stays_for_organisers_only() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut p1 = joined(&server, "p1", Role::Participant).await;
    let _p2 = joined(&server, "p2", Role::Participant).await;
    p1.send(json!({"type": "leave"})).await;
    assert!(p1.is_closed().await);
    organiser.expect_alive().await;

    let organiser_token = token(&server, "org", Role::Organiser, RoomKind::Briefing);
    let mut people = Value::Null;
    for _ in 0..50 {
        people = attendance(&server, &organiser_token).await["people"].clone();
        let p1_left = people
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["identity"] == "p1" && p["sessions"][0]["left_unix_ms"].is_u64());
        if p1_left {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let people = people.as_array().expect("a list of people");
    let identities: Vec<&str> = people
        .iter()
        .filter_map(|p| p["identity"].as_str())
        .collect();
    assert_eq!(identities, ["org", "p1", "p2"]);
    for person in people {
        let stay = &person["sessions"][0];
        let joined = stay["joined_unix_ms"].as_u64().expect("a join time");
        assert!(joined > 1_600_000_000_000, "{person}");
        if person["identity"] == "p1" {
            let left = stay["left_unix_ms"].as_u64().expect("p1 left");
            assert!(left >= joined);
        } else {
            assert!(stay["left_unix_ms"].is_null(), "{person} is still in");
        }
    }
    assert_eq!(people[1]["name"], "Name of p1");
    assert_eq!(people[1]["role"], "participant");

    let addr = server.running.http_addr;
    let path = "/api/v1/briefings/demo/attendance";
    let (status, csv) = get(addr, &format!("{path}?format=csv"), Some(&organiser_token)).await;
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("identity,name,role,joined_at,left_at\r\n"),
        "{csv}"
    );
    assert!(csv.contains("\"p1\",\"Name of p1\",participant,"), "{csv}");

    let participant = token(&server, "p2", Role::Participant, RoomKind::Briefing);
    let expert = token(&server, "e1", Role::Expert, RoomKind::Briefing);
    let mut elsewhere = server.claims("org", "other", Role::Organiser);
    elsewhere.kind = RoomKind::Briefing;
    let elsewhere = server.issue(&elsewhere);
    for (who, token, expected) in [
        ("participant", Some(participant.as_str()), 403),
        ("expert", Some(expert.as_str()), 403),
        ("organiser of another room", Some(elsewhere.as_str()), 403),
        ("nobody", None, 401),
        ("forged token", Some("abc.def.ghi"), 401),
    ] {
        let (status, body) = get(addr, path, token).await;
        assert_eq!(status, expected, "{who}: {body}");
    }
    let (status, _) = get(addr, &format!("{path}?format=xml"), Some(&organiser_token)).await;
    assert_eq!(status, 400);
    let (status, _) = get(
        addr,
        "/api/v1/briefings/Bad%20Room/attendance",
        Some(&organiser_token),
    )
    .await;
    assert_eq!(status, 404);

    let audit = AuditLog::new(server.data.path().join("data/audit.jsonl"));
    let reads: Vec<_> = audit
        .read_all()
        .into_iter()
        .filter(|e| e.action == "briefing.attendance")
        .collect();
    assert!(
        reads.len() >= 2,
        "every successful read is audited: {reads:?}"
    );
    assert!(reads.iter().all(|e| e.actor == "org" && e.room == "demo"));
    assert!(reads.iter().any(|e| e.detail.as_deref() == Some("csv")));
}

#[tokio::test]
async fn events_are_stored_as_json_lines() {
    let server = TestServer::start().await;
    let mut organiser = joined(&server, "org", Role::Organiser).await;
    let mut speaker = joined(&server, "p1", Role::Participant).await;
    speaker.send(json!({"type": "raise_hand"})).await;
    next_event(&mut speaker).await;
    organiser
        .send(json!({"type": "give_floor", "identity": "p1"}))
        .await;
    organiser.send(json!({"type": "take_floor"})).await;
    loop {
        if let ServerMessage::FloorTaken { .. } = next_event(&mut speaker).await {
            break;
        }
    }
    speaker
        .send(json!({"type": "chat", "text": "спасибо"}))
        .await;
    speaker.send(json!({"type": "leave"})).await;
    organiser.send(json!({"type": "leave"})).await;
    assert!(organiser.is_closed().await);

    let path = server.data.path().join("data/briefings/demo.jsonl");
    let mut events: Vec<String> = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap());
        events = lines
            .map(|v| v["event"].as_str().unwrap().to_owned())
            .collect();
        if events.last().map(String::as_str) == Some("closed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = [
        "joined",
        "joined",
        "hand_raised",
        "hand_lowered",
        "floor_given",
        "floor_taken",
        "chat",
        "left",
        "left",
        "closed",
    ];
    assert_eq!(events, expected);

    let addr = server.running.http_addr;
    let path = "/api/v1/briefings/demo/events";
    let expert = token(&server, "e1", Role::Expert, RoomKind::Briefing);
    let (status, body) = get(addr, path, Some(&expert)).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("events are JSON");
    let served = body["events"].as_array().expect("a list of events");
    assert_eq!(served.len(), expected.len());
    let chat = served
        .iter()
        .find(|e| e["event"] == "chat")
        .expect("the chat");
    assert_eq!(chat["text"], "спасибо");
    assert_eq!(chat["identity"], "p1");
    let given = served.iter().find(|e| e["event"] == "floor_given");
    assert_eq!(given.expect("the floor")["by"], "org");

    let participant = token(&server, "p1", Role::Participant, RoomKind::Briefing);
    let (status, _) = get(addr, path, Some(&participant)).await;
    assert_eq!(status, 403, "participants may not read the events");
    let audit = AuditLog::new(server.data.path().join("data/audit.jsonl"));
    let reads: Vec<_> = audit
        .read_all()
        .into_iter()
        .filter(|e| e.action == "briefing.events")
        .collect();
    assert_eq!(reads.len(), 1, "the one successful read is audited");
    assert_eq!(reads[0].actor, "e1");
    assert_eq!(reads[0].role, "expert");
}
