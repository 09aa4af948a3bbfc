//! A publisher's packets reach a subscriber on the subscriber's own stream, unchanged.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{announced_ssrc, assert_contiguous, member, EndpointId, Harness};
use media_core::{MediaKind, TrackSource};

fn publisher_and_subscriber() -> (Harness, EndpointId, EndpointId) {
    let mut h = Harness::new();
    let subscriber = h.add_subscriber(member("hall"));
    let publisher = h.add_publisher(
        member("hall"),
        &[
            (MediaKind::Video, TrackSource::Camera),
            (MediaKind::Audio, TrackSource::Microphone),
        ],
    );
    h.connect_all();
    h.run_for(Duration::from_secs(2));
    (h, publisher, subscriber)
}

fn check_forwarded(kind: MediaKind, minimum: usize) {
    let (mut h, publisher, subscriber) = publisher_and_subscriber();
    let track = h.track_of(publisher, kind);
    let mid = h.mid_for(subscriber, track);
    let publisher_ssrc = h.endpoint_mut(publisher).sending_ssrc(kind);
    let sub = h.endpoint(subscriber);
    let received = sub.received_on(mid);
    assert!(
        received.len() >= minimum,
        "{kind:?}: {} packets received, expected at least {minimum}",
        received.len()
    );

    let offer = &sub.offers.last().expect("an answered offer").offer;
    let own_ssrc = announced_ssrc(offer, mid).expect("the offer announces an SSRC");
    assert_ne!(own_ssrc, publisher_ssrc, "{kind:?}: SSRC is rewritten");
    for packet in &received {
        assert_eq!(
            packet.ssrc, own_ssrc,
            "{kind:?}: SSRC of {}",
            packet.sequence
        );
    }

    assert_contiguous(&received, &format!("{kind:?}"));

    let sent = &h.endpoint(publisher).sent_track(kind).sent;
    let first = sent
        .iter()
        .position(|p| p.payload == received[0].payload)
        .expect("the first received payload was sent");
    for (offset, packet) in received.iter().enumerate() {
        let original = &sent[first + offset];
        assert_eq!(
            packet.payload, original.payload,
            "{kind:?}: payload {offset}"
        );
        assert_eq!(packet.marker, original.marker, "{kind:?}: marker {offset}");
    }
}

#[test]
fn video_reaches_subscriber_unchanged() {
    // 2 s at 30 frames per second, at least two packets per frame, minus the start.
    check_forwarded(MediaKind::Video, 100);
}

#[test]
fn audio_reaches_subscriber_unchanged() {
    // 2 s at 50 packets per second, minus the start.
    check_forwarded(MediaKind::Audio, 80);
}

#[test]
fn video_frame_forwarded_without_delay() {
    let (h, publisher, subscriber) = publisher_and_subscriber();
    let track = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, track);
    let received = h.endpoint(subscriber).received_on(mid);
    let sent = &h.endpoint(publisher).sent_track(MediaKind::Video).sent;

    let mut frames: BTreeMap<u32, Vec<Instant>> = BTreeMap::new();
    for packet in &received {
        frames.entry(packet.timestamp).or_default().push(packet.at);
        let written = sent
            .iter()
            .find(|p| p.payload == packet.payload)
            .expect("every received payload was sent");
        // The harness's publisher sends what it wrote at its next step, 1 ms on; the
        // router must add no step of its own.
        let delay = packet.at - written.at;
        assert!(
            delay <= Duration::from_millis(1),
            "packet {} arrived {delay:?} after it was written",
            packet.sequence
        );
    }
    assert!(frames.len() >= 50, "{} frames received", frames.len());
    for (timestamp, arrivals) in &frames {
        assert!(arrivals.len() >= 2, "frame {timestamp} has every packet");
        let spread = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
        assert_eq!(
            spread,
            Duration::ZERO,
            "frame {timestamp} arrived in one burst"
        );
    }
}

#[test]
fn burst_costs_one_timeout_per_packet() {
    let mut h = Harness::new();
    let subscribers: Vec<_> = (0..5).map(|_| h.add_subscriber(member("hall"))).collect();
    let publisher = h.add_publisher(
        member("hall"),
        &[
            (MediaKind::Video, TrackSource::Camera),
            (MediaKind::Audio, TrackSource::Microphone),
        ],
    );
    for track in &mut h.endpoint_mut(publisher).tracks {
        track.keyframe_packets = 40;
    }
    h.connect_all();
    h.run_for(Duration::from_secs(2));
    let mids: Vec<_> = [MediaKind::Video, MediaKind::Audio]
        .into_iter()
        .map(|kind| h.track_of(publisher, kind))
        .flat_map(|track| subscribers.iter().map(move |&s| (s, track)))
        .map(|(subscriber, track)| (subscriber, h.mid_for(subscriber, track)))
        .collect();
    let received = |h: &Harness| -> usize {
        mids.iter()
            .map(|&(subscriber, mid)| h.endpoint(subscriber).received_on(mid).len())
            .sum()
    };
    let (inputs_before, packets_before) = (h.sfu.timer_inputs(), received(&h));
    let (first, first_mid) = mids[0];
    h.request_keyframe(first, first_mid);
    h.run_for(Duration::from_millis(200));

    // Reopening the pacer's gate at once after each packet costs two timeouts per packet.
    let inputs = h.sfu.timer_inputs() - inputs_before;
    let packets = received(&h) - packets_before;
    assert!(packets >= 5 * 40, "{packets} packets forwarded");
    let per_packet = inputs as f64 / packets as f64;
    assert!(
        per_packet < 1.4,
        "{inputs} timer inputs for {packets} forwarded packets ({per_packet:.2} each)"
    );
}

#[test]
fn large_keyframe_forwarded_in_one_burst() {
    let mut h = Harness::new();
    let subscriber = h.add_subscriber(member("hall"));
    let publisher = h.add_publisher(member("hall"), &[(MediaKind::Video, TrackSource::Camera)]);
    // 40 packets of 1000 bytes: about 80 ms at the subscriber's first bandwidth estimate
    // of 1 Mbit/s, far beyond the 40 ms burst str0m's pacer lets out at once.
    for track in &mut h.endpoint_mut(publisher).tracks {
        track.payload_size = 1000;
        track.keyframe_packets = 40;
    }
    h.connect_all();
    h.run_for(Duration::from_secs(2));
    let track = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, track);
    h.request_keyframe(subscriber, mid);
    h.run_for(Duration::from_secs(1));

    let sent = &h.endpoint(publisher).sent_track(MediaKind::Video).sent;
    let keyframe = sent
        .iter()
        .rev()
        .find(|p| p.keyframe)
        .expect("the publisher sent a keyframe");
    let received: Vec<_> = h
        .endpoint(subscriber)
        .received_on(mid)
        .into_iter()
        .filter(|p| p.timestamp == keyframe.timestamp)
        .collect();
    assert_eq!(received.len(), 40, "every packet of the keyframe arrived");
    let first = received.iter().map(|p| p.at).min().unwrap();
    let last = received.iter().map(|p| p.at).max().unwrap();
    assert_eq!(
        last - first,
        Duration::ZERO,
        "the keyframe arrived in one burst"
    );
}
