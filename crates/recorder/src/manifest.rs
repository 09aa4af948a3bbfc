//! Manifest of a recording: its segments with their SHA-256 hashes in a hash chain, its gaps
//! and its events, as one JSON document rewritten atomically on every change.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Operation, RecorderError};
use crate::journal::{sync_parent, Codec};

/// Version of the manifest format that this code writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// State of a recording.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordingStatus {
    /// Segments are still being added.
    Recording,
    /// The recording ended normally and every segment was closed.
    Complete,
    /// The recording ended without a normal stop, such as after a server restart.
    Interrupted,
    /// The recording ended before any segment was closed.
    NoMedia,
    /// The recording failed, with the cause in `status_detail`.
    Failed,
}

/// JSON document describing one recording of one participant.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    /// Format version, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// Recording id (UUID text).
    pub recording: String,
    /// Room the participant was in.
    pub room: String,
    /// Identity of the participant (the token subject), never a display name.
    pub participant: String,
    /// The participant's display name, for reviewers; not part of the hash chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_name: Option<String>,
    /// Server clock at the start of the recording, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Server clock at the end of the recording, once it ended.
    pub ended_unix_ms: Option<u64>,
    /// State of the recording.
    pub status: RecordingStatus,
    /// Cause of a failure or an interruption.
    pub status_detail: Option<String>,
    /// Length at which a segment closes on the next keyframe, in milliseconds.
    pub segment_target_ms: u64,
    /// Segments in the order they closed.
    pub segments: Vec<SegmentEntry>,
    /// Periods in which a source was not recorded.
    pub gaps: Vec<Gap>,
    /// Events such as a track starting or ending.
    pub events: Vec<Event>,
    /// Hex SHA-256 `chain` of the last segment, or the empty string before the first one.
    pub chain_head: String,
}

/// One muxed segment file of one source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SegmentEntry {
    /// Position in the recording, from 0, in closing order over all sources.
    pub index: u32,
    /// Track source: `camera`, `microphone` or `screen`.
    pub source: String,
    /// Object key of the file in storage.
    pub key: String,
    /// Server clock at the first frame, mapped through sender reports, in milliseconds since
    /// the Unix epoch.
    pub started_unix_ms: u64,
    /// Offset of the first frame from the recording start: `started_unix_ms` minus the
    /// manifest's `started_unix_ms`.
    pub media_start_ms: u64,
    /// Length of the segment in milliseconds.
    pub duration_ms: u64,
    /// Size of the file in bytes.
    pub size: u64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// Hex SHA-256 link of the hash chain, computed by [`chain_link`].
    pub chain: String,
    /// Codec of the track.
    pub codec: Codec,
    /// Picture width, for video.
    pub width: Option<u32>,
    /// Picture height, for video.
    pub height: Option<u32>,
    /// Packets that never arrived, not even as retransmissions.
    pub missing_packets: u64,
    /// Whether the file is in storage.
    pub uploaded: bool,
}

/// Period in which a source was not recorded.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Track source.
    pub source: String,
    /// Start of the gap, in milliseconds since the Unix epoch.
    pub from_unix_ms: u64,
    /// End of the gap, in milliseconds since the Unix epoch.
    pub to_unix_ms: u64,
    /// Cause. The server writes only [`Gap::NO_MEDIA`], and the review page shows an
    /// unknown value as it is.
    pub reason: String,
}

impl Gap {
    /// The [`Gap::reason`] of a span in which the source sent nothing for longer than the
    /// gap threshold: a camera turned off, a network outage or a reconnect.
    pub const NO_MEDIA: &'static str = "no media";
}

/// Something that happened during the recording.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Time of the event, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Kind, such as `track_started`.
    pub kind: String,
    /// Track source the event is about.
    pub source: Option<String>,
    /// Further facts.
    pub detail: Option<String>,
}

impl Manifest {
    /// Creates the manifest of a recording started at `started_unix_ms`, with the status
    /// `recording` and no segments.
    pub fn new(
        recording: impl Into<String>,
        room: impl Into<String>,
        participant: impl Into<String>,
        started_unix_ms: u64,
        segment_target_ms: u64,
    ) -> Self {
        Self {
            format: MANIFEST_FORMAT,
            recording: recording.into(),
            room: room.into(),
            participant: participant.into(),
            participant_name: None,
            started_unix_ms,
            ended_unix_ms: None,
            status: RecordingStatus::Recording,
            status_detail: None,
            segment_target_ms,
            segments: Vec::new(),
            gaps: Vec::new(),
            events: Vec::new(),
            chain_head: String::new(),
        }
    }

    /// Appends a segment, replacing its `chain` with the link from the current chain head,
    /// which then moves to the new link.
    pub fn push_segment(&mut self, mut entry: SegmentEntry) -> &SegmentEntry {
        entry.chain = chain_link(&self.chain_head, &entry);
        self.chain_head.clone_from(&entry.chain);
        self.segments.push(entry);
        &self.segments[self.segments.len() - 1]
    }

