//! Muxing of a closed journal into a WebM or Matroska file with GStreamer.
//!
//! The packets are put in sequence order. VP8 and Opus packets are depayloaded into whole
//! frames in Rust and pushed into `webmmux ! filesink`, one buffer per frame. Packets of other
//! codecs are pushed, each behind an RTP header rebuilt from the journal, into
//! `<depayloader> [! parser] ! <muxer> ! filesink`. The buffers are pushed from the calling
//! thread (see [`Muxer`]). Nothing is decoded or re-encoded, and the pipeline runs without a
//! clock, as fast as the CPU allows.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::depay::{self, Frame};
use crate::ebml;
use crate::error::{Operation, RecorderError};
use crate::journal::{Codec, Journal, JournalHeader, JournalPacket, MediaKind};
use crate::keyframe::starts_keyframe;

/// Time a pipeline may take to reach the end of the stream before the mux is abandoned, so
/// that a journal that stalls GStreamer cannot hang the caller.
pub const MUX_TIMEOUT: Duration = Duration::from_secs(30);

/// SSRC written into the rebuilt RTP headers. A journal contains one stream, so any fixed
/// value works.
const REBUILT_SSRC: u32 = 0x5053_4a52;

/// Elements every codec except AV1 needs, with the Debian package that provides each.
const REQUIRED_ELEMENTS: &[(&str, &str)] = &[
    ("filesink", "libgstreamer1.0-0"),
    ("webmmux", "gstreamer1.0-plugins-good"),
    ("matroskamux", "gstreamer1.0-plugins-good"),
    ("rtpvp9depay", "gstreamer1.0-plugins-good"),
    ("rtph264depay", "gstreamer1.0-plugins-good"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
];

/// Facts about a muxed segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentMedia {
    /// Codec of the track.
    pub codec: Codec,
    /// Picture width from the caps the muxer negotiated, for video.
    pub width: Option<u32>,
    /// Picture height from the caps the muxer negotiated, for video.
    pub height: Option<u32>,
    /// Time from the first frame's start to the last frame's end, in microseconds. The last
    /// frame's length is estimated: the mean frame interval for video, and the length coded in
    /// the packet's TOC byte for Opus.
    pub duration_us: u64,
    /// Extended RTP timestamp of the first muxed frame.
    pub first_rtp_time: u64,
    /// Frames (video) or packets (audio) that reached the muxer.
    pub frames: u64,
    /// Whether the file starts with a keyframe. Always true for audio, and for video because a
    /// segment without a keyframe is rejected.
    pub starts_with_keyframe: bool,
    /// Packets before the first keyframe that were skipped.
    pub dropped_leading: u64,
    /// Sequence numbers missing between the first and the last muxed packet.
    pub missing_packets: u64,
}

/// Initialises GStreamer once and checks that the elements for Opus, VP8, VP9 and H.264 exist.
/// VP8 and Opus need no depayloader element, because [`mux_segment`] depayloads them itself.
/// A missing AV1 depayloader only makes [`codec_supported`] return false for AV1.
pub fn init() -> Result<(), RecorderError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INIT.get_or_init(|| {
        gst::init().map_err(|e| format!("initialisation failed: {e}"))?;
        check_elements()?;
        if !codec_supported(Codec::Av1) {
            tracing::info!("GStreamer has no rtpav1depay, so AV1 tracks cannot be muxed");
        }
        Ok(())
    });
    result
        .clone()
        .map_err(|reason| RecorderError::GstreamerUnavailable { reason })
}

