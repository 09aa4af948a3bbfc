//! The router: clients, their peer connections, published tracks and who receives which.
//!
//! [`Sfu`] is a sans-IO state machine. The caller feeds it datagrams and timeouts with an
//! explicit `now`, and takes out datagrams to send ([`Sfu::poll_transmit`]), events for the
//! signalling layer ([`Sfu::poll_event`]) and the next time it must be woken
//! ([`Sfu::poll_timeout`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::error::{AnswerError, PublishError};
use crate::ids::{ClientId, PeerId, RoomId, TrackId, TrackSource};
use crate::keyframe::starts_keyframe;
use crate::peer::{Forward, Peer, PeerKind, PublishingSide, ReceivingSide, Side};
use crate::rewrite::Rewriter;
use crate::sdp_check::check_offer;
use crate::track::{KeyframeThrottle, TrackIn};

/// Settings of the router.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The address put in every ICE host candidate: where browsers send media. Behind NAT,
    /// the public address of the port forward.
    pub candidate: SocketAddr,
    /// Shortest time between two keyframe requests sent to a publisher for one track.
    pub keyframe_interval: Duration,
}

impl SfuConfig {
    /// Returns a configuration with the default keyframe interval of one second.
    pub fn new(candidate: SocketAddr) -> Self {
        Self {
            candidate,
            keyframe_interval: Duration::from_secs(1),
        }
    }
}

/// Whose tracks a client receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receives {
    /// Nothing.
    Nothing,
    /// Only tracks of clients marked as presenters.
    Presenters,
    /// Every other client's tracks in the room.
    Everyone,
}

/// What a client may do.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The room the client is in.
    pub room: RoomId,
    /// Whether the client may publish tracks.
    pub may_publish: bool,
    /// Whether the client's tracks go to clients that receive only presenters.
    pub presenter: bool,
    /// Whose tracks the client receives.
    pub receives: Receives,
}

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
    /// The client's state broke (a panic inside its peer connection); the client was removed.
    ClientFailed {
        /// The client.
        client: ClientId,
    },
}

struct Client {
    options: ClientOptions,
    publishing: Option<PeerId>,
    receiving: Option<PeerId>,
}

/// The selective forwarding unit: all rooms of one media port.
pub struct Sfu {
    config: SfuConfig,
    clients: HashMap<ClientId, Client>,
    peers: HashMap<PeerId, Peer>,
    tracks: HashMap<TrackId, TrackIn>,
    /// Last peer that accepted a datagram from each remote address.
    by_address: HashMap<SocketAddr, PeerId>,
    next_id: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SfuEvent>,
    /// Events taken from peers and not handled yet.
    work: VecDeque<(PeerId, Event)>,
    /// Peers given input since they were last polled.
    dirty: Vec<PeerId>,
}

impl Sfu {
    /// Creates an empty router.
    pub fn new(config: SfuConfig) -> Self {
        Self {
            config,
            clients: HashMap::new(),
            peers: HashMap::new(),
            tracks: HashMap::new(),
            by_address: HashMap::new(),
            next_id: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            work: VecDeque::new(),
            dirty: Vec::new(),
        }
    }

    fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Adds a client and subscribes it to the tracks it may receive.
    pub fn add_client(&mut self, now: Instant, options: ClientOptions) -> ClientId {
        let id = ClientId(self.allocate_id());
        let client = Client {
            options,
            publishing: None,
            receiving: None,
        };
        self.clients.insert(id, client);
        let visible: Vec<TrackId> = self
            .tracks
            .values()
            .filter(|t| self.may_receive(id, t))
            .map(|t| t.id)
            .collect();
        for track in visible {
            self.subscribe(now, id, track);
        }
        self.process(now);
        id
    }

    /// Removes a client, its connections and its tracks.
    pub fn remove_client(&mut self, now: Instant, client: ClientId) {
        let Some(removed) = self.clients.remove(&client) else {
            return;
        };
        for peer in [removed.publishing, removed.receiving]
            .into_iter()
            .flatten()
        {
            self.remove_peer(now, peer);
        }
        self.process(now);
    }

    /// Number of clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Tracks published in `room`.
    pub fn tracks_in_room(&self, room: &RoomId) -> Vec<TrackSummary> {
        let mut tracks: Vec<TrackSummary> = self
            .tracks
            .values()
            .filter(|t| &t.room == room)
            .map(summary)
            .collect();
        tracks.sort_by_key(|t| t.track);
        tracks
    }

