//! A client's signalling session with the server under test: Profstage's WebSocket
//! signalling or Janus's REST API. Publishers and subscribers drive either through the same
//! calls, so both servers get the same media and the same measurements.

use std::net::IpAddr;

use crate::janus::{self, FeedId, JanusSession, RoomId};
use crate::options::Target;
use crate::signalling::{
    ClientMessage, LayersWanted, PublishedTrack, Server, ServerMessage, Signalling,
};
use crate::Error;

/// A client's name, role and the room it joins.
pub struct Identity<'a> {
    /// Room to join: a Profstage room id, or a Janus VideoRoom number.
    pub room: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Profstage role; Janus has no roles.
    pub role: &'a str,
}

/// A signalling session.
pub enum Session {
    /// Profstage's WebSocket signalling (`docs/signalling.md`).
    Profstage(Signalling),
    /// A Janus session with a VideoRoom handle, and the room it joins.
    Janus(JanusSession, RoomId),
}

/// A message of a session that the client acts on.
pub enum Incoming {
    /// An SDP offer for the receiving connection, to be answered with
    /// [`Session::answer`], and the identifiers of the video tracks it carries (none on
    /// Janus).
    Offer {
        /// The SDP offer.
        sdp: String,
        /// Identifiers of the video tracks, for [`Session::video_size`].
        video_tracks: Vec<String>,
    },
    /// The simulcast layers of the client's camera that someone receives.
    LayersWanted(LayersWanted),
    /// The server ended the session or the connection.
    Fatal(String),
    /// Anything else.
    Other,
}

impl Session {
    /// Opens a session of `target` at `server` for `who`, whose media sockets are bound to
    /// `own`.
    pub async fn open(
        target: Target,
        server: &Server,
        who: &Identity<'_>,
        own: IpAddr,
    ) -> Result<Self, Error> {
        match target {
            Target::Profstage => {
                let token = server.token(who.room, who.name, who.role).await?;
                let (signalling, _identity) = Signalling::join(server, &token).await?;
                Ok(Self::Profstage(signalling))
            }
            Target::Janus => {
                let room = janus_room(who.room)?;
                Ok(Self::Janus(JanusSession::open(server, own).await?, room))
            }
        }
    }

    /// Publishes `offer` with the source of each m-line. Returns the server's answer, and
    /// on Janus the publisher's feed id.
    pub async fn publish(
        &mut self,
        name: &str,
        offer: String,
        tracks: Vec<PublishedTrack>,
    ) -> Result<(String, Option<FeedId>), Error> {
        match self {
            Self::Profstage(signalling) => {
                let sdp = offer;
                signalling
                    .send(&ClientMessage::Publish { sdp, tracks })
                    .await?;
                loop {
                    match signalling.receive().await? {
                        ServerMessage::PublishAnswer { sdp } => return Ok((sdp, None)),
                        ServerMessage::Error { code, message, .. } => {
                            return Err(Error::Signalling(format!(
                                "publish rejected: {code}: {message}"
                            )))
                        }
                        _ => continue,
                    }
                }
            }
            Self::Janus(session, room) => {
                let (answer, feed) = session.publish(*room, name, &offer).await?;
                Ok((answer, Some(feed)))
            }
        }
    }

    /// Asks to receive `feeds`. Profstage offers what a client's role may receive without
    /// being asked; Janus subscribes to the feeds named.
    pub async fn subscribe(&mut self, feeds: &[FeedId]) -> Result<(), Error> {
        match self {
            Self::Profstage(_) => Ok(()),
            Self::Janus(session, room) => session.subscribe(*room, feeds).await,
        }
    }

    /// Answers the last offer.
    pub async fn answer(&mut self, sdp: String) -> Result<(), Error> {
        match self {
            Self::Profstage(signalling) => {
                signalling
                    .send(&ClientMessage::SubscribeAnswer { sdp })
                    .await
            }
            Self::Janus(session, _) => session.answer(&sdp).await,
        }
    }

    /// Returns the next message the client acts on. Cancel-safe: it only reads a channel.
    pub async fn receive(&mut self) -> Result<Incoming, Error> {
        match self {
            Self::Profstage(signalling) => Ok(match signalling.receive().await? {
                ServerMessage::SubscribeOffer { sdp, tracks } => Incoming::Offer {
                    sdp,
                    video_tracks: tracks
                        .into_iter()
                        .filter(|t| t.kind == "video")
                        .map(|t| t.track)
                        .collect(),
                },
                ServerMessage::LayersWanted(wanted) => Incoming::LayersWanted(wanted),
                ServerMessage::Error {
                    code,
                    message,
                    fatal: true,
                } => Incoming::Fatal(format!("{code}: {message}")),
                _ => Incoming::Other,
            }),
            Self::Janus(session, _) => {
                let event = session.receive().await?.check()?;
                if event.janus == "hangup" {
                    return Err(janus::hangup(&event));
                }
                match event.sdp("offer") {
                    Some(sdp) => Ok(Incoming::Offer {
                        sdp: janus::host_only(sdp, session.own())?.to_string(),
                        video_tracks: Vec::new(),
                    }),
                    None => Ok(Incoming::Other),
                }
            }
        }
    }

    /// Tells Profstage the size at which video `track` is shown. Janus has no such message.
    pub async fn video_size(&mut self, track: &str, width: u32, height: u32) -> Result<(), Error> {
        match self {
            Self::Profstage(signalling) => {
                let message = ClientMessage::VideoSize {
                    track,
                    width,
                    height,
                };
                signalling.send(&message).await
            }
            Self::Janus(..) => Ok(()),
        }
    }

    /// Keeps the session alive: `ping` on Profstage, `keepalive` on Janus.
    pub async fn keepalive(&mut self) -> Result<(), Error> {
        match self {
            Self::Profstage(signalling) => signalling.send(&ClientMessage::Ping).await,
            Self::Janus(session, _) => session.keepalive().await,
        }
    }

    /// Leaves: `leave` on Profstage, destroying the session on Janus.
    pub async fn leave(self) {
        match self {
            Self::Profstage(signalling) => signalling.leave().await,
            Self::Janus(session, _) => session.destroy().await,
        }
    }
}

/// Reads a Janus VideoRoom number.
pub fn janus_room(room: &str) -> Result<RoomId, Error> {
    room.parse()
        .map_err(|_| Error::Setup(format!("{room}: a Janus room is a number")))
}

/// Returns the rooms a run may use. Profstage lists its configured rooms. On Janus this
/// creates `count` rooms with random numbers, each for up to `publishers` publishers.
pub async fn rooms(
    target: Target,
    server: &Server,
    count: u32,
    publishers: u32,
) -> Result<Vec<String>, Error> {
    match target {
        Target::Profstage => server.rooms().await,
        Target::Janus => {
            // This session only creates rooms and carries no media.
            let mut session = JanusSession::open(server, IpAddr::from([127, 0, 0, 1])).await?;
            let mut rooms = Vec::new();
            for _ in 0..count {
                // Above Janus's sample rooms (1234, 5678) and below 2^53, which JavaScript
                // clients of the same server could still read.
                let room = 1_000_000 + u64::from(rand::random::<u32>());
                session.create_room(room, publishers).await?;
                rooms.push(room.to_string());
            }
            session.destroy().await;
            Ok(rooms)
        }
    }
}
