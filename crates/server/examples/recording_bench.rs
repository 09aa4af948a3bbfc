//! Benchmark of the recorder's cost per stream: CPU time and memory for journaling,
//! segmenting, muxing, hashing and uploading to a local folder, for N camera and microphone
//! streams at about 1.5 Mbit/s replayed in real time.
//!
//! Run: `cargo run --release -p profstage-server --example recording_bench --
//! [STREAMS] [SECS] [SEGMENT_SECS]` (defaults: 50 streams, 30 s, 4 s segments). It encodes
//! 20 s of VP8 (noise, about 1.5 Mbit/s) and Opus once with GStreamer. It then replays the
//! clip for every stream in real time twice, first into a sink that drops the packets to
//! measure the replay itself, then into the recorder. The difference in process CPU time is
//! what recording adds beyond forwarding. Method and figures: docs/benchmarks.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use media_core::{ClientId, Codec, MediaKind, MediaPacket, RoomId, TrackId, TrackSource};
use profstage_server::recording::{
    self, upload, worker, Input, Publisher, RecorderHandle, RecorderSettings, RecordingIndex,
};

/// One encoded packet and its offset from the start of the clip.
struct ClipPacket {
    at: Duration,
    seq: u64,
    rtp_time: u64,
    marker: bool,
    payload: Arc<[u8]>,
}

fn encode(description: &str, clock_rate: u64) -> Vec<ClipPacket> {
    let pipeline = gst::parse::launch(&format!("{description} ! appsink name=sink sync=false"))
        .expect("the encoding pipeline description is invalid or an element is missing")
        .downcast::<gst::Pipeline>()
        .expect("a launch line with several elements is a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("the launch line names its appsink \"sink\"")
        .downcast::<gst_app::AppSink>()
        .expect("the element named \"sink\" is an appsink");
    pipeline
        .set_state(gst::State::Playing)
        .expect("starting the encoding pipeline failed");
    let mut packets = Vec::new();
    let (mut last_seq, mut last_ts, mut first_ts) = (None::<u64>, None::<u64>, None::<u64>);
    while let Ok(sample) = sink.pull_sample() {
        let buffer = sample
            .buffer()
            .expect("an appsink sample carries a buffer")
            .map_readable()
            .expect("mapping an RTP buffer for reading failed");
        let rtp: &[u8] = &buffer;
        let seq16 = u64::from(u16::from_be_bytes([rtp[2], rtp[3]]));
        let ts32 = u64::from(u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]));
        let seq = extend(last_seq, seq16, 1 << 16);
        let ts = extend(last_ts, ts32, 1 << 32);
        last_seq = Some(seq);
        last_ts = Some(ts);
        let first = *first_ts.get_or_insert(ts);
        packets.push(ClipPacket {
            at: Duration::from_micros((ts - first) * 1_000_000 / clock_rate),
            seq,
            rtp_time: ts,
            marker: rtp[1] & 0x80 != 0,
            payload: Arc::from(&rtp[12..]),
        });
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("stopping the encoding pipeline failed");
    packets
}

