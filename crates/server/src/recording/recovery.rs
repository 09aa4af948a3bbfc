//! Completing recordings that a crash left in the spool.
//!
//! After `kill -9` or a power cut, the spool contains each open recording's manifest, the
//! journals of the segments that were open and the segments not uploaded yet. At start,
//! before any new recording, each journal is muxed, the segment is synced to the disk, and it
//! is listed in its manifest, ignoring a torn last record. The recording is marked interrupted, and everything not in storage yet
//! is queued for upload.

use std::fs;
use std::path::{Path, PathBuf};

use recorder::journal::read_journal;
use recorder::manifest::{Event, Manifest, RecordingStatus, SegmentEntry};
use recorder::mux::Muxer;

use super::index::RecordingIndex;
use super::upload::{UploadHandle, UploadJob};
use super::worker::{last_media_ms, mux_synced, Placed, JOURNAL_EXT, MANIFEST_FILE, SEGMENT_EXT};

/// Counts of what recovery found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Recordings found in the spool.
    pub recordings: usize,
    /// Journals muxed into segments.
    pub muxed: usize,
    /// Journals that could not be muxed, queued for upload as raw RTP packets.
    pub failed: usize,
    /// Segments and raw journals queued for upload.
    pub queued: usize,
}

/// Recovers every recording in `spool` and queues its uploads.
pub fn recover(
    spool: &Path,
    key_root: &str,
    index: &RecordingIndex,
    uploads: &UploadHandle,
) -> Recovered {
    let mut found = Recovered::default();
    let Ok(entries) = fs::read_dir(spool) else {
        return found;
    };
    let mut muxer = Muxer::new();
    for entry in entries.flatten() {
        let folder = entry.path();
        if !folder.join(MANIFEST_FILE).is_file() {
            continue;
        }
        found.recordings += 1;
        recover_one(&mut muxer, &folder, key_root, index, uploads, &mut found);
    }
    if found.recordings > 0 {
        tracing::info!(
            recordings = found.recordings,
            muxed = found.muxed,
            failed = found.failed,
            queued = found.queued,
            "recovered recordings left in the spool"
        );
    }
    found
}

fn recover_one(
    muxer: &mut Muxer,
    folder: &Path,
    key_root: &str,
    index: &RecordingIndex,
    uploads: &UploadHandle,
    found: &mut Recovered,
) {
    let manifest_path = folder.join(MANIFEST_FILE);
    let mut manifest = match Manifest::read(&manifest_path) {
        Ok(manifest) => manifest,
        Err(error) => {
            tracing::error!(
                folder = %folder.display(),
                %error,
                "unreadable manifest in the spool, the folder is left as it is"
            );
            return;
        }
    };
    let prefix = format!(
        "{key_root}/{}/{}/{}",
        manifest.room, manifest.participant, manifest.recording
    );
    let mut journals = files_with_extension(folder, JOURNAL_EXT);
    journals.sort();
    // Journals muxed here are removed only after the manifest listing them is written, so
    // that a crash during recovery loses nothing.
    let mut muxed_journals = Vec::new();
    for journal in journals {
        if journal_listed(&journal, &manifest) {
            // The segment was muxed and listed before the crash, so only the removal is left.
            let _ = fs::remove_file(&journal);
            continue;
        }
        match mux_left_journal(muxer, &journal, &prefix, &manifest) {
            Ok(entry) => {
                manifest.push_segment(entry);
                muxed_journals.push(journal);
                found.muxed += 1;
            }
            Err(error) => {
                found.failed += 1;
                tracing::error!(
                    recording = %manifest.recording,
                    journal = %journal.display(),
                    %error,
                    "muxing a journal left in the spool failed, uploading its raw packets"
                );
                let raw_key = raw_journal_key(&prefix, &journal);
                manifest.events.push(Event {
                    at_unix_ms: manifest.started_unix_ms,
                    kind: "segment_failed".into(),
                    source: None,
                    detail: Some(format!("{error}; the RTP packets are kept as {raw_key}")),
                });
                let size = fs::metadata(&journal).map(|m| m.len()).unwrap_or(0);
                let _ = fs::remove_file(journal.with_extension(SEGMENT_EXT));
                add_backlog(index, size);
                uploads.send(UploadJob::Segment {
                    recording: manifest.recording.clone(),
                    index: u32::MAX,
                    key: raw_key,
                    path: journal,
                    size,
                });
                found.queued += 1;
            }
        }
    }
    if manifest.status == RecordingStatus::Recording {
        let ended = last_media_ms(&manifest).unwrap_or(manifest.started_unix_ms);
        manifest.status = if manifest.segments.is_empty() {
            RecordingStatus::NoMedia
        } else {
            RecordingStatus::Interrupted
        };
        manifest.status_detail = Some("the server stopped without closing the recording".into());
        manifest.ended_unix_ms = Some(ended);
        manifest.events.push(Event {
            at_unix_ms: ended,
            kind: "interrupted".into(),
            source: None,
            detail: None,
        });
    }
    if let Err(error) = manifest.write_atomic(&manifest_path) {
        tracing::error!(
            recording = %manifest.recording,
            %error,
            "writing a recovered manifest failed, the next start retries"
        );
        return;
    }
    for journal in muxed_journals {
        let _ = fs::remove_file(journal);
    }

    for segment in &manifest.segments {
        let path = folder
            .join(&segment.source)
            .join(format!("{:06}.{SEGMENT_EXT}", segment.index));
        if path.is_file() {
            add_backlog(index, segment.size);
            uploads.send(UploadJob::Segment {
                recording: manifest.recording.clone(),
                index: segment.index,
                key: segment.key.clone(),
                path,
                size: segment.size,
            });
            found.queued += 1;
        }
    }
    uploads.send(UploadJob::Manifest {
        recording: manifest.recording.clone(),
        key: format!("{prefix}/manifest.json"),
        path: manifest_path,
        last: true,
    });
    index.put(manifest);
}

