//! Muxing of journals of real encoded media, checked with ffprobe.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{encode, frames, write_journal};
use recorder::journal::{read_journal, Codec, JournalPacket};
use recorder::mux::{self, mux_segment, SegmentMedia, MUX_TIMEOUT};
use recorder::RecorderError;

const VP8_90_FRAMES: &str = "videotestsrc num-buffers=90 \
    ! video/x-raw,width=640,height=480,framerate=30/1 \
    ! vp8enc keyframe-max-dist=30 deadline=1 target-bitrate=1500000 ! rtpvp8pay mtu=1200";

/// Writes `packets` into a journal in `dir` and muxes it into `out`.
fn mux_packets(
    dir: &Path,
    codec: Codec,
    packets: &[JournalPacket],
    out: &Path,
) -> Result<SegmentMedia, RecorderError> {
    mux::init().unwrap();
    let journal_path = dir.join(out.with_extension("journal").file_name().unwrap());
    write_journal(&journal_path, codec, packets);
    let journal = read_journal(&journal_path).unwrap();
    mux_segment(&journal, out)
}

/// ffprobe's streams and format of `path`, with packets counted.
fn probe(path: &Path) -> serde_json::Value {
    let output = ffprobe(path, &["-show_streams", "-show_format", "-count_packets"]);
    serde_json::from_slice(&output).unwrap()
}

/// ffprobe's flags of every video packet of `path`, such as `K__` for a keyframe.
fn video_packet_flags(path: &Path) -> Vec<String> {
    let arguments = ["-select_streams", "v:0", "-show_entries", "packet=flags"];
    let output = ffprobe(path, &arguments);
    let value: serde_json::Value = serde_json::from_slice(&output).unwrap();
    value["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|packet| packet["flags"].as_str().unwrap().to_owned())
        .collect()
}

fn ffprobe(path: &Path, arguments: &[&str]) -> Vec<u8> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(arguments)
        .arg(path)
        .output()
        .expect("ffprobe must be installed for the mux tests (Debian package ffmpeg)");
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Decodes the whole file with ffmpeg and fails on any decoder error or warning.
fn assert_decodes(path: &Path) {
    let output = Command::new("ffmpeg")
        .args(["-v", "warning", "-nostdin", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg must be installed for the mux tests (Debian package ffmpeg)");
    assert!(
        output.status.success(),
        "ffmpeg failed on {}",
        path.display()
    );
    let messages = String::from_utf8_lossy(&output.stderr);
    assert!(
        messages.trim().is_empty(),
        "decoding {}: {messages}",
        path.display()
    );
}

fn stream(probe: &serde_json::Value) -> &serde_json::Value {
    let streams = probe["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{probe}");
    &streams[0]
}

fn duration_s(probe: &serde_json::Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn packet_count(probe: &serde_json::Value) -> u64 {
    stream(probe)["nb_read_packets"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64, quantity: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{quantity}: {actual} is not within {tolerance} of {expected}"
    );
}

/// Reorders `items` with a fixed xorshift sequence, so every run gets the same order.
fn shuffle<T>(items: &mut [T]) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

#[test]
fn vp8_segment_probes_as_webm() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(VP8_90_FRAMES);
    let out = dir.path().join("vp8.webm");
    let media = mux_packets(dir.path(), Codec::Vp8, &packets, &out).unwrap();

    assert_eq!(media.codec, Codec::Vp8);
    assert_eq!(media.frames, 90);
    assert_eq!(media.width, Some(640));
    assert_eq!(media.height, Some(480));
    assert_close(
        media.duration_us as f64,
        3_000_000.0,
        1_000.0,
        "duration_us",
    );
    assert_eq!(media.first_rtp_time, packets[0].rtp_time);
    assert!(media.starts_with_keyframe);
    assert_eq!(media.dropped_leading, 0);
    assert_eq!(media.missing_packets, 0);

    let probe = probe(&out);
    assert_eq!(probe["format"]["format_name"], "matroska,webm");
    assert_eq!(stream(&probe)["codec_name"], "vp8");
    assert_eq!(stream(&probe)["width"], 640);
    assert_eq!(stream(&probe)["height"], 480);
    assert_eq!(packet_count(&probe), 90);
    assert_close(duration_s(&probe), 3.0, 0.1, "ffprobe duration");
    assert!(video_packet_flags(&out)[0].starts_with('K'));
    assert_decodes(&out);
}

#[test]
fn shuffled_duplicated_packets_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(VP8_90_FRAMES);
    let mut arrived = packets.clone();
    arrived.extend(packets.iter().step_by(5).cloned());
    shuffle(&mut arrived);
    assert_ne!(arrived[..10], packets[..10]);

    let out = dir.path().join("shuffled.webm");
    let media = mux_packets(dir.path(), Codec::Vp8, &arrived, &out).unwrap();
    assert_eq!(media.frames, 90);
    assert_eq!(media.missing_packets, 0);
    assert_eq!(media.dropped_leading, 0);
    assert_eq!(media.first_rtp_time, packets[0].rtp_time);

    let probe = probe(&out);
    assert_eq!(packet_count(&probe), 90);
    assert_close(duration_s(&probe), 3.0, 0.1, "ffprobe duration");
}

#[test]
fn leading_delta_frames_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(VP8_90_FRAMES);
    let all_frames = frames(&packets);
    assert_eq!(all_frames.len(), 90);
    let full_out = dir.path().join("full.webm");
    mux_packets(dir.path(), Codec::Vp8, &packets, &full_out).unwrap();
    let flags = video_packet_flags(&full_out);
    let first_key = (10..90)
        .find(|&i| flags[i].starts_with('K'))
        .expect("a keyframe after frame 10");

    let mid_gop: Vec<JournalPacket> = all_frames[10..].concat();
    let skipped: usize = all_frames[10..first_key].iter().map(Vec::len).sum();
    let out = dir.path().join("mid-gop.webm");
    let media = mux_packets(dir.path(), Codec::Vp8, &mid_gop, &out).unwrap();

    assert_eq!(media.dropped_leading, skipped as u64);
    assert_eq!(media.frames, (90 - first_key) as u64);
    assert_eq!(media.first_rtp_time, all_frames[first_key][0].rtp_time);
    let expected_s = (90 - first_key) as f64 / 30.0;
    assert_close(
        media.duration_us as f64 / 1e6,
        expected_s,
        0.001,
        "duration",
    );

    let probe = probe(&out);
    assert_eq!(packet_count(&probe), (90 - first_key) as u64);
    assert_close(duration_s(&probe), expected_s, 0.1, "ffprobe duration");
    assert!(video_packet_flags(&out)[0].starts_with('K'));
    assert_decodes(&out);
}

#[test]
fn lost_packet_counted_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(VP8_90_FRAMES);
    let all_frames = frames(&packets);
    let split_frame = (40..90)
        .find(|&i| all_frames[i].len() > 2)
        .expect("a frame of three or more packets");
    let lost = &all_frames[split_frame][1];
    let lossy: Vec<JournalPacket> = packets
        .iter()
        .filter(|packet| *packet != lost)
        .cloned()
        .collect();

    let out = dir.path().join("lossy.webm");
    let media = mux_packets(dir.path(), Codec::Vp8, &lossy, &out).unwrap();
    assert_eq!(media.missing_packets, 1);
    assert!((89..=90).contains(&media.frames), "{media:?}");
    assert_eq!(packet_count(&probe(&out)), media.frames);
}

