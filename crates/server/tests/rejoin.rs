//! Keeping a participant's place while their client reconnects. A dropped socket resumes
//! with its resume token within the rejoin grace and keeps the published tracks and the
//! experts' subscriptions. After the grace the participant is removed as on leave.

mod common;

use std::time::{Duration, Instant};

use common::{publish, Client, TestPublisher, TestServer};
use profstage_server::signalling::protocol::{Role, ServerMessage};
use serde_json::json;
use str0m::media::MediaKind;

/// Joins `identity` and returns the client and its resume token.
async fn join(server: &TestServer, identity: &str, role: Role) -> (Client, String) {
    let mut client = Client::connect(server).await;
    let token = server.token(identity, "demo", role);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    match client.receive().await {
        ServerMessage::Welcome {
            resume_token,
            resumed,
            ..
        } => {
            assert!(!resumed, "a first join is not a resume");
            assert_eq!(resume_token.len(), 64, "32 random bytes in hex");
            (client, resume_token)
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Opens a new socket for `identity` that presents `resume` and returns its welcome.
async fn rejoin(server: &TestServer, identity: &str, resume: &str) -> (Client, ServerMessage) {
    let mut client = Client::connect(server).await;
    let token = server.token(identity, "demo", Role::Participant);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token, "resume": resume}))
        .await;
    let welcome = client.receive().await;
    (client, welcome)
}

/// Reads the expert's messages until one matches, failing on `peer_left` or
/// `track_unpublished` of the participant before it.
async fn expect_without_removal(
    expert: &mut Client,
    what: &str,
    mut matches: impl FnMut(&ServerMessage) -> bool,
) -> Vec<ServerMessage> {
    let mut seen = Vec::new();
    loop {
        let message = expert.receive().await;
        let removal = matches!(
            message,
            ServerMessage::PeerLeft { .. } | ServerMessage::TrackUnpublished { .. }
        );
        assert!(!removal, "{message:?} before {what}; earlier: {seen:?}");
        if matches(&message) {
            return seen;
        }
        seen.push(message);
    }
}

/// Joins an expert and a participant who publishes a camera; returns both, the
/// participant's resume token and track, after the expert has seen the track.
async fn expert_watching_participant(
    server: &TestServer,
) -> (Client, Client, String, String, TestPublisher) {
    let (mut expert, _) = join(server, "expert-1", Role::Expert).await;
    let (mut participant, resume) = join(server, "participant-1", Role::Participant).await;
    let publisher = publish(&mut participant, MediaKind::Video, "camera").await;
    let mut track = None;
    loop {
        match expert.receive().await {
            ServerMessage::TrackPublished(info) => track = Some(info.track),
            ServerMessage::SubscribeOffer { tracks, .. } if !tracks.is_empty() => break,
            _ => {}
        }
    }
    let track = track.expect("the expert saw track_published before the offer");
    (expert, participant, resume, track, publisher)
}

