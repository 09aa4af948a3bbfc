//! Talk in a contest room: an expert's talk audio and talk video reach the one participant
//! they talk to and every client that receives everyone, only while the talk lasts, and
//! never another participant. Participants may not publish talk sources, and experts
//! publish nothing else.

mod common;

use std::time::Duration;

use common::{offered_to, EndpointId, Harness};
use media_core::{
    ClientId, ClientOptions, MediaKind, PublishError, Receives, RoomId, TrackId, TrackSource,
};
use str0m::media::Mid;

const TALK: [(MediaKind, TrackSource); 1] = [(MediaKind::Audio, TrackSource::Talk)];
const TALK_WITH_VIDEO: [(MediaKind, TrackSource); 2] = [
    (MediaKind::Audio, TrackSource::Talk),
    (MediaKind::Video, TrackSource::TalkVideo),
];

fn participant() -> ClientOptions {
    ClientOptions {
        room: RoomId("contest".to_string()),
        may_publish: true,
        may_talk: false,
        presenter: false,
        receives: Receives::Presenters,
        recorded: false,
    }
}

fn expert() -> ClientOptions {
    ClientOptions {
        may_publish: false,
        may_talk: true,
        receives: Receives::Everyone,
        ..participant()
    }
}

fn organiser() -> ClientOptions {
    ClientOptions {
        may_talk: true,
        presenter: true,
        receives: Receives::Everyone,
        ..participant()
    }
}

/// A talker, the participant talked to, another participant and a second expert, each
/// with a receiving connection.
struct Room {
    h: Harness,
    talker: ClientId,
    talk: TrackId,
    target: ClientId,
    target_view: EndpointId,
    other: ClientId,
    other_view: EndpointId,
    watcher: ClientId,
    watcher_view: EndpointId,
}

fn start() -> Room {
    start_with(expert(), &TALK)
}

/// Starts a room whose talker joins with `options` and publishes `tracks`, one of them
/// talk audio.
fn start_with(options: ClientOptions, tracks: &[(MediaKind, TrackSource)]) -> Room {
    let mut h = Harness::new();
    let talker = h.add_client(options);
    h.publish(talker, tracks)
        .expect("the talker may publish its tracks");
    h.attach_subscriber(talker);
    let target = h.add_client(participant());
    let target_view = h.attach_subscriber(target);
    let other = h.add_client(participant());
    let other_view = h.attach_subscriber(other);
    let watcher_view = h.add_subscriber(expert());
    let watcher = h.endpoint(watcher_view).client;
    h.connect_all();
    h.run_for(Duration::from_secs(1));
    let talk = published_track(&h, talker, MediaKind::Audio);
    Room {
        h,
        talker,
        talk,
        target,
        target_view,
        other,
        other_view,
        watcher,
        watcher_view,
    }
}

/// Returns the first track of `kind` that `client` published.
fn published_track(h: &Harness, client: ClientId, kind: MediaKind) -> TrackId {
    let tracks = h.published_tracks(client);
    let found = tracks.iter().find(|(_, k)| *k == kind);
    found
        .unwrap_or_else(|| panic!("{client} published no {kind:?} track: {tracks:?}"))
        .0
}

impl Room {
    fn received(&self, view: EndpointId) -> usize {
        self.received_of(view, self.talk)
    }

    /// Counts the packets of `talk` that `view` received.
    fn received_of(&self, view: EndpointId, talk: TrackId) -> usize {
        let endpoint = self.h.endpoint(view);
        // The newest offer that carried the talk, since a later one may have dropped it.
        let offered = endpoint
            .offers
            .iter()
            .rev()
            .find_map(|o| o.tracks.iter().find(|t| t.track == talk));
        let Some(offered) = offered else {
            return 0;
        };
        let mid = Mid::from(offered.mid.as_str());
        endpoint
            .received
            .iter()
            .filter(|p| p.mid == Some(mid))
            .count()
    }

    fn set_target(&mut self, target: Option<ClientId>) -> bool {
        let changed = self.h.sfu.set_talk_target(self.h.now, self.talker, target);
        self.h.pump();
        self.h.run_for(Duration::from_secs(1));
        changed
    }
}

#[test]
fn talk_without_target_reaches_nobody() {
    let r = start();
    for client in [r.target, r.other, r.watcher] {
        assert!(
            !offered_to(&r.h, client).contains(&r.talk),
            "{client} is offered talk audio before the talk starts"
        );
    }
    assert_eq!(r.h.sfu.talk_target(r.talker), None);
}

#[test]
fn talk_reaches_target_and_experts() {
    let mut r = start();
    assert!(r.set_target(Some(r.target)));
    r.h.run_for(Duration::from_secs(1));

    assert!(offered_to(&r.h, r.target).contains(&r.talk));
    assert!(offered_to(&r.h, r.watcher).contains(&r.talk));
    assert!(
        r.received(r.target_view) > 0,
        "the participant hears the expert"
    );
    assert!(
        r.received(r.watcher_view) > 0,
        "the other expert hears the talk"
    );
    assert!(
        !offered_to(&r.h, r.other).contains(&r.talk),
        "another participant is offered the talk"
    );
    assert_eq!(r.received(r.other_view), 0);
    assert_eq!(r.h.sfu.talk_target(r.talker), Some(r.target));
}

