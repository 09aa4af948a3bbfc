//! The figures of a run, serialized as JSON; `table.rs` prints them for people.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::options::Options;
use crate::payload::Kind;
use crate::procfs::Sample;
use crate::publisher::{PublisherLive, PublisherOutcome};
use crate::stats::Summary;
use crate::subscriber::SubscriberOutcome;

/// Samples of the server process at the points of the run.
#[derive(Debug, Clone)]
pub struct ServerSamples {
    /// The server's process id, if known.
    pub pid: Option<u32>,
    /// Before any client joined.
    pub before: Option<Sample>,
    /// With publishers sending and no subscribers.
    pub with_publishers: Option<Sample>,
    /// At the start of the measurement window.
    pub window_start: Option<Sample>,
    /// At the end of the measurement window.
    pub window_end: Option<Sample>,
    /// Largest resident set size seen in the window, KiB.
    pub peak_rss_kib: u64,
    /// Datagrams dropped on full receive buffers at the server's UDP sockets during the
    /// run.
    pub udp_drops: Option<u64>,
}

impl ServerSamples {
    /// No samples yet.
    pub fn new(pid: Option<u32>) -> Self {
        Self {
            pid,
            before: None,
            with_publishers: None,
            window_start: None,
            window_end: None,
            peak_rss_kib: 0,
            udp_drops: None,
        }
    }

    /// Keeps the largest resident set size.
    pub fn note_peak(&mut self, sample: Option<Sample>) {
        if let Some(sample) = sample {
            self.peak_rss_kib = self.peak_rss_kib.max(sample.rss_kib);
        }
    }
}

/// Input of [`Report::build`].
pub struct Inputs<'a> {
    /// The run's options.
    pub options: &'a Options,
    /// Outcome of each publisher.
    pub publishers: &'a [PublisherOutcome],
    /// Each publisher's counters after it stopped.
    pub publisher_lives: &'a [Arc<PublisherLive>],
    /// Measurements of each subscriber.
    pub subscribers: &'a [SubscriberOutcome],
    /// Tracks subscribed in all: two per watched publisher per subscriber.
    pub subscribed_tracks: usize,
    /// The server's samples.
    pub samples: ServerSamples,
    /// This process at the start and the end of the window.
    pub own: Option<(Sample, Sample)>,
    /// Datagrams dropped on full receive buffers at this load generator's sockets.
    pub own_udp_drops: Option<u64>,
    /// Packets subscribers received in the window.
    pub window_received: u64,
    /// From the start to every publisher connected.
    pub publishers_connected: Duration,
    /// From the first subscriber's join to every subscriber having its frames.
    pub join_phase: Duration,
}

/// The figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Options of the run.
    pub options: Options,
    /// Whether the run passed.
    pub passed: bool,
    /// Reasons the run failed.
    pub failures: Vec<String>,
    /// Publisher figures.
    pub publishers: PublisherFigures,
    /// Subscriber figures.
    pub subscribers: SubscriberFigures,
    /// Packets sent, expected, received and lost.
    pub packets: PacketFigures,
    /// Latency from publisher send to kernel arrival at the subscriber's socket, in the
    /// window, milliseconds.
    pub added_latency_ms: LatencyFigures,
    /// Interarrival jitter per subscribed track at the end, milliseconds.
    pub jitter_ms: JitterFigures,
    /// The server's CPU time and memory, when its process could be read.
    pub server: Option<ServerFigures>,
    /// This load generator's CPU time in the window.
    pub load_generator_cpu_seconds: Option<f64>,
    /// Time this load generator's threads waited for a CPU in the window, seconds.
    pub load_generator_runqueue_wait_seconds: Option<f64>,
    /// Datagrams the kernel dropped at this load generator's sockets because their receive
    /// buffers were full: loss caused by the load generator, not the server.
    pub load_generator_udp_drops: Option<u64>,
    /// One row per subscriber.
    pub per_subscriber: Vec<SubscriberRow>,
}

/// Packets and timings of one subscriber.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberRow {
    /// Index within the run, in joining order.
    pub index: u32,
    /// Distinct video packets received.
    pub video_packets: u64,
    /// Distinct audio packets received.
    pub audio_packets: u64,
    /// Simulcast layers of which video arrived, from 0 for the lowest; `[0]` without
    /// simulcast.
    pub video_layers: Vec<u8>,
    /// For each watched publisher, the layer whose video arrived last: the one the
    /// subscriber gets at the end of the run.
    pub current_layers: Vec<u8>,
    /// Expected packets that never arrived.
    pub lost: u64,
    /// Join to the first whole keyframe, ms.
    pub first_frame_ms: Option<f64>,
    /// Join to a whole keyframe of every watched publisher, ms.
    pub all_frames_ms: Option<f64>,
    /// Error that ended the subscriber, if any.
    pub error: Option<String>,
}