fn check_elements() -> Result<(), String> {
    let missing: Vec<String> = REQUIRED_ELEMENTS
        .iter()
        .filter(|(name, _)| gst::ElementFactory::find(name).is_none())
        .map(|(name, package)| format!("{name} (Debian package {package})"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing elements: {}", missing.join(", ")))
    }
}

/// Checks whether the installed GStreamer has every element needed to mux `codec`. Call
/// [`init`] first.
pub fn codec_supported(codec: Codec) -> bool {
    let chain = Chain::of(codec);
    let exists = |name: &str| gst::ElementFactory::find(name).is_some();
    chain.depayloaders.iter().all(|name| exists(name)) && exists(chain.muxer)
}

/// Reads the packets of `journal`, puts them in sequence order without duplicates, skips video
/// packets before the first keyframe and muxes the rest into the file `out`, which is replaced
/// if it exists. Opus, VP8 and VP9 go into WebM, and H.264 into Matroska, which WebM does not
/// allow.
///
/// The file is read back and checked with [`ebml::check`], and must contain one block per frame.
/// A file that fails the check is muxed once more by a new pipeline.
///
/// Fails with [`RecorderError::Empty`] or [`RecorderError::NoKeyframe`] before touching `out`,
/// and removes what was written of `out` on every later failure, including a pipeline that does
/// not finish within [`MUX_TIMEOUT`] and a file that fails the check twice.
pub fn mux_segment(journal: &Journal, out: &Path) -> Result<SegmentMedia, RecorderError> {
    Muxer::new().mux(journal, out)
}

/// Reads the muxed file back and checks its structure and that it contains one block per frame
/// that reached the muxer.
fn check_output(out: &Path, media: &SegmentMedia) -> Result<(), String> {
    let bytes = std::fs::read(out).map_err(|e| format!("cannot read it back: {e}"))?;
    let structure = ebml::check(&bytes).map_err(|e| e.to_string())?;
    if structure.blocks != media.frames {
        return Err(format!(
            "{} blocks for {} frames",
            structure.blocks, media.frames
        ));
    }
    Ok(())
}

fn remove_output(out: &Path) {
    if let Err(e) = std::fs::remove_file(out) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %out.display(), error = %e, "removing a failed mux output failed");
        }
    }
}

/// Packets of a journal chosen for muxing.
struct Selection<'a> {
    /// Packets in sequence order, starting at the first keyframe for video.
    packets: Vec<&'a JournalPacket>,
    dropped_leading: u64,
    missing_packets: u64,
}

impl<'a> Selection<'a> {
    fn of(journal: &'a Journal, out: &Path) -> Result<Self, RecorderError> {
        let mut packets: Vec<&JournalPacket> = journal.packets().collect();
        // A stable sort keeps the first copy of a duplicate first, and dedup keeps that one.
        packets.sort_by_key(|packet| packet.seq);
        packets.dedup_by_key(|packet| packet.seq);
        if packets.is_empty() {
            return Err(RecorderError::Empty {
                operation: Operation::Mux,
                path: out.to_owned(),
            });
        }

        let codec = journal.header.codec;
        let first = match codec.kind() {
            MediaKind::Audio => 0,
            MediaKind::Video => packets
                .iter()
                .position(|packet| starts_keyframe(codec, &packet.payload))
                .ok_or_else(|| RecorderError::NoKeyframe {
                    operation: Operation::Mux,
                    path: out.to_owned(),
                    packets: packets.len(),
                })?,
        };
        let packets = packets.split_off(first);
        let missing_packets = packets
            .windows(2)
            .map(|pair| pair[1].seq - pair[0].seq - 1)
            .sum();

        Ok(Self {
            packets,
            dropped_leading: first as u64,
            missing_packets,
        })
    }

    fn first_rtp_time(&self) -> u64 {
        self.packets.first().map_or(0, |packet| packet.rtp_time)
    }
}

/// Buffers pushed into the pipeline.
enum Payloads {
    /// The selected packets behind rebuilt RTP headers, for a depayloader element.
    Rtp,
    /// Frames depayloaded in Rust, in the order of the selected packets.
    Frames(Vec<Frame>),
}

impl Payloads {
    /// Depayloads VP8 and Opus. A VP8 segment without a complete keyframe fails with
    /// [`RecorderError::NoKeyframe`], and the packets skipped before the first complete
    /// keyframe count as dropped.
    fn of(codec: Codec, selection: &mut Selection, out: &Path) -> Result<Self, RecorderError> {
        match codec {
            Codec::Opus => Ok(Self::Frames(depay::opus_frames(&selection.packets))),
            Codec::Vp8 => {
                let assembled = depay::vp8_frames(&selection.packets);
                if assembled.frames.is_empty() {
                    return Err(RecorderError::NoKeyframe {
                        operation: Operation::Mux,
                        path: out.to_owned(),
                        packets: selection.packets.len(),
                    });
                }
                selection.dropped_leading += assembled.dropped_leading;
                Ok(Self::Frames(assembled.frames))
            }
            Codec::Vp9 | Codec::H264 | Codec::Av1 => Ok(Self::Rtp),
        }
    }
}

