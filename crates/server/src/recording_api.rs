//! HTTP routes for reviewing recordings: lists, manifests, playable media, download,
//! verification, deletion and the audit log.
//!
//! Every route checks the bearer token, or for media that a `<video>` element loads, a
//! short-lived ticket issued to that token's holder. Every route except the live status
//! writes an audit entry before it responds. Experts and organisers see the recordings of
//! their room, and participants see none.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rand::RngCore;
use recorder::export::{ExportSegment, ExportTrack};
use recorder::manifest::{Manifest, VerifyReport};
use serde::{Deserialize, Serialize};
use storage::{KeyPrefix, ObjectKey};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::audit::AuditEntry;
use crate::contest_api::extract::ApiQuery;
use crate::http::{bearer_claims, ApiError};
use crate::signalling::protocol::Role;
use crate::state::{AppState, Recordings};
use crate::token::Claims;

/// Lifetime of a media ticket.
const TICKET_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// How long one audit entry covers a person's further range requests for the same media.
const MEDIA_AUDIT_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Routes under `/api/v1/recordings` and `/api/v1/audit`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/recordings", get(list))
        .route("/api/v1/recordings/live", get(live))
        .route(
            "/api/v1/recordings/{id}",
            get(manifest).delete(delete_recording),
        )
        .route("/api/v1/recordings/{id}/media/{file}", get(media))
        .route("/api/v1/recordings/{id}/download", get(download))
        .route("/api/v1/recordings/{id}/verify", get(verify))
        .route("/api/v1/audit", get(audit))
}

/// Store of short-lived media tickets. A random ticket names a recording and the person it
/// was issued to, so that a `<video>` element can load media without the bearer header.
#[derive(Debug, Default)]
pub struct TicketKeys {
    tickets: Mutex<HashMap<String, Ticket>>,
    /// When each (room, person, recording, source) media access was last audited.
    audited: Mutex<HashMap<MediaAccess, Instant>>,
}

type MediaAccess = (String, String, String, String);

fn media_access(claims: &Claims, recording: &str, source: &str) -> MediaAccess {
    (
        claims.room.clone(),
        claims.sub.clone(),
        recording.to_owned(),
        source.to_owned(),
    )
}

#[derive(Debug, Clone)]
struct Ticket {
    recording: String,
    actor: Claims,
    expires: Instant,
}

impl TicketKeys {
    /// Creates an empty ticket store.
    pub fn generate() -> Self {
        Self::default()
    }

    fn issue(&self, recording: &str, actor: &Claims) -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let ticket = hex::encode(bytes);
        let now = Instant::now();
        if let Ok(mut tickets) = self.tickets.lock() {
            tickets.retain(|_, t| t.expires > now);
            tickets.insert(
                ticket.clone(),
                Ticket {
                    recording: recording.to_owned(),
                    actor: actor.clone(),
                    expires: now + TICKET_LIFETIME,
                },
            );
        }
        ticket
    }

    fn check(&self, ticket: &str, recording: &str) -> Option<Claims> {
        let tickets = self.tickets.lock().ok()?;
        let found = tickets.get(ticket)?;
        (found.recording == recording && found.expires > Instant::now())
            .then(|| found.actor.clone())
    }

    /// Returns whether an audit entry for this access was written within the audit window.
    fn recently_audited(&self, access: &MediaAccess) -> bool {
        let Ok(audited) = self.audited.lock() else {
            return false;
        };
        audited
            .get(access)
            .is_some_and(|at| at.elapsed() < MEDIA_AUDIT_WINDOW)
    }

    fn note_audited(&self, access: MediaAccess) {
        if let Ok(mut audited) = self.audited.lock() {
            audited.retain(|_, at| at.elapsed() < MEDIA_AUDIT_WINDOW);
            audited.insert(access, Instant::now());
        }
    }
}

#[derive(Deserialize)]
struct RoomQuery {
    room: String,
}

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

#[derive(Deserialize)]
struct MediaQuery {
    ticket: Option<String>,
    /// Index of the last segment the file may contain. The manifest's media links carry the
    /// last index at the time they were made, so every range request of one player reads the
    /// same file while the recording grows.
    upto: Option<u32>,
}

