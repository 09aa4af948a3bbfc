//! Recording every published track, crash-safe, to the configured storage.
//!
//! The media loop hands each packet of a recorded track to the recorder thread
//! ([`worker`]), which appends it to the open segment's journal in the spool folder. A
//! closed segment is muxed into WebM by GStreamer on the mux thread, hashed, listed in the
//! recording's manifest and handed to the uploader ([`upload`]), which retries until storage
//! takes it. After a crash, [`recovery`] muxes the journals left in the spool and uploads what
//! was not uploaded.

pub mod clock;
pub mod index;
pub mod recovery;
pub mod segmenter;
pub mod upload;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use media_core::{ClientId, MediaKind, MediaPacket, TrackId, TrackSource};

pub use index::{LiveRecording, LiveSource, RecordingIndex};

/// Maximum packets queued for the recorder thread. Further packets are dropped and counted.
/// At 1.5 Mbit/s and about 1,200 bytes a packet, this is about ten seconds of 50 streams.
pub const MAX_QUEUED_PACKETS: usize = 100_000;

/// Settings of the recorder, in the units it works in.
#[derive(Debug, Clone)]
pub struct RecorderSettings {
    /// Spool folder, which keeps journals and segments until they are uploaded.
    pub spool_dir: PathBuf,
    /// Target length of a segment.
    pub segment: Duration,
    /// Time without media after which the open segment closes and a gap is recorded.
    pub gap: Duration,
    /// Maximum bytes in the spool. When it is full, the recording of a source that needs more
    /// space fails.
    pub spool_max_bytes: u64,
    /// Time a recording stays open after its participant left, so that a rejoin continues it.
    pub rejoin_grace: Duration,
    /// Time a source may wait for its first packet before it is marked "no media".
    pub no_media: Duration,
}

/// Publisher of a track, which selects the recording the track goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// Room identifier.
    pub room: String,
    /// The person's identity, the token subject.
    pub identity: String,
    /// The person's display name.
    pub name: String,
}

/// Messages to the recorder thread.
#[derive(Debug)]
pub enum Input {
    /// A recorded client started publishing a track.
    TrackStarted {
        /// The publisher.
        publisher: Publisher,
        /// The publishing client.
        client: ClientId,
        /// The track.
        track: TrackId,
        /// Audio or video.
        kind: MediaKind,
        /// The device behind it.
        source: TrackSource,
    },
    /// One packet of a recorded track, with its arrival on the server clock.
    Packet {
        /// Microseconds since the Unix epoch.
        arrival_unix_us: u64,
        /// The packet.
        packet: MediaPacket,
    },
    /// A track stopped.
    TrackEnded {
        /// The track.
        track: TrackId,
    },
    /// A talk to a participant started or ended; it goes into the participant's recording
    /// as an event of the `talk` source.
    Talk {
        /// The participant talked to.
        publisher: Publisher,
        /// `talk_started` or `talk_ended`.
        kind: &'static str,
        /// The talker's display name.
        talker: String,
    },
    /// A person left the room, and their tracks have ended.
    Left {
        /// The person.
        publisher: Publisher,
    },
    /// The mux thread finished a segment.
    Muxed(Box<worker::MuxOutcome>),
    /// The uploader stored a segment.
    Uploaded {
        /// The recording.
        recording: String,
        /// The segment's index.
        index: u32,
    },
    /// Close every segment, then reply on the sender.
    Stop(mpsc::Sender<()>),
}

/// The media loop's side of the recorder. It is cheap to clone and never blocks, because the
/// channel is unbounded and [`MAX_QUEUED_PACKETS`] caps what waits in it.
#[derive(Clone)]
pub struct RecorderHandle {
    inputs: mpsc::Sender<Input>,
    queued: Arc<AtomicUsize>,
    clock: WallClock,
    stats: Arc<index::Stats>,
}

impl RecorderHandle {
    /// Sends a control message, which is lost if the recorder thread has stopped.
    pub fn send(&self, input: Input) {
        let _ = self.inputs.send(input);
    }