/// Depayloader, optional parser and muxer of one codec. VP8 and Opus have no depayloader
/// element, because [`Payloads::of`] depayloads them.
struct Chain {
    depayloaders: &'static [&'static str],
    muxer: &'static str,
}

impl Chain {
    fn of(codec: Codec) -> Self {
        let (depayloaders, muxer): (&'static [&'static str], _) = match codec {
            Codec::Opus | Codec::Vp8 => (&[], "webmmux"),
            Codec::Vp9 => (&["rtpvp9depay"], "webmmux"),
            Codec::H264 => (&["rtph264depay", "h264parse"], "matroskamux"),
            // NOTE: untested, because GStreamer 1.22 in Debian 12 has no rtpav1depay.
            Codec::Av1 => (&["rtpav1depay", "av1parse"], "matroskamux"),
        };
        Self {
            depayloaders,
            muxer,
        }
    }
}

/// Frames counted at the muxer's input by a pad probe.
#[derive(Default)]
struct FrameCounter {
    frames: AtomicU64,
    first_pts_ns: AtomicU64,
    last_pts_ns: AtomicU64,
}

impl FrameCounter {
    fn new() -> Self {
        let counter = Self::default();
        counter.reset();
        counter
    }

    fn reset(&self) {
        self.frames.store(0, Ordering::Relaxed);
        self.first_pts_ns.store(u64::MAX, Ordering::Relaxed);
        self.last_pts_ns.store(0, Ordering::Relaxed);
    }

    fn count(&self, buffer: &gst::BufferRef) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        if let Some(pts) = buffer.pts() {
            self.first_pts_ns
                .fetch_min(pts.nseconds(), Ordering::Relaxed);
            self.last_pts_ns
                .fetch_max(pts.nseconds(), Ordering::Relaxed);
        }
    }
}

/// Muxes segments one after another and keeps one pipeline per codec between them.
///
/// Buffers are pushed from the caller's thread through a pad of the muxer's own, linked to the
/// first element. No streaming thread starts and no buffer changes thread, because webmmux and
/// matroskamux of GStreamer 1.22 are built on `GstCollectPads`, which muxes in the pushing
/// thread when it has one sink pad, and filesink writes in that thread too.
///
/// After a segment the pipeline goes to NULL, which closes the file and resets every element.
/// The next segment of the same codec sets a new location and starts it again. A pipeline that
/// failed is dropped and built anew.
#[derive(Default)]
pub struct Muxer {
    pipelines: Vec<(Codec, Prepared)>,
    remuxed: u64,
}

impl Muxer {
    /// Creates a muxer without pipelines, which are built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Segments whose first file failed the check and were muxed again by a new pipeline.
    pub fn remuxed(&self) -> u64 {
        self.remuxed
    }

    /// Muxes `journal` into `out` like [`mux_segment`], reusing the pipeline of the codec.
    pub fn mux(&mut self, journal: &Journal, out: &Path) -> Result<SegmentMedia, RecorderError> {
        init()?;
        let codec = journal.header.codec;
        let mut selection = Selection::of(journal, out)?;
        let payloads = Payloads::of(codec, &mut selection, out)?;
        let started = Instant::now();

        let mut result = self.run(&journal.header, &selection, payloads, out);
        if let Ok(Err(malformed)) = result.as_ref().map(|media| check_output(out, media)) {
            // The fault may be in the reused pipeline, so it is dropped and a new one muxes the
            // segment again.
            tracing::error!(
                path = %out.display(),
                problem = %malformed,
                "a muxed segment is malformed; muxing it again with a new pipeline"
            );
            self.pipelines.retain(|(c, _)| *c != codec);
            self.remuxed += 1;
            selection = Selection::of(journal, out)?;
            let payloads = Payloads::of(codec, &mut selection, out)?;
            result = self
                .run(&journal.header, &selection, payloads, out)
                .and_then(|media| match check_output(out, &media) {
                    Ok(()) => Ok(media),
                    Err(problem) => Err(RecorderError::pipeline(
                        out,
                        format!("the muxed file is malformed: {problem}"),
                    )),
                });
        }
        match &result {
            Ok(media) => tracing::debug!(
                codec = ?media.codec,
                frames = media.frames,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "muxed segment"
            ),
            Err(_) => remove_output(out),
        }
        result
    }