#[derive(Serialize)]
struct RecordingSummary {
    id: String,
    room: String,
    participant: String,
    participant_name: String,
    status: String,
    started_unix_ms: u64,
    ended_unix_ms: Option<u64>,
    duration_ms: u64,
    sources: Vec<String>,
    segments: usize,
    pending_upload: usize,
}

#[derive(Serialize)]
struct RecordingList {
    recordings: Vec<RecordingSummary>,
}

fn recordings(state: &AppState) -> Result<&Recordings, ApiError> {
    state.recordings.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "recording_disabled",
            "Recording is disabled on this server.",
        )
    })
}

/// Verifies the bearer token and rejects participants, because only experts and organisers
/// review recordings.
fn reviewer(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let claims = bearer_claims(state, headers)?;
    if claims.role == Role::Participant {
        return Err(forbidden());
    }
    Ok(claims)
}

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Your role in this room does not give access to recordings.",
    )
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "recording_not_found",
        "There is no such recording in your room.",
    )
}

/// How long a request waits for the manifests of earlier runs to be read from storage.
const INDEX_WAIT: Duration = Duration::from_secs(10);

/// Waits until the index contains every recording in storage, or rejects the request, so that
/// a list taken just after a restart is never silently incomplete.
async fn complete_index(rec: &Recordings) -> Result<(), ApiError> {
    if rec.index.wait_loaded(INDEX_WAIT).await {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "recordings_loading",
        "Recordings are still being read from storage after a restart. Try again in a few seconds.",
    ))
}

/// Returns the manifest, or not found unless the reviewer's room is the recording's room.
async fn accessible(
    rec: &Recordings,
    claims: &Claims,
    id: &str,
) -> Result<Arc<Manifest>, ApiError> {
    complete_index(rec).await?;
    let manifest = rec.index.get(id).ok_or_else(not_found)?;
    if manifest.room != claims.room {
        return Err(not_found());
    }
    Ok(manifest)
}

/// Writes the audit entry, and rejects the action when the entry cannot be written.
fn audit_entry(
    rec: &Recordings,
    claims: &Claims,
    action: &str,
    manifest: Option<&Manifest>,
    detail: Option<String>,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        recording: manifest.map(|m| m.recording.clone()),
        participant: manifest.map(|m| m.participant.clone()),
        detail,
        ..AuditEntry::by(claims, action)
    };
    rec.audit.record(entry).map_err(|error| {
        tracing::error!(
            action,
            recording = manifest.map(|m| m.recording.as_str()),
            %error,
            "audit log unavailable, request rejected"
        );
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "The audit log cannot be written, so the request is rejected. Try again later.",
        )
    })
}

fn summary(manifest: &Manifest) -> RecordingSummary {
    let mut sources: Vec<String> = manifest.segments.iter().map(|s| s.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let ended = manifest.ended_unix_ms;
    let end = ended.unwrap_or_else(|| {
        crate::recording::worker::last_media_ms(manifest).unwrap_or(manifest.started_unix_ms)
    });
    RecordingSummary {
        id: manifest.recording.clone(),
        room: manifest.room.clone(),
        participant: manifest.participant.clone(),
        participant_name: manifest.participant_name.clone().unwrap_or_default(),
        status: status_name(manifest),
        started_unix_ms: manifest.started_unix_ms,
        ended_unix_ms: ended,
        duration_ms: end.saturating_sub(manifest.started_unix_ms),
        sources,
        segments: manifest.segments.len(),
        pending_upload: manifest.segments.iter().filter(|s| !s.uploaded).count(),
    }
}

fn status_name(manifest: &Manifest) -> String {
    serde_json::to_value(manifest.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RoomQuery>,
) -> Result<Json<RecordingList>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    if query.room != claims.room {
        return Err(forbidden());
    }
    complete_index(rec).await?;
    audit_entry(rec, &claims, "recording.list", None, None)?;
    let recordings = rec
        .index
        .in_room(&query.room)
        .iter()
        .map(|m| summary(m))
        .collect();
    Ok(Json(RecordingList { recordings }))
}

#[derive(Serialize)]
struct LiveList {
    participants: Vec<crate::recording::LiveRecording>,
    backlog_segments: u64,
    backlog_bytes: u64,
    dropped_packets: u64,
}

async fn live(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RoomQuery>,
) -> Result<Json<LiveList>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    if query.room != claims.room {
        return Err(forbidden());
    }
    let stats = &rec.index.stats;
    use crate::recording::index::Stats;
    Ok(Json(LiveList {
        participants: rec.index.live_in_room(&query.room),
        backlog_segments: Stats::get(&stats.backlog_segments),
        backlog_bytes: Stats::get(&stats.backlog_bytes),
        dropped_packets: Stats::get(&stats.dropped_packets),
    }))
}