/// Publisher figures.
#[derive(Debug, Clone, Serialize)]
pub struct PublisherFigures {
    /// Publishers started.
    pub count: usize,
    /// Publishers whose ICE and DTLS completed.
    pub connected: usize,
    /// Seconds from the start until every publisher was connected or gave up.
    pub connect_phase_s: f64,
    /// Video packets sent.
    pub video_packets: u64,
    /// Audio packets sent.
    pub audio_packets: u64,
    /// Keyframes sent.
    pub keyframes: u64,
    /// Keyframe requests received from the server.
    pub keyframe_requests: u64,
}

/// Subscriber figures.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberFigures {
    /// Subscribers started.
    pub count: usize,
    /// Tracks subscribed in all.
    pub subscribed_tracks: usize,
    /// Subscribers that got a whole keyframe of every publisher they watch.
    pub with_all_frames: usize,
    /// Seconds from the first join until every subscriber had its frames or the wait ended.
    pub join_phase_s: f64,
    /// From the start of the join (token request) to ICE and DTLS completing, ms.
    pub connect_ms: Summary,
    /// From the start of the join to the first whole keyframe, ms.
    pub first_frame_ms: Summary,
    /// From the start of the join to a whole keyframe of every watched publisher, ms.
    pub all_frames_ms: Summary,
}

/// Packet counts.
#[derive(Debug, Clone, Serialize)]
pub struct PacketFigures {
    /// Packets the publishers sent, audio and video.
    pub sent: u64,
    /// Packets the subscribers should have received: for each subscribed track, those
    /// sent from the first one it received on.
    pub expected: u64,
    /// Distinct packets received.
    pub received: u64,
    /// Expected packets that never arrived.
    pub lost: u64,
    /// `lost / expected`.
    pub loss_ratio: f64,
    /// Copies of packets already received.
    pub duplicates: u64,
    /// Packets received in the measurement window: what the server forwarded then.
    pub window_received: u64,
    /// Length of the measurement window, seconds.
    pub window_s: f64,
    /// `window_received / window_s`.
    pub window_packets_per_second: f64,
}

/// Latency summaries.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyFigures {
    /// Video packets.
    pub video: Summary,
    /// Audio packets.
    pub audio: Summary,
}

/// Jitter per track.
#[derive(Debug, Clone, Serialize)]
pub struct JitterFigures {
    /// Mean over video tracks.
    pub video_mean: f64,
    /// Largest of any video track.
    pub video_max: f64,
    /// Mean over audio tracks.
    pub audio_mean: f64,
    /// Largest of any audio track.
    pub audio_max: f64,
}

/// The server's costs.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFigures {
    /// Process id.
    pub pid: u32,
    /// CPU time (user and system) in the window, seconds.
    pub window_cpu_s: f64,
    /// `window_cpu_s / window_s`: cores busy on average.
    pub cores_busy: f64,
    /// Time the server's threads were ready to run but waited for a CPU in the window,
    /// summed over threads, seconds. Large values mean the host, not the server, was
    /// the limit.
    pub window_runqueue_wait_s: f64,
    /// CPU time per packet forwarded in the window, microseconds.
    pub cpu_us_per_forwarded_packet: f64,
    /// Packets forwarded per second of one core's time.
    pub forwarded_per_core_second: f64,
    /// Resident memory before any client joined, KiB.
    pub rss_before_kib: u64,
    /// With publishers only, KiB.
    pub rss_publishers_kib: u64,
    /// At the end of the window, KiB.
    pub rss_end_kib: u64,
    /// Largest in the window, KiB.
    pub rss_peak_kib: u64,
    /// `(rss_end - rss_publishers) / subscribed tracks`, KiB.
    pub kib_per_subscribed_track: f64,
    /// Datagrams the kernel dropped at the server's UDP sockets because their receive
    /// buffers were full.
    pub udp_drops: Option<u64>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

