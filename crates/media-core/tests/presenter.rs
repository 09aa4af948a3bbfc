//! Presenters set at run time, as in a briefing: a participant's tracks reach nobody until
//! the participant becomes a presenter, reach everyone while it is one, and stop reaching
//! anyone when that is taken back.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{offered_to, EndpointId, Harness};
use media_core::{ClientId, ClientOptions, MediaKind, Receives, RoomId, TrackId, TrackSource};
use str0m::media::Mid;

const BOTH: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

/// Options of a briefing member: everyone receives only presenters.
fn briefing(presenter: bool) -> ClientOptions {
    ClientOptions {
        room: RoomId("briefing".to_string()),
        may_publish: true,
        may_talk: false,
        presenter,
        receives: Receives::Presenters,
        recorded: false,
    }
}

/// Packets `subscriber` received on any of `mids`.
fn received_on(h: &Harness, subscriber: EndpointId, mids: &[Mid]) -> usize {
    h.endpoint(subscriber)
        .received
        .iter()
        .filter(|p| p.mid.is_some_and(|mid| mids.contains(&mid)))
        .count()
}

/// A presenter, a participant who publishes and receives, and two participants who only
/// receive.
struct Briefing {
    h: Harness,
    speaker: ClientId,
    speaker_tracks: BTreeSet<TrackId>,
    presenter_tracks: BTreeSet<TrackId>,
    presenter_view: EndpointId,
    viewers: Vec<EndpointId>,
}

fn start() -> Briefing {
    let mut h = Harness::new();
    let presenter = h.add_client(briefing(true));
    let presenter_out = h.publish(presenter, &BOTH).expect("presenter publishes");
    let presenter_view = h.attach_subscriber(presenter);
    let speaker = h.add_client(briefing(false));
    h.publish(speaker, &BOTH)
        .expect("a participant may publish");
    h.attach_subscriber(speaker);
    let viewers = vec![
        h.add_subscriber(briefing(false)),
        h.add_subscriber(briefing(false)),
    ];
    h.connect_all();
    h.run_for(Duration::from_secs(1));

    let tracks = |h: &Harness, client| -> BTreeSet<TrackId> {
        let published = h.published_tracks(client).into_iter();
        published.map(|(t, _)| t).collect()
    };
    let presenter_tracks = tracks(&h, h.endpoint(presenter_out).client);
    let speaker_tracks = tracks(&h, speaker);
    assert_eq!(presenter_tracks.len(), 2);
    assert_eq!(speaker_tracks.len(), 2);
    Briefing {
        h,
        speaker,
        speaker_tracks,
        presenter_tracks,
        presenter_view,
        viewers,
    }
}

impl Briefing {
    fn audience(&self) -> Vec<EndpointId> {
        let mut all = self.viewers.clone();
        all.push(self.presenter_view);
        all
    }

    fn speaker_mids(&self, subscriber: EndpointId) -> Vec<Mid> {
        let tracks = self.speaker_tracks.iter();
        tracks.map(|t| self.h.mid_for(subscriber, *t)).collect()
    }
}

#[test]
fn participant_without_floor_reaches_nobody() {
    let b = start();
    for viewer in &b.viewers {
        let client = b.h.endpoint(*viewer).client;
        assert_eq!(offered_to(&b.h, client), b.presenter_tracks);
        assert!(
            !b.h.endpoint(*viewer).received.is_empty(),
            "viewers receive the presenter"
        );
    }
    let presenter = b.h.endpoint(b.presenter_view).client;
    assert!(
        offered_to(&b.h, presenter).is_empty(),
        "the presenter receives no participant"
    );
    assert!(b.h.endpoint(b.presenter_view).received.is_empty());
}

#[test]
fn floor_given_reaches_everyone() {
    let mut b = start();
    assert!(b.h.sfu.set_presenter(b.h.now, b.speaker, true));
    b.h.pump();
    b.h.run_for(Duration::from_secs(2));

    for subscriber in b.audience() {
        let client = b.h.endpoint(subscriber).client;
        let offered = offered_to(&b.h, client);
        assert!(
            offered.is_superset(&b.speaker_tracks),
            "subscriber {client} is offered the speaker: {offered:?}"
        );
        let mids = b.speaker_mids(subscriber);
        for (track, mid) in b.speaker_tracks.iter().zip(&mids) {
            let count = received_on(&b.h, subscriber, &[*mid]);
            assert!(count > 0, "{client} receives track {track} on m-line {mid}");
        }
    }
    assert_eq!(b.h.sfu.is_presenter(b.speaker), Some(true));
}

#[test]
fn floor_taken_back_stops_forwarding() {
    let mut b = start();
    b.h.sfu.set_presenter(b.h.now, b.speaker, true);
    b.h.pump();
    b.h.run_for(Duration::from_secs(2));
    let audience = b.audience();
    let mids: Vec<Vec<Mid>> = audience.iter().map(|s| b.speaker_mids(*s)).collect();

    assert!(b.h.sfu.set_presenter(b.h.now, b.speaker, false));
    b.h.pump();
    let before: Vec<usize> = (audience.iter().zip(&mids))
        .map(|(s, m)| received_on(&b.h, *s, m))
        .collect();
    b.h.run_for(Duration::from_secs(2));

    for ((subscriber, mids), before) in audience.iter().zip(&mids).zip(before) {
        let client = b.h.endpoint(*subscriber).client;
        assert!(
            before > 0,
            "{client} received the speaker while it had the floor"
        );
        let after = received_on(&b.h, *subscriber, mids);
        assert_eq!(
            after, before,
            "{client} receives nothing after the floor is taken"
        );
        let offered = offered_to(&b.h, client);
        assert!(
            offered.is_disjoint(&b.speaker_tracks),
            "{client}'s newest offer still carries the speaker: {offered:?}"
        );
    }
    assert_eq!(b.h.sfu.is_presenter(b.speaker), Some(false));
}

#[test]
fn floor_given_again_reuses_mlines() {
    let mut b = start();
    for presenter in [true, false, true] {
        b.h.sfu.set_presenter(b.h.now, b.speaker, presenter);
        b.h.pump();
        b.h.run_for(Duration::from_secs(1));
    }
    let viewer = b.viewers[0];
    let last = b.h.endpoint(viewer).offers.last().expect("offers answered");
    assert_eq!(
        last.tracks.len(),
        4,
        "two presenter and two speaker m-lines, the idle ones reused: {:?}",
        last.tracks
    );
    let mids = b.speaker_mids(viewer);
    let start = b.h.now;
    b.h.run_for(Duration::from_secs(1));
    let recent = b.h.endpoint(viewer).received.iter();
    let fresh = recent
        .filter(|p| p.at > start && p.mid.is_some_and(|m| mids.contains(&m)))
        .count();
    assert!(fresh > 0, "the viewer receives the speaker again");
}

#[test]
fn set_presenter_of_unknown_client_changes_nothing() {
    let mut b = start();
    let events = b.h.events.len();
    assert!(!b.h.sfu.set_presenter(b.h.now, ClientId(9_999), true));
    b.h.pump();
    assert_eq!(b.h.events.len(), events);
    assert_eq!(b.h.sfu.is_presenter(ClientId(9_999)), None);
}
