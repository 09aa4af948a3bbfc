//! Briefing requests in the media loop: hands, the floor and the chat. The floor is
//! enforced here, in the router: a participant's tracks reach others only while the
//! participant is a presenter, which only giving the floor makes them.

use std::time::Instant;

use media_core::ClientId;

use super::{MediaLoop, Member};
use crate::audit::now_ms;
use crate::briefing::events::{BriefingEvent, BriefingRecord};
use crate::briefing::room::{BriefingRoom, ChatError, Person};
use crate::signalling::protocol::{BriefingState, ErrorCode, Role, RoomKind, ServerMessage};

/// A briefing message from a client, checked for its shape by the signalling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BriefingRequest {
    /// A participant raises a hand.
    RaiseHand,
    /// Lowers a hand: one's own, or, for organisers, the named participant's.
    LowerHand {
        /// Whose hand, when an organiser lowers it.
        identity: Option<String>,
    },
    /// An organiser gives a participant the floor.
    GiveFloor {
        /// The participant.
        identity: String,
    },
    /// An organiser takes the floor back.
    TakeFloor,
    /// A chat message.
    Chat {
        /// The text as sent.
        text: String,
    },
}

/// A rejected briefing request; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BriefingRejected {
    /// The error code for the client.
    pub code: ErrorCode,
    /// The explanation for people.
    pub message: String,
}

fn rejected(code: ErrorCode, message: impl Into<String>) -> BriefingRejected {
    BriefingRejected {
        code,
        message: message.into(),
    }
}

fn person(member: &Member) -> Person {
    Person {
        identity: member.identity.clone(),
        name: member.name.clone(),
        role: member.role,
    }
}

impl MediaLoop {
    /// Applies one briefing request of `client`.
    pub(super) fn briefing_request(
        &mut self,
        now: Instant,
        client: ClientId,
        request: BriefingRequest,
    ) -> Result<(), BriefingRejected> {
        let Some(member) = self.members.get(&client).map(|j| j.member.clone()) else {
            return Err(rejected(
                ErrorCode::NotJoined,
                "The session has left the room.",
            ));
        };
        if member.kind != RoomKind::Briefing || !self.briefings.contains_key(&member.room) {
            return Err(rejected(
                ErrorCode::NotBriefing,
                "This room is not a briefing; hands, the floor and the chat exist only in briefings.",
            ));
        }
        match request {
            BriefingRequest::RaiseHand => self.raise_hand(&member),
            BriefingRequest::LowerHand { identity } => self.lower_hand(&member, identity),
            BriefingRequest::GiveFloor { identity } => self.give_floor(now, &member, &identity),
            BriefingRequest::TakeFloor => self.take_floor(now, &member),
            BriefingRequest::Chat { text } => self.chat(now, &member, &text),
        }
    }

    /// Opens the briefing on its first member and records the join. Returns what the new
    /// member sees of the briefing, or `None` outside briefings.
    pub(super) fn briefing_joined(&mut self, member: &Member) -> Option<BriefingState> {
        if member.kind != RoomKind::Briefing {
            return None;
        }
        let room = self.briefings.entry(member.room.clone()).or_default();
        let state = room.state_for(&person(member));
        self.record(
            &member.room,
            BriefingEvent::Joined {
                identity: member.identity.clone(),
                name: member.name.clone(),
                role: member.role,
            },
        );
        Some(state)
    }

    /// Returns the briefing as `member` sees it, without recording a join: for a
    /// session that resumes.
    pub(super) fn briefing_state(&self, member: &Member) -> Option<BriefingState> {
        if member.kind != RoomKind::Briefing {
            return None;
        }
        self.briefings
            .get(&member.room)
            .map(|room| room.state_for(&person(member)))
    }

