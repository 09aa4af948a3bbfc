//! Malformed datagrams and SDP: nothing panics, nothing changes, and each error names the
//! fault.

mod common;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use common::{assert_contiguous, client_rtc, member, EndpointId, Harness};
use media_core::{AnswerError, MediaKind, Protocol, PublishError, RoomId, SfuEvent, TrackSource};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BOTH: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Builds random bytes, or a truncated or corrupted STUN message, DTLS record or RTP/RTCP
/// packet. `ssrc` makes some RTP-looking packets claim a real stream.
fn random_datagram(rng: &mut StdRng, ssrc: u32) -> Vec<u8> {
    let mut datagram = match rng.gen_range(0..4) {
        0 => Vec::new(),
        1 => {
            // STUN: binding request (0x0001) or success response (0x0101), length, magic
            // cookie.
            let mut stun = vec![rng.gen_range(0..2), 0x01, 0x00, rng.gen()];
            stun.extend(STUN_MAGIC_COOKIE);
            stun
        }
        2 => {
            // DTLS record: content type, version 1.2 or 1.0, epoch, sequence, length.
            let content_type = rng.gen_range(20..=25);
            let minor = if rng.gen() { 0xfd } else { 0xff };
            vec![content_type, 0xfe, minor, 0x00, rng.gen_range(0..2)]
        }
        _ => {
            // RTP or RTCP: version 2, then payload type or packet type.
            let second = if rng.gen() {
                rng.gen_range(200..=206)
            } else {
                rng.gen()
            };
            let mut rtp = vec![0x80 | rng.gen_range(0..0x40), second, rng.gen(), rng.gen()];
            rtp.extend(rng.gen::<u32>().to_be_bytes());
            let ssrc = if rng.gen() { ssrc } else { rng.gen() };
            rtp.extend(ssrc.to_be_bytes());
            rtp
        }
    };
    let tail = rng.gen_range(0..600);
    datagram.extend((0..tail).map(|_| rng.gen::<u8>()));
    let length = rng.gen_range(0..=datagram.len());
    datagram.truncate(length);
    datagram
}

fn running_call() -> (Harness, EndpointId, EndpointId) {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    (h, publisher, subscriber)
}

#[test]
fn random_datagrams_change_nothing() {
    let (mut h, publisher, subscriber) = running_call();
    let room = RoomId("hall".to_string());
    let tracks_before = h.sfu.tracks_in_room(&room);
    let events_before = h.events.len();
    let ssrc = h.endpoint_mut(publisher).sending_ssrc(MediaKind::Video);
    let known = [h.endpoint(publisher).addr, h.endpoint(subscriber).addr];
    let mut rng = StdRng::seed_from_u64(2024);

    let start = h.now;
    for round in 0..200u16 {
        for _ in 0..10 {
            let unknown = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40_000 + round));
            let datagram = random_datagram(&mut rng, ssrc);
            let accepted = h
                .sfu
                .handle_receive(h.now, Protocol::Udp, unknown, &datagram);
            assert!(!accepted, "datagram from an unknown address accepted");

            let source = known[rng.gen_range(0..known.len())];
            let datagram = random_datagram(&mut rng, ssrc);
            h.sfu
                .handle_receive(h.now, Protocol::Udp, source, &datagram);
        }
        h.run_for(Duration::from_millis(10));
    }
    let end = h.now;
    h.run_for(Duration::from_secs(1));

    assert_eq!(h.sfu.client_count(), 2);
    assert_eq!(h.sfu.tracks_in_room(&room), tracks_before);
    let new_events: Vec<_> = h.events[events_before..].iter().map(|(_, e)| e).collect();
    assert!(new_events.is_empty(), "events: {new_events:?}");
    for kind in [MediaKind::Video, MediaKind::Audio] {
        let mid = h.mid_for(subscriber, h.track_of(publisher, kind));
        let packets = h.endpoint(subscriber).received_on(mid);
        assert_contiguous(&packets, &format!("{kind:?} through the noise"));
        let during = packets
            .iter()
            .filter(|p| p.at > start && p.at <= end)
            .count();
        let after = packets.iter().filter(|p| p.at > end).count();
        assert!(during >= 80, "{kind:?}: {during} packets during the noise");
        assert!(after >= 40, "{kind:?}: {after} packets after the noise");
    }
}