#[test]
fn only_delta_frames_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(VP8_90_FRAMES);
    let deltas: Vec<JournalPacket> = frames(&packets)[1..25].concat();
    let out = dir.path().join("deltas.webm");

    let result = mux_packets(dir.path(), Codec::Vp8, &deltas, &out);
    assert!(
        matches!(result, Err(RecorderError::NoKeyframe { packets, .. }) if packets == deltas.len()),
        "{result:?}"
    );
    assert!(!out.exists());
}

#[test]
fn empty_journal_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("empty.webm");
    let result = mux_packets(dir.path(), Codec::Opus, &[], &out);
    assert!(
        matches!(result, Err(RecorderError::Empty { .. })),
        "{result:?}"
    );
    assert!(!out.exists());
}

#[test]
fn vp9_segment_reports_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(
        "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! vp9enc keyframe-max-dist=30 deadline=1 ! rtpvp9pay mtu=1200",
    );
    let out = dir.path().join("vp9.webm");
    let media = mux_packets(dir.path(), Codec::Vp9, &packets, &out).unwrap();

    assert_eq!(media.frames, 60);
    assert_eq!(media.width, Some(320));
    assert_eq!(media.height, Some(240));
    let probe = probe(&out);
    assert_eq!(stream(&probe)["codec_name"], "vp9");
    assert_eq!(stream(&probe)["width"], 320);
    assert_eq!(stream(&probe)["height"], 240);
    assert_eq!(packet_count(&probe), 60);
    assert_close(duration_s(&probe), 2.0, 0.1, "ffprobe duration");
    assert_decodes(&out);
}

