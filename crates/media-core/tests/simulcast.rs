//! A simulcast camera: each subscriber receives the one layer that suits its view, switching
//! only at keyframes and with continuous numbering, and falls back when a layer stops.
//! Layers that no subscriber or recorder needs are paused at the publisher.

mod common;

use std::time::Duration;

use common::{assert_contiguous, member, EndpointId, Harness, ReceivedPacket};
use media_core::{ClientOptions, MediaKind, SfuEvent, TrackId, ViewSize};
use str0m::media::Mid;

const LAYERS: [(&str, (u16, u16)); 3] = [("q", (320, 180)), ("h", (640, 360)), ("f", (1280, 720))];

const TILE: ViewSize = ViewSize {
    width: 300,
    height: 170,
};
const MEDIUM: ViewSize = ViewSize {
    width: 600,
    height: 340,
};
const ENLARGED: ViewSize = ViewSize {
    width: 1200,
    height: 680,
};

struct Setup {
    h: Harness,
    publisher: EndpointId,
    subscriber: EndpointId,
    track: TrackId,
    mid: Mid,
}

fn simulcast_room(publisher_options: ClientOptions) -> Setup {
    let mut h = Harness::new();
    let subscriber = h.add_subscriber(member("hall"));
    let publisher = h.add_simulcast_publisher(publisher_options, &LAYERS);
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let track = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, track);
    Setup {
        h,
        publisher,
        subscriber,
        track,
        mid,
    }
}

/// Returns the RID of the layer that sent `packet`, found by its payload.
fn layer_of(h: &Harness, publisher: EndpointId, packet: &ReceivedPacket) -> &'static str {
    let sent = h.endpoint(publisher);
    LAYERS
        .iter()
        .map(|(rid, _)| *rid)
        .find(|rid| {
            sent.layer(rid)
                .sent
                .iter()
                .any(|p| p.payload == packet.payload)
        })
        .expect("every received payload was sent on some layer")
}

/// Returns the layer of each received packet after `skip` packets, in arrival order.
fn received_layers(setup: &Setup, skip: usize) -> Vec<&'static str> {
    let received = setup.h.endpoint(setup.subscriber).received_on(setup.mid);
    received[skip.min(received.len())..]
        .iter()
        .map(|packet| layer_of(&setup.h, setup.publisher, packet))
        .collect()
}

fn set_view(setup: &mut Setup, view: ViewSize) {
    let client = setup.h.endpoint(setup.subscriber).client;
    let now = setup.h.now;
    assert!(
        setup.h.sfu.set_view_size(now, client, setup.track, view),
        "the subscriber receives the track"
    );
    setup.h.pump();
}

fn received_count(setup: &Setup) -> usize {
    setup
        .h
        .endpoint(setup.subscriber)
        .received_on(setup.mid)
        .len()
}

/// Asserts that the subscriber's packets are one continuous stream in which every change
/// of layer happens on the first packet of a keyframe.
fn assert_switches_at_keyframes(setup: &Setup) {
    let received = setup.h.endpoint(setup.subscriber).received_on(setup.mid);
    assert_contiguous(&received, "simulcast camera");
    for pair in received.windows(2) {
        let before = layer_of(&setup.h, setup.publisher, pair[0]);
        let after = layer_of(&setup.h, setup.publisher, pair[1]);
        if before != after {
            assert!(
                common::is_vp8_keyframe_start(&pair[1].payload),
                "switch from {before} to {after} at sequence number {} is not a keyframe",
                pair[1].sequence
            );
            assert!(
                pair[1].timestamp > pair[0].timestamp,
                "timestamp goes from {} to {} at the switch",
                pair[0].timestamp,
                pair[1].timestamp
            );
        }
    }
}

