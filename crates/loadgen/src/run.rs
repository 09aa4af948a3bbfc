//! One run: publishers join, then subscribers, then a measurement window, then everyone
//! leaves and the report is put together.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::options::{Mode, Options, Target};
use crate::procfs::{self, Sample};
use crate::publisher::{self, MediaSpec, PublisherLive, PublisherOutcome, PublisherSpec};
use crate::report::{Report, ServerSamples};
use crate::session;
use crate::signalling::Server;
use crate::subscriber::{self, SubscriberLive, SubscriberOutcome, SubscriberSpec, Totals};
use crate::{Error, Phase};

/// How often the run checks progress and samples the server's memory.
const TICK: Duration = Duration::from_millis(100);
/// Media time before the server is sampled with publishers only.
const SETTLE: Duration = Duration::from_secs(1);
/// Time for packets on their way to arrive after publishers stop.
const DRAIN: Duration = Duration::from_secs(1);
/// Time each client has to leave.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the load described by `options` against the server and returns the report.
pub async fn run(options: &Options) -> Result<Report, Error> {
    validate(options)?;
    let server = Arc::new(Server::resolve(&options.url).await?);
    let pid = match options.server_pid {
        Some(pid) => Some(pid),
        None => procfs::pid_listening_on(server.addr.port()).unwrap_or(None),
    };
    let (room_count, publishers_per_room) = match options.mode {
        Mode::PerPublisher => (options.publishers, 1),
        Mode::WatchAll => (1, options.publishers),
    };
    let rooms = session::rooms(options.target, &server, room_count, publishers_per_room).await?;
    let (publisher_specs, mut subscriber_specs) = plan(options, &rooms)?;
    let subscribed_tracks = subscriber_specs.iter().map(|s| 2 * s.watches.len()).sum();
    let (phase, phase_watch) = watch::channel(Phase::Run);
    let totals = Arc::new(Totals::default());
    let mut samples = ServerSamples::new(pid);
    samples.before = sample(pid);
    let server_drops_before = pid.and_then(|pid| procfs::udp_drops(pid).ok());

    let started = Instant::now();
    let mut publishers = Vec::new();
    for spec in publisher_specs {
        let live = Arc::new(PublisherLive::default());
        let task = tokio::spawn(publisher::run(
            spec,
            Arc::clone(&server),
            Arc::clone(&live),
            phase_watch.clone(),
        ));
        publishers.push((live, task));
    }
    let deadline = Instant::now() + Duration::from_secs_f64(options.join_timeout);
    wait_until(deadline, || {
        publishers
            .iter()
            .all(|(live, task)| live.connected.load(Ordering::Relaxed) || task.is_finished())
    })
    .await;
    let publishers_connected = started.elapsed();
    for spec in &mut subscriber_specs {
        spec.feeds = spec
            .watches
            .iter()
            .filter_map(|&p| publishers.get(p as usize))
            .map(|(live, _)| live.feed.load(Ordering::Relaxed))
            .collect();
    }
    tokio::time::sleep(SETTLE).await;
    samples.with_publishers = sample(pid);

    let join_started = Instant::now();
    let mut subscribers = Vec::new();
    let spacing = Duration::from_secs_f64(1.0 / options.join_rate);
    for (position, spec) in subscriber_specs.into_iter().enumerate() {
        let live = Arc::new(SubscriberLive::default());
        let task = tokio::spawn(subscriber::run(
            spec,
            Arc::clone(&server),
            Arc::clone(&totals),
            Arc::clone(&live),
            phase_watch.clone(),
        ));
        subscribers.push((live, task));
        tokio::time::sleep_until(tokio::time::Instant::from_std(
            join_started + spacing * (position as u32 + 1),
        ))
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs_f64(options.join_timeout);
    wait_until(deadline, || {
        subscribers
            .iter()
            .all(|(live, task)| live.complete.load(Ordering::Relaxed) || task.is_finished())
    })
    .await;
    let join_phase = join_started.elapsed();

    let own_start = sample(Some(std::process::id()));
    samples.window_start = sample(pid);
    let received_start = totals.received.load(Ordering::Relaxed);
    totals.measuring.store(true, Ordering::Relaxed);
    let window_end = Instant::now() + Duration::from_secs_f64(options.duration);
    while Instant::now() < window_end {
        tokio::time::sleep(TICK.min(window_end - Instant::now())).await;
        samples.note_peak(sample(pid));
    }
    totals.measuring.store(false, Ordering::Relaxed);
    let received_end = totals.received.load(Ordering::Relaxed);
    samples.window_end = sample(pid);
    let own_end = sample(Some(std::process::id()));

    let _ = phase.send(Phase::Drain);
    tokio::time::sleep(DRAIN).await;
    let server_drops_after = pid.and_then(|pid| procfs::udp_drops(pid).ok());
    samples.udp_drops = server_drops_before
        .zip(server_drops_after)
        .map(|(before, after)| after.saturating_sub(before));
    let own_udp_drops = procfs::udp_drops(std::process::id()).ok();
    let _ = phase.send(Phase::Leave);
    let publisher_lives: Vec<Arc<PublisherLive>> = publishers
        .iter()
        .map(|(live, _)| Arc::clone(live))
        .collect();
    let publisher_outcomes = collect(publishers, |index| PublisherOutcome {
        index: index as u32,
        connect_time: None,
        send_drops: 0,
        error: Some("did not leave in time".into()),
    })
    .await;
    let subscriber_outcomes = collect(subscribers, |index| SubscriberOutcome {
        index: index as u32,
        error: Some("did not leave in time".into()),
        ..SubscriberOutcome::default()
    })
    .await;

    Ok(Report::build(crate::report::Inputs {
        options,
        publishers: &publisher_outcomes,
        publisher_lives: &publisher_lives,
        subscribers: &subscriber_outcomes,
        subscribed_tracks,
        samples,
        own: own_start.zip(own_end),
        own_udp_drops,
        window_received: received_end - received_start,
        publishers_connected,
        join_phase,
    }))
}

fn validate(options: &Options) -> Result<(), Error> {
    let checks = [
        (options.publishers >= 1, "--publishers must be at least 1"),
        (options.subscribers >= 1, "--subscribers must be at least 1"),
        (options.duration > 0.0, "--duration must be positive"),
        (options.fps >= 1, "--fps must be at least 1"),
        (
            options.target == Target::Profstage || options.room.is_none(),
            "--room is not used with --target janus: the run creates its rooms",
        ),
        (
            options.target == Target::Profstage || !options.simulcast,
            "--simulcast is not supported with --target janus",
        ),
        (
            options.target == Target::Profstage || options.view_size.is_none(),
            "--view-size is not supported with --target janus",
        ),
        (options.join_rate > 0.0, "--join-rate must be positive"),
        (
            options.join_timeout > 0.0,
            "--join-timeout must be positive",
        ),
        (options.video_kbps >= 10, "--video-kbps must be at least 10"),
        (
            options.audio_bytes > crate::payload::PROBE_LEN
                && options.audio_bytes <= crate::payload::MAX_PAYLOAD,
            "--audio-bytes must be from 36 to 1100",
        ),
        (
            (0.0..=1.0).contains(&options.max_loss),
            "--max-loss must be from 0 to 1",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, message)) => Err(Error::Setup((*message).to_string())),
        None => Ok(()),
    }
}