#[derive(Serialize)]
struct ManifestView {
    #[serde(flatten)]
    manifest: Manifest,
    participant_name: String,
    /// Playable files by source, as URLs for `<video src>`.
    media: HashMap<String, String>,
    download: String,
}

async fn manifest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<ManifestView>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    let manifest = accessible(rec, &claims, &id).await?;
    audit_entry(rec, &claims, "recording.view", Some(&manifest), None)?;
    let ticket = rec.tickets.issue(&id, &claims);
    let upto = manifest.segments.iter().map(|s| s.index).max().unwrap_or(0);
    let media = playable_sources(&manifest)
        .into_iter()
        .map(|source| {
            let url =
                format!("/api/v1/recordings/{id}/media/{source}.webm?ticket={ticket}&upto={upto}");
            (source.to_owned(), url)
        })
        .collect();
    let mut view = (*manifest).clone();
    merge_task_events(&state.contest, &mut view).await?;
    let participant_name = view.participant_name.take().unwrap_or_default();
    Ok(Json(ManifestView {
        manifest: view,
        participant_name,
        media,
        download: format!("/api/v1/recordings/{id}/download?ticket={ticket}"),
    }))
}

/// Adds the participant's task events in the recording's room and time span (openings,
/// answers, uploads and time-ups, kept in the contest database) to the manifest's events,
/// in time order. The stored manifest is not changed, so its hashes stay valid.
async fn merge_task_events(
    contest: &profstage_contest::Database,
    manifest: &mut Manifest,
) -> Result<(), ApiError> {
    let room = manifest.room.parse::<profstage_contest::RoomId>();
    let person = manifest.participant.parse::<profstage_contest::PersonId>();
    let (Ok(room), Ok(person)) = (room, person) else {
        // Rooms outside the contest database, such as development rooms, have no tasks.
        return Ok(());
    };
    let now = u64::try_from(crate::contest_api::server_now()).unwrap_or(0);
    let ended = manifest.ended_unix_ms.unwrap_or(now);
    let events = contest.task_events(&room, &person, now as i64).await;
    let events = events.map_err(|error| {
        tracing::error!(%error, recording = %manifest.recording, "reading task events failed");
        internal("failed to read the task events of the recording")
    })?;
    let within = |at: u64| (manifest.started_unix_ms..=ended).contains(&at);
    let added = events
        .into_iter()
        .filter_map(|event| Some((u64::try_from(event.at).ok()?, event)))
        .filter(|(at, _)| within(*at))
        .map(|(at, event)| recorder::manifest::Event {
            at_unix_ms: at,
            kind: event.kind.to_owned(),
            source: None,
            detail: Some(event.detail),
        });
    manifest.events.extend(added.collect::<Vec<_>>());
    manifest.events.sort_by_key(|event| event.at_unix_ms);
    Ok(())
}

/// Playable files and the sources muxed into each: the camera with the microphone, the
/// screen with the screen's sound, the second camera alone, and the talk video with the
/// talk audio. The talk is a file of its own because a player plays only one audio track
/// of a file.
const PLAYABLE: &[(&str, &[&str])] = &[
    ("camera", &["camera", "microphone"]),
    ("screen", &["screen", "screen-audio"]),
    ("camera2", &["camera2"]),
    ("talk", &["talk-video", "talk"]),
];

