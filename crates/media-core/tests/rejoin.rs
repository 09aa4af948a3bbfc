//! Rejoining: a publisher that loses its connection and comes back on a new one, or that
//! restarts ICE, keeps its tracks and its subscribers' m-lines.
//! A publisher that restarts ICE from a new address goes on sending through it.

mod common;

use std::time::Duration;

use std::net::SocketAddr;

use common::{member, Harness, SFU_ADDR};
use media_core::{MediaKind, PeerKind, SfuConfig, SfuEvent, TrackSource};
use str0m::change::SdpAnswer;
use str0m::Candidate;

const BOTH: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

fn harness_with_grace(grace: Duration) -> Harness {
    let mut config = SfuConfig::new(SFU_ADDR);
    config.rejoin_grace = grace;
    Harness::with_config(config)
}

/// Returns the `a=ice-ufrag` value of an SDP.
fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|line| line.trim_end().strip_prefix("a=ice-ufrag:"))
}

/// Sends an offer that restarts ICE on the publisher's connection, applies the server's
/// answer and returns it.
fn restart_ice(h: &mut Harness, publisher: common::EndpointId) -> String {
    let client = h.endpoint(publisher).client;
    let sources: Vec<(String, TrackSource)> = h
        .endpoint(publisher)
        .tracks
        .iter()
        .map(|t| match t.kind {
            MediaKind::Video => (t.mid.to_string(), TrackSource::Camera),
            MediaKind::Audio => (t.mid.to_string(), TrackSource::Microphone),
        })
        .collect();
    let mut change = h.endpoint_mut(publisher).rtc.sdp_api();
    change.ice_restart(false);
    let (offer, pending) = change.apply().expect("an ICE restart is a change");
    let now = h.now;
    let answer = h
        .sfu
        .publish(now, client, &offer.to_sdp_string(), &sources)
        .expect("the offer is accepted");
    let parsed = SdpAnswer::from_sdp_string(&answer).expect("the answer parses");
    h.endpoint_mut(publisher)
        .rtc
        .sdp_api()
        .accept_answer(pending, parsed)
        .expect("the publisher accepts the answer");
    h.pump();
    answer
}

#[test]
fn new_connection_keeps_tracks() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let client = h.endpoint(publisher).client;
    let tracks = h.published_tracks(client);
    let mids: Vec<_> = tracks
        .iter()
        .map(|(track, _)| h.mid_for(subscriber, *track))
        .collect();
    let offers_before = h.endpoint(subscriber).offers.len();
    let events_before = h.events.len();

    // The old connection goes silent, as after a network change, and the browser
    // publishes the same sources on a new connection with a new certificate.
    h.endpoint_mut(publisher).closed = true;
    h.run_for(Duration::from_secs(2));
    let rejoined_at = h.now;
    let renewed = h.publish(client, &BOTH).expect("the new offer is accepted");
    h.connect_all();
    h.run_for(Duration::from_secs(2));

    assert_eq!(h.published_tracks(client), tracks, "same track ids");
    let events: Vec<&SfuEvent> = h.events[events_before..].iter().map(|(_, e)| e).collect();
    let unpublished = events
        .iter()
        .filter(|e| matches!(e, SfuEvent::TrackUnpublished { .. }))
        .count();
    assert_eq!(unpublished, 0, "no track was unpublished: {events:?}");
    let resumed = events
        .iter()
        .filter(|e| matches!(e, SfuEvent::TrackResumed { .. }))
        .count();
    assert_eq!(resumed, 2, "both tracks resumed: {events:?}");
    assert_eq!(
        h.endpoint(subscriber).offers.len(),
        offers_before,
        "the subscriber is not renegotiated"
    );

    let new_video_ssrc = h.endpoint_mut(renewed).sending_ssrc(MediaKind::Video);
    let old_video_ssrc = h.endpoint_mut(publisher).sending_ssrc(MediaKind::Video);
    assert_ne!(
        new_video_ssrc, old_video_ssrc,
        "the new connection sends a new SSRC"
    );
    for ((_, kind), mid) in tracks.iter().zip(&mids) {
        let after = h
            .endpoint(subscriber)
            .received_on(*mid)
            .iter()
            .filter(|p| p.at > rejoined_at)
            .count();
        assert!(
            after >= 40,
            "{kind:?}: {after} packets on the same m-line after the rejoin"
        );
    }
}