#[test]
fn no_view_gets_top_layer() {
    let mut setup = simulcast_room(member("hall"));
    setup.h.run_for(Duration::from_secs(1));
    let layers = received_layers(&setup, 0);
    assert!(layers.len() > 50, "{} packets received", layers.len());
    assert!(layers.iter().all(|l| *l == "f"), "layers: {layers:?}");
    assert_switches_at_keyframes(&setup);
}

#[test]
fn view_size_chooses_layer() {
    let mut setup = simulcast_room(member("hall"));
    for (view, expected) in [(TILE, "q"), (ENLARGED, "f"), (MEDIUM, "h"), (TILE, "q")] {
        set_view(&mut setup, view);
        // A keyframe comes about 100 ms after the request; the last 500 ms are checked.
        setup.h.run_for(Duration::from_millis(500));
        let skip = received_count(&setup);
        setup.h.run_for(Duration::from_millis(500));
        let layers = received_layers(&setup, skip);
        assert!(layers.len() > 20, "{view:?}: {} packets", layers.len());
        assert!(
            layers.iter().all(|l| *l == expected),
            "{view:?}: expected only {expected}, got {layers:?}"
        );
        let client = setup.h.endpoint(setup.subscriber).client;
        let reported = setup.h.sfu.forwarded_layer(client, setup.track);
        assert_eq!(
            reported.map(|(rid, _)| rid).as_deref(),
            Some(expected),
            "{view:?}: the layer the router reports"
        );
    }
    assert_switches_at_keyframes(&setup);
}

#[test]
fn switch_waits_for_keyframe_of_new_layer() {
    let mut setup = simulcast_room(member("hall"));
    let before = setup.h.endpoint(setup.publisher).layer("q").keyframes();
    let requests_before = setup.h.endpoint(setup.publisher).keyframe_rids.len();
    set_view(&mut setup, TILE);
    let skip = received_count(&setup);
    setup.h.run_for(Duration::from_millis(60));

    // The low layer's keyframe has not come yet, so the subscriber stays on the top one.
    let layers = received_layers(&setup, skip);
    assert!(!layers.is_empty(), "packets keep coming while waiting");
    assert!(layers.iter().all(|l| *l == "f"), "layers: {layers:?}");
    let rids = &setup.h.endpoint(setup.publisher).keyframe_rids[requests_before..];
    assert!(
        rids.iter().any(|rid| rid.as_deref() == Some("q")),
        "a keyframe of the low layer was requested: {rids:?}"
    );

    setup.h.run_for(Duration::from_millis(500));
    let after = setup.h.endpoint(setup.publisher).layer("q").keyframes();
    assert!(after > before, "the low layer sent a keyframe");
    assert_eq!(received_layers(&setup, 0).last(), Some(&"q"));
    assert_switches_at_keyframes(&setup);
}

#[test]
fn stopped_layer_falls_back() {
    let mut setup = simulcast_room(member("hall"));
    set_view(&mut setup, ENLARGED);
    setup.h.run_for(Duration::from_millis(500));
    let now = setup.h.now;
    setup
        .h
        .endpoint_mut(setup.publisher)
        .layer_mut("f")
        .set_stopped(true, now);

    // After the arrival timeout, the subscriber falls back to a layer that arrives, and the
    // SFU resumes the paused middle layer so that the fallback is the layer below the top.
    assert!(setup.h.endpoint(setup.publisher).layer("h").paused);
    setup.h.run_for(Duration::from_millis(3000));
    assert!(!setup.h.endpoint(setup.publisher).layer("h").paused);
    let skip = received_count(&setup);
    setup.h.run_for(Duration::from_millis(500));
    let layers = received_layers(&setup, skip);
    assert!(layers.len() > 20, "{} packets after the stop", layers.len());
    assert!(layers.iter().all(|l| *l == "h"), "layers: {layers:?}");

    // The wanted layer comes back, and the subscriber returns to it.
    let now = setup.h.now;
    setup
        .h
        .endpoint_mut(setup.publisher)
        .layer_mut("f")
        .set_stopped(false, now);
    setup.h.run_for(Duration::from_millis(500));
    let skip = received_count(&setup);
    setup.h.run_for(Duration::from_millis(500));
    let layers = received_layers(&setup, skip);
    assert!(layers.iter().all(|l| *l == "f"), "layers: {layers:?}");
    assert_switches_at_keyframes(&setup);
}

