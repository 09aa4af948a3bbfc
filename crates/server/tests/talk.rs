//! Talk in a contest room over a real WebSocket against a server on 127.0.0.1: who may talk
//! to whom, who hears of it, who learns of the talk audio and talk video tracks, and bad
//! input that gets a typed error and changes nothing. Forwarding of the talk tracks is
//! tested in the media core (`crates/media-core/tests/talk.rs`).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{join_room, publish, Client, TestPublisher, TestServer};
use profstage_server::signalling::protocol::{
    ErrorCode, Role, RoomKind, ServerMessage, Talk, TrackInfo,
};
use serde_json::json;
use str0m::media::MediaKind;

/// The kind and the `source` name of the talk audio and of the talk video.
const TALK_AUDIO: (MediaKind, &str) = (MediaKind::Audio, "talk");
const TALK_VIDEO: (MediaKind, &str) = (MediaKind::Video, "talk_video");

/// Largest difference between a talk's start on the server's clock and the test's clock, in
/// milliseconds. Both read the same system clock, so this covers only the time between.
const CLOCK_SLACK_MS: u64 = 5_000;

async fn joined_as(server: &TestServer, identity: &str, role: Role, kind: RoomKind) -> Client {
    join_room(server, identity, role, kind).await.0
}

async fn joined(server: &TestServer, identity: &str, role: Role) -> Client {
    joined_as(server, identity, role, RoomKind::Contest).await
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    since_epoch.as_millis() as u64
}

/// Asserts that `talk` started within [`CLOCK_SLACK_MS`] before now, and returns it with
/// the start set to 0, so that tests can compare it whole.
fn untimed(mut talk: Talk) -> Talk {
    let now = now_ms();
    let started = talk.started_unix_ms;
    assert!(
        started <= now && started + CLOCK_SLACK_MS >= now,
        "the talk started at {started}, now is {now}"
    );
    talk.started_unix_ms = 0;
    talk
}

/// Returns the next message that is not about people or their tracks, with the start of a
/// `talk_started` checked and set to 0.
async fn next_event(client: &mut Client) -> ServerMessage {
    loop {
        match client.receive().await {
            ServerMessage::PeerJoined(_)
            | ServerMessage::PeerLeft { .. }
            | ServerMessage::TrackPublished(_)
            | ServerMessage::TrackUnpublished { .. } => continue,
            ServerMessage::TalkStarted(talk) => return ServerMessage::TalkStarted(untimed(talk)),
            other => return other,
        }
    }
}

