//! Recording routes against a local storage folder: access by role and room, deletion with a
//! reason, retention, and the audit entries each of them leaves.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use profstage_server::audit::AuditLog;
use profstage_server::config::{AuthConfig, Config, TokenSecret};
use profstage_server::http::router;
use profstage_server::media_loop::MediaHandle;
use profstage_server::notifier::CodeSender;
use profstage_server::phone_camera::PhoneCamera;
use profstage_server::recording::RecordingIndex;
use profstage_server::recording_api::TicketKeys;
use profstage_server::signalling::protocol::{Role, RoomKind};
use profstage_server::state::{AppState, Recordings};
use profstage_server::token::{Claims, TokenKeys};
use recorder::journal::Codec;
use recorder::manifest::{Manifest, RecordingStatus, SegmentEntry};
use serde_json::Value;
use storage::{ObjectKey, Storage, StorageConfig};
use tower::ServiceExt;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
const ROOM: &str = "demo";
const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// A segment that failed to mux, kept as raw packets next to the muxed ones.
const RAW_JOURNAL: &str = "recordings/demo/p-1/rec-1/camera/000002.rtpj";

struct Fixture {
    state: Arc<AppState>,
    keys: TokenKeys,
    storage: Arc<Storage>,
    manifest: Manifest,
    _folder: tempfile::TempDir,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Stores and indexes a finished recording of two segments in a local folder.
async fn fixture() -> Fixture {
    let folder = tempfile::tempdir().unwrap();
    let storage = Arc::new(
        Storage::from_config(&StorageConfig {
            local_dir: folder.path().join("recordings"),
            ..StorageConfig::default()
        })
        .unwrap(),
    );
    let manifest = stored_manifest(&storage).await;
    let index = Arc::new(RecordingIndex::default());
    index.put(manifest.clone());
    let config = Config {
        auth: AuthConfig {
            token_secret: Some(TokenSecret::new(SECRET)),
            ..AuthConfig::default()
        },
        ..Config::default()
    };
    let recordings = Recordings {
        index,
        storage: Arc::clone(&storage),
        audit: AuditLog::new(folder.path().join("audit.jsonl")),
        exports: folder.path().join("exports"),
        spool: folder.path().join("spool"),
        tickets: TicketKeys::generate(),
    };
    let state = Arc::new(AppState {
        phone_camera: PhoneCamera::new(AuditLog::new(folder.path().join("audit.jsonl"))),
        codes: CodeSender::from_config(&config).expect("mail setup"),
        config: Arc::new(config),
        tokens: TokenKeys::new(SECRET.as_bytes()),
        media: MediaHandle::detached(),
        recordings: Some(recordings),
        briefings: None,
        contest: profstage_contest::Database::open_sqlite(&folder.path().join("profstage.db"))
            .await
            .expect("contest database opens"),
        sign_in_limits: Default::default(),
        submission_limits: Default::default(),
    });
    Fixture {
        state,
        keys: TokenKeys::new(SECRET.as_bytes()),
        storage,
        manifest,
        _folder: folder,
    }
}

async fn stored_manifest(storage: &Storage) -> Manifest {
    let prefix = "recordings/demo/p-1/rec-1";
    let mut manifest = Manifest::new("rec-1", ROOM, "p-1", 1_000_000, 4_000);
    manifest.participant_name = Some("Иванова".into());
    for index in 0..2u32 {
        let bytes = format!("segment {index}").into_bytes();
        let key = format!("{prefix}/camera/{index:06}.webm");
        storage
            .put(&ObjectKey::new(key.clone()).unwrap(), bytes.clone().into())
            .await
            .unwrap();
        manifest.push_segment(SegmentEntry {
            index,
            source: "camera".into(),
            key,
            started_unix_ms: 1_000_000 + u64::from(index) * 4_000,
            media_start_ms: u64::from(index) * 4_000,
            duration_ms: 4_000,
            size: bytes.len() as u64,
            sha256: recorder::manifest::sha256_hex(&bytes),
            chain: String::new(),
            codec: Codec::Vp8,
            width: Some(640),
            height: Some(480),
            missing_packets: 0,
            uploaded: true,
        });
    }
    let raw = ObjectKey::new(format!("{prefix}/camera/000002.rtpj")).unwrap();
    storage
        .put(&raw, b"raw packets".to_vec().into())
        .await
        .unwrap();
    manifest.status = RecordingStatus::Complete;
    manifest.ended_unix_ms = Some(1_008_000);
    let body = serde_json::to_vec(&manifest).unwrap();
    storage
        .put(
            &ObjectKey::new(format!("{prefix}/manifest.json")).unwrap(),
            body.into(),
        )
        .await
        .unwrap();
    manifest
}

impl Fixture {
    fn token(&self, identity: &str, room: &str, role: Role) -> String {
        let now = now_secs();
        self.keys.issue(&Claims {
            sub: identity.into(),
            name: format!("Name of {identity}"),
            room: room.into(),
            role,
            kind: RoomKind::Contest,
            iat: now,
            exp: now + 3600,
        })
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let (status, bytes) = self.respond(request).await;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json)
    }