    fn run(
        &mut self,
        header: &JournalHeader,
        selection: &Selection,
        payloads: Payloads,
        out: &Path,
    ) -> Result<SegmentMedia, RecorderError> {
        let codec = header.codec;
        let caps = match &payloads {
            Payloads::Rtp => rtp_caps(header, selection, out)?,
            Payloads::Frames(frames) => frame_caps(codec, frames),
        };
        let mut prepared = match self.pipelines.iter().position(|(c, _)| *c == codec) {
            Some(position) => self.pipelines.swap_remove(position).1,
            None => Prepared::build(codec, out)?,
        };
        // A failed pipeline is dropped here, which sets it to NULL.
        let media = prepared.run(header, selection, payloads, caps, out)?;
        self.pipelines.push((codec, prepared));
        Ok(media)
    }
}

/// A pipeline from a pad of our own to filesink, in the NULL state between segments.
struct Prepared {
    pipeline: gst::Pipeline,
    src: gst::Pad,
    muxer: gst::Element,
    filesink: gst::Element,
    counter: Arc<FrameCounter>,
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Err(e) = self.pipeline.set_state(gst::State::Null) {
            tracing::warn!(error = %e, "stopping a mux pipeline failed");
        }
        let _ = self.src.set_active(false);
    }
}

impl Prepared {
    fn build(codec: Codec, out: &Path) -> Result<Self, RecorderError> {
        let chain = Chain::of(codec);
        let mut elements = Vec::new();
        for name in chain.depayloaders {
            elements.push(make_element(name, codec, out)?);
        }
        let muxer = make_element(chain.muxer, codec, out)?;
        let filesink = make_element("filesink", codec, out)?;
        filesink.set_property("sync", false);
        // Without preroll the state changes complete in the calling thread, instead of one
        // finishing on a thread of GStreamer's pool once the first buffer arrives.
        filesink.set_property("async", false);

        let pipeline = gst::Pipeline::new();
        let link_error = |e: gst::glib::BoolError| RecorderError::pipeline(out, e.to_string());
        pipeline.add_many(&elements).map_err(link_error)?;
        pipeline.add_many([&muxer, &filesink]).map_err(link_error)?;
        gst::Element::link_many(&elements).map_err(link_error)?;
        let template = match codec.kind() {
            MediaKind::Audio => "audio_%u",
            MediaKind::Video => "video_%u",
        };
        let muxer_pad = muxer.request_pad_simple(template).ok_or_else(|| {
            RecorderError::pipeline(out, format!("{} has no {template} pad", chain.muxer))
        })?;
        let first_pad = match elements.first() {
            Some(first) => first
                .static_pad("sink")
                .ok_or_else(|| RecorderError::pipeline(out, "the first element has no sink pad"))?,
            None => muxer_pad.clone(),
        };
        if let Some(last) = elements.last() {
            let last_src = last.static_pad("src").ok_or_else(|| {
                RecorderError::pipeline(out, "the element before the muxer has no src pad")
            })?;
            last_src
                .link(&muxer_pad)
                .map_err(|e| RecorderError::pipeline(out, format!("cannot link: {e}")))?;
        }
        muxer.link(&filesink).map_err(link_error)?;

        let src = gst::Pad::builder(gst::PadDirection::Src)
            .name("frames")
            .build();
        src.link(&first_pad)
            .map_err(|e| RecorderError::pipeline(out, format!("cannot link: {e}")))?;
        let counter = Arc::new(FrameCounter::new());
        let before_muxer = muxer_pad
            .peer()
            .ok_or_else(|| RecorderError::pipeline(out, "the muxer's input is not linked"))?;
        count_frames_at(&before_muxer, &counter);

        // Only the end of the stream and errors are read, so the bus does not keep the state
        // changes of every segment.
        let bus = pipeline
            .bus()
            .ok_or_else(|| RecorderError::pipeline(out, "the pipeline has no bus"))?;
        bus.set_sync_handler(|_, message| match message.type_() {
            gst::MessageType::Eos | gst::MessageType::Error => gst::BusSyncReply::Pass,
            _ => gst::BusSyncReply::Drop,
        });
        Ok(Self {
            pipeline,
            src,
            muxer,
            filesink,
            counter,
        })
    }

