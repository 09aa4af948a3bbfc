//! Signalling over a real WebSocket against a server on 127.0.0.1: the join flow and one test
//! per kind of bad input. Each bad input gets a clear typed error, and a second session that
//! is already in the room carries on.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{join_room, Client, TestServer};
use profstage_server::signalling::protocol::{ErrorCode, Role, RoomKind, ServerMessage};
use serde_json::json;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

async fn joined(server: &TestServer, identity: &str, role: Role) -> Client {
    join_room(server, identity, role, RoomKind::Contest).await.0
}

/// Asserts that the next message is a non-fatal error with `code`, and that the session still
/// answers a ping afterwards.
async fn expect_recoverable(client: &mut Client, code: ErrorCode) {
    match client.receive().await {
        ServerMessage::Error {
            code: got, fatal, ..
        } => {
            assert_eq!(got, code);
            assert!(!fatal, "{code:?} must not be fatal");
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.receive().await, ServerMessage::Pong);
}

async fn expect_fatal(client: &mut Client, code: ErrorCode) {
    match client.receive().await {
        ServerMessage::Error {
            code: got, fatal, ..
        } => {
            assert_eq!(got, code);
            assert!(fatal, "{code:?} must be fatal");
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
    assert!(client.is_closed().await, "the server must close the socket");
}

#[tokio::test]
async fn join_announces_peers() {
    let server = TestServer::start().await;
    let mut expert = joined(&server, "expert-1", Role::Expert).await;
    let mut participant = Client::connect(&server).await;
    let token = server.token("participant-1", "demo", Role::Participant);
    participant
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    match participant.receive().await {
        ServerMessage::Welcome {
            identity, peers, ..
        } => {
            assert_eq!(identity, "participant-1");
            assert!(
                peers.is_empty(),
                "participants do not see experts: {peers:?}"
            );
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    match expert.receive().await {
        ServerMessage::PeerJoined(peer) => assert_eq!(peer.identity, "participant-1"),
        other => panic!("expected peer_joined, got {other:?}"),
    }
    participant.send(json!({"type": "leave"})).await;
    match expert.receive().await {
        ServerMessage::PeerLeft { identity } => assert_eq!(identity, "participant-1"),
        other => panic!("expected peer_left, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_rejected() {
    let server = TestServer::start().await;
    let mut bystander = joined(&server, "bystander", Role::Expert).await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    client.send_text("{\"type\": \"ping\"").await;
    expect_recoverable(&mut client, ErrorCode::InvalidMessage).await;
    client.send_text("[1, 2, 3]").await;
    expect_recoverable(&mut client, ErrorCode::InvalidMessage).await;
    client.send(json!({"type": "publish", "sdp": 5})).await;
    expect_recoverable(&mut client, ErrorCode::InvalidMessage).await;
    bystander.expect_alive().await;
}

#[tokio::test]
async fn video_size_of_unknown_track_is_ignored() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "e1", Role::Expert).await;
    for track in ["tr-999", "camera", ""] {
        let message = json!({"type": "video_size", "track": track, "width": 320, "height": 180});
        client.send(message).await;
    }
    client.send(json!({"type": "ping"})).await;
    assert_eq!(
        client.receive().await,
        ServerMessage::Pong,
        "no error before the pong"
    );
    let negative = json!({"type": "video_size", "track": "tr-1", "width": -1, "height": 180});
    client.send(negative).await;
    expect_recoverable(&mut client, ErrorCode::InvalidMessage).await;
}

#[tokio::test]
async fn unknown_type_is_rejected() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    client.send(json!({"type": "teleport", "to": "moon"})).await;
    expect_recoverable(&mut client, ErrorCode::UnknownType).await;
}

#[tokio::test]
async fn oversized_message_is_rejected() {
    let server = TestServer::start().await;
    let mut bystander = joined(&server, "bystander", Role::Expert).await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    // Above the default limit of 512 KiB, below the 1 MiB frame limit.
    let huge = "a".repeat(600 * 1024);
    client
        .send(json!({"type": "publish", "sdp": huge, "tracks": []}))
        .await;
    expect_recoverable(&mut client, ErrorCode::MessageTooLarge).await;
    bystander.expect_alive().await;
}

#[tokio::test]
async fn message_before_join_is_rejected() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "subscribe_answer", "sdp": "v=0"}))
        .await;
    expect_recoverable(&mut client, ErrorCode::NotJoined).await;
}

#[tokio::test]
async fn offer_without_media_is_rejected() {
    let server = TestServer::start().await;
    let mut bystander = joined(&server, "bystander", Role::Expert).await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
               m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
    client
        .send(json!({"type": "publish", "sdp": sdp, "tracks": []}))
        .await;
    expect_recoverable(&mut client, ErrorCode::NoMedia).await;
    bystander.expect_alive().await;
}

#[tokio::test]
async fn unsupported_codec_is_rejected() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
               m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n\
               a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
               a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
               a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n";
    client
        .send(json!({"type": "publish", "sdp": sdp, "tracks": [{"mid": "0", "source": "microphone"}]}))
        .await;
    expect_recoverable(&mut client, ErrorCode::UnsupportedCodec).await;
}

#[tokio::test]
async fn garbage_sdp_is_rejected() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    let sdp = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\nthis is not sdp";
    client
        .send(json!({"type": "publish", "sdp": sdp, "tracks": []}))
        .await;
    match client.receive().await {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::InvalidSdp);
            assert!(message.contains("could not be parsed"), "{message}");
            assert!(!message.contains("0x"), "parser internals leak: {message}");
        }
        other => panic!("expected invalid_sdp, got {other:?}"),
    }
    client.expect_alive().await;
}

