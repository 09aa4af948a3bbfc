//! The recorder thread: journals packets into segments, closes segments and keeps manifests.
//!
//! One thread owns every open recording. It receives packets and control messages on one
//! channel and never waits on the storage backend, because muxing runs on the mux thread and
//! uploads on the uploader task. Both report back on the same channel. Journal and manifest writes go
//! to the local spool on this thread.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use media_core::{ClientId, Codec as RtpCodec, MediaKind, MediaPacket, TrackId};
use recorder::journal::{
    Codec, Journal, JournalHeader, JournalWriter, PacketFields, SenderClock as JournalClock,
};
use recorder::manifest::{Event, Gap, Manifest, RecordingStatus, SegmentEntry};
use recorder::mux::{Muxer, SegmentMedia};
// FxHash is faster than SipHash on these per-packet lookups. Its keys are track ids and
// names the server assigns, so a client cannot pick colliding keys.
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::clock::ClockMap;
use super::index::{LiveRecording, LiveSource, RecordingIndex};
use super::segmenter::{CloseReason, PacketInfo, Segmenter, SegmenterConfig, Step};
use super::upload::{UploadHandle, UploadJob};
use super::{source_name, Input, Publisher, RecorderHandle, RecorderSettings, WallClock};

/// Interval at which journals are flushed to the OS and silence is checked.
const TICK: Duration = Duration::from_millis(100);

/// Maximum inputs handled in a row before the recorder thread checks whether a tick is due.
const INPUT_BATCH: usize = 256;

/// Minimum time between two updates of a running recording's manifest in the recording
/// index, which the API serves.
const MANIFEST_INTERVAL_US: u64 = 2_000_000;

/// Minimum time between two writes of a running recording's manifest to the spool, each an
/// fsync, a rename and an fsync of the folder. A closed segment's journal stays in the spool
/// until a manifest that lists the segment is on disk, so that recovery can mux the journal
/// again after a crash in between.
const MANIFEST_SAVE_INTERVAL_US: u64 = 10_000_000;

/// Minimum time between two uploads of a running recording's manifest.
const MANIFEST_UPLOAD_INTERVAL_US: u64 = 10_000_000;

/// File name of a manifest in a recording's spool folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Journal file extension.
pub const JOURNAL_EXT: &str = "rtpj";

/// Segment file extension.
pub const SEGMENT_EXT: &str = "webm";

/// A recording's room and participant identity.
type RecordingKey = (String, String);

/// Channel to the media loop for the tracks that need a keyframe.
pub type KeyframeRequests = tokio::sync::mpsc::UnboundedSender<TrackId>;

/// A segment the mux thread must turn into WebM.
#[derive(Debug)]
pub struct MuxJob {
    /// Recording identifier.
    pub recording: String,
    /// Segment index.
    pub index: u32,
    /// Source name: camera, microphone, screen or screen-audio.
    pub source: String,
    /// The closed journal.
    pub journal: PathBuf,
    /// Path of the WebM file to write.
    pub output: PathBuf,
    /// Start of the segment on the server clock, microseconds.
    pub start_unix_us: u64,
}

/// Result of a mux job, sent back to the recorder thread.
#[derive(Debug)]
pub struct MuxOutcome {
    /// The job.
    pub job: MuxJob,
    /// The muxed media with its size and SHA-256, or the reason muxing failed.
    pub result: Result<(SegmentMedia, u64, String), String>,
}

/// Starts the mux thread and the recorder thread, and returns the handle the media loop uses.
pub fn start(
    settings: RecorderSettings,
    index: Arc<RecordingIndex>,
    uploads: UploadHandle,
    keyframes: KeyframeRequests,
    key_root: String,
) -> std::io::Result<(RecorderHandle, thread::JoinHandle<()>)> {
    fs::create_dir_all(&settings.spool_dir)?;
    let (inputs, receiver) = mpsc::channel();
    let (mux_jobs, mux_receiver) = mpsc::channel::<MuxJob>();
    let mux_replies = inputs.clone();
    let mux_stats = Arc::clone(&index.stats);
    thread::Builder::new()
        .name("mux".into())
        .spawn(move || mux_thread(mux_receiver, mux_replies, &mux_stats))?;
    let queued = Arc::new(AtomicUsize::new(0));
    let clock = WallClock::now();
    let handle = RecorderHandle {
        inputs,
        queued: Arc::clone(&queued),
        clock,
        stats: Arc::clone(&index.stats),
    };
    let worker = Worker {
        settings,
        index,
        uploads,
        keyframes,
        mux_jobs,
        queued,
        clock,
        key_root,
        recordings: FxHashMap::default(),
        by_track: FxHashMap::default(),
        newest_arrival_us: 0,
    };
    let thread = thread::Builder::new()
        .name("recorder".into())
        .spawn(move || worker.run(receiver))?;
    Ok((handle, thread))
}

fn mux_thread(
    jobs: mpsc::Receiver<MuxJob>,
    replies: mpsc::Sender<Input>,
    stats: &super::index::Stats,
) {
    let mut muxer = Muxer::new();
    while let Ok(job) = jobs.recv() {
        let remuxed = muxer.remuxed();
        let result = mux_job(&mut muxer, &job);
        stats
            .remuxed_segments
            .fetch_add(muxer.remuxed() - remuxed, Ordering::Relaxed);
        if let Err(error) = &result {
            tracing::error!(
                recording = %job.recording,
                segment = job.index,
                %error,
                "muxing a segment failed"
            );
        }
        let outcome = MuxOutcome { job, result };
        if replies.send(Input::Muxed(Box::new(outcome))).is_err() {
            break;
        }
    }
}

/// Syncs a closed journal and its folder to the disk, muxes it into WebM, hashes the result
/// and syncs that too. The journal is synced first, so that recovery after a power cut can
/// mux it again in full.
pub fn mux_job(muxer: &mut Muxer, job: &MuxJob) -> Result<(SegmentMedia, u64, String), String> {
    sync_file(&job.journal)?;
    let journal = recorder::journal::read_journal(&job.journal).map_err(|e| e.to_string())?;
    mux_synced(muxer, &journal, &job.output)
}