    /// Returns the error on the bus, which an element posts before it refuses a buffer or an
    /// event, or else `reason`.
    fn failure(&self, out: &Path, reason: String) -> RecorderError {
        let posted = self
            .pipeline
            .bus()
            .and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error]));
        match posted.as_ref().map(|message| message.view()) {
            Some(gst::MessageView::Error(error)) => error_of(error, out),
            _ => RecorderError::pipeline(out, reason),
        }
    }

    /// Muxes one segment into `out` and leaves the pipeline in NULL with the file closed.
    fn run(
        &mut self,
        header: &JournalHeader,
        selection: &Selection,
        payloads: Payloads,
        caps: gst::Caps,
        out: &Path,
    ) -> Result<SegmentMedia, RecorderError> {
        let codec = header.codec;
        self.counter.reset();
        self.filesink
            .set_property("location", out.to_string_lossy().as_ref());
        self.pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| RecorderError::pipeline(out, format!("cannot start: {e}")))?;
        self.src
            .set_active(true)
            .map_err(|e| RecorderError::pipeline(out, format!("cannot start: {e}")))?;
        let started = self.src.push_event(gst::event::StreamStart::new("segment"))
            && self.src.push_event(gst::event::Caps::new(&caps))
            && self
                .src
                .push_event(gst::event::Segment::new(&gst::FormattedSegment::<
                    gst::ClockTime,
                >::new()));
        let pushed = match payloads {
            _ if !started => Err(gst::FlowError::Error),
            Payloads::Rtp => push_packets(&self.src, header, selection),
            Payloads::Frames(frames) => push_frames(&self.src, codec, selection, frames),
        };
        if let Err(flow) = pushed {
            return Err(self.failure(out, format!("a buffer was refused: {flow:?}")));
        }
        if !self.src.push_event(gst::event::Eos::new()) {
            return Err(self.failure(out, "the end of the stream was refused".into()));
        }
        wait_for_end(&self.pipeline, out, MUX_TIMEOUT)?;

        // The caps are read before the pipeline stops, which clears them.
        let (width, height) = video_size(&self.muxer);
        self.src
            .set_active(false)
            .map_err(|e| RecorderError::pipeline(out, format!("cannot stop: {e}")))?;
        // filesink of GStreamer 1.22 opens its file on the way from NULL to READY and closes
        // it on the way back, so the location can only change in NULL.
        self.pipeline
            .set_state(gst::State::Null)
            .map_err(|e| RecorderError::pipeline(out, format!("cannot close the file: {e}")))?;

        let frames = self.counter.frames.load(Ordering::Relaxed);
        if frames == 0 {
            return Err(RecorderError::pipeline(out, "no frame reached the muxer"));
        }
        // Buffers without a PTS leave the first PTS at its initial u64::MAX.
        let first_pts = match self.counter.first_pts_ns.load(Ordering::Relaxed) {
            u64::MAX => 0,
            pts => pts,
        };
        let last_pts = self
            .counter
            .last_pts_ns
            .load(Ordering::Relaxed)
            .max(first_pts);
        let clock_rate = u64::from(codec.clock_rate());
        let last_frame_ns = last_frame_duration_ns(codec, selection, frames, first_pts, last_pts);

        Ok(SegmentMedia {
            codec,
            width,
            height,
            duration_us: (last_pts.saturating_sub(first_pts) + last_frame_ns) / 1_000,
            first_rtp_time: selection.first_rtp_time()
                + scale(first_pts, clock_rate, 1_000_000_000),
            frames,
            starts_with_keyframe: true,
            dropped_leading: selection.dropped_leading,
            missing_packets: selection.missing_packets,
        })
    }
}

fn make_element(name: &str, codec: Codec, out: &Path) -> Result<gst::Element, RecorderError> {
    gst::ElementFactory::make(name)
        .build()
        .map_err(|e| RecorderError::UnsupportedCodec {
            operation: Operation::Mux,
            path: out.to_owned(),
            codec,
            reason: format!("cannot create GStreamer element {name}: {e}"),
        })
}

