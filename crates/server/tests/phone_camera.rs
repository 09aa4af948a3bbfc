//! A phone camera session over real signalling and media: it publishes only the
//! participant's `camera2`, which experts learn of as the participant's track, and its end
//! is announced to the participant and the experts.

mod common;

use common::{join_room, publish, send_offer, Client, TestServer};
use profstage_server::signalling::protocol::{
    ErrorCode, PhoneCameraState, Role, RoomKind, ServerMessage, TrackSource,
};
use str0m::media::MediaKind;
use str0m::Rtc;

const PARTICIPANT: &str = "u-part1";

/// Joins room `demo` with a phone camera token of `PARTICIPANT` and returns the reply.
async fn join_phone(server: &TestServer) -> (Client, ServerMessage) {
    let mut phone = Client::connect(server).await;
    let token = server.phone_token(PARTICIPANT, "demo");
    phone
        .send(serde_json::json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    let reply = phone.receive().await;
    (phone, reply)
}

/// Joins `PARTICIPANT` and an expert to room `demo`.
async fn participant_and_expert(server: &TestServer) -> (Client, Client) {
    let (participant, _) =
        join_room(server, PARTICIPANT, Role::Participant, RoomKind::Contest).await;
    let (expert, _) = join_room(server, "u-exp1", Role::Expert, RoomKind::Contest).await;
    (participant, expert)
}

/// Skips messages until one that `wanted` accepts, and returns it.
async fn receive_until(
    client: &mut Client,
    wanted: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    loop {
        let message = client.receive().await;
        if wanted(&message) {
            return message;
        }
    }
}

async fn phone_state(client: &mut Client, state: PhoneCameraState) {
    let message = receive_until(client, |m| matches!(m, ServerMessage::PhoneCamera { .. })).await;
    let expected = ServerMessage::PhoneCamera {
        identity: PARTICIPANT.to_owned(),
        state,
    };
    assert_eq!(message, expected);
}

fn assert_fatal(reply: ServerMessage, expected: ErrorCode) {
    let ServerMessage::Error { code, fatal, .. } = reply else {
        panic!("expected an error, got {reply:?}");
    };
    assert_eq!(code, expected);
    assert!(fatal, "{code:?} is fatal");
}

/// Sends a `publish` offer with one send-only m-line of `kind` declared as `source`, and
/// returns the code of the error it gets.
async fn rejected_publish(client: &mut Client, kind: MediaKind, source: &str) -> ErrorCode {
    let mut rtc = Rtc::builder().build(std::time::Instant::now());
    send_offer(client, &mut rtc, kind, source).await;
    match client.receive().await {
        ServerMessage::Error { code, .. } => code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn phone_publishes_participant_camera2() {
    let server = TestServer::start().await;
    let (mut participant, mut expert) = participant_and_expert(&server).await;

    let (mut phone, welcome) = join_phone(&server).await;
    let ServerMessage::Welcome {
        identity,
        peers,
        resume_token,
        ..
    } = welcome
    else {
        panic!("expected welcome, got {welcome:?}");
    };
    assert_eq!(identity, PARTICIPANT);
    assert!(peers.is_empty(), "a phone sees nobody: {peers:?}");
    assert_eq!(resume_token, "", "a phone cannot resume");
    phone_state(&mut participant, PhoneCameraState::Connected).await;
    phone_state(&mut expert, PhoneCameraState::Connected).await;

    let _publisher = publish(&mut phone, MediaKind::Video, "camera2").await;
    let published = receive_until(&mut expert, |m| {
        matches!(m, ServerMessage::TrackPublished(_))
    })
    .await;
    let ServerMessage::TrackPublished(info) = published else {
        unreachable!("receive_until returns a track_published");
    };
    assert_eq!(info.identity, PARTICIPANT);
    assert_eq!(info.source, TrackSource::Camera2);
    phone_state(&mut expert, PhoneCameraState::Publishing).await;
    phone_state(&mut participant, PhoneCameraState::Publishing).await;

    phone.send(serde_json::json!({"type": "leave"})).await;
    let unpublished = receive_until(&mut expert, |m| {
        matches!(m, ServerMessage::TrackUnpublished { .. })
    })
    .await;
    let expected = ServerMessage::TrackUnpublished {
        track: info.track,
        identity: PARTICIPANT.to_owned(),
    };
    assert_eq!(unpublished, expected);
    phone_state(&mut expert, PhoneCameraState::Stopped).await;
    phone_state(&mut participant, PhoneCameraState::Stopped).await;
    expert.expect_alive().await;
}

#[tokio::test]
async fn phone_needs_participant_in_room() {
    let server = TestServer::start().await;
    let (mut phone, reply) = join_phone(&server).await;
    assert_fatal(reply, ErrorCode::ParticipantAbsent);
    assert!(phone.is_closed().await);
}

#[tokio::test]
async fn phone_cannot_escalate() {
    let server = TestServer::start().await;
    let (_participant, _) =
        join_room(&server, PARTICIPANT, Role::Participant, RoomKind::Contest).await;
    let (mut phone, _) = join_phone(&server).await;

    let requests = [
        serde_json::json!({"type": "talk_start", "identity": PARTICIPANT}),
        serde_json::json!({"type": "subscribe_answer", "sdp": "v=0"}),
        serde_json::json!({"type": "restart_ice"}),
        serde_json::json!({"type": "chat", "text": "hello"}),
    ];
    for request in requests {
        phone.send(request.clone()).await;
        let reply = phone.receive().await;
        let ServerMessage::Error { code, .. } = reply else {
            panic!("{request}: expected an error, got {reply:?}");
        };
        assert_eq!(code, ErrorCode::Forbidden, "{request}");
    }
    let camera = rejected_publish(&mut phone, MediaKind::Video, "camera").await;
    assert_eq!(camera, ErrorCode::Forbidden);
    let screen = rejected_publish(&mut phone, MediaKind::Video, "screen").await;
    assert_eq!(screen, ErrorCode::Forbidden);
    let microphone = rejected_publish(&mut phone, MediaKind::Audio, "microphone").await;
    assert_eq!(microphone, ErrorCode::Forbidden);

    // An expert who joins later is not announced to the phone.
    let (_expert, _) = join_room(&server, "u-exp1", Role::Expert, RoomKind::Contest).await;
    phone.send(serde_json::json!({"type": "ping"})).await;
    assert_eq!(phone.receive().await, ServerMessage::Pong);
}

#[tokio::test]
async fn participant_leaving_stops_phone() {
    let server = TestServer::start().await;
    let (mut participant, mut expert) = participant_and_expert(&server).await;
    let (mut phone, _) = join_phone(&server).await;
    phone_state(&mut expert, PhoneCameraState::Connected).await;

    participant.send(serde_json::json!({"type": "leave"})).await;
    assert_fatal(phone.receive().await, ErrorCode::ParticipantAbsent);
    phone_state(&mut expert, PhoneCameraState::Stopped).await;
    assert!(phone.is_closed().await);
}
