//! Export of a recording's segments into one WebM file.
//!
//! Every segment of a track is a self-contained WebM file whose first frame has PTS 0. The
//! export demuxes each segment (`filesrc ! matroskademux ! appsink`), moves its timestamps to
//! the segment's offset from the recording start, and pushes the still encoded frames into one
//! `appsrc` per track in front of `webmmux ! filesink`. A gap between two segments stays a
//! gap, so a time in the file is the same time in the session for every track.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;

/// Time without a frame moving after which an export is abandoned as stalled.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval at which blocking waits check for cancellation and stalls.
const POLL_INTERVAL: gst::ClockTime = gst::ClockTime::from_mseconds(100);
/// Frames a segment reader demuxes ahead of its track.
const READER_MAX_BUFFERS: u32 = 64;
/// Bytes queued in a track's `appsrc` before a push blocks.
const TRACK_QUEUE_BYTES: u64 = 4 * 1024 * 1024;
/// Step between two frames when overlapping segments have to be moved apart.
const MIN_FRAME_STEP: u64 = 1_000_000;
const NANOS_PER_MS: u64 = 1_000_000;

/// One segment file of a track and its place in the recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSegment {
    /// WebM or Matroska file with one stream whose first frame has PTS 0.
    pub path: PathBuf,
    /// Time of the segment's first frame from the recording start, in milliseconds.
    pub offset_ms: u64,
}

/// Segments of one source (camera, microphone, screen) in recording order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportTrack {
    /// Name of the source, used in errors and logs.
    pub source: String,
    /// Segments ordered by offset.
    pub segments: Vec<ExportSegment>,
}

/// Summary of a written export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportInfo {
    /// End of the last frame of any track from the recording start, in milliseconds.
    pub duration_ms: u64,
    /// Number of tracks written. A track whose segments contain no frame is left out.
    pub tracks: usize,
}

/// Failure of [`export`]. The output file does not exist after any of them.
///
/// Each variant's fields are the values its message names.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No track has a segment.
    #[error("no segments to export")]
    NoSegments,
    /// Segments exist, but none of them contains a frame.
    #[error("no segment of any track contains a frame")]
    NoMedia,
    /// The output path does not name a file.
    #[error("invalid output path {path}: expected a file name")]
    InvalidOutput { path: PathBuf },
    /// A segment offset does not fit GStreamer's nanosecond timestamps.
    #[error("offset {offset_ms} ms of segment {path} is out of range")]
    OffsetOutOfRange { path: PathBuf, offset_ms: u64 },
    /// GStreamer could not be initialised.
    #[error("failed to initialise GStreamer: {0}")]
    Init(#[from] gst::glib::Error),
    /// A GStreamer element could not be created or linked.
    #[error("failed to build the {pipeline} pipeline: {source}")]
    Build {
        pipeline: &'static str,
        source: gst::glib::BoolError,
    },
    /// The track's codec cannot be written to WebM.
    #[error("{track} has {caps}, which WebM cannot hold (VP8, VP9, AV1, Opus or Vorbis)")]
    UnsupportedCodec { track: String, caps: String },
    /// Demuxing a segment failed.
    #[error("failed to read segment {path}: {message}")]
    Segment { path: PathBuf, message: String },
    /// A segment's codec differs from the codec of the track's first segment.
    #[error("segment {path} of {track} is {found}, but the track started as {expected}")]
    CodecMismatch {
        track: String,
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// The muxer rejected a frame or the end of a track.
    #[error("failed to push {track} into the muxer: {flow:?}")]
    Push { track: String, flow: gst::FlowError },
    /// The muxer or the file sink failed.
    #[error("failed to write {path}: {message}")]
    Mux { path: PathBuf, message: String },
    /// No frame moved for [`STALL_TIMEOUT`].
    #[error("export to {path} stalled: no progress for {} s", STALL_TIMEOUT.as_secs())]
    Stalled { path: PathBuf },
    /// Renaming the finished file failed.
    #[error("failed to rename {from} to {to}: {source}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
}

/// Writes one WebM file with the given tracks, typically camera video with microphone audio,
/// or screen video alone.
///
/// Each segment's first frame lands at its `offset_ms`, so wall-clock time in the file matches
/// the session and a gap stays a gap. The exceptions are segments that overlap the end of the
/// previous segment of their track: they are moved to just after it, so that timestamps keep
/// increasing. The codec data of a track (the WebM track header) comes from its first segment.
/// Later segments at another resolution are appended unchanged, because VP8 and VP9 carry the
/// frame size in band. Only the first stream of a segment is read.
///
/// The file is written to `<out>.partial` and renamed to `out` once complete, so `out` is
/// either a whole file with cues and a duration or absent.
pub fn export(tracks: &[ExportTrack], out: &Path) -> Result<ExportInfo, ExportError> {
    if tracks.iter().all(|track| track.segments.is_empty()) {
        return Err(ExportError::NoSegments);
    }
    check_offsets(tracks)?;
    gst::init()?;
    let started = Instant::now();

    let shared = Shared::default();
    let starts = open_tracks(tracks, &shared)?;
    if starts.is_empty() {
        return Err(ExportError::NoMedia);
    }

    let partial = PartialFile::new(out)?;
    let output = Output::build(&starts, &partial.path)?;
    let ends = output.run(starts, &shared)?;
    partial.commit(out)?;

    let end_ns = ends.iter().copied().max().unwrap_or(0);
    let info = ExportInfo {
        duration_ms: end_ns.div_ceil(NANOS_PER_MS),
        tracks: ends.len(),
    };
    tracing::debug!(
        out = %out.display(),
        tracks = info.tracks,
        duration_ms = info.duration_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "exported recording"
    );
    Ok(info)
}

fn check_offsets(tracks: &[ExportTrack]) -> Result<(), ExportError> {
    let segments = tracks.iter().flat_map(|track| &track.segments);
    for segment in segments {
        if offset_ns(segment).is_none() {
            return Err(ExportError::OffsetOutOfRange {
                path: segment.path.clone(),
                offset_ms: segment.offset_ms,
            });
        }
    }
    Ok(())
}

/// Returns the segment's offset in nanoseconds if it fits a signed 64-bit timestamp.
fn offset_ns(segment: &ExportSegment) -> Option<u64> {
    let nanos = segment.offset_ms.checked_mul(NANOS_PER_MS)?;
    (nanos <= i64::MAX as u64).then_some(nanos)
}

/// Cancellation, failure and progress shared by the threads of one export.
#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    failed: AtomicBool,
    progress: AtomicU64,
}