    /// Records a leave after the member was removed: lowers their hand, takes their floor
    /// and closes the briefing when nobody is left.
    pub(super) fn briefing_left(&mut self, member: &Member) {
        let Some(room) = self.briefings.get_mut(&member.room) else {
            return;
        };
        let hand = room.lower_hand(&member.identity);
        let floor = room.floor().is_some_and(|f| f.identity == member.identity);
        if floor {
            room.take_floor();
        }
        if hand {
            self.hand_lowered(&member.room, &member.identity, None);
        }
        if floor {
            self.floor_taken(&member.room, &member.identity, None);
        }
        self.record(
            &member.room,
            BriefingEvent::Left {
                identity: member.identity.clone(),
            },
        );
        let empty = !self.members.values().any(|j| j.member.room == member.room);
        if empty {
            self.briefings.remove(&member.room);
            self.record(&member.room, BriefingEvent::Closed);
            tracing::info!(room = %member.room, "briefing closed");
        }
    }

    fn raise_hand(&mut self, member: &Member) -> Result<(), BriefingRejected> {
        if member.role != Role::Participant {
            return Err(rejected(
                ErrorCode::Forbidden,
                "Only participants raise hands.",
            ));
        }
        let room = self.room_mut(&member.room);
        if room.floor().is_some_and(|f| f.identity == member.identity) {
            return Ok(());
        }
        let Some(hand) = room.raise_hand(&person(member), now_ms()) else {
            return Ok(());
        };
        self.record(
            &member.room,
            BriefingEvent::HandRaised {
                identity: member.identity.clone(),
            },
        );
        let message = ServerMessage::HandRaised(hand);
        self.to_organisers_and(&member.room, &member.identity, &message);
        Ok(())
    }

    fn lower_hand(
        &mut self,
        member: &Member,
        identity: Option<String>,
    ) -> Result<(), BriefingRejected> {
        let whose = match (member.role, identity) {
            (Role::Organiser, Some(identity)) => identity,
            (Role::Organiser, None) => {
                return Err(rejected(
                    ErrorCode::InvalidMessage,
                    "An organiser lowering a hand must name the participant in \"identity\".",
                ))
            }
            (Role::Participant, None) => member.identity.clone(),
            (Role::Participant, Some(identity)) if identity == member.identity => identity,
            _ => {
                return Err(rejected(
                    ErrorCode::Forbidden,
                    "Only organisers lower other people's hands.",
                ))
            }
        };
        if self.room_mut(&member.room).lower_hand(&whose) {
            self.hand_lowered(&member.room, &whose, Some(member.identity.clone()));
        }
        Ok(())
    }

    fn give_floor(
        &mut self,
        now: Instant,
        member: &Member,
        identity: &str,
    ) -> Result<(), BriefingRejected> {
        if member.role != Role::Organiser {
            return Err(rejected(
                ErrorCode::Forbidden,
                "Only organisers give the floor.",
            ));
        }
        let Some((target, speaker)) = self.participant(&member.room, identity) else {
            return Err(rejected(
                ErrorCode::UnknownPeer,
                format!("No participant \"{identity}\" is in this briefing."),
            ));
        };
        let previous = self.room_mut(&member.room).give_floor(&person(&speaker));
        if let Some(previous) = previous {
            if let Some((client, _)) = self.participant(&member.room, &previous.identity) {
                self.sfu.set_presenter(now, client, false);
            }
            let by = Some(member.identity.clone());
            self.floor_taken(&member.room, &previous.identity, by);
        }
        if self.room_mut(&member.room).lower_hand(identity) {
            self.hand_lowered(&member.room, identity, None);
        }
        self.sfu.set_presenter(now, target, true);
        tracing::info!(room = %member.room, identity, by = %member.identity, "floor given");
        self.record(
            &member.room,
            BriefingEvent::FloorGiven {
                identity: identity.to_owned(),
                by: member.identity.clone(),
            },
        );
        let holder = self.room_mut(&member.room).floor().cloned();
        if let Some(holder) = holder {
            self.to_room(&member.room, &ServerMessage::FloorGiven(holder));
        }
        Ok(())
    }

