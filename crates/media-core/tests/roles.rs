//! Who receives what: presenters-only subscribers, no echo of one's own tracks, and clients
//! without the right to publish.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{member, offered_to, Harness};
use media_core::{
    ClientId, ClientOptions, MediaKind, PublishError, Receives, RoomId, SfuEvent, TrackId,
    TrackSource,
};

const BOTH: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

fn options(presenter: bool, may_publish: bool, receives: Receives) -> ClientOptions {
    ClientOptions {
        room: RoomId("hall".to_string()),
        may_publish,
        may_talk: false,
        presenter,
        receives,
        recorded: false,
    }
}

/// Returns the tracks `client` published.
fn track_set(h: &Harness, client: ClientId) -> BTreeSet<TrackId> {
    h.published_tracks(client)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn presenters_only_subscriber_gets_presenter_tracks() {
    let mut h = Harness::new();
    let presenter = h.add_publisher(options(true, true, Receives::Everyone), &BOTH);
    let participant = h.add_publisher(options(false, true, Receives::Everyone), &BOTH);
    let viewer = h.add_subscriber(options(false, false, Receives::Presenters));
    let everyone = h.add_subscriber(options(false, false, Receives::Everyone));
    h.connect_all();
    h.run_for(Duration::from_secs(1));

    let presenter_tracks = track_set(&h, h.endpoint(presenter).client);
    let participant_tracks = track_set(&h, h.endpoint(participant).client);
    assert_eq!(presenter_tracks.len(), 2);
    assert_eq!(participant_tracks.len(), 2);

    let viewer_client = h.endpoint(viewer).client;
    assert_eq!(offered_to(&h, viewer_client), presenter_tracks);
    let all: BTreeSet<TrackId> = presenter_tracks
        .union(&participant_tracks)
        .copied()
        .collect();
    assert_eq!(offered_to(&h, h.endpoint(everyone).client), all);

    let viewer_mids: Vec<_> = presenter_tracks
        .iter()
        .map(|track| h.mid_for(viewer, *track))
        .collect();
    let received = &h.endpoint(viewer).received;
    assert!(!received.is_empty(), "the viewer receives the presenter");
    for packet in received {
        let mid = packet.mid.expect("a known m-line");
        assert!(viewer_mids.contains(&mid), "packet on m-line {mid}");
    }
}

#[test]
fn client_never_receives_own_tracks() {
    let mut h = Harness::new();
    let first = h.add_subscriber(member("hall"));
    let first_client = h.endpoint(first).client;
    h.publish(first_client, &BOTH).expect("publish");
    h.connect_all();
    assert!(
        h.endpoint(first).offers.is_empty(),
        "a lone publisher is offered nothing"
    );

    let second = h.add_subscriber(member("hall"));
    let second_client = h.endpoint(second).client;
    h.publish(second_client, &BOTH).expect("publish");
    h.connect_all();
    h.run_for(Duration::from_secs(1));

    let first_tracks = track_set(&h, first_client);
    let second_tracks = track_set(&h, second_client);
    assert_eq!(first_tracks.len(), 2);
    assert_eq!(second_tracks.len(), 2);
    assert_eq!(offered_to(&h, first_client), second_tracks);
    assert_eq!(offered_to(&h, second_client), first_tracks);
    for subscriber in [first, second] {
        let received = h.endpoint(subscriber).received.len();
        assert!(received > 0, "each client receives the other one");
    }
}

#[test]
fn client_without_publish_right_is_forbidden() {
    let mut h = Harness::new();
    let watcher = h.add_subscriber(member("hall"));
    let client = h.add_client(options(false, false, Receives::Everyone));

    let result = h.publish(client, &BOTH);
    assert!(
        matches!(result, Err(PublishError::Forbidden(c)) if c == client),
        "publish without the right: {result:?}"
    );
    let published = h
        .events
        .iter()
        .any(|(_, e)| matches!(e, SfuEvent::TrackPublished { .. }));
    assert!(!published, "no track published");
    assert!(h.sfu.tracks_in_room(&RoomId("hall".into())).is_empty());
    assert!(h.endpoint(watcher).offers.is_empty(), "nothing offered");
}