fn count_frames_at(pad: &gst::Pad, counter: &Arc<FrameCounter>) {
    let counter = Arc::clone(counter);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            counter.count(buffer);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Builds the `application/x-rtp` caps that tell the depayloader what the packets carry.
fn rtp_caps(
    header: &JournalHeader,
    selection: &Selection,
    out: &Path,
) -> Result<gst::Caps, RecorderError> {
    if header.payload_type > 127 {
        let reason = format!("invalid RTP payload type {}", header.payload_type);
        return Err(RecorderError::invalid(Operation::Mux, out, reason));
    }
    let codec = header.codec;
    let (media, encoding_name) = match codec {
        Codec::Opus => ("audio", "OPUS"),
        Codec::Vp8 => ("video", "VP8"),
        Codec::Vp9 => ("video", "VP9"),
        Codec::H264 => ("video", "H264"),
        Codec::Av1 => ("video", "AV1"),
    };
    let mut caps = gst::Caps::builder("application/x-rtp")
        .field("media", media)
        .field("encoding-name", encoding_name)
        .field("clock-rate", codec.clock_rate() as i32)
        .field("payload", i32::from(header.payload_type));
    if codec == Codec::Opus {
        // RFC 7587 always declares two channels. The TOC byte's s bit is set when the sender
        // codes stereo, which rtpopusdepay reads from sprop-stereo. Without
        // sprop-maxcapturerate, rtpopusdepay 1.22 sets no rate and webmmux rejects the caps.
        // Matroska stores 48 kHz for Opus in any case.
        let stereo = selection
            .packets
            .first()
            .and_then(|packet| packet.payload.first())
            .is_some_and(|toc| toc & 0x04 != 0);
        caps = caps
            .field("encoding-params", "2")
            .field("sprop-stereo", if stereo { "1" } else { "0" })
            .field("sprop-maxcapturerate", "48000");
    }
    Ok(caps.build())
}

/// Builds the caps of depayloaded frames with the fields that rtpvp8depay and rtpopusdepay of
/// GStreamer 1.22 set. For VP8 they are the picture size and profile of the first keyframe.
/// For Opus it is the channel count, from the s bit of the first packet's TOC byte.
fn frame_caps(codec: Codec, frames: &[Frame]) -> gst::Caps {
    let first = frames.first();
    match codec.kind() {
        MediaKind::Video => {
            let (width, height) = first.and_then(|frame| frame.size).unwrap_or((0, 0));
            vp8_caps(width, height, first.map_or(0, |frame| frame.profile))
        }
        MediaKind::Audio => {
            let stereo = first
                .and_then(|frame| frame.data.first())
                .is_some_and(|toc| toc & 0x04 != 0);
            gst::Caps::builder("audio/x-opus")
                .field("channel-mapping-family", 0i32)
                .field("channels", if stereo { 2i32 } else { 1 })
                .field("rate", 48_000i32)
                .build()
        }
    }
}

fn vp8_caps(width: u32, height: u32, profile: u8) -> gst::Caps {
    gst::Caps::builder("video/x-vp8")
        .field("framerate", gst::Fraction::new(0, 1))
        .field("width", width as i32)
        .field("height", height as i32)
        .field("profile", profile.to_string())
        .build()
}

/// Pushes every frame. A VP8 keyframe with another picture size than the one before it gets
/// new caps, as rtpvp8depay sends them. Stops at the first buffer or event the pipeline
/// refuses.
fn push_frames(
    src: &gst::Pad,
    codec: Codec,
    selection: &Selection,
    frames: Vec<Frame>,
) -> Result<(), gst::FlowError> {
    let clock_rate = u64::from(codec.clock_rate());
    let first_rtp_time = selection.first_rtp_time();
    let mut size = frames.first().and_then(|frame| frame.size);
    for frame in frames {
        if frame.size.is_some() && frame.size != size {
            size = frame.size;
            let (width, height) = size.unwrap_or_default();
            let caps = vp8_caps(width, height, frame.profile);
            if !src.push_event(gst::event::Caps::new(&caps)) {
                return Err(gst::FlowError::NotNegotiated);
            }
        }
        let elapsed = frame.rtp_time.saturating_sub(first_rtp_time);
        let pts = scale(elapsed, 1_000_000_000, clock_rate);
        let keyframe = frame.keyframe;
        let mut buffer = gst::Buffer::from_mut_slice(frame.data);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(pts));
            if !keyframe {
                buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        src.push(buffer)?;
    }
    Ok(())
}

/// Pushes every selected packet behind a rebuilt RTP header. Stops at the first buffer the
/// pipeline refuses.
fn push_packets(
    src: &gst::Pad,
    header: &JournalHeader,
    selection: &Selection,
) -> Result<(), gst::FlowError> {
    let clock_rate = u64::from(header.codec.clock_rate());
    let first_rtp_time = selection.first_rtp_time();
    for packet in &selection.packets {
        let mut buffer = gst::Buffer::from_mut_slice(rtp_packet(header.payload_type, packet));
        let elapsed = packet.rtp_time.saturating_sub(first_rtp_time);
        let pts = scale(elapsed, 1_000_000_000, clock_rate);
        if let Some(buffer) = buffer.get_mut() {
            buffer.set_pts(gst::ClockTime::from_nseconds(pts));
        }
        src.push(buffer)?;
    }
    Ok(())
}

/// Builds an RTP packet (RFC 3550 section 5.1) from the low bits of the extended sequence
/// number and timestamp.
fn rtp_packet(payload_type: u8, packet: &JournalPacket) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(12 + packet.payload.len());
    bytes.push(0x80); // Version 2, no padding, no extension, no CSRC.
    bytes.push(u8::from(packet.marker) << 7 | payload_type);
    bytes.extend_from_slice(&(packet.seq as u16).to_be_bytes());
    bytes.extend_from_slice(&(packet.rtp_time as u32).to_be_bytes());
    bytes.extend_from_slice(&REBUILT_SSRC.to_be_bytes());
    bytes.extend_from_slice(&packet.payload);
    bytes
}

