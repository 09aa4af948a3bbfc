//! Talk in a contest room over a real WebSocket against a server on 127.0.0.1: who may talk
//! to whom, who hears of it, and bad input that gets a typed error and changes nothing.
//! Forwarding of the talk audio is tested in the media core (`crates/media-core/tests/talk.rs`).

mod common;

use common::{join_room, Client, TestServer};
use profstage_server::signalling::protocol::{ErrorCode, Role, RoomKind, ServerMessage, Talk};
use serde_json::json;

async fn joined_as(server: &TestServer, identity: &str, role: Role, kind: RoomKind) -> Client {
    join_room(server, identity, role, kind).await.0
}

async fn joined(server: &TestServer, identity: &str, role: Role) -> Client {
    joined_as(server, identity, role, RoomKind::Contest).await
}

/// Returns the next message that is not about people or their tracks.
async fn next_event(client: &mut Client) -> ServerMessage {
    loop {
        match client.receive().await {
            ServerMessage::PeerJoined(_)
            | ServerMessage::PeerLeft { .. }
            | ServerMessage::TrackPublished(_)
            | ServerMessage::TrackUnpublished { .. } => continue,
            other => return other,
        }
    }
}

/// Asserts that nothing but room news reached `client` before its pong.
async fn expect_nothing(client: &mut Client) {
    client.send(json!({"type": "ping"})).await;
    assert_eq!(next_event(client).await, ServerMessage::Pong);
}

async fn expect_error(client: &mut Client, code: ErrorCode) {
    match next_event(client).await {
        ServerMessage::Error {
            code: got,
            fatal,
            message,
        } => {
            assert_eq!(got, code, "{message}");
            assert!(!fatal, "{code:?} must not be fatal");
            assert!(!message.is_empty());
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

fn started(talker: &str, participant: &str) -> ServerMessage {
    ServerMessage::TalkStarted(Talk {
        talker: talker.into(),
        name: format!("Name of {talker}"),
        participant: participant.into(),
    })
}

fn stopped(talker: &str, participant: &str) -> ServerMessage {
    ServerMessage::TalkStopped {
        talker: talker.into(),
        participant: participant.into(),
    }
}

/// An expert, a second expert, the participant talked to and another participant.
struct Room {
    _server: TestServer,
    expert: Client,
    watcher: Client,
    participant: Client,
    other: Client,
}

async fn room() -> Room {
    let server = TestServer::start().await;
    let participant = joined(&server, "p1", Role::Participant).await;
    let other = joined(&server, "p2", Role::Participant).await;
    let watcher = joined(&server, "e2", Role::Expert).await;
    let expert = joined(&server, "e1", Role::Expert).await;
    Room {
        _server: server,
        expert,
        watcher,
        participant,
        other,
    }
}

#[tokio::test]
async fn talk_start_reaches_participant_and_experts() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut r.expert).await, started("e1", "p1"));
    assert_eq!(next_event(&mut r.watcher).await, started("e1", "p1"));
    assert_eq!(next_event(&mut r.participant).await, started("e1", "p1"));
    expect_nothing(&mut r.other).await;

    r.expert.send(json!({"type": "talk_stop"})).await;
    assert_eq!(next_event(&mut r.expert).await, stopped("e1", "p1"));
    assert_eq!(next_event(&mut r.watcher).await, stopped("e1", "p1"));
    assert_eq!(next_event(&mut r.participant).await, stopped("e1", "p1"));
    expect_nothing(&mut r.other).await;
}

#[tokio::test]
async fn participant_may_not_talk() {
    let mut r = room().await;
    r.participant
        .send(json!({"type": "talk_start", "identity": "p2"}))
        .await;
    expect_error(&mut r.participant, ErrorCode::Forbidden).await;
    r.participant.send(json!({"type": "talk_stop"})).await;
    expect_error(&mut r.participant, ErrorCode::Forbidden).await;
    expect_nothing(&mut r.other).await;
    expect_nothing(&mut r.expert).await;
}