    /// Applies a publisher's SDP offer and returns the answer. `sources` names the device
    /// behind each m-line; unnamed m-lines are a camera (video) or a microphone (audio).
    pub fn publish(
        &mut self,
        now: Instant,
        client: ClientId,
        offer: &str,
        sources: &[(String, TrackSource)],
    ) -> Result<String, PublishError> {
        let entry = self
            .clients
            .get(&client)
            .ok_or(PublishError::UnknownClient(client))?;
        if !entry.options.may_publish {
            return Err(PublishError::Forbidden(client));
        }
        // Parse before checking the media, so that text that is not SDP at all is reported
        // as invalid rather than as an offer without media.
        let parsed = SdpOffer::from_sdp_string(offer)
            .map_err(|e| PublishError::InvalidSdp(e.to_string()))?;
        check_offer(offer)?;

        let existing = entry.publishing;
        let peer_id = match existing {
            Some(peer) => peer,
            None => self.create_peer(now, client, Side::Publishing(PublishingSide::default())),
        };
        let peer = self
            .peers
            .get_mut(&peer_id)
            .expect("peer was just looked up or created");
        let side = peer
            .publishing()
            .expect("a client's publishing peer publishes");
        side.sources = sources
            .iter()
            .map(|(mid, source)| (Mid::from(mid.as_str()), *source))
            .collect();

        let result = peer.guarded(|rtc| rtc.sdp_api().accept_offer(parsed));
        match result {
            Some(Ok(answer)) => {
                if existing.is_none() {
                    self.attach(client, peer_id, PeerKind::Publishing);
                }
                self.dirty.push(peer_id);
                self.process(now);
                self.reconcile_published(now, peer_id);
                self.process(now);
                Ok(answer.to_sdp_string())
            }
            Some(Err(error)) => {
                if existing.is_none() {
                    self.peers.remove(&peer_id);
                }
                Err(PublishError::InvalidSdp(error.to_string()))
            }
            None => {
                if existing.is_none() {
                    self.peers.remove(&peer_id);
                } else {
                    self.reap(now);
                }
                Err(PublishError::Failed)
            }
        }
    }

    /// Applies a subscriber's SDP answer to the pending offer of its receiving connection.
    pub fn subscribe_answer(
        &mut self,
        now: Instant,
        client: ClientId,
        answer: &str,
    ) -> Result<(), AnswerError> {
        let entry = self
            .clients
            .get(&client)
            .ok_or(AnswerError::UnknownClient(client))?;
        let peer_id = entry.receiving.ok_or(AnswerError::NoPendingOffer)?;
        let parsed = SdpAnswer::from_sdp_string(answer)
            .map_err(|e| AnswerError::InvalidSdp(e.to_string()))?;
        let peer = self
            .peers
            .get_mut(&peer_id)
            .ok_or(AnswerError::NoPendingOffer)?;
        let side = peer
            .receiving()
            .expect("a client's receiving peer receives");
        let pending = side.pending.take().ok_or(AnswerError::NoPendingOffer)?;

        match peer.guarded(|rtc| rtc.sdp_api().accept_answer(pending, parsed)) {
            Some(Ok(())) => {}
            Some(Err(error)) => {
                // str0m consumed the pending offer; the connection cannot continue.
                tracing::warn!(client = %client, error = %error, "subscriber answer rejected, closing the receiving connection");
                self.drop_receiving(now, client, peer_id);
                return Err(AnswerError::InvalidSdp(error.to_string()));
            }
            None => {
                self.reap(now);
                return Err(AnswerError::Failed);
            }
        }
        self.open_forwards(now, peer_id);
        self.negotiate(peer_id);
        self.dirty.push(peer_id);
        self.process(now);
        Ok(())
    }