#[test]
fn organiser_talk_skips_other_participants() {
    let camera_and_talk = [
        (MediaKind::Video, TrackSource::Camera),
        (MediaKind::Audio, TrackSource::Talk),
    ];
    let mut r = start_with(organiser(), &camera_and_talk);
    assert!(r.set_target(Some(r.target)));
    r.h.run_for(Duration::from_secs(1));

    let camera = published_track(&r.h, r.talker, MediaKind::Video);
    assert!(
        offered_to(&r.h, r.other).contains(&camera),
        "participants receive the organiser's camera"
    );
    assert!(
        !offered_to(&r.h, r.other).contains(&r.talk),
        "another participant is offered the organiser's talk"
    );
    assert_eq!(r.received(r.other_view), 0);
    assert!(
        r.received(r.target_view) > 0,
        "the participant hears the organiser"
    );
    assert!(
        r.received(r.watcher_view) > 0,
        "the expert hears the organiser"
    );
}

#[test]
fn hears_talk_names_target_and_experts() {
    let mut r = start();
    for client in [r.target, r.other, r.watcher] {
        assert!(
            !r.h.sfu.hears_talk(client, r.talker),
            "{client} before the talk"
        );
    }
    r.set_target(Some(r.target));
    assert!(r.h.sfu.hears_talk(r.target, r.talker));
    assert!(r.h.sfu.hears_talk(r.watcher, r.talker));
    assert!(!r.h.sfu.hears_talk(r.other, r.talker));
    assert!(
        !r.h.sfu.hears_talk(r.talker, r.talker),
        "the talker hears itself"
    );

    let outsider = r.h.add_client(ClientOptions {
        room: RoomId("elsewhere".to_string()),
        ..expert()
    });
    assert!(
        !r.h.sfu.hears_talk(outsider, r.talker),
        "another room hears the talk"
    );
    r.set_target(None);
    assert!(!r.h.sfu.hears_talk(r.target, r.talker));
    assert!(!r.h.sfu.hears_talk(r.watcher, r.talker));
}

#[test]
fn talk_stopped_stops_forwarding() {
    let mut r = start();
    r.set_target(Some(r.target));
    let before = r.received(r.target_view);
    assert!(before > 0, "the participant heard the talk");

    assert!(r.set_target(None));
    let stopped = r.received(r.target_view);
    r.h.run_for(Duration::from_secs(2));
    assert_eq!(
        r.received(r.target_view),
        stopped,
        "nothing after the talk ended"
    );
    assert!(!offered_to(&r.h, r.target).contains(&r.talk));
    assert!(!offered_to(&r.h, r.watcher).contains(&r.talk));
}

#[test]
fn talk_moves_to_another_participant() {
    let mut r = start();
    r.set_target(Some(r.target));
    assert!(r.set_target(Some(r.other)));
    r.h.run_for(Duration::from_secs(1));
    assert!(!offered_to(&r.h, r.target).contains(&r.talk));
    assert!(offered_to(&r.h, r.other).contains(&r.talk));
    assert!(
        r.received(r.other_view) > 0,
        "the new target hears the talk"
    );
}

/// Starts a room whose expert publishes talk audio and talk video, and returns it with
/// the talk video track.
fn start_with_video() -> (Room, TrackId) {
    let r = start_with(expert(), &TALK_WITH_VIDEO);
    let video = published_track(&r.h, r.talker, MediaKind::Video);
    (r, video)
}

#[test]
fn talk_video_reaches_only_target_and_experts() {
    let (mut r, video) = start_with_video();
    for client in [r.target, r.other, r.watcher] {
        assert!(
            !offered_to(&r.h, client).contains(&video),
            "{client} is offered talk video before the talk starts"
        );
    }
    assert!(r.set_target(Some(r.target)));
    r.h.run_for(Duration::from_secs(1));

    assert!(offered_to(&r.h, r.target).contains(&video));
    assert!(offered_to(&r.h, r.watcher).contains(&video));
    assert!(
        r.received_of(r.target_view, video) > 0,
        "the participant sees the expert"
    );
    assert!(
        r.received_of(r.watcher_view, video) > 0,
        "the other expert sees the talk"
    );
    assert!(
        !offered_to(&r.h, r.other).contains(&video),
        "another participant is offered the talk video"
    );
    assert_eq!(r.received_of(r.other_view, video), 0);
}

#[test]
fn talk_video_follows_moved_target() {
    let (mut r, video) = start_with_video();
    r.set_target(Some(r.target));
    assert!(r.set_target(Some(r.other)));
    let left = r.received_of(r.target_view, video);
    r.h.run_for(Duration::from_secs(2));

    assert!(!offered_to(&r.h, r.target).contains(&video));
    assert!(offered_to(&r.h, r.other).contains(&video));
    assert!(offered_to(&r.h, r.watcher).contains(&video));
    assert_eq!(
        r.received_of(r.target_view, video),
        left,
        "the first participant still gets talk video"
    );
    assert!(
        r.received_of(r.other_view, video) > 0,
        "the new target sees the talk"
    );
}

