//! Test harness: real str0m client peers connected to an [`Sfu`] in memory.
//!
//! Every client connection is an `Rtc` in RTP mode with normal ICE and one host candidate on
//! 127.0.0.1. Datagrams move between the clients and the SFU without sockets, and time is a
//! virtual clock that jumps from one timeout to the next. Publishers send synthetic VP8 and
//! Opus and send a keyframe only at the start and when asked for one, like a real encoder.
//! Subscribers answer every offer of the SFU as soon as it arrives and record the RTP packets
//! they receive. The path between the SFU and a client can drop, delay and reorder RTP
//! packets on purpose, in either direction.

// Each test file uses a different part of the harness.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use media_core::{
    ClientId, ClientOptions, MediaPacket, OfferedTrack, PublishError, Receives, RoomId, Sfu,
    SfuConfig, SfuEvent, TrackId, TrackSource, Transmit,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, KeyframeRequestKind, MediaKind, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// The address the SFU puts in its ICE candidates.
pub const SFU_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000));

/// The address the SFU puts in its passive TCP candidate, when a test configures one.
pub const SFU_TCP_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5001));

/// Port of the first client connection. Each further connection takes the next port.
const FIRST_CLIENT_PORT: u16 = 10_000;

/// Shortest jump of the virtual clock, so that a timer that stays due cannot stall the loop.
const MIN_STEP: Duration = Duration::from_millis(1);

/// 30 frames per second.
pub const VIDEO_FRAME_INTERVAL: Duration = Duration::from_micros(33_333);
/// 90 kHz clock ticks per video frame at 30 frames per second.
pub const VIDEO_FRAME_TICKS: u32 = 3000;
/// Length of each synthetic VP8 payload unless a test sets another.
pub const VIDEO_PAYLOAD_SIZE: usize = 120;
/// One Opus packet carries 20 ms.
pub const AUDIO_PACKET_INTERVAL: Duration = Duration::from_millis(20);
/// 48 kHz clock ticks per Opus packet.
pub const AUDIO_PACKET_TICKS: u32 = 960;

/// Time a publisher takes to respond to a keyframe request, as an encoder finishing the frames
/// already in its pipeline would. Frames written meanwhile are delta frames.
pub const KEYFRAME_RESPONSE_DELAY: Duration = Duration::from_millis(100);

/// Sequence number of a publisher's first packet on every track.
const FIRST_PUBLISHED_SEQUENCE: u64 = 30_000;
/// RTP timestamp of a publisher's first packet on every track.
const FIRST_PUBLISHED_TIMESTAMP: u32 = 1_000_000;

/// A client connection in the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointId(usize);

/// Which way media flows on a client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends tracks to the SFU and makes the SDP offers.
    Publisher,
    /// Receives tracks from the SFU and answers its SDP offers.
    Subscriber,
}

/// The SFU, its clients and the virtual clock.
pub struct Harness {
    /// The router under test.
    pub sfu: Sfu,
    /// Current virtual time.
    pub now: Instant,
    /// Every event the SFU emitted, with the time it was taken out.
    pub events: Vec<(Instant, SfuEvent)>,
    /// Every packet handed out for recording.
    pub media: Vec<MediaPacket>,
    endpoints: Vec<Endpoint>,
    in_flight: InFlight,
    /// The transport of the host candidate of client connections created from now on.
    pub client_protocol: Protocol,
    /// Datagrams the SFU sent, by transport.
    pub sent_by_protocol: HashMap<Protocol, usize>,
}

/// Datagrams an impairment holds back, in the order they become due.
#[derive(Default)]
struct InFlight(Vec<Delayed>);

struct Delayed {
    due: Instant,
    towards: Towards,
    transmit: Transmit,
}

/// The receiving side of a delayed datagram.
#[derive(Clone, Copy)]
enum Towards {
    Sfu,
    Client(usize),
}

impl InFlight {
    /// Holds `transmit` until `due`. Datagrams due at the same time keep their order.
    fn schedule(&mut self, due: Instant, towards: Towards, transmit: Transmit) {
        let at = self.0.partition_point(|d| d.due <= due);
        self.0.insert(
            at,
            Delayed {
                due,
                towards,
                transmit,
            },
        );
    }

    fn next_due(&self) -> Option<Instant> {
        self.0.first().map(|d| d.due)
    }

    /// Takes out the earliest datagram due by `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Delayed> {
        if self.next_due()? <= now {
            Some(self.0.remove(0))
        } else {
            None
        }
    }
}

/// One client connection: a str0m peer and what it sent and received.
pub struct Endpoint {
    /// The client this connection belongs to.
    pub client: ClientId,
    /// Host candidate address of the connection.
    pub addr: SocketAddr,
    /// The client peer.
    pub rtc: Rtc,
    /// Publisher or subscriber.
    pub role: Role,
    /// Time ICE and DTLS completed, if they did.
    pub connected_at: Option<Instant>,
    /// Set when the client left. A closed endpoint neither sends nor receives.
    pub closed: bool,
    /// RTP packets received, in arrival order.
    pub received: Vec<ReceivedPacket>,
    /// Keyframe requests received, by m-line.
    pub keyframe_requests: Vec<(Instant, Mid)>,
    /// Kind of each keyframe request, in the order of `keyframe_requests`.
    pub keyframe_kinds: Vec<KeyframeRequestKind>,
    /// Simulcast layer of each keyframe request, in the order of `keyframe_requests`.
    pub keyframe_rids: Vec<Option<Rid>>,
    /// Offers of the SFU this subscriber answered, in order.
    pub offers: Vec<AnsweredOffer>,
    /// Answers of the SFU to this publisher's offers, in order.
    pub answers: Vec<String>,
    /// Tracks this publisher sends.
    pub tracks: Vec<SentTrack>,
    /// RTP packets dropped on the way from the SFU to this endpoint.
    pub dropped: Vec<RtpView>,
    /// RTP packets dropped on the way from this endpoint to the SFU.
    pub dropped_uplink: Vec<RtpView>,
    impairment: Option<Impairment>,
    uplink_impairment: Option<Impairment>,
    timeout: Option<Instant>,
}