#[tokio::test]
async fn participant_may_not_publish_talk() {
    let mut r = room().await;
    let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
               a=rtpmap:111 opus/48000/2\r\n";
    r.participant
        .send(json!({"type": "publish", "sdp": sdp, "tracks": [{"mid": "0", "source": "talk"}]}))
        .await;
    expect_error(&mut r.participant, ErrorCode::Forbidden).await;
}

#[tokio::test]
async fn expert_may_publish_only_talk_audio() {
    let mut r = room().await;
    let video = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n\
                 a=rtpmap:96 VP8/90000\r\n";
    r.expert
        .send(json!({"type": "publish", "sdp": video, "tracks": [{"mid": "0", "source": "talk"}]}))
        .await;
    expect_error(&mut r.expert, ErrorCode::InvalidSource).await;
    let audio = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
                 a=rtpmap:111 opus/48000/2\r\n";
    r.expert
        .send(json!({"type": "publish", "sdp": audio, "tracks": []}))
        .await;
    expect_error(&mut r.expert, ErrorCode::Forbidden).await;
}

#[tokio::test]
async fn malformed_talk_messages_are_rejected() {
    let mut r = room().await;
    let malformed = [
        json!({"type": "talk_start"}),
        json!({"type": "talk_start", "identity": 7}),
        json!({"type": "talk_start", "identity": "p1", "extra": true}),
        json!({"type": "talk_stop", "identity": "p1"}),
    ];
    for message in malformed {
        r.expert.send(message).await;
        expect_error(&mut r.expert, ErrorCode::InvalidMessage).await;
    }
    expect_nothing(&mut r.participant).await;
    expect_nothing(&mut r.watcher).await;
}

#[tokio::test]
async fn talk_to_nonparticipant_is_rejected() {
    let mut r = room().await;
    for identity in ["nobody", "e2", "e1", ""] {
        r.expert
            .send(json!({"type": "talk_start", "identity": identity}))
            .await;
        expect_error(&mut r.expert, ErrorCode::UnknownPeer).await;
    }
    r.expert.send(json!({"type": "talk_stop"})).await;
    expect_error(&mut r.expert, ErrorCode::NotTalking).await;
    expect_nothing(&mut r.participant).await;
    expect_nothing(&mut r.watcher).await;
}

#[tokio::test]
async fn second_talker_is_busy() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut r.watcher).await, started("e1", "p1"));
    r.watcher
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    expect_error(&mut r.watcher, ErrorCode::TalkBusy).await;
    assert_eq!(next_event(&mut r.participant).await, started("e1", "p1"));
    expect_nothing(&mut r.participant).await;
}

#[tokio::test]
async fn talk_moves_and_ends_when_participant_leaves() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut r.expert).await, started("e1", "p1"));
    r.expert
        .send(json!({"type": "talk_start", "identity": "p2"}))
        .await;
    assert_eq!(next_event(&mut r.expert).await, stopped("e1", "p1"));
    assert_eq!(next_event(&mut r.expert).await, started("e1", "p2"));
    assert_eq!(next_event(&mut r.participant).await, started("e1", "p1"));
    assert_eq!(next_event(&mut r.participant).await, stopped("e1", "p1"));
    assert_eq!(next_event(&mut r.other).await, started("e1", "p2"));

    r.other.send(json!({"type": "leave"})).await;
    assert_eq!(next_event(&mut r.expert).await, stopped("e1", "p2"));
    r.expert.send(json!({"type": "talk_stop"})).await;
    expect_error(&mut r.expert, ErrorCode::NotTalking).await;
}

#[tokio::test]
async fn talk_is_rejected_in_briefings() {
    let server = TestServer::start().await;
    let _participant = joined_as(&server, "p1", Role::Participant, RoomKind::Briefing).await;
    let mut organiser = joined_as(&server, "o1", Role::Organiser, RoomKind::Briefing).await;
    organiser
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    expect_error(&mut organiser, ErrorCode::Forbidden).await;
}