fn playable_sources(manifest: &Manifest) -> Vec<&'static str> {
    PLAYABLE
        .iter()
        .filter(|(_, parts)| {
            manifest
                .segments
                .iter()
                .any(|s| parts.contains(&s.source.as_str()))
        })
        .map(|(name, _)| *name)
        .collect()
}

/// Verifies the ticket in the query string when there is one, else the bearer token.
fn media_reviewer(
    state: &AppState,
    rec: &Recordings,
    headers: &HeaderMap,
    ticket: Option<&str>,
    recording: &str,
) -> Result<Claims, ApiError> {
    if let Some(ticket) = ticket {
        return rec.tickets.check(ticket, recording).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "The media link is invalid or has expired. Open the recording again.",
            )
        });
    }
    reviewer(state, headers)
}

async fn media(
    State(state): State<Arc<AppState>>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    ApiQuery(query): ApiQuery<MediaQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let rec = recordings(&state)?;
    let claims = media_reviewer(&state, rec, request.headers(), query.ticket.as_deref(), &id)?;
    let manifest = accessible(rec, &claims, &id).await?;
    let source = file.strip_suffix(".webm").unwrap_or(&file);
    let parts = PLAYABLE
        .iter()
        .find(|(name, _)| *name == source)
        .map(|(_, parts)| *parts)
        .ok_or_else(not_found)?;
    // A player requests many ranges, so one entry covers a person's requests for the same
    // media within the audit window, whatever range they ask for.
    let access = media_access(&claims, &manifest.recording, source);
    if !rec.tickets.recently_audited(&access) {
        audit_entry(
            rec,
            &claims,
            "recording.media",
            Some(&manifest),
            Some(source.to_owned()),
        )?;
        rec.tickets.note_audited(access);
    }
    let path = exported(rec, &manifest, source, parts, query.upto).await?;
    serve_file(&path, request, None, &manifest.recording).await
}

async fn download(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    ApiQuery(query): ApiQuery<TicketQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let rec = recordings(&state)?;
    let claims = media_reviewer(&state, rec, request.headers(), query.ticket.as_deref(), &id)?;
    let manifest = accessible(rec, &claims, &id).await?;
    let (source, parts) = PLAYABLE
        .iter()
        .find(|(name, _)| playable_sources(&manifest).contains(name))
        .copied()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_media",
                "This recording has no media to download.",
            )
        })?;
    audit_entry(
        rec,
        &claims,
        "recording.download",
        Some(&manifest),
        Some(source.to_owned()),
    )?;
    let path = exported(rec, &manifest, source, parts, None).await?;
    let name = format!("recording-{}-{source}.webm", manifest.recording);
    serve_file(&path, request, Some(&name), &manifest.recording).await
}