fn extend(previous: Option<u64>, value: u64, modulus: u64) -> u64 {
    let Some(previous) = previous else {
        return value;
    };
    let base = previous - previous % modulus;
    let candidates = [base.wrapping_sub(modulus), base, base + modulus];
    candidates
        .into_iter()
        .map(|c| c.wrapping_add(value))
        .min_by_key(|c| c.abs_diff(previous))
        .unwrap_or(value)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of proc(5), so indexes 11 and 12 after the ')'.
    // NOTE: ticks are converted with USER_HZ = 100, the Linux default, not read from sysconf.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

struct Stream {
    track: TrackId,
    client: ClientId,
    kind: MediaKind,
    source: TrackSource,
    codec: Codec,
    clip: Arc<Vec<ClipPacket>>,
    offset: Duration,
}

/// Replays every stream in real time for `secs`, calling `deliver` for each due packet.
fn replay(streams: &[Stream], secs: u64, mut deliver: impl FnMut(MediaPacket)) {
    let start = Instant::now();
    let mut next: Vec<(usize, u64)> = vec![(0, 0); streams.len()];
    let clip_len =
        |s: &Stream| s.clip.last().map(|p| p.at).unwrap_or_default() + Duration::from_millis(33);
    while start.elapsed() < Duration::from_secs(secs) {
        let now = start.elapsed();
        for (stream, (index, loops)) in streams.iter().zip(next.iter_mut()) {
            loop {
                let packet = &stream.clip[*index];
                let due = stream.offset + clip_len(stream) * (*loops as u32) + packet.at;
                if due > now {
                    break;
                }
                let rtp_shift =
                    *loops * (clip_len(stream).as_micros() as u64) * u64::from(stream.codec_rate())
                        / 1_000_000;
                let seq_shift = *loops * stream.clip.len() as u64;
                deliver(MediaPacket {
                    track: stream.track,
                    client: stream.client,
                    room: RoomId("bench".into()),
                    kind: stream.kind,
                    source: stream.source,
                    codec: stream.codec,
                    payload_type: if stream.kind == MediaKind::Video {
                        96
                    } else {
                        111
                    },
                    seq: packet.seq + seq_shift,
                    rtp_time: packet.rtp_time + rtp_shift,
                    marker: packet.marker,
                    arrival: Instant::now(),
                    sender_clock: None,
                    payload: Arc::clone(&packet.payload),
                });
                *index += 1;
                if *index == stream.clip.len() {
                    *index = 0;
                    *loops += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Stream {
    fn codec_rate(&self) -> u32 {
        if self.kind == MediaKind::Video {
            90_000
        } else {
            48_000
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let segment_secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    gst::init().expect("initialising GStreamer failed; install GStreamer 1.x");
    println!("encoding the clip...");
    let video = Arc::new(encode(
        "videotestsrc pattern=snow num-buffers=600 ! video/x-raw,width=272,height=204,framerate=30/1 \
         ! vp8enc end-usage=cbr target-bitrate=1100000 deadline=1 keyframe-max-dist=120 cpu-used=8 ! rtpvp8pay mtu=1200",
        90_000,
    ));
    let audio = Arc::new(encode(
        "audiotestsrc wave=sine num-buffers=1000 samplesperbuffer=960 ! audio/x-raw,rate=48000 \
         ! opusenc ! rtpopuspay",
        48_000,
    ));
    let bytes: usize = video.iter().map(|p| p.payload.len()).sum();
    let clip_secs = video.last().map(|p| p.at.as_secs_f64()).unwrap_or(1.0);
    println!(
        "clip: {} video packets, {:.2} Mbit/s; {} audio packets",
        video.len(),
        bytes as f64 * 8.0 / clip_secs / 1e6,
        audio.len()
    );
    let streams: Vec<Stream> = (0..count)
        .flat_map(|i| {
            let offset = Duration::from_millis(i * 4_000 / count.max(1));
            [
                Stream {
                    track: TrackId(2 * i + 1),
                    client: ClientId(i + 1),
                    kind: MediaKind::Video,
                    source: TrackSource::Camera,
                    codec: Codec::Vp8,
                    clip: Arc::clone(&video),
                    offset,
                },
                Stream {
                    track: TrackId(2 * i + 2),
                    client: ClientId(i + 1),
                    kind: MediaKind::Audio,
                    source: TrackSource::Microphone,
                    codec: Codec::Opus,
                    clip: Arc::clone(&audio),
                    offset,
                },
            ]
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building the tokio runtime failed");
    let folder = tempfile::tempdir().expect("creating a temporary folder failed");

    // The baseline measures the replay alone.
    let (cpu0, rss0) = (cpu_seconds(), rss_mib());
    let mut dropped = 0u64;
    replay(&streams, secs, |_| dropped += 1);
    let baseline = cpu_seconds() - cpu0;
    println!("baseline replay: {dropped} packets, {baseline:.2} s CPU");

    let (handle, index) = runtime.block_on(start_recorder(folder.path(), segment_secs));
    for s in &streams {
        handle.send(Input::TrackStarted {
            publisher: Publisher {
                room: "bench".into(),
                identity: format!("p{}", s.client.0),
                name: "bench".into(),
            },
            client: s.client,
            track: s.track,
            kind: s.kind,
            source: s.source,
        });
    }
    let (cpu1, rss1) = (cpu_seconds(), rss_mib());
    let mut sent = 0u64;
    replay(&streams, secs, |p| {
        sent += 1;
        handle.packet(p);
    });
    let recorded = cpu_seconds() - cpu1;
    let rss_recording = rss_mib();
    let stats = &index.stats;
    use std::sync::atomic::Ordering::Relaxed;
    println!(
        "recording: {sent} packets, {recorded:.2} s CPU, RSS {rss0:.0} -> {rss1:.0} -> {rss_recording:.0} MiB, {} segments muxed, {} uploaded, {} dropped",
        stats.muxed_segments.load(Relaxed),
        stats.uploaded_segments.load(Relaxed),
        stats.dropped_packets.load(Relaxed),
    );
    let added = (recorded - baseline).max(0.0);
    println!(
        "RESULT streams={count} secs={secs} added_cpu_s={added:.2} share_of_one_core={:.1}% per_stream={:.2}% rss_added_mib={:.0}",
        added / secs as f64 * 100.0,
        added / secs as f64 * 100.0 / count as f64,
        rss_recording - rss0,
    );
    print_threads();
    handle.stop();
}

/// Prints the CPU seconds of this process's threads, summed by thread name.
fn print_threads() {
    let mut by_name: std::collections::BTreeMap<String, f64> = Default::default();
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head
            .split_once('(')
            .map(|(_, n)| n)
            .unwrap_or("?")
            .to_owned();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        *by_name.entry(name).or_default() += (ticks(11) + ticks(12)) / 100.0;
    }
    for (name, secs) in by_name {
        println!("thread {name}: {secs:.2} s");
    }
}

async fn start_recorder(
    folder: &std::path::Path,
    segment_secs: u64,
) -> (RecorderHandle, Arc<RecordingIndex>) {
    let storage = Arc::new(
        storage::Storage::from_config(&storage::StorageConfig {
            local_dir: folder.join("recordings"),
            ..Default::default()
        })
        .expect("opening local storage in the temporary folder failed"),
    );
    recorder::mux::init().expect("GStreamer elements for muxing are missing");
    let index = Arc::new(RecordingIndex::default());
    let (uploads, jobs) = upload::channel();
    let (keyframes, _keyframe_requests) = tokio::sync::mpsc::unbounded_channel();
    let settings = RecorderSettings {
        spool_dir: folder.join("spool"),
        segment: Duration::from_secs(segment_secs),
        gap: Duration::from_millis(1500),
        spool_max_bytes: u64::MAX,
        rejoin_grace: Duration::from_secs(30),
        no_media: Duration::from_secs(10),
    };
    let (handle, _thread) = worker::start(
        settings,
        Arc::clone(&index),
        uploads,
        keyframes,
        recording::KEY_ROOT.into(),
    )
    .expect("starting the recorder threads failed");
    tokio::spawn(upload::run(storage, Arc::clone(&index), jobs, None));
    std::mem::forget(_keyframe_requests);
    (handle, index)
}