/// Muxes `journal` into the file `output`, hashes it and syncs it and its folder to the disk,
/// and returns the media facts, the size and the hex SHA-256. The segment is synced because
/// a manifest lists it next and its journal is then removed.
pub fn mux_synced(
    muxer: &mut Muxer,
    journal: &Journal,
    output: &Path,
) -> Result<(SegmentMedia, u64, String), String> {
    let media = muxer.mux(journal, output).map_err(|e| e.to_string())?;
    let sync_error = |e: std::io::Error| format!("syncing {}: {e}", output.display());
    let mut file = fs::File::open(output).map_err(sync_error)?;
    let (size, sha256) = hash_open_file(&mut file).map_err(|e| e.to_string())?;
    file.sync_all().map_err(sync_error)?;
    recorder::journal::sync_parent(output).map_err(sync_error)?;
    Ok((media, size, sha256))
}

/// Syncs the file at `path` and its folder to the disk.
fn sync_file(path: &Path) -> Result<(), String> {
    let sync_error = |e: std::io::Error| format!("syncing {}: {e}", path.display());
    fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(sync_error)?;
    recorder::journal::sync_parent(path).map_err(sync_error)
}

fn hash_open_file(file: &mut fs::File) -> std::io::Result<(u64, String)> {
    // A large buffer reads a segment in a few calls instead of one per 8 KiB.
    let mut input = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut input, &mut hasher)?;
    Ok((size, hex::encode(hasher.finalize())))
}

struct OpenSegment {
    index: u32,
    writer: JournalWriter,
    first_rtp: u64,
    /// Smallest arrival minus media time elapsed in the segment. It is the segment's start on
    /// the server clock when no sender report is known.
    start_by_arrival_us: u64,
    last_report: Option<media_core::SenderClock>,
}

/// Detail of a source that has sent nothing for the no-media time since its track started.
const NO_MEDIA_DETAIL: &str = "no media";

#[derive(Debug, Clone, PartialEq, Eq)]
enum SourceState {
    Starting,
    Recording,
    Gap,
    /// Nothing arrived for the no-media time after the track started. Unlike `Failed`, the
    /// first packet or a new track of the source leaves this state.
    NoMedia,
    Failed(String),
    Ended,
}

impl SourceState {
    fn name(&self) -> &'static str {
        match self {
            SourceState::Starting => "starting",
            SourceState::Recording => "recording",
            SourceState::Gap => "gap",
            SourceState::NoMedia | SourceState::Failed(_) => "failed",
            SourceState::Ended => "ended",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            SourceState::NoMedia => Some(NO_MEDIA_DETAIL),
            SourceState::Failed(detail) => Some(detail),
            _ => None,
        }
    }
}

struct Source {
    name: String,
    codec: Option<Codec>,
    payload_type: u8,
    segmenter: Segmenter,
    open: Option<OpenSegment>,
    state: SourceState,
    track: Option<TrackId>,
    /// Start of the current track on the server clock, from which the no-media time counts.
    track_started_us: u64,
    segments: u32,
    bytes: u64,
}

struct Recording {
    id: String,
    publisher: Publisher,
    client: ClientId,
    folder: PathBuf,
    key_prefix: String,
    manifest: Manifest,
    /// The participant's sender clock, shared by their sources.
    clock: ClockMap,
    /// The sender clock of the `talk` and `talk-video` sources, which another person's
    /// browser sends.
    talk_clock: ClockMap,
    sources: FxHashMap<String, Source>,
    next_index: u32,
    pending_mux: usize,
    pending_upload: u32,
    left_at_us: Option<u64>,
    stopping: bool,
    /// Whether the manifest changed since it was last put in the index.
    dirty: bool,
    /// Whether the manifest changed since it was last written to the spool.
    unsaved: bool,
    published_at_us: u64,
    saved_at_us: u64,
    uploaded_manifest_at_us: u64,
    /// Journals of muxed segments, removed once a manifest listing them is written.
    muxed_journals: Vec<PathBuf>,
}

/// Source name of the audio of an expert or organiser talking to the participant.
const TALK: &str = "talk";
/// Source name of the camera of an expert or organiser talking to the participant.
const TALK_VIDEO: &str = "talk-video";

impl Recording {
    /// Returns the clock of `source`: the talk comes from another browser, whose sender
    /// clock has its own offset to the server's.
    // NOTE: a second camera published over WHIP comes from another device too but shares
    // the browser's clock, so a difference between the two devices' wall clocks shifts
    // the person's sources against each other by up to that difference.
    fn clock_mut(&mut self, source: &str) -> &mut ClockMap {
        match source {
            TALK | TALK_VIDEO => &mut self.talk_clock,
            _ => &mut self.clock,
        }
    }
}

struct Worker {
    settings: RecorderSettings,
    index: Arc<RecordingIndex>,
    uploads: UploadHandle,
    keyframes: KeyframeRequests,
    mux_jobs: mpsc::Sender<MuxJob>,
    queued: Arc<AtomicUsize>,
    clock: WallClock,
    key_root: String,
    /// Open recordings by room and participant identity.
    recordings: FxHashMap<RecordingKey, Recording>,
    /// Recording and source of each recorded track. The keys are shared, so that looking up
    /// a packet allocates nothing.
    by_track: FxHashMap<TrackId, (Arc<RecordingKey>, Arc<str>)>,
    /// Arrival time of the newest packet handled. Packets queue in order of arrival, so
    /// everything that arrived before it has been handled.
    newest_arrival_us: u64,
}

/// Returns the time up to which the recorder has handled every packet that arrived: `now`
/// when none waits in its queue, else the arrival of the newest one handled. A recorder that
/// runs behind, for example while the host is busy, must not take the media still in its
/// queue for silence: that would close segments as gaps and drop the queued video up to the
/// next keyframe.
fn heard_until(now_us: u64, newest_arrival_us: u64, queued: usize) -> u64 {
    if queued == 0 {
        now_us
    } else {
        newest_arrival_us.min(now_us)
    }
}

