//! The uploader: moves closed segments and manifests from the spool to storage, in order.
//! A local store on the spool's filesystem takes each segment by rename, without a copy.
//! It retries with backoff for as long as storage is unavailable, and removes nothing from
//! the spool before storage has confirmed it.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::Bytes;
use recorder::manifest::Manifest;
use storage::{ObjectKey, Storage};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::index::RecordingIndex;
use super::Input;

/// First wait after a failed upload. It doubles after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Maximum wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// One thing to upload.
#[derive(Debug, Clone)]
pub enum UploadJob {
    /// A closed segment in the spool, or the journal of a segment that could not be muxed.
    /// The file is removed once it is uploaded.
    Segment {
        /// Recording identifier.
        recording: String,
        /// Segment index.
        index: u32,
        /// Object key.
        key: String,
        /// The file in the spool.
        path: PathBuf,
        /// File size in bytes.
        size: u64,
    },
    /// The manifest of a recording, read from the spool when it is uploaded, with each
    /// segment that has left the spool marked as uploaded.
    Manifest {
        /// Recording identifier.
        recording: String,
        /// Object key.
        key: String,
        /// The manifest file in the spool.
        path: PathBuf,
        /// Whether the recording has ended, so that its spool folder is removed after upload.
        last: bool,
    },
}

impl UploadJob {
    fn recording(&self) -> &str {
        match self {
            UploadJob::Segment { recording, .. } | UploadJob::Manifest { recording, .. } => {
                recording
            }
        }
    }
}

/// Sends jobs to the uploader.
#[derive(Debug, Clone)]
pub struct UploadHandle {
    jobs: UnboundedSender<UploadJob>,
}

impl UploadHandle {
    /// Queues a job, which is lost if the uploader has stopped.
    pub fn send(&self, job: UploadJob) {
        let _ = self.jobs.send(job);
    }
}

/// Creates the uploader's channel. [`run`] consumes the receiving end.
pub fn channel() -> (UploadHandle, UnboundedReceiver<UploadJob>) {
    let (jobs, receiver) = unbounded_channel();
    (UploadHandle { jobs }, receiver)
}