/// Assigns rooms and roles: who publishes where and whom each subscriber watches.
fn plan(
    options: &Options,
    rooms: &[String],
) -> Result<(Vec<PublisherSpec>, Vec<SubscriberSpec>), Error> {
    let media = MediaSpec {
        video_bitrate: options.video_kbps * 1000,
        fps: options.fps,
        keyframe_every: options.keyframe_every(),
        width: options.width,
        height: options.height,
        audio_bytes: options.audio_bytes,
        simulcast: options.simulcast,
    };
    let first_room = match &options.room {
        Some(room) if !rooms.contains(room) => {
            return Err(Error::Setup(format!(
                "the server has no room {room}; it has: {}",
                rooms.join(", ")
            )))
        }
        Some(room) => room.clone(),
        None => rooms
            .first()
            .cloned()
            .ok_or_else(|| Error::Setup("the server has no rooms".into()))?,
    };
    let view_size = options.view_size.map(|size| (size.width, size.height));
    let mut publishers = Vec::new();
    let mut subscribers = Vec::new();
    match options.mode {
        Mode::WatchAll => {
            for index in 0..options.publishers {
                publishers.push(PublisherSpec {
                    index,
                    target: options.target,
                    room: first_room.clone(),
                    role: "participant",
                    media: media.clone(),
                    ip: options.bind,
                });
            }
            for index in 0..options.subscribers {
                subscribers.push(SubscriberSpec {
                    index,
                    target: options.target,
                    room: first_room.clone(),
                    role: "expert",
                    watches: (0..options.publishers).collect(),
                    feeds: Vec::new(),
                    ip: options.bind,
                    view_size,
                });
            }
        }
        Mode::PerPublisher => {
            let chosen: Vec<String> = if options.publishers == 1 {
                vec![first_room]
            } else if rooms.len() >= options.publishers as usize {
                rooms[..options.publishers as usize].to_vec()
            } else {
                return Err(Error::Setup(format!(
                    "per-publisher mode puts each publisher in a room of its own: {} \
                     publishers need {} rooms, and the server has {} (add [[rooms]] to its \
                     configuration)",
                    options.publishers,
                    options.publishers,
                    rooms.len()
                )));
            };
            for (index, room) in (0..options.publishers).zip(chosen) {
                publishers.push(PublisherSpec {
                    index,
                    target: options.target,
                    room: room.clone(),
                    role: "organiser",
                    media: media.clone(),
                    ip: options.bind,
                });
                for position in 0..options.subscribers {
                    subscribers.push(SubscriberSpec {
                        index: index * options.subscribers + position,
                        target: options.target,
                        room: room.clone(),
                        role: "participant",
                        watches: vec![index],
                        feeds: Vec::new(),
                        ip: options.bind,
                        view_size,
                    });
                }
            }
        }
    }
    // Interleave subscribers of different publishers so that joins spread over rooms.
    if options.mode == Mode::PerPublisher {
        let per = options.subscribers as usize;
        let count = subscribers.len();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|i| (i % per, i / per));
        let mut sorted: Vec<Option<SubscriberSpec>> = subscribers.into_iter().map(Some).collect();
        subscribers = order.into_iter().filter_map(|i| sorted[i].take()).collect();
    }
    for (position, subscriber) in subscribers.iter_mut().enumerate() {
        subscriber.index = position as u32;
    }
    Ok((publishers, subscribers))
}

fn sample(pid: Option<u32>) -> Option<Sample> {
    pid.and_then(|pid| procfs::sample(pid).ok())
}

async fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) {
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(TICK).await;
    }
}

/// Waits for every task. A task that does not end within [`LEAVE_TIMEOUT`] is aborted, and
/// `missing(index)` takes the place of its outcome.
async fn collect<L, T, F>(tasks: Vec<(L, JoinHandle<T>)>, missing: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T,
{
    let deadline = tokio::time::Instant::now() + LEAVE_TIMEOUT;
    let mut outcomes = Vec::with_capacity(tasks.len());
    for (index, (_, task)) in tasks.into_iter().enumerate() {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            _ => {
                abort.abort();
                outcomes.push(missing(index));
            }
        }
    }
    outcomes
}
