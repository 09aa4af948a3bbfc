//! A phone publishing a participant's second camera.
//!
//! The phone is a client of the router of its own, which publishes and receives nothing
//! else. It is not a member of the room: nobody learns of it as a person. Its track is
//! announced, forwarded and recorded as the participant's `camera2`. When the phone's
//! session ends for any reason, its track is unpublished and the participant and those who
//! see the participant get `phone_camera` with the state `stopped`.

use std::collections::HashMap;
use std::time::Instant;

use media_core::{
    offered_sources, ClientId, ClientOptions, PublishError, Receives, RoomId, TrackId, TrackSource,
    TrackSummary,
};
use tokio::sync::{mpsc, oneshot};

use super::{
    deliver, error_message, recorded_publisher, track_info, MediaLoop, Member, RecorderInput,
};
use crate::signalling::protocol::{self, ErrorCode, PhoneCameraState, Role, ServerMessage};

/// A phone's session, by its client id.
pub(super) struct Phone {
    /// The participant the phone publishes for.
    owner: Member,
    outbox: mpsc::Sender<ServerMessage>,
    tracks: Vec<protocol::TrackInfo>,
}

/// The phones in every room.
#[derive(Default)]
pub(super) struct Phones {
    by_client: HashMap<ClientId, Phone>,
}

/// The reason a phone may not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneJoinRejected {
    /// The participant is not in the room, so there is nobody to publish for.
    #[error("the participant is not in the room")]
    ParticipantAbsent,
}

impl Phones {
    fn of_owner(&self, room: &str, identity: &str) -> Option<(ClientId, &Phone)> {
        self.by_client
            .iter()
            .find(|(_, phone)| phone.owner.room == room && phone.owner.identity == identity)
            .map(|(client, phone)| (*client, phone))
    }
}

impl MediaLoop {
    /// Adds a phone for `owner`, who must be a participant in the room. An earlier phone
    /// of the same participant gets `session_replaced` and stops.
    pub(super) fn join_phone(
        &mut self,
        now: Instant,
        owner: Member,
        outbox: mpsc::Sender<ServerMessage>,
        reply: oneshot::Sender<Result<ClientId, PhoneJoinRejected>>,
    ) {
        if self.participant_client(&owner).is_none() {
            tracing::info!(room = %owner.room, identity = %owner.identity, "phone camera rejected: participant not in the room");
            let _ = reply.send(Err(PhoneJoinRejected::ParticipantAbsent));
            return;
        }
        if let Some((earlier, phone)) = self.phones.of_owner(&owner.room, &owner.identity) {
            let message = error_message(
                ErrorCode::SessionReplaced,
                "Another phone took over as this participant's second camera.",
                true,
            );
            deliver(earlier, &phone.outbox, message);
            self.end_phone(now, earlier);
        }
        let options = ClientOptions {
            room: RoomId(owner.room.clone()),
            may_publish: true,
            may_talk: false,
            presenter: false,
            receives: Receives::Nothing,
            recorded: self.recorder.is_some(),
        };
        let client = self.sfu.add_client(now, options);
        tracing::info!(room = %owner.room, identity = %owner.identity, client = %client, "phone camera joined");
        self.announce_phone(&owner, PhoneCameraState::Connected);
        let phone = Phone {
            owner,
            outbox,
            tracks: Vec::new(),
        };
        self.phones.by_client.insert(client, phone);
        let _ = reply.send(Ok(client));
    }

    /// Returns whether `client` is a phone.
    pub(super) fn is_phone(&self, client: ClientId) -> bool {
        self.phones.by_client.contains_key(&client)
    }

    /// Ends a phone's session: its socket closed or broke, or its connection was lost. A
    /// phone has no rejoin grace; scanning a new link starts it again.
    pub(super) fn end_phone(&mut self, now: Instant, client: ClientId) {
        if !self.is_phone(client) {
            return;
        }
        // The router's track events still need the phone to name the participant.
        self.sfu.remove_client(now, client);
        self.dispatch_events();
        if let Some(phone) = self.phones.by_client.remove(&client) {
            tracing::info!(room = %phone.owner.room, identity = %phone.owner.identity, client = %client, "phone camera stopped");
            self.announce_phone(&phone.owner, PhoneCameraState::Stopped);
        }
    }

    /// Ends a phone whose media connection was lost or failed, telling its page why.
    pub(super) fn phone_media_lost(&mut self, now: Instant, client: ClientId) {
        if let Some(phone) = self.phones.by_client.get(&client) {
            let message = error_message(
                ErrorCode::MediaLost,
                "The phone's media connection was lost. Scan the QR code on the participant's page again.",
                true,
            );
            deliver(client, &phone.outbox, message);
        }
        self.end_phone(now, client);
    }

