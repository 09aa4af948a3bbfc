//! A subscriber that joins a running stream starts with a keyframe, and soon.

mod common;

use std::time::Duration;

use common::{is_vp8_keyframe_start, member, Harness};
use media_core::{MediaKind, TrackSource};

#[test]
fn late_subscriber_gets_keyframe_within_a_second() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(
        member("hall"),
        &[
            (MediaKind::Video, TrackSource::Camera),
            (MediaKind::Audio, TrackSource::Microphone),
        ],
    );
    let early = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(5));
    let video = h.track_of(publisher, MediaKind::Video);
    let early_mid = h.mid_for(early, video);
    assert!(
        !h.endpoint(early).received_on(early_mid).is_empty(),
        "the stream runs before the late subscriber joins"
    );
    let keyframes_before = h
        .endpoint(publisher)
        .sent_track(MediaKind::Video)
        .keyframes();

    let late = h.add_subscriber(member("hall"));
    let answered_at = h
        .endpoint(late)
        .offers
        .last()
        .expect("the late subscriber answered an offer")
        .answered_at;
    let mid = h.mid_for(late, video);
    let arrived = h.run_until(Duration::from_secs(3), |h| {
        !h.endpoint(late).received_on(mid).is_empty()
    });
    assert!(arrived, "the late subscriber receives video");

    let first = h.endpoint(late).received_on(mid)[0].clone();
    let delay = first.at - answered_at;
    assert!(
        delay <= Duration::from_secs(1),
        "first video packet {delay:?} after the answer"
    );
    assert!(
        is_vp8_keyframe_start(&first.payload),
        "first video packet starts a keyframe: {:02x?}",
        &first.payload[..4]
    );
    let sent = &h.endpoint(publisher).sent_track(MediaKind::Video).sent;
    let withheld = sent
        .iter()
        .filter(|p| p.at >= answered_at && p.at < first.at && !p.keyframe)
        .count();
    assert!(
        withheld > 0,
        "delta frames sent before the keyframe were withheld"
    );
    let keyframes_after = h
        .endpoint(publisher)
        .sent_track(MediaKind::Video)
        .keyframes();
    assert!(
        keyframes_after > keyframes_before,
        "the publisher was asked for a new keyframe"
    );
}

#[test]
fn late_subscriber_gets_all_tracks_in_one_offer() {
    let mut h = Harness::new();
    let tracks = [
        (MediaKind::Video, TrackSource::Camera),
        (MediaKind::Audio, TrackSource::Microphone),
        (MediaKind::Video, TrackSource::Screen),
    ];
    h.add_publisher(member("hall"), &tracks);
    h.add_publisher(member("hall"), &tracks);
    h.connect_all();
    h.run_for(Duration::from_secs(1));

    let late = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));

    let offers = &h.endpoint(late).offers;
    assert_eq!(
        offers.len(),
        1,
        "one offer for everything already published"
    );
    assert_eq!(offers[0].tracks.len(), 6);
}