impl Worker {
    fn run(mut self, inputs: mpsc::Receiver<Input>) {
        let mut stop_reply = None;
        let mut next_tick = std::time::Instant::now() + TICK;
        loop {
            let wait = next_tick.saturating_duration_since(std::time::Instant::now());
            match inputs.recv_timeout(wait) {
                Ok(input) => {
                    self.dispatch(input, &mut stop_reply);
                    // What is queued already is handled without reading the clock for each
                    // input. The batch limit keeps the tick at most a few milliseconds late.
                    for input in inputs.try_iter().take(INPUT_BATCH) {
                        self.dispatch(input, &mut stop_reply);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if std::time::Instant::now() < next_tick && stop_reply.is_none() {
                continue;
            }
            next_tick = std::time::Instant::now() + TICK;
            self.tick();
            if let Some(reply) = &stop_reply {
                if self.recordings.is_empty() {
                    let _ = reply.send(());
                    break;
                }
            }
        }
        tracing::info!("recorder stopped");
    }

    fn dispatch(&mut self, input: Input, stop_reply: &mut Option<mpsc::Sender<()>>) {
        match input {
            Input::Stop(reply) => {
                self.stop_all();
                *stop_reply = Some(reply);
            }
            // A track published while the server stops would start a recording that nothing
            // ends.
            Input::TrackStarted { .. } if stop_reply.is_some() => {}
            input => self.handle(input),
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::TrackStarted {
                publisher,
                client,
                track,
                kind,
                source,
            } => self.track_started(publisher, client, track, kind, source_name(source)),
            Input::Packet {
                arrival_unix_us,
                packet,
            } => {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                self.newest_arrival_us = self.newest_arrival_us.max(arrival_unix_us);
                self.packet(arrival_unix_us, &packet);
            }
            Input::TrackEnded { track } => self.track_ended(track),
            Input::Left { publisher } => {
                let now = self.clock.now_us();
                if let Some(recording) = self
                    .recordings
                    .get_mut(&(publisher.room.clone(), publisher.identity.clone()))
                {
                    recording.left_at_us = Some(now);
                    push_event(recording, now, "left", None, None);
                }
            }
            Input::Talk {
                publisher,
                kind,
                talker,
            } => {
                let now = self.clock.now_us();
                let key = (publisher.room, publisher.identity);
                match self.recordings.get_mut(&key) {
                    Some(recording) => push_event(recording, now, kind, Some(TALK), Some(talker)),
                    None => tracing::debug!(room = %key.0, "talk event without a recording"),
                }
            }
            Input::Muxed(outcome) => self.muxed(*outcome),
            Input::Uploaded { recording, index } => self.uploaded(&recording, index),
            Input::Stop(_) => {}
        }
    }

    fn track_started(
        &mut self,
        publisher: Publisher,
        client: ClientId,
        track: TrackId,
        kind: MediaKind,
        source: &str,
    ) {
        let now = self.clock.now_us();
        let key = (publisher.room.clone(), publisher.identity.clone());
        if !self.recordings.contains_key(&key) {
            match self.new_recording(&publisher, client, now) {
                Ok(recording) => {
                    self.recordings.insert(key.clone(), recording);
                }
                Err(error) => {
                    tracing::error!(
                        room = %publisher.room,
                        track = ?track,
                        %error,
                        "starting a recording in the spool failed, the track is not recorded"
                    );
                    return;
                }
            }
        }

        let config = self.segmenter_config();
        let Some(recording) = self.recordings.get_mut(&key) else {
            return;
        };
        recording.left_at_us = None;
        recording.client = client;
        if recording.sources.contains_key(source) {
            // NOTE: a source restarted on the same connection (screen sharing stopped and
            // started) also resets the offset, so its packets are placed by arrival until
            // the next sender report.
            recording.clock_mut(source).restart(source);
        }

        let entry = recording
            .sources
            .entry(source.to_owned())
            .or_insert_with(|| Source {
                name: source.to_owned(),
                codec: None,
                payload_type: 0,
                segmenter: Segmenter::new(config, kind == MediaKind::Video),
                open: None,
                state: SourceState::Starting,
                track: None,
                track_started_us: now,
                segments: 0,
                bytes: 0,
            });
        entry.track = Some(track);
        entry.track_started_us = now;
        entry.segmenter.restart_sequence();
        if !matches!(entry.state, SourceState::Failed(_)) {
            entry.state = SourceState::Starting;
        }

        push_event(
            recording,
            now / 1000 * 1000,
            "track_started",
            Some(source),
            None,
        );
        self.by_track
            .insert(track, (Arc::new(key), Arc::from(source)));
    }

    fn new_recording(
        &self,
        publisher: &Publisher,
        client: ClientId,
        now_us: u64,
    ) -> std::io::Result<Recording> {
        let id = Uuid::new_v4().to_string();
        let folder = super::spool_folder(&self.settings.spool_dir, &id);
        fs::create_dir_all(&folder)?;
        let mut manifest = Manifest::new(
            &id,
            &publisher.room,
            &publisher.identity,
            now_us / 1000,
            self.settings.segment.as_millis() as u64,
        );
        manifest.participant_name = Some(publisher.name.clone());
        manifest
            .write_atomic(&folder.join(MANIFEST_FILE))
            .map_err(std::io::Error::other)?;
        self.index.put(manifest.clone());
        let key_prefix = format!(
            "{}/{}/{}/{}",
            self.key_root, publisher.room, publisher.identity, id
        );
        tracing::info!(recording = %id, room = %publisher.room, "recording started");
        self.index
            .stats
            .active_recordings
            .fetch_add(1, Ordering::Relaxed);
        Ok(Recording {
            id,
            publisher: publisher.clone(),
            client,
            folder,
            key_prefix,
            manifest,
            clock: ClockMap::default(),
            talk_clock: ClockMap::default(),
            sources: FxHashMap::default(),
            next_index: 0,
            pending_mux: 0,
            pending_upload: 0,
            left_at_us: None,
            stopping: false,
            dirty: false,
            unsaved: false,
            published_at_us: now_us,
            saved_at_us: now_us,
            uploaded_manifest_at_us: now_us,
            muxed_journals: Vec::new(),
        })
    }

    fn segmenter_config(&self) -> SegmenterConfig {
        SegmenterConfig {
            target_us: self.settings.segment.as_micros() as u64,
            gap_us: self.settings.gap.as_micros() as u64,
            ..SegmenterConfig::default()
        }
    }

    fn packet(&mut self, arrival_us: u64, packet: &MediaPacket) {
        let Some((key, source_key)) = self
            .by_track
            .get(&packet.track)
            .map(|(k, s)| (Arc::clone(k), Arc::clone(s)))
        else {
            return;
        };
        let (key, source_key): (&(String, String), &str) = (&key, &source_key);
        let Some(codec) = journal_codec(packet.codec) else {
            return;
        };
        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        recording.clock_mut(source_key).observe(
            source_key,
            arrival_us,
            packet.rtp_time,
            codec.clock_rate(),
            packet.sender_clock,
        );

        let video = packet.kind == MediaKind::Video;
        let info = PacketInfo {
            at_us: arrival_us,
            seq: packet.seq,
            keyframe: !video
                || media_core::keyframe::starts_keyframe(packet.codec, &packet.payload),
            size: match packet.codec {
                RtpCodec::Vp8 => media_core::keyframe::vp8_keyframe_size(&packet.payload),
                _ => None,
            },
        };
        let Some(source) = recording.sources.get_mut(source_key) else {
            return;
        };
        if matches!(source.state, SourceState::Failed(_)) {
            return;
        }
        if source.codec.is_some_and(|c| c != codec) {
            // A new codec, after the browser renegotiated, starts a new segment.
            source.segmenter.finish();
            close_segment(
                recording,
                source_key,
                CloseReason::Resolution,
                &self.mux_jobs,
            );
        }

        let source = recording
            .sources
            .get_mut(source_key)
            .expect("close_segment does not remove the source found above");
        source.codec = Some(codec);
        source.payload_type = packet.payload_type;
        let step = source.segmenter.on_packet(info);
        self.apply(key, source_key, step, arrival_us, Some(packet));
    }

    /// Carries out a segmenter's decision for one source.
    fn apply(
        &mut self,
        key: &(String, String),
        source_key: &str,
        step: Step,
        now_us: u64,
        packet: Option<&MediaPacket>,
    ) {
        let spool_full = super::index::Stats::get(&self.index.stats.spool_bytes)
            >= self.settings.spool_max_bytes;
        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        if step.request_keyframe {
            if let Some(track) = recording.sources.get(source_key).and_then(|s| s.track) {
                let _ = self.keyframes.send(track);
            }
        }
        if step.lost {
            push_event(recording, now_us, "loss", Some(source_key), None);
        }
        if let Some(reason) = step.close {
            close_segment(recording, source_key, reason, &self.mux_jobs);
            if reason == CloseReason::Gap {
                if let Some(source) = recording.sources.get_mut(source_key) {
                    source.state = SourceState::Gap;
                }
            }
        }
        if let Some((from, to)) = step.gap {
            recording.manifest.gaps.push(Gap {
                source: source_key.to_owned(),
                from_unix_ms: from / 1000,
                to_unix_ms: to / 1000,
                reason: Gap::NO_MEDIA.into(),
            });
            recording.dirty = true;
        }
        let Some(packet) = packet else {
            return;
        };
        if step.open {
            if spool_full {
                let detail = "the spool folder is full (recording.spool_max_bytes)";
                fail_source(recording, source_key, detail, now_us, &self.mux_jobs);
                return;
            }
            if let Err(error) = open_segment(recording, source_key, packet, now_us) {
                fail_source(recording, source_key, &error, now_us, &self.mux_jobs);
                return;
            }
        }
        if step.append {
            if let Err(error) = append(recording, source_key, packet, now_us, &self.index) {
                fail_source(recording, source_key, &error, now_us, &self.mux_jobs);
            }
        }
    }

    fn track_ended(&mut self, track: TrackId) {
        let Some((key, source_key)) = self.by_track.remove(&track) else {
            return;
        };
        let (key, source_key) = ((*key).clone(), source_key.to_string());
        let now = self.clock.now_us();
        let Some(recording) = self.recordings.get_mut(&key) else {
            return;
        };
        let Some(source) = recording.sources.get_mut(&source_key) else {
            return;
        };
        if source.track != Some(track) {
            return;
        }
        source.track = None;
        if source.segmenter.finish().is_some() {
            close_segment(recording, &source_key, CloseReason::Ended, &self.mux_jobs);
        }
        if let Some(source) = recording.sources.get_mut(&source_key) {
            if !matches!(source.state, SourceState::Failed(_)) {
                source.state = SourceState::Ended;
            }
        }
        push_event(recording, now, "track_ended", Some(&source_key), None);
    }

    fn tick(&mut self) {
        let now = self.clock.now_us();
        let heard_until = heard_until(
            now,
            self.newest_arrival_us,
            self.queued.load(Ordering::Relaxed),
        );
        let keys: Vec<_> = self.recordings.keys().cloned().collect();
        for key in keys {
            self.tick_recording(&key, now, heard_until);
        }
        self.publish_live();
    }

    /// Runs the timers of one recording. Silence, lost packets and missing media are judged
    /// at `heard_until`, the time up to which every arrived packet has been handled.
    fn tick_recording(&mut self, key: &(String, String), now: u64, heard_until: u64) {
        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        if recording.dirty && now.saturating_sub(recording.published_at_us) >= MANIFEST_INTERVAL_US
        {
            recording.published_at_us = now;
            recording.dirty = false;
            recording.unsaved = true;
            self.index.put(recording.manifest.clone());
        }
        if recording.unsaved
            && now.saturating_sub(recording.saved_at_us) >= MANIFEST_SAVE_INTERVAL_US
        {
            recording.saved_at_us = now;
            save_manifest(recording, &self.index);
            if now.saturating_sub(recording.uploaded_manifest_at_us) >= MANIFEST_UPLOAD_INTERVAL_US
            {
                recording.uploaded_manifest_at_us = now;
                self.uploads.send(UploadJob::Manifest {
                    recording: recording.id.clone(),
                    key: format!("{}/manifest.json", recording.key_prefix),
                    path: recording.folder.join(MANIFEST_FILE),
                    last: false,
                });
            }
        }

        for source in recording.sources.values_mut() {
            if let Some(open) = &mut source.open {
                if let Err(error) = open.writer.flush() {
                    tracing::error!(
                        recording = %recording.id,
                        segment = open.index,
                        %error,
                        "flushing a journal failed"
                    );
                }
            }
        }

        let names: Vec<String> = recording.sources.keys().cloned().collect();
        let mut steps = Vec::new();
        for name in names {
            let source = recording.sources.get_mut(&name).expect("listed");
            let step = source.segmenter.on_tick(heard_until);
            if step != Step::default() {
                steps.push((name, step));
            }
        }
        for (name, step) in steps {
            self.apply(key, &name, step, now, None);
        }
        self.check_no_media(key, heard_until);

        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        let grace = self.settings.rejoin_grace.as_micros() as u64;
        let gone = recording
            .left_at_us
            .is_some_and(|left| now.saturating_sub(left) >= grace);
        if gone && !recording.stopping {
            self.end_recording(key, now);
        }
        self.finish_if_done(key, now);
    }

    /// Marks each source that has opened no segment within the no-media time since its track
    /// started, so that the live view does not show it as "starting" forever.
    fn check_no_media(&mut self, key: &(String, String), now: u64) {
        let limit = self.settings.no_media.as_micros() as u64;
        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        let silent: Vec<String> = recording
            .sources
            .values()
            .filter(|s| s.state == SourceState::Starting && s.open.is_none())
            .filter(|s| now.saturating_sub(s.track_started_us) >= limit)
            .map(|s| s.name.clone())
            .collect();
        if silent.is_empty() {
            return;
        }
        for name in silent {
            tracing::warn!(
                recording = %recording.id,
                source = %name,
                "no media arrived for a recorded track"
            );
            if let Some(source) = recording.sources.get_mut(&name) {
                source.state = SourceState::NoMedia;
            }
            push_event(recording, now, "no_media", Some(&name), None);
        }
        save_manifest(recording, &self.index);
    }

    fn end_recording(&mut self, key: &(String, String), now: u64) {
        let Some(recording) = self.recordings.get_mut(key) else {
            return;
        };
        recording.stopping = true;
        let names: Vec<String> = recording.sources.keys().cloned().collect();
        for name in names {
            let source = recording.sources.get_mut(&name).expect("listed");
            if source.segmenter.finish().is_some() {
                close_segment(recording, &name, CloseReason::Ended, &self.mux_jobs);
            }
        }
        push_event(recording, now, "stopped", None, None);
    }

    fn stop_all(&mut self) {
        let now = self.clock.now_us();
        let keys: Vec<_> = self.recordings.keys().cloned().collect();
        for key in keys {
            if let Some(recording) = self.recordings.get_mut(&key) {
                recording.left_at_us.get_or_insert(now);
            }
            self.end_recording(&key, now);
            self.finish_if_done(&key, now);
        }
    }

    /// Completes a stopping recording once its last segment is muxed.
    fn finish_if_done(&mut self, key: &(String, String), now: u64) {
        let Some(recording) = self.recordings.get(key) else {
            return;
        };
        if !recording.stopping || recording.pending_mux > 0 {
            return;
        }
        let mut recording = self.recordings.remove(key).expect("present");
        self.by_track.retain(|_, (k, _)| **k != *key);
        let manifest = &mut recording.manifest;
        manifest.ended_unix_ms = Some(last_media_ms(manifest).unwrap_or(now / 1000));
        if manifest.segments.is_empty() {
            manifest.status = RecordingStatus::NoMedia;
            manifest.status_detail = Some("no media arrived".into());
        } else if manifest.status == RecordingStatus::Recording {
            manifest.status = RecordingStatus::Complete;
        }
        save_manifest(&mut recording, &self.index);
        self.uploads.send(UploadJob::Manifest {
            recording: recording.id.clone(),
            key: format!("{}/manifest.json", recording.key_prefix),
            path: recording.folder.join(MANIFEST_FILE),
            last: true,
        });
        self.index
            .stats
            .active_recordings
            .fetch_sub(1, Ordering::Relaxed);
        tracing::info!(
            recording = %recording.id,
            status = ?recording.manifest.status,
            "recording ended"
        );
    }

    fn muxed(&mut self, outcome: MuxOutcome) {
        let Some(key) = self
            .recordings
            .iter()
            .find(|(_, r)| r.id == outcome.job.recording)
            .map(|(k, _)| k.clone())
        else {
            tracing::warn!(
                recording = %outcome.job.recording,
                segment = outcome.job.index,
                "muxed segment dropped because its recording is no longer open"
            );
            return;
        };
        let recording = self.recordings.get_mut(&key).expect("found");
        recording.pending_mux = recording.pending_mux.saturating_sub(1);
        let job = outcome.job;
        match outcome.result {
            Ok((media, size, sha256)) => {
                let entry = segment_entry(recording, &job, &media, size, sha256);
                recording.manifest.push_segment(entry);
                self.index
                    .stats
                    .muxed_segments
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(source) = recording.sources.get_mut(&job.source) {
                    source.segments += 1;
                }
                let journal_bytes = fs::metadata(&job.journal).map(|m| m.len()).unwrap_or(0);
                recording.muxed_journals.push(job.journal.clone());
                recording.dirty = true;
                let stats = &self.index.stats;
                stats.spool_bytes.fetch_add(size, Ordering::Relaxed);
                let _ = stats
                    .spool_bytes
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                        Some(b.saturating_sub(journal_bytes))
                    });
                let key = segment_key(&recording.key_prefix, &job.source, job.index);
                queue_upload(
                    recording,
                    &self.index,
                    &self.uploads,
                    job.index,
                    key,
                    job.output,
                );
            }
            Err(error) => {
                // The packets are evidence even when they cannot be muxed, so the journal is
                // uploaded as it is, next to the segments.
                let now = self.clock.now_us();
                let raw_key = format!(
                    "{}/{}/{:06}.{JOURNAL_EXT}",
                    recording.key_prefix, job.source, job.index
                );
                push_event(
                    recording,
                    now,
                    "segment_failed",
                    Some(&job.source),
                    Some(format!("{error}; the RTP packets are kept as {raw_key}")),
                );
                save_manifest(recording, &self.index);
                let _ = fs::remove_file(&job.output);
                queue_upload(
                    recording,
                    &self.index,
                    &self.uploads,
                    job.index,
                    raw_key,
                    job.journal,
                );
            }
        }
        let now = self.clock.now_us();
        self.finish_if_done(&key, now);
    }

    fn uploaded(&mut self, recording_id: &str, index: u32) {
        let Some(recording) = self.recordings.values_mut().find(|r| r.id == recording_id) else {
            return;
        };
        recording.pending_upload = recording.pending_upload.saturating_sub(1);
        if let Some(entry) = recording
            .manifest
            .segments
            .iter_mut()
            .find(|s| s.index == index)
        {
            entry.uploaded = true;
        }
    }

    fn publish_live(&self) {
        let live = self
            .recordings
            .values()
            .map(|r| LiveRecording {
                recording: r.id.clone(),
                room: r.publisher.room.clone(),
                participant: r.publisher.identity.clone(),
                participant_name: r.publisher.name.clone(),
                started_unix_ms: r.manifest.started_unix_ms,
                sources: live_sources(r),
                pending_upload: r.pending_upload,
            })
            .collect();
        self.index.set_live(live);
    }
}

fn live_sources(recording: &Recording) -> Vec<LiveSource> {
    let mut sources: Vec<LiveSource> = recording
        .sources
        .values()
        .map(|s| LiveSource {
            source: s.name.clone(),
            state: s.state.name().to_owned(),
            detail: s.state.detail().map(str::to_owned),
            segments: s.segments,
            bytes: s.bytes,
        })
        .collect();
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    sources
}

fn journal_codec(codec: RtpCodec) -> Option<Codec> {
    match codec {
        RtpCodec::Opus => Some(Codec::Opus),
        RtpCodec::Vp8 => Some(Codec::Vp8),
        RtpCodec::Vp9 => Some(Codec::Vp9),
        RtpCodec::H264 => Some(Codec::H264),
        RtpCodec::Av1 => Some(Codec::Av1),
        _ => None,
    }
}

/// Returns the object key of a segment.
pub fn segment_key(prefix: &str, source: &str, index: u32) -> String {
    format!("{prefix}/{source}/{index:06}.{SEGMENT_EXT}")
}

fn open_segment(
    recording: &mut Recording,
    source_key: &str,
    packet: &MediaPacket,
    now_us: u64,
) -> Result<(), String> {
    let index = recording.next_index;
    let source = recording
        .sources
        .get_mut(source_key)
        .ok_or("unknown source")?;
    let codec = source.codec.ok_or("no codec")?;
    let folder = recording.folder.join(source_key);
    fs::create_dir_all(&folder).map_err(|e| format!("creating {}: {e}", folder.display()))?;
    let path = folder.join(format!("{index:06}.{JOURNAL_EXT}"));
    let header = JournalHeader {
        codec,
        payload_type: source.payload_type,
        source: source_key.to_owned(),
        recording: recording.id.clone(),
        segment_index: index,
    };
    let writer = JournalWriter::create(&path, &header).map_err(|e| e.to_string())?;
    recording.next_index += 1;
    source.open = Some(OpenSegment {
        index,
        writer,
        first_rtp: packet.rtp_time,
        start_by_arrival_us: now_us,
        last_report: None,
    });
    if source.state != SourceState::Recording {
        source.state = SourceState::Recording;
    }
    Ok(())
}

fn append(
    recording: &mut Recording,
    source_key: &str,
    packet: &MediaPacket,
    arrival_us: u64,
    index: &RecordingIndex,
) -> Result<(), String> {
    let Some(source) = recording.sources.get_mut(source_key) else {
        return Ok(());
    };
    let clock_rate = source.codec.map(|c| c.clock_rate()).unwrap_or(90_000);
    let Some(open) = &mut source.open else {
        return Ok(());
    };
    if packet.sender_clock.is_some() && packet.sender_clock != open.last_report {
        open.last_report = packet.sender_clock;
        if let Some(report) = packet.sender_clock {
            open.writer
                .append_sender_report(JournalClock {
                    ntp_unix_us: report.ntp_unix_us,
                    rtp_time: report.rtp_time,
                })
                .map_err(|e| e.to_string())?;
        }
    }
    let before = open.writer.bytes_written();
    let fields = PacketFields {
        arrival_unix_us: arrival_us,
        seq: packet.seq,
        rtp_time: packet.rtp_time,
        marker: packet.marker,
    };
    open.writer
        .append_payload(fields, &packet.payload)
        .map_err(|e| e.to_string())?;
    let elapsed_us =
        packet.rtp_time.saturating_sub(open.first_rtp) * 1_000_000 / u64::from(clock_rate.max(1));
    open.start_by_arrival_us = open
        .start_by_arrival_us
        .min(arrival_us.saturating_sub(elapsed_us));
    let written = open.writer.bytes_written() - before;
    source.bytes += written;
    index
        .stats
        .spool_bytes
        .fetch_add(written, Ordering::Relaxed);
    Ok(())
}

fn close_segment(
    recording: &mut Recording,
    source_key: &str,
    reason: CloseReason,
    mux_jobs: &mpsc::Sender<MuxJob>,
) {
    let Some(source) = recording.sources.get_mut(source_key) else {
        return;
    };
    let Some(open) = source.open.take() else {
        return;
    };
    let path = open.writer.path().to_path_buf();
    // The mux thread syncs the journal, so that the recorder thread does not wait for it.
    if let Err(error) = open.writer.close() {
        tracing::error!(
            recording = %recording.id,
            segment = open.index,
            %error,
            "closing a journal failed"
        );
    }
    let start_unix_us = recording
        .clock_mut(source_key)
        .server_time_us(source_key, open.first_rtp)
        .unwrap_or(open.start_by_arrival_us);
    tracing::debug!(recording = %recording.id, segment = open.index, ?reason, "segment closed");
    let job = MuxJob {
        recording: recording.id.clone(),
        index: open.index,
        source: source_key.to_owned(),
        output: path.with_extension(SEGMENT_EXT),
        journal: path,
        start_unix_us,
    };
    recording.pending_mux += 1;
    if mux_jobs.send(job).is_err() {
        recording.pending_mux -= 1;
        tracing::error!(
            recording = %recording.id,
            "the mux thread has stopped, the journal stays in the spool for recovery"
        );
    }
}

fn fail_source(
    recording: &mut Recording,
    source_key: &str,
    detail: &str,
    now_us: u64,
    mux_jobs: &mpsc::Sender<MuxJob>,
) {
    tracing::error!(
        recording = %recording.id,
        source = source_key,
        detail,
        "recording of a source failed"
    );
    // What was written is still muxed, or uploaded raw if muxing fails. A journal left in
    // the spool would be removed with the folder once the recording's last manifest is
    // uploaded.
    close_segment(recording, source_key, CloseReason::Ended, mux_jobs);
    if let Some(source) = recording.sources.get_mut(source_key) {
        source.state = SourceState::Failed(detail.to_owned());
    }
    push_event(
        recording,
        now_us,
        "source_failed",
        Some(source_key),
        Some(detail.to_owned()),
    );
}

fn push_event(
    recording: &mut Recording,
    at_us: u64,
    kind: &str,
    source: Option<&str>,
    detail: Option<String>,
) {
    recording.manifest.events.push(Event {
        at_unix_ms: at_us / 1000,
        kind: kind.to_owned(),
        source: source.map(str::to_owned),
        detail,
    });
    recording.dirty = true;
}

/// Counts a file in the upload backlog and hands it to the uploader.
fn queue_upload(
    recording: &mut Recording,
    index: &RecordingIndex,
    uploads: &UploadHandle,
    segment: u32,
    key: String,
    path: PathBuf,
) {
    let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    recording.pending_upload += 1;
    index.stats.backlog_segments.fetch_add(1, Ordering::Relaxed);
    index.stats.backlog_bytes.fetch_add(size, Ordering::Relaxed);
    uploads.send(UploadJob::Segment {
        recording: recording.id.clone(),
        index: segment,
        key,
        path,
        size,
    });
}

fn segment_entry(
    recording: &Recording,
    job: &MuxJob,
    media: &SegmentMedia,
    size: u64,
    sha256: String,
) -> SegmentEntry {
    let placed = Placed {
        prefix: &recording.key_prefix,
        recording_start_ms: recording.manifest.started_unix_ms,
        source: &job.source,
        index: job.index,
        start_unix_us: job.start_unix_us,
    };
    placed.entry(media, size, sha256)
}

/// The destination of a muxed segment: its key and its place on the recording's timeline.
pub struct Placed<'a> {
    /// Key prefix of the recording.
    pub prefix: &'a str,
    /// Start of the recording on the server clock, milliseconds.
    pub recording_start_ms: u64,
    /// camera, microphone, screen.
    pub source: &'a str,
    /// Segment index.
    pub index: u32,
    /// Start of the segment on the server clock, microseconds.
    pub start_unix_us: u64,
}