/// Uploads jobs in the order they arrive until the channel closes and the queue is empty.
pub async fn run(
    storage: Arc<Storage>,
    index: Arc<RecordingIndex>,
    mut jobs: UnboundedReceiver<UploadJob>,
    recorder: Option<mpsc::Sender<Input>>,
) {
    let mut queue: VecDeque<UploadJob> = VecDeque::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        while let Ok(job) = jobs.try_recv() {
            enqueue(&mut queue, job);
        }
        let Some(job) = queue.front().cloned() else {
            match jobs.recv().await {
                Some(job) => enqueue(&mut queue, job),
                None => break,
            }
            continue;
        };
        match upload(&storage, &index, &job).await {
            Ok(()) => {
                queue.pop_front();
                backoff = FIRST_BACKOFF;
                done(&index, &job, &queue, recorder.as_ref());
            }
            Err(error) => {
                index.stats.upload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    recording = %job.recording(),
                    error = %error,
                    retry_in_ms = backoff.as_millis() as u64,
                    "upload failed, the file stays in the spool until a retry succeeds"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Queues a job, merging a manifest into a waiting manifest of the same recording.
///
/// A manifest is read from the spool when its turn comes, so a waiting one already carries
/// any later content. It is merged only when no job of its recording is queued after it,
/// because a manifest uploaded before its segments would list them as not uploaded. The head
/// of the queue may be uploading and is never merged into.
fn enqueue(queue: &mut VecDeque<UploadJob>, job: UploadJob) {
    if let UploadJob::Manifest {
        recording, last, ..
    } = &job
    {
        let latest = queue
            .iter_mut()
            .skip(1)
            .rev()
            .find(|queued| queued.recording() == recording);
        let waiting = match latest {
            Some(UploadJob::Manifest { last: l, .. }) => Some(l),
            _ => None,
        };
        if let Some(queued_last) = waiting {
            *queued_last |= *last;
            return;
        }
    }
    queue.push_back(job);
}

async fn upload(storage: &Storage, index: &RecordingIndex, job: &UploadJob) -> Result<(), String> {
    match job {
        UploadJob::Segment { key, path, .. } => {
            let key = ObjectKey::new(key.clone()).map_err(|e| e.to_string())?;
            storage
                .move_file(&key, path)
                .await
                .map_err(|e| e.to_string())
        }
        UploadJob::Manifest { key, path, .. } => {
            let mut manifest = Manifest::read(path).map_err(|e| e.to_string())?;
            mark_uploaded(&mut manifest, path);
            let body = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
            let key = ObjectKey::new(key.clone()).map_err(|e| e.to_string())?;
            storage
                .put(&key, Bytes::from(body))
                .await
                .map_err(|e| e.to_string())?;
            index.put(manifest);
            Ok(())
        }
    }
}

/// Marks each segment as uploaded when its file is no longer in the spool.
fn mark_uploaded(manifest: &mut Manifest, manifest_path: &std::path::Path) {
    let Some(folder) = manifest_path.parent() else {
        return;
    };
    for segment in &mut manifest.segments {
        let file = folder.join(&segment.source).join(format!(
            "{:06}.{}",
            segment.index,
            super::worker::SEGMENT_EXT
        ));
        segment.uploaded = !file.exists();
    }
}

fn done(
    index: &RecordingIndex,
    job: &UploadJob,
    queue: &VecDeque<UploadJob>,
    recorder: Option<&mpsc::Sender<Input>>,
) {
    let stats = &index.stats;
    match job {
        UploadJob::Segment {
            recording,
            index: segment,
            path,
            size,
            ..
        } => {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                // A local store on the spool's filesystem has taken the file already.
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                Err(error) => tracing::warn!(
                    recording = %recording,
                    segment = *segment,
                    %error,
                    "removing an uploaded segment from the spool failed"
                ),
            }
            stats.uploaded_segments.fetch_add(1, Ordering::Relaxed);
            saturating_sub(&stats.backlog_segments, 1);
            saturating_sub(&stats.backlog_bytes, *size);
            saturating_sub(&stats.spool_bytes, *size);
            if let Some(recorder) = recorder {
                let _ = recorder.send(Input::Uploaded {
                    recording: recording.clone(),
                    index: *segment,
                });
            }
        }
        UploadJob::Manifest {
            recording,
            path,
            last: true,
            ..
        } => {
            let more = queue.iter().any(|j| j.recording() == recording);
            if let (false, Some(folder)) = (more, path.parent()) {
                if let Err(error) = std::fs::remove_dir_all(folder) {
                    tracing::warn!(
                        recording = %recording,
                        %error,
                        "removing an uploaded recording from the spool failed"
                    );
                }
            }
        }
        UploadJob::Manifest { .. } => {}
    }
}

fn saturating_sub(counter: &std::sync::atomic::AtomicU64, amount: u64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |value| {
        Some(value.saturating_sub(amount))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_job(recording: &str, last: bool) -> UploadJob {
        UploadJob::Manifest {
            recording: recording.into(),
            key: format!("{recording}/manifest.json"),
            path: PathBuf::from("m.json"),
            last,
        }
    }

    fn segment_job(recording: &str, index: u32) -> UploadJob {
        UploadJob::Segment {
            recording: recording.into(),
            index,
            key: format!("{recording}/camera/{index:06}.webm"),
            path: PathBuf::from("s.webm"),
            size: 1,
        }
    }

    #[test]
    fn waiting_manifest_absorbs_next_keeps_last() {
        let mut queue = VecDeque::new();
        enqueue(&mut queue, manifest_job("head", false));
        enqueue(&mut queue, manifest_job("a", false));
        enqueue(&mut queue, manifest_job("a", true));
        enqueue(&mut queue, manifest_job("b", false));
        assert_eq!(queue.len(), 3);
        assert!(matches!(&queue[1], UploadJob::Manifest { last: true, .. }));
    }

    #[test]
    fn manifest_not_merged_before_segment() {
        let mut queue = VecDeque::new();
        enqueue(&mut queue, manifest_job("head", false));
        enqueue(&mut queue, manifest_job("a", false));
        enqueue(&mut queue, segment_job("a", 0));
        enqueue(&mut queue, manifest_job("a", true));
        assert_eq!(queue.len(), 4, "the last manifest must follow the segment");
        assert!(matches!(&queue[3], UploadJob::Manifest { last: true, .. }));
        assert!(matches!(&queue[1], UploadJob::Manifest { last: false, .. }));
    }

    #[test]
    fn manifest_merged_past_other_recordings() {
        let mut queue = VecDeque::new();
        enqueue(&mut queue, manifest_job("head", false));
        enqueue(&mut queue, manifest_job("a", false));
        enqueue(&mut queue, segment_job("b", 0));
        enqueue(&mut queue, manifest_job("a", true));
        assert_eq!(queue.len(), 3);
        assert!(matches!(&queue[1], UploadJob::Manifest { last: true, .. }));
    }

    #[test]
    fn uploading_head_not_merged_into() {
        let mut queue = VecDeque::new();
        enqueue(&mut queue, manifest_job("a", false));
        enqueue(&mut queue, manifest_job("a", true));
        assert_eq!(
            queue.len(),
            2,
            "the head may be half uploaded; queue another"
        );
    }
}