/// Waits for the end of the stream or an error on the pipeline's bus.
fn wait_for_end(
    pipeline: &gst::Pipeline,
    out: &Path,
    timeout: Duration,
) -> Result<(), RecorderError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| RecorderError::pipeline(out, "the pipeline has no bus"))?;
    let wait = gst::ClockTime::from_nseconds(timeout.as_nanos() as u64);
    let types = [gst::MessageType::Eos, gst::MessageType::Error];
    let Some(message) = bus.timed_pop_filtered(wait, &types) else {
        return Err(RecorderError::TimedOut {
            operation: Operation::Mux,
            path: out.to_owned(),
            timeout,
        });
    };
    match message.view() {
        gst::MessageView::Error(error) => Err(error_of(error, out)),
        _ => Ok(()),
    }
}

fn error_of(error: &gst::message::Error, out: &Path) -> RecorderError {
    let element = error
        .src()
        .map_or_else(|| "pipeline".to_owned(), |src| src.name().to_string());
    let debug = error.debug().map(|d| d.to_string()).unwrap_or_default();
    let reason = format!("{element}: {} ({debug})", error.error());
    RecorderError::pipeline(out, reason)
}

/// Reads the picture size from the caps of the muxer's video input.
fn video_size(muxer: &gst::Element) -> (Option<u32>, Option<u32>) {
    for pad in muxer.sink_pads() {
        let Some(caps) = pad.current_caps() else {
            continue;
        };
        let Some(structure) = caps.structure(0) else {
            continue;
        };
        if !structure.name().starts_with("video/") {
            continue;
        }
        let dimension = |field| {
            let value = structure.get::<i32>(field).ok()?;
            u32::try_from(value).ok()
        };
        return (dimension("width"), dimension("height"));
    }
    (None, None)
}

/// Estimates the length of the last frame in nanoseconds: the mean interval between video
/// frames (1/30 s for a single frame), or the length an Opus packet's TOC byte codes.
fn last_frame_duration_ns(
    codec: Codec,
    selection: &Selection,
    frames: u64,
    first_pts_ns: u64,
    last_pts_ns: u64,
) -> u64 {
    const SINGLE_VIDEO_FRAME_NS: u64 = 1_000_000_000 / 30;
    const DEFAULT_OPUS_NS: u64 = 20_000_000;
    match codec.kind() {
        MediaKind::Video if frames > 1 => last_pts_ns.saturating_sub(first_pts_ns) / (frames - 1),
        MediaKind::Video => SINGLE_VIDEO_FRAME_NS,
        MediaKind::Audio => selection
            .packets
            .last()
            .and_then(|packet| opus_packet_samples(&packet.payload))
            .map_or(DEFAULT_OPUS_NS, |samples| {
                scale(samples, 1_000_000_000, 48_000)
            }),
    }
}