impl Placed<'_> {
    /// Builds the manifest entry of the segment; `push_segment` fills in its chain link.
    pub fn entry(&self, media: &SegmentMedia, size: u64, sha256: String) -> SegmentEntry {
        let started_unix_ms = self.start_unix_us / 1000;
        SegmentEntry {
            index: self.index,
            source: self.source.to_owned(),
            key: segment_key(self.prefix, self.source, self.index),
            started_unix_ms,
            media_start_ms: started_unix_ms.saturating_sub(self.recording_start_ms),
            duration_ms: media.duration_us / 1000,
            size,
            sha256,
            chain: String::new(),
            codec: media.codec,
            width: media.width,
            height: media.height,
            missing_packets: media.missing_packets,
            uploaded: false,
        }
    }
}

fn save_manifest(recording: &mut Recording, index: &RecordingIndex) {
    recording.dirty = false;
    recording.unsaved = false;
    let path = recording.folder.join(MANIFEST_FILE);
    match recording.manifest.write_atomic(&path) {
        Ok(()) => {
            for journal in recording.muxed_journals.drain(..) {
                let _ = fs::remove_file(journal);
            }
        }
        Err(error) => {
            tracing::error!(recording = %recording.id, %error, "writing a manifest failed");
        }
    }
    index.put(recording.manifest.clone());
}