impl Report {
    /// Puts the figures together and decides whether the run passed.
    pub fn build(inputs: Inputs<'_>) -> Self {
        let Inputs {
            options,
            publishers,
            publisher_lives,
            subscribers,
            subscribed_tracks,
            samples,
            own,
            own_udp_drops,
            window_received,
            publishers_connected,
            join_phase,
        } = inputs;
        let mut failures = Vec::new();

        for publisher in publishers {
            if let Some(error) = &publisher.error {
                failures.push(format!("publisher {}: {error}", publisher.index));
            } else if publisher.connect_time.is_none() {
                failures.push(format!("publisher {} never connected", publisher.index));
            }
        }
        let written = |publisher: u32, kind: Kind| {
            publisher_lives
                .get(publisher as usize)
                .map_or(0, |live| live.written(kind))
        };
        let written_on = |publisher: u32, kind: Kind, layer: u8| {
            publisher_lives
                .get(publisher as usize)
                .map_or(0, |live| live.written_on(kind, layer))
        };

        let (mut expected, mut received, mut lost, mut duplicates) = (0, 0, 0, 0);
        let mut jitter = [Vec::new(), Vec::new()];
        let mut latency = [Vec::new(), Vec::new()];
        let mut without_frames = Vec::new();
        let mut rows = Vec::new();
        for subscriber in subscribers {
            let mut row = SubscriberRow {
                index: subscriber.index,
                video_packets: 0,
                audio_packets: 0,
                video_layers: Vec::new(),
                current_layers: Vec::new(),
                lost: 0,
                first_frame_ms: subscriber.first_frame.map(ms),
                all_frames_ms: subscriber.all_frames.map(ms),
                error: subscriber.error.clone(),
            };
            if let Some(error) = &subscriber.error {
                failures.push(format!("subscriber {}: {error}", subscriber.index));
            }
            if subscriber.all_frames.is_none() {
                without_frames.push(subscriber.index);
            }
            // The layer of a publisher's track that arrived last is the one the subscriber
            // gets now. The server may have switched it away from others before.
            let mut latest: HashMap<(u32, Kind), (u64, u8)> = HashMap::new();
            for ((publisher, kind, layer), track) in &subscriber.tracks {
                let entry = latest.entry((*publisher, *kind)).or_insert((0, *layer));
                if track.last_arrival_ns >= entry.0 {
                    *entry = (track.last_arrival_ns, *layer);
                }
            }
            for ((publisher, kind, layer), track) in &subscriber.tracks {
                let current = latest.get(&(*publisher, *kind)).map(|&(_, l)| l) == Some(*layer);
                if current && *kind == Kind::Video {
                    row.current_layers.push(*layer);
                }
                let sent = track.expected_end(written_on(*publisher, *kind, *layer), current);
                expected += track.expected(sent);
                lost += track.lost(sent);
                row.lost += track.lost(sent);
                match kind {
                    Kind::Video => {
                        row.video_packets += track.unique;
                        row.video_layers.push(*layer);
                    }
                    Kind::Audio => row.audio_packets += track.unique,
                }
                received += track.unique;
                duplicates += track.duplicates;
                let slot = usize::from(*kind == Kind::Audio);
                jitter[slot].push(track.jitter_ns / 1e6);
            }
            row.video_layers.sort_unstable();
            row.video_layers.dedup();
            row.current_layers.sort_unstable();
            for (all, own) in latency.iter_mut().zip(&subscriber.latency_us) {
                all.extend(own.iter().map(|&us| f64::from(us) / 1000.0));
            }
            rows.push(row);
        }
        if !without_frames.is_empty() {
            let shown: Vec<String> = without_frames.iter().take(10).map(u32::to_string).collect();
            failures.push(format!(
                "{} of {} subscribers never got a whole keyframe of every publisher they watch \
                 (first: {})",
                without_frames.len(),
                subscribers.len(),
                shown.join(", ")
            ));
        }
        let loss_ratio = if expected == 0 {
            0.0
        } else {
            lost as f64 / expected as f64
        };
        if loss_ratio > options.max_loss {
            failures.push(format!(
                "lost {lost} of {expected} packets ({:.3}%), more than --max-loss {}",
                loss_ratio * 100.0,
                options.max_loss
            ));
        }
        let added_latency_ms = LatencyFigures {
            video: Summary::of(latency[0].clone()),
            audio: Summary::of(latency[1].clone()),
        };
        if added_latency_ms.video.count == 0 {
            failures.push("no video packet arrived in the measurement window".into());
        }

        let window_s = match (&samples.window_start, &samples.window_end) {
            (Some(start), Some(end)) => (end.at - start.at).as_secs_f64(),
            _ => options.duration,
        };
        let server = server_figures(&samples, window_received, subscribed_tracks);
        let sum = |kind| {
            (0..publisher_lives.len() as u32)
                .map(|p| written(p, kind))
                .sum::<u64>()
        };
        let mean = |values: &[f64]| {
            if values.is_empty() {
                0.0
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            }
        };
        let max = |values: &[f64]| values.iter().copied().fold(0.0, f64::max);

        Self {
            options: options.clone(),
            passed: failures.is_empty(),
            failures,
            publishers: PublisherFigures {
                count: publishers.len(),
                connected: publishers
                    .iter()
                    .filter(|p| p.connect_time.is_some())
                    .count(),
                connect_phase_s: publishers_connected.as_secs_f64(),
                video_packets: sum(Kind::Video),
                audio_packets: sum(Kind::Audio),
                keyframes: publisher_lives
                    .iter()
                    .map(|l| l.keyframes.load(std::sync::atomic::Ordering::Relaxed))
                    .sum(),
                keyframe_requests: publisher_lives
                    .iter()
                    .map(|l| {
                        l.keyframe_requests
                            .load(std::sync::atomic::Ordering::Relaxed)
                    })
                    .sum(),
            },
            subscribers: SubscriberFigures {
                count: subscribers.len(),
                subscribed_tracks,
                with_all_frames: subscribers
                    .iter()
                    .filter(|s| s.all_frames.is_some())
                    .count(),
                join_phase_s: join_phase.as_secs_f64(),
                connect_ms: Summary::of(
                    subscribers
                        .iter()
                        .filter_map(|s| s.connect_time)
                        .map(ms)
                        .collect(),
                ),
                first_frame_ms: Summary::of(
                    subscribers
                        .iter()
                        .filter_map(|s| s.first_frame)
                        .map(ms)
                        .collect(),
                ),
                all_frames_ms: Summary::of(
                    subscribers
                        .iter()
                        .filter_map(|s| s.all_frames)
                        .map(ms)
                        .collect(),
                ),
            },
            packets: PacketFigures {
                sent: sum(Kind::Video) + sum(Kind::Audio),
                expected,
                received,
                lost,
                loss_ratio,
                duplicates,
                window_received,
                window_s,
                window_packets_per_second: window_received as f64 / window_s.max(1e-9),
            },
            added_latency_ms,
            jitter_ms: JitterFigures {
                video_mean: mean(&jitter[0]),
                video_max: max(&jitter[0]),
                audio_mean: mean(&jitter[1]),
                audio_max: max(&jitter[1]),
            },
            server,
            load_generator_cpu_seconds: own.map(|(start, end)| end.cpu_seconds - start.cpu_seconds),
            load_generator_runqueue_wait_seconds: own
                .map(|(start, end)| end.runqueue_wait_seconds - start.runqueue_wait_seconds),
            load_generator_udp_drops: own_udp_drops,
            per_subscriber: rows,
        }
    }
}