    async fn respond(&self, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
        let response = router(Arc::clone(&self.state))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 24).await.unwrap(),
        )
    }

    fn audit_actions(&self) -> Vec<String> {
        let recordings = self.state.recordings.as_ref().unwrap();
        recordings
            .audit
            .read_all()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }

    async fn exists(&self, key: &str) -> bool {
        let key = ObjectKey::new(key.to_owned()).unwrap();
        self.storage.head(&key).await.unwrap().is_some()
    }
}

fn manifest_key(manifest: &Manifest) -> String {
    let first = Path::new(&manifest.segments[0].key);
    let folder = first.parent().and_then(Path::parent).unwrap();
    format!("{}/manifest.json", folder.display())
}

#[tokio::test]
async fn expert_lists_and_views_with_audit() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    let (status, body) = f
        .send(Method::GET, "/api/v1/recordings?room=demo", &expert, "")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recordings"][0]["id"], "rec-1");
    assert_eq!(body["recordings"][0]["participant_name"], "Иванова");
    assert_eq!(body["recordings"][0]["duration_ms"], 8_000);

    let (status, body) = f
        .send(Method::GET, "/api/v1/recordings/rec-1", &expert, "")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["chain_head"], f.manifest.chain_head.as_str());
    let camera = body["media"]["camera"].as_str().unwrap();
    assert!(camera.contains("ticket="), "{camera}");

    let (status, body) = f
        .send(Method::GET, "/api/v1/recordings/rec-1/verify", &expert, "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true, "{body}");
    assert_eq!(body["segments_checked"], 2);

    let actions = f.audit_actions();
    assert_eq!(
        actions,
        ["recording.list", "recording.view", "recording.verify"]
    );
}

#[tokio::test]
async fn ranged_media_requests_are_audited_once_per_window() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    for range in ["bytes=1-", "bytes=100-200"] {
        let request = Request::builder()
            .uri("/api/v1/recordings/rec-1/media/camera.webm")
            .header(header::AUTHORIZATION, format!("Bearer {expert}"))
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap();
        router(Arc::clone(&f.state)).oneshot(request).await.unwrap();
    }
    assert_eq!(f.audit_actions(), ["recording.media"]);

    let other = f.token("expert-2", ROOM, Role::Expert);
    let request = Request::builder()
        .uri("/api/v1/recordings/rec-1/media/camera.webm")
        .header(header::AUTHORIZATION, format!("Bearer {other}"))
        .header(header::RANGE, "bytes=1-")
        .body(Body::empty())
        .unwrap();
    router(Arc::clone(&f.state)).oneshot(request).await.unwrap();
    assert_eq!(f.audit_actions(), ["recording.media", "recording.media"]);
}

