//! Rooms spread over two media workers: everyone in a room is served by one worker, rooms
//! go to the worker with fewer rooms, and a publisher connects whichever of the workers'
//! sockets the kernel hands its datagrams to.

mod common;

use std::time::Duration;

use common::{add_room, join_named_room, publish, Client, TestPublisher, TestServer};
use profstage_server::signalling::protocol::{Role, RoomKind, ServerMessage};
use str0m::media::MediaKind;

const ROOMS: usize = 4;
const PUBLISHERS_PER_ROOM: usize = 2;
const PUBLISHED_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns the number of the worker that numbered the track `tr-N`, with two workers.
fn worker_of_track(track: &str) -> u64 {
    let number: u64 = track
        .strip_prefix("tr-")
        .and_then(|n| n.parse().ok())
        .expect("a track id");
    (number - 1) % 2
}

/// Waits until `expert` has received `track_published` for a track of each of `publishers`, and returns the
/// tracks' ids.
async fn tracks_seen(expert: &mut Client, publishers: &[String]) -> Vec<String> {
    let mut tracks = vec![None; publishers.len()];
    while tracks.iter().any(Option::is_none) {
        if let ServerMessage::TrackPublished(info) = expert.receive_within(PUBLISHED_TIMEOUT).await
        {
            if let Some(i) = publishers.iter().position(|p| *p == info.identity) {
                tracks[i] = Some(info.track);
            }
        }
    }
    tracks.into_iter().flatten().collect()
}

#[tokio::test]
async fn rooms_stay_whole_across_workers() {
    let server = TestServer::start_with(|config| {
        config.media.workers = 2;
        for room in 0..ROOMS {
            add_room(config, &format!("room-{room}"));
        }
    })
    .await;
    let mut experts = Vec::new();
    let mut publishers: Vec<(Client, TestPublisher)> = Vec::new();
    let mut names = Vec::new();
    for room in 0..ROOMS {
        let room_name = format!("room-{room}");
        let (expert, _) = join_named_room(
            &server,
            &room_name,
            "expert",
            Role::Expert,
            RoomKind::Contest,
        )
        .await;
        experts.push(expert);
        let mut room_names = Vec::new();
        for p in 0..PUBLISHERS_PER_ROOM {
            let identity = format!("participant-{p}");
            let (mut client, _) = join_named_room(
                &server,
                &room_name,
                &identity,
                Role::Participant,
                RoomKind::Contest,
            )
            .await;
            let publisher = publish(&mut client, MediaKind::Audio, "microphone").await;
            publishers.push((client, publisher));
            room_names.push(identity);
        }
        names.push(room_names);
    }

    // Each publisher has its own UDP port, and the kernel picks one of the two sockets by
    // a hash of the addresses. So about half of them reach the worker that does not serve
    // their room, and they connect only when that worker hands their datagrams over.
    let mut workers = Vec::new();
    for (expert, room_names) in experts.iter_mut().zip(&names) {
        let tracks = tracks_seen(expert, room_names).await;
        let worker = worker_of_track(&tracks[0]);
        for track in &tracks {
            assert_eq!(
                worker_of_track(track),
                worker,
                "the tracks of one room come from one worker: {tracks:?}"
            );
        }
        workers.push(worker);
    }
    assert_eq!(
        workers,
        [0, 1, 0, 1],
        "each new room goes to the worker with fewer rooms"
    );
}