    /// Queues one packet, or counts it as dropped when [`MAX_QUEUED_PACKETS`] are waiting.
    pub fn packet(&self, packet: MediaPacket) {
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED_PACKETS {
            self.stats.dropped_packets.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        let arrival_unix_us = self.clock.unix_us(packet.arrival);
        let _ = self.inputs.send(Input::Packet {
            arrival_unix_us,
            packet,
        });
    }

    /// Asks the recorder to close every segment and waits until it has.
    pub fn stop(&self) {
        let (reply, done) = mpsc::channel();
        if self.inputs.send(Input::Stop(reply)).is_ok() {
            let _ = done.recv();
        }
    }
}

/// Maps monotonic instants to the wall clock, fixed at start, so that recorded times never
/// jump when the system clock is adjusted.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    instant: Instant,
    unix_us: u64,
}

impl WallClock {
    /// Takes the current time as the anchor.
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            unix_us: system_unix_us(),
        }
    }

    /// Converts `at` to wall-clock time, in microseconds since the Unix epoch.
    pub fn unix_us(&self, at: Instant) -> u64 {
        match at.checked_duration_since(self.instant) {
            Some(after) => self.unix_us + after.as_micros() as u64,
            None => self
                .unix_us
                .saturating_sub(self.instant.duration_since(at).as_micros() as u64),
        }
    }

    /// Returns the current wall-clock time, in microseconds since the Unix epoch.
    pub fn now_us(&self) -> u64 {
        self.unix_us(Instant::now())
    }
}

fn system_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Returns the name of a source in manifests, object keys and the API.
pub fn source_name(source: TrackSource) -> &'static str {
    match source {
        TrackSource::Camera => "camera",
        TrackSource::Microphone => "microphone",
        TrackSource::Screen => "screen",
        TrackSource::ScreenAudio => "screen-audio",
        TrackSource::Camera2 => "camera2",
        TrackSource::Talk => "talk",
        TrackSource::TalkVideo => "talk-video",
    }
}

/// Returns the spool folder of one recording.
pub fn spool_folder(spool: &Path, recording: &str) -> PathBuf {
    spool.join(recording)
}

