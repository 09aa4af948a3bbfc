//! Talk in contest rooms: an expert or organiser talks to one participant. The router sends
//! the talker's talk audio and talk video to that participant and to everyone who receives
//! every track. This module checks who may talk to whom, sends `talk_started` and
//! `talk_stopped` to the people concerned, and announces the talk tracks to those the
//! router sends them to. It hands the talk tracks to the participant's recording as its
//! `talk` and `talk-video` sources.

use std::collections::HashMap;
use std::time::Instant;

use media_core::{ClientId, MediaKind, TrackId, TrackSource, TrackSummary};

use super::{may_see, recorded_publisher, MediaLoop, Member};
use crate::audit::now_ms;
use crate::recording::Input as RecorderInput;
use crate::signalling::protocol::{self, ErrorCode, Role, RoomKind, ServerMessage, Talk};

/// A talk message from a client, checked for its shape by the signalling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TalkRequest {
    /// Start talking to the named participant, ending a talk to someone else.
    Start {
        /// The participant's identity.
        identity: String,
    },
    /// End the client's talk.
    Stop,
}

/// A rejected talk request; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TalkRejected {
    /// The error code for the client.
    pub code: ErrorCode,
    /// The explanation for people.
    pub message: String,
}

fn rejected(code: ErrorCode, message: impl Into<String>) -> TalkRejected {
    TalkRejected {
        code,
        message: message.into(),
    }
}

/// Talks in progress: whom each talker talks to and since when, and each talker's talk
/// tracks.
#[derive(Debug, Default)]
pub(super) struct Talks {
    /// The talk of each talker.
    targets: HashMap<ClientId, Target>,
    /// The talk tracks each talker publishes now: audio, and video unless the talker has
    /// no camera.
    tracks: HashMap<ClientId, Vec<TalkTrack>>,
}

/// One published talk track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TalkTrack {
    track: TrackId,
    kind: MediaKind,
    source: TrackSource,
}

/// The other end of one talk.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// The participant talked to.
    participant: ClientId,
    /// When the talk started, in milliseconds since the Unix epoch on the server's clock.
    started_unix_ms: u64,
}

impl MediaLoop {
    /// Applies one talk request of `client`.
    pub(super) fn talk_request(
        &mut self,
        now: Instant,
        client: ClientId,
        request: TalkRequest,
    ) -> Result<(), TalkRejected> {
        let Some(member) = self.members.get(&client).map(|j| j.member.clone()) else {
            return Err(rejected(
                ErrorCode::NotJoined,
                "The session has left the room.",
            ));
        };
        if member.kind != RoomKind::Contest {
            return Err(rejected(
                ErrorCode::Forbidden,
                "Talk exists only in contest rooms. In a briefing, an organiser gives a participant the floor instead.",
            ));
        }
        if member.role == Role::Participant {
            return Err(rejected(
                ErrorCode::Forbidden,
                "Only experts and organisers may talk to a participant.",
            ));
        }
        match request {
            TalkRequest::Start { identity } => self.start_talk(now, client, &member, &identity),
            TalkRequest::Stop => match self.talks.targets.contains_key(&client) {
                true => {
                    self.end_talk(now, client);
                    Ok(())
                }
                false => Err(rejected(
                    ErrorCode::NotTalking,
                    "You are not talking to anyone, so there is no talk to stop.",
                )),
            },
        }
    }