    /// Ends the phone of a participant who left the room.
    pub(super) fn end_phone_of(&mut self, now: Instant, participant: &Member) {
        let Some((client, phone)) = self
            .phones
            .of_owner(&participant.room, &participant.identity)
        else {
            return;
        };
        let message = error_message(
            ErrorCode::ParticipantAbsent,
            "The participant left the room, so this phone camera stopped.",
            true,
        );
        deliver(client, &phone.outbox, message);
        self.end_phone(now, client);
    }

    /// Announces a phone's new track as the participant's. Returns false when the
    /// publisher is not a phone.
    pub(super) fn phone_track_published(&mut self, track: &TrackSummary) -> bool {
        let Some(phone) = self.phones.by_client.get_mut(&track.client) else {
            return false;
        };
        let info = track_info(&phone.owner.identity, track);
        phone.tracks.push(info.clone());
        let owner = phone.owner.clone();
        let source = info.source;
        self.broadcast_track(
            track.client,
            &owner,
            source,
            &ServerMessage::TrackPublished(info),
        );
        self.announce_phone(&owner, PhoneCameraState::Publishing);
        self.tell_recorder(RecorderInput::TrackStarted {
            publisher: recorded_publisher(&owner),
            client: track.client,
            track: track.track,
            kind: track.kind,
            source: track.source,
        });
        true
    }

    /// Announces the end of a phone's track. Returns false when the publisher is not a
    /// phone.
    pub(super) fn phone_track_unpublished(&mut self, client: ClientId, track: TrackId) -> bool {
        let Some(phone) = self.phones.by_client.get_mut(&client) else {
            return false;
        };
        let id = track.to_string();
        let position = phone.tracks.iter().position(|t| t.track == id);
        let removed = position.map(|i| phone.tracks.remove(i));
        let owner = phone.owner.clone();
        if let Some(info) = removed {
            let message = ServerMessage::TrackUnpublished {
                track: id,
                identity: owner.identity.clone(),
            };
            self.broadcast_track(client, &owner, info.source, &message);
        }
        self.tell_recorder(RecorderInput::TrackEnded { track });
        true
    }

    /// Returns the tracks the phone of `participant` publishes.
    pub(super) fn phone_tracks(&self, participant: &Member) -> Vec<protocol::TrackInfo> {
        match self
            .phones
            .of_owner(&participant.room, &participant.identity)
        {
            Some((_, phone)) => phone.tracks.clone(),
            None => Vec::new(),
        }
    }

    /// Returns the track info of a phone's track, for a subscribe offer.
    pub(super) fn phone_track_info(&self, id: &str) -> Option<&protocol::TrackInfo> {
        self.phones
            .by_client
            .values()
            .flat_map(|phone| phone.tracks.iter())
            .find(|info| info.track == id)
    }

    /// Rejects a second `camera2`: from a phone while its participant's computer publishes
    /// one, or from the computer while a phone does. The recording has one stream per source.
    pub(super) fn check_camera2(
        &self,
        client: ClientId,
        offer: &str,
        sources: &[(String, TrackSource)],
    ) -> Result<(), PublishError> {
        let offered = offered_sources(offer, sources);
        let Some((mid, _, _)) = offered
            .into_iter()
            .find(|(_, _, source)| *source == TrackSource::Camera2)
        else {
            return Ok(());
        };
        let camera2 = protocol::TrackSource::Camera2;
        let busy = match self.phones.by_client.get(&client) {
            Some(phone) => self
                .participant_client(&phone.owner)
                .and_then(|participant| self.members.get(&participant))
                .is_some_and(|joiner| joiner.tracks.iter().any(|t| t.source == camera2)),
            None => self.members.get(&client).is_some_and(|joiner| {
                let tracks = self.phone_tracks(&joiner.member);
                tracks.iter().any(|t| t.source == camera2)
            }),
        };
        if !busy {
            return Ok(());
        }
        Err(PublishError::SourceNotAllowed {
            mid,
            declared: TrackSource::Camera2,
            reason: "the participant's second camera is already published from another device",
        })
    }

    /// Sends `phone_camera` to the participant and to everyone who sees them.
    fn announce_phone(&self, owner: &Member, state: PhoneCameraState) {
        let message = ServerMessage::PhoneCamera {
            identity: owner.identity.clone(),
            state,
        };
        self.broadcast(owner, None, &message);
        if let Some(participant) = self.participant_client(owner) {
            self.send_to(participant, message);
        }
    }

    /// Returns the client of the participant a phone publishes for.
    fn participant_client(&self, owner: &Member) -> Option<ClientId> {
        self.members
            .iter()
            .find(|(_, joiner)| {
                let member = &joiner.member;
                member.room == owner.room
                    && member.identity == owner.identity
                    && member.role == Role::Participant
            })
            .map(|(client, _)| *client)
    }
}
