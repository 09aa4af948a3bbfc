//! Sessions that HTTP creates without a signalling socket: a WHIP publisher of a person's
//! workplace camera and a WHEP viewer of one person.
//!
//! A WHIP session is a member of the room with the identity of the person who publishes,
//! beside that person's browser session if they have one. Its one track is the source
//! [`TrackSource::Camera2`], relayed and recorded like a browser's second camera. Others
//! see one person: `peer_joined` comes with the person's first session, `peer_left` with
//! their last, and lists of peers merge the tracks of both sessions.
//!
//! A WHEP viewer is not a member: nobody is told about it, and it receives the tracks the
//! router picks when it answers the viewer's offer.

use std::collections::HashMap;
use std::time::Instant;

use media_core::{
    media_lines, ClientId, ClientOptions, PublishError, Receives, RoomId, TrackId, TrackSource,
    WatchError,
};
use uuid::Uuid;

use super::rejoin::Presence;
use super::{client_options, JoinRejected, Joiner, MediaLoop, Member};
use crate::signalling::protocol::{self, PeerInfo, Role, ServerMessage, TrackInfo};

/// The source of every track a WHIP session publishes.
pub const WHIP_SOURCE: TrackSource = TrackSource::Camera2;

/// WHEP sessions one person may have open at once. A viewer's connection is kept until
/// it is deleted or its ICE connection is lost, so the limit bounds what one token can
/// hold on the media port.
pub const MAX_VIEWERS_PER_PERSON: usize = 8;

/// Order in which a viewer's m-lines take the watched person's tracks of their kind.
const WATCH_ORDER: [TrackSource; 5] = [
    TrackSource::Camera,
    TrackSource::Camera2,
    TrackSource::Screen,
    TrackSource::Microphone,
    TrackSource::ScreenAudio,
];

/// A WHEP viewer, by its media core client.
pub(super) struct Viewer {
    /// The session's resource identifier in the URL.
    resource: String,
    /// The person who watches.
    member: Member,
    /// The identity watched.
    target: String,
}

/// A WHIP or WHEP session that was set up.
#[derive(Debug)]
pub struct Opened {
    /// The SDP answer.
    pub answer: String,
    /// The session's resource identifier, random and unguessable.
    pub resource: String,
    /// The tracks the session carries: for a viewer, the watched person's tracks it
    /// receives, by m-line order.
    pub tracks: Vec<TrackInfo>,
}

/// The reason a WHIP or WHEP session was not set up. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum OpenRejected {
    /// The people in the room joined it as another kind of room.
    #[error(transparent)]
    Join(#[from] JoinRejected),
    /// The person's browser publishes a second camera, which the WHIP session would
    /// publish too.
    #[error("the person's browser already publishes a second camera")]
    SourceInUse,
    /// The media core rejected the publishing offer.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The media core rejected the viewer's offer.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The viewer may not watch this person.
    #[error("participants may watch only organisers")]
    Forbidden,
    /// Nobody with this identity is in the room.
    #[error("nobody with this identity is in the room")]
    UnknownPeer,
    /// The person publishes no track the viewer could receive.
    #[error("the person publishes nothing")]
    NotPublishing,
    /// The viewer has [`MAX_VIEWERS_PER_PERSON`] WHEP sessions open already.
    #[error("the viewer has {MAX_VIEWERS_PER_PERSON} WHEP sessions open already")]
    TooManySessions,
}

/// The reason a request to end a session was rejected. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndRejected {
    /// No session has this resource identifier.
    #[error("no such session")]
    NotFound,
    /// The session belongs to someone else.
    #[error("the session belongs to someone else")]
    Forbidden,
}

fn new_resource() -> String {
    Uuid::new_v4().simple().to_string()
}