/// Returns the talks listed in a `welcome`.
fn welcome_talks(welcome: ServerMessage) -> Vec<Talk> {
    match welcome {
        ServerMessage::Welcome { talks, .. } => talks,
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Returns the talks listed in a `welcome`, each start checked and set to 0 as by
/// [`untimed`].
fn untimed_talks(welcome: ServerMessage) -> Vec<Talk> {
    welcome_talks(welcome).into_iter().map(untimed).collect()
}

/// Returns the resume token of a `welcome`.
fn resume_token_of(welcome: &ServerMessage) -> String {
    match welcome {
        ServerMessage::Welcome { resume_token, .. } => resume_token.clone(),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Joins the contest room as `identity` in `role` and returns the client with the resume
/// token of its `welcome`.
async fn resumable(server: &TestServer, identity: &str, role: Role) -> (Client, String) {
    let (client, welcome) = join_room(server, identity, role, RoomKind::Contest).await;
    (client, resume_token_of(&welcome))
}

/// Opens a new socket for `identity` that resumes the session of `resume`, and returns its
/// `welcome`.
async fn resumed_welcome(
    server: &TestServer,
    identity: &str,
    role: Role,
    resume: &str,
) -> ServerMessage {
    let mut client = Client::connect(server).await;
    let token = server.token(identity, "demo", role);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token, "resume": resume}))
        .await;
    match client.receive().await {
        welcome @ ServerMessage::Welcome { resumed: true, .. } => welcome,
        other => panic!("expected a resumed welcome, got {other:?}"),
    }
}

/// Opens a new socket for `identity` that resumes the session of `resume`, and returns the
/// talks of its `welcome` as [`untimed_talks`] does.
async fn resumed_talks(server: &TestServer, identity: &str, role: Role, resume: &str) -> Vec<Talk> {
    untimed_talks(resumed_welcome(server, identity, role, resume).await)
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

/// Builds a talk as the tests compare it, with its start set to 0.
fn talk(talker: &str, participant: &str) -> Talk {
    Talk {
        talker: talker.into(),
        name: format!("Name of {talker}"),
        participant: participant.into(),
        started_unix_ms: 0,
    }
}

fn started(talker: &str, participant: &str) -> ServerMessage {
    ServerMessage::TalkStarted(talk(talker, participant))
}

fn stopped(talker: &str, participant: &str) -> ServerMessage {
    ServerMessage::TalkStopped {
        talker: talker.into(),
        participant: participant.into(),
    }
}

/// An expert, a second expert, the participant talked to and another participant.
struct Room {
    server: TestServer,
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
        server,
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
async fn participant_may_not_publish_talk_video() {
    let mut r = room().await;
    let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n\
               a=rtpmap:96 VP8/90000\r\n";
    let tracks = [json!({"mid": "0", "source": "talk_video"})];
    r.participant
        .send(json!({"type": "publish", "sdp": sdp, "tracks": tracks}))
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

#[tokio::test]
async fn welcome_lists_talks_in_progress() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut r.expert).await, started("e1", "p1"));

    let (_late_expert, welcome) = join_room(&r.server, "e3", Role::Expert, RoomKind::Contest).await;
    assert_eq!(untimed_talks(welcome), vec![talk("e1", "p1")]);

    let (_organiser, welcome) =
        join_room(&r.server, "o1", Role::Organiser, RoomKind::Contest).await;
    assert_eq!(untimed_talks(welcome), vec![talk("e1", "p1")]);

    let (_late_participant, welcome) =
        join_room(&r.server, "p3", Role::Participant, RoomKind::Contest).await;
    assert_eq!(
        welcome_talks(welcome),
        vec![],
        "a participant hears of others' talks"
    );

    r.expert.send(json!({"type": "talk_stop"})).await;
    assert_eq!(next_event(&mut r.expert).await, stopped("e1", "p1"));
    let (_after, welcome) = join_room(&r.server, "e4", Role::Expert, RoomKind::Contest).await;
    assert_eq!(welcome_talks(welcome), vec![], "a stopped talk is listed");
}

#[tokio::test]
async fn welcome_lists_talks_oldest_first() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p2"}))
        .await;
    assert_eq!(next_event(&mut r.expert).await, started("e1", "p2"));
    assert_eq!(next_event(&mut r.watcher).await, started("e1", "p2"));
    r.watcher
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut r.watcher).await, started("e2", "p1"));

    let (_late, welcome) = join_room(&r.server, "e3", Role::Expert, RoomKind::Contest).await;
    let talks = welcome_talks(welcome);
    assert!(
        talks[0].started_unix_ms <= talks[1].started_unix_ms,
        "{talks:?}"
    );
    let listed: Vec<Talk> = talks.into_iter().map(untimed).collect();
    assert_eq!(listed, vec![talk("e1", "p2"), talk("e2", "p1")]);
}

#[tokio::test]
async fn talk_start_time_is_kept() {
    let mut r = room().await;
    r.expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    let ServerMessage::TalkStarted(first) = r.expert.receive().await else {
        panic!("expected talk_started");
    };
    let (_late, welcome) = join_room(&r.server, "e3", Role::Expert, RoomKind::Contest).await;
    let talks = welcome_talks(welcome);
    assert_eq!(
        talks,
        vec![first],
        "welcome repeats talk_started, start time included"
    );
}

#[tokio::test]
async fn resumed_welcome_lists_talks() {
    let server = TestServer::start().await;
    let (participant, participant_resume) = resumable(&server, "p1", Role::Participant).await;
    let (other, other_resume) = resumable(&server, "p2", Role::Participant).await;
    let (watcher, watcher_resume) = resumable(&server, "e2", Role::Expert).await;
    let (mut expert, _) = join_room(&server, "e1", Role::Expert, RoomKind::Contest).await;

    // The sockets drop without a close frame, so the server keeps their places.
    drop((participant, other, watcher));
    let mut away = Vec::new();
    while away.len() < 3 {
        match expert.receive().await {
            ServerMessage::PeerReconnecting { identity } => away.push(identity),
            ServerMessage::PeerJoined(_) => continue,
            other => panic!("expected peer_reconnecting, got {other:?}"),
        }
    }
    expert
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut expert).await, started("e1", "p1"));

    let mine = resumed_talks(&server, "p1", Role::Participant, &participant_resume).await;
    assert_eq!(mine, vec![talk("e1", "p1")]);
    let theirs = resumed_talks(&server, "e2", Role::Expert, &watcher_resume).await;
    assert_eq!(theirs, vec![talk("e1", "p1")]);
    let others = resumed_talks(&server, "p2", Role::Participant, &other_resume).await;
    assert_eq!(others, vec![], "another participant hears of the talk");
}

