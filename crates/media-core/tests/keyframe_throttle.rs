//! Keyframe requests from many subscribers reach a publisher at most once per second per
//! track, and a request that comes too early is delayed, not lost, unless a keyframe
//! of the layer arrives meanwhile. A subscriber that joins waits at most 200 ms for a request.

mod common;

use std::time::{Duration, Instant};

use common::{member, EndpointId, Harness, KEYFRAME_RESPONSE_DELAY, VIDEO_FRAME_INTERVAL};
use media_core::{MediaKind, TrackSource};
use str0m::media::{KeyframeRequestKind, Mid};

const INTERVAL: Duration = Duration::from_secs(1);
/// The default shortest gap before a request for a subscriber that waits for a keyframe.
const WAITING_INTERVAL: Duration = Duration::from_millis(200);
/// Time the SFU and the simulated network take to pass a request or a packet on.
const SLACK: Duration = Duration::from_millis(30);
/// Maximum time from a keyframe request reaching the publisher to the keyframe arriving at
/// a subscriber: the publisher's response delay, the wait for the next frame, and `SLACK`.
const KEYFRAME_DELIVERY: Duration = KEYFRAME_RESPONSE_DELAY
    .saturating_add(VIDEO_FRAME_INTERVAL)
    .saturating_add(SLACK);
/// Spread of the arrival times of requests at the publisher around the times the SFU sent
/// them.
const ARRIVAL_SPREAD: Duration = Duration::from_millis(5);

struct Setup {
    h: Harness,
    publisher: EndpointId,
    subscribers: Vec<(EndpointId, Mid)>,
    publisher_video_mid: Mid,
}

fn publisher_with_subscribers(count: usize) -> Setup {
    let mut h = Harness::new();
    let publisher = h.add_publisher(
        member("hall"),
        &[
            (MediaKind::Video, TrackSource::Camera),
            (MediaKind::Audio, TrackSource::Microphone),
        ],
    );
    let ids: Vec<EndpointId> = (0..count)
        .map(|_| h.add_subscriber(member("hall")))
        .collect();
    h.connect_all();
    h.run_for(Duration::from_secs(2));
    let video = h.track_of(publisher, MediaKind::Video);
    let subscribers = ids.iter().map(|id| (*id, h.mid_for(*id, video))).collect();
    let publisher_video_mid = h.endpoint(publisher).sent_track(MediaKind::Video).mid;
    Setup {
        h,
        publisher,
        subscribers,
        publisher_video_mid,
    }
}

fn requests_since(h: &Harness, publisher: EndpointId, since: Instant) -> Vec<(Instant, Mid)> {
    h.endpoint(publisher)
        .keyframe_requests
        .iter()
        .filter(|(at, _)| *at >= since)
        .copied()
        .collect()
}

#[test]
fn pli_storm_reaches_publisher_once_per_second() {
    let Setup {
        mut h,
        publisher,
        subscribers,
        publisher_video_mid,
    } = publisher_with_subscribers(3);
    let storm_start = h.now;
    let previous = h.endpoint(publisher).keyframe_requests.last().copied();

    // Every subscriber sends a PLI every 50 ms for 3 s.
    for _ in 0..60 {
        for (subscriber, mid) in &subscribers {
            h.request_keyframe(*subscriber, *mid);
        }
        h.run_for(Duration::from_millis(50));
    }

    let requests = requests_since(&h, publisher, storm_start);
    assert!(
        requests.iter().all(|(_, mid)| *mid == publisher_video_mid),
        "requests only for the video track: {requests:?}"
    );
    // One request at most per started second, and the storm is not swallowed either.
    assert!(
        (2..=4).contains(&requests.len()),
        "{} requests in 3 s",
        requests.len()
    );
    let times: Vec<Instant> = previous
        .into_iter()
        .chain(requests)
        .map(|(at, _)| at)
        .collect();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= INTERVAL, "two keyframe requests {gap:?} apart");
    }
}

#[test]
fn early_request_is_sent_when_interval_ends() {
    let Setup {
        mut h,
        publisher,
        subscribers,
        ..
    } = publisher_with_subscribers(1);
    let (subscriber, mid) = subscribers[0];

    let start = h.now;
    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_millis(300));
    let first = requests_since(&h, publisher, start);
    assert_eq!(first.len(), 1, "the first request passes at once");
    let first_at = first[0].0;

    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_millis(1500));
    let all = requests_since(&h, publisher, start);
    assert_eq!(all.len(), 2, "the early request is held, then sent");
    let gap = all[1].0 - first_at;
    assert!(
        gap >= INTERVAL && gap < INTERVAL + Duration::from_millis(50),
        "held request sent {gap:?} after the previous one"
    );
}