#[tokio::test]
async fn resume_within_grace_keeps_place() {
    let server = TestServer::start().await;
    let (mut expert, participant, resume, track, _rtc) = expert_watching_participant(&server).await;

    drop(participant); // the TCP connection ends without a close frame, as on a dead network
    let before = expect_without_removal(&mut expert, "peer_reconnecting", |m| {
        matches!(m, ServerMessage::PeerReconnecting { identity } if identity == "participant-1")
    })
    .await;
    assert!(
        before.is_empty(),
        "nothing before peer_reconnecting: {before:?}"
    );

    let (mut back, welcome) = rejoin(&server, "participant-1", &resume).await;
    match welcome {
        ServerMessage::Welcome {
            resumed,
            resume_token,
            ..
        } => {
            assert!(resumed, "the session is resumed");
            assert_eq!(resume_token, resume, "the resume token stays");
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    // The publishing connection never carried media, so only the socket was lost and the
    // participant is back as soon as it resumes.
    let between = expect_without_removal(
        &mut expert,
        "peer_reconnected",
        |m| matches!(m, ServerMessage::PeerReconnected { identity } if identity == "participant-1"),
    )
    .await;
    assert!(
        !between
            .iter()
            .any(|m| matches!(m, ServerMessage::SubscribeOffer { .. })),
        "the expert's subscription is not renegotiated: {between:?}"
    );
    expert.send(json!({"type": "ping"})).await;
    expect_without_removal(&mut expert, "pong", |m| matches!(m, ServerMessage::Pong)).await;

    // An expert who joins now sees the participant with the same track.
    let mut late = Client::connect(&server).await;
    let token = server.token("expert-2", "demo", Role::Expert);
    late.send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    let ServerMessage::Welcome { peers, .. } = late.receive().await else {
        panic!("expected welcome");
    };
    let peer = peers
        .iter()
        .find(|p| p.identity == "participant-1")
        .expect("the participant is in the room");
    assert!(!peer.reconnecting);
    let tracks: Vec<&str> = peer.tracks.iter().map(|t| t.track.as_str()).collect();
    assert_eq!(tracks, vec![track.as_str()]);
    back.expect_alive().await;
}

#[tokio::test]
async fn grace_elapsed_removes_participant() {
    let server = TestServer::start_with(|c| c.signalling.rejoin_grace_secs = 1).await;
    let (mut expert, participant, resume, track, _rtc) = expert_watching_participant(&server).await;

    let dropped_at = Instant::now();
    drop(participant);
    expect_without_removal(&mut expert, "peer_reconnecting", |m| {
        matches!(m, ServerMessage::PeerReconnecting { .. })
    })
    .await;
    let mut unpublished = false;
    loop {
        match expert.receive().await {
            ServerMessage::TrackUnpublished { track: t, .. } => unpublished |= t == track,
            ServerMessage::PeerLeft { identity } => {
                assert_eq!(identity, "participant-1");
                break;
            }
            _ => {}
        }
    }
    let waited = dropped_at.elapsed();
    assert!(
        unpublished,
        "the track was unpublished with the participant"
    );
    assert!(
        waited >= Duration::from_millis(900),
        "removed after {waited:?}, before the grace"
    );
    assert!(
        waited < Duration::from_secs(4),
        "removed only after {waited:?}"
    );

    let (_back, welcome) = rejoin(&server, "participant-1", &resume).await;
    match welcome {
        ServerMessage::Welcome {
            resumed,
            resume_token,
            ..
        } => {
            assert!(!resumed, "after the grace the join starts afresh");
            assert_ne!(
                resume_token, resume,
                "a fresh session gets a new resume token"
            );
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    match expert.receive().await {
        ServerMessage::PeerJoined(info) => assert_eq!(info.identity, "participant-1"),
        other => panic!("expected peer_joined, got {other:?}"),
    }
}

#[tokio::test]
async fn leave_removes_at_once() {
    let server = TestServer::start().await;
    let (mut expert, mut participant, _resume, _track, _rtc) =
        expert_watching_participant(&server).await;

    participant.send(json!({"type": "leave"})).await;
    loop {
        match expert.receive_within(Duration::from_secs(2)).await {
            ServerMessage::PeerReconnecting { .. } => panic!("a participant who left is not kept"),
            ServerMessage::PeerLeft { identity } => {
                assert_eq!(identity, "participant-1");
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn wrong_resume_token_joins_afresh() {
    let server = TestServer::start().await;
    let (mut expert, mut participant, resume, _track, _rtc) =
        expert_watching_participant(&server).await;

    let wrong = "0".repeat(resume.len());
    let (_back, welcome) = rejoin(&server, "participant-1", &wrong).await;
    match welcome {
        ServerMessage::Welcome { resumed, .. } => {
            assert!(!resumed, "a wrong token resumes nothing")
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    match participant.receive().await {
        ServerMessage::Error { code, fatal, .. } => {
            assert_eq!(
                code,
                profstage_server::signalling::protocol::ErrorCode::SessionReplaced
            );
            assert!(fatal);
        }
        other => panic!("expected session_replaced, got {other:?}"),
    }
    let mut left = false;
    loop {
        match expert.receive().await {
            ServerMessage::PeerLeft { .. } => left = true,
            ServerMessage::PeerJoined(info) => {
                assert!(left, "the old session left before the new one joined");
                assert_eq!(info.identity, "participant-1");
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn resume_of_live_session_replaces_it() {
    let server = TestServer::start().await;
    let (mut expert, mut participant, resume, _track, _rtc) =
        expert_watching_participant(&server).await;

    // The server has not seen the old socket drop yet when the client comes back.
    let (mut back, welcome) = rejoin(&server, "participant-1", &resume).await;
    assert!(
        matches!(welcome, ServerMessage::Welcome { resumed: true, .. }),
        "expected a resumed welcome, got {welcome:?}"
    );
    match participant.receive().await {
        ServerMessage::Error { fatal, .. } => assert!(fatal, "the old session is closed"),
        other => panic!("expected session_replaced, got {other:?}"),
    }
    assert!(participant.is_closed().await);
    back.expect_alive().await;
    expert.send(json!({"type": "ping"})).await;
    let seen =
        expect_without_removal(&mut expert, "pong", |m| matches!(m, ServerMessage::Pong)).await;
    assert!(
        !seen
            .iter()
            .any(|m| matches!(m, ServerMessage::PeerReconnecting { .. })),
        "the old session's end does not make the participant reconnecting: {seen:?}"
    );
}

#[tokio::test]
async fn restart_ice_without_connection_is_rejected() {
    let server = TestServer::start().await;
    // A participant receives only organisers; with none in the room there is nothing to
    // receive and no receiving connection.
    let (mut participant, _) = join(&server, "participant-1", Role::Participant).await;
    participant.send(json!({"type": "restart_ice"})).await;
    match participant.receive().await {
        ServerMessage::Error { code, fatal, .. } => {
            assert_eq!(
                code,
                profstage_server::signalling::protocol::ErrorCode::NoConnection
            );
            assert!(!fatal, "no_connection is not fatal");
        }
        other => panic!("expected no_connection, got {other:?}"),
    }
    participant.expect_alive().await;
}