    fn take_floor(&mut self, now: Instant, member: &Member) -> Result<(), BriefingRejected> {
        if member.role != Role::Organiser {
            return Err(rejected(
                ErrorCode::Forbidden,
                "Only organisers take the floor back.",
            ));
        }
        let Some(holder) = self.room_mut(&member.room).take_floor() else {
            return Ok(());
        };
        if let Some((client, _)) = self.participant(&member.room, &holder.identity) {
            self.sfu.set_presenter(now, client, false);
        }
        tracing::info!(room = %member.room, identity = %holder.identity, by = %member.identity, "floor taken back");
        let by = Some(member.identity.clone());
        self.floor_taken(&member.room, &holder.identity, by);
        Ok(())
    }

    fn chat(&mut self, now: Instant, member: &Member, text: &str) -> Result<(), BriefingRejected> {
        let at = now_ms();
        let posted = self
            .room_mut(&member.room)
            .post_chat(now, at, &person(member), text);
        let entry = posted.map_err(|error| {
            let code = match error {
                ChatError::RateLimited => ErrorCode::RateLimited,
                _ => ErrorCode::InvalidText,
            };
            rejected(code, error.to_string())
        })?;
        self.record(
            &member.room,
            BriefingEvent::Chat {
                id: entry.id,
                identity: entry.identity.clone(),
                name: entry.name.clone(),
                role: entry.role,
                text: entry.text.clone(),
            },
        );
        self.to_room(&member.room, &ServerMessage::ChatMessage(entry));
        Ok(())
    }

    fn hand_lowered(&mut self, room: &str, identity: &str, by: Option<String>) {
        let event = BriefingEvent::HandLowered {
            identity: identity.to_owned(),
            by,
        };
        self.record(room, event);
        let message = ServerMessage::HandLowered {
            identity: identity.to_owned(),
        };
        self.to_organisers_and(room, identity, &message);
    }

    fn floor_taken(&mut self, room: &str, identity: &str, by: Option<String>) {
        let event = BriefingEvent::FloorTaken {
            identity: identity.to_owned(),
            by,
        };
        self.record(room, event);
        let message = ServerMessage::FloorTaken {
            identity: identity.to_owned(),
        };
        self.to_room(room, &message);
    }

    /// Returns the briefing of `room`, which the caller checked exists.
    fn room_mut(&mut self, room: &str) -> &mut BriefingRoom {
        self.briefings
            .get_mut(room)
            .expect("briefing requests come from members of an open briefing")
    }

    /// Finds the participant `identity` in `room`.
    fn participant(&self, room: &str, identity: &str) -> Option<(ClientId, Member)> {
        self.members
            .iter()
            .find(|(_, j)| {
                let m = &j.member;
                m.room == room && m.identity == identity && m.role == Role::Participant
            })
            .map(|(client, j)| (*client, j.member.clone()))
    }

    fn to_room(&self, room: &str, message: &ServerMessage) {
        for (client, joiner) in &self.members {
            let Some(outbox) = &joiner.outbox else {
                continue;
            };
            if joiner.member.room == room {
                super::deliver(*client, outbox, message.clone());
            }
        }
    }

    /// Sends `message` to the room's organisers and to the participant it concerns.
    fn to_organisers_and(&self, room: &str, identity: &str, message: &ServerMessage) {
        for (client, joiner) in &self.members {
            let m = &joiner.member;
            let addressed = m.role == Role::Organiser || m.identity == identity;
            let Some(outbox) = &joiner.outbox else {
                continue;
            };
            if m.room == room && addressed {
                super::deliver(*client, outbox, message.clone());
            }
        }
    }

    fn record(&self, room: &str, event: BriefingEvent) {
        self.events.send(BriefingRecord {
            room: room.to_owned(),
            at_unix_ms: now_ms(),
            event,
        });
    }
}