#[test]
fn fir_reaches_publisher_as_fir() {
    let Setup {
        mut h,
        publisher,
        subscribers,
        ..
    } = publisher_with_subscribers(1);
    let (subscriber, mid) = subscribers[0];
    let before = h.endpoint(publisher).keyframe_kinds.len();

    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_millis(300));
    h.request_keyframe_of_kind(subscriber, mid, KeyframeRequestKind::Fir);
    h.run_for(Duration::from_millis(1500));

    let kinds = &h.endpoint(publisher).keyframe_kinds[before..];
    assert_eq!(
        kinds.len(),
        2,
        "the PLI at once, the held FIR after the interval"
    );
    assert_eq!(kinds[0], KeyframeRequestKind::Pli);
    assert_eq!(
        kinds[1],
        KeyframeRequestKind::Fir,
        "the held request became a FIR"
    );
}

/// Adds a subscriber and returns it with the time it sent its SDP answer to the SFU.
fn join(h: &mut Harness) -> (EndpointId, Instant) {
    let subscriber = h.add_subscriber(member("hall"));
    let answered_at = h
        .endpoint(subscriber)
        .offers
        .last()
        .expect("the subscriber answered an offer")
        .answered_at;
    (subscriber, answered_at)
}

/// Returns how long after `since` the first video packet reached `subscriber`.
fn first_video_after(
    h: &Harness,
    publisher: EndpointId,
    subscriber: EndpointId,
    since: Instant,
) -> Option<Duration> {
    let video = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, video);
    let first = h.endpoint(subscriber).received_on(mid).first()?.at;
    Some(first - since)
}

#[test]
fn joins_300_ms_apart_each_get_a_request() {
    let Setup {
        mut h, publisher, ..
    } = publisher_with_subscribers(1);

    for _ in 0..2 {
        let (subscriber, answered_at) = join(&mut h);
        h.run_for(Duration::from_millis(300));
        let requests = requests_since(&h, publisher, answered_at);
        let first = requests
            .first()
            .expect("the join brought a keyframe request");
        let waited = first.0 - answered_at;
        assert!(
            waited <= SLACK,
            "keyframe request {waited:?} after the join"
        );
        let video = first_video_after(&h, publisher, subscriber, answered_at);
        assert!(
            video.is_some_and(|v| v <= SLACK + KEYFRAME_DELIVERY),
            "first video {video:?} after the join"
        );
    }
}

#[test]
fn join_flood_spaces_requests_by_short_gap() {
    let Setup {
        mut h, publisher, ..
    } = publisher_with_subscribers(1);
    let flood_start = h.now;

    // A subscriber joins every 50 ms for 2 s.
    let mut joined = Vec::new();
    for _ in 0..40 {
        joined.push(join(&mut h));
        h.run_for(Duration::from_millis(50));
    }
    h.run_for(Duration::from_millis(500));

    let requests = requests_since(&h, publisher, flood_start);
    let times: Vec<Instant> = requests.iter().map(|(at, _)| *at).collect();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= WAITING_INTERVAL - ARRIVAL_SPREAD,
            "two keyframe requests {gap:?} apart"
        );
    }
    assert!(
        requests.len() <= 11,
        "{} requests for 2 s of joins",
        requests.len()
    );
    let longest = WAITING_INTERVAL + SLACK + KEYFRAME_DELIVERY;
    for (subscriber, answered_at) in joined {
        let video = first_video_after(&h, publisher, subscriber, answered_at);
        assert!(
            video.is_some_and(|v| v <= longest),
            "first video {video:?} after a join"
        );
    }
}

#[test]
fn keyframe_drops_held_request() {
    let Setup {
        mut h,
        publisher,
        subscribers,
        ..
    } = publisher_with_subscribers(1);
    let (subscriber, mid) = subscribers[0];

    let start = h.now;
    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_millis(20));
    // Held: no keyframe followed the first request yet.
    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_millis(1500));

    let requests = requests_since(&h, publisher, start);
    assert_eq!(
        requests.len(),
        1,
        "the keyframe that answered the first request answered the held one"
    );
    let keyframes = h
        .endpoint(publisher)
        .sent_track(MediaKind::Video)
        .sent
        .iter()
        .filter(|p| p.keyframe && p.at >= start)
        .count();
    assert!(keyframes > 0, "the publisher sent a keyframe");
}