async fn serve_file(
    path: &Path,
    request: Request,
    attachment: Option<&str>,
    recording: &str,
) -> Result<Response, ApiError> {
    let mime = "video/webm"
        .parse()
        .expect("video/webm is a valid MIME type");
    let mut response = ServeFile::new_with_mime(path, &mime)
        .oneshot(request)
        .await
        .map_err(|error| {
            logged_internal(recording, "The recording file could not be read.", error)
        })?
        .into_response();
    if let Some(name) = attachment {
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

fn internal(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

/// Logs `error` with the recording id and returns an internal error that carries only
/// `message`.
fn logged_internal(
    recording: &str,
    message: &'static str,
    error: impl std::fmt::Display,
) -> ApiError {
    tracing::error!(recording, %error, "{message}");
    internal(message)
}

/// Serialises exports, so that two players opening one recording do not build it twice.
static EXPORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Exports not read for this long are removed when another export of the same source is
/// built. A player that comes back to one later gets it built again, with the same content.
const EXPORT_KEPT_UNREAD: Duration = Duration::from_secs(60 * 60);

/// Segments of `parts` up to the index `upto` (all without it), and the file name of their
/// export: `source`, then the start of the hash chain link of the last of them. That link
/// covers every segment before it, so the name changes only when `source` gains a segment,
/// not when other sources do.
fn export_plan<'m>(
    manifest: &'m Manifest,
    source: &str,
    parts: &[&str],
    upto: Option<u32>,
) -> Option<(Vec<&'m recorder::manifest::SegmentEntry>, String)> {
    let included: Vec<_> = manifest
        .segments
        .iter()
        .filter(|s| parts.contains(&s.source.as_str()) && upto.is_none_or(|upto| s.index <= upto))
        .collect();
    let last = included.iter().max_by_key(|s| s.index)?;
    let link: String = last.chain.chars().take(16).collect();
    Some((included, format!("{source}-{link}.webm")))
}

/// Returns the exported file of `source` with the segments up to `upto`, building it from
/// them when it is missing. A built file never changes, so range requests of one player
/// read consistent bytes.
async fn exported(
    rec: &Recordings,
    manifest: &Manifest,
    source: &str,
    parts: &[&str],
    upto: Option<u32>,
) -> Result<PathBuf, ApiError> {
    let (included, name) = export_plan(manifest, source, parts, upto).ok_or_else(not_found)?;
    let folder = rec.exports.join(&manifest.recording);
    let path = folder.join(&name);
    let _guard = EXPORTS.lock().await;
    if path.is_file() {
        mark_read(&path);
        return Ok(path);
    }

    let recording = manifest.recording.as_str();
    let work = tempfile::Builder::new()
        .prefix("export-")
        .tempdir_in(ensure_dir(&rec.exports, recording)?)
        .map_err(|error| logged_internal(recording, EXPORT_UNWRITABLE, error))?;
    let mut tracks = Vec::new();
    for part in parts {
        let mut segments = Vec::new();
        let mut entries: Vec<_> = included
            .iter()
            .filter(|s| s.source == *part)
            .copied()
            .collect();
        entries.sort_by_key(|s| s.started_unix_ms);
        for segment in entries {
            let local = segment_file(rec, manifest, segment, work.path()).await?;
            segments.push(ExportSegment {
                path: local,
                offset_ms: segment.media_start_ms,
            });
        }
        if !segments.is_empty() {
            tracks.push(ExportTrack {
                source: (*part).to_owned(),
                segments,
            });
        }
    }
    if tracks.is_empty() {
        return Err(not_found());
    }

    let output = work.path().join("export.webm");
    let out = output.clone();
    let result = tokio::task::spawn_blocking(move || recorder::export::export(&tracks, &out))
        .await
        .map_err(|error| logged_internal(recording, EXPORT_FAILED, error))?;
    if let Err(error) = result {
        return Err(logged_internal(recording, EXPORT_FAILED, error));
    }
    ensure_dir(&folder, recording)?;
    std::fs::rename(&output, &path)
        .map_err(|error| logged_internal(recording, EXPORT_UNWRITABLE, error))?;
    remove_unread_exports(&folder, source, &path);
    Ok(path)
}

/// Sets the file's modification time to now: it is the time it was last read.
fn mark_read(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// Removes the exports of `source` in `folder`, other than `keep`, that were not read for
/// [`EXPORT_KEPT_UNREAD`]. A response still sending one keeps its open file.
fn remove_unread_exports(folder: &Path, source: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let prefix = format!("{source}-");
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path == keep || !name.starts_with(&prefix) || !name.ends_with(".webm") {
            continue;
        }
        let unread = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age >= EXPORT_KEPT_UNREAD);
        if unread {
            let _ = std::fs::remove_file(&path);
        }
    }
}

const EXPORT_FAILED: &str = "Preparing the recording for playback failed.";
const EXPORT_UNWRITABLE: &str = "The export folder cannot be written.";

fn ensure_dir<'a>(path: &'a Path, recording: &str) -> Result<&'a Path, ApiError> {
    std::fs::create_dir_all(path)
        .map_err(|error| logged_internal(recording, EXPORT_UNWRITABLE, error))?;
    Ok(path)
}