/// An RTP packet as a subscriber received it.
#[derive(Debug, Clone)]
pub struct ReceivedPacket {
    /// Virtual time of arrival.
    pub at: Instant,
    /// The m-line the packet arrived on.
    pub mid: Option<Mid>,
    /// SSRC of the stream (the main SSRC, also for a retransmission).
    pub ssrc: u32,
    /// Extended sequence number.
    pub sequence: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload type.
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// RTP payload.
    pub payload: Vec<u8>,
}

/// An offer of the SFU and the answer the subscriber gave.
#[derive(Debug, Clone)]
pub struct AnsweredOffer {
    /// Virtual time the SFU accepted the answer.
    pub answered_at: Instant,
    /// The SFU's offer.
    pub offer: String,
    /// Tracks carried on the connection after the offer.
    pub tracks: Vec<OfferedTrack>,
    /// The subscriber's answer.
    pub answer: String,
}

/// One track a publisher sends, or one simulcast layer of it, and every packet written to it.
pub struct SentTrack {
    /// The m-line of the track in the publisher's offer.
    pub mid: Mid,
    /// The simulcast layer, or `None` for a track that is not simulcast.
    pub rid: Option<Rid>,
    /// The frame size written into keyframes, for a layer that has one.
    pub size: Option<(u16, u16)>,
    /// Set while the SFU does not want this layer: no frames are written.
    pub paused: bool,
    /// Set while the test stops this layer, as a browser short of bandwidth would.
    pub stopped: bool,
    /// Length of each video RTP payload in bytes, which sets the bitrate of the track.
    pub payload_size: usize,
    /// Packets in each keyframe; a delta frame has two.
    pub keyframe_packets: usize,
    /// Audio or video.
    pub kind: MediaKind,
    /// Packets written, in order.
    pub sent: Vec<SentPacket>,
    next_frame_at: Option<Instant>,
    next_sequence: u64,
    next_timestamp: u32,
    frames: u64,
    /// Arrival of the oldest keyframe request not answered yet.
    keyframe_requested_at: Option<Instant>,
}

/// A packet a publisher wrote.
#[derive(Debug, Clone)]
pub struct SentPacket {
    /// Virtual time of writing.
    pub at: Instant,
    /// Extended sequence number.
    pub sequence: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Marker bit.
    pub marker: bool,
    /// Whether the packet starts a keyframe.
    pub keyframe: bool,
    /// RTP payload.
    pub payload: Vec<u8>,
}

/// The clear-text RTP header fields of an SRTP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpView {
    /// Payload type.
    pub payload_type: u8,
    /// Sequence number as on the wire.
    pub sequence: u16,
    /// SSRC.
    pub ssrc: u32,
}

impl RtpView {
    /// Reads the RTP header of a datagram, or returns `None` for STUN, DTLS and RTCP.
    pub fn parse(datagram: &[u8]) -> Option<Self> {
        if datagram.len() < 12 || datagram[0] >> 6 != 2 {
            return None;
        }
        let payload_type = datagram[1] & 0x7f;
        // RTCP packet types 192..=223 occupy these values of the RTP payload type field
        // (RFC 5761 section 4).
        if (64..96).contains(&payload_type) {
            return None;
        }
        Some(Self {
            payload_type,
            sequence: u16::from_be_bytes([datagram[2], datagram[3]]),
            ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
        })
    }
}

/// Loss and delay on the path between the SFU and one client. It applies to RTP packets only,
/// so that ICE, DTLS and RTCP feedback always pass.
pub enum Impairment {
    /// Drops the packets the predicate selects.
    Select(Box<dyn FnMut(&RtpView) -> bool>),
    /// Drops each packet with a probability, drawn from a seeded generator.
    Random {
        /// The generator.
        rng: Box<StdRng>,
        /// Probability of dropping one packet, from 0 to 1.
        probability: f64,
    },
    /// Drops each packet with a probability and delays each other one by a time drawn evenly
    /// from zero to `jitter`, so packets sent closer together than that arrive reordered.
    Network {
        /// The generator.
        rng: Box<StdRng>,
        /// Probability of dropping one packet, from 0 to 1.
        loss: f64,
        /// Longest delay of one packet.
        jitter: Duration,
    },
    /// Sends packets one after another through a link of `rate` bits per second with a
    /// drop-tail queue: a packet waits for those queued before it, and is dropped when it
    /// would wait longer than `buffer`.
    Bottleneck {
        /// Capacity of the link in bits per second.
        rate: u64,
        /// Longest time a packet may wait in the queue.
        buffer: Duration,
        /// When the link has sent every queued packet.
        free_at: Option<Instant>,
    },
}

/// What an impairment does to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Drop,
    Delay(Duration),
}

impl Impairment {
    /// Drops the packets for which `select` returns true.
    pub fn select(select: impl FnMut(&RtpView) -> bool + 'static) -> Self {
        Self::Select(Box::new(select))
    }

    /// Drops each packet with `probability`, reproducibly for one `seed`.
    pub fn random(seed: u64, probability: f64) -> Self {
        Self::Random {
            rng: Box::new(StdRng::seed_from_u64(seed)),
            probability,
        }
    }