#[test]
fn talk_video_stops_with_talk() {
    let (mut r, video) = start_with_video();
    r.set_target(Some(r.target));
    assert!(r.received_of(r.target_view, video) > 0);

    assert!(r.set_target(None));
    let stopped = r.received_of(r.target_view, video);
    let watched = r.received_of(r.watcher_view, video);
    r.h.run_for(Duration::from_secs(2));
    assert_eq!(r.received_of(r.target_view, video), stopped);
    assert_eq!(r.received_of(r.watcher_view, video), watched);
    assert!(!offered_to(&r.h, r.target).contains(&video));
    assert!(!offered_to(&r.h, r.watcher).contains(&video));
}

#[test]
fn talk_target_rejected_when_invalid() {
    let mut r = start();
    let events = r.h.events.len();
    let outsider = r.h.add_client(ClientOptions {
        room: RoomId("elsewhere".to_string()),
        ..participant()
    });
    let events_after_join = r.h.events.len();
    assert!(events_after_join >= events);
    assert!(!r.h.sfu.set_talk_target(r.h.now, r.talker, Some(outsider)));
    assert!(!r
        .h
        .sfu
        .set_talk_target(r.h.now, r.talker, Some(ClientId(9_999))));
    assert!(!r.h.sfu.set_talk_target(r.h.now, r.talker, Some(r.talker)));
    assert!(!r.h.sfu.set_talk_target(r.h.now, r.target, Some(r.other)));
    assert!(!r
        .h
        .sfu
        .set_talk_target(r.h.now, ClientId(9_999), Some(r.other)));
    r.h.pump();
    assert_eq!(r.h.events.len(), events_after_join);
    assert_eq!(r.h.sfu.talk_target(r.talker), None);
    assert_eq!(r.h.sfu.talk_target(r.target), None);
}

#[test]
fn participant_may_not_publish_talk() {
    let mut h = Harness::new();
    let client = h.add_client(participant());
    let result = h.publish(client, &TALK);
    assert!(
        matches!(
            result,
            Err(PublishError::SourceNotAllowed {
                declared: TrackSource::Talk,
                ..
            })
        ),
        "{result:?}"
    );
    let talk_video = [(MediaKind::Video, TrackSource::TalkVideo)];
    let result = h.publish(client, &talk_video);
    assert!(
        matches!(
            result,
            Err(PublishError::SourceNotAllowed {
                declared: TrackSource::TalkVideo,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(h.published_tracks(client).is_empty());
}

#[test]
fn expert_publishes_only_talk() {
    let mut h = Harness::new();
    let client = h.add_client(expert());
    let camera = [(MediaKind::Video, TrackSource::Camera)];
    let result = h.publish(client, &camera);
    assert!(
        matches!(result, Err(PublishError::SourceNotAllowed { .. })),
        "{result:?}"
    );
    let microphone = [(MediaKind::Audio, TrackSource::Microphone)];
    let result = h.publish(client, &microphone);
    assert!(
        matches!(result, Err(PublishError::SourceNotAllowed { .. })),
        "{result:?}"
    );
    assert!(h.published_tracks(client).is_empty());
}

#[test]
fn sources_need_their_kind() {
    let mut h = Harness::new();
    let talker = h.add_client(expert());
    let video_talk = [(MediaKind::Video, TrackSource::Talk)];
    let result = h.publish(talker, &video_talk);
    assert!(
        matches!(result, Err(PublishError::SourceKindMismatch { .. })),
        "{result:?}"
    );
    let audio_talk_video = [(MediaKind::Audio, TrackSource::TalkVideo)];
    let result = h.publish(talker, &audio_talk_video);
    assert!(
        matches!(result, Err(PublishError::SourceKindMismatch { .. })),
        "{result:?}"
    );
    let publisher = h.add_client(participant());
    let audio_camera = [(MediaKind::Audio, TrackSource::Camera2)];
    let result = h.publish(publisher, &audio_camera);
    assert!(
        matches!(result, Err(PublishError::SourceKindMismatch { .. })),
        "{result:?}"
    );
}

#[test]
fn second_camera_reaches_experts() {
    let mut h = Harness::new();
    let cameras = [
        (MediaKind::Video, TrackSource::Camera),
        (MediaKind::Video, TrackSource::Camera2),
    ];
    let publisher = h.add_client(participant());
    h.publish(publisher, &cameras).expect("two cameras publish");
    let watcher_view = h.add_subscriber(expert());
    h.connect_all();
    h.run_for(Duration::from_secs(2));

    let tracks = h.published_tracks(publisher);
    assert_eq!(tracks.len(), 2);
    for (track, _) in tracks {
        let mid = h.mid_for(watcher_view, track);
        let received = h.endpoint(watcher_view).received.iter();
        let count = received.filter(|p| p.mid == Some(mid)).count();
        assert!(count > 0, "the expert receives track {track}");
    }
}