#[test]
fn h264_segment_probes_as_matroska() {
    let dir = tempfile::tempdir().unwrap();
    // config-interval=-1 sends SPS and PPS in front of every IDR slice, as browsers do.
    let packets = encode(
        "videotestsrc num-buffers=60 ! video/x-raw,width=640,height=360,framerate=30/1 \
         ! openh264enc gop-size=30 ! rtph264pay config-interval=-1 mtu=1200",
    );
    let mid_gop: Vec<JournalPacket> = frames(&packets)[5..].concat();
    let out = dir.path().join("h264.mkv");
    let media = mux_packets(dir.path(), Codec::H264, &mid_gop, &out).unwrap();

    assert_eq!(media.frames, 30);
    assert!(media.dropped_leading > 0);
    assert_eq!(media.width, Some(640));
    assert_eq!(media.height, Some(360));
    let probe = probe(&out);
    assert_eq!(probe["format"]["format_name"], "matroska,webm");
    assert_eq!(stream(&probe)["codec_name"], "h264");
    assert_eq!(stream(&probe)["width"], 640);
    assert_eq!(stream(&probe)["height"], 360);
    assert_eq!(packet_count(&probe), 30);
    assert_close(duration_s(&probe), 1.0, 0.1, "ffprobe duration");
    assert!(video_packet_flags(&out)[0].starts_with('K'));
    assert_decodes(&out);
}

#[test]
fn opus_segment_duration() {
    let dir = tempfile::tempdir().unwrap();
    let packets = encode(
        "audiotestsrc num-buffers=150 samplesperbuffer=960 \
         ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 ! rtpopuspay",
    );
    let out = dir.path().join("opus.webm");
    let media = mux_packets(dir.path(), Codec::Opus, &packets, &out).unwrap();

    assert_eq!(media.frames, packets.len() as u64);
    assert_eq!(media.width, None);
    assert_eq!(media.height, None);
    assert_close(media.duration_us as f64 / 1e6, 3.0, 0.03, "duration");
    let probe = probe(&out);
    assert_eq!(stream(&probe)["codec_name"], "opus");
    assert_eq!(stream(&probe)["channels"], 2);
    assert_eq!(packet_count(&probe), packets.len() as u64);
    assert_close(duration_s(&probe), 3.0, 0.1, "ffprobe duration");
    assert_decodes(&out);
}

