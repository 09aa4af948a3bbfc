//! ICE over TCP: a client whose only candidate is TCP connects to the SFU's passive TCP
//! candidate, and media flows both ways on it.

mod common;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use common::{member, EndpointId, Harness, SFU_ADDR, SFU_TCP_ADDR};
use media_core::{MediaKind, Protocol, SfuConfig, TrackSource};

const CAMERA_AND_MICROPHONE: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

fn tcp_config() -> SfuConfig {
    let mut config = SfuConfig::new(SFU_ADDR);
    config.tcp_candidate = Some(SFU_TCP_ADDR);
    config
}

#[test]
fn tcp_only_clients_exchange_media() {
    let mut h = Harness::with_config(tcp_config());
    h.client_protocol = Protocol::Tcp;
    let subscriber = h.add_subscriber(member("hall"));
    let publisher = h.add_publisher(member("hall"), &CAMERA_AND_MICROPHONE);
    h.connect_all();
    h.run_for(Duration::from_secs(2));

    for kind in [MediaKind::Video, MediaKind::Audio] {
        let track = h.track_of(publisher, kind);
        let mid = h.mid_for(subscriber, track);
        let received = h.endpoint(subscriber).received_on(mid).len();
        assert!(
            received >= 20,
            "{kind:?}: {received} packets received over TCP"
        );
    }
    let tcp = h.sent_by_protocol.get(&Protocol::Tcp).copied().unwrap_or(0);
    let udp = h.sent_by_protocol.get(&Protocol::Udp).copied().unwrap_or(0);
    assert!(tcp > 100, "{tcp} datagrams sent over TCP");
    assert_eq!(udp, 0, "datagrams sent over UDP");
}

/// Adds a publisher of camera and microphone and returns it with the SFU's answer.
fn publisher_and_answer(h: &mut Harness) -> (EndpointId, String) {
    let publisher = h.add_publisher(member("hall"), &CAMERA_AND_MICROPHONE);
    let answer = h.endpoint(publisher).answers.last().expect("an answer");
    (publisher, answer.clone())
}

#[test]
fn answer_offers_passive_tcp_candidate() {
    let mut h = Harness::with_config(tcp_config());
    let (_, answer) = publisher_and_answer(&mut h);

    let candidates: Vec<&str> = answer
        .lines()
        .filter(|line| line.starts_with("a=candidate:"))
        .collect();
    let udp = candidates
        .iter()
        .any(|c| c.contains(" udp ") && c.contains(" 5000 "));
    let tcp = candidates.iter().any(|c| {
        c.to_ascii_lowercase().contains(" tcp ")
            && c.contains(" 5001 ")
            && c.contains("tcptype passive")
    });
    assert!(udp, "no UDP host candidate in {candidates:?}");
    assert!(tcp, "no passive TCP host candidate in {candidates:?}");
}

#[test]
fn tcp_frames_rejected_without_tcp_candidate() {
    let mut h = Harness::new();
    h.client_protocol = Protocol::Tcp;
    let (publisher, answer) = publisher_and_answer(&mut h);
    assert!(
        !answer.to_ascii_lowercase().contains("tcptype"),
        "TCP candidate offered without one configured"
    );

    let connected = h.run_until(Duration::from_secs(3), |h| {
        h.endpoint(publisher).connected_at.is_some()
    });
    assert!(
        !connected,
        "a TCP-only client connected without a TCP candidate"
    );

    let source = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40_000));
    let accepted = h
        .sfu
        .handle_receive(h.now, Protocol::Tcp, source, &[0u8; 20]);
    assert!(!accepted, "a TCP frame accepted without a TCP candidate");
}
