//! Deleting recordings whose retention period has ended.
//!
//! A room from the configuration keeps its recordings for its `retention_days` after they
//! end, a contest room for its contest's `recording_retention_days`, and any other room, or
//! one whose setting is absent, for the server-wide `recording.retention_days`. Once an hour a background job deletes the expired ones from
//! storage and writes to the audit log what it deleted, when, and the hashes of the deleted
//! segments.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use recorder::manifest::Manifest;

use crate::audit::AuditEntry;
use crate::recording_api::{delete_objects, deleted_hashes};
use crate::state::AppState;

/// How often the job looks for expired recordings.
const PERIOD: Duration = Duration::from_secs(60 * 60);

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Returns whether a recording has ended and is past its retention period at `now_ms`.
pub fn expired(manifest: &Manifest, retention_days: u64, now_ms: u64) -> bool {
    manifest
        .ended_unix_ms
        .is_some_and(|ended| now_ms >= ended.saturating_add(retention_days.saturating_mul(DAY_MS)))
}

/// Runs the job forever, once per [`PERIOD`], starting at once.
pub async fn run(state: Arc<AppState>) {
    let mut ticker = tokio::time::interval(PERIOD);
    loop {
        ticker.tick().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let deleted = run_once(&state, now).await;
        if deleted > 0 {
            tracing::info!(
                recordings = deleted,
                "deleted recordings past their retention period"
            );
        }
    }
}

/// Deletes every recording expired at `now_ms` and returns how many were deleted.
pub async fn run_once(state: &AppState, now_ms: u64) -> usize {
    let Some(rec) = state.recordings.as_ref() else {
        return 0;
    };
    let mut deleted = 0;
    for manifest in rec.index.all() {
        let Some(days) = retention_days(state, &manifest.room).await else {
            continue;
        };
        if !expired(&manifest, days, now_ms) {
            continue;
        }
        let entry = AuditEntry {
            at_unix_ms: 0,
            actor: "retention".into(),
            role: "system".into(),
            session: "retention".into(),
            action: "recording.expire".into(),
            recording: Some(manifest.recording.clone()),
            room: manifest.room.clone(),
            participant: Some(manifest.participant.clone()),
            detail: Some(format!(
                "retention {days} days; {}",
                deleted_hashes(&manifest)
            )),
        };
        if let Err(error) = rec.audit.record(entry) {
            tracing::error!(
                recording = %manifest.recording,
                %error,
                "audit log unavailable, so retention deletes nothing until the next run"
            );
            return deleted;
        }
        match delete_objects(rec, &manifest).await {
            Ok(_) => deleted += 1,
            Err(error) => {
                tracing::warn!(
                    recording = %manifest.recording,
                    ?error,
                    "deleting an expired recording failed, the next run retries"
                );
            }
        }
    }
    deleted
}

/// Returns how many days the recordings of `room` are kept, or None when the contest database
/// cannot tell, so that nothing is deleted on a guess.
async fn retention_days(state: &AppState, room: &str) -> Option<u64> {
    if let Some(days) = state.config.room(room).and_then(|room| room.retention_days) {
        return Some(days);
    }
    let default = state.config.recording.retention_days;
    let Ok(contest_room) = room.parse::<profstage_contest::RoomId>() else {
        return Some(default);
    };
    match state.contest.recording_retention_days(&contest_room).await {
        Ok(days) => Some(days.map_or(default, |days| u64::try_from(days).unwrap_or(default))),
        Err(error) => {
            tracing::error!(
                %room,
                %error,
                "reading a contest's recording retention failed, the next run retries"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_after_retention_days() {
        let mut manifest = Manifest::new("r", "demo", "p", 1_000, 4_000);
        assert!(
            !expired(&manifest, 1, u64::MAX),
            "a running recording never expires"
        );
        manifest.ended_unix_ms = Some(10 * DAY_MS);
        assert!(!expired(&manifest, 3, 13 * DAY_MS - 1));
        assert!(expired(&manifest, 3, 13 * DAY_MS));
    }
}