#[tokio::test]
async fn briefing_welcome_lists_no_talks() {
    let server = TestServer::start().await;
    let (_participant, welcome) =
        join_room(&server, "p1", Role::Participant, RoomKind::Briefing).await;
    assert_eq!(welcome_talks(welcome), vec![]);
}

/// Waits for the `track_published` of a talk track of `talker`, skipping other messages.
async fn announced_talk(client: &mut Client, talker: &str) -> TrackInfo {
    loop {
        match client.receive().await {
            ServerMessage::TrackPublished(info) if info.source.is_talk() => {
                assert_eq!(info.identity, talker, "a talk track of someone else");
                return info;
            }
            _ => continue,
        }
    }
}

/// Waits for the `track_unpublished` of `track`, skipping other messages.
async fn withdrawn(client: &mut Client, track: &str) {
    loop {
        if let ServerMessage::TrackUnpublished { track: t, .. } = client.receive().await {
            if t == track {
                return;
            }
        }
    }
}

/// Returns every message that reached `client` before the pong to a ping sent now.
async fn drain(client: &mut Client) -> Vec<ServerMessage> {
    client.send(json!({"type": "ping"})).await;
    let mut messages = Vec::new();
    loop {
        match client.receive().await {
            ServerMessage::Pong => return messages,
            message => messages.push(message),
        }
    }
}

/// Returns whether `message` mentions a talk or the talk track `track`.
fn mentions_talk(message: &ServerMessage, track: &str) -> bool {
    let is_talk = |info: &TrackInfo| info.source.is_talk() || info.track == track;
    match message {
        ServerMessage::TalkStarted(_) | ServerMessage::TalkStopped { .. } => true,
        ServerMessage::TrackPublished(info) => is_talk(info),
        ServerMessage::TrackUnpublished { track: t, .. } => t == track,
        ServerMessage::SubscribeOffer { tracks, .. } => tracks.iter().any(|t| is_talk(&t.info)),
        ServerMessage::PeerJoined(peer) => peer.tracks.iter().any(is_talk),
        ServerMessage::Welcome { peers, talks, .. } => {
            !talks.is_empty() || peers.iter().flat_map(|p| &p.tracks).any(is_talk)
        }
        _ => false,
    }
}

/// Asserts that none of `messages` mentions a talk or the talk track `track`.
fn assert_no_talk(messages: &[ServerMessage], track: &str) {
    let mentions: Vec<&ServerMessage> = messages
        .iter()
        .filter(|m| mentions_talk(m, track))
        .collect();
    assert!(
        mentions.is_empty(),
        "another participant learned of the talk: {mentions:?}"
    );
}

/// Returns the tracks of `identity` in the `peers` of a `welcome`.
fn welcome_tracks(welcome: &ServerMessage, identity: &str) -> Vec<TrackInfo> {
    let ServerMessage::Welcome { peers, .. } = welcome else {
        panic!("expected welcome, got {welcome:?}");
    };
    let peer = peers.iter().find(|p| p.identity == identity);
    peer.unwrap_or_else(|| panic!("{identity} is not in {peers:?}"))
        .tracks
        .clone()
}

/// A talker `t1` in some role who talks to participant `p1` and publishes one talk track,
/// the participant, another participant `p2` and an expert `e2` who watches, after the
/// expert learned of the talk track.
struct Talking {
    server: TestServer,
    talker: Client,
    _publisher: TestPublisher,
    participant: Client,
    participant_resume: String,
    other: Client,
    other_resume: String,
    watcher: Client,
    track: TrackInfo,
}

async fn talking(role: Role) -> Talking {
    talking_with(role, TALK_AUDIO).await
}

/// Starts a talk whose talker publishes a track of `kind` from `source`.
async fn talking_with(role: Role, (kind, source): (MediaKind, &str)) -> Talking {
    let server = TestServer::start().await;
    let (participant, participant_resume) = resumable(&server, "p1", Role::Participant).await;
    let (other, other_resume) = resumable(&server, "p2", Role::Participant).await;
    let mut watcher = joined(&server, "e2", Role::Expert).await;
    let mut talker = joined(&server, "t1", role).await;
    talker
        .send(json!({"type": "talk_start", "identity": "p1"}))
        .await;
    assert_eq!(next_event(&mut talker).await, started("t1", "p1"));
    let publisher = publish(&mut talker, kind, source).await;
    let track = announced_talk(&mut watcher, "t1").await;
    assert_eq!(json!(track.source), json!(source), "the announced source");
    Talking {
        server,
        talker,
        _publisher: publisher,
        participant,
        participant_resume,
        other,
        other_resume,
        watcher,
        track,
    }
}

