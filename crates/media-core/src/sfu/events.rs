//! Events the router reports to the signalling layer.

use str0m::media::MediaKind;

use crate::ids::{ClientId, RoomId, TrackId, TrackSource};
use crate::peer::PeerKind;

/// A track offered to a subscriber on one m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedTrack {
    /// The m-line in the offer.
    pub mid: String,
    /// The track sent on it.
    pub track: TrackId,
}

/// A published track, as reported to the signalling layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSummary {
    /// Track identifier.
    pub track: TrackId,
    /// The publishing client.
    pub client: ClientId,
    /// Audio or video.
    pub kind: MediaKind,
    /// The device behind the track.
    pub source: TrackSource,
}

/// Something the signalling layer must act on or pass to clients.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// A client started publishing a track.
    TrackPublished {
        /// The room of the publisher.
        room: RoomId,
        /// The track.
        track: TrackSummary,
    },
    /// A track stopped.
    TrackUnpublished {
        /// The room of the publisher.
        room: RoomId,
        /// The track.
        track: TrackId,
        /// The publishing client.
        client: ClientId,
    },
    /// A new SDP offer for a client's receiving connection.
    SubscribeOffer {
        /// The client that must answer.
        client: ClientId,
        /// The offer.
        sdp: String,
        /// Every track carried on the connection after this offer.
        tracks: Vec<OfferedTrack>,
    },
    /// ICE and DTLS completed on one of a client's connections.
    Connected {
        /// The client.
        client: ClientId,
        /// Which connection.
        kind: PeerKind,
    },
    /// One of a client's connections was lost (ICE timed out or DTLS closed) and removed.
    Disconnected {
        /// The client.
        client: ClientId,
        /// Which connection.
        kind: PeerKind,
    },
    /// ICE lost one of a client's connections: the client stopped sending checks, or
    /// restarted ICE on its publishing connection. The connection stays, waiting for ICE
    /// to complete again.
    MediaInterrupted {
        /// The client.
        client: ClientId,
        /// Which connection.
        kind: PeerKind,
    },
    /// ICE found a client's connection again after [`SfuEvent::MediaInterrupted`], or the
    /// client's new publishing connection completed after the old one was lost.
    MediaRestored {
        /// The client.
        client: ClientId,
        /// Which connection.
        kind: PeerKind,
    },
    /// A track that lost its publishing connection is published again by the same client
    /// on a new one. Subscribers keep receiving it on the same m-line; the stream restarts
    /// with a new SSRC and new sequence numbers.
    TrackResumed {
        /// The room of the publisher.
        room: RoomId,
        /// The track, with its id unchanged.
        track: TrackSummary,
    },
    /// The set of simulcast layers of a track that someone needs changed. The publisher
    /// may pause the others, for a browser by setting `active` on its encodings.
    LayersWanted {
        /// The publishing client.
        client: ClientId,
        /// The track's m-line in the publisher's offer.
        mid: String,
        /// The RIDs of the layers to send, lowest first; the others may pause.
        rids: Vec<String>,
    },
    /// The client's state broke (a panic inside its peer connection); the client was removed.
    ClientFailed {
        /// The client.
        client: ClientId,
    },
}