    /// Drops each packet with probability `loss` and delays the others by up to `jitter`,
    /// reproducibly for one `seed`.
    pub fn network(seed: u64, loss: f64, jitter: Duration) -> Self {
        Self::Network {
            rng: Box::new(StdRng::seed_from_u64(seed)),
            loss,
            jitter,
        }
    }

    /// Sends packets through a link of `rate` bits per second that queues them for at most
    /// `buffer` and drops what does not fit.
    pub fn bottleneck(rate: u64, buffer: Duration) -> Self {
        Self::Bottleneck {
            rate,
            buffer,
            free_at: None,
        }
    }

    /// Decides what happens at `now` to `packet`, a datagram of `len` bytes.
    fn fate(&mut self, now: Instant, packet: &RtpView, len: usize) -> Fate {
        let dropped = match self {
            Self::Bottleneck {
                rate,
                buffer,
                free_at,
            } => {
                let start = free_at.map_or(now, |at| at.max(now));
                let wait = start - now;
                if wait > *buffer {
                    return Fate::Drop;
                }
                let sending = Duration::from_secs_f64(len as f64 * 8.0 / *rate as f64);
                *free_at = Some(start + sending);
                return Fate::Delay(wait + sending);
            }
            Self::Select(select) => select(packet),
            Self::Random { rng, probability } => rng.gen_bool(*probability),
            Self::Network { rng, loss, jitter } => {
                if rng.gen_bool(*loss) {
                    true
                } else {
                    return Fate::Delay(jitter.mul_f64(rng.gen_range(0.0..=1.0)));
                }
            }
        };
        if dropped {
            Fate::Drop
        } else {
            Fate::Delay(Duration::ZERO)
        }
    }
}

/// Options of a client in `room` that publishes, is not a presenter and receives everyone.
pub fn member(room: &str) -> ClientOptions {
    ClientOptions {
        room: RoomId(room.to_string()),
        may_publish: true,
        may_talk: false,
        presenter: false,
        receives: Receives::Everyone,
        recorded: false,
    }
}

/// Creates a client peer like a browser's: RTP mode, full ICE, one host candidate on
/// `protocol`.
pub fn client_rtc(now: Instant, addr: SocketAddr, protocol: Protocol) -> Rtc {
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
    let candidate = Candidate::host(addr, protocol).expect("loopback host candidate");
    rtc.add_local_candidate(candidate);
    rtc
}

impl Harness {
    /// Creates an SFU with the default configuration and no clients.
    pub fn new() -> Self {
        Self::with_config(SfuConfig::new(SFU_ADDR))
    }

    /// Creates an SFU with `config` and no clients.
    pub fn with_config(config: SfuConfig) -> Self {
        Self {
            sfu: Sfu::new(config),
            now: Instant::now(),
            events: Vec::new(),
            media: Vec::new(),
            endpoints: Vec::new(),
            in_flight: InFlight::default(),
            client_protocol: Protocol::Udp,
            sent_by_protocol: HashMap::new(),
        }
    }

    /// Returns one client connection.
    pub fn endpoint(&self, id: EndpointId) -> &Endpoint {
        &self.endpoints[id.0]
    }

    /// Returns one client connection for changing.
    pub fn endpoint_mut(&mut self, id: EndpointId) -> &mut Endpoint {
        &mut self.endpoints[id.0]
    }