impl Shared {
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn advance(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }
}

/// Error of a track's feeding thread.
enum FeedError {
    /// The export was cancelled because of an error elsewhere.
    Cancelled,
    Failed(ExportError),
}

impl From<ExportError> for FeedError {
    fn from(error: ExportError) -> Self {
        FeedError::Failed(error)
    }
}

/// A track with the reader and first frame of its first segment that contains a frame.
struct TrackStart<'a> {
    track: &'a ExportTrack,
    segment: usize,
    reader: SegmentReader,
    first: gst::Sample,
    caps: gst::Caps,
}

/// Opens the first segment with a frame of every track, leaving out tracks without any.
fn open_tracks<'a>(
    tracks: &'a [ExportTrack],
    shared: &Shared,
) -> Result<Vec<TrackStart<'a>>, ExportError> {
    let mut starts = Vec::with_capacity(tracks.len());
    for track in tracks {
        match open_track(track, shared)? {
            Some(start) => starts.push(start),
            None => tracing::warn!(track = %track.source, "no segment contains a frame"),
        }
    }
    Ok(starts)
}

fn open_track<'a>(
    track: &'a ExportTrack,
    shared: &Shared,
) -> Result<Option<TrackStart<'a>>, ExportError> {
    for (index, segment) in track.segments.iter().enumerate() {
        let opened = open_segment(segment, shared).map_err(|error| match error {
            FeedError::Failed(error) => error,
            FeedError::Cancelled => {
                unreachable!("nothing cancels an export before its feeders start")
            }
        })?;
        let Some((reader, first)) = opened else {
            continue;
        };
        let caps = sample_caps(&first, segment)?;
        let start = TrackStart {
            track,
            segment: index,
            reader,
            first,
            caps,
        };
        return Ok(Some(start));
    }
    Ok(None)
}