impl MediaLoop {
    /// Starts a WHIP session of `member` that publishes the video m-line `mid` of `offer`
    /// as [`WHIP_SOURCE`]. An earlier WHIP session of the same person ends, because an
    /// encoder that restarts does not always delete its old session first.
    pub(super) fn open_whip(
        &mut self,
        now: Instant,
        member: Member,
        offer: &str,
        mid: String,
    ) -> Result<Opened, OpenRejected> {
        if let Some(present) = self.kind_in_use(&member) {
            return Err(JoinRejected::KindMismatch { present }.into());
        }
        let browser_source = self
            .sessions_of(&member.room, &member.identity)
            .filter(|(_, joiner)| joiner.whip.is_none())
            .flat_map(|(_, joiner)| joiner.tracks.iter())
            .any(|track| track.source == protocol::TrackSource::Camera2);
        if browser_source {
            return Err(OpenRejected::SourceInUse);
        }

        let mut options = client_options(&member, self.recorder.is_some());
        options.may_talk = false;
        options.receives = Receives::Nothing;
        let client = self.sfu.add_client(now, options);
        let answer = match self.sfu.publish(now, client, offer, &[(mid, WHIP_SOURCE)]) {
            Ok(answer) => answer,
            Err(error) => {
                self.sfu.remove_client(now, client);
                return Err(error.into());
            }
        };

        let earlier: Vec<ClientId> = self
            .sessions_of(&member.room, &member.identity)
            .filter(|(_, joiner)| joiner.whip.is_some())
            .map(|(client, _)| client)
            .collect();
        if !self.is_present(&member) {
            let announcement = ServerMessage::PeerJoined(PeerInfo {
                identity: member.identity.clone(),
                name: member.name.clone(),
                role: member.role,
                tracks: Vec::new(),
                reconnecting: false,
            });
            self.broadcast(&member, None, &announcement);
        }
        let resource = new_resource();
        tracing::info!(room = %member.room, identity = %member.identity, client = %client, "WHIP session started");
        let joiner = Joiner {
            member,
            outbox: None,
            tracks: Vec::new(),
            presence: Presence::new(),
            whip: Some(resource.clone()),
        };
        self.members.insert(client, joiner);
        for client in earlier {
            tracing::info!(client = %client, "WHIP session replaced by a new one");
            self.leave(now, client);
        }
        Ok(Opened {
            answer,
            resource,
            tracks: Vec::new(),
        })
    }

    /// Rejects a browser's publishing offer that sends a second camera while a WHIP
    /// session of the same person publishes one.
    pub(super) fn check_browser_sources(
        &self,
        client: ClientId,
        offer: &str,
        sources: &[(String, TrackSource)],
    ) -> Result<(), PublishError> {
        let Some(joiner) = self.members.get(&client) else {
            return Ok(());
        };
        let member = &joiner.member;
        let whip = self
            .sessions_of(&member.room, &member.identity)
            .any(|(_, joiner)| joiner.whip.is_some());
        if !whip {
            return Ok(());
        }
        let sending = media_lines(offer).into_iter().filter(|line| line.sending);
        for mid in sending.filter_map(|line| line.mid) {
            let declared = sources.iter().find(|(m, _)| *m == mid).map(|(_, s)| *s);
            if declared == Some(WHIP_SOURCE) {
                return Err(PublishError::SourceNotAllowed {
                    mid,
                    declared: WHIP_SOURCE,
                    reason: "a workplace camera publishes the second camera over WHIP",
                });
            }
        }
        Ok(())
    }

    /// Starts a WHEP session in which `viewer` receives the tracks of `target`.
    pub(super) fn open_whep(
        &mut self,
        now: Instant,
        viewer: Member,
        target: &str,
        offer: &str,
    ) -> Result<Opened, OpenRejected> {
        let sessions: Vec<(ClientId, Role)> = self
            .sessions_of(&viewer.room, target)
            .map(|(client, joiner)| (client, joiner.member.role))
            .collect();
        // Participants learn nothing of each other, so a participant gets the same answer
        // whether another participant is in the room or not.
        let allowed = sessions
            .iter()
            .all(|(_, role)| super::may_see(viewer.role, *role));
        if viewer.role == Role::Participant && (sessions.is_empty() || !allowed) {
            return Err(OpenRejected::Forbidden);
        }
        if sessions.is_empty() {
            return Err(OpenRejected::UnknownPeer);
        }
        let tracks = self.watchable_tracks(&viewer.room, &sessions);
        if tracks.is_empty() {
            return Err(OpenRejected::NotPublishing);
        }
        let open = self
            .viewers
            .values()
            .filter(|v| v.member.room == viewer.room && v.member.identity == viewer.identity)
            .count();
        if open >= MAX_VIEWERS_PER_PERSON {
            return Err(OpenRejected::TooManySessions);
        }

        let options = ClientOptions {
            room: RoomId(viewer.room.clone()),
            may_publish: false,
            may_talk: false,
            presenter: false,
            receives: Receives::Nothing,
            recorded: false,
        };
        let client = self.sfu.add_client(now, options);
        let (answer, offered) = match self.sfu.watch(now, client, offer, &tracks) {
            Ok(watching) => watching,
            Err(error) => {
                self.sfu.remove_client(now, client);
                return Err(error.into());
            }
        };
        let infos: Vec<TrackInfo> = offered
            .iter()
            .filter_map(|offered| self.track_info_of(offered.track))
            .collect();
        let resource = new_resource();
        tracing::info!(room = %viewer.room, identity = %viewer.identity, target, client = %client, tracks = infos.len(), "WHEP session started");
        let entry = Viewer {
            resource: resource.clone(),
            member: viewer,
            target: target.to_owned(),
        };
        self.viewers.insert(client, entry);
        Ok(Opened {
            answer,
            resource,
            tracks: infos,
        })
    }