    fn start_talk(
        &mut self,
        now: Instant,
        talker: ClientId,
        member: &Member,
        identity: &str,
    ) -> Result<(), TalkRejected> {
        let target = self
            .sessions_of(&member.room, identity)
            .find(|(_, j)| j.member.role == Role::Participant && j.whip.is_none())
            .map(|(client, _)| client);
        let Some(target) = target else {
            return Err(rejected(
                ErrorCode::UnknownPeer,
                format!("Nobody in this room is a participant with identity {identity:?}."),
            ));
        };
        if self.talk_target(talker) == Some(target) {
            return Ok(());
        }

        let busy = self
            .talks
            .targets
            .iter()
            .any(|(other, t)| t.participant == target && *other != talker);
        if busy {
            return Err(rejected(
                ErrorCode::TalkBusy,
                "Someone else is talking to this participant. Wait until they stop, then try again.",
            ));
        }

        if self.talks.targets.contains_key(&talker) {
            self.end_talk(now, talker);
        }
        let audience = self.talk_audience(talker);
        if !self.sfu.set_talk_target(now, talker, Some(target)) {
            tracing::error!(client = %talker, target = %target, "the router rejected a checked talk target");
            return Err(rejected(ErrorCode::Internal, "The talk could not start."));
        }
        self.reannounce_talk_tracks(talker, &audience);

        let started_unix_ms = now_ms();
        let started = Target {
            participant: target,
            started_unix_ms,
        };
        self.talks.targets.insert(talker, started);
        tracing::info!(room = %member.room, client = %talker, target = %target, "talk started");
        self.record_talk_tracks(talker);
        self.record_talk_event(talker, target, "talk_started");
        let talk = Talk {
            talker: member.identity.clone(),
            name: member.name.clone(),
            participant: identity.to_owned(),
            started_unix_ms,
        };
        self.tell_talk(talker, target, ServerMessage::TalkStarted(talk));
        Ok(())
    }

    /// Ends the talk of `talker`, if any: the router stops its talk tracks, the people
    /// concerned get `talk_stopped`, and the recording closes the talk sources.
    pub(super) fn end_talk(&mut self, now: Instant, talker: ClientId) {
        let Some(Target {
            participant: target,
            ..
        }) = self.talks.targets.remove(&talker)
        else {
            return;
        };
        let audience = self.talk_audience(talker);
        self.sfu.set_talk_target(now, talker, None);
        self.reannounce_talk_tracks(talker, &audience);
        for talk in self.talks.tracks.get(&talker).into_iter().flatten() {
            self.tell_recorder(RecorderInput::TrackEnded { track: talk.track });
        }
        self.record_talk_event(talker, target, "talk_ended");
        let identity = |client| self.members.get(&client).map(|j| j.member.identity.clone());
        let (Some(talker_identity), Some(participant)) = (identity(talker), identity(target))
        else {
            return;
        };
        tracing::info!(client = %talker, target = %target, "talk ended");
        let message = ServerMessage::TalkStopped {
            talker: talker_identity,
            participant,
        };
        self.tell_talk(talker, target, message);
    }

    /// Ends every talk of `client` and every talk to it, because it leaves.
    pub(super) fn end_talks_of(&mut self, now: Instant, client: ClientId) {
        let talkers: Vec<ClientId> = self
            .talks
            .targets
            .iter()
            .filter(|(talker, target)| **talker == client || target.participant == client)
            .map(|(talker, _)| *talker)
            .collect();
        for talker in talkers {
            self.end_talk(now, talker);
        }
        self.talks.tracks.remove(&client);
    }

    /// Notes a published or resumed track; a talk track goes to the recording of the
    /// participant its publisher talks to. Returns whether the track is a talk track.
    pub(super) fn talk_track_started(&mut self, client: ClientId, summary: &TrackSummary) -> bool {
        if !summary.source.is_talk() {
            return false;
        }
        let talk = TalkTrack {
            track: summary.track,
            kind: summary.kind,
            source: summary.source,
        };
        let tracks = self.talks.tracks.entry(client).or_default();
        // A track of the same source replaces the old one, as after a new connection.
        tracks.retain(|t| t.source != talk.source);
        tracks.push(talk);
        if let Some(target) = self.talk_target(client) {
            self.record_talk_track(target, talk);
        }
        true
    }

    /// Forgets a talk track that stopped.
    pub(super) fn talk_track_ended(&mut self, client: ClientId, track: TrackId) {
        let Some(tracks) = self.talks.tracks.get_mut(&client) else {
            return;
        };
        tracks.retain(|t| t.track != track);
        if tracks.is_empty() {
            self.talks.tracks.remove(&client);
        }
    }

    /// Starts the talk sources of the target's recording with the talker's talk tracks.
    fn record_talk_tracks(&self, talker: ClientId) {
        let Some(target) = self.talk_target(talker) else {
            return;
        };
        for talk in self.talks.tracks.get(&talker).into_iter().flatten() {
            self.record_talk_track(target, *talk);
        }
    }