impl Talking {
    /// Stops the talk and checks that the watching expert loses the talk track and that the
    /// other participant learns nothing of the talk.
    async fn stop(&mut self) {
        self.talker.send(json!({"type": "talk_stop"})).await;
        withdrawn(&mut self.watcher, &self.track.track).await;
        assert_no_talk(&drain(&mut self.other).await, &self.track.track);
    }
}

#[tokio::test]
async fn organiser_talk_track_reaches_only_participant_talked_to() {
    organiser_talk_reaches_only_target(TALK_AUDIO).await;
}

#[tokio::test]
async fn organiser_talk_video_reaches_only_participant_talked_to() {
    organiser_talk_reaches_only_target(TALK_VIDEO).await;
}

async fn organiser_talk_reaches_only_target(source: (MediaKind, &str)) {
    let mut t = talking_with(Role::Organiser, source).await;
    let id = t.track.track.clone();
    assert_eq!(announced_talk(&mut t.participant, "t1").await, t.track);
    assert_no_talk(&drain(&mut t.other).await, &id);

    let (_late, welcome) = join_room(&t.server, "p3", Role::Participant, RoomKind::Contest).await;
    assert_no_talk(&[welcome], &id);
    let (_late_expert, welcome) = join_room(&t.server, "e3", Role::Expert, RoomKind::Contest).await;
    assert_eq!(welcome_tracks(&welcome, "t1"), vec![t.track.clone()]);

    t.stop().await;
    withdrawn(&mut t.participant, &id).await;
}

#[tokio::test]
async fn expert_talk_track_reaches_only_participant_talked_to() {
    expert_talk_reaches_only_target(TALK_AUDIO).await;
}

#[tokio::test]
async fn expert_talk_video_reaches_only_participant_talked_to() {
    expert_talk_reaches_only_target(TALK_VIDEO).await;
}

async fn expert_talk_reaches_only_target(source: (MediaKind, &str)) {
    let mut t = talking_with(Role::Expert, source).await;
    let id = t.track.track.clone();
    let offered = loop {
        if let ServerMessage::SubscribeOffer { tracks, .. } = t.participant.receive().await {
            break tracks;
        }
    };
    assert!(
        offered.iter().any(|o| o.info == t.track),
        "the participant is offered the talk: {offered:?}"
    );
    assert_no_talk(&drain(&mut t.other).await, &id);
    t.stop().await;
}

#[tokio::test]
async fn talk_track_follows_moved_talk() {
    talk_follows_moved_target(TALK_AUDIO).await;
}

#[tokio::test]
async fn talk_video_follows_moved_talk() {
    talk_follows_moved_target(TALK_VIDEO).await;
}

async fn talk_follows_moved_target(source: (MediaKind, &str)) {
    let mut t = talking_with(Role::Organiser, source).await;
    let id = t.track.track.clone();
    assert_eq!(announced_talk(&mut t.participant, "t1").await, t.track);

    // The talk track stays published while the talk moves to another participant.
    t.talker
        .send(json!({"type": "talk_start", "identity": "p2"}))
        .await;
    withdrawn(&mut t.participant, &id).await;
    assert_eq!(announced_talk(&mut t.other, "t1").await, t.track);
    assert_eq!(announced_talk(&mut t.watcher, "t1").await, t.track);
    let rest = drain(&mut t.participant).await;
    let again = rest
        .iter()
        .any(|m| matches!(m, ServerMessage::TrackPublished(info) if info.track == id));
    assert!(
        !again,
        "the former target learned of the track again: {rest:?}"
    );
}

#[tokio::test]
async fn resumed_welcome_lists_talk_track_for_target_only() {
    let t = talking(Role::Organiser).await;
    let welcome = resumed_welcome(&t.server, "p1", Role::Participant, &t.participant_resume).await;
    assert_eq!(welcome_tracks(&welcome, "t1"), vec![t.track.clone()]);

    let welcome = resumed_welcome(&t.server, "p2", Role::Participant, &t.other_resume).await;
    assert_eq!(
        welcome_tracks(&welcome, "t1"),
        vec![],
        "another participant's welcome"
    );
    assert_no_talk(&[welcome], &t.track.track);
}