/// Returns the end of the last segment on the server clock, in milliseconds.
pub fn last_media_ms(manifest: &Manifest) -> Option<u64> {
    manifest
        .segments
        .iter()
        .map(|s| s.started_unix_ms + s.duration_ms)
        .max()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use media_core::{RoomId, TrackSource};

    use super::*;

    const NO_MEDIA: Duration = Duration::from_millis(1000);
    const ROOM: &str = "room-1";
    const IDENTITY: &str = "participant-1";

    /// A recorder thread on a spool folder of its own, removed on drop.
    struct TestRecorder {
        handle: RecorderHandle,
        index: Arc<RecordingIndex>,
        spool: PathBuf,
    }

    impl TestRecorder {
        fn start() -> Self {
            let spool = std::env::temp_dir().join(format!("profstage-worker-{}", Uuid::new_v4()));
            let settings = RecorderSettings {
                spool_dir: spool.clone(),
                segment: Duration::from_secs(2),
                gap: Duration::from_millis(1500),
                spool_max_bytes: u64::MAX,
                rejoin_grace: Duration::from_secs(30),
                no_media: NO_MEDIA,
            };
            let index = Arc::new(RecordingIndex::default());
            let (uploads, _jobs) = super::super::upload::channel();
            let (keyframes, _requests) = tokio::sync::mpsc::unbounded_channel();
            let (handle, _thread) = start(
                settings,
                Arc::clone(&index),
                uploads,
                keyframes,
                "recordings".into(),
            )
            .expect("the recorder thread starts");
            Self {
                handle,
                index,
                spool,
            }
        }

        fn start_track(&self, track: u64, kind: MediaKind, source: TrackSource) {
            self.handle.send(Input::TrackStarted {
                publisher: Publisher {
                    room: ROOM.into(),
                    identity: IDENTITY.into(),
                    name: "Participant".into(),
                },
                client: ClientId(1),
                track: TrackId(track),
                kind,
                source,
            });
        }

        fn publisher() -> Publisher {
            Publisher {
                room: ROOM.into(),
                identity: IDENTITY.into(),
                name: "Participant".into(),
            }
        }

        fn send_opus(&self, track: u64, seq: u64) {
            self.send_opus_from(track, seq, TrackSource::Microphone);
        }

        fn send_opus_from(&self, track: u64, seq: u64, source: TrackSource) {
            self.handle.packet(MediaPacket {
                track: TrackId(track),
                client: ClientId(1),
                room: RoomId(ROOM.into()),
                kind: MediaKind::Audio,
                source,
                codec: RtpCodec::Opus,
                payload_type: 111,
                seq,
                rtp_time: seq * 960,
                marker: false,
                arrival: Instant::now(),
                sender_clock: None,
                payload: Arc::from(&[0xf8_u8, 0xff, 0xfe][..]),
            });
        }

        /// Returns the live state of `source` and its detail, once the recorder has published one.
        fn state(&self, source: &str) -> Option<(String, Option<String>)> {
            let live = self.index.live_in_room(ROOM);
            let found = live.first()?.sources.iter().find(|s| s.source == source)?;
            Some((found.state.clone(), found.detail.clone()))
        }

        /// Polls the index for up to 3 s until the recording's manifest has an event of
        /// `kind`, and returns that event.
        fn wait_for_event(&self, kind: &str) -> Option<recorder::manifest::Event> {
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let found =
                    self.index.in_room(ROOM).first().and_then(|manifest| {
                        manifest.events.iter().find(|e| e.kind == kind).cloned()
                    });
                if found.is_some() || Instant::now() > deadline {
                    return found;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }

        /// Polls the live state of `source` for up to 3 s until it is `state`.
        fn wait_for_state(&self, source: &str, state: &str) -> Option<(String, Option<String>)> {
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let seen = self.state(source);
                if seen.as_ref().is_some_and(|(s, _)| s == state) || Instant::now() > deadline {
                    return seen;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }

    impl Drop for TestRecorder {
        fn drop(&mut self) {
            self.handle.stop();
            let _ = fs::remove_dir_all(&self.spool);
        }
    }

    fn no_media() -> Option<(String, Option<String>)> {
        Some(("failed".into(), Some(NO_MEDIA_DETAIL.into())))
    }

    #[test]
    fn queued_media_is_not_silence() {
        // Nothing queued: silence is measured to now.
        assert_eq!(heard_until(10_000_000, 4_000_000, 0), 10_000_000);
        // Packets queued behind the newest one handled: only up to its arrival.
        assert_eq!(heard_until(10_000_000, 4_000_000, 300), 4_000_000);
        // Nothing handled yet while the first packets wait.
        assert_eq!(heard_until(10_000_000, 0, 5), 0);
        // An arrival stamped after the tick's clock read does not move time forward.
        assert_eq!(heard_until(10_000_000, 10_000_200, 5), 10_000_000);
    }

    #[test]
    fn silent_track_is_marked_no_media() {
        let recorder = TestRecorder::start();
        recorder.start_track(1, MediaKind::Video, TrackSource::Camera);
        assert_eq!(
            recorder
                .wait_for_state("camera", "starting")
                .map(|(s, _)| s),
            Some("starting".into())
        );
        assert_eq!(recorder.wait_for_state("camera", "failed"), no_media());
    }

    #[test]
    fn no_media_time_counts_from_each_track_start() {
        let recorder = TestRecorder::start();
        recorder.start_track(1, MediaKind::Video, TrackSource::Camera);
        assert_eq!(recorder.wait_for_state("camera", "failed"), no_media());

        // A track that starts after the recording's no-media time gets its own.
        recorder.start_track(2, MediaKind::Video, TrackSource::Screen);
        let started = Instant::now();
        thread::sleep(NO_MEDIA / 2);
        let early = recorder.state("screen");
        // A machine that stalled the test past the no-media time proves nothing here.
        if started.elapsed() < NO_MEDIA {
            assert_eq!(early.map(|(s, _)| s), Some("starting".into()));
        }
        assert_eq!(recorder.wait_for_state("screen", "failed"), no_media());
    }

    #[test]
    fn first_packet_ends_no_media() {
        let recorder = TestRecorder::start();
        recorder.start_track(1, MediaKind::Audio, TrackSource::Microphone);
        assert_eq!(recorder.wait_for_state("microphone", "failed"), no_media());

        recorder.send_opus(1, 1);
        assert_eq!(
            recorder.wait_for_state("microphone", "recording"),
            Some(("recording".into(), None))
        );
    }

    #[test]
    fn talk_is_a_source_of_the_participant() {
        let recorder = TestRecorder::start();
        recorder.start_track(1, MediaKind::Audio, TrackSource::Microphone);
        recorder.send_opus(1, 1);
        // The talk track comes from an expert's client, but the media loop names the
        // participant as its publisher.
        recorder.start_track(2, MediaKind::Audio, TrackSource::Talk);
        recorder.handle.send(Input::Talk {
            publisher: TestRecorder::publisher(),
            kind: "talk_started",
            talker: "Expert".into(),
        });
        recorder.send_opus_from(2, 1, TrackSource::Talk);
        assert_eq!(
            recorder.wait_for_state("talk", "recording"),
            Some(("recording".into(), None))
        );
        assert_eq!(
            recorder.wait_for_state("microphone", "recording"),
            Some(("recording".into(), None))
        );
        assert_eq!(recorder.index.live_in_room(ROOM).len(), 1, "one recording");

        recorder.handle.send(Input::Talk {
            publisher: TestRecorder::publisher(),
            kind: "talk_ended",
            talker: "Expert".into(),
        });
        recorder
            .handle
            .send(Input::TrackEnded { track: TrackId(2) });
        for kind in ["talk_started", "talk_ended"] {
            let event = recorder.wait_for_event(kind);
            let event = event.unwrap_or_else(|| panic!("no {kind} event"));
            assert_eq!(event.source.as_deref(), Some("talk"));
            assert_eq!(event.detail.as_deref(), Some("Expert"));
        }
        assert_eq!(
            recorder.wait_for_state("talk", "ended").map(|(s, _)| s),
            Some("ended".into())
        );
    }

    #[test]
    fn talk_event_without_recording_is_dropped() {
        let recorder = TestRecorder::start();
        recorder.handle.send(Input::Talk {
            publisher: TestRecorder::publisher(),
            kind: "talk_started",
            talker: "Expert".into(),
        });
        assert_eq!(recorder.wait_for_event("talk_started"), None);
        assert!(recorder.index.live_in_room(ROOM).is_empty());
    }

    #[test]
    fn second_camera_is_its_own_source() {
        let recorder = TestRecorder::start();
        recorder.start_track(1, MediaKind::Video, TrackSource::Camera);
        recorder.start_track(2, MediaKind::Video, TrackSource::Camera2);
        for source in ["camera", "camera2"] {
            let state = recorder.wait_for_state(source, "starting");
            assert_eq!(state.map(|(s, _)| s), Some("starting".into()), "{source}");
        }
        assert_eq!(recorder.wait_for_state("camera2", "failed"), no_media());
    }
}