    /// Ends the WHIP or WHEP session `resource` of `identity` in `room`.
    pub(super) fn end_session(
        &mut self,
        now: Instant,
        resource: &str,
        room: &str,
        identity: &str,
    ) -> Result<(), EndRejected> {
        let whip = self
            .members
            .iter()
            .find(|(_, joiner)| joiner.whip.as_deref() == Some(resource))
            .map(|(client, joiner)| (*client, &joiner.member));
        let whep = self
            .viewers
            .iter()
            .find(|(_, viewer)| viewer.resource == resource)
            .map(|(client, viewer)| (*client, &viewer.member));
        let Some((client, owner)) = whip.or(whep) else {
            return Err(EndRejected::NotFound);
        };
        if owner.room != room || owner.identity != identity {
            return Err(EndRejected::Forbidden);
        }
        if self.viewers.contains_key(&client) {
            self.remove_viewer(now, client);
        } else {
            tracing::info!(room, identity, client = %client, "WHIP session ended");
            self.leave(now, client);
        }
        Ok(())
    }

    /// Removes a WHEP viewer and its connection. Returns false when `client` is no viewer.
    pub(super) fn remove_viewer(&mut self, now: Instant, client: ClientId) -> bool {
        let Some(viewer) = self.viewers.remove(&client) else {
            return false;
        };
        let member = &viewer.member;
        tracing::info!(room = %member.room, identity = %member.identity, target = %viewer.target, client = %client, "WHEP session ended");
        self.sfu.remove_client(now, client);
        true
    }

    /// Returns the sessions, browser and WHIP, of `identity` in `room`.
    pub(super) fn sessions_of<'a>(
        &'a self,
        room: &'a str,
        identity: &'a str,
    ) -> impl Iterator<Item = (ClientId, &'a Joiner)> + 'a {
        self.members
            .iter()
            .filter(move |(_, j)| j.member.room == room && j.member.identity == identity)
            .map(|(client, joiner)| (*client, joiner))
    }

    /// Returns whether the person `member` names has a session in the room.
    pub(super) fn is_present(&self, member: &Member) -> bool {
        self.sessions_of(&member.room, &member.identity)
            .next()
            .is_some()
    }

    /// Returns the tracks of the other sessions of the person `member` names, which
    /// announce them when that session joins.
    pub(super) fn tracks_of_other_sessions(&self, member: &Member) -> Vec<TrackInfo> {
        self.sessions_of(&member.room, &member.identity)
            .flat_map(|(_, joiner)| joiner.tracks.iter().cloned())
            .collect()
    }

    /// Returns the tracks of `sessions` that a viewer may receive, in [`WATCH_ORDER`].
    fn watchable_tracks(&self, room: &str, sessions: &[(ClientId, Role)]) -> Vec<TrackId> {
        let mut tracks: Vec<(usize, TrackId)> = self
            .sfu
            .tracks_in_room(&RoomId(room.to_owned()))
            .into_iter()
            .filter(|track| sessions.iter().any(|(client, _)| *client == track.client))
            .filter_map(|track| {
                let rank = WATCH_ORDER.iter().position(|s| *s == track.source)?;
                Some((rank, track.track))
            })
            .collect();
        tracks.sort();
        tracks.into_iter().map(|(_, track)| track).collect()
    }

    fn track_info_of(&self, track: TrackId) -> Option<TrackInfo> {
        let id = track.to_string();
        self.members
            .values()
            .flat_map(|joiner| joiner.tracks.iter())
            .find(|info| info.track == id)
            .cloned()
    }
}

/// Merges the entries of one person's browser and WHIP sessions into one, with the
/// tracks of both, keeping the order in which each person first appears.
pub(super) fn merge_sessions(peers: Vec<PeerInfo>) -> Vec<PeerInfo> {
    let mut merged: Vec<PeerInfo> = Vec::with_capacity(peers.len());
    let mut positions: HashMap<String, usize> = HashMap::new();
    for peer in peers {
        match positions.get(&peer.identity) {
            Some(&position) => {
                let entry = &mut merged[position];
                entry.tracks.extend(peer.tracks);
                entry.reconnecting |= peer.reconnecting;
            }
            None => {
                positions.insert(peer.identity.clone(), merged.len());
                merged.push(peer);
            }
        }
    }
    merged
}