    /// Feeds one received UDP datagram. Returns false when no peer accepted it.
    pub fn handle_receive(&mut self, now: Instant, source: SocketAddr, contents: &[u8]) -> bool {
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.config.candidate, contents)
        else {
            return false;
        };
        let input = Input::Receive(now, receive);
        let Some(peer_id) = self.find_peer(source, &input) else {
            return false;
        };
        let peer = self
            .peers
            .get_mut(&peer_id)
            .expect("find_peer returns known peers");
        let accepted = peer.guarded(|rtc| rtc.handle_input(input));
        if let Some(Err(error)) = accepted {
            tracing::debug!(peer = %peer_id, error = %error, "datagram rejected");
        }
        self.dirty.push(peer_id);
        self.process(now);
        true
    }

    /// Advances time: runs every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| p.next_timeout.is_none_or(|t| t <= now))
            .map(|p| p.id)
            .collect();
        for peer_id in due {
            if let Some(peer) = self.peers.get_mut(&peer_id) {
                let result = peer.guarded(|rtc| rtc.handle_input(Input::Timeout(now)));
                if let Some(Err(error)) = result {
                    tracing::debug!(peer = %peer_id, error = %error, "timeout input failed");
                }
                self.dirty.push(peer_id);
            }
        }
        let interval = self.config.keyframe_interval;
        let due_keyframes: Vec<TrackId> = self
            .tracks
            .values_mut()
            .filter_map(|t| t.keyframes.take_due(now, interval).then_some(t.id))
            .collect();
        for track in due_keyframes {
            self.send_keyframe_request(track);
        }
        self.process(now);
    }

    /// Returns the next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Returns the next event for the signalling layer.
    pub fn poll_event(&mut self) -> Option<SfuEvent> {
        self.events.pop_front()
    }

    /// Returns when [`Sfu::handle_timeout`] must be called next, or `None` when nothing waits.
    // NOTE: this scans every peer and track; a timer wheel would serve thousands of peers better.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let interval = self.config.keyframe_interval;
        let peers = self.peers.values().filter_map(|p| p.next_timeout);
        let keyframes = self
            .tracks
            .values()
            .filter_map(|t| t.keyframes.due_at(interval));
        peers.chain(keyframes).min()
    }

    fn create_peer(&mut self, now: Instant, client: ClientId, side: Side) -> PeerId {
        let id = PeerId(self.allocate_id());
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .enable_vp9(true)
            .enable_av1(true)
            .build(now);
        match Candidate::host(self.config.candidate, "udp") {
            Ok(candidate) => {
                rtc.add_local_candidate(candidate);
            }
            Err(error) => {
                tracing::error!(error = %error, "invalid host candidate address");
            }
        }
        let peer = Peer {
            id,
            client,
            rtc,
            next_timeout: None,
            failed: false,
            side,
        };
        self.peers.insert(id, peer);
        id
    }

    fn attach(&mut self, client: ClientId, peer: PeerId, kind: PeerKind) {
        if let Some(entry) = self.clients.get_mut(&client) {
            match kind {
                PeerKind::Publishing => entry.publishing = Some(peer),
                PeerKind::Receiving => entry.receiving = Some(peer),
            }
        }
    }

    fn find_peer(&mut self, source: SocketAddr, input: &Input) -> Option<PeerId> {
        if let Some(peer) = self.by_address.get(&source) {
            if self.peers.get(peer).is_some_and(|p| p.rtc.accepts(input)) {
                return Some(*peer);
            }
        }
        let peer = self.peers.values().find(|p| p.rtc.accepts(input))?.id;
        self.by_address.insert(source, peer);
        Some(peer)
    }

    fn may_receive(&self, client: ClientId, track: &TrackIn) -> bool {
        let Some(receiver) = self.clients.get(&client) else {
            return false;
        };
        let Some(publisher) = self.clients.get(&track.client) else {
            return false;
        };
        if client == track.client || receiver.options.room != track.room {
            return false;
        }
        match receiver.options.receives {
            Receives::Nothing => false,
            Receives::Presenters => publisher.options.presenter,
            Receives::Everyone => true,
        }
    }

    /// Polls every dirty peer and handles the events that come out, until nothing is left.
    fn process(&mut self, now: Instant) {
        loop {
            while let Some(peer) = self.dirty.pop() {
                self.drain(peer);
            }
            let Some((peer, event)) = self.work.pop_front() else {
                break;
            };
            self.handle_event(now, peer, event);
        }
        self.reap(now);
    }

    fn drain(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        loop {
            match peer.guarded(|rtc| rtc.poll_output()) {
                Some(Ok(Output::Transmit(transmit))) => self.transmits.push_back(transmit),
                Some(Ok(Output::Event(event))) => self.work.push_back((peer_id, event)),
                Some(Ok(Output::Timeout(at))) => {
                    peer.next_timeout = Some(at);
                    break;
                }
                Some(Err(error)) => {
                    tracing::debug!(peer = %peer_id, error = %error, "peer connection failed");
                    peer.rtc.disconnect();
                    peer.next_timeout = None;
                    break;
                }
                None => break,
            }
        }
    }

    fn handle_event(&mut self, now: Instant, peer_id: PeerId, event: Event) {
        let Some(peer) = self.peers.get(&peer_id) else {
            return;
        };
        let (client, kind) = (peer.client, peer.kind());
        match event {
            Event::Connected => {
                tracing::debug!(client = %client, peer = %peer_id, "peer connected");
                self.events.push_back(SfuEvent::Connected { client, kind });
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::debug!(client = %client, peer = %peer_id, "ICE disconnected");
            }
            Event::MediaAdded(added) if kind == PeerKind::Publishing => {
                self.note_mid(peer_id, added.mid);
                self.reconcile_mid(now, peer_id, added.mid);
            }
            Event::MediaChanged(changed) if kind == PeerKind::Publishing => {
                self.reconcile_mid(now, peer_id, changed.mid);
            }
            Event::RtpPacket(packet) if kind == PeerKind::Publishing => {
                self.forward(now, peer_id, packet);
            }
            Event::KeyframeRequest(request) if kind == PeerKind::Receiving => {
                let track = self
                    .peers
                    .get_mut(&peer_id)
                    .and_then(|p| p.receiving())
                    .and_then(|side| side.forwards.get(&request.mid))
                    .map(|f| f.track);
                if let Some(track) = track {
                    self.request_keyframe(now, track);
                }
            }
            _ => {}
        }
    }

    fn note_mid(&mut self, peer_id: PeerId, mid: Mid) {
        let side = self.peers.get_mut(&peer_id).and_then(|p| p.publishing());
        if let Some(side) = side {
            if !side.mids.contains(&mid) {
                side.mids.push(mid);
            }
        }
    }

    /// Brings every m-line of a publishing peer in line with its negotiated direction.
    fn reconcile_published(&mut self, now: Instant, peer_id: PeerId) {
        let mids = match self.peers.get_mut(&peer_id).and_then(|p| p.publishing()) {
            Some(side) => side.mids.clone(),
            None => return,
        };
        for mid in mids {
            self.reconcile_mid(now, peer_id, mid);
        }
    }

    /// Publishes a track for an m-line that receives and has none, or unpublishes the track
    /// of an m-line that no longer receives.
    fn reconcile_mid(&mut self, now: Instant, peer_id: PeerId, mid: Mid) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let media = peer.rtc.media(mid);
        let receiving = media.is_some_and(|m| m.direction().is_receiving() && !m.disabled());
        let kind = media.map(|m| m.kind());
        let client = peer.client;
        let side = peer
            .publishing()
            .expect("reconcile is called for publishing peers");
        let existing = side.tracks.get(&mid).copied();
        match (receiving, existing, kind) {
            (true, None, Some(kind)) => {
                let source = side.sources.get(&mid).copied().unwrap_or(match kind {
                    MediaKind::Audio => TrackSource::Microphone,
                    MediaKind::Video => TrackSource::Camera,
                });
                let id = TrackId(self.allocate_id());
                let side = self.peers.get_mut(&peer_id).and_then(|p| p.publishing());
                side.expect("checked above").tracks.insert(mid, id);
                self.add_track(now, client, peer_id, mid, kind, source, id);
            }
            (false, Some(track), _) => {
                side.tracks.remove(&mid);
                side.by_ssrc.retain(|_, t| *t != track);
                self.remove_tracks(&[track]);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_track(
        &mut self,
        now: Instant,
        client: ClientId,
        peer: PeerId,
        mid: Mid,
        kind: MediaKind,
        source: TrackSource,
        id: TrackId,
    ) {
        let Some(room) = self.clients.get(&client).map(|c| c.options.room.clone()) else {
            return;
        };
        let track = TrackIn {
            id,
            client,
            room: room.clone(),
            peer,
            mid,
            kind,
            source,
            ssrc: None,
            subscribers: Vec::new(),
            keyframes: KeyframeThrottle::default(),
        };
        tracing::info!(room = %room, client = %client, track = %id, ?kind, ?source, "track published");
        self.events.push_back(SfuEvent::TrackPublished {
            room,
            track: summary(&track),
        });
        self.tracks.insert(id, track);
        let receivers: Vec<ClientId> = self.clients.keys().copied().collect();
        for receiver in receivers {
            let eligible = self
                .tracks
                .get(&id)
                .is_some_and(|t| self.may_receive(receiver, t));
            if eligible {
                self.subscribe(now, receiver, id);
            }
        }
    }

    /// Removes tracks and stops the m-lines that carry them, with one new offer per affected
    /// subscriber, so that a publisher leaving with several tracks costs one renegotiation.
    fn remove_tracks(&mut self, ids: &[TrackId]) {
        let mut affected: Vec<PeerId> = Vec::new();
        for id in ids {
            let Some(track) = self.tracks.remove(id) else {
                continue;
            };
            tracing::info!(room = %track.room, client = %track.client, track = %id, "track unpublished");
            for (peer_id, mid) in &track.subscribers {
                let side = self.peers.get_mut(peer_id).and_then(|p| p.receiving());
                if let Some(side) = side {
                    side.forwards.remove(mid);
                    side.to_add.retain(|t| t != id);
                    side.to_stop.push(*mid);
                }
                if !affected.contains(peer_id) {
                    affected.push(*peer_id);
                }
            }
            self.events.push_back(SfuEvent::TrackUnpublished {
                room: track.room,
                track: *id,
                client: track.client,
            });
        }
        for peer_id in affected {
            self.negotiate(peer_id);
        }
    }

    fn subscribe(&mut self, now: Instant, client: ClientId, track: TrackId) {
        let Some(entry) = self.clients.get(&client) else {
            return;
        };
        let peer_id = match entry.receiving {
            Some(peer) => peer,
            None => {
                let peer = self.create_peer(now, client, Side::Receiving(ReceivingSide::default()));
                self.attach(client, peer, PeerKind::Receiving);
                peer
            }
        };
        if let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) {
            side.to_add.push(track);
        }
        self.negotiate(peer_id);
    }

    /// Sends a new offer on a receiving connection if something changed and no offer waits.
    fn negotiate(&mut self, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let client = peer.client;
        let Side::Receiving(side) = &mut peer.side else {
            return;
        };
        if side.pending.is_some() {
            return;
        }
        let to_add = std::mem::take(&mut side.to_add);
        let to_stop = std::mem::take(&mut side.to_stop);
        let mut added = Vec::new();
        let tracks = &self.tracks;
        let applied = peer.guarded(|rtc| {
            let mut change = rtc.sdp_api();
            for id in to_add {
                let Some(track) = tracks.get(&id) else {
                    continue;
                };
                let stream = track.client.to_string();
                let mid = change.add_media(
                    track.kind,
                    Direction::SendOnly,
                    Some(stream),
                    Some(id.to_string()),
                    None,
                );
                added.push((mid, id, track.kind));
            }
            for mid in to_stop {
                change.stop_media(mid);
            }
            change.apply()
        });
        let Some(Some((offer, pending))) = applied else {
            return;
        };
        let side = peer.receiving().expect("checked above");
        side.pending = Some(pending);
        for (mid, id, kind) in &added {
            side.forwards.insert(*mid, Forward::new(*id, *kind));
        }
        let mut offered: Vec<OfferedTrack> = side
            .forwards
            .iter()
            .map(|(mid, f)| OfferedTrack {
                mid: mid.to_string(),
                track: f.track,
            })
            .collect();
        offered.sort_by(|a, b| a.mid.cmp(&b.mid));
        for (mid, id, _) in added {
            if let Some(track) = self.tracks.get_mut(&id) {
                track.subscribers.push((peer_id, mid));
            }
        }
        self.dirty.push(peer_id);
        self.events.push_back(SfuEvent::SubscribeOffer {
            client,
            sdp: offer.to_sdp_string(),
            tracks: offered,
        });
    }

    /// Marks the forwards covered by an accepted answer as open and asks their publishers for
    /// keyframes, so that the new subscriber can start decoding.
    fn open_forwards(&mut self, now: Instant, peer_id: PeerId) {
        let Some(side) = self.peers.get_mut(&peer_id).and_then(|p| p.receiving()) else {
            return;
        };
        let mut opened = Vec::new();
        for forward in side.forwards.values_mut().filter(|f| !f.open) {
            forward.open = true;
            if forward.kind == MediaKind::Video {
                opened.push(forward.track);
            }
        }
        for track in opened {
            self.request_keyframe(now, track);
        }
    }

    fn request_keyframe(&mut self, now: Instant, track: TrackId) {
        let interval = self.config.keyframe_interval;
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        if entry.kind == MediaKind::Video && entry.keyframes.request(now, interval) {
            self.send_keyframe_request(track);
        }
    }

    fn send_keyframe_request(&mut self, track: TrackId) {
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&entry.peer) else {
            return;
        };
        let mid = entry.mid;
        let sent = peer.guarded(|rtc| {
            let mut api = rtc.direct_api();
            let stream = api.stream_rx_by_mid(mid, None)?;
            stream.request_keyframe(KeyframeRequestKind::Pli);
            Some(())
        });
        if sent.flatten().is_some() {
            tracing::trace!(track = %track, "keyframe requested");
            self.dirty.push(entry.peer);
        } else {
            entry.keyframes.hold();
        }
    }

    /// Sends one incoming RTP packet to every open subscriber of its track.
    fn forward(&mut self, now: Instant, peer_id: PeerId, packet: RtpPacket) {
        let Some(track_id) = self.track_of_packet(peer_id, &packet) else {
            return;
        };
        let Some(params) = self
            .peers
            .get(&peer_id)
            .and_then(|p| p.payload_params(packet.header.payload_type))
        else {
            return;
        };
        let Some(track) = self.tracks.get_mut(&track_id) else {
            return;
        };
        track.ssrc = Some(packet.header.ssrc);
        let keyframe =
            track.kind == MediaKind::Video && starts_keyframe(params.spec().codec, &packet.payload);
        let subscribers = track.subscribers.clone();
        let mut wants_keyframe = false;
        for (subscriber, mid) in subscribers {
            let Some(peer) = self.peers.get_mut(&subscriber) else {
                continue;
            };
            match write_forward(now, peer, mid, &packet, &params, keyframe) {
                Written::Sent => self.dirty.push(subscriber),
                Written::NeedsKeyframe => wants_keyframe = true,
                Written::Skipped => {}
            }
        }
        if wants_keyframe {
            self.request_keyframe(now, track_id);
        }
    }

    fn track_of_packet(&mut self, peer_id: PeerId, packet: &RtpPacket) -> Option<TrackId> {
        let peer = self.peers.get_mut(&peer_id)?;
        let ssrc = packet.header.ssrc;
        if let Some(track) = peer.publishing()?.by_ssrc.get(&ssrc) {
            return Some(*track);
        }
        let mid = peer
            .guarded(|rtc| rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid()))
            .flatten()?;
        let side = peer.publishing()?;
        let track = *side.tracks.get(&mid)?;
        side.by_ssrc.insert(ssrc, track);
        Some(track)
    }

    fn remove_peer(&mut self, now: Instant, peer_id: PeerId) {
        let Some(mut peer) = self.peers.remove(&peer_id) else {
            return;
        };
        self.by_address.retain(|_, p| *p != peer_id);
        match &mut peer.side {
            Side::Publishing(side) => {
                let mut tracks: Vec<TrackId> = side.tracks.values().copied().collect();
                tracks.sort();
                self.remove_tracks(&tracks);
            }
            Side::Receiving(side) => {
                for forward in side.forwards.values() {
                    if let Some(track) = self.tracks.get_mut(&forward.track) {
                        track.subscribers.retain(|(p, _)| *p != peer_id);
                    }
                }
            }
        }
        if let Some(client) = self.clients.get_mut(&peer.client) {
            if client.publishing == Some(peer_id) {
                client.publishing = None;
            }
            if client.receiving == Some(peer_id) {
                client.receiving = None;
            }
        }
        let _ = now;
    }

    fn drop_receiving(&mut self, now: Instant, client: ClientId, peer_id: PeerId) {
        self.remove_peer(now, peer_id);
        self.events.push_back(SfuEvent::Disconnected {
            client,
            kind: PeerKind::Receiving,
        });
    }

    /// Removes peers that failed or whose connection ended.
    fn reap(&mut self, now: Instant) {
        let ended: Vec<(PeerId, ClientId, bool, PeerKind)> = self
            .peers
            .values()
            .filter(|p| p.failed || !p.rtc.is_alive())
            .map(|p| (p.id, p.client, p.failed, p.kind()))
            .collect();
        for (peer_id, client, failed, kind) in ended {
            if failed {
                tracing::warn!(client = %client, peer = %peer_id, "removing client after a failure in its peer connection");
                if let Some(removed) = self.clients.remove(&client) {
                    for peer in [removed.publishing, removed.receiving]
                        .into_iter()
                        .flatten()
                    {
                        self.remove_peer(now, peer);
                    }
                }
                self.peers.remove(&peer_id);
                self.events.push_back(SfuEvent::ClientFailed { client });
            } else {
                tracing::info!(client = %client, peer = %peer_id, ?kind, "peer connection closed");
                self.remove_peer(now, peer_id);
                self.events
                    .push_back(SfuEvent::Disconnected { client, kind });
            }
        }
        if !self.dirty.is_empty() || !self.work.is_empty() {
            // Removing tracks renegotiates other peers; send those offers out now.
            while let Some(peer) = self.dirty.pop() {
                self.drain(peer);
            }
            // Events of peers being torn down carry nothing that needs handling.
            self.work.retain(|(peer, _)| self.peers.contains_key(peer));
            if !self.work.is_empty() {
                self.process(now);
            }
        }
    }
}