/// Opens a segment and pulls its first frame, or returns `None` for a segment without frames.
fn open_segment(
    segment: &ExportSegment,
    shared: &Shared,
) -> Result<Option<(SegmentReader, gst::Sample)>, FeedError> {
    let reader = SegmentReader::open(&segment.path)?;
    let first = reader.next_sample(shared)?;
    Ok(first.map(|sample| (reader, sample)))
}

fn sample_caps(sample: &gst::Sample, segment: &ExportSegment) -> Result<gst::Caps, ExportError> {
    sample
        .caps_owned()
        .ok_or_else(|| segment_error(segment, "the demuxer returned a frame without caps"))
}

fn segment_error(segment: &ExportSegment, message: &str) -> ExportError {
    ExportError::Segment {
        path: segment.path.clone(),
        message: message.to_owned(),
    }
}

/// Demuxed frames of one segment file: `filesrc ! matroskademux ! appsink`.
struct SegmentReader {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    path: PathBuf,
}

impl SegmentReader {
    fn open(path: &Path) -> Result<Self, ExportError> {
        let build = |source| ExportError::Build {
            pipeline: "segment reader",
            source,
        };
        let pipeline = gst::Pipeline::new();
        let filesrc = gst::ElementFactory::make("filesrc")
            .property("location", path)
            .build()
            .map_err(build)?;
        let demux = gst::ElementFactory::make("matroskademux")
            .build()
            .map_err(build)?;
        let sink = gst_app::AppSink::builder()
            .sync(false)
            .max_buffers(READER_MAX_BUFFERS)
            .build();

        pipeline
            .add_many([&filesrc, &demux, sink.upcast_ref()])
            .map_err(build)?;
        filesrc.link(&demux).map_err(build)?;
        link_first_pad(&demux, &sink);

        let reader = SegmentReader {
            pipeline,
            sink,
            path: path.to_owned(),
        };
        reader.start()?;
        Ok(reader)
    }

    fn start(&self) -> Result<(), ExportError> {
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            let message = take_bus_error(&self.pipeline)
                .unwrap_or_else(|| "the pipeline did not start".to_owned());
            return Err(self.error(message));
        }
        Ok(())
    }

    /// Pulls the next frame, or returns `None` at the end of the segment.
    fn next_sample(&self, shared: &Shared) -> Result<Option<gst::Sample>, FeedError> {
        let started = Instant::now();
        loop {
            if let Some(sample) = self.sink.try_pull_sample(POLL_INTERVAL) {
                return Ok(Some(sample));
            }
            if self.sink.is_eos() {
                return Ok(None);
            }
            if let Some(message) = take_bus_error(&self.pipeline) {
                return Err(self.error(message).into());
            }
            if shared.is_cancelled() {
                return Err(FeedError::Cancelled);
            }
            if started.elapsed() > STALL_TIMEOUT {
                let message = format!("no frame within {} s", STALL_TIMEOUT.as_secs());
                return Err(self.error(message).into());
            }
        }
    }

    fn error(&self, message: String) -> ExportError {
        ExportError::Segment {
            path: self.path.clone(),
            message,
        }
    }
}

impl Drop for SegmentReader {
    fn drop(&mut self) {
        // Stopping a pipeline whose elements failed can itself fail, and then nothing is left
        // to release.
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Links the demuxer's first source pad to the sink. Later pads stay unlinked, and the
/// demuxer keeps running as long as one of its pads is linked.
fn link_first_pad(demux: &gst::Element, sink: &gst_app::AppSink) {
    let sink_pad = sink.static_pad("sink").expect("appsink has a sink pad");
    demux.connect_pad_added(move |_, pad| {
        if sink_pad.is_linked() {
            return;
        }
        if let Err(error) = pad.link(&sink_pad) {
            tracing::warn!(pad = %pad.name(), error = ?error, "failed to link demuxed stream");
        }
    });
}

/// Takes the first error message from the pipeline's bus as text.
fn take_bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    let message = bus.pop_filtered(&[gst::MessageType::Error])?;
    match message.view() {
        gst::MessageView::Error(error) => Some(describe_error(error)),
        _ => None,
    }
}

fn describe_error(error: &gst::message::Error) -> String {
    match error.debug() {
        Some(debug) => format!("{} ({debug})", error.error()),
        None => error.error().to_string(),
    }
}

/// The output file while it is written. It is removed on drop unless committed.
struct PartialFile {
    path: PathBuf,
    committed: bool,
}

impl PartialFile {
    fn new(out: &Path) -> Result<Self, ExportError> {
        let Some(name) = out.file_name() else {
            return Err(ExportError::InvalidOutput {
                path: out.to_owned(),
            });
        };
        let mut partial_name = OsString::from(name);
        partial_name.push(".partial");
        let path = out.with_file_name(partial_name);
        Ok(PartialFile {
            path,
            committed: false,
        })
    }

