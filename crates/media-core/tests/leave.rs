//! Clients leaving: a subscriber's departure leaves the others' flows alone, and a publisher's
//! departure withdraws its tracks from every subscriber.

mod common;

use std::time::Duration;

use common::{assert_contiguous, media_section, member, Harness};
use media_core::{MediaKind, SfuEvent, TrackSource};
use str0m::media::Direction;

const BOTH: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

#[test]
fn subscriber_leaving_keeps_other_flow() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let leaving = h.add_subscriber(member("hall"));
    let staying = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(2));
    let offers_before = h.endpoint(staying).offers.len();

    let left_at = h.now;
    h.remove_client(h.endpoint(leaving).client);
    h.run_for(Duration::from_secs(2));

    assert_eq!(h.sfu.client_count(), 2);
    assert_eq!(
        h.endpoint(staying).offers.len(),
        offers_before,
        "the staying subscriber is not renegotiated"
    );
    for (kind, minimum) in [(MediaKind::Video, 100), (MediaKind::Audio, 80)] {
        let mid = h.mid_for(staying, h.track_of(publisher, kind));
        let packets = h.endpoint(staying).received_on(mid);
        assert_contiguous(&packets, &format!("{kind:?} across the departure"));
        let after = packets.iter().filter(|p| p.at > left_at).count();
        assert!(
            after >= minimum,
            "{kind:?}: {after} packets after the departure, expected at least {minimum}"
        );
        let longest_pause = packets
            .windows(2)
            .map(|pair| pair[1].at - pair[0].at)
            .max()
            .expect("several packets");
        assert!(
            longest_pause < Duration::from_millis(100),
            "{kind:?}: {longest_pause:?} without packets"
        );
    }
}

#[test]
fn publisher_leaving_unpublishes_and_idles_mlines() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let publisher_client = h.endpoint(publisher).client;
    let subscriber_client = h.endpoint(subscriber).client;
    let tracks = h.published_tracks(publisher_client);
    assert_eq!(tracks.len(), 2);
    let mids: Vec<_> = tracks
        .iter()
        .map(|(track, _)| h.mid_for(subscriber, *track))
        .collect();
    let events_before = h.events.len();
    let offers_before = h.endpoint(subscriber).offers.len();

    let left_at = h.now;
    h.remove_client(publisher_client);
    h.run_for(Duration::from_secs(1));

    let events: Vec<&SfuEvent> = h.events[events_before..].iter().map(|(_, e)| e).collect();
    for (track, _) in &tracks {
        let unpublished = events.iter().any(|e| {
            matches!(e, SfuEvent::TrackUnpublished { track: t, client, .. }
                if t == track && *client == publisher_client)
        });
        assert!(unpublished, "TrackUnpublished for {track}");
    }
    let offers: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SfuEvent::SubscribeOffer {
                client,
                sdp,
                tracks,
            } if *client == subscriber_client => Some((sdp, tracks)),
            _ => None,
        })
        .collect();
    assert_eq!(offers.len(), 1, "one new offer idles both m-lines");
    let (sdp, offered) = offers[0];
    assert!(offered.is_empty(), "no track offered any more: {offered:?}");
    for mid in &mids {
        let section = media_section(sdp, *mid);
        let m_line = section.first().expect("the m-line stays in the offer");
        // The m-line stays open and in the BUNDLE group, only inactive, so that browsers
        // accept the offer and the m-line can carry a later track.
        let port = m_line.split(' ').nth(1);
        assert_ne!(
            port,
            Some("0"),
            "m-line {mid} must not be stopped: {m_line}"
        );
        assert!(
            section.iter().any(|line| line.trim() == "a=inactive"),
            "m-line {mid} inactive: {section:?}"
        );
        let bundle = sdp
            .lines()
            .find(|l| l.starts_with("a=group:BUNDLE"))
            .unwrap_or("");
        assert!(
            bundle.split(' ').any(|m| m == mid.to_string()),
            "{mid} in {bundle}"
        );
    }

    let answered = &h.endpoint(subscriber).offers;
    assert_eq!(answered.len(), offers_before + 1, "the subscriber answered");
    for mid in &mids {
        let media = h.endpoint(subscriber).rtc.media(*mid);
        let inactive = media.is_none_or(|m| m.disabled() || m.direction() == Direction::Inactive);
        assert!(inactive, "m-line {mid} inactive at the subscriber");
        let late = h
            .endpoint(subscriber)
            .received_on(*mid)
            .iter()
            .filter(|p| p.at > left_at + Duration::from_millis(100))
            .count();
        assert_eq!(late, 0, "packets on {mid} after the publisher left");
    }
}

#[test]
fn next_publisher_reuses_idle_mlines() {
    let mut h = Harness::new();
    let first = h.add_publisher(member("hall"), &BOTH);
    let subscriber = h.add_subscriber(member("hall"));
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let first_video = h.track_of(first, MediaKind::Video);
    let video_mid = h.mid_for(subscriber, first_video);
    let last_before = h
        .endpoint(subscriber)
        .received_on(video_mid)
        .last()
        .map(|p| (p.ssrc, p.sequence))
        .expect("video arrived from the first publisher");

    h.remove_client(h.endpoint(first).client);
    h.run_for(Duration::from_secs(1));
    let rejoined_at = h.now;
    let second = h.add_publisher(member("hall"), &BOTH);
    h.connect_all();
    h.run_for(Duration::from_secs(2));

    let second_video = h.track_of(second, MediaKind::Video);
    assert_ne!(second_video, first_video);
    assert_eq!(
        h.mid_for(subscriber, second_video),
        video_mid,
        "the idle video m-line carries the next video track"
    );
    let offer = h.endpoint(subscriber).offers.last().expect("an offer");
    let m_lines = offer.offer.lines().filter(|l| l.starts_with("m=")).count();
    assert_eq!(m_lines, 2, "no m-line added: {}", offer.offer);

    let packets = h.endpoint(subscriber).received_on(video_mid);
    let after: Vec<_> = packets.iter().filter(|p| p.at > rejoined_at).collect();
    let first_after = after.first().expect("video from the second publisher");
    assert_eq!(
        first_after.ssrc, last_before.0,
        "same outgoing SSRC on the m-line"
    );
    // NOTE: str0m's pacer is on because the SFU estimates bandwidth. Packets it still held
    // when the m-line went inactive are not sent, although the rewriter numbered them. So
    // the subscriber may see a gap of a few packets at the change of publisher.
    let gap = first_after.sequence - last_before.1;
    assert!(
        (1..=3).contains(&gap),
        "the sequence continues across publishers: {} after {}",
        first_after.sequence,
        last_before.1
    );
    assert!(
        after.len() >= 30,
        "{} video packets after the rejoin",
        after.len()
    );
}