    /// Returns the address the next client connection will use.
    pub fn next_addr(&self) -> SocketAddr {
        let index = u16::try_from(self.endpoints.len()).expect("fewer than 2^16 endpoints");
        SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::LOCALHOST,
            FIRST_CLIENT_PORT + index,
        ))
    }

    /// Adds a client without any connection of its own.
    pub fn add_client(&mut self, options: ClientOptions) -> ClientId {
        let client = self.sfu.add_client(self.now, options);
        self.pump();
        client
    }

    /// Adds a client with a receiving connection that answers every offer of the SFU.
    pub fn add_subscriber(&mut self, options: ClientOptions) -> EndpointId {
        let client = self.sfu.add_client(self.now, options);
        // The offers add_client may have queued are answered by the pump below.
        self.attach_subscriber(client)
    }

    /// Gives an existing client a receiving connection that answers every offer of the SFU,
    /// including the one it may already have been sent.
    pub fn attach_subscriber(&mut self, client: ClientId) -> EndpointId {
        let rtc = client_rtc(self.now, self.next_addr(), self.client_protocol);
        let id = self.push_endpoint(client, Role::Subscriber, rtc);
        let pending = self.events.iter().rev().find_map(|(_, event)| match event {
            SfuEvent::SubscribeOffer {
                client: c,
                sdp,
                tracks,
            } if *c == client => Some((sdp.clone(), tracks.clone())),
            _ => None,
        });
        if let Some((sdp, tracks)) = pending {
            self.answer(id, &sdp, tracks);
        }
        self.pump();
        id
    }

    /// Adds a client that publishes `tracks` at once.
    pub fn add_publisher(
        &mut self,
        options: ClientOptions,
        tracks: &[(MediaKind, TrackSource)],
    ) -> EndpointId {
        let client = self.add_client(options);
        self.publish(client, tracks)
            .expect("the SFU accepts the publisher's offer")
    }

    /// Opens a publishing connection for `client` with one send-only m-line per track.
    pub fn publish(
        &mut self,
        client: ClientId,
        tracks: &[(MediaKind, TrackSource)],
    ) -> Result<EndpointId, PublishError> {
        let mut rtc = client_rtc(self.now, self.next_addr(), self.client_protocol);
        let mut change = rtc.sdp_api();
        let mids: Vec<Mid> = tracks
            .iter()
            .map(|(kind, _)| change.add_media(*kind, Direction::SendOnly, None, None, None))
            .collect();
        let (offer, pending) = change.apply().expect("an offer with media");
        let sources: Vec<(String, TrackSource)> = mids
            .iter()
            .zip(tracks)
            .map(|(mid, (_, source))| (mid.to_string(), *source))
            .collect();

        let answer_sdp = self
            .sfu
            .publish(self.now, client, &offer.to_sdp_string(), &sources)?;
        let answer = SdpAnswer::from_sdp_string(&answer_sdp).expect("the SFU's answer parses");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("the publisher accepts the SFU's answer");

        let id = self.push_endpoint(client, Role::Publisher, rtc);
        self.endpoints[id.0].tracks = mids
            .iter()
            .zip(tracks)
            .map(|(mid, (kind, _))| SentTrack::new(*mid, *kind))
            .collect();
        self.endpoints[id.0].answers.push(answer_sdp);
        self.pump();
        Ok(id)
    }

    /// Adds a client that publishes one simulcast camera: one video m-line with a layer for
    /// each of `layers`, a RID and the frame size its keyframes declare, lowest first. The
    /// offer lists them highest first, as the web client does.
    pub fn add_simulcast_publisher(
        &mut self,
        options: ClientOptions,
        layers: &[(&str, (u16, u16))],
    ) -> EndpointId {
        let client = self.add_client(options);
        let mut rtc = client_rtc(self.now, self.next_addr(), self.client_protocol);
        let mut simulcast = Simulcast::new();
        for (rid, _) in layers.iter().rev() {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        let mut change = rtc.sdp_api();
        let mid = change.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            None,
            None,
            Some(simulcast),
        );
        let (offer, pending) = change.apply().expect("an offer with media");
        let sources = [(mid.to_string(), TrackSource::Camera)];
        let answer_sdp = self
            .sfu
            .publish(self.now, client, &offer.to_sdp_string(), &sources)
            .expect("the SFU accepts the simulcast offer");
        let answer = SdpAnswer::from_sdp_string(&answer_sdp).expect("the SFU's answer parses");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("the publisher accepts the SFU's answer");

        let id = self.push_endpoint(client, Role::Publisher, rtc);
        let endpoint = &mut self.endpoints[id.0];
        endpoint.tracks = layers
            .iter()
            .map(|(rid, size)| {
                let mut track = SentTrack::new(mid, MediaKind::Video);
                track.rid = Some(Rid::from(*rid));
                track.size = Some(*size);
                track
            })
            .collect();
        endpoint.answers.push(answer_sdp);
        self.pump();
        id
    }

    /// Removes a client from the SFU and closes its connections.
    pub fn remove_client(&mut self, client: ClientId) {
        self.sfu.remove_client(self.now, client);
        for endpoint in self.endpoints.iter_mut().filter(|e| e.client == client) {
            endpoint.closed = true;
        }
        self.pump();
    }

    /// Sets the impairment of the path from the SFU to `id`.
    pub fn impair(&mut self, id: EndpointId, impairment: Impairment) {
        self.endpoints[id.0].impairment = Some(impairment);
    }

    /// Removes the impairment of the path from the SFU to `id`. Delayed packets still arrive.
    pub fn clear_impairment(&mut self, id: EndpointId) {
        self.endpoints[id.0].impairment = None;
    }

    /// Sets the impairment of the path from `id` to the SFU.
    pub fn impair_uplink(&mut self, id: EndpointId, impairment: Impairment) {
        self.endpoints[id.0].uplink_impairment = Some(impairment);
    }

    /// Removes the impairment of the path from `id` to the SFU. Delayed packets still arrive.
    pub fn clear_uplink_impairment(&mut self, id: EndpointId) {
        self.endpoints[id.0].uplink_impairment = None;
    }

    /// Asks the SFU for a keyframe on a subscriber's m-line, as a decoder would with a PLI.
    pub fn request_keyframe(&mut self, id: EndpointId, mid: Mid) {
        self.request_keyframe_of_kind(id, mid, KeyframeRequestKind::Pli);
    }

    /// Asks the SFU for a keyframe on a subscriber's m-line with a PLI or a FIR.
    pub fn request_keyframe_of_kind(
        &mut self,
        id: EndpointId,
        mid: Mid,
        kind: KeyframeRequestKind,
    ) {
        let mut api = self.endpoints[id.0].rtc.direct_api();
        let stream = api
            .stream_rx_by_mid(mid, None)
            .expect("the subscriber receives on this m-line");
        stream.request_keyframe(kind);
        self.pump();
    }

    /// Runs the clock forward by `duration`.
    pub fn run_for(&mut self, duration: Duration) {
        let target = self.now + duration;
        self.pump();
        while self.now < target {
            self.step(target);
        }
    }

    /// Runs the clock until `done` holds or `limit` has passed; returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let deadline = self.now + limit;
        self.pump();
        loop {
            if done(self) {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            self.step(deadline);
        }
    }

    /// Runs until every negotiated connection of the harness has completed ICE and DTLS.
    /// A subscriber that has not been offered anything yet has nothing to connect.
    pub fn connect_all(&mut self) {
        let connected = self.run_until(Duration::from_secs(5), |h| {
            h.endpoints.iter().all(|e| {
                let idle = e.role == Role::Subscriber && e.offers.is_empty();
                e.closed || idle || e.connected_at.is_some()
            })
        });
        assert!(connected, "every client connects within 5 s");
    }

    /// Returns the tracks of `client` the SFU announced and did not withdraw, in publishing
    /// order.
    pub fn published_tracks(&self, client: ClientId) -> Vec<(TrackId, MediaKind)> {
        let mut tracks = Vec::new();
        for (_, event) in &self.events {
            match event {
                SfuEvent::TrackPublished { track, .. } if track.client == client => {
                    tracks.push((track.track, track.kind));
                }
                SfuEvent::TrackUnpublished { track, .. } => tracks.retain(|(t, _)| t != track),
                _ => {}
            }
        }
        tracks
    }

    /// Returns the track of `kind` that `publisher` published.
    pub fn track_of(&self, publisher: EndpointId, kind: MediaKind) -> TrackId {
        let client = self.endpoints[publisher.0].client;
        self.published_tracks(client)
            .into_iter()
            .find(|(_, k)| *k == kind)
            .map(|(track, _)| track)
            .expect("the publisher has a track of this kind")
    }

    /// Returns the m-line that carries `track` to `subscriber`, from the newest answered offer.
    pub fn mid_for(&self, subscriber: EndpointId, track: TrackId) -> Mid {
        let offers = &self.endpoints[subscriber.0].offers;
        let offer = offers.last().expect("the subscriber answered an offer");
        let offered = offer
            .tracks
            .iter()
            .find(|t| t.track == track)
            .expect("the track is offered to the subscriber");
        Mid::from(offered.mid.as_str())
    }

    fn push_endpoint(&mut self, client: ClientId, role: Role, rtc: Rtc) -> EndpointId {
        self.endpoints.push(Endpoint {
            client,
            addr: self.next_addr(),
            rtc,
            role,
            connected_at: None,
            closed: false,
            received: Vec::new(),
            keyframe_requests: Vec::new(),
            keyframe_kinds: Vec::new(),
            keyframe_rids: Vec::new(),
            offers: Vec::new(),
            answers: Vec::new(),
            tracks: Vec::new(),
            dropped: Vec::new(),
            dropped_uplink: Vec::new(),
            impairment: None,
            uplink_impairment: None,
            timeout: None,
        });
        EndpointId(self.endpoints.len() - 1)
    }

    /// Moves the clock to the next due timer (at least [`MIN_STEP`] on, at most `target`),
    /// fires what is due and moves every datagram that results.
    fn step(&mut self, target: Instant) {
        let next = self
            .next_due()
            .map_or(target, |due| due.max(self.now + MIN_STEP))
            .min(target);
        self.now = next;
        self.fire_due();
        self.pump();
    }

    fn next_due(&self) -> Option<Instant> {
        let open = self.endpoints.iter().filter(|e| !e.closed);
        let clients = open.flat_map(|e| [e.timeout, e.next_frame_at()]);
        clients
            .chain([self.sfu.poll_timeout(), self.in_flight.next_due()])
            .flatten()
            .min()
    }

    fn fire_due(&mut self) {
        let now = self.now;
        while let Some(delayed) = self.in_flight.pop_due(now) {
            match delayed.towards {
                Towards::Sfu => {
                    let t = delayed.transmit;
                    self.sfu.handle_receive(now, t.proto, t.source, &t.contents);
                }
                Towards::Client(index) => self.hand_over(index, delayed.transmit),
            }
        }
        if self.sfu.poll_timeout().is_some_and(|at| at <= now) {
            self.sfu.handle_timeout(now);
        }
        for endpoint in self.endpoints.iter_mut().filter(|e| !e.closed) {
            if endpoint.timeout.is_some_and(|at| at <= now) {
                endpoint
                    .rtc
                    .handle_input(Input::Timeout(now))
                    .expect("client peer handles its timeout");
            }
            endpoint.write_due_media(now);
        }
    }

    /// Moves datagrams and events between the clients and the SFU until none is left.
    pub fn pump(&mut self) {
        loop {
            let mut busy = false;
            for index in 0..self.endpoints.len() {
                busy |= self.drain_endpoint(index);
            }
            while let Some(transmit) = self.sfu.poll_transmit() {
                busy = true;
                self.deliver(transmit);
            }
            while let Some(event) = self.sfu.poll_event() {
                busy = true;
                self.handle_sfu_event(event);
            }
            while let Some(packet) = self.sfu.poll_media() {
                self.media.push(packet);
            }
            if !busy {
                break;
            }
        }
    }

    /// Polls one client peer until it waits for time; returns whether it produced anything.
    fn drain_endpoint(&mut self, index: usize) -> bool {
        let now = self.now;
        let mut busy = false;
        while !self.endpoints[index].closed {
            let endpoint = &mut self.endpoints[index];
            match endpoint.rtc.poll_output().expect("client peer output") {
                Output::Timeout(at) => {
                    endpoint.timeout = Some(at);
                    break;
                }
                Output::Transmit(transmit) => {
                    busy = true;
                    // A client that moved no longer owns its old address.
                    if transmit.source != endpoint.addr {
                        continue;
                    }
                    let fate = RtpView::parse(&transmit.contents).map(|rtp| {
                        let impairment = endpoint.uplink_impairment.as_mut();
                        (
                            rtp,
                            impairment.map_or(Fate::Delay(Duration::ZERO), |i| {
                                i.fate(now, &rtp, transmit.contents.len())
                            }),
                        )
                    });
                    match fate {
                        Some((rtp, Fate::Drop)) => endpoint.dropped_uplink.push(rtp),
                        Some((_, Fate::Delay(delay))) if !delay.is_zero() => {
                            self.in_flight.schedule(now + delay, Towards::Sfu, transmit);
                        }
                        _ => {
                            self.sfu.handle_receive(
                                now,
                                transmit.proto,
                                transmit.source,
                                &transmit.contents,
                            );
                        }
                    }
                }
                Output::Event(event) => {
                    busy = true;
                    endpoint.handle_event(now, event);
                }
            }
        }
        busy
    }

    /// Hands one datagram of the SFU to its client peer and polls that peer at once, because
    /// a peer in RTP mode keeps only the newest received packet until it is polled.
    fn deliver(&mut self, transmit: Transmit) {
        *self.sent_by_protocol.entry(transmit.proto).or_default() += 1;
        let candidate = match transmit.proto {
            Protocol::Tcp => SFU_TCP_ADDR,
            _ => SFU_ADDR,
        };
        assert_eq!(
            transmit.source, candidate,
            "the SFU sends from its candidate"
        );
        let index = self
            .endpoints
            .iter()
            .position(|e| e.addr == transmit.destination && !e.closed);
        let Some(index) = index else {
            return;
        };
        let endpoint = &mut self.endpoints[index];
        let (now, len) = (self.now, transmit.contents.len());
        if let Some(rtp) = RtpView::parse(&transmit.contents) {
            match endpoint.impairment.as_mut().map(|i| i.fate(now, &rtp, len)) {
                Some(Fate::Drop) => {
                    endpoint.dropped.push(rtp);
                    return;
                }
                Some(Fate::Delay(delay)) if !delay.is_zero() => {
                    let due = self.now + delay;
                    self.in_flight
                        .schedule(due, Towards::Client(index), transmit);
                    return;
                }
                _ => {}
            }
        }
        self.hand_over(index, transmit);
    }

    /// Hands one datagram to a client peer, unless it has closed since it was sent.
    fn hand_over(&mut self, index: usize, transmit: Transmit) {
        let endpoint = &mut self.endpoints[index];
        if endpoint.closed {
            return;
        }
        let receive = Receive::new(
            transmit.proto,
            transmit.source,
            transmit.destination,
            &transmit.contents,
        )
        .expect("the SFU sends well-formed datagrams");
        endpoint
            .rtc
            .handle_input(Input::Receive(self.now, receive))
            .expect("client peer accepts the SFU's datagram");
        self.drain_endpoint(index);
    }

    fn handle_sfu_event(&mut self, event: SfuEvent) {
        self.events.push((self.now, event.clone()));
        if let SfuEvent::LayersWanted { client, mid, rids } = &event {
            self.apply_layers_wanted(*client, mid, rids);
            return;
        }
        let SfuEvent::SubscribeOffer {
            client,
            sdp,
            tracks,
        } = event
        else {
            return;
        };
        let subscriber = self
            .endpoints
            .iter()
            .position(|e| e.client == client && e.role == Role::Subscriber && !e.closed);
        if let Some(index) = subscriber {
            self.answer(EndpointId(index), &sdp, tracks);
        }
    }

    /// Pauses the layers of the publisher's m-line `mid` that are not in `rids`, as the web
    /// client does with `active` on its encodings.
    fn apply_layers_wanted(&mut self, client: ClientId, mid: &str, rids: &[String]) {
        let now = self.now;
        let publisher = self
            .endpoints
            .iter_mut()
            .find(|e| e.client == client && e.role == Role::Publisher && !e.closed);
        let Some(publisher) = publisher else {
            return;
        };
        for track in &mut publisher.tracks {
            if track.mid.to_string() != mid {
                continue;
            }
            if let Some(rid) = track.rid {
                let wanted = rids.iter().any(|r| r.as_str() == &*rid);
                track.set_paused(!wanted, now);
            }
        }
    }

    fn answer(&mut self, id: EndpointId, sdp: &str, tracks: Vec<OfferedTrack>) {
        let endpoint = &mut self.endpoints[id.0];
        let offer = SdpOffer::from_sdp_string(sdp).expect("the SFU's offer parses");
        let answer = endpoint
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("the subscriber accepts the SFU's offer")
            .to_sdp_string();
        self.sfu
            .subscribe_answer(self.now, endpoint.client, &answer)
            .expect("the SFU accepts the subscriber's answer");
        endpoint.offers.push(AnsweredOffer {
            answered_at: self.now,
            offer: sdp.to_string(),
            tracks,
            answer,
        });
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Endpoint {
    /// Returns the packets received on `mid`, in arrival order.
    pub fn received_on(&self, mid: Mid) -> Vec<&ReceivedPacket> {
        self.received
            .iter()
            .filter(|p| p.mid == Some(mid))
            .collect()
    }

    /// Returns the track of `kind` this publisher sends.
    pub fn sent_track(&self, kind: MediaKind) -> &SentTrack {
        self.tracks
            .iter()
            .find(|t| t.kind == kind)
            .expect("the publisher sends a track of this kind")
    }

    /// Returns the simulcast layer `rid` this publisher sends.
    pub fn layer(&self, rid: &str) -> &SentTrack {
        self.tracks
            .iter()
            .find(|t| t.rid == Some(Rid::from(rid)))
            .expect("the publisher sends this layer")
    }

    /// Returns the simulcast layer `rid` this publisher sends, for changing.
    pub fn layer_mut(&mut self, rid: &str) -> &mut SentTrack {
        self.tracks
            .iter_mut()
            .find(|t| t.rid == Some(Rid::from(rid)))
            .expect("the publisher sends this layer")
    }

    /// Returns the SSRC this publisher sends `kind` with.
    pub fn sending_ssrc(&mut self, kind: MediaKind) -> u32 {
        let mid = self.sent_track(kind).mid;
        let mut api = self.rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None).expect("a sending stream");
        *stream.ssrc()
    }

    /// When the next frame is due; media starts once the connection is up.
    fn next_frame_at(&self) -> Option<Instant> {
        let next = self.tracks.iter().filter_map(|t| t.next_frame_at).min();
        self.connected_at.and(next)
    }

    fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected => {
                self.connected_at = Some(now);
                for track in &mut self.tracks {
                    track.next_frame_at = Some(now);
                }
            }
            Event::RtpPacket(packet) => self.record(now, packet),
            Event::KeyframeRequest(request) => {
                self.keyframe_requests.push((now, request.mid));
                self.keyframe_kinds.push(request.kind);
                self.keyframe_rids.push(request.rid);
                let track = self
                    .tracks
                    .iter_mut()
                    .find(|t| t.mid == request.mid && t.rid == request.rid);
                if let Some(track) = track {
                    track.keyframe_requested_at.get_or_insert(now);
                }
            }
            _ => {}
        }
    }

    fn record(&mut self, now: Instant, packet: RtpPacket) {
        let ssrc = packet.header.ssrc;
        let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid());
        self.received.push(ReceivedPacket {
            at: now,
            mid,
            ssrc: *ssrc,
            sequence: *packet.seq_no,
            timestamp: packet.header.timestamp,
            payload_type: *packet.header.payload_type,
            marker: packet.header.marker,
            payload: packet.payload.to_vec(),
        });
    }

    fn write_due_media(&mut self, now: Instant) {
        if self.connected_at.is_none() {
            return;
        }
        for index in 0..self.tracks.len() {
            while self.tracks[index].next_frame_at.is_some_and(|at| at <= now) {
                let track = &mut self.tracks[index];
                if track.paused || track.stopped {
                    track.skip_frame();
                    continue;
                }
                self.write_frame(index, now);
            }
        }
    }

    /// Writes the next frame of one track: an Opus packet, or one VP8 frame in a few packets.
    fn write_frame(&mut self, index: usize, now: Instant) {
        let kind = self.tracks[index].kind;
        let codec = match kind {
            MediaKind::Audio => Codec::Opus,
            MediaKind::Video => Codec::Vp8,
        };
        let payload_type = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
            .expect("the codec is configured");
        let track = &mut self.tracks[index];
        let packets = track.next_frame(now);

        let mut api = self.rtc.direct_api();
        let stream = api
            .stream_tx_by_mid(track.mid, track.rid)
            .expect("a sending stream for each published m-line and layer");
        for packet in packets {
            let write = RtpWrite::new(
                payload_type,
                packet.sequence.into(),
                packet.timestamp,
                now,
                packet.payload.clone(),
            )
            .marker(packet.marker)
            .nackable(kind == MediaKind::Video);
            stream.write_rtp(write);
            track.sent.push(packet);
        }
    }
}

