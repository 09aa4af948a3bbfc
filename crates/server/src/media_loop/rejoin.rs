//! Keeping a person's place while their client reconnects.
//!
//! A client whose signalling socket drops without `leave` stays a member of its room for
//! the rejoin grace. Its tracks stay published and its subscriptions and connections stay.
//! A new socket that presents the session's resume token takes its place again. A
//! client whose publishing connection loses ICE is announced as reconnecting too, until
//! ICE, or a new connection of the same client, brings its media back.

use std::time::Instant;

use media_core::{ClientId, PeerKind};
use rand::RngCore;
use tokio::sync::{mpsc, oneshot};

use super::{deliver, error_message, JoinRejected, Joined, MediaLoop, Member};
use crate::signalling::protocol::{ErrorCode, ServerMessage};

/// Bytes of randomness in a resume token.
const RESUME_TOKEN_BYTES: usize = 32;

/// A member's connection state, as the media loop tracks it.
pub(super) struct Presence {
    /// The secret a new socket presents to take this session's place.
    pub resume_token: String,
    /// When the session's socket was lost; `None` while a session is attached.
    pub away_since: Option<Instant>,
    /// Whether ICE lost the publishing connection and has not found it again.
    pub media_lost: bool,
    /// Whether the last message to viewers said that the member is reconnecting.
    pub announced: bool,
    /// The latest `subscribe_offer` not answered yet, sent again after a resume because
    /// the lost socket may have swallowed it.
    pub unanswered_offer: Option<ServerMessage>,
}

impl Presence {
    pub fn new() -> Self {
        let mut bytes = [0u8; RESUME_TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let resume_token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            resume_token,
            away_since: None,
            media_lost: false,
            announced: false,
            unanswered_offer: None,
        }
    }

    fn reconnecting(&self) -> bool {
        self.away_since.is_some() || self.media_lost
    }
}

/// Compares two strings in time that depends only on their lengths.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl MediaLoop {
    /// Returns the client whose place a join with `token` takes: the same person in the
    /// same room, holding that resume token.
    pub(super) fn resumable(&self, member: &Member, token: &str) -> Option<ClientId> {
        self.members
            .iter()
            .find(|(_, j)| j.member.room == member.room && j.member.identity == member.identity)
            .filter(|(_, j)| j.whip.is_none())
            .filter(|(_, j)| same_secret(&j.presence.resume_token, token))
            .map(|(client, _)| *client)
    }

    /// Attaches a new session to a kept client. An older session still attached, whose
    /// socket the server has not yet seen drop, gets `session_replaced`.
    pub(super) fn resume(
        &mut self,
        client: ClientId,
        outbox: mpsc::Sender<ServerMessage>,
        reply: oneshot::Sender<Result<Joined, JoinRejected>>,
    ) {
        let Some(joiner) = self.members.get_mut(&client) else {
            return;
        };
        let earlier = joiner.outbox.replace(outbox);
        let away = joiner.presence.away_since.take();
        let member = joiner.member.clone();
        let resume_token = joiner.presence.resume_token.clone();
        let offer = joiner.presence.unanswered_offer.clone();
        if let Some(earlier) = earlier {
            let message = error_message(
                ErrorCode::SessionReplaced,
                "This session was resumed from another connection.",
                true,
            );
            deliver(client, &earlier, message);
        }
        let away_ms = away.map(|at| at.elapsed().as_millis() as u64);
        tracing::info!(room = %member.room, identity = %member.identity, client = %client, away_ms, "session resumed");

        let peers = self.peers_seen_by(client, &member);
        let briefing = self.briefing_state(&member);
        let talks = self.talks_for(&member);
        let _ = reply.send(Ok(Joined {
            client,
            peers,
            briefing,
            talks,
            resume_token,
            resumed: true,
        }));
        if let Some(offer) = offer {
            self.send_to(client, offer);
        }
        self.announce_presence(client);
    }

    /// Returns whether `outbox` is the queue of the session attached to `client`.
    pub(super) fn is_session_of(
        &self,
        client: ClientId,
        outbox: &mpsc::Sender<ServerMessage>,
    ) -> bool {
        self.members
            .get(&client)
            .and_then(|j| j.outbox.as_ref())
            .is_some_and(|current| current.same_channel(outbox))
    }

    /// Keeps a client whose session lost its socket, until it resumes or the grace ends.
    pub(super) fn detach(
        &mut self,
        now: Instant,
        client: ClientId,
        outbox: &mpsc::Sender<ServerMessage>,
    ) {
        if !self.is_session_of(client, outbox) {
            return;
        }
        let grace_secs = self.rejoin_grace.as_secs();
        let Some(joiner) = self.members.get_mut(&client) else {
            return;
        };
        joiner.outbox = None;
        joiner.presence.away_since = Some(now);
        tracing::info!(room = %joiner.member.room, identity = %joiner.member.identity, client = %client, grace_secs, "signalling socket lost, keeping the place");
        self.announce_presence(client);
    }

    /// Notes whether ICE lost the client's publishing connection.
    pub(super) fn set_media_lost(&mut self, client: ClientId, kind: PeerKind, lost: bool) {
        if kind != PeerKind::Publishing {
            return;
        }
        match self.members.get_mut(&client) {
            // Viewers learn that a WHIP session ended from its tracks, not as reconnecting.
            Some(joiner) if joiner.whip.is_some() => return,
            Some(joiner) => joiner.presence.media_lost = lost,
            None => {}
        }
        self.announce_presence(client);
    }

    /// Tells the member's viewers when they start or stop reconnecting.
    pub(super) fn announce_presence(&mut self, client: ClientId) {
        let Some(joiner) = self.members.get_mut(&client) else {
            return;
        };
        let reconnecting = joiner.presence.reconnecting();
        if reconnecting == joiner.presence.announced {
            return;
        }
        joiner.presence.announced = reconnecting;
        let member = joiner.member.clone();
        let identity = member.identity.clone();
        let message = if reconnecting {
            ServerMessage::PeerReconnecting { identity }
        } else {
            ServerMessage::PeerReconnected { identity }
        };
        self.broadcast(&member, Some(client), &message);
    }

    /// Returns when the first kept client's grace ends.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.members
            .values()
            .filter_map(|j| j.presence.away_since)
            .min()
            .map(|at| at + self.rejoin_grace)
    }

    /// Removes every kept client whose grace has ended, as if it had left.
    pub(super) fn expire_away(&mut self, now: Instant) {
        let grace = self.rejoin_grace;
        let expired: Vec<ClientId> = self
            .members
            .iter()
            .filter(|(_, j)| j.presence.away_since.is_some_and(|at| at + grace <= now))
            .map(|(client, _)| *client)
            .collect();
        for client in expired {
            let (room, identity) = self.names(client);
            tracing::info!(room, identity, client = %client, "rejoin grace ended, removing");
            self.leave(now, client);
        }
    }
}
