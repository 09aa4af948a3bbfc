//! The router: clients, their peer connections, published tracks and who receives which.
//!
//! [`Sfu`] is a sans-IO state machine. The caller feeds it datagrams and timeouts with an
//! explicit `now`, and takes out datagrams to send ([`Sfu::poll_transmit`]), events for the
//! signalling layer ([`Sfu::poll_event`]) and the next time it must be woken
//! ([`Sfu::poll_timeout`]).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Mid;
use str0m::net::{Protocol, Receive, TcpType, Transmit};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, PacerReason, Reason, Rtc};

use crate::error::{AnswerError, PublishError};
use crate::ids::{ClientId, PeerId, RoomId, TrackId, TrackSource};
use crate::peer::{Peer, PeerKind, PublishingSide, Side};
use crate::sdp_check::{check_offer, preferred_video_codec, VideoCodec};

mod bandwidth;
mod config;
mod events;
mod forwarding;
mod negotiation;
mod presenting;
mod publishing;
mod quality;
mod rejoin;
mod simulcast;
mod talk;
mod tap;
mod watching;

use crate::track::{KeyframeNeed, TrackIn};
pub use config::{ClientOptions, Receives, SfuConfig};
pub use events::{OfferedTrack, SfuEvent, TrackSummary};
pub(crate) use quality::PeerFigures;
pub use quality::{ClientQuality, LinkQuality, TrackQuality};
use rejoin::{offer_fingerprint, offer_ufrag};
pub use talk::offered_sources;
pub(crate) use tap::RecorderFeed;
pub use tap::{MediaPacket, SenderClock};

/// How far after the time it was last given str0m's leaky-bucket pacer sets its timeout
/// after each packet it lets out (str0m 0.25, `pacer/leaky.rs`). It lets out one packet
/// per timeout, even when it has no reason to wait.
const PACER_STEP: Duration = Duration::from_micros(1);

/// Maximum number of timeouts [`Sfu::drain`] handles on the spot for one peer, so that a
/// peer that keeps asking for an immediate timeout cannot hold up the others. The rest
/// wait for the next [`Sfu::handle_timeout`].
const MAX_IMMEDIATE_TIMEOUTS: u32 = 1000;

/// How long [`Sfu::drain`] may leave str0m's pacer gate closed behind a forwarded packet.
/// str0m 0.25's leaky-bucket pacer (`pacer/leaky.rs`) lets out one packet per timeout, and
/// each timeout runs all of the connection's timers. Forwarded media is unpaced, so nothing
/// normally waits behind the gate, and the timeout of the next forwarded packet opens it.
/// A received datagram opens it at once, and a probe or padding packet waits this long at most.
// NOTE: whether a probe that leaves up to this late lowers the bandwidth estimate was not
// measured. The estimate still recovers after a limited link in `tests/bandwidth.rs`.
const GATE_WAIT: Duration = Duration::from_millis(1);

struct Client {
    options: ClientOptions,
    publishing: Option<PeerId>,
    receiving: Option<PeerId>,
    /// The participant this client's talk tracks go to, while it talks.
    talk_target: Option<ClientId>,
}

/// The selective forwarding unit: all rooms of one media port.
pub struct Sfu {
    config: SfuConfig,
    clients: HashMap<ClientId, Client>,
    peers: HashMap<PeerId, Peer>,
    tracks: HashMap<TrackId, TrackIn>,
    /// Last peer that accepted a datagram from each remote address and transport.
    by_address: HashMap<(Protocol, SocketAddr), PeerId>,
    next_id: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SfuEvent>,
    /// Packets of recorded tracks not taken yet.
    media: VecDeque<MediaPacket>,
    /// Events taken from peers and not handled yet.
    work: VecDeque<(PeerId, Event)>,
    /// Peers given input since they were last polled.
    dirty: Vec<PeerId>,
    /// Timeouts given to peer connections, for [`Sfu::timer_inputs`].
    timer_inputs: u64,
}