impl SentTrack {
    fn new(mid: Mid, kind: MediaKind) -> Self {
        Self {
            mid,
            rid: None,
            size: None,
            paused: false,
            stopped: false,
            payload_size: VIDEO_PAYLOAD_SIZE,
            keyframe_packets: 3,
            kind,
            sent: Vec::new(),
            next_frame_at: None,
            next_sequence: FIRST_PUBLISHED_SEQUENCE,
            next_timestamp: FIRST_PUBLISHED_TIMESTAMP,
            frames: 0,
            keyframe_requested_at: None,
        }
    }

    /// Number of keyframes written so far.
    pub fn keyframes(&self) -> usize {
        self.sent.iter().filter(|p| p.keyframe).count()
    }

    /// Pauses or resumes the layer. A resumed layer starts with a keyframe, as a browser's
    /// encoder does.
    pub fn set_paused(&mut self, paused: bool, now: Instant) {
        if self.paused && !paused {
            self.keyframe_requested_at = Some(now - KEYFRAME_RESPONSE_DELAY);
        }
        self.paused = paused;
    }

    /// Stops or restarts the layer, like [`SentTrack::set_paused`] but apart from what the
    /// SFU wants.
    pub fn set_stopped(&mut self, stopped: bool, now: Instant) {
        if self.stopped && !stopped {
            self.keyframe_requested_at = Some(now - KEYFRAME_RESPONSE_DELAY);
        }
        self.stopped = stopped;
    }

