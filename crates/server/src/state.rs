//! State shared by every HTTP and WebSocket handler.

use std::path::PathBuf;
use std::sync::Arc;

use storage::Storage;

use crate::audit::AuditLog;
use crate::briefing::Briefings;
use crate::config::Config;
use crate::contest_api::sign_in_limit::SignInLimiter;
use crate::contest_api::submission_limit::SubmissionLimiter;
use crate::media_loop::MediaHandle;
use crate::notifier::CodeSender;
use crate::phone_camera::PhoneCamera;
use crate::recording::{RecordingIndex, RecordingRuntime};
use crate::recording_api::TicketKeys;
use crate::token::TokenKeys;

/// Everything a request handler may need, behind one `Arc`.
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Keys that sign and verify access tokens.
    pub tokens: TokenKeys,
    /// The channel into the media loop.
    pub media: MediaHandle,
    /// Recording review, when recording is on.
    pub recordings: Option<Recordings>,
    /// Briefing attendance; `None` only in tests of the HTTP layer alone.
    pub briefings: Option<Briefings>,
    /// The contest database.
    pub contest: profstage_contest::Database,
    /// Failed password sign-ins, per login and per client address.
    pub sign_in_limits: SignInLimiter,
    /// Public application submissions, per client address.
    pub submission_limits: SubmissionLimiter,
    /// The destination of one-time approval codes: e-mail or the outbox folder.
    pub codes: CodeSender,
    /// One-time links that let a phone publish a participant's second camera.
    pub phone_camera: PhoneCamera,
}

/// State of the recording routes.
pub struct Recordings {
    /// Manifests and live state.
    pub index: Arc<RecordingIndex>,
    /// Recording storage.
    pub storage: Arc<Storage>,
    /// Append-only record of every view, download and deletion.
    pub audit: AuditLog,
    /// Folder of files made for download.
    pub exports: PathBuf,
    /// Folder of segments waiting for upload.
    pub spool: PathBuf,
    /// Signs short-lived links to recorded media, for `<video src>`.
    pub tickets: TicketKeys,
}

impl Recordings {
    /// Builds the routes' state from the running recorder.
    pub fn new(runtime: &RecordingRuntime, config: &Config) -> Self {
        let data = &config.recording.data_dir;
        Self {
            index: Arc::clone(&runtime.index),
            storage: Arc::clone(&runtime.storage),
            audit: AuditLog::new(data.join("audit.jsonl")),
            exports: data.join("exports"),
            spool: config.recording.spool_dir.clone(),
            tickets: TicketKeys::generate(),
        }
    }
}
