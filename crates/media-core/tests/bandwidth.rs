//! Bandwidth capping: a subscriber whose downlink cannot carry the simulcast layer its view
//! calls for gets a lower layer, and goes back up once the downlink recovers.

mod common;

use std::time::Duration;

use common::{member, EndpointId, Harness, Impairment};
use media_core::{MediaKind, ViewSize};
use str0m::media::Mid;

/// Layers with the frame sizes their keyframes declare and the length of their payloads.
/// At two packets per frame and 30 frames per second they send about 80, 200 and
/// 490 kbit/s with RTP headers.
const LAYERS: [(&str, (u16, u16), usize); 3] = [
    ("q", (320, 180), 150),
    ("h", (640, 360), 400),
    ("f", (1280, 720), 1000),
];

/// A view that calls for the top layer.
const ENLARGED: ViewSize = ViewSize {
    width: 1200,
    height: 680,
};

/// A downlink that carries the middle layer but not the top one.
const LIMIT: u64 = 350_000;

struct Room {
    h: Harness,
    publisher: EndpointId,
    limited: (EndpointId, Mid),
    clean: (EndpointId, Mid),
}

fn room() -> Room {
    let mut h = Harness::new();
    let limited = h.add_subscriber(member("hall"));
    let clean = h.add_subscriber(member("hall"));
    let sizes: Vec<(&str, (u16, u16))> = LAYERS.iter().map(|(r, s, _)| (*r, *s)).collect();
    let publisher = h.add_simulcast_publisher(member("hall"), &sizes);
    for (rid, _, payload_size) in LAYERS {
        h.endpoint_mut(publisher).layer_mut(rid).payload_size = payload_size;
    }
    h.connect_all();
    let track = h.track_of(publisher, MediaKind::Video);
    for subscriber in [limited, clean] {
        let client = h.endpoint(subscriber).client;
        let now = h.now;
        assert!(h.sfu.set_view_size(now, client, track, ENLARGED));
        h.pump();
    }
    let limited = (limited, h.mid_for(limited, track));
    let clean = (clean, h.mid_for(clean, track));
    Room {
        h,
        publisher,
        limited,
        clean,
    }
}

/// Returns the layers of the packets `subscriber` received in the last `span`.
fn recent_layers(room: &Room, (subscriber, mid): (EndpointId, Mid), span: Duration) -> Vec<String> {
    let since = room.h.now - span;
    let publisher = room.h.endpoint(room.publisher);
    room.h
        .endpoint(subscriber)
        .received_on(mid)
        .into_iter()
        .filter(|packet| packet.at >= since)
        .map(|packet| {
            LAYERS
                .iter()
                .map(|(rid, _, _)| *rid)
                .find(|rid| {
                    let sent = &publisher.layer(rid).sent;
                    sent.iter().any(|p| p.payload == packet.payload)
                })
                .expect("every received payload was sent on some layer")
                .to_string()
        })
        .collect()
}

/// Asserts that `subscriber` received only layer `rid` in the last second, and enough of it.
fn assert_receives(room: &Room, subscriber: (EndpointId, Mid), rid: &str, label: &str) {
    let layers = recent_layers(room, subscriber, Duration::from_secs(1));
    assert!(layers.len() > 30, "{label}: {} packets", layers.len());
    assert!(layers.iter().all(|l| l == rid), "{label}: {layers:?}");
}

#[test]
fn subscriber_offer_negotiates_twcc() {
    let room = room();
    let (subscriber, mid) = room.limited;
    let offers = &room.h.endpoint(subscriber).offers;
    let offer = &offers.last().expect("an answered offer").offer;
    let section = common::media_section(offer, mid);
    assert!(
        section.iter().any(|l| l.contains("transport-wide-cc")),
        "no TWCC header extension: {section:?}"
    );
    assert!(
        section.iter().any(|l| l.ends_with(" transport-cc")),
        "no TWCC feedback: {section:?}"
    );
}

#[test]
fn limited_downlink_gets_lower_layer() {
    let mut room = room();
    room.h.run_for(Duration::from_secs(5));
    assert_receives(&room, room.limited, "f", "clean path");
    assert_receives(&room, room.clean, "f", "other subscriber");

    room.h.impair(
        room.limited.0,
        Impairment::bottleneck(LIMIT, Duration::from_millis(100)),
    );
    room.h.run_for(Duration::from_secs(4));
    let limited = recent_layers(&room, room.limited, Duration::from_secs(1));
    assert!(limited.len() > 30, "limited: {} packets", limited.len());
    assert!(
        limited.iter().all(|l| l != "f"),
        "the limited subscriber left the top layer: {limited:?}"
    );
    assert_receives(&room, room.clean, "f", "unlimited subscriber");

    room.h.clear_impairment(room.limited.0);
    room.h.run_for(Duration::from_secs(10));
    assert_receives(&room, room.limited, "f", "after the limit");
    assert_receives(
        &room,
        room.clean,
        "f",
        "unlimited subscriber after the limit",
    );
}