/// Counts a file queued for upload in the backlog and spool counters.
fn add_backlog(index: &RecordingIndex, size: u64) {
    let stats = &index.stats;
    stats
        .backlog_segments
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    stats
        .backlog_bytes
        .fetch_add(size, std::sync::atomic::Ordering::Relaxed);
    stats
        .spool_bytes
        .fetch_add(size, std::sync::atomic::Ordering::Relaxed);
}

fn mux_left_journal(
    muxer: &mut Muxer,
    journal: &Path,
    prefix: &str,
    manifest: &Manifest,
) -> Result<SegmentEntry, String> {
    let read = read_journal(journal).map_err(|e| e.to_string())?;
    let output = journal.with_extension(SEGMENT_EXT);
    // The segment is synced before the manifest lists it, as on the mux thread.
    let (media, size, sha256) = mux_synced(muxer, &read, &output)?;
    let clock_rate = u64::from(read.header.codec.clock_rate().max(1));

    // No sender report mapping survives a crash, so the segment starts at the smallest
    // arrival minus the media time elapsed before that packet.
    let start_us = read
        .packets()
        .filter(|p| p.rtp_time >= media.first_rtp_time)
        .map(|p| {
            p.arrival_unix_us
                .saturating_sub((p.rtp_time - media.first_rtp_time) * 1_000_000 / clock_rate)
        })
        .min()
        .unwrap_or(manifest.started_unix_ms * 1000);
    let placed = Placed {
        prefix,
        recording_start_ms: manifest.started_unix_ms,
        source: &read.header.source,
        index: read.header.segment_index,
        start_unix_us: start_us,
    };
    Ok(placed.entry(&media, size, sha256))
}

/// Returns whether the manifest already lists the segment of `journal`, named `<index>.rtpj`.
fn journal_listed(journal: &Path, manifest: &Manifest) -> bool {
    let index = journal
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<u32>().ok());
    let source = journal
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str());
    manifest
        .segments
        .iter()
        .any(|s| Some(s.index) == index && Some(s.source.as_str()) == source)
}

/// Returns the object key of a journal that could not be muxed, from its source folder and
/// file name.
fn raw_journal_key(prefix: &str, journal: &Path) -> String {
    let name = journal
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("journal");
    let source = journal
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("unknown");
    format!("{prefix}/{source}/{name}")
}

/// Lists the files with `extension` in the per-source folders one level below `folder`.
fn files_with_extension(folder: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(sources) = fs::read_dir(folder) else {
        return files;
    };
    for source in sources.flatten() {
        let Ok(entries) = fs::read_dir(source.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some(extension) {
                files.push(path);
            }
        }
    }
    files
}
