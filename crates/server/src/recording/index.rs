//! Recording state shared with the HTTP layer: the manifests of finished and running
//! recordings, the recordings in progress and the upload backlog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use recorder::manifest::Manifest;
use serde::Serialize;
use tokio::sync::Notify;

/// Counters shared by the recorder, the uploader and the metrics endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    /// Packets dropped because the recorder was too far behind.
    pub dropped_packets: AtomicU64,
    /// Segments waiting for storage.
    pub backlog_segments: AtomicU64,
    /// Bytes of segments waiting for storage.
    pub backlog_bytes: AtomicU64,
    /// Bytes in the spool folder: open journals and segments not uploaded yet.
    pub spool_bytes: AtomicU64,
    /// Segments uploaded to storage since start.
    pub uploaded_segments: AtomicU64,
    /// Upload attempts that failed since start.
    pub upload_failures: AtomicU64,
    /// Segments muxed since start.
    pub muxed_segments: AtomicU64,
    /// Segments whose muxed file was malformed and that a new pipeline muxed again.
    pub remuxed_segments: AtomicU64,
    /// Recordings open now.
    pub active_recordings: AtomicU64,
}

impl Stats {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// One source of a recording in progress.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LiveSource {
    /// Source name: camera, microphone or screen.
    pub source: String,
    /// State name: starting, recording, gap, failed or ended.
    pub state: String,
    /// Reason for the failure, present only in the failed state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Segments closed so far.
    pub segments: u32,
    /// Bytes written so far.
    pub bytes: u64,
}

/// A recording in progress.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LiveRecording {
    /// Recording identifier.
    pub recording: String,
    /// Room.
    #[serde(skip)]
    pub room: String,
    /// The participant's identity.
    pub participant: String,
    /// The participant's display name.
    pub participant_name: String,
    /// Start on the server clock.
    pub started_unix_ms: u64,
    /// Each source and its state.
    pub sources: Vec<LiveSource>,
    /// Segments of this recording waiting for storage.
    pub pending_upload: u32,
}

/// Manifests by recording, and the recordings in progress.
#[derive(Debug, Default)]
pub struct RecordingIndex {
    manifests: RwLock<HashMap<String, Arc<Manifest>>>,
    live: RwLock<Vec<LiveRecording>>,
    /// Shared counters.
    pub stats: Arc<Stats>,
    /// Whether the manifests of earlier runs are still being read from storage.
    loading: AtomicBool,
    loaded: Notify,
}

impl RecordingIndex {
    /// Marks the index as incomplete until [`RecordingIndex::finish_loading`].
    pub fn start_loading(&self) {
        self.loading.store(true, Ordering::Release);
    }

    /// Marks the index as complete and wakes every request waiting for it.
    pub fn finish_loading(&self) {
        self.loading.store(false, Ordering::Release);
        self.loaded.notify_waiters();
    }

    /// Waits until the index is complete, for at most `limit`; returns whether it is.
    pub async fn wait_loaded(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.loaded.notified();
            tokio::pin!(notified);
            // Registers the waiter before the check, so that a finish in between wakes it.
            notified.as_mut().enable();
            if !self.loading.load(Ordering::Acquire) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return !self.loading.load(Ordering::Acquire);
            }
        }
    }

    /// Stores the newest manifest of a recording.
    pub fn put(&self, manifest: Manifest) {
        let id = manifest.recording.clone();
        if let Ok(mut manifests) = self.manifests.write() {
            manifests.insert(id, Arc::new(manifest));
        }
    }

    /// Removes a deleted recording's manifest.
    pub fn remove(&self, recording: &str) {
        if let Ok(mut manifests) = self.manifests.write() {
            manifests.remove(recording);
        }
    }

    /// Returns the newest manifest of a recording.
    pub fn get(&self, recording: &str) -> Option<Arc<Manifest>> {
        self.manifests.read().ok()?.get(recording).cloned()
    }

    /// Returns every manifest of a room, newest first.
    pub fn in_room(&self, room: &str) -> Vec<Arc<Manifest>> {
        let Ok(manifests) = self.manifests.read() else {
            return Vec::new();
        };
        let mut found: Vec<_> = manifests
            .values()
            .filter(|m| m.room == room)
            .cloned()
            .collect();
        found.sort_by_key(|m| std::cmp::Reverse(m.started_unix_ms));
        found
    }

    /// Returns every manifest, in no particular order.
    pub fn all(&self) -> Vec<Arc<Manifest>> {
        self.manifests
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Replaces the list of recordings in progress.
    pub fn set_live(&self, live: Vec<LiveRecording>) {
        if let Ok(mut current) = self.live.write() {
            *current = live;
        }
    }

    /// Returns the recordings in progress in a room.
    pub fn live_in_room(&self, room: &str) -> Vec<LiveRecording> {
        self.live
            .read()
            .map(|live| live.iter().filter(|r| r.room == room).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_index_is_complete() {
        let index = RecordingIndex::default();
        assert!(index.wait_loaded(Duration::ZERO).await);
    }

    #[tokio::test]
    async fn loading_index_waits_for_finish() {
        let index = Arc::new(RecordingIndex::default());
        index.start_loading();
        assert!(!index.wait_loaded(Duration::from_millis(20)).await);

        let loader = Arc::clone(&index);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            loader.finish_loading();
        });
        assert!(index.wait_loaded(Duration::from_secs(5)).await);
    }
}
