//! Cost of muxing one segment, printed for a person to read. Run with
//! `cargo test --release -p recorder --test mux_cost -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::{encode, frames, write_journal};
use recorder::journal::{read_journal, Codec, JournalPacket};
use recorder::mux::{self, mux_segment};

const RUNS: u32 = 20;

/// User plus system CPU time of this process so far, from /proc/self/stat (Linux only), in
/// clock ticks of 10 ms on the usual kernels (USER_HZ = 100).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn measure(label: &str, codec: Codec, packets: &[JournalPacket]) {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("segment.journal");
    write_journal(&journal_path, codec, packets);
    let bytes = std::fs::metadata(&journal_path).unwrap().len();

    let mut read_time = Duration::ZERO;
    let mut mux_time = Duration::ZERO;
    let ticks_before = cpu_ticks();
    for run in 0..RUNS {
        let started = Instant::now();
        let journal = read_journal(&journal_path).unwrap();
        read_time += started.elapsed();
        let started = Instant::now();
        mux_segment(&journal, &dir.path().join(format!("{run}.webm"))).unwrap();
        mux_time += started.elapsed();
    }
    let cpu_ms = (cpu_ticks() - ticks_before) * 10;
    println!(
        "{label}: journal {bytes} bytes, {} packets; per segment: read {:.2} ms, mux {:.2} ms \
         wall, {:.1} ms CPU (read and mux, 10 ms tick resolution over {RUNS} runs)",
        packets.len(),
        read_time.as_secs_f64() * 1e3 / f64::from(RUNS),
        mux_time.as_secs_f64() * 1e3 / f64::from(RUNS),
        cpu_ms as f64 / f64::from(RUNS),
    );
}

#[test]
#[ignore = "prints timings, run by hand in release mode"]
fn mux_cost_per_segment() {
    mux::init().unwrap();
    let vp8 = encode(
        "videotestsrc num-buffers=120 ! video/x-raw,width=640,height=480,framerate=30/1 \
         ! vp8enc keyframe-max-dist=120 deadline=1 target-bitrate=1500000 ! rtpvp8pay mtu=1200",
    );
    measure("VP8 640x480 4 s", Codec::Vp8, &vp8);
    measure("VP8 one keyframe", Codec::Vp8, &frames(&vp8)[0]);
    let opus = encode(
        "audiotestsrc num-buffers=200 samplesperbuffer=960 \
         ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 ! rtpopuspay",
    );
    measure("Opus 4 s", Codec::Opus, &opus);
    measure("Opus one packet", Codec::Opus, &opus[..1]);
}