#[tokio::test]
async fn verify_detects_an_altered_segment() {
    let f = fixture().await;
    let key = ObjectKey::new(f.manifest.segments[1].key.clone()).unwrap();
    f.storage
        .put(&key, b"tampered".to_vec().into())
        .await
        .unwrap();
    let expert = f.token("expert-1", ROOM, Role::Expert);
    let (_, body) = f
        .send(Method::GET, "/api/v1/recordings/rec-1/verify", &expert, "")
        .await;
    assert_eq!(body["ok"], false, "{body}");
}

#[tokio::test]
async fn participants_and_other_rooms_get_nothing() {
    let f = fixture().await;
    let participant = f.token("p-1", ROOM, Role::Participant);
    let (status, _) = f
        .send(Method::GET, "/api/v1/recordings/rec-1", &participant, "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = f.token("expert-9", "other", Role::Expert);
    let (status, _) = f
        .send(Method::GET, "/api/v1/recordings/rec-1", &stranger, "")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f
        .send(Method::GET, "/api/v1/recordings/rec-1", "not-a-token", "")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(f.audit_actions().is_empty(), "nothing was read");
}

#[tokio::test]
async fn deletion_needs_an_organiser_and_a_reason() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    let organiser = f.token("org-1", ROOM, Role::Organiser);
    let uri = "/api/v1/recordings/rec-1";

    let (status, _) = f
        .send(Method::DELETE, uri, &expert, r#"{"reason":"asked"}"#)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = [
        (r#"{"reason":"  "}"#, StatusCode::BAD_REQUEST),
        ("{", StatusCode::BAD_REQUEST),
        (r#"{"why":"x"}"#, StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, expected) in bad {
        let (status, reply) = f.send(Method::DELETE, uri, &organiser, body).await;
        assert_eq!(status, expected, "{body}: {reply}");
    }
    assert!(
        f.exists(&f.manifest.segments[0].key).await,
        "nothing deleted yet"
    );

    let (status, body) = f
        .send(
            Method::DELETE,
            uri,
            &organiser,
            r#"{"reason":"the participant withdrew consent"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted_segments"], 2);
    for segment in &f.manifest.segments {
        assert!(!f.exists(&segment.key).await, "{} remains", segment.key);
    }
    assert!(!f.exists(&manifest_key(&f.manifest)).await);
    assert!(!f.exists(RAW_JOURNAL).await, "the raw journal remains");

    let recordings = f.state.recordings.as_ref().unwrap();
    let entry = recordings
        .audit
        .read_all()
        .into_iter()
        .find(|e| e.action == "recording.delete")
        .expect("a deletion entry");
    let detail = entry.detail.unwrap();
    assert!(detail.contains("withdrew consent"), "{detail}");
    assert!(detail.contains(&f.manifest.segments[1].sha256), "{detail}");
    assert_eq!(entry.actor, "org-1");
    let (status, _) = f.send(Method::GET, uri, &organiser, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retention_deletes_only_expired_recordings() {
    let f = fixture().await;
    let ended = f.manifest.ended_unix_ms.unwrap();
    let days = f.state.config.recording.retention_days;

    let kept = profstage_server::retention::run_once(&f.state, ended + days * DAY_MS - 1).await;
    assert_eq!(kept, 0);
    assert!(f.exists(&f.manifest.segments[0].key).await);

    let deleted = profstage_server::retention::run_once(&f.state, ended + days * DAY_MS).await;
    assert_eq!(deleted, 1);
    assert!(!f.exists(&f.manifest.segments[0].key).await);
    assert!(!f.exists(&manifest_key(&f.manifest)).await);
    assert!(!f.exists(RAW_JOURNAL).await, "the raw journal remains");
    let actions = f.audit_actions();
    assert_eq!(actions, ["recording.expire"]);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    for scheme in ["bearer", "BEARER"] {
        let request = Request::builder()
            .uri("/api/v1/recordings?room=demo")
            .header(header::AUTHORIZATION, format!("{scheme} {expert}"))
            .body(Body::empty())
            .unwrap();
        let response = router(Arc::clone(&f.state)).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn query_errors_name_the_parameter() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    for uri in [
        "/api/v1/recordings",
        "/api/v1/recordings/live",
        "/api/v1/audit",
    ] {
        let (status, body) = f.send(Method::GET, uri, &expert, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"]["code"], "invalid_query", "{uri}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], "room", "{uri}: {body}");
    }
    assert!(f.audit_actions().is_empty());
}

#[tokio::test]
async fn deletion_body_errors_use_the_documented_statuses() {
    let f = fixture().await;
    let organiser = f.token("organiser-1", ROOM, Role::Organiser);
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/api/v1/recordings/rec-1")
        .header(header::AUTHORIZATION, format!("Bearer {organiser}"))
        .body(Body::from(r#"{"reason": "test"}"#))
        .unwrap();
    let response = router(Arc::clone(&f.state)).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = f
        .send(
            Method::DELETE,
            "/api/v1/recordings/rec-1",
            &organiser,
            r#"{"reason": 5}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_body", "{body}");
    assert!(f.exists(&manifest_key(&f.manifest)).await);
}

/// Creates a contest with `retention_days`, and a theory part and a room in it.
async fn contest_room(
    db: &profstage_contest::Database,
    retention_days: Option<i64>,
) -> (profstage_contest::Room, profstage_contest::StagePart) {
    use profstage_contest::{
        Actor, NewContest, NewNomination, NewRoom, NewStage, NewStagePart, PartKind,
    };

    let organiser = Actor::command_line();
    let contest = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: retention_days,
    };
    let contest = db.create_contest(&organiser, &contest).await.unwrap();
    let stage = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(1_000_000),
        ends_at: Some(2_000_000),
    };
    let stage = db.create_stage(&organiser, &contest.id, &stage).await;
    let stage = stage.unwrap();
    let nomination = NewNomination {
        profession: "Сварщик".into(),
    };
    let nomination = db.create_nomination(&organiser, &stage.id, &nomination);
    let nomination = nomination.await.unwrap();
    let part = NewStagePart {
        kind: Some(PartKind::Theory),
        title: "Теория".into(),
    };
    let part = db.create_stage_part(&organiser, &nomination.id, &part);
    let part = part.await.unwrap();
    let room = NewRoom {
        title: "Комната 1".into(),
    };
    let room = db.create_room(&organiser, &part.id, &room).await.unwrap();
    (room, part)
}

/// A recording in a contest room is kept for its contest's retention, not the server's.
#[tokio::test]
async fn retention_follows_the_contest() {
    let f = fixture().await;
    let (room, _) = contest_room(&f.state.contest, Some(2)).await;
    let ended = f.manifest.ended_unix_ms.unwrap();
    let mut manifest = Manifest::new("rec-3", room.id.as_str(), "participant-1", 1_000, 4_000);
    manifest.status = RecordingStatus::Complete;
    manifest.ended_unix_ms = Some(ended);
    f.state.recordings.as_ref().unwrap().index.put(manifest);

    let kept = profstage_server::retention::run_once(&f.state, ended + 2 * DAY_MS - 1).await;
    assert_eq!(kept, 0);
    let deleted = profstage_server::retention::run_once(&f.state, ended + 2 * DAY_MS).await;
    assert_eq!(
        deleted, 1,
        "only the contest room's recording is past its retention"
    );
    assert!(
        f.exists(&f.manifest.segments[0].key).await,
        "the server's default of {} days still keeps the other recording",
        f.state.config.recording.retention_days
    );
    let entries = f.state.recordings.as_ref().unwrap().audit.read_all();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "recording.expire");
    assert_eq!(entries[0].recording.as_deref(), Some("rec-3"));
    let detail = entries[0].detail.as_deref().unwrap_or_default();
    assert!(detail.starts_with("retention 2 days"), "{detail}");
}

/// A participant's task events in the contest database appear in the timeline of their
/// recording in that room, within the recording's time span, and the stored manifest does
/// not change.
#[tokio::test]
async fn task_events_join_the_timeline() {
    use profstage_contest::{Actor, LimitMode, NewAnswer, NewPerson, NewTask};

    let f = fixture().await;
    let db = &f.state.contest;
    let organiser = Actor::command_line();
    let (room, part) = contest_room(db, None).await;
    let person = NewPerson {
        role: Some(profstage_contest::Role::Participant),
        full_name: "Иванова Мария".into(),
        ..NewPerson::default()
    };
    let person = db.create_person(&organiser, &person).await.unwrap();
    db.assign(&organiser, &room.id, &person.id).await.unwrap();

    let task = NewTask {
        title: "Задание".into(),
        text: "Текст".into(),
        starts_at: 1_001_000,
        time_limit_secs: 3,
        limit_mode: LimitMode::CommonStart,
        opens_until: None,
    };
    let task = db.create_task(&organiser, &part.id, &task, 1_000_000).await;
    let task = task.unwrap();
    db.publish_task(&organiser, &task.id, 1_000_000)
        .await
        .unwrap();
    let participant = Actor {
        person: Some(person.id.clone()),
        role: profstage_contest::Role::Participant,
        session: None,
    };
    db.open_task(&participant, &task.id, 1_002_000)
        .await
        .unwrap();
    let answer = NewAnswer {
        text: "Ответ".into(),
    };
    db.submit_answer(&participant, &task.id, &answer, 1_003_000)
        .await
        .unwrap();
    // After the recording ended: not on its timeline.
    db.open_task(&participant, &task.id, 1_009_000)
        .await
        .unwrap();

    let mut manifest = Manifest::new(
        "rec-2",
        room.id.as_str(),
        person.id.as_str(),
        1_000_000,
        4_000,
    );
    manifest.status = RecordingStatus::Complete;
    manifest.ended_unix_ms = Some(1_008_000);
    let recordings = f.state.recordings.as_ref().unwrap();
    recordings.index.put(manifest);

    let expert = f.token("expert-1", room.id.as_str(), Role::Expert);
    let (status, body) = f
        .send(Method::GET, "/api/v1/recordings/rec-2", &expert, "")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events: Vec<(String, u64)> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap().to_owned();
            (kind, e["at_unix_ms"].as_u64().unwrap())
        })
        .collect();
    let expected = [
        ("task_opened", 1_002_000),
        ("task_answer", 1_003_000),
        ("task_time_up", 1_004_000),
    ];
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(kind, at)| ((*kind).to_owned(), *at))
        .collect();
    assert_eq!(events, expected);
    let stored = recordings.index.get("rec-2").unwrap();
    assert!(stored.events.is_empty(), "the stored manifest changed");
}

#[tokio::test]
async fn metrics_report_recorder_counters() {
    let f = fixture().await;
    let stats = &f.state.recordings.as_ref().unwrap().index.stats;
    stats.muxed_segments.store(7, Ordering::Relaxed);
    stats.remuxed_segments.store(2, Ordering::Relaxed);
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = router(Arc::clone(&f.state)).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"profstage_recording_segments_muxed_total 7"),
        "{text}"
    );
    assert!(
        lines.contains(&"profstage_recording_segments_remuxed_total 2"),
        "{text}"
    );
    assert!(
        lines.contains(&"# TYPE profstage_recording_segments_remuxed_total counter"),
        "{text}"
    );
}