/// Returns a path in `work` to a segment's file: a hard link to (or else a copy of) its
/// spool file while it is not uploaded, otherwise a copy fetched from storage. The uploader
/// removes a spool file once it is stored, and that may happen during the export. The link
/// keeps the file until the export is done.
async fn segment_file(
    rec: &Recordings,
    manifest: &Manifest,
    segment: &recorder::manifest::SegmentEntry,
    work: &Path,
) -> Result<PathBuf, ApiError> {
    let spooled = rec
        .spool
        .join(&manifest.recording)
        .join(&segment.source)
        .join(format!("{:06}.webm", segment.index));
    let path = work.join(format!("{}-{:06}.webm", segment.source, segment.index));
    if std::fs::hard_link(&spooled, &path).is_ok() || std::fs::copy(&spooled, &path).is_ok() {
        return Ok(path);
    }
    let bytes = fetch(rec, &manifest.recording, &segment.key).await?;
    std::fs::write(&path, &bytes)
        .map_err(|error| logged_internal(&manifest.recording, EXPORT_UNWRITABLE, error))?;
    Ok(path)
}

async fn fetch(rec: &Recordings, recording: &str, key: &str) -> Result<bytes::Bytes, ApiError> {
    let key = ObjectKey::new(key.to_owned())
        .map_err(|error| logged_internal(recording, "A segment key is invalid.", error))?;
    rec.storage.get(&key).await.map_err(|error| {
        tracing::warn!(recording, %error, "reading a segment from storage failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "Recording storage is unavailable. Try again shortly.",
        )
    })
}

async fn verify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<VerifyReport>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    let manifest = accessible(rec, &claims, &id).await?;
    audit_entry(rec, &claims, "recording.verify", Some(&manifest), None)?;
    let mut bytes = HashMap::new();
    let mut problems = Vec::new();
    for segment in &manifest.segments {
        let spooled = rec
            .spool
            .join(&manifest.recording)
            .join(&segment.source)
            .join(format!("{:06}.webm", segment.index));
        let body = match std::fs::read(&spooled) {
            Ok(body) => Ok(body),
            Err(_) => fetch(rec, &manifest.recording, &segment.key)
                .await
                .map(|b| b.to_vec()),
        };
        match body {
            Ok(body) => {
                bytes.insert(segment.key.clone(), body);
            }
            Err(_) => problems.push(format!("segment {} could not be read", segment.index)),
        }
    }
    let mut report = recorder::manifest::verify(&manifest, |key| {
        bytes.remove(key).ok_or_else(|| "not readable".to_owned())
    });
    if !problems.is_empty() {
        report.ok = false;
        report.problems.extend(problems);
    }
    Ok(Json(report))
}

#[derive(Deserialize)]
struct DeleteRequest {
    reason: String,
}

#[derive(Serialize)]
struct Deleted {
    deleted_segments: usize,
}

async fn delete_recording(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    body: Result<Json<DeleteRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Deleted>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    if claims.role != Role::Organiser {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only organisers delete recordings.",
        ));
    }
    let Json(request) = body.map_err(ApiError::from)?;

    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_reason",
            "A reason of 1 to 500 characters is required.",
        ));
    }
    let manifest = accessible(rec, &claims, &id).await?;
    if manifest.ended_unix_ms.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "recording_in_progress",
            "The recording is still running. Delete it after it ends.",
        ));
    }

    let detail = format!("reason: {reason}; {}", deleted_hashes(&manifest));
    audit_entry(
        rec,
        &claims,
        "recording.delete",
        Some(&manifest),
        Some(detail),
    )?;
    let deleted = delete_objects(rec, &manifest).await?;
    Ok(Json(Deleted {
        deleted_segments: deleted,
    }))
}

/// Formats the chain head and segment hashes of a recording for the audit log.
pub fn deleted_hashes(manifest: &Manifest) -> String {
    let hashes: Vec<String> = manifest
        .segments
        .iter()
        .map(|s| format!("{}:{}", s.index, s.sha256))
        .collect();
    format!(
        "chain_head {}; segments {}",
        manifest.chain_head,
        hashes.join(",")
    )
}