/// Returns the length of an Opus packet in 48 kHz samples from its TOC byte and frame count
/// (RFC 6716 section 3.1), or `None` for a malformed packet.
fn opus_packet_samples(payload: &[u8]) -> Option<u64> {
    let toc = *payload.first()?;
    let config = toc >> 3;
    let frame_samples: u64 = match config {
        // SILK: 10, 20, 40 and 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10 and 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT: 2.5, 5, 10 and 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(payload.get(1)? & 0x3f),
    };
    Some(frame_samples * frames)
}

/// Computes `value * multiplier / divisor` without overflow, saturating at `u64::MAX`.
fn scale(value: u64, multiplier: u64, divisor: u64) -> u64 {
    let result = u128::from(value) * u128::from(multiplier) / u128::from(divisor.max(1));
    u64::try_from(result).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::JournalRecord;

    #[test]
    fn opus_toc_durations() {
        // CELT 20 ms, one frame.
        assert_eq!(opus_packet_samples(&[0xf8]), Some(960));
        // SILK 60 ms, two frames.
        assert_eq!(opus_packet_samples(&[0x19]), Some(5760));
        // Hybrid 10 ms, code 3 with four frames.
        assert_eq!(opus_packet_samples(&[0x63, 0x04]), Some(1920));
        assert_eq!(opus_packet_samples(&[0x63]), None);
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn rtp_header_uses_low_bits() {
        let packet = JournalPacket {
            arrival_unix_us: 0,
            seq: 0x1_0002,
            rtp_time: 0x1_0000_0003,
            marker: true,
            payload: vec![0xaa],
        };
        let bytes = rtp_packet(96, &packet);
        assert_eq!(bytes[..2], [0x80, 0x80 | 96]);
        assert_eq!(bytes[2..4], [0x00, 0x02]);
        assert_eq!(bytes[4..8], [0, 0, 0, 3]);
        assert_eq!(bytes[12..], [0xaa]);
    }

    /// Builds a journal of one second of Opus packets. The muxer does not decode them, so each
    /// payload is a TOC byte (CELT, 20 ms, one frame) and a few bytes.
    fn opus_journal() -> Journal {
        let header = JournalHeader {
            codec: Codec::Opus,
            payload_type: 111,
            source: "microphone".into(),
            recording: "5f0e8d9c-1b2a-4c3d-8e7f-6a5b4c3d2e1f".into(),
            segment_index: 0,
        };
        let records = (0..50u64)
            .map(|i| {
                JournalRecord::Packet(JournalPacket {
                    arrival_unix_us: 1_700_000_000_000_000 + i * 20_000,
                    seq: 1_000 + i,
                    rtp_time: 48_000 + i * 960,
                    marker: false,
                    payload: vec![0xf8, 0xff, 0xfe, i as u8],
                })
            })
            .collect();
        Journal {
            header,
            records,
            torn_tail: false,
        }
    }

    #[test]
    fn malformed_file_muxed_again() {
        init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let journal = opus_journal();
        let mut muxer = Muxer::new();
        let first = muxer.mux(&journal, &dir.path().join("first.webm")).unwrap();
        assert_eq!(muxer.remuxed(), 0);

        // A streamable muxer leaves the sizes of the segment and its clusters unknown. The
        // check rejects that, as it would a file whose seek-back writes were lost.
        let (_, prepared) = &muxer.pipelines[0];
        prepared.muxer.set_property("streamable", true);
        let out = dir.path().join("second.webm");
        let second = muxer.mux(&journal, &out).unwrap();
        assert_eq!(muxer.remuxed(), 1);
        assert_eq!(second, first);
        let structure = ebml::check(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(structure.blocks, 50);

        // The new pipeline writes sound files from then on.
        muxer.mux(&journal, &dir.path().join("third.webm")).unwrap();
        assert_eq!(muxer.remuxed(), 1);
    }

    #[test]
    fn scale_does_not_overflow() {
        assert_eq!(scale(90_000, 1_000_000_000, 90_000), 1_000_000_000);
        assert_eq!(scale(u64::MAX, 2, 1), u64::MAX);
        assert_eq!(scale(5, 1, 0), 5);
    }
}