/// Writes a WebM file with GStreamer from the source part of a pipeline description.
fn gst_file(path: &Path, source: &str) {
    use gstreamer::prelude::*;
    gstreamer::init().expect("GStreamer initialises");
    let description = format!(
        "{source} ! webmmux ! filesink location=\"{}\"",
        path.display()
    );
    let pipeline = gstreamer::parse::launch(&description).expect("valid pipeline");
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("pipeline ends within 60 s");
    assert!(
        matches!(message.view(), gstreamer::MessageView::Eos(_)),
        "pipeline `{description}` failed"
    );
    pipeline.set_state(gstreamer::State::Null).unwrap();
}

/// Stores a real one-second segment of `source` (VP8 for `camera`, Opus otherwise) that
/// starts `at_ms` into the recording, and lists it in `manifest` and the index.
async fn add_media_segment(f: &Fixture, manifest: &mut Manifest, source: &str, at_ms: u64) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("segment.webm");
    let (codec, size) = if source == "camera" {
        gst_file(
            &path,
            "videotestsrc num-buffers=30 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
             ! vp8enc deadline=1 keyframe-max-dist=30",
        );
        (Codec::Vp8, Some(320))
    } else {
        gst_file(
            &path,
            "audiotestsrc num-buffers=50 samplesperbuffer=960 \
             ! audio/x-raw,rate=48000,channels=1 ! opusenc",
        );
        (Codec::Opus, None)
    };
    let bytes = std::fs::read(&path).unwrap();
    let index = manifest.segments.len() as u32;
    let key = format!("recordings/demo/p-2/rec-2/{source}/{index:06}.webm");
    f.storage
        .put(&ObjectKey::new(key.clone()).unwrap(), bytes.clone().into())
        .await
        .unwrap();
    manifest.push_segment(SegmentEntry {
        index,
        source: source.into(),
        key,
        started_unix_ms: manifest.started_unix_ms + at_ms,
        media_start_ms: at_ms,
        duration_ms: 1_000,
        size: bytes.len() as u64,
        sha256: recorder::manifest::sha256_hex(&bytes),
        chain: String::new(),
        codec,
        width: size,
        height: size.map(|width| width * 3 / 4),
        missing_packets: 0,
        uploaded: true,
    });
    let recordings = f.state.recordings.as_ref().unwrap();
    recordings.index.put(manifest.clone());
}