fn server_figures(
    samples: &ServerSamples,
    window_received: u64,
    subscribed_tracks: usize,
) -> Option<ServerFigures> {
    let pid = samples.pid?;
    let start = samples.window_start?;
    let end = samples.window_end?;
    let before = samples.before?;
    let with_publishers = samples.with_publishers?;
    let window_cpu_s = end.cpu_seconds - start.cpu_seconds;
    let window_s = (end.at - start.at).as_secs_f64().max(1e-9);
    let forwarded = window_received as f64;
    let grown = end.rss_kib.saturating_sub(with_publishers.rss_kib) as f64;
    Some(ServerFigures {
        pid,
        window_cpu_s,
        cores_busy: window_cpu_s / window_s,
        window_runqueue_wait_s: end.runqueue_wait_seconds - start.runqueue_wait_seconds,
        cpu_us_per_forwarded_packet: if forwarded > 0.0 {
            window_cpu_s * 1e6 / forwarded
        } else {
            0.0
        },
        forwarded_per_core_second: if window_cpu_s > 0.0 {
            forwarded / window_cpu_s
        } else {
            0.0
        },
        rss_before_kib: before.rss_kib,
        rss_publishers_kib: with_publishers.rss_kib,
        rss_end_kib: end.rss_kib,
        rss_peak_kib: samples.peak_rss_kib.max(end.rss_kib),
        kib_per_subscribed_track: grown / subscribed_tracks.max(1) as f64,
        udp_drops: samples.udp_drops,
    })
}