    /// Lets the time of one frame pass without sending it.
    fn skip_frame(&mut self) {
        let interval = match self.kind {
            MediaKind::Audio => AUDIO_PACKET_INTERVAL,
            MediaKind::Video => VIDEO_FRAME_INTERVAL,
        };
        self.frames += 1;
        self.next_timestamp = self.next_timestamp.wrapping_add(match self.kind {
            MediaKind::Audio => AUDIO_PACKET_TICKS,
            MediaKind::Video => VIDEO_FRAME_TICKS,
        });
        self.next_frame_at = self.next_frame_at.map(|at| at + interval);
    }

    /// Builds the packets of the next frame and schedules the one after it.
    fn next_frame(&mut self, now: Instant) -> Vec<SentPacket> {
        let (payloads, keyframe, interval, ticks) = match self.kind {
            MediaKind::Audio => (
                vec![opus_payload(self.frames)],
                false,
                AUDIO_PACKET_INTERVAL,
                AUDIO_PACKET_TICKS,
            ),
            MediaKind::Video => {
                let requested = self
                    .keyframe_requested_at
                    .is_some_and(|at| now >= at + KEYFRAME_RESPONSE_DELAY);
                let keyframe = self.frames == 0 || requested;
                if keyframe {
                    self.keyframe_requested_at = None;
                }
                (
                    vp8_frame(
                        self.frames,
                        keyframe,
                        self.rid,
                        self.size,
                        self.payload_size,
                        self.keyframe_packets,
                    ),
                    keyframe,
                    VIDEO_FRAME_INTERVAL,
                    VIDEO_FRAME_TICKS,
                )
            }
        };
        let last = payloads.len() - 1;
        let packets = payloads
            .into_iter()
            .enumerate()
            .map(|(index, payload)| {
                let packet = SentPacket {
                    at: now,
                    sequence: self.next_sequence,
                    timestamp: self.next_timestamp,
                    marker: self.kind == MediaKind::Video && index == last,
                    keyframe: keyframe && index == 0,
                    payload,
                };
                self.next_sequence += 1;
                packet
            })
            .collect();
        self.frames += 1;
        self.next_timestamp = self.next_timestamp.wrapping_add(ticks);
        self.next_frame_at = self.next_frame_at.map(|at| at + interval);
        packets
    }
}