/// Deletes every object of a recording from storage (its segments, any raw journals of
/// segments that failed to mux, and its manifest, last), then its exports and its index
/// entry. Returns how many segments of the manifest were deleted.
pub async fn delete_objects(rec: &Recordings, manifest: &Manifest) -> Result<usize, ApiError> {
    let recording = manifest.recording.as_str();
    let unavailable = |error: storage::StorageError| {
        tracing::warn!(recording, %error, "deleting a recording from storage failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "Recording storage is unavailable, so the deletion stopped part way. Try again.",
        )
    };
    let folder = format!(
        "{}/{}/{}/{}/",
        crate::recording::KEY_ROOT,
        manifest.room,
        manifest.participant,
        manifest.recording
    );
    let prefix = KeyPrefix::new(folder.clone())
        .map_err(|error| logged_internal(recording, "A recording key is invalid.", error))?;
    let manifest_key = format!("{folder}manifest.json");

    let mut keys: Vec<String> = rec
        .storage
        .list(&prefix)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|object| object.key.as_str().to_owned())
        .filter(|key| *key != manifest_key)
        .collect();
    // Segments listed in the manifest but missing from the listing are deleted too, so
    // that a listing that lags behind the last uploads leaves nothing.
    for segment in &manifest.segments {
        if !keys.contains(&segment.key) {
            keys.push(segment.key.clone());
        }
    }
    keys.push(manifest_key);

    for key in &keys {
        let key = ObjectKey::new(key.clone())
            .map_err(|error| logged_internal(recording, "A segment key is invalid.", error))?;
        rec.storage.delete(&key).await.map_err(unavailable)?;
    }
    let _ = std::fs::remove_dir_all(rec.exports.join(&manifest.recording));
    rec.index.remove(&manifest.recording);
    Ok(manifest.segments.len())
}

#[derive(Serialize)]
struct AuditList {
    entries: Vec<AuditEntry>,
}

async fn audit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RoomQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let rec = recordings(&state)?;
    let claims = reviewer(&state, &headers)?;
    if claims.role != Role::Organiser || claims.room != query.room {
        return Err(forbidden());
    }
    audit_entry(rec, &claims, "audit.read", None, None)?;
    let entries = rec
        .audit
        .read_all()
        .into_iter()
        .filter(|e| e.room == query.room)
        .collect();
    Ok(Json(AuditList { entries }))
}

/// Serves the recorder's counters and the connection quality gauges in the Prometheus text
/// exposition format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state
        .recordings
        .as_ref()
        .map(recorder_metrics)
        .unwrap_or_default();
    body.push_str(&state.media.quality().render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

fn recorder_metrics(rec: &Recordings) -> String {
    use crate::recording::index::Stats;
    let stats = &rec.index.stats;
    let rows: [(&str, &str, &str, u64); 9] = [
        (
            "profstage_recordings_active",
            "gauge",
            "Recordings open now.",
            Stats::get(&stats.active_recordings),
        ),
        (
            "profstage_recording_upload_backlog_segments",
            "gauge",
            "Segments waiting for storage.",
            Stats::get(&stats.backlog_segments),
        ),
        (
            "profstage_recording_upload_backlog_bytes",
            "gauge",
            "Bytes of segments waiting for storage.",
            Stats::get(&stats.backlog_bytes),
        ),
        (
            "profstage_recording_spool_bytes",
            "gauge",
            "Bytes in the spool folder.",
            Stats::get(&stats.spool_bytes),
        ),
        (
            "profstage_recording_segments_muxed_total",
            "counter",
            "Segments muxed.",
            Stats::get(&stats.muxed_segments),
        ),
        (
            "profstage_recording_segments_remuxed_total",
            "counter",
            "Segments muxed again because the first file was malformed.",
            Stats::get(&stats.remuxed_segments),
        ),
        (
            "profstage_recording_segments_uploaded_total",
            "counter",
            "Segments uploaded to storage.",
            Stats::get(&stats.uploaded_segments),
        ),
        (
            "profstage_recording_upload_failures_total",
            "counter",
            "Failed upload attempts.",
            Stats::get(&stats.upload_failures),
        ),
        (
            "profstage_recording_packets_dropped_total",
            "counter",
            "Packets dropped because the recorder was behind.",
            Stats::get(&stats.dropped_packets),
        ),
    ];
    let mut body = String::new();
    for (name, kind, help, value) in rows {
        body.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    body
}