    /// Writes the manifest to `path` so that a crash or a concurrent reader finds either the old
    /// or the new document. The JSON goes to a temporary file in the same folder, which is
    /// synced and renamed over `path`, and then the folder is synced.
    pub fn write_atomic(&self, path: &Path) -> Result<(), RecorderError> {
        let op = Operation::WriteManifest;
        let json = serde_json::to_vec_pretty(self).map_err(|source| RecorderError::Json {
            operation: op,
            path: path.to_owned(),
            source,
        })?;
        let temporary = temporary_path(path);
        if let Err(e) = write_synced(&temporary, &json) {
            // A leftover temporary file is harmless, and the write error matters more.
            let _ = fs::remove_file(&temporary);
            return Err(RecorderError::io(op, &temporary, e));
        }
        if let Err(e) = fs::rename(&temporary, path) {
            let _ = fs::remove_file(&temporary);
            return Err(RecorderError::io(op, path, e));
        }
        sync_parent(path).map_err(|e| RecorderError::io(op, path, e))
    }

    /// Reads the manifest at `path`. Rejects a format other than [`MANIFEST_FORMAT`].
    pub fn read(path: &Path) -> Result<Self, RecorderError> {
        let op = Operation::ReadManifest;
        let bytes = fs::read(path).map_err(|e| RecorderError::io(op, path, e))?;
        let manifest: Self =
            serde_json::from_slice(&bytes).map_err(|source| RecorderError::Json {
                operation: op,
                path: path.to_owned(),
                source,
            })?;
        if manifest.format != MANIFEST_FORMAT {
            let reason = format!(
                "manifest format {} is not supported, expected {MANIFEST_FORMAT}",
                manifest.format
            );
            return Err(RecorderError::invalid(op, path, reason));
        }
        Ok(manifest)
    }
}

/// Returns a path next to `path` that no other write of this process uses, so that two
/// concurrent writes of one manifest cannot mix their bytes.
fn temporary_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let number = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(|| "manifest".into(), |name| name.to_string_lossy());
    let temporary = format!(".{name}.{}.{number}.tmp", std::process::id());
    path.with_file_name(temporary)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Computes the hash chain link of `entry` after the link `previous` (hex, empty for the first
/// segment): the hex SHA-256 of `previous`, `index`, `source`, `started_unix_ms` and `sha256`
/// joined by newlines, with the numbers in decimal.
pub fn chain_link(previous: &str, entry: &SegmentEntry) -> String {
    let text = format!(
        "{previous}\n{}\n{}\n{}\n{}",
        entry.index, entry.source, entry.started_unix_ms, entry.sha256
    );
    sha256_hex(text.as_bytes())
}

/// Returns the hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Returns the hex SHA-256 of the file at `path`, read in pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Outcome of [`verify`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Whether no problem was found.
    pub ok: bool,
    /// Segments whose files were fetched and hashed.
    pub segments_checked: usize,
    /// One sentence per problem found.
    pub problems: Vec<String>,
}

/// Checks a recording: fetches each segment's file with `fetch(key)`, compares its size and
/// SHA-256 with the entry, recomputes each chain link from the stored link before it, and
/// compares the last link with `chain_head`.
///
/// A removed, inserted or reordered segment breaks the link of the segment after it, or
/// `chain_head` when it was the last. An altered file changes its hash, and an entry whose
/// hash was changed to match breaks its link.
///
/// NOTE: a party that can rewrite the manifest can also recompute the whole chain, so the
/// chain proves integrity only against a `chain_head` kept elsewhere, such as in a report.
pub fn verify(
    manifest: &Manifest,
    mut fetch: impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> VerifyReport {
    let mut problems = Vec::new();
    if manifest.format != MANIFEST_FORMAT {
        problems.push(format!(
            "manifest format {} is not supported, expected {MANIFEST_FORMAT}",
            manifest.format
        ));
    }

    let mut segments_checked = 0;
    let mut previous = "";
    let mut seen = std::collections::HashSet::new();
    // Indexes are given when segments open and listed as they close, so sources interleave
    // out of index order; only a repeated index is wrong.
    for entry in &manifest.segments {
        if !seen.insert(entry.index) {
            problems.push(format!("segment {} is listed twice", entry.index));
        }
        if check_file(entry, &mut fetch, &mut problems) {
            segments_checked += 1;
        }
        if chain_link(previous, entry) != entry.chain {
            problems.push(format!(
                "segment {}: chain link does not match the segment before it",
                entry.index
            ));
        }
        previous = &entry.chain;
    }
    if manifest.chain_head != previous {
        problems.push("chain_head does not match the last segment's chain link".into());
    }

    VerifyReport {
        ok: problems.is_empty(),
        segments_checked,
        problems,
    }
}

/// Fetches and hashes one segment file, adding any problem. Returns whether the file was
/// fetched.
fn check_file(
    entry: &SegmentEntry,
    fetch: &mut impl FnMut(&str) -> Result<Vec<u8>, String>,
    problems: &mut Vec<String>,
) -> bool {
    let bytes = match fetch(&entry.key) {
        Ok(bytes) => bytes,
        Err(e) => {
            let state = if entry.uploaded {
                "uploaded"
            } else {
                "not uploaded yet"
            };
            problems.push(format!(
                "segment {} ({state}): fetching {} failed: {e}",
                entry.index, entry.key
            ));
            return false;
        }
    };
    if bytes.len() as u64 != entry.size {
        problems.push(format!(
            "segment {}: file has {} bytes, the manifest lists {}",
            entry.index,
            bytes.len(),
            entry.size
        ));
    }
    if sha256_hex(&bytes) != entry.sha256 {
        problems.push(format!(
            "segment {}: SHA-256 of {} does not match the manifest",
            entry.index, entry.key
        ));
    }
    true
}