/// Running recorder, with the parts that the HTTP layer and shutdown use.
pub struct RecordingRuntime {
    /// Manifests and live state.
    pub index: Arc<RecordingIndex>,
    /// Storage that keeps finished segments and manifests.
    pub storage: Arc<storage::Storage>,
    /// The recorder thread's handle.
    pub handle: RecorderHandle,
    uploader: tokio::task::JoinHandle<()>,
    upload_jobs: Option<upload::UploadHandle>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// Prefix of every recording's object keys.
pub const KEY_ROOT: &str = "recordings";

/// Errors of [`start`].
#[derive(Debug, thiserror::Error)]
pub enum StartRecordingError {
    /// The storage configuration is incomplete or invalid.
    #[error("failed to open recording storage: {0}")]
    Storage(#[from] storage::StorageError),
    /// GStreamer or an element it needs is missing.
    #[error("GStreamer cannot mux recordings, install what is missing: {0}")]
    Mux(String),
    /// The spool folder cannot be created or written.
    #[error("recording.spool_dir {path} is not usable, check that it is writable: {source}")]
    Spool {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Opens storage, recovers what a crash left in the spool, and starts the uploader and the
/// recorder thread. Returns the runtime and the media loop's link to the recorder.
pub async fn start(
    config: &crate::config::Config,
) -> Result<(RecordingRuntime, crate::media_loop::RecorderLink), StartRecordingError> {
    recorder::mux::init().map_err(|e| StartRecordingError::Mux(e.to_string()))?;
    let storage = Arc::new(storage::Storage::from_config(&config.storage)?);
    let settings = settings(config);
    std::fs::create_dir_all(&settings.spool_dir).map_err(|source| StartRecordingError::Spool {
        path: settings.spool_dir.clone(),
        source,
    })?;
    let index = Arc::new(RecordingIndex::default());
    let (uploads, jobs) = upload::channel();

    let spool = settings.spool_dir.clone();
    let (recovery_index, recovery_uploads) = (Arc::clone(&index), uploads.clone());
    let recovered = tokio::task::spawn_blocking(move || {
        recovery::recover(&spool, KEY_ROOT, &recovery_index, &recovery_uploads)
    })
    .await
    .unwrap_or_else(|error| {
        tracing::error!(%error, "spool recovery panicked; leftover journals stay in the spool");
        recovery::Recovered::default()
    });
    tracing::debug!(?recovered, "spool checked");

    let (keyframe_sender, keyframes) = tokio::sync::mpsc::unbounded_channel();
    let (handle, worker) = worker::start(
        settings,
        Arc::clone(&index),
        uploads.clone(),
        keyframe_sender,
        KEY_ROOT.to_owned(),
    )
    .map_err(|source| StartRecordingError::Spool {
        path: config.recording.spool_dir.clone(),
        source,
    })?;
    let uploader = tokio::spawn(upload::run(
        Arc::clone(&storage),
        Arc::clone(&index),
        jobs,
        Some(handle.inputs.clone()),
    ));
    index.start_loading();
    tokio::spawn(load_index(Arc::clone(&storage), Arc::clone(&index)));
    let link = crate::media_loop::RecorderLink {
        handle: handle.clone(),
        keyframes,
    };
    let runtime = RecordingRuntime {
        index,
        storage,
        handle,
        uploader,
        upload_jobs: Some(uploads),
        worker: Some(worker),
    };
    Ok((runtime, link))
}

impl RecordingRuntime {
    /// Closes every open segment, then waits up to `grace` for the uploader to finish.
    /// Segments not uploaded by then stay in the spool for the next start.
    pub async fn shutdown(mut self, grace: Duration) {
        let handle = self.handle.clone();
        let _ = tokio::task::spawn_blocking(move || handle.stop()).await;
        if let Some(worker) = self.worker.take() {
            let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        }
        // The recorder thread is gone, so dropping the last job sender lets the uploader end
        // when its queue is empty.
        self.upload_jobs.take();
        drop(self.handle);
        let backlog = &self.index.stats.backlog_segments;
        match tokio::time::timeout(grace, &mut self.uploader).await {
            Ok(_) => tracing::info!("every segment is uploaded"),
            Err(_) => tracing::warn!(
                segments = index::Stats::get(backlog),
                ?grace,
                "uploading timed out at shutdown, the remaining segments stay in the spool"
            ),
        }
    }
}

fn settings(config: &crate::config::Config) -> RecorderSettings {
    let rejoin_grace = Duration::from_secs(config.signalling.rejoin_grace_secs);
    let config = &config.recording;
    RecorderSettings {
        spool_dir: config.spool_dir.clone(),
        segment: Duration::from_secs(config.segment_secs),
        gap: Duration::from_millis(config.gap_ms),
        spool_max_bytes: config.spool_max_bytes,
        rejoin_grace,
        no_media: Duration::from_secs(config.no_media_secs),
    }
}

/// Reads every manifest in storage into the index, so that recordings made before this
/// start can be reviewed.
async fn load_index(storage: Arc<storage::Storage>, index: Arc<RecordingIndex>) {
    read_manifests(&storage, &index).await;
    index.finish_loading();
}

async fn read_manifests(storage: &storage::Storage, index: &RecordingIndex) {
    let Ok(prefix) = storage::KeyPrefix::new(format!("{KEY_ROOT}/")) else {
        return;
    };
    let objects = match storage.list(&prefix).await {
        Ok(objects) => objects,
        Err(error) => {
            tracing::warn!(%error, "listing recordings in storage failed, older recordings are not listed until restart");
            return;
        }
    };
    for object in objects {
        if !object.key.as_str().ends_with("/manifest.json") {
            continue;
        }
        match storage.get(&object.key).await {
            Ok(body) => match serde_json::from_slice::<recorder::manifest::Manifest>(&body) {
                Ok(manifest) if index.get(&manifest.recording).is_none() => index.put(manifest),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "invalid manifest in storage, skipped");
                }
            },
            Err(error) => {
                tracing::warn!(%error, "reading a manifest from storage failed, skipped");
            }
        }
    }
}