#[tokio::test]
async fn expert_may_not_publish() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "e1", Role::Expert).await;
    let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n";
    client
        .send(json!({"type": "publish", "sdp": sdp, "tracks": []}))
        .await;
    expect_recoverable(&mut client, ErrorCode::Forbidden).await;
}

#[tokio::test]
async fn answer_without_offer_is_rejected() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    client
        .send(json!({"type": "subscribe_answer", "sdp": "v=0"}))
        .await;
    expect_recoverable(&mut client, ErrorCode::NoPendingOffer).await;
}

#[tokio::test]
async fn invalid_token_is_rejected() {
    let server = TestServer::start().await;
    let mut bystander = joined(&server, "bystander", Role::Expert).await;
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 1, "token": "not.a.token"}))
        .await;
    expect_fatal(&mut client, ErrorCode::InvalidToken).await;

    let forged = profstage_server::token::TokenKeys::new(&[7u8; 32]).issue(&server.claims(
        "intruder",
        "demo",
        Role::Organiser,
    ));
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 1, "token": forged}))
        .await;
    expect_fatal(&mut client, ErrorCode::InvalidToken).await;
    bystander.expect_alive().await;
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let server = TestServer::start().await;
    let mut claims = server.claims("late", "demo", Role::Participant);
    claims.iat = now_secs() - 7200;
    claims.exp = now_secs() - 3600;
    let token = server.issue(&claims);
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    expect_fatal(&mut client, ErrorCode::TokenExpired).await;
}

#[tokio::test]
async fn unknown_room_is_rejected() {
    let server = TestServer::start().await;
    let token = server.token("p1", "no-such-room", Role::Participant);
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    expect_fatal(&mut client, ErrorCode::UnknownRoom).await;
}

#[tokio::test]
async fn wrong_protocol_version_is_rejected() {
    let server = TestServer::start().await;
    let token = server.token("p1", "demo", Role::Participant);
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 99, "token": token}))
        .await;
    expect_fatal(&mut client, ErrorCode::UnsupportedProtocol).await;
}

#[tokio::test]
async fn second_join_is_rejected() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    let token = server.token("p1", "demo", Role::Participant);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    expect_recoverable(&mut client, ErrorCode::AlreadyJoined).await;
}

#[tokio::test]
async fn same_identity_replaces_earlier_session() {
    let server = TestServer::start().await;
    let mut expert = joined(&server, "expert-1", Role::Expert).await;
    let mut first = joined(&server, "p1", Role::Participant).await;
    assert!(matches!(
        expert.receive().await,
        ServerMessage::PeerJoined(_)
    ));

    let _second = joined(&server, "p1", Role::Participant).await;
    expect_fatal(&mut first, ErrorCode::SessionReplaced).await;
    match expert.receive().await {
        ServerMessage::PeerLeft { identity } => assert_eq!(identity, "p1"),
        other => panic!("expected peer_left, got {other:?}"),
    }
    match expert.receive().await {
        ServerMessage::PeerJoined(peer) => assert_eq!(peer.identity, "p1"),
        other => panic!("expected peer_joined, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_without_join_is_closed() {
    let server = TestServer::start().await;
    let mut client = Client::connect(&server).await;
    let started = std::time::Instant::now();
    match client
        .receive_within(std::time::Duration::from_secs(15))
        .await
    {
        ServerMessage::Error { code, fatal, .. } => {
            assert_eq!(code, ErrorCode::NotJoined);
            assert!(fatal);
        }
        other => panic!("expected not_joined, got {other:?}"),
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
    assert!(client.is_closed().await);
}

#[tokio::test]
async fn silent_client_in_busy_room_times_out() {
    let server = TestServer::start_with(|config| config.signalling.idle_timeout_secs = 2).await;
    let mut silent = joined(&server, "expert-1", Role::Expert).await;
    // Participants come and go, so the server keeps sending to the silent expert.
    let traffic = async {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(8);
        let mut index = 0;
        while std::time::Instant::now() < until {
            let identity = format!("participant-{index}");
            let mut other = joined(&server, &identity, Role::Participant).await;
            other.send(json!({"type": "leave"})).await;
            index += 1;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        closed = silent.is_closed() => assert!(closed, "the silent session must close"),
        () = traffic => panic!("the silent session stayed open while the room was busy"),
    }
}

#[tokio::test]
async fn message_flood_is_rate_limited() {
    let server = TestServer::start().await;
    let mut client = joined(&server, "p1", Role::Participant).await;
    for _ in 0..100 {
        client.send(json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    loop {
        match client.receive().await {
            ServerMessage::Pong => pongs += 1,
            ServerMessage::Error { code, fatal, .. } => {
                assert_eq!(code, ErrorCode::RateLimited);
                assert!(!fatal);
                break;
            }
            other => panic!("expected pong or rate_limited, got {other:?}"),
        }
    }
    assert!(
        (55..=70).contains(&pongs),
        "{pongs} pings answered before the limit"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    client.expect_alive().await;
}

#[tokio::test]
async fn invisible_name_in_token_is_rejected() {
    let server = TestServer::start().await;
    let mut claims = server.claims("p1", "demo", Role::Participant);
    claims.name = "\u{202E}nimda".into();
    let token = server.issue(&claims);
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    expect_fatal(&mut client, ErrorCode::InvalidToken).await;
}