#[test]
fn garbage_h264_fails_without_file() {
    let dir = tempfile::tempdir().unwrap();
    // IDR slices without parameter sets, with bytes that decode as nothing.
    let packets: Vec<JournalPacket> = (0..60u64)
        .map(|i| JournalPacket {
            arrival_unix_us: i,
            seq: i,
            rtp_time: i * 3_000,
            marker: true,
            payload: [0x65]
                .into_iter()
                .chain((0..200).map(|b| b as u8))
                .collect(),
        })
        .collect();
    let out = dir.path().join("garbage.mkv");
    let started = Instant::now();

    let result = mux_packets(dir.path(), Codec::H264, &packets, &out);
    assert!(
        matches!(result, Err(RecorderError::Pipeline { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < MUX_TIMEOUT - Duration::from_secs(5));
    assert!(!out.exists());
}

#[test]
fn av1_without_depayloader_rejected() {
    mux::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let supported = mux::codec_supported(Codec::Av1);
    let depayloader_exists = gstreamer::ElementFactory::find("rtpav1depay").is_some();
    assert_eq!(supported, depayloader_exists);
    if supported {
        return;
    }
    // An aggregation header with N set, then a temporal delimiter OBU.
    let packets = [JournalPacket {
        arrival_unix_us: 0,
        seq: 1,
        rtp_time: 0,
        marker: true,
        payload: vec![0x18, 0x12, 0x00],
    }];
    let out = dir.path().join("av1.webm");
    let result = mux_packets(dir.path(), Codec::Av1, &packets, &out);
    assert!(
        matches!(
            result,
            Err(RecorderError::UnsupportedCodec {
                codec: Codec::Av1,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(!out.exists());
}

/// ffprobe's streams and every packet's stream, timestamp, size and flags, which a file muxed
/// again from the same journal must repeat exactly.
fn packets_and_streams(path: &Path) -> serde_json::Value {
    let arguments = [
        "-show_entries",
        "packet=stream_index,pts,dts,duration,size,flags:stream=codec_name,width,height,channels",
    ];
    serde_json::from_slice(&ffprobe(path, &arguments)).unwrap()
}

#[test]
fn reused_muxer_matches_fresh_pipeline() {
    mux::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = |name: &str, codec: Codec, packets: &[JournalPacket]| {
        let path = dir.path().join(format!("{name}.journal"));
        write_journal(&path, codec, packets);
        read_journal(&path).unwrap()
    };
    let large = journal("large", Codec::Vp8, &encode(VP8_90_FRAMES));
    let small = journal(
        "small",
        Codec::Vp8,
        &encode(
            "videotestsrc num-buffers=30 pattern=ball \
             ! video/x-raw,width=320,height=240,framerate=30/1 \
             ! vp8enc keyframe-max-dist=10 deadline=1 ! rtpvp8pay mtu=1200",
        ),
    );
    let opus = journal(
        "opus",
        Codec::Opus,
        &encode(
            "audiotestsrc num-buffers=100 samplesperbuffer=960 \
             ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! rtpopuspay",
        ),
    );
    let delta_only = journal(
        "delta",
        Codec::Vp8,
        &frames(&encode(VP8_90_FRAMES))[1..5].concat(),
    );

    // Segments of both codecs in turn, with a failed one in between, through one muxer.
    let sequence = [&large, &opus, &small, &delta_only, &opus, &large, &small];
    let mut muxer = mux::Muxer::new();
    for (i, journal) in sequence.into_iter().enumerate() {
        let reused_out = dir.path().join(format!("reused-{i}.webm"));
        let fresh_out = dir.path().join(format!("fresh-{i}.webm"));
        let reused = muxer.mux(journal, &reused_out);
        let fresh = mux_segment(journal, &fresh_out);
        match (reused, fresh) {
            (Ok(reused), Ok(fresh)) => {
                assert_eq!(reused, fresh, "segment {i}");
                assert_eq!(
                    packets_and_streams(&reused_out),
                    packets_and_streams(&fresh_out),
                    "segment {i}"
                );
                // The muxer draws a random track UID per file and writes it in as few bytes
                // as its value needs, so one with leading zero bytes (1 in 256 has one) makes
                // the file shorter. Packets and streams are compared exactly above.
                let reused_len = std::fs::metadata(&reused_out).unwrap().len();
                let fresh_len = std::fs::metadata(&fresh_out).unwrap().len();
                assert!(
                    reused_len.abs_diff(fresh_len) <= 3,
                    "segment {i}: {reused_len} bytes reused, {fresh_len} fresh"
                );
                assert_decodes(&reused_out);
            }
            (Err(reused), Err(fresh)) => {
                assert!(
                    matches!(reused, RecorderError::NoKeyframe { .. }),
                    "segment {i}: {reused:?}"
                );
                assert!(
                    matches!(fresh, RecorderError::NoKeyframe { .. }),
                    "segment {i}: {fresh:?}"
                );
                assert!(!reused_out.exists());
            }
            (reused, fresh) => panic!("segment {i}: {reused:?} and {fresh:?}"),
        }
    }
    assert_eq!(
        muxer.remuxed(),
        0,
        "a reused pipeline wrote a malformed file"
    );

    // A pipeline that fails is replaced by a new one for the next segment of its codec.
    let unwritable = dir.path().join("missing").join("large.webm");
    let failed = muxer.mux(&large, &unwritable);
    assert!(
        matches!(failed, Err(RecorderError::Pipeline { .. })),
        "{failed:?}"
    );
    let after_out = dir.path().join("after-failure.webm");
    let after = muxer.mux(&large, &after_out).unwrap();
    let fresh_out = dir.path().join("fresh-after-failure.webm");
    assert_eq!(after, mux_segment(&large, &fresh_out).unwrap());
    assert_eq!(
        packets_and_streams(&after_out),
        packets_and_streams(&fresh_out)
    );
}

/// Muxes segments of changing sizes and codecs through one muxer many times and fails if any
/// first file was malformed. Run it on a loaded machine:
/// `MUX_STRESS_ROUNDS=500 cargo test -p recorder --test mux -- --ignored reused_muxer_stress`.
#[test]
#[ignore = "takes minutes; a stress run of the reused pipelines"]
fn reused_muxer_stress() {
    mux::init().unwrap();
    let rounds: usize = std::env::var("MUX_STRESS_ROUNDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let journal = |name: &str, codec: Codec, packets: &[JournalPacket]| {
        let path = dir.path().join(format!("{name}.journal"));
        write_journal(&path, codec, packets);
        read_journal(&path).unwrap()
    };
    // The largest makes files of several clusters and far more than filesink's 64 KiB buffer.
    let video = |width: u32, height: u32| {
        encode(&format!(
            "videotestsrc num-buffers=150 pattern=snow \
             ! video/x-raw,width={width},height={height},framerate=30/1 \
             ! vp8enc keyframe-max-dist=60 deadline=1 target-bitrate={} ! rtpvp8pay mtu=1200",
            width * height * 2
        ))
    };
    let journals = [
        journal("small", Codec::Vp8, &video(320, 180)),
        journal(
            "opus",
            Codec::Opus,
            &encode(
                "audiotestsrc num-buffers=100 samplesperbuffer=960 \
                 ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 ! rtpopuspay",
            ),
        ),
        journal("medium", Codec::Vp8, &video(640, 360)),
        journal("large", Codec::Vp8, &video(1280, 720)),
    ];
    let mut muxer = mux::Muxer::new();
    for round in 0..rounds {
        for (i, journal) in journals.iter().enumerate() {
            let out = dir.path().join(format!("{round}-{i}.webm"));
            muxer.mux(journal, &out).unwrap();
            std::fs::remove_file(&out).unwrap();
        }
        assert_eq!(muxer.remuxed(), 0, "round {round}");
    }
}