    /// Starts the source of `talk` in the recording of `target`, the participant talked to.
    fn record_talk_track(&self, target: ClientId, talk: TalkTrack) {
        let Some(participant) = self.members.get(&target) else {
            return;
        };
        self.tell_recorder(RecorderInput::TrackStarted {
            publisher: recorded_publisher(&participant.member),
            client: target,
            track: talk.track,
            kind: talk.kind,
            source: talk.source,
        });
    }

    /// Returns the members who learn of the talk tracks of `talker` now.
    fn talk_audience(&self, talker: ClientId) -> Vec<ClientId> {
        self.members
            .keys()
            .copied()
            .filter(|viewer| self.learns_of_talk(*viewer, talker))
            .collect()
    }

    /// Returns whether `viewer` learns of the talk tracks of `talker` now: it may see the
    /// talker, and the router sends it the talk.
    fn learns_of_talk(&self, viewer: ClientId, talker: ClientId) -> bool {
        let (Some(seer), Some(seen)) = (self.members.get(&viewer), self.members.get(&talker))
        else {
            return false;
        };
        may_see(seer.member.role, seen.member.role)
            && self.learns_of_track(viewer, talker, protocol::TrackSource::Talk)
    }

    /// Announces the published talk tracks of `talker` with `track_published` to those who
    /// learn of them now but were not in `audience`, and withdraws them with
    /// `track_unpublished` from those in `audience` who no longer learn of them. Called
    /// after the router changed the talk target, so that what clients hear of a talk track
    /// follows where the router sends it.
    fn reannounce_talk_tracks(&self, talker: ClientId, audience: &[ClientId]) {
        let Some(joiner) = self.members.get(&talker) else {
            return;
        };
        let talk_tracks = joiner.tracks.iter().filter(|t| t.source.is_talk());
        for info in talk_tracks {
            for viewer in self.members.keys().copied() {
                let before = audience.contains(&viewer);
                let after = self.learns_of_talk(viewer, talker);
                if after && !before {
                    self.send_to(viewer, ServerMessage::TrackPublished(info.clone()));
                } else if before && !after {
                    let message = ServerMessage::TrackUnpublished {
                        track: info.track.clone(),
                        identity: info.identity.clone(),
                    };
                    self.send_to(viewer, message);
                }
            }
        }
    }

    /// Returns the participant `talker` talks to now.
    fn talk_target(&self, talker: ClientId) -> Option<ClientId> {
        self.talks.targets.get(&talker).map(|t| t.participant)
    }

    /// Lists the talks in progress in `member`'s room whose `talk_started` would have
    /// reached `member`, oldest first: every talk for experts and organisers, and only the
    /// talk to themselves for a participant.
    pub(super) fn talks_for(&self, member: &Member) -> Vec<Talk> {
        let mut talks: Vec<Talk> = self
            .talks
            .targets
            .iter()
            .filter_map(|(talker, target)| {
                let talker = &self.members.get(talker)?.member;
                let participant = &self.members.get(&target.participant)?.member;
                let concerned =
                    member.role != Role::Participant || participant.identity == member.identity;
                (talker.room == member.room && concerned).then(|| Talk {
                    talker: talker.identity.clone(),
                    name: talker.name.clone(),
                    participant: participant.identity.clone(),
                    started_unix_ms: target.started_unix_ms,
                })
            })
            .collect();
        talks.sort_by(|a, b| {
            let by_start = a.started_unix_ms.cmp(&b.started_unix_ms);
            by_start.then_with(|| a.talker.cmp(&b.talker))
        });
        talks
    }

    fn record_talk_event(&self, talker: ClientId, target: ClientId, kind: &'static str) {
        let (Some(talker), Some(participant)) =
            (self.members.get(&talker), self.members.get(&target))
        else {
            return;
        };
        self.tell_recorder(RecorderInput::Talk {
            publisher: recorded_publisher(&participant.member),
            kind,
            talker: talker.member.name.clone(),
        });
    }

    /// Sends a talk message to the participant and to every expert and organiser in the
    /// room. Other participants learn nothing of it.
    fn tell_talk(&self, talker: ClientId, target: ClientId, message: ServerMessage) {
        let Some(room) = self.members.get(&talker).map(|j| j.member.room.clone()) else {
            return;
        };
        for (client, joiner) in &self.members {
            let member = &joiner.member;
            let concerned = *client == target || member.role != Role::Participant;
            if member.room == room && concerned {
                self.send_to(*client, message.clone());
            }
        }
    }
}
