//! Connection quality: bitrate, loss, jitter and round-trip time per client, from str0m's
//! stats of real peers on a virtual clock.

mod common;

use std::time::Duration;

use common::{member, EndpointId, Harness, Impairment};
use media_core::{ClientQuality, LinkQuality, MediaKind, TrackSource};

struct Setup {
    h: Harness,
    publisher: EndpointId,
    subscriber: EndpointId,
}

fn camera_and_microphone_to_one_subscriber() -> Setup {
    let mut h = Harness::new();
    let tracks = [
        (MediaKind::Video, TrackSource::Camera),
        (MediaKind::Audio, TrackSource::Microphone),
    ];
    let publisher = h.add_publisher(member("hall"), &tracks);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    Setup {
        h,
        publisher,
        subscriber,
    }
}

fn quality_of(h: &Harness, endpoint: EndpointId) -> ClientQuality {
    let client = h.endpoint(endpoint).client;
    h.sfu
        .client_quality(client)
        .expect("the client's connection reported stats")
}

/// Returns the payload bits per second the publisher wrote over the last `window`.
fn sent_bitrate(h: &Harness, publisher: EndpointId, window: Duration) -> f64 {
    let since = h.now - window;
    let bytes: usize = h
        .endpoint(publisher)
        .tracks
        .iter()
        .flat_map(|t| t.sent.iter())
        .filter(|p| p.at > since)
        .map(|p| p.payload.len())
        .sum();
    bytes as f64 * 8.0 / window.as_secs_f64()
}

fn assert_near(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let low = expected * (1.0 - tolerance);
    let high = expected * (1.0 + tolerance);
    assert!(
        (low..=high).contains(&actual),
        "{what}: {actual:.0}, expected {expected:.0} within {tolerance}"
    );
}

fn loss(link: &LinkQuality) -> f32 {
    link.loss.expect("a receiver report gave the loss")
}

#[test]
fn publisher_bitrate_matches_what_it_sends() {
    let Setup {
        mut h, publisher, ..
    } = camera_and_microphone_to_one_subscriber();
    h.run_for(Duration::from_secs(4));

    let quality = quality_of(&h, publisher);
    let link = quality
        .publishing
        .expect("figures of the publishing connection");
    assert!(
        quality.receiving.is_none(),
        "the publisher receives nothing"
    );
    let sent = sent_bitrate(&h, publisher, Duration::from_secs(2));
    assert_near(link.bitrate as f64, sent, 0.3, "publishing bitrate");
    assert_eq!(link.tracks.len(), 2, "{:?}", link.tracks);
    let video = link.tracks.iter().find(|t| t.kind == MediaKind::Video);
    let audio = link.tracks.iter().find(|t| t.kind == MediaKind::Audio);
    assert!(video.expect("video figures").bitrate > 0);
    assert!(audio.expect("audio figures").bitrate > 0);
    assert_eq!(loss(&link), 0.0);
    assert!(
        link.jitter.is_some(),
        "jitter from the router's receiver reports"
    );
    assert!(link.rtt.is_some(), "round-trip time from extended reports");
}

#[test]
fn subscriber_bitrate_matches_what_it_is_sent() {
    let Setup {
        mut h,
        publisher,
        subscriber,
    } = camera_and_microphone_to_one_subscriber();
    h.run_for(Duration::from_secs(4));

    let quality = quality_of(&h, subscriber);
    let link = quality
        .receiving
        .expect("figures of the receiving connection");
    let sent = sent_bitrate(&h, publisher, Duration::from_secs(2));
    assert_near(link.bitrate as f64, sent, 0.3, "receiving bitrate");
    assert_eq!(link.tracks.len(), 2, "{:?}", link.tracks);
    assert_eq!(loss(&link), 0.0);
    assert!(link.rtt.is_some(), "round-trip time from receiver reports");
    assert!(
        link.jitter.is_some(),
        "jitter from the subscriber's receiver reports"
    );
}

#[test]
fn loss_to_subscriber_is_reported() {
    let Setup {
        mut h,
        publisher,
        subscriber,
    } = camera_and_microphone_to_one_subscriber();
    h.impair(subscriber, Impairment::random(11, 0.1));
    let client = h.endpoint(subscriber).client;
    let mut reported = Vec::new();
    for _ in 0..12 {
        h.run_for(Duration::from_millis(500));
        let quality = h.sfu.client_quality(client);
        reported.extend(quality.and_then(|q| q.receiving).and_then(|l| l.loss));
    }
    // Retransmissions repair most dropped video packets before the next receiver report,
    // and RTCP counts a repaired packet as received, so some reports show no loss.
    let lost = reported.iter().copied().fold(0.0, f32::max);
    assert!(
        (0.005..0.2).contains(&lost),
        "largest loss {lost} of {reported:?}, 10% dropped"
    );
    let upstream = quality_of(&h, publisher)
        .publishing
        .expect("figures of the publishing connection");
    assert_eq!(loss(&upstream), 0.0, "the publisher's path is clean");
}

#[test]
fn loss_from_publisher_is_reported() {
    let Setup {
        mut h,
        publisher,
        subscriber,
    } = camera_and_microphone_to_one_subscriber();
    h.impair_uplink(publisher, Impairment::random(5, 0.1));
    h.run_for(Duration::from_secs(6));

    assert!(!h.endpoint(publisher).dropped_uplink.is_empty());
    let link = quality_of(&h, publisher)
        .publishing
        .expect("figures of the publishing connection");
    let lost = loss(&link);
    // Retransmissions repair most dropped video packets before the next receiver report,
    // and RTCP counts a repaired packet as received.
    assert!((0.005..0.2).contains(&lost), "loss {lost}, 10% dropped");
    // Audio is not retransmitted, so its receiver reports show the whole loss.
    let audio = link
        .tracks
        .iter()
        .find(|t| t.kind == MediaKind::Audio)
        .expect("audio figures");
    let audio_loss = audio.loss.expect("a receiver report of the audio");
    assert!((0.04..0.2).contains(&audio_loss), "audio loss {audio_loss}");
    assert!(quality_of(&h, subscriber).receiving.is_some());
}

#[test]
fn client_without_connections_has_no_quality() {
    let mut h = Harness::new();
    let client = h.add_client(member("hall"));
    h.run_for(Duration::from_secs(3));
    assert!(h.sfu.client_quality(client).is_none());
    assert!(h.sfu.quality().is_empty());
}

#[test]
fn removed_client_has_no_quality() {
    let Setup {
        mut h, publisher, ..
    } = camera_and_microphone_to_one_subscriber();
    h.run_for(Duration::from_secs(3));
    let client = h.endpoint(publisher).client;
    assert!(h.sfu.client_quality(client).is_some());

    h.remove_client(client);
    assert!(h.sfu.client_quality(client).is_none());
    assert!(h.sfu.quality().iter().all(|q| q.client != client));
}
