//! The audit log: one JSON line per access to a recording or a personal record, appended
//! and never rewritten.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::token::Claims;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Time of the action, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Identity from the token.
    pub actor: String,
    /// Role from the token.
    pub role: String,
    /// Session identifier from the token, made of its issue time and identity.
    pub session: String,
    /// Action name: recording.list, recording.view, recording.media, recording.download,
    /// recording.verify, recording.delete, recording.expire, briefing.attendance, briefing.events,
    /// phone_link.issue or phone_link.redeem.
    pub action: String,
    /// The recording concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// The room concerned.
    pub room: String,
    /// The participant whose data it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Further detail, such as a reason or the hashes of deleted segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AuditEntry {
    /// Starts an entry for `action` by the holder of `claims`, timed when it is recorded.
    pub fn by(claims: &Claims, action: &str) -> Self {
        Self {
            at_unix_ms: 0,
            actor: claims.sub.clone(),
            role: claims.role.as_str().to_owned(),
            session: format!("{}@{}", claims.sub, claims.iat),
            action: action.to_owned(),
            recording: None,
            room: claims.room.clone(),
            participant: None,
            detail: None,
        }
    }
}

/// Error writing the audit log. Callers reject an action whose audit entry cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to write the audit log {path}: {source}")]
pub struct AuditError {
    path: PathBuf,
    source: std::io::Error,
}

/// The append-only audit file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl AuditLog {
    /// Creates a log that appends to `path`, creating the file and its folders on first write.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    /// Returns the path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk before returning.
    pub fn record(&self, mut entry: AuditEntry) -> Result<(), AuditError> {
        if entry.at_unix_ms == 0 {
            entry.at_unix_ms = now_ms();
        }
        let error = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(&entry).map_err(|e| error(e.into()))?;
        line.push(b'\n');
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(parent) = self.path.parent() {
            fs::create_dir_all(parent).map_err(error)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(error)?;
        file.write_all(&line).map_err(error)?;
        file.sync_data().map_err(error)
    }

    /// Reads every entry, oldest first. Lines that do not parse are skipped, and a missing or
    /// unreadable file reads as empty.
    pub fn read_all(&self) -> Vec<AuditEntry> {
        let Ok(text) = fs::read_to_string(&self.path) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Returns the server's time in milliseconds since the Unix epoch, or 0 before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at_unix_ms: 0,
            actor: "expert-1".into(),
            role: "expert".into(),
            session: "s".into(),
            action: action.into(),
            recording: Some("r".into()),
            room: "demo".into(),
            participant: Some("p".into()),
            detail: None,
        }
    }

    #[test]
    fn record_appends_in_order_with_time() {
        let folder = tempfile::tempdir().unwrap();
        let log = AuditLog::new(folder.path().join("nested/audit.jsonl"));
        log.record(entry("recording.view")).unwrap();
        log.record(entry("recording.download")).unwrap();
        let entries = log.read_all();
        let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["recording.view", "recording.download"]);
        for entry in &entries {
            assert!(
                entry.at_unix_ms > 1_600_000_000_000,
                "time not set: {entry:?}"
            );
        }
    }
}