/// Builds the RTP payloads of one synthetic VP8 frame: `keyframe_packets` packets for a
/// keyframe, two otherwise.
/// Each payload is unique, so that a receiver can tell which packet it got. The `rid` of a
/// layer goes into the payload, so payloads also differ between the layers of one track.
/// Builds the keyframe of a layer with a `size` to declare that size. Each payload is
/// `payload_size` bytes long, or longer when its header does not fit.
fn vp8_frame(
    frame: u64,
    keyframe: bool,
    rid: Option<Rid>,
    size: Option<(u16, u16)>,
    payload_size: usize,
    keyframe_packets: usize,
) -> Vec<Vec<u8>> {
    let count = if keyframe { keyframe_packets } else { 2 };
    (0..count)
        .map(|index| {
            let mut payload = Vec::with_capacity(payload_size);
            if index == 0 {
                // Payload descriptor with S=1 and PID=0, then the frame tag and, for a
                // keyframe, the start code (RFC 6386 section 9.1).
                payload.push(0x10);
                if keyframe {
                    payload.extend([0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a]);
                    if let Some((width, height)) = size {
                        payload.extend(width.to_le_bytes());
                        payload.extend(height.to_le_bytes());
                    }
                } else {
                    payload.extend([0x01, 0x00, 0x00]);
                }
            } else {
                // Continuation of the partition: S=0.
                payload.push(0x00);
            }
            payload.extend(frame.to_be_bytes());
            payload.push(u8::try_from(index).expect("a frame has at most 255 packets"));
            if let Some(rid) = rid {
                payload.extend(rid.as_bytes());
            }
            payload.resize(payload_size.max(payload.len()), 0xa5);
            payload
        })
        .collect()
}

