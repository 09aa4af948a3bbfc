//! A packet lost on the way to one subscriber is retransmitted after that subscriber's NACK,
//! and the other subscribers see nothing of it. With 5% loss and up to 40 ms of jitter on the
//! path to a subscriber or from the publisher, every video packet still arrives.

mod common;

use std::time::Duration;

use common::{announced_ssrc, assert_contiguous, member, EndpointId, Harness, Impairment};
use media_core::{MediaKind, TrackSource};
use str0m::media::Mid;

struct Setup {
    h: Harness,
    publisher: EndpointId,
    lossy: EndpointId,
    clean: EndpointId,
}

fn video_to_two_subscribers() -> Setup {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &[(MediaKind::Video, TrackSource::Camera)]);
    let lossy = h.add_subscriber(member("hall"));
    let clean = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    Setup {
        h,
        publisher,
        lossy,
        clean,
    }
}

fn video_mid(h: &Harness, publisher: EndpointId, subscriber: EndpointId) -> Mid {
    let track = h.track_of(publisher, MediaKind::Video);
    h.mid_for(subscriber, track)
}

/// Returns the subscriber's video packets sorted by sequence number, one per number.
fn by_sequence(h: &Harness, subscriber: EndpointId, mid: Mid) -> Vec<common::ReceivedPacket> {
    let mut packets: Vec<_> = h
        .endpoint(subscriber)
        .received_on(mid)
        .into_iter()
        .cloned()
        .collect();
    packets.sort_by_key(|p| p.sequence);
    packets.dedup_by_key(|p| p.sequence);
    packets
}

/// Asserts that the subscriber has every video packet from its first to its last, with the
/// payloads the publisher wrote, in the publisher's order.
fn assert_complete(h: &Harness, publisher: EndpointId, subscriber: EndpointId, mid: Mid) {
    let packets = by_sequence(h, subscriber, mid);
    let refs: Vec<_> = packets.iter().collect();
    assert_contiguous(&refs, "video sorted by sequence number");
    let sent = &h.endpoint(publisher).sent_track(MediaKind::Video).sent;
    let first = sent
        .iter()
        .position(|p| p.payload == packets[0].payload)
        .expect("the first payload was sent");
    for (offset, packet) in packets.iter().enumerate() {
        assert_eq!(
            packet.payload,
            sent[first + offset].payload,
            "payload of {}",
            packet.sequence
        );
    }
}

#[test]
fn dropped_packet_is_retransmitted_after_nack() {
    let Setup {
        mut h,
        publisher,
        lossy,
        clean,
    } = video_to_two_subscribers();
    let mid = video_mid(&h, publisher, lossy);
    let offer = &h.endpoint(lossy).offers.last().expect("an offer").offer;
    let ssrc = announced_ssrc(offer, mid).expect("the offer announces an SSRC");
    let last = h
        .endpoint(lossy)
        .received_on(mid)
        .last()
        .expect("video")
        .sequence;
    let target = u16::try_from((last + 15) % 65_536).expect("below 2^16");
    let mut dropped = false;
    h.impair(
        lossy,
        Impairment::select(move |rtp| {
            let hit = !dropped && rtp.ssrc == ssrc && rtp.sequence == target;
            dropped |= hit;
            hit
        }),
    );
    h.run_for(Duration::from_secs(2));

    let lost = &h.endpoint(lossy).dropped;
    assert_eq!(lost.len(), 1, "one packet dropped");
    assert_eq!(lost[0].sequence, target);
    assert_complete(&h, publisher, lossy, mid);

    let arrivals = h.endpoint(lossy).received_on(mid);
    let position = |sequence: u16| {
        arrivals
            .iter()
            .position(|p| p.sequence % 65_536 == u64::from(sequence))
            .expect("the packet arrived")
    };
    assert!(
        position(target) > position(target.wrapping_add(1)),
        "the dropped packet arrived later, as a retransmission"
    );

    let clean_mid = video_mid(&h, publisher, clean);
    let clean_packets = h.endpoint(clean).received_on(clean_mid);
    assert_contiguous(&clean_packets, "other subscriber, in arrival order");
    assert_eq!(
        clean_packets.len(),
        by_sequence(&h, lossy, mid).len(),
        "the other subscriber got each packet once"
    );
    assert!(h.endpoint(clean).dropped.is_empty());
}

#[test]
fn random_loss_is_repaired() {
    let Setup {
        mut h,
        publisher,
        lossy,
        clean,
    } = video_to_two_subscribers();
    // NOTE: str0m 0.25 stops retransmitting on a stream whose retransmissions exceed 15% of
    // its bytes (DEFAULT_RTX_RATIO_CAP), so at 10% loss a packet can stay lost (seed 4 shows it).
    h.impair(lossy, Impairment::random(7, 0.05));
    h.run_for(Duration::from_secs(3));
    h.clear_impairment(lossy);
    h.run_for(Duration::from_secs(1));

    let lost = h.endpoint(lossy).dropped.len();
    assert!(lost >= 3, "{lost} packets dropped, expected at least 3");
    let mid = video_mid(&h, publisher, lossy);
    assert_complete(&h, publisher, lossy, mid);

    let clean_mid = video_mid(&h, publisher, clean);
    let clean_packets = h.endpoint(clean).received_on(clean_mid);
    assert_contiguous(&clean_packets, "other subscriber, in arrival order");
}

/// Counts packets that arrived after a packet with a higher sequence number.
fn reordered(h: &Harness, subscriber: EndpointId, mid: Mid) -> usize {
    let mut highest = 0;
    let mut late = 0;
    for packet in h.endpoint(subscriber).received_on(mid) {
        if packet.sequence < highest {
            late += 1;
        }
        highest = highest.max(packet.sequence);
    }
    late
}

#[test]
fn jittery_downlink_is_repaired() {
    let Setup {
        mut h,
        publisher,
        lossy,
        clean,
    } = video_to_two_subscribers();
    h.impair(
        lossy,
        Impairment::network(11, 0.05, Duration::from_millis(40)),
    );
    h.run_for(Duration::from_secs(3));
    h.clear_impairment(lossy);
    h.run_for(Duration::from_secs(1));

    let lost = h.endpoint(lossy).dropped.len();
    assert!(lost >= 3, "{lost} packets dropped, expected at least 3");
    let mid = video_mid(&h, publisher, lossy);
    let late = reordered(&h, lossy, mid);
    assert!(
        late > lost,
        "{late} packets arrived reordered, expected more than the {lost} retransmitted"
    );
    assert_complete(&h, publisher, lossy, mid);

    let clean_mid = video_mid(&h, publisher, clean);
    let clean_packets = h.endpoint(clean).received_on(clean_mid);
    assert_contiguous(&clean_packets, "other subscriber, in arrival order");
}

#[test]
fn jittery_uplink_is_repaired() {
    let Setup {
        mut h,
        publisher,
        lossy: first,
        clean: second,
    } = video_to_two_subscribers();
    h.impair_uplink(
        publisher,
        Impairment::network(5, 0.05, Duration::from_millis(40)),
    );
    h.run_for(Duration::from_secs(3));
    h.clear_uplink_impairment(publisher);
    h.run_for(Duration::from_secs(1));

    let lost = h.endpoint(publisher).dropped_uplink.len();
    assert!(lost >= 3, "{lost} packets dropped, expected at least 3");
    for subscriber in [first, second] {
        let mid = video_mid(&h, publisher, subscriber);
        assert!(
            reordered(&h, subscriber, mid) > 0,
            "the jitter reorders what the subscriber gets"
        );
        assert_complete(&h, publisher, subscriber, mid);
    }
}
