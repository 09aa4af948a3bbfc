//! Keyframe requests from many subscribers reach a publisher at most once per second per
//! track, and a request that comes too early is delayed, not lost.

mod common;

use std::time::{Duration, Instant};

use common::{member, EndpointId, Harness};
use media_core::{MediaKind, TrackSource};
use str0m::media::{KeyframeRequestKind, Mid};

const INTERVAL: Duration = Duration::from_secs(1);

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