impl Sfu {
    /// Creates an empty router.
    pub fn new(config: SfuConfig) -> Self {
        Self {
            next_id: config.ids.0,
            config,
            clients: HashMap::new(),
            peers: HashMap::new(),
            tracks: HashMap::new(),
            by_address: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            media: VecDeque::new(),
            work: VecDeque::new(),
            dirty: Vec::new(),
            timer_inputs: 0,
        }
    }

    fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += self.config.ids.1.max(1);
        id
    }

    /// Adds a client and subscribes it to the tracks it may receive.
    pub fn add_client(&mut self, now: Instant, options: ClientOptions) -> ClientId {
        let id = ClientId(self.allocate_id());
        let client = Client {
            options,
            publishing: None,
            receiving: None,
            talk_target: None,
        };
        self.clients.insert(id, client);
        let mut visible: Vec<TrackId> = self
            .tracks
            .values()
            .filter(|t| self.may_receive(id, t))
            .map(|t| t.id)
            .collect();
        visible.sort();
        self.subscribe(now, id, &visible);
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
        self.remove_orphans(|track| track.client == client);
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
        if !entry.options.may_publish && !entry.options.may_talk {
            return Err(PublishError::Forbidden(client));
        }
        // A source the client may not publish is rejected first, whatever else is wrong
        // with the offer. Text without m-lines passes this check.
        talk::check_sources(&entry.options, offer, sources)?;
        // Parse before checking the media, so that text that is not SDP at all is reported
        // as invalid rather than as an offer without media.
        let parsed = SdpOffer::from_sdp_string(offer)
            .map_err(|e| PublishError::InvalidSdp(e.to_string()))?;
        check_offer(offer)?;

        let fingerprint = offer_fingerprint(offer);
        let mut existing = entry.publishing;
        if let Some(peer) = existing {
            if self.is_new_connection(peer, fingerprint.as_deref()) {
                tracing::info!(client = %client, peer = %peer, "publishing offer from a new connection, replacing the old one");
                self.orphan_tracks(now, peer);
                self.remove_peer(now, peer);
                existing = None;
            }
        }
        let peer_id = match existing {
            Some(peer) => peer,
            None => {
                let side = Side::Publishing(PublishingSide::default());
                self.create_peer(now, client, side, preferred_video_codec(offer))
            }
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
        if side.fingerprint.is_none() {
            side.fingerprint = fingerprint;
        }
        let ufrag = offer_ufrag(offer);
        let ice_restart = side.ufrag.is_some() && side.ufrag != ufrag;
        side.ufrag = ufrag;

        let result = peer.guarded(|rtc| rtc.sdp_api().accept_offer(parsed));
        match result {
            Some(Ok(answer)) => {
                if existing.is_none() {
                    self.attach(client, peer_id, PeerKind::Publishing);
                }
                if ice_restart {
                    self.note_ice_restart(client, peer_id);
                }
                if existing.is_none() {
                    // str0m reports the m-lines only once DTLS is up, so the kept tracks
                    // are assigned now by the sources the offer declares, and the rest end.
                    self.reserve_orphans(client, peer_id, sources);
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

    /// Feeds one received datagram: a UDP datagram, or with [`Protocol::Tcp`] one frame of
    /// an RFC 4571 stream from `source`. Returns false when no peer accepted it, and for TCP
    /// when the router has no TCP candidate.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        protocol: Protocol,
        source: SocketAddr,
        contents: &[u8],
    ) -> bool {
        let destination = match protocol {
            Protocol::Udp => self.config.candidate,
            Protocol::Tcp => match self.config.tcp_candidate {
                Some(candidate) => candidate,
                None => return false,
            },
            Protocol::SslTcp | Protocol::Tls => return false,
        };
        let Ok(receive) = Receive::new(protocol, source, destination, contents) else {
            return false;
        };
        let input = Input::Receive(now, receive);
        let Some(peer_id) = self.find_peer(protocol, source, &input) else {
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
                self.timer_inputs += 1;
                let result = peer.guarded(|rtc| rtc.handle_input(Input::Timeout(now)));
                if let Some(Err(error)) = result {
                    tracing::debug!(peer = %peer_id, error = %error, "timeout input failed");
                }
                self.dirty.push(peer_id);
            }
        }
        let gaps = self.config.keyframe_gaps();
        let mut due_keyframes: Vec<(TrackId, usize)> = Vec::new();
        for track in self.tracks.values_mut() {
            for (index, layer) in track.layers.iter_mut().enumerate() {
                if layer.keyframes.take_due(now, gaps) {
                    due_keyframes.push((track.id, index));
                }
            }
        }
        for (track, layer) in due_keyframes {
            self.send_keyframe_request(track, layer);
        }
        self.expire_orphans(now);
        self.allocate_due(now);
        self.process(now);
    }

    /// Returns how many timeouts the router has given its peer connections so far. str0m
    /// runs all of a connection's timers for each, so this is a measure of the router's
    /// work besides the packets themselves, for benchmarks and tests.
    pub fn timer_inputs(&self) -> u64 {
        self.timer_inputs
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
        let gaps = self.config.keyframe_gaps();
        let peers = self.peers.values().filter_map(|p| p.next_timeout);
        let keyframes = self
            .tracks
            .values()
            .flat_map(|t| t.layers.iter())
            .filter_map(|layer| layer.keyframes.due_at(gaps));
        peers
            .chain(keyframes)
            .chain(self.orphan_deadline())
            .chain(self.allocation_deadline())
            .min()
    }

    /// Creates a peer connection. `preferred` goes first among the video codecs, because
    /// str0m orders the codecs of an answer by its own configuration.
    fn create_peer(
        &mut self,
        now: Instant,
        client: ClientId,
        side: Side,
        preferred: Option<VideoCodec>,
    ) -> PeerId {
        let id = PeerId(self.allocate_id());
        let mut builder = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_stats_interval(Some(self.config.stats_interval))
            .clear_codecs()
            .enable_opus(true, false);
        for codec in VideoCodec::ordered(preferred) {
            builder = match codec {
                VideoCodec::Vp8 => builder.enable_vp8(true),
                VideoCodec::H264 => builder.enable_h264(true),
                VideoCodec::Vp9 => builder.enable_vp9(true),
                VideoCodec::Av1 => builder.enable_av1(true),
            };
        }
        if matches!(side, Side::Receiving(_)) {
            // Send-side bandwidth estimation from the subscriber's TWCC feedback caps
            // the simulcast layers it gets (`sfu/bandwidth.rs`).
            builder = builder.enable_bwe(Some(Bitrate::bps(bandwidth::INITIAL_ESTIMATE)));
        }
        let mut rtc = builder.build(now);
        for candidate in self.host_candidates() {
            rtc.add_local_candidate(candidate);
        }
        let peer = Peer {
            id,
            client,
            rtc,
            next_timeout: None,
            pacer_clock: now,
            forwarded: false,
            failed: false,
            interrupted: false,
            side,
            figures: PeerFigures::default(),
        };
        self.peers.insert(id, peer);
        id
    }

    /// Returns the UDP host candidate, and the passive TCP one when configured.
    fn host_candidates(&self) -> Vec<Candidate> {
        let udp = Candidate::builder()
            .udp()
            .host(self.config.candidate)
            .build();
        let tcp = self.config.tcp_candidate.map(|address| {
            Candidate::builder()
                .tcp()
                .host(address)
                .tcptype(TcpType::Passive)
                .build()
        });
        let mut candidates = Vec::new();
        for built in std::iter::once(udp).chain(tcp) {
            match built {
                Ok(candidate) => candidates.push(candidate),
                Err(error) => tracing::error!(error = %error, "invalid host candidate address"),
            }
        }
        candidates
    }

    fn attach(&mut self, client: ClientId, peer: PeerId, kind: PeerKind) {
        if let Some(entry) = self.clients.get_mut(&client) {
            match kind {
                PeerKind::Publishing => entry.publishing = Some(peer),
                PeerKind::Receiving => entry.receiving = Some(peer),
            }
        }
    }

    fn find_peer(
        &mut self,
        protocol: Protocol,
        source: SocketAddr,
        input: &Input,
    ) -> Option<PeerId> {
        if let Some(peer) = self.by_address.get(&(protocol, source)) {
            if self.peers.get(peer).is_some_and(|p| p.rtc.accepts(input)) {
                return Some(*peer);
            }
        }
        let peer = self.peers.values().find(|p| p.rtc.accepts(input))?.id;
        self.by_address.insert((protocol, source), peer);
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
        if track.source.is_talk() {
            return self.hears_talk(client, track.client);
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
                self.drain(now, peer);
            }
            let Some((peer, event)) = self.work.pop_front() else {
                break;
            };
            self.handle_event(now, peer, event);
        }
        self.reap(now);
    }

    /// Takes every datagram and event out of a peer. A timeout that is due by `now`, or
    /// one step of str0m's pacer after the time the peer was last given, is handled on
    /// the spot. So a burst of packets leaves in this call, not one packet per wake-up of
    /// the caller. Behind a forwarded packet, the pacer's gate stays closed for [`GATE_WAIT`].
    fn drain(&mut self, now: Instant, peer_id: PeerId) {
        let Some(peer) = self.peers.get_mut(&peer_id) else {
            return;
        };
        let mut clock = now.max(peer.pacer_clock);
        let mut immediate = 0;
        let forwarded = std::mem::take(&mut peer.forwarded);
        // Whether a datagram left since the latest timeout handled here, which opened the gate.
        let mut sent = false;
        loop {
            match peer.guarded(|rtc| rtc.poll_output()) {
                Some(Ok(Output::Transmit(transmit))) => {
                    sent = true;
                    self.transmits.push_back(transmit);
                }
                Some(Ok(Output::Event(event))) => self.work.push_back((peer_id, event)),
                Some(Ok(Output::Timeout(at))) => {
                    let gate = Reason::Pacer(PacerReason::Immediate);
                    if forwarded && sent && immediate > 0 && peer.rtc.last_timeout_reason() == gate
                    {
                        peer.next_timeout = Some(at + GATE_WAIT);
                        break;
                    }
                    if at <= clock + PACER_STEP && immediate < MAX_IMMEDIATE_TIMEOUTS {
                        clock = clock.max(at);
                        peer.pacer_clock = clock;
                        immediate += 1;
                        sent = false;
                        self.timer_inputs += 1;
                        let handled = peer.guarded(|rtc| rtc.handle_input(Input::Timeout(clock)));
                        if let Some(Err(error)) = handled {
                            tracing::debug!(peer = %peer_id, error = %error, "timeout input failed");
                        }
                        continue;
                    }
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
        let (client, kind, interrupted) = (peer.client, peer.kind(), peer.interrupted);
        match event {
            Event::Connected => {
                tracing::debug!(client = %client, peer = %peer_id, "peer connected");
                self.events.push_back(SfuEvent::Connected { client, kind });
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                tracing::debug!(client = %client, peer = %peer_id, "ICE disconnected");
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.interrupted = true;
                }
                self.events
                    .push_back(SfuEvent::MediaInterrupted { client, kind });
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) if interrupted => self.restore(peer_id, client, kind),
            Event::MediaAdded(added) if kind == PeerKind::Publishing => {
                self.note_mid(peer_id, added.mid);
                self.reconcile_mid(now, peer_id, added.mid);
            }
            Event::MediaChanged(changed) if kind == PeerKind::Publishing => {
                self.reconcile_mid(now, peer_id, changed.mid);
            }
            Event::RtpPacket(packet) if kind == PeerKind::Publishing => {
                // After an ICE restart the ICE-lite agent reports completion only when
                // the browser nominates a pair again; media arriving is proof enough.
                if interrupted {
                    self.restore(peer_id, client, kind);
                }
                self.forward(now, peer_id, packet);
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })
                if kind == PeerKind::Receiving =>
            {
                self.note_estimate(now, peer_id, estimate);
            }
            Event::KeyframeRequest(request) if kind == PeerKind::Receiving => {
                let target = self
                    .peers
                    .get(&peer_id)
                    .and_then(|p| match &p.side {
                        Side::Receiving(side) => side.forwards.get(&request.mid),
                        Side::Publishing(_) => None,
                    })
                    .map(|f| (f.track, self.layer_for_keyframe(now, f)));
                if let Some((track, layer)) = target {
                    self.request_keyframe(now, track, layer, KeyframeNeed::Repair, request.kind);
                }
            }
            Event::MediaIngressStats(_) | Event::MediaEgressStats(_) => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.record_stats(event);
                }
            }
            _ => {}
        }
    }

    fn restore(&mut self, peer_id: PeerId, client: ClientId, kind: PeerKind) {
        tracing::debug!(client = %client, peer = %peer_id, "media restored");
        if let Some(peer) = self.peers.get_mut(&peer_id) {
            peer.interrupted = false;
        }
        self.events
            .push_back(SfuEvent::MediaRestored { client, kind });
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
                let mut tracks: Vec<TrackId> = side.forwards.values().map(|f| f.track).collect();
                tracks.sort();
                for track in tracks {
                    self.update_wanted_layers(now, track);
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
                // The client may still publish the same tracks on a new connection.
                self.orphan_tracks(now, peer_id);
                self.remove_peer(now, peer_id);
                self.events
                    .push_back(SfuEvent::Disconnected { client, kind });
            }
        }
        if !self.dirty.is_empty() || !self.work.is_empty() {
            // Removing tracks renegotiates other peers; send those offers out now.
            while let Some(peer) = self.dirty.pop() {
                self.drain(now, peer);
            }
            // Events of peers being torn down carry nothing that needs handling.
            self.work.retain(|(peer, _)| self.peers.contains_key(peer));
            if !self.work.is_empty() {
                self.process(now);
            }
        }
    }
}

