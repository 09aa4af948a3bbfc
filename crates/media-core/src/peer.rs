//! One peer connection: a `str0m::Rtc` plus what the router keeps about it.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use str0m::format::PayloadParams;
use str0m::media::{MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use str0m::Rtc;

use crate::bitrate::LayerCap;
use crate::ids::{ClientId, PeerId, TrackId, TrackSource};
use crate::layer::{Layers, ViewSize};
use crate::rewrite::Rewriter;
use crate::sfu::PeerFigures;

/// Direction of media on a peer connection, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// The client sends its tracks to the server; the client makes the offers.
    Publishing,
    /// The server sends other clients' tracks to the client; the server makes the offers.
    Receiving,
}

pub(crate) struct Peer {
    pub id: PeerId,
    pub client: ClientId,
    pub rtc: Rtc,
    pub next_timeout: Option<Instant>,
    /// The latest time given to the `Rtc` with a timeout it asked for one pacer step
    /// ahead. It runs ahead of the caller's clock by a microsecond per packet of a burst.
    pub pacer_clock: Instant,
    /// Whether the router wrote a forwarded packet since the last drain, which may then
    /// leave the pacer's gate closed behind the packet (`Sfu::drain`).
    pub forwarded: bool,
    /// Set when str0m panicked inside this peer; the peer is then removed.
    pub failed: bool,
    /// Set while ICE has lost the client, until an ICE restart or new checks restore it.
    pub interrupted: bool,
    pub side: Side,
    /// The latest stats of the connection's streams.
    pub figures: PeerFigures,
}

pub(crate) enum Side {
    Publishing(PublishingSide),
    Receiving(ReceivingSide),
}

/// State of a publishing connection: its tracks and their sources.
#[derive(Default)]
pub(crate) struct PublishingSide {
    /// Tracks by the m-line that carries them.
    pub tracks: HashMap<Mid, TrackId>,
    /// Sources the client declared in its latest offer.
    pub sources: HashMap<Mid, TrackSource>,
    /// Every m-line seen in an offer, in order.
    pub mids: Vec<Mid>,
    /// Tracks and simulcast layers by incoming SSRC, filled on the first packet of each SSRC.
    pub by_ssrc: HashMap<Ssrc, (TrackId, Option<Rid>)>,
    /// The DTLS fingerprint of the client's first offer. An offer with another one comes
    /// from a new browser connection, which gets a new peer.
    pub fingerprint: Option<String>,
    /// The ICE username fragment of the client's latest offer. A new one is an ICE restart.
    pub ufrag: Option<String>,
    /// Tracks of the client's lost connection that m-lines of this one take over when
    /// they start receiving, by the source the offer declared for them.
    pub reserved: HashMap<Mid, TrackId>,
}

/// State of a receiving connection: the forwarded tracks and the negotiation.
#[derive(Default)]
pub(crate) struct ReceivingSide {
    pub forwards: HashMap<Mid, Forward>,
    /// The offer waiting for the client's answer.
    pub pending: Option<SdpPendingOffer>,
    /// Tracks to add in the next offer.
    pub to_add: Vec<TrackId>,
    /// M-lines whose track ended, to be made inactive in the next offer.
    pub to_deactivate: Vec<IdleSlot>,
    /// Inactive m-lines, reused for the next tracks of their kind.
    pub idle: Vec<IdleSlot>,
    /// Whether the next offer restarts ICE with new credentials.
    pub ice_restart: bool,
    /// Whether the viewer made the offer and its m-lines stay as answered: the server
    /// never offers on this connection, so a track that ends leaves its m-line silent.
    pub viewer_offered: bool,
    /// The newest estimate of the bandwidth towards the client, from str0m's send-side
    /// bandwidth estimation, in bits per second.
    pub estimate: Option<u64>,
    /// When the bandwidth is next shared among the forwarded tracks.
    pub next_allocation: Option<Instant>,
}

/// An m-line of a receiving connection that carries no track. M-lines are made inactive
/// and reused rather than stopped: stopping the first m-line of a BUNDLE group, or all of
/// them, makes browsers reject the offer (RFC 8843 section 7.5.3).
pub(crate) struct IdleSlot {
    pub mid: Mid,
    pub kind: MediaKind,
    /// The numbering of the m-line's last track, continued by the next one.
    pub rewriter: Option<Rewriter>,
}

/// One track forwarded on one m-line of a receiving connection.
pub(crate) struct Forward {
    pub track: TrackId,
    pub kind: MediaKind,
    /// False until the client's answer covering this m-line is accepted.
    pub open: bool,
    pub rewriter: Option<Rewriter>,
    /// Payload type mapping from the publisher's to the subscriber's numbering.
    pub payload_type: Option<(Pt, Pt)>,
    /// The size the subscriber shows the video at, once it said so.
    pub view: Option<ViewSize>,
    /// The highest layer the connection's bandwidth estimate allows.
    pub cap: LayerCap,
    /// The layer the subscriber gets now, as an index into the track's layers.
    pub layer: Option<usize>,
}

impl Forward {
    pub fn new(track: TrackId, kind: MediaKind, rewriter: Option<Rewriter>) -> Self {
        Self {
            track,
            kind,
            open: false,
            rewriter,
            payload_type: None,
            view: None,
            cap: LayerCap::default(),
            layer: None,
        }
    }

    /// Returns the layer of `layers` this forward should get: the one that suits its view,
    /// or a lower one when the bandwidth estimate does not allow that.
    pub fn target_layer(&self, layers: &Layers) -> usize {
        layers.for_view_within(self.view, self.cap.limit())
    }

    /// Frees the m-line for another track.
    pub fn into_idle(self, mid: Mid) -> IdleSlot {
        IdleSlot {
            mid,
            kind: self.kind,
            rewriter: self.rewriter,
        }
    }
}

impl Peer {
    /// Runs `f` on the peer's `Rtc`, turning a panic inside str0m into a failed peer.
    pub fn guarded<R>(&mut self, f: impl FnOnce(&mut Rtc) -> R) -> Option<R> {
        if self.failed {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.rtc))) {
            Ok(result) => Some(result),
            Err(_) => {
                tracing::error!(peer = %self.id, client = %self.client, "peer connection panicked, closing it");
                self.failed = true;
                None
            }
        }
    }

    pub fn publishing(&mut self) -> Option<&mut PublishingSide> {
        match &mut self.side {
            Side::Publishing(side) => Some(side),
            Side::Receiving(_) => None,
        }
    }

    pub fn receiving_side(&self) -> Option<&ReceivingSide> {
        match &self.side {
            Side::Receiving(side) => Some(side),
            Side::Publishing(_) => None,
        }
    }

    pub fn receiving(&mut self) -> Option<&mut ReceivingSide> {
        match &mut self.side {
            Side::Receiving(side) => Some(side),
            Side::Publishing(_) => None,
        }
    }

    pub fn kind(&self) -> PeerKind {
        match self.side {
            Side::Publishing(_) => PeerKind::Publishing,
            Side::Receiving(_) => PeerKind::Receiving,
        }
    }

    /// Returns the publisher's payload parameters for `pt`.
    pub fn payload_params(&self, pt: Pt) -> Option<PayloadParams> {
        self.rtc.codec_config().find(|p| p.pt() == pt).cloned()
    }
}