/// Returns the RIDs of the newest `LayersWanted` event.
fn wanted(h: &Harness) -> Vec<String> {
    h.events
        .iter()
        .rev()
        .find_map(|(_, event)| match event {
            SfuEvent::LayersWanted { rids, .. } => Some(rids.clone()),
            _ => None,
        })
        .expect("the SFU reported the wanted layers")
}

#[test]
fn unwatched_layers_are_paused() {
    let mut setup = simulcast_room(member("hall"));
    assert_eq!(wanted(&setup.h), ["q", "f"], "no view: the top layer");
    set_view(&mut setup, TILE);
    assert_eq!(
        wanted(&setup.h),
        ["q", "f"],
        "the top layer until the switch"
    );
    setup.h.run_for(Duration::from_millis(500));
    assert_eq!(wanted(&setup.h), ["q"]);
    let publisher = setup.h.endpoint(setup.publisher);
    assert!(publisher.layer("f").paused, "the top layer is paused");
    assert!(publisher.layer("h").paused, "the middle layer is paused");

    set_view(&mut setup, MEDIUM);
    assert_eq!(wanted(&setup.h), ["q", "h"]);
    setup.h.run_for(Duration::from_millis(500));
    let skip = received_count(&setup);
    setup.h.run_for(Duration::from_millis(500));
    let layers = received_layers(&setup, skip);
    assert!(layers.len() > 20, "{} packets", layers.len());
    assert!(
        layers.iter().all(|l| *l == "h"),
        "the resumed layer reaches the subscriber: {layers:?}"
    );
    assert_switches_at_keyframes(&setup);
}

#[test]
fn recorded_track_keeps_top_layer() {
    let mut options = member("hall");
    options.recorded = true;
    let mut setup = simulcast_room(options);
    set_view(&mut setup, TILE);
    assert_eq!(wanted(&setup.h), ["q", "f"]);
    setup.h.run_for(Duration::from_secs(1));

    let top = &setup.h.endpoint(setup.publisher).layer("f").sent;
    let media: Vec<_> = setup
        .h
        .media
        .iter()
        .filter(|p| p.track == setup.track)
        .collect();
    assert!(media.len() > 100, "{} packets recorded", media.len());
    for packet in &media {
        assert!(
            top.iter().any(|p| *p.payload == *packet.payload),
            "the recorder gets only the top layer"
        );
    }
    for pair in media.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "recorded sequence numbers");
    }
}

#[test]
fn recorder_falls_back_with_continuous_numbering() {
    let mut options = member("hall");
    options.recorded = true;
    let mut setup = simulcast_room(options);
    setup.h.run_for(Duration::from_millis(500));
    let now = setup.h.now;
    setup
        .h
        .endpoint_mut(setup.publisher)
        .layer_mut("f")
        .set_stopped(true, now);
    setup.h.run_for(Duration::from_secs(3));

    let media: Vec<_> = setup
        .h
        .media
        .iter()
        .filter(|p| p.track == setup.track)
        .collect();
    // The SFU resumes the middle layer, which nobody else needed, for the recorder.
    let middle = &setup.h.endpoint(setup.publisher).layer("h").sent;
    let last = media.last().expect("packets recorded");
    assert!(
        middle.iter().any(|p| *p.payload == *last.payload),
        "the recorder takes the layer below the top one once that stopped"
    );
    for pair in media.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1, "recorded sequence numbers");
        assert!(pair[1].rtp_time >= pair[0].rtp_time, "recorded RTP times");
    }
}