enum Written {
    Sent,
    NeedsKeyframe,
    Skipped,
}

/// Writes one packet to one subscriber's m-line, rewriting SSRC (by writing to the
/// subscriber's own stream), sequence number, timestamp and payload type.
fn write_forward(
    now: Instant,
    peer: &mut Peer,
    mid: Mid,
    packet: &RtpPacket,
    params: &PayloadParams,
    keyframe: bool,
) -> Written {
    let Some(side) = peer.receiving() else {
        return Written::Skipped;
    };
    let Some(forward) = side.forwards.get_mut(&mid) else {
        return Written::Skipped;
    };
    if !forward.open {
        return Written::Skipped;
    }
    let header = &packet.header;
    let spec = params.spec();
    let rewriter = forward
        .rewriter
        .get_or_insert_with(|| Rewriter::new(spec.clock_rate.get()));
    if !rewriter.is_current(header.ssrc) {
        if forward.kind == MediaKind::Video && !keyframe {
            return Written::NeedsKeyframe;
        }
        rewriter.switch_to(header.ssrc, packet.seq_no, header.timestamp, now);
    }
    let Some(numbering) = rewriter.rewrite(header.ssrc, packet.seq_no, header.timestamp, now)
    else {
        return Written::Skipped;
    };
    let in_pt = header.payload_type;
    let out_pt = match forward.payload_type {
        Some((cached_in, out)) if cached_in == in_pt => out,
        _ => {
            let Some(out) = peer
                .rtc
                .codec_config()
                .match_params(*params)
                .map(|p| p.pt())
            else {
                return Written::Skipped;
            };
            let side = peer.receiving().expect("checked above");
            if let Some(forward) = side.forwards.get_mut(&mid) {
                forward.payload_type = Some((in_pt, out));
            }
            out
        }
    };
    let video = spec.codec.is_video();
    let extensions = ExtensionValues {
        audio_level: header.ext_vals.audio_level,
        voice_activity: header.ext_vals.voice_activity,
        video_orientation: header.ext_vals.video_orientation,
        ..ExtensionValues::default()
    };
    let write = RtpWrite::new(
        out_pt,
        numbering.sequence,
        numbering.timestamp,
        packet.timestamp,
        packet.payload.clone(),
    )
    .marker(header.marker)
    .ext_vals(extensions)
    .nackable(video);
    let written = peer.guarded(|rtc| {
        let mut api = rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None)?;
        stream.write_rtp(write);
        Some(())
    });
    match written.flatten() {
        Some(()) => Written::Sent,
        None => Written::Skipped,
    }
}

fn summary(track: &TrackIn) -> TrackSummary {
    TrackSummary {
        track: track.id,
        client: track.client,
        kind: track.kind,
        source: track.source,
    }
}