#[test]
fn new_connection_ends_sources_not_sent_again() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let _subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    let client = h.endpoint(publisher).client;
    let video = h.track_of(publisher, MediaKind::Video);
    let audio = h.track_of(publisher, MediaKind::Audio);
    let events_before = h.events.len();

    h.endpoint_mut(publisher).closed = true;
    h.publish(client, &[(MediaKind::Audio, TrackSource::Microphone)])
        .expect("the new offer is accepted");
    h.connect_all();

    let events: Vec<&SfuEvent> = h.events[events_before..].iter().map(|(_, e)| e).collect();
    let video_ended = events
        .iter()
        .any(|e| matches!(e, SfuEvent::TrackUnpublished { track, .. } if *track == video));
    assert!(
        video_ended,
        "the camera, not published again, ended: {events:?}"
    );
    assert_eq!(h.published_tracks(client), vec![(audio, MediaKind::Audio)]);
}

#[test]
fn closed_connection_tracks_expire_after_grace() {
    let grace = Duration::from_secs(3);
    let mut h = harness_with_grace(grace);
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    let client = h.endpoint(publisher).client;
    let offers_before = h.endpoint(subscriber).offers.len();
    let events_before = h.events.len();

    // The browser closes the connection (DTLS close_notify), as a page does before it
    // opens a new connection after a failed ICE restart.
    h.endpoint_mut(publisher).rtc.close().expect("close starts");
    h.run_for(Duration::from_millis(500));
    h.endpoint_mut(publisher).closed = true;
    let closed_at = h.now;
    let disconnected = h.events[events_before..].iter().any(|(_, e)| {
        matches!(e, SfuEvent::Disconnected { client: c, kind: PeerKind::Publishing } if *c == client)
    });
    assert!(disconnected, "the server saw the connection close");
    assert_eq!(
        h.published_tracks(client).len(),
        2,
        "tracks kept after the close"
    );

    h.run_for(grace - Duration::from_millis(600));
    assert_eq!(
        h.published_tracks(client).len(),
        2,
        "tracks kept within the grace"
    );
    assert_eq!(h.endpoint(subscriber).offers.len(), offers_before);

    h.run_for(Duration::from_secs(1));
    assert!(
        h.published_tracks(client).is_empty(),
        "tracks ended after the grace"
    );
    let ended_at = h
        .events
        .iter()
        .find(|(_, e)| matches!(e, SfuEvent::TrackUnpublished { client: c, .. } if *c == client))
        .map(|(at, _)| *at)
        .expect("a track was unpublished");
    assert!(ended_at >= closed_at + grace - Duration::from_millis(500));
    assert!(
        h.endpoint(subscriber).offers.len() > offers_before,
        "the subscriber got an offer without the tracks"
    );
}