#[test]
fn offer_without_media_is_rejected() {
    let mut h = Harness::new();
    let client = h.add_client(member("hall"));
    let mut rtc = client_rtc(h.now, h.next_addr(), Protocol::Udp);
    let mut change = rtc.sdp_api();
    change.add_channel("chat".to_string());
    let (offer, _) = change.apply().expect("an offer with a data channel");

    let result = h.sfu.publish(h.now, client, &offer.to_sdp_string(), &[]);
    assert!(
        matches!(result, Err(PublishError::NoMedia)),
        "data channel only: {result:?}"
    );
    let session_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    let result = h.sfu.publish(h.now, client, session_only, &[]);
    assert!(
        matches!(result, Err(PublishError::NoMedia)),
        "no m-line: {result:?}"
    );
    assert_publish_still_works(&mut h, client);
}

#[test]
fn offer_with_only_pcmu_is_rejected() {
    let mut h = Harness::new();
    let client = h.add_client(member("hall"));
    let offer = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 0",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Xk3r",
        "a=ice-pwd:p0J6xL0ySMzOeEobJmQ9cUbq",
        "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtpmap:0 PCMU/8000",
        "a=ssrc:1001 cname:pcmu",
        "",
    ]
    .join("\r\n");

    let result = h.sfu.publish(h.now, client, &offer, &[]);
    assert!(
        matches!(&result, Err(PublishError::UnsupportedCodec { mid, .. }) if mid == "0"),
        "PCMU only: {result:?}"
    );
    assert_publish_still_works(&mut h, client);
}

#[test]
fn garbage_offer_is_invalid_sdp() {
    let mut h = Harness::new();
    let client = h.add_client(member("hall"));
    let mut rng = StdRng::seed_from_u64(99);
    let noise: String = (0..300).map(|_| rng.gen_range(' '..='~')).collect();
    let garbage = [
        "this is not SDP".to_string(),
        noise,
        // Media lines alone, without the session description before them.
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n".to_string(),
    ];
    for offer in &garbage {
        let result = h.sfu.publish(h.now, client, offer, &[]);
        assert!(
            matches!(result, Err(PublishError::InvalidSdp(_))),
            "{offer:?}: {result:?}"
        );
    }
    assert_publish_still_works(&mut h, client);
}

#[test]
fn answer_without_pending_offer_is_rejected() {
    let (mut h, publisher, subscriber) = running_call();
    let answer = h.endpoint(subscriber).offers[0].answer.clone();

    let lonely = h.add_client(member("elsewhere"));
    let result = h.sfu.subscribe_answer(h.now, lonely, &answer);
    assert!(
        matches!(result, Err(AnswerError::NoPendingOffer)),
        "client without a receiving connection: {result:?}"
    );

    let subscriber_client = h.endpoint(subscriber).client;
    let result = h.sfu.subscribe_answer(h.now, subscriber_client, &answer);
    assert!(
        matches!(result, Err(AnswerError::NoPendingOffer)),
        "answer given twice: {result:?}"
    );

    let mid = h.mid_for(subscriber, h.track_of(publisher, MediaKind::Video));
    let before = h.endpoint(subscriber).received_on(mid).len();
    h.run_for(Duration::from_secs(1));
    let packets = h.endpoint(subscriber).received_on(mid);
    assert!(packets.len() > before + 40, "video keeps flowing");
    assert_contiguous(&packets, "video");
}

/// Asserts that a rejected offer left no trace and that a valid offer still succeeds.
fn assert_publish_still_works(h: &mut Harness, client: media_core::ClientId) {
    let published = |h: &Harness| {
        h.events
            .iter()
            .filter(|(_, e)| matches!(e, SfuEvent::TrackPublished { .. }))
            .count()
    };
    assert_eq!(published(h), 0, "a rejected offer published nothing");
    h.publish(client, &BOTH)
        .expect("a valid offer after rejected ones");
    // Tracks are announced once the publishing connection is up.
    h.connect_all();
    assert_eq!(published(h), 2);
}