    fn commit(mut self, out: &Path) -> Result<(), ExportError> {
        fs::rename(&self.path, out).map_err(|source| ExportError::Rename {
            from: self.path.clone(),
            to: out.to_owned(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            // The file may never have been created.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The output pipeline: one `appsrc` per track, `webmmux`, `filesink`.
struct Output {
    pipeline: gst::Pipeline,
    sources: Vec<gst_app::AppSrc>,
    path: PathBuf,
}

impl Output {
    fn build(starts: &[TrackStart], path: &Path) -> Result<Self, ExportError> {
        let build = |source| ExportError::Build {
            pipeline: "output",
            source,
        };
        let pipeline = gst::Pipeline::new();
        let mux = gst::ElementFactory::make("webmmux")
            .build()
            .map_err(build)?;
        let filesink = gst::ElementFactory::make("filesink")
            .property("location", path)
            .property("sync", false)
            .build()
            .map_err(build)?;
        pipeline.add_many([&mux, &filesink]).map_err(build)?;
        mux.link(&filesink).map_err(build)?;

        let mut sources = Vec::with_capacity(starts.len());
        for start in starts {
            sources.push(add_track_source(&pipeline, &mux, start)?);
        }
        Ok(Output {
            pipeline,
            sources,
            path: path.to_owned(),
        })
    }

    /// Feeds every track from its own thread and waits until the file is written. Returns the
    /// end time of each track in nanoseconds.
    fn run(&self, starts: Vec<TrackStart>, shared: &Shared) -> Result<Vec<u64>, ExportError> {
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            return Err(self.mux_error(take_bus_error(&self.pipeline)));
        }
        thread::scope(|scope| {
            let feeders: Vec<_> = starts
                .into_iter()
                .zip(&self.sources)
                .map(|(start, source)| scope.spawn(move || feed_track(start, source, shared)))
                .collect();
            let waited = self.wait(shared);

            // Stopping the pipeline unblocks feeders stuck in a push. After the end of stream it
            // also closes the file.
            shared.cancelled.store(true, Ordering::Relaxed);
            let _ = self.pipeline.set_state(gst::State::Null);

            let fed = feeders
                .into_iter()
                .map(|feeder| {
                    feeder
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect();
            self.pick_result(waited, fed)
        })
    }

    /// Waits for the end of stream or an error. `Err(None)` means that a feeder failed, and
    /// the feeder's own error explains why.
    fn wait(&self, shared: &Shared) -> Result<(), Option<ExportError>> {
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let mut last_progress = shared.progress.load(Ordering::Relaxed);
        let mut last_change = Instant::now();
        loop {
            let types = [gst::MessageType::Eos, gst::MessageType::Error];
            if let Some(message) = bus.timed_pop_filtered(POLL_INTERVAL, &types) {
                return match message.view() {
                    gst::MessageView::Error(error) => {
                        Err(Some(self.mux_error(Some(describe_error(error)))))
                    }
                    _ => Ok(()),
                };
            }
            if shared.failed.load(Ordering::Relaxed) {
                let error = take_bus_error(&self.pipeline);
                return Err(error.map(|message| self.mux_error(Some(message))));
            }

            let progress = shared.progress.load(Ordering::Relaxed);
            if progress != last_progress {
                last_progress = progress;
                last_change = Instant::now();
            } else if last_change.elapsed() > STALL_TIMEOUT {
                let path = self.path.clone();
                return Err(Some(ExportError::Stalled { path }));
            }
        }
    }

    /// Chooses the error that explains a failure best: a feeder's own failure (a broken
    /// segment, a codec change) before the muxer's error, and the muxer's error before a
    /// rejected push.
    fn pick_result(
        &self,
        waited: Result<(), Option<ExportError>>,
        fed: Vec<Result<u64, FeedError>>,
    ) -> Result<Vec<u64>, ExportError> {
        let mut ends = Vec::with_capacity(fed.len());
        let mut push_error = None;
        for result in fed {
            match result {
                Ok(end) => ends.push(end),
                Err(FeedError::Failed(error @ ExportError::Push { .. })) => {
                    push_error = Some(error)
                }
                Err(FeedError::Failed(error)) => return Err(error),
                Err(FeedError::Cancelled) => {}
            }
        }
        match (waited, push_error) {
            (Err(Some(error)), _) => Err(error),
            (_, Some(error)) => Err(error),
            (Err(None), None) => Err(self.mux_error(Some("a track stopped".to_owned()))),
            (Ok(()), None) => Ok(ends),
        }
    }

    fn mux_error(&self, message: Option<String>) -> ExportError {
        ExportError::Mux {
            path: self.path.clone(),
            message: message.unwrap_or_else(|| "the pipeline did not start".to_owned()),
        }
    }
}

fn add_track_source(
    pipeline: &gst::Pipeline,
    mux: &gst::Element,
    start: &TrackStart,
) -> Result<gst_app::AppSrc, ExportError> {
    let source = gst_app::AppSrc::builder()
        .caps(&start.caps)
        .format(gst::Format::Time)
        .block(true)
        .max_bytes(TRACK_QUEUE_BYTES)
        .build();
    let build = |source| ExportError::Build {
        pipeline: "output",
        source,
    };
    pipeline.add(&source).map_err(build)?;

    let mux_pad = request_mux_pad(mux, start)?;
    let source_pad = source.static_pad("src").expect("appsrc has a src pad");
    source_pad.link(&mux_pad).map_err(|error| {
        let track = &start.track.source;
        build(gst::glib::bool_error!(
            "failed to link {track} to webmmux: {error:?}"
        ))
    })?;
    Ok(source)
}

/// Requests the muxer pad for the track's caps. Linking by caps alone does not work, because an
/// `appsrc` pad accepts any caps until it has started and would take the first free template.
fn request_mux_pad(mux: &gst::Element, start: &TrackStart) -> Result<gst::Pad, ExportError> {
    let unsupported = || ExportError::UnsupportedCodec {
        track: start.track.source.clone(),
        caps: start.caps.to_string(),
    };
    let name = caps_name(&start.caps);
    let template_name = if name.starts_with("video/") {
        "video_%u"
    } else if name.starts_with("audio/") {
        "audio_%u"
    } else {
        return Err(unsupported());
    };

    let pad = mux
        .request_pad_simple(template_name)
        .ok_or_else(unsupported)?;
    if !pad.pad_template_caps().can_intersect(&start.caps) {
        mux.release_request_pad(&pad);
        return Err(unsupported());
    }
    Ok(pad)
}

/// Pushes every frame of a track into its `appsrc`, then the end of stream. Returns the
/// end time of the track's last frame in nanoseconds.
fn feed_track(
    start: TrackStart,
    source: &gst_app::AppSrc,
    shared: &Shared,
) -> Result<u64, FeedError> {
    let track = start.track;
    let result = feed_segments(start, source, shared).and_then(|end| {
        source
            .end_of_stream()
            .map_err(|flow| push_error(track, flow, shared))?;
        Ok(end)
    });
    if matches!(result, Err(FeedError::Failed(_))) {
        shared.failed.store(true, Ordering::Relaxed);
    }
    result
}

fn feed_segments(
    start: TrackStart,
    source: &gst_app::AppSrc,
    shared: &Shared,
) -> Result<u64, FeedError> {
    let track = start.track;
    let codec = caps_name(&start.caps);
    let mut timeline = Timeline::default();
    let mut opened = Some((start.reader, start.first));

    for segment in &track.segments[start.segment..] {
        let next = match opened.take() {
            Some(pair) => Some(pair),
            None => open_segment(segment, shared)?,
        };
        let Some((reader, first)) = next else {
            continue;
        };
        check_codec(track, segment, &codec, &first)?;
        let feed = SegmentFeed {
            track,
            segment,
            source,
            shared,
        };
        feed.run(&reader, first, &mut timeline)?;
    }
    Ok(timeline.end)
}

fn caps_name(caps: &gst::CapsRef) -> String {
    caps.structure(0)
        .map(|structure| structure.name().to_string())
        .unwrap_or_default()
}

fn check_codec(
    track: &ExportTrack,
    segment: &ExportSegment,
    expected: &str,
    first: &gst::Sample,
) -> Result<(), ExportError> {
    let found = sample_caps(first, segment)?;
    let found = caps_name(&found);
    if found == expected {
        return Ok(());
    }
    Err(ExportError::CodecMismatch {
        track: track.source.clone(),
        path: segment.path.clone(),
        expected: expected.to_owned(),
        found,
    })
}

/// Copies the frames of one segment into its track's `appsrc`.
struct SegmentFeed<'a> {
    track: &'a ExportTrack,
    segment: &'a ExportSegment,
    source: &'a gst_app::AppSrc,
    shared: &'a Shared,
}

impl SegmentFeed<'_> {
    fn run(
        &self,
        reader: &SegmentReader,
        first: gst::Sample,
        timeline: &mut Timeline,
    ) -> Result<(), FeedError> {
        let first_pts = self.pts(&first)?;
        let shift = timeline.shift_for(self.segment, first_pts, &self.track.source);

        let mut sample = first;
        loop {
            self.push(&sample, shift, timeline)?;
            match reader.next_sample(self.shared)? {
                Some(next) => sample = next,
                None => return Ok(()),
            }
        }
    }

    fn push(
        &self,
        sample: &gst::Sample,
        shift: i128,
        timeline: &mut Timeline,
    ) -> Result<(), FeedError> {
        let mut buffer = sample
            .buffer_owned()
            .ok_or_else(|| segment_error(self.segment, "the demuxer returned an empty sample"))?;
        let pts = shifted(self.pts(sample)?, shift)
            .ok_or_else(|| segment_error(self.segment, "a frame timestamp is out of range"))?;
        {
            let buffer = buffer.make_mut();
            let dts = buffer.dts().and_then(|dts| shifted(dts, shift));
            buffer.set_pts(pts);
            buffer.set_dts(dts);
            timeline.record(pts, buffer.duration());
        }

        self.source
            .push_buffer(buffer)
            .map_err(|flow| push_error(self.track, flow, self.shared))?;
        self.shared.advance();
        Ok(())
    }

    fn pts(&self, sample: &gst::Sample) -> Result<gst::ClockTime, ExportError> {
        sample
            .buffer()
            .and_then(|buffer| buffer.pts())
            .ok_or_else(|| segment_error(self.segment, "a frame has no timestamp"))
    }
}

fn push_error(track: &ExportTrack, flow: gst::FlowError, shared: &Shared) -> FeedError {
    if shared.is_cancelled() {
        return FeedError::Cancelled;
    }
    FeedError::Failed(ExportError::Push {
        track: track.source.clone(),
        flow,
    })
}

fn shifted(time: gst::ClockTime, shift: i128) -> Option<gst::ClockTime> {
    let nanos = i128::from(time.nseconds()) + shift;
    let nanos = u64::try_from(nanos).ok()?;
    Some(gst::ClockTime::from_nseconds(nanos))
}

/// Output times of one track's frames, in nanoseconds.
#[derive(Default)]
struct Timeline {
    /// Earliest time the next segment's first frame may take.
    next_free: u64,
    /// End of the latest frame.
    end: u64,
}

impl Timeline {
    /// Returns the shift from segment time to output time that places the first frame at the
    /// segment's offset, or at the end of the previous frame if the segments overlap.
    fn shift_for(&self, segment: &ExportSegment, first_pts: gst::ClockTime, track: &str) -> i128 {
        let offset = offset_ns(segment).expect("offsets were checked before the export");
        let start = if offset < self.next_free {
            tracing::warn!(
                track,
                path = %segment.path.display(),
                offset_ms = segment.offset_ms,
                moved_to_ms = self.next_free / NANOS_PER_MS,
                "segment overlaps the previous one; moved after it"
            );
            self.next_free
        } else {
            offset
        };
        i128::from(start) - i128::from(first_pts.nseconds())
    }

    fn record(&mut self, pts: gst::ClockTime, duration: Option<gst::ClockTime>) {
        let pts = pts.nseconds();
        let duration = duration.map_or(0, gst::ClockTime::nseconds);
        self.end = self.end.max(pts + duration);
        self.next_free = self.next_free.max(pts + duration.max(MIN_FRAME_STEP));
    }
}