/// Builds a synthetic Opus packet: a TOC byte for one 20 ms CELT full-band stereo frame, then a
/// counter.
fn opus_payload(packet: u64) -> Vec<u8> {
    let mut payload = vec![0xfc];
    payload.extend(packet.to_be_bytes());
    payload.resize(40, 0x5a);
    payload
}

/// Returns whether an RTP payload of the synthetic VP8 stream starts a keyframe.
pub fn is_vp8_keyframe_start(payload: &[u8]) -> bool {
    payload.len() >= 2 && payload[0] & 0x17 == 0x10 && payload[1] & 0x01 == 0
}

/// Returns the SSRC an m-section of an offer announces for its media: the first of its
/// `a=ssrc-group:FID` line (the second is for retransmissions), or else of its `a=ssrc` lines.
pub fn announced_ssrc(sdp: &str, mid: Mid) -> Option<u32> {
    let section = media_section(sdp, mid);
    let first_number = |rest: &str| rest.split(' ').next().and_then(|s| s.parse().ok());
    let grouped = section
        .iter()
        .find_map(|line| line.strip_prefix("a=ssrc-group:FID "))
        .and_then(first_number);
    let listed = || {
        section
            .iter()
            .find_map(|line| line.strip_prefix("a=ssrc:"))
            .and_then(first_number)
    };
    grouped.or_else(listed)
}

/// Returns the lines of the m-section with `a=mid:<mid>`, starting at its `m=` line.
pub fn media_section(sdp: &str, mid: Mid) -> Vec<&str> {
    let mid_line = format!("a=mid:{mid}");
    let mut section: Vec<&str> = Vec::new();
    let mut found = false;
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            if found {
                break;
            }
            section.clear();
        }
        if line == mid_line {
            found = true;
        }
        section.push(line);
    }
    if found {
        section
    } else {
        Vec::new()
    }
}

/// Asserts that sequence numbers increase by exactly one from each packet to the next.
pub fn assert_contiguous(packets: &[&ReceivedPacket], label: &str) {
    assert!(!packets.is_empty(), "{label}: no packets");
    for (index, pair) in packets.windows(2).enumerate() {
        assert_eq!(
            pair[1].sequence,
            pair[0].sequence + 1,
            "{label}: packet {} follows sequence number {}",
            index + 1,
            pair[0].sequence,
        );
    }
}

/// Returns the tracks of the newest offer the SFU sent to `client`.
pub fn offered_to(h: &Harness, client: ClientId) -> BTreeSet<TrackId> {
    h.events
        .iter()
        .rev()
        .find_map(|(_, event)| match event {
            SfuEvent::SubscribeOffer {
                client: c, tracks, ..
            } if *c == client => Some(tracks.iter().map(|t| t.track).collect()),
            _ => None,
        })
        .unwrap_or_default()
}