pub(crate) fn summary(track: &TrackIn) -> TrackSummary {
    TrackSummary {
        track: track.id,
        client: track.client,
        kind: track.kind,
        source: track.source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::PublishingSide;

    fn options() -> ClientOptions {
        ClientOptions {
            room: RoomId("room".into()),
            may_publish: true,
            may_talk: false,
            presenter: false,
            receives: Receives::Nothing,
            recorded: false,
        }
    }

    fn publishing_peer(sfu: &mut Sfu, now: Instant, client: ClientId) -> PeerId {
        let side = Side::Publishing(PublishingSide::default());
        let peer = sfu.create_peer(now, client, side, None);
        sfu.attach(client, peer, PeerKind::Publishing);
        peer
    }

    #[test]
    fn panic_in_one_peer_removes_only_its_client() {
        let now = Instant::now();
        let mut sfu = Sfu::new(SfuConfig::new("127.0.0.1:5000".parse().unwrap()));
        let broken = sfu.add_client(now, options());
        let healthy = sfu.add_client(now, options());
        let broken_peer = publishing_peer(&mut sfu, now, broken);
        let healthy_peer = publishing_peer(&mut sfu, now, healthy);

        let peer = sfu.peers.get_mut(&broken_peer).unwrap();
        let result = peer.guarded(|_| -> () { panic!("a broken invariant inside str0m") });
        assert!(result.is_none());
        sfu.handle_timeout(now);

        let events: Vec<SfuEvent> = std::iter::from_fn(|| sfu.poll_event()).collect();
        assert!(events.contains(&SfuEvent::ClientFailed { client: broken }));
        assert_eq!(sfu.client_count(), 1);
        assert!(!sfu.peers.contains_key(&broken_peer));
        assert!(sfu.peers.contains_key(&healthy_peer));
        assert!(sfu.clients.contains_key(&healthy));
    }
}