impl Fixture {
    /// Returns the body of a media link from a manifest view, read with its ticket.
    async fn media_bytes(&self, url: &str) -> Vec<u8> {
        let request = Request::builder()
            .uri(url)
            .header(header::RANGE, "bytes=0-")
            .body(Body::empty())
            .unwrap();
        let (status, bytes) = self.respond(request).await;
        assert!(status.is_success(), "{url}: {status} {bytes:?}");
        bytes.to_vec()
    }

    async fn media_links(&self, token: &str) -> (String, String) {
        let (status, view) = self
            .send(Method::GET, "/api/v1/recordings/rec-2", token, "")
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let link = |source: &str| view["media"][source].as_str().unwrap().to_owned();
        (link("camera"), link("talk"))
    }
}

fn same_file(read: &[u8], first: &[u8], link: &str) {
    let differ = read.iter().zip(first).position(|(a, b)| a != b);
    assert!(
        read == first,
        "{link}: {} bytes, first read {} bytes, first difference at {differ:?}",
        read.len(),
        first.len()
    );
}

/// A player reads one file through many range requests, so a media link must keep giving
/// the same bytes while the recording gains segments, of its own source or of others.
#[tokio::test]
async fn media_link_after_new_segments() {
    let f = fixture().await;
    let expert = f.token("expert-1", ROOM, Role::Expert);
    let mut manifest = Manifest::new("rec-2", ROOM, "p-2", 2_000_000, 1_000);
    add_media_segment(&f, &mut manifest, "camera", 0).await;
    add_media_segment(&f, &mut manifest, "talk", 0).await;

    let (camera, talk) = f.media_links(&expert).await;
    assert!(camera.contains("upto=1"), "{camera}");
    let first_camera = f.media_bytes(&camera).await;
    let first_talk = f.media_bytes(&talk).await;

    add_media_segment(&f, &mut manifest, "camera", 1_000).await;
    same_file(&f.media_bytes(&camera).await, &first_camera, "camera link");
    same_file(&f.media_bytes(&talk).await, &first_talk, "talk link");

    let (newer_camera, newer_talk) = f.media_links(&expert).await;
    assert!(newer_camera.contains("upto=2"), "{newer_camera}");
    let grown = f.media_bytes(&newer_camera).await;
    assert!(
        grown.len() > first_camera.len(),
        "the newer link has the second second"
    );
    same_file(
        &f.media_bytes(&newer_talk).await,
        &first_talk,
        "newer talk link",
    );

    let exports = f._folder.path().join("exports/rec-2");
    let mut names: Vec<_> = std::fs::read_dir(&exports)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        3,
        "two camera files and one talk file: {names:?}"
    );
}
