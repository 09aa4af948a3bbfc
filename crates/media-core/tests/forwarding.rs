//! A publisher's packets reach a subscriber on the subscriber's own stream, unchanged.

mod common;

use std::time::Duration;

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