#[test]
fn ice_restart_answers_new_credentials() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    let client = h.endpoint(publisher).client;
    let video = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, video);
    let first_answer = h.endpoint(publisher).answers[0].clone();
    let before_ufrag = ice_ufrag(&first_answer).expect("the answer has an ufrag");

    // The network is gone long enough for the ICE-lite server to notice: str0m 0.25
    // drops a pair after 15 s without checks.
    h.endpoint_mut(publisher).closed = true;
    h.run_for(Duration::from_secs(20));
    let interrupted = h.events.iter().any(|(_, e)| {
        matches!(e, SfuEvent::MediaInterrupted { client: c, kind: PeerKind::Publishing } if *c == client)
    });
    assert!(interrupted, "the server reported the lost connection");
    h.endpoint_mut(publisher).closed = false;
    let restart_answer = restart_ice(&mut h, publisher);
    let restart_ufrag = ice_ufrag(&restart_answer).expect("the answer has an ufrag");
    assert_ne!(
        restart_ufrag, before_ufrag,
        "the server answers with new credentials"
    );

    let restarted_at = h.now;
    h.run_for(Duration::from_secs(3));
    let restored = h.events.iter().any(|(at, e)| {
        *at >= restarted_at
            && matches!(e, SfuEvent::MediaRestored { client: c, kind: PeerKind::Publishing } if *c == client)
    });
    assert!(restored, "the server reported the connection restored");
    let after = h
        .endpoint(subscriber)
        .received_on(mid)
        .iter()
        .filter(|p| p.at > restarted_at)
        .count();
    assert!(after >= 40, "{after} video packets after the ICE restart");
    assert_eq!(h.track_of(publisher, MediaKind::Video), video);
}

#[test]
fn receiving_ice_restart_offers_new_credentials() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    let client = h.endpoint(subscriber).client;
    let mid = h.mid_for(subscriber, h.track_of(publisher, MediaKind::Video));
    let offers_before = h.endpoint(subscriber).offers.len();
    let before = h.endpoint(subscriber).offers[offers_before - 1]
        .offer
        .clone();

    assert!(h.sfu.restart_receiving_ice(h.now, client));
    h.pump();

    let offers = &h.endpoint(subscriber).offers;
    assert_eq!(offers.len(), offers_before + 1, "one new offer, answered");
    let after = &offers[offers_before];
    assert_ne!(
        ice_ufrag(&after.offer),
        ice_ufrag(&before),
        "new server credentials"
    );
    assert_eq!(
        after.tracks,
        offers[offers_before - 1].tracks,
        "the same tracks on the same m-lines"
    );
    let restarted_at = h.now;
    h.run_for(Duration::from_secs(2));
    let received = h
        .endpoint(subscriber)
        .received_on(mid)
        .iter()
        .filter(|p| p.at > restarted_at)
        .count();
    assert!(received >= 40, "{received} video packets after the restart");
}

#[test]
fn receiving_ice_restart_needs_connection() {
    let mut h = Harness::new();
    // Nobody publishes, so the client has no receiving connection.
    let lone = h.add_client(member("hall"));
    assert!(!h.sfu.restart_receiving_ice(h.now, lone));
}

#[test]
fn ice_restart_follows_new_address() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let video = h.track_of(publisher, MediaKind::Video);
    let mid = h.mid_for(subscriber, video);
    let old_addr = h.endpoint(publisher).addr;

    // The client moves to another network, as from Wi-Fi to mobile: its old address stops
    // working and it restarts ICE from a new one.
    let new_addr = SocketAddr::new(old_addr.ip(), old_addr.port() + 30_000);
    h.endpoint_mut(publisher).addr = new_addr;
    h.run_for(Duration::from_millis(500));
    let moved_at = h.now;
    restart_ice(&mut h, publisher);
    let candidate = Candidate::host(new_addr, "udp").expect("loopback host candidate");
    h.endpoint_mut(publisher).rtc.add_local_candidate(candidate);
    h.run_for(Duration::from_secs(3));

    let after: Vec<_> = h
        .endpoint(subscriber)
        .received_on(mid)
        .into_iter()
        .filter(|p| p.at > moved_at)
        .collect();
    assert!(
        after.len() >= 40,
        "{} video packets after the move",
        after.len()
    );
    let last_before = h
        .endpoint(subscriber)
        .received_on(mid)
        .into_iter()
        .rfind(|p| p.at <= moved_at)
        .expect("video before the move")
        .sequence;
    // Packets sent while the client had no working address are lost, about 45 in 500 ms.
    let jump = after[0].sequence - last_before;
    assert!(
        jump < 100,
        "the subscriber's sequence continues across the move, jumped by {jump}"
    );
    assert_eq!(h.track_of(publisher, MediaKind::Video), video);
}
