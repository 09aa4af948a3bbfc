//! The workers that own the media sockets and drive the media core.
//!
//! Each worker is a thread that owns a UDP socket on the media port, an [`Sfu`] and the list
//! of who is in which of its rooms. The first worker also owns the TCP listener for ICE over
//! TCP. A room lives on one worker (see [`workers`]). Signalling sessions talk to the
//! worker of their room through [`MediaHandle`]; it talks back through each session's
//! outgoing message channel. Keeping the room list in the same task as the router means that
//! room events reach every session in the order the router produced them.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media_core::{
    AnswerError, ClientId, ClientOptions, MediaKind, PeerKind, Protocol, PublishError, Receives,
    RoomId, Sfu, SfuConfig, SfuEvent, TrackId, TrackSource, TrackSummary, ViewSize,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::briefing::events::EventSender;
use crate::briefing::room::BriefingRoom;
use crate::recording::{Input as RecorderInput, Publisher, RecorderHandle};
use crate::signalling::protocol::{
    self, BriefingState, PeerInfo, Role, RoomKind, ServerMessage, SubscribedTrack, Talk, TrackInfo,
};

mod briefing;
mod endpoints;
mod phone;
mod quality;
mod rejoin;
mod talk;
mod tcp;
mod udp;
mod workers;

pub use briefing::{BriefingRejected, BriefingRequest};
pub use endpoints::{EndRejected, OpenRejected, Opened, MAX_VIEWERS_PER_PERSON, WHIP_SOURCE};
pub use phone::PhoneJoinRejected;
pub use quality::{QualityGauges, QUALITY_REPORT_INTERVAL};
use rejoin::Presence;
pub use talk::{TalkRejected, TalkRequest};
use tcp::{TcpMedia, TcpWake};
pub use workers::worker_count;
use workers::{Crew, Handoff, Placement};

/// Capacity of the command channel into the media loop.
const COMMAND_CAPACITY: usize = 1024;
/// Largest UDP datagram read; WebRTC packets stay below the path MTU.
const MAX_DATAGRAM: usize = 2048;
/// Maximum number of incoming datagrams the media loop takes before it sends what they
/// produced: enough for the few packets of a delta frame, and few enough that the first of
/// them waits little.
const RECEIVE_BATCH: usize = 8;

/// A cloneable channel into the media workers.
#[derive(Clone)]
pub struct MediaHandle {
    /// Each worker's command queue, by worker number.
    commands: Arc<[mpsc::Sender<Command>]>,
    placement: Arc<Placement>,
    local_addr: SocketAddr,
    tcp_local_addr: Option<SocketAddr>,
    quality: QualityGauges,
}

/// A person joining a room, as named in their token.
#[derive(Debug, Clone)]
pub struct Member {
    /// Room identifier.
    pub room: String,
    /// Identity from the token.
    pub identity: String,
    /// Display name from the token.
    pub name: String,
    /// Role from the token.
    pub role: Role,
    /// The purpose of the room, from the token.
    pub kind: RoomKind,
}

/// The reply to a join: the new client's id and the room as it is.
pub struct Joined {
    /// The media core's id of the new client.
    pub client: ClientId,
    /// Everyone else in the room, with their tracks.
    pub peers: Vec<PeerInfo>,
    /// The briefing as the new client sees it, when the room is a briefing.
    pub briefing: Option<BriefingState>,
    /// The talks in progress whose `talk_started` would have reached the client.
    pub talks: Vec<Talk>,
    /// The secret a later socket presents to resume this session.
    pub resume_token: String,
    /// Whether the join took the place of an earlier session of the same person, whose
    /// tracks and connections the server kept.
    pub resumed: bool,
}

/// The reason a join was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinRejected {
    /// The people in the room joined it as another kind of room.
    #[error("the room is in use as a {present:?} room")]
    KindMismatch {
        /// The kind of the people already in the room.
        present: RoomKind,
    },
}

/// The media loop stopped; the server is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the media loop has stopped")]
pub struct MediaStopped;

enum Command {
    Join {
        member: Member,
        resume: Option<String>,
        outbox: mpsc::Sender<ServerMessage>,
        reply: oneshot::Sender<Result<Joined, JoinRejected>>,
    },
    JoinPhone {
        owner: Member,
        outbox: mpsc::Sender<ServerMessage>,
        reply: oneshot::Sender<Result<ClientId, PhoneJoinRejected>>,
    },
    Leave {
        client: ClientId,
        outbox: mpsc::Sender<ServerMessage>,
    },
    Detach {
        client: ClientId,
        outbox: mpsc::Sender<ServerMessage>,
    },
    Publish {
        client: ClientId,
        sdp: String,
        sources: Vec<(String, TrackSource)>,
        reply: oneshot::Sender<Result<String, PublishError>>,
    },
    SubscribeAnswer {
        client: ClientId,
        sdp: String,
        reply: oneshot::Sender<Result<(), AnswerError>>,
    },
    RestartIce {
        client: ClientId,
        reply: oneshot::Sender<bool>,
    },
    Briefing {
        client: ClientId,
        request: BriefingRequest,
        reply: oneshot::Sender<Result<(), BriefingRejected>>,
    },
    Talk {
        client: ClientId,
        request: TalkRequest,
        reply: oneshot::Sender<Result<(), TalkRejected>>,
    },
    VideoSize {
        client: ClientId,
        track: String,
        view: ViewSize,
    },
    OpenWhip {
        member: Member,
        offer: String,
        mid: String,
        reply: oneshot::Sender<Result<Opened, OpenRejected>>,
    },
    OpenWhep {
        viewer: Member,
        target: String,
        offer: String,
        reply: oneshot::Sender<Result<Opened, OpenRejected>>,
    },
    EndSession {
        resource: String,
        room: String,
        identity: String,
        reply: oneshot::Sender<Result<(), EndRejected>>,
    },
}

impl MediaHandle {
    /// Returns a handle connected to no media loop, for tests of the HTTP layer alone: every
    /// operation on it fails with [`MediaStopped`].
    pub fn detached() -> Self {
        let (commands, _) = mpsc::channel(1);
        Self {
            commands: Arc::from([commands]),
            placement: Arc::new(Placement::new(1)),
            local_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp_local_addr: None,
            quality: QualityGauges::default(),
        }
    }

    /// Returns the local address of the UDP socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Returns the local address of the TCP listener, when ICE over TCP is on.
    pub fn tcp_local_addr(&self) -> Option<SocketAddr> {
        self.tcp_local_addr
    }

    /// Returns the connection quality gauges of the people in every room.
    pub fn quality(&self) -> &QualityGauges {
        &self.quality
    }

    /// Adds a client to a room. Messages for it go to `outbox`. With `resume`, the resume
    /// token of an earlier session of the same person that is still kept, the client takes
    /// that session's place instead, with its tracks and connections.
    pub async fn join(
        &self,
        member: Member,
        resume: Option<String>,
        outbox: mpsc::Sender<ServerMessage>,
    ) -> Result<Result<Joined, JoinRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Join {
            member,
            resume,
            outbox,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Adds a phone that publishes the second camera of `owner`, a participant in the room.
    /// Messages for it go to `outbox`. [`Self::leave`] and [`Self::detach`] both end it.
    pub async fn join_phone(
        &self,
        owner: Member,
        outbox: mpsc::Sender<ServerMessage>,
    ) -> Result<Result<ClientId, PhoneJoinRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::JoinPhone {
            owner,
            outbox,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Removes a client. Its tracks stop and the rest of the room gets `peer_left`.
    /// Nothing happens when another session, given by its `outbox`, has resumed the client.
    pub async fn leave(&self, client: ClientId, outbox: mpsc::Sender<ServerMessage>) {
        let _ = self.send(Command::Leave { client, outbox }).await;
    }

    /// Reports that the session with `outbox` lost its socket without `leave`. The client
    /// keeps its place, tracks and connections for the rejoin grace, waiting for a resume.
    pub async fn detach(&self, client: ClientId, outbox: mpsc::Sender<ServerMessage>) {
        let _ = self.send(Command::Detach { client, outbox }).await;
    }

    /// Applies a publishing offer and returns the SDP answer.
    pub async fn publish(
        &self,
        client: ClientId,
        sdp: String,
        sources: Vec<(String, TrackSource)>,
    ) -> Result<Result<String, PublishError>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish {
            client,
            sdp,
            sources,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Applies the answer to the pending offer of the client's receiving connection.
    pub async fn subscribe_answer(
        &self,
        client: ClientId,
        sdp: String,
    ) -> Result<Result<(), AnswerError>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::SubscribeAnswer { client, sdp, reply })
            .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Restarts ICE on the client's receiving connection with a new offer. Returns false
    /// when the client has no receiving connection.
    pub async fn restart_ice(&self, client: ClientId) -> Result<bool, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::RestartIce { client, reply }).await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Applies a briefing request: a hand, the floor or a chat message.
    pub async fn briefing(
        &self,
        client: ClientId,
        request: BriefingRequest,
    ) -> Result<Result<(), BriefingRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Briefing {
            client,
            request,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Starts or ends a talk to a participant.
    pub async fn talk(
        &self,
        client: ClientId,
        request: TalkRequest,
    ) -> Result<Result<(), TalkRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Talk {
            client,
            request,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Records the size at which the client shows a track it receives. A track that is
    /// not one the client receives, such as one that ended meanwhile, is ignored.
    pub async fn video_size(
        &self,
        client: ClientId,
        track: String,
        view: ViewSize,
    ) -> Result<(), MediaStopped> {
        self.send(Command::VideoSize {
            client,
            track,
            view,
        })
        .await
    }

    /// Starts a WHIP session of `member` that publishes the video m-line `mid` of `offer`
    /// as the person's [`WHIP_SOURCE`], and returns the answer.
    pub async fn open_whip(
        &self,
        member: Member,
        offer: String,
        mid: String,
    ) -> Result<Result<Opened, OpenRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::OpenWhip {
            member,
            offer,
            mid,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Starts a WHEP session in which `viewer` receives the tracks of the person `target`
    /// on the m-lines of `offer`, and returns the answer.
    pub async fn open_whep(
        &self,
        viewer: Member,
        target: String,
        offer: String,
    ) -> Result<Result<Opened, OpenRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::OpenWhep {
            viewer,
            target,
            offer,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    /// Ends the WHIP or WHEP session `resource`, which must belong to `identity` in `room`.
    pub async fn end_session(
        &self,
        resource: String,
        room: String,
        identity: String,
    ) -> Result<Result<(), EndRejected>, MediaStopped> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::EndSession {
            resource,
            room,
            identity,
            reply,
        })
        .await?;
        answer.await.map_err(|_| MediaStopped)
    }

    async fn send(&self, command: Command) -> Result<(), MediaStopped> {
        let worker = self.worker_for(&command);
        self.commands[worker]
            .send(command)
            .await
            .map_err(|_| MediaStopped)
    }

    /// Returns the worker that serves the room a command concerns. A client belongs to the
    /// worker whose router numbered it.
    fn worker_for(&self, command: &Command) -> usize {
        let workers = self.commands.len();
        if workers == 1 {
            return 0;
        }
        match command {
            Command::Join { member, .. }
            | Command::JoinPhone { owner: member, .. }
            | Command::OpenWhip { member, .. }
            | Command::OpenWhep { viewer: member, .. } => self.placement.place(&member.room),
            // A session of a room never used is not found on any worker.
            Command::EndSession { room, .. } => self.placement.find(room).unwrap_or(0),
            Command::Leave { client, .. }
            | Command::Detach { client, .. }
            | Command::Publish { client, .. }
            | Command::SubscribeAnswer { client, .. }
            | Command::RestartIce { client, .. }
            | Command::Briefing { client, .. }
            | Command::Talk { client, .. }
            | Command::VideoSize { client, .. } => workers::owner_of_id(client.0, workers),
        }
    }
}

/// Bytes of kernel buffer requested on each media socket, each way. One worker serves every
/// peer of its rooms, so the receive buffer must keep what arrives while the worker is busy
/// or waits for a CPU. Linux's default of 208 KiB is about 170 full-size datagrams, which is
/// 14 ms of 50 cameras at 1.5 Mbit/s.
const MEDIA_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Binds a media socket with [`MEDIA_SOCKET_BUFFER`] of buffer each way. The kernel caps
/// the request at `net.core.rmem_max` and `net.core.wmem_max`; a smaller result is logged.
/// With `shared`, the other workers' sockets may bind the same address and port.
fn bind_media_socket(addr: SocketAddr, shared: bool) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};

    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // An IPv6 wildcard takes IPv4 peers too, as std's bind does on Linux.
        socket.set_only_v6(false)?;
    }
    if shared {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.set_recv_buffer_size(MEDIA_SOCKET_BUFFER)?;
    socket.set_send_buffer_size(MEDIA_SOCKET_BUFFER)?;
    // Linux reports twice what it granted, its bookkeeping included.
    let receive = socket.recv_buffer_size()? / 2;
    let send = socket.send_buffer_size()? / 2;
    if receive < MEDIA_SOCKET_BUFFER || send < MEDIA_SOCKET_BUFFER {
        tracing::warn!(
            receive,
            send,
            wanted = MEDIA_SOCKET_BUFFER,
            "the kernel capped the media socket's buffers: raise net.core.rmem_max and \
             net.core.wmem_max"
        );
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The addresses the media loop listens on and puts in its ICE candidates. A candidate
/// with port 0 takes the port its socket is bound to.
#[derive(Debug, Clone, Copy)]
pub struct MediaAddresses {
    /// Address the UDP socket binds.
    pub udp_listen: SocketAddr,
    /// Address of the UDP host candidate.
    pub udp_candidate: SocketAddr,
    /// Address the TCP listener binds and the address of the passive TCP candidate, when
    /// ICE over TCP is on.
    pub tcp: Option<(SocketAddr, SocketAddr)>,
}

/// The reason the media loop could not start.
#[derive(Debug, thiserror::Error)]
pub enum MediaStartError {
    /// The UDP socket could not be bound.
    #[error("failed to bind the UDP media socket on {addr}: {source}")]
    BindUdp {
        /// The address from `media.udp_listen`.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// The TCP listener could not be bound.
    #[error("failed to bind the TCP media listener on {addr}: {source}")]
    BindTcp {
        /// The address from `media.tcp_listen`.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
    /// A worker's thread could not be started.
    #[error("failed to start a media worker thread: {0}")]
    Spawn(io::Error),
}

/// Binds the UDP sockets, and the TCP listener when ICE over TCP is on, and starts `workers`
/// media workers, each on a thread of its own. They stop when every [`MediaHandle`] is
/// dropped, and the returned task ends when they have. Briefing events go to `events`. A
/// client whose socket or publishing connection is lost keeps its place for `rejoin_grace`.
pub async fn start(
    addresses: MediaAddresses,
    workers: usize,
    rejoin_grace: Duration,
    recorder: Option<RecorderLink>,
    events: EventSender,
) -> Result<(MediaHandle, JoinHandle<()>), MediaStartError> {
    let workers = workers.max(1);
    let udp_error = |source| MediaStartError::BindUdp {
        addr: addresses.udp_listen,
        source,
    };
    let shared = workers > 1;
    let first = bind_media_socket(addresses.udp_listen, shared).map_err(udp_error)?;
    let local_addr = first.local_addr().map_err(udp_error)?;
    let mut sockets = vec![first];
    for _ in 1..workers {
        sockets.push(bind_media_socket(local_addr, shared).map_err(udp_error)?);
    }
    let mut sfu_config = SfuConfig::new(with_port(addresses.udp_candidate, local_addr));
    sfu_config.rejoin_grace = rejoin_grace;
    let quality = QualityGauges::default();
    let tcp = match addresses.tcp {
        Some((listen, candidate)) => {
            let tcp_error = |source| MediaStartError::BindTcp {
                addr: listen,
                source,
            };
            let tcp = TcpMedia::bind(listen).map_err(tcp_error)?;
            let tcp_local = tcp.local_addr().map_err(tcp_error)?;
            sfu_config.tcp_candidate = Some(with_port(candidate, tcp_local));
            Some(tcp)
        }
        None => None,
    };
    let tcp_local_addr = tcp.as_ref().and_then(|tcp| tcp.local_addr().ok());
    let mut links = split_recorder(recorder, workers);
    let (queues, mut handoffs): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| mpsc::channel(workers::HANDOFF_CAPACITY))
        .unzip();
    let queues: Arc<[mpsc::Sender<Handoff>]> = queues.into();
    let routes = Arc::new(workers::Routes::default());
    let mut commands = Vec::new();
    let mut threads = Vec::new();
    let mut tcp = tcp;
    for (index, socket) in sockets.into_iter().enumerate().rev() {
        let (sender, receiver) = mpsc::channel(COMMAND_CAPACITY);
        commands.push(sender);
        let mut config = sfu_config.clone();
        config.ids = workers::id_space(index, workers);
        let crew = Crew::new(index, Arc::clone(&routes), Arc::clone(&queues));
        let parts = WorkerParts {
            socket,
            tcp: if index == 0 { tcp.take() } else { None },
            config,
            crew,
            handoffs: handoffs.pop().expect("one hand-off queue per worker"),
            recorder: links.pop().flatten(),
        };
        let media = (rejoin_grace, events.clone(), quality.clone());
        // A worker logs to the subscriber of the thread that started it, which need not be
        // the global one (a test captures the log of its own server).
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let thread = std::thread::Builder::new()
            .name(format!("media-{index}"))
            .spawn(move || {
                let _logging = tracing::dispatcher::set_default(&dispatch);
                run_worker(parts, media, receiver)
            })
            .map_err(MediaStartError::Spawn)?;
        threads.push(thread);
    }
    commands.reverse();
    match tcp_local_addr {
        Some(tcp) => tracing::info!(udp = %local_addr, %tcp, workers, "media workers started"),
        None => tracing::info!(udp = %local_addr, workers, "media workers started"),
    }
    let task = tokio::task::spawn_blocking(move || {
        for thread in threads {
            let _ = thread.join();
        }
        tracing::info!("media workers stopped");
    });
    let handle = MediaHandle {
        commands: commands.into(),
        placement: Arc::new(Placement::new(workers)),
        local_addr,
        tcp_local_addr,
        quality,
    };
    Ok((handle, task))
}

/// The parts one worker owns, handed to its thread when it starts.
struct WorkerParts {
    socket: std::net::UdpSocket,
    tcp: Option<std::net::TcpListener>,
    config: SfuConfig,
    crew: Crew,
    handoffs: mpsc::Receiver<Handoff>,
    recorder: Option<RecorderLink>,
}

/// Runs one worker on a runtime of its own thread until its command queue closes.
fn run_worker(
    parts: WorkerParts,
    (rejoin_grace, events, quality): (Duration, EventSender, QualityGauges),
    commands: mpsc::Receiver<Command>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "media worker runtime failed to start");
            return;
        }
    };
    runtime.block_on(async move {
        let sockets = UdpSocket::from_std(parts.socket)
            .and_then(|udp| Ok((udp, parts.tcp.map(TcpMedia::new).transpose()?)));
        let (socket, tcp) = match sockets {
            Ok(sockets) => sockets,
            Err(error) => {
                tracing::error!(error = %error, "media worker failed to take its sockets");
                return;
            }
        };
        let media = MediaLoop {
            socket,
            outgoing: udp::SendQueue::default(),
            batched: false,
            tcp,
            sfu: Sfu::new(parts.config),
            crew: parts.crew,
            handoffs: parts.handoffs,
            rejoin_grace,
            members: HashMap::new(),
            recorder: parts.recorder,
            briefings: HashMap::new(),
            events,
            talks: talk::Talks::default(),
            phones: phone::Phones::default(),
            viewers: HashMap::new(),
            quality,
        };
        media.run(commands).await;
    });
}

/// Gives each of `workers` workers its link to the recorder. A keyframe request goes to the
/// worker whose router numbered the track.
fn split_recorder(recorder: Option<RecorderLink>, workers: usize) -> Vec<Option<RecorderLink>> {
    let Some(link) = recorder else {
        return (0..workers).map(|_| None).collect();
    };
    if workers == 1 {
        return vec![Some(link)];
    }
    let RecorderLink {
        handle,
        mut keyframes,
    } = link;
    let (senders, links): (Vec<_>, Vec<_>) = (0..workers)
        .map(|_| {
            let (sender, receiver) = mpsc::unbounded_channel();
            let link = RecorderLink {
                handle: handle.clone(),
                keyframes: receiver,
            };
            (sender, Some(link))
        })
        .unzip();
    tokio::spawn(async move {
        while let Some(track) = keyframes.recv().await {
            let _ = senders[workers::owner_of_id(track.0, workers)].send(track);
        }
    });
    links
}

/// Returns `candidate`, with the port of `bound` when its own port is 0.
fn with_port(candidate: SocketAddr, bound: SocketAddr) -> SocketAddr {
    if candidate.port() == 0 {
        SocketAddr::new(candidate.ip(), bound.port())
    } else {
        candidate
    }
}

struct Joiner {
    member: Member,
    /// The signalling session's queue, or `None` while its socket is lost.
    outbox: Option<mpsc::Sender<ServerMessage>>,
    tracks: Vec<TrackInfo>,
    presence: Presence,
    /// The resource identifier of a WHIP session; `None` for a browser's session.
    whip: Option<String>,
}

/// The media loop's connection to the recorder: the destination of packets and the source
/// of keyframe requests.
pub struct RecorderLink {
    /// Packets and track events.
    pub handle: RecorderHandle,
    /// Tracks the recorder needs a keyframe of.
    pub keyframes: mpsc::UnboundedReceiver<TrackId>,
}

struct MediaLoop {
    socket: UdpSocket,
    /// Datagrams for `socket` that the router emitted and the loop has not sent yet.
    outgoing: udp::SendQueue,
    /// Set when the loop took more than one incoming datagram since the last flush.
    batched: bool,
    /// The listener and connections of ICE over TCP, when it is on and this is the first
    /// worker.
    tcp: Option<TcpMedia>,
    sfu: Sfu,
    /// The other workers and the map of who serves which remote address.
    crew: Crew,
    /// Work the other workers hand to this one.
    handoffs: mpsc::Receiver<Handoff>,
    /// How long a client whose socket was lost keeps its place.
    rejoin_grace: Duration,
    members: HashMap<ClientId, Joiner>,
    recorder: Option<RecorderLink>,
    /// Briefings that someone is in, by room.
    briefings: HashMap<String, BriefingRoom>,
    events: EventSender,
    talks: talk::Talks,
    phones: phone::Phones,
    /// WHEP viewers, which are not members of their room.
    viewers: HashMap<ClientId, endpoints::Viewer>,
    quality: QualityGauges,
}

/// Waits for the recorder's next keyframe request, or for ever when nothing is recorded.
async fn next_keyframe_request(recorder: &mut Option<RecorderLink>) -> Option<TrackId> {
    match recorder {
        Some(link) => link.keyframes.recv().await,
        None => std::future::pending().await,
    }
}

/// Waits for the next TCP connection or frame, or for ever when ICE over TCP is off.
async fn next_tcp(tcp: &mut Option<TcpMedia>) -> TcpWake {
    match tcp {
        Some(tcp) => tcp.next().await,
        None => std::future::pending().await,
    }
}

impl MediaLoop {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        let mut quality_tick = tokio::time::interval(QUALITY_REPORT_INTERVAL);
        quality_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self
                .sfu
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_millis(100));
            let expiry = self.next_expiry().map(tokio::time::Instant::from_std);
            let tcp_deadline = self
                .tcp
                .as_ref()
                .and_then(TcpMedia::next_deadline)
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    None => break,
                },
                received = self.socket.recv_from(&mut buffer) => match received {
                    Ok((length, source)) => {
                        let datagram = &buffer[..length];
                        self.receive(Instant::now(), Protocol::Udp, source, datagram);
                        self.receive_waiting(&mut buffer);
                    }
                    // ICMP errors from earlier sends surface here on Linux; they concern
                    // one remote address, not the socket.
                    Err(error) => tracing::debug!(error = %error, "UDP receive failed"),
                },
                Some(handoff) = self.handoffs.recv() => self.take_handoff(handoff),
                tcp_wake = next_tcp(&mut self.tcp) => self.handle_tcp(tcp_wake),
                () = sleep_until_some(tcp_deadline) => {
                    if let Some(tcp) = &mut self.tcp {
                        tcp.close_unclaimed(Instant::now());
                    }
                }
                () = tokio::time::sleep_until(wake) => self.sfu.handle_timeout(Instant::now()),
                () = sleep_until_some(expiry) => self.expire_away(Instant::now()),
                Some(track) = next_keyframe_request(&mut self.recorder) => {
                    self.sfu.request_keyframe_for(Instant::now(), track);
                }
                _ = quality_tick.tick() => {
                    self.report_quality();
                    self.forget_idle_addresses(Instant::now());
                }
            }
            self.hand_to_recorder();
            self.flush().await;
            self.dispatch_events();
        }
        tracing::debug!(worker = self.crew.index, "media worker stopped");
    }

    fn hand_to_recorder(&mut self) {
        let Some(link) = &self.recorder else {
            return;
        };
        while let Some(packet) = self.sfu.poll_media() {
            link.handle.packet(packet);
        }
    }

    fn tell_recorder(&self, input: RecorderInput) {
        if let Some(link) = &self.recorder {
            link.handle.send(input);
        }
    }

    fn handle_tcp(&mut self, wake: TcpWake) {
        let Some(mut tcp) = self.tcp.take() else {
            return;
        };
        let now = Instant::now();
        match wake {
            TcpWake::Accepted(stream, remote) => tcp.open(stream, remote, now),
            TcpWake::AcceptFailed(error) => {
                let open = tcp.connection_count();
                tracing::warn!(error = %error, open, "accepting a TCP media connection failed");
            }
            TcpWake::Inbound(inbound) => tcp.handle(inbound, |remote, frame| {
                self.receive(now, Protocol::Tcp, remote, frame)
            }),
        }
        self.tcp = Some(tcp);
    }

    /// Takes the datagrams that already wait on the socket, up to [`RECEIVE_BATCH`] with the
    /// one just received, so that the packets of one video frame reach each subscriber in
    /// one send (`udp::SendQueue`). A packet then waits for those after it in the batch,
    /// which leave sooner because their sends cost less.
    fn receive_waiting(&mut self, buffer: &mut [u8]) {
        let mut attempts = 1;
        while attempts < RECEIVE_BATCH {
            match self.socket.try_recv_from(buffer) {
                Ok((length, source)) => {
                    self.receive(Instant::now(), Protocol::Udp, source, &buffer[..length]);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => tracing::debug!(error = %error, "UDP receive failed"),
            }
            attempts += 1;
        }
        if attempts > 1 {
            self.batched = true;
        }
    }

    async fn flush(&mut self) {
        while let Some(transmit) = self.sfu.poll_transmit() {
            if transmit.proto == Protocol::Tcp {
                self.send_tcp(transmit);
                continue;
            }
            self.outgoing
                .push(transmit.destination, transmit.contents.into());
        }
        if std::mem::take(&mut self.batched) {
            self.outgoing.group_by_destination();
        }
        self.outgoing.send_all(&self.socket).await;
    }

    fn handle_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Join {
                member,
                resume,
                outbox,
                reply,
            } => {
                let resumable = resume.and_then(|token| self.resumable(&member, &token));
                match resumable {
                    Some(client) => self.resume(client, outbox, reply),
                    None => self.join(now, member, outbox, reply),
                }
            }
            Command::JoinPhone {
                owner,
                outbox,
                reply,
            } => self.join_phone(now, owner, outbox, reply),
            Command::Leave { client, .. } | Command::Detach { client, .. }
                if self.is_phone(client) =>
            {
                self.end_phone(now, client);
            }
            Command::Leave { client, outbox } => {
                if self.is_session_of(client, &outbox) {
                    self.leave(now, client);
                }
            }
            Command::Detach { client, outbox } => self.detach(now, client, &outbox),
            Command::Publish {
                client,
                sdp,
                sources,
                reply,
            } => {
                let result = self
                    .check_camera2(client, &sdp, &sources)
                    .and_then(|()| self.check_browser_sources(client, &sdp, &sources))
                    .and_then(|()| self.sfu.publish(now, client, &sdp, &sources));
                let _ = reply.send(result);
            }
            Command::SubscribeAnswer { client, sdp, reply } => {
                let result = self.sfu.subscribe_answer(now, client, &sdp);
                if result.is_ok() {
                    if let Some(joiner) = self.members.get_mut(&client) {
                        joiner.presence.unanswered_offer = None;
                    }
                }
                let _ = reply.send(result);
            }
            Command::RestartIce { client, reply } => {
                let restarted = self.sfu.restart_receiving_ice(now, client);
                let _ = reply.send(restarted);
            }
            Command::Briefing {
                client,
                request,
                reply,
            } => {
                let result = self.briefing_request(now, client, request);
                let _ = reply.send(result);
            }
            Command::Talk {
                client,
                request,
                reply,
            } => {
                let result = self.talk_request(now, client, request);
                let _ = reply.send(result);
            }
            Command::VideoSize {
                client,
                track,
                view,
            } => {
                let known = parse_track_id(&track)
                    .is_some_and(|track| self.sfu.set_view_size(now, client, track, view));
                if !known {
                    tracing::debug!(client = %client, track, "video size for a track the client does not receive");
                }
            }
            Command::OpenWhip {
                member,
                offer,
                mid,
                reply,
            } => {
                let _ = reply.send(self.open_whip(now, member, &offer, mid));
            }
            Command::OpenWhep {
                viewer,
                target,
                offer,
                reply,
            } => {
                let _ = reply.send(self.open_whep(now, viewer, &target, &offer));
            }
            Command::EndSession {
                resource,
                room,
                identity,
                reply,
            } => {
                let _ = reply.send(self.end_session(now, &resource, &room, &identity));
            }
        }
    }

    fn join(
        &mut self,
        now: Instant,
        member: Member,
        outbox: mpsc::Sender<ServerMessage>,
        reply: oneshot::Sender<Result<Joined, JoinRejected>>,
    ) {
        if let Some(present) = self.kind_in_use(&member) {
            tracing::info!(room = %member.room, identity = %member.identity, kind = ?member.kind, ?present, "join rejected: room in use as another kind");
            let _ = reply.send(Err(JoinRejected::KindMismatch { present }));
            return;
        }
        self.replace_session(now, &member);
        let options = client_options(&member, self.recorder.is_some());
        // The client joins the router before the peers are listed, because the router
        // decides which talk tracks the client may learn of.
        let client = self.sfu.add_client(now, options);
        let peers = self.peers_seen_by(client, &member);
        let presence = Presence::new();
        let announcement = ServerMessage::PeerJoined(PeerInfo {
            identity: member.identity.clone(),
            name: member.name.clone(),
            role: member.role,
            tracks: self.tracks_of_other_sessions(&member),
            reconnecting: false,
        });
        self.broadcast(&member, None, &announcement);
        tracing::info!(room = %member.room, identity = %member.identity, role = ?member.role, client = %client, "joined");
        let briefing = self.briefing_joined(&member);
        let talks = self.talks_for(&member);
        let resume_token = presence.resume_token.clone();
        let joiner = Joiner {
            member,
            outbox: Some(outbox),
            tracks: Vec::new(),
            presence,
            whip: None,
        };
        self.members.insert(client, joiner);
        let _ = reply.send(Ok(Joined {
            client,
            peers,
            briefing,
            talks,
            resume_token,
            resumed: false,
        }));
    }

    /// Returns the kind of the room's people when it differs from the joiner's. An earlier
    /// session of the joiner, which the join replaces, does not count.
    fn kind_in_use(&self, member: &Member) -> Option<RoomKind> {
        self.members
            .values()
            .map(|m| &m.member)
            .find(|m| m.room == member.room && m.identity != member.identity)
            .map(|m| m.kind)
            .filter(|kind| *kind != member.kind)
    }

    /// Ends an earlier session of the same identity in the same room, so that a reloaded page
    /// or a second device takes the person's place instead of appearing twice.
    fn replace_session(&mut self, now: Instant, member: &Member) {
        let earlier = self
            .sessions_of(&member.room, &member.identity)
            .find(|(_, joiner)| joiner.whip.is_none())
            .map(|(client, _)| client);
        let Some(earlier) = earlier else {
            return;
        };
        let message = error_message(
            protocol::ErrorCode::SessionReplaced,
            "You joined this room from another page or device; this page has left.",
            true,
        );
        self.send_to(earlier, message);
        self.leave(now, earlier);
    }

    fn leave(&mut self, now: Instant, client: ClientId) {
        if let Some(joiner) = self.members.get(&client) {
            let member = joiner.member.clone();
            self.end_phone_of(now, &member);
        }
        self.end_talks_of(now, client);
        self.sfu.remove_client(now, client);
        self.dispatch_events();
        if let Some(left) = self.members.remove(&client) {
            tracing::info!(room = %left.member.room, identity = %left.member.identity, client = %client, "left");
            self.person_left(&left.member);
        }
    }

    /// Tells the room and the recorder that a session of `member` ended, unless another
    /// session of the same person, a browser's or a WHIP session, is still in the room.
    fn person_left(&mut self, member: &Member) {
        self.briefing_left(member);
        if self.is_present(member) {
            return;
        }
        self.quality.remove(&member.room, &member.identity);
        self.tell_recorder(RecorderInput::Left {
            publisher: recorded_publisher(member),
        });
        let message = ServerMessage::PeerLeft {
            identity: member.identity.clone(),
        };
        self.broadcast(member, None, &message);
    }

    /// Lists the people in the room that `member`, the media core's `client`, sees, each
    /// person once with the tracks of all their sessions.
    fn peers_seen_by(&self, client: ClientId, member: &Member) -> Vec<PeerInfo> {
        let peers = self
            .members
            .iter()
            .filter(|(_, j)| j.member.room == member.room && j.member.identity != member.identity)
            .filter(|(_, j)| may_see(member.role, j.member.role))
            .map(|(publisher, joiner)| self.peer_info(client, *publisher, joiner))
            .collect();
        endpoints::merge_sessions(peers)
    }

    fn dispatch_events(&mut self) {
        while let Some(event) = self.sfu.poll_event() {
            self.dispatch(event);
        }
    }

    fn dispatch(&mut self, event: SfuEvent) {
        match event {
            SfuEvent::TrackPublished { room, track } => {
                if self.phone_track_published(&track) {
                    return;
                }
                let Some(publisher) = self.members.get_mut(&track.client) else {
                    return;
                };
                let info = track_info(&publisher.member.identity, &track);
                publisher.tracks.push(info.clone());
                let member = publisher.member.clone();
                debug_assert_eq!(member.room, room.0);
                let source = info.source;
                let message = ServerMessage::TrackPublished(info);
                self.broadcast_track(track.client, &member, source, &message);
                if self.talk_track_started(track.client, &track) {
                    return;
                }
                self.tell_recorder(RecorderInput::TrackStarted {
                    publisher: recorded_publisher(&member),
                    client: track.client,
                    track: track.track,
                    kind: track.kind,
                    source: track.source,
                });
            }
            SfuEvent::TrackUnpublished {
                room,
                track,
                client,
            } => {
                if self.phone_track_unpublished(client, track) {
                    return;
                }
                let Some(publisher) = self.members.get_mut(&client) else {
                    return;
                };
                let id = track.to_string();
                let position = publisher.tracks.iter().position(|t| t.track == id);
                let removed = position.map(|i| publisher.tracks.remove(i));
                let message = ServerMessage::TrackUnpublished {
                    track: id,
                    identity: publisher.member.identity.clone(),
                };
                let member = publisher.member.clone();
                debug_assert_eq!(member.room, room.0);
                if let Some(info) = removed {
                    self.broadcast_track(client, &member, info.source, &message);
                }
                self.talk_track_ended(client, track);
                self.tell_recorder(RecorderInput::TrackEnded { track });
            }
            SfuEvent::SubscribeOffer {
                client,
                sdp,
                tracks,
            } => {
                let tracks = tracks
                    .iter()
                    .filter_map(|offered| self.subscribed_track(&offered.mid, offered.track))
                    .collect();
                let offer = ServerMessage::SubscribeOffer { sdp, tracks };
                if let Some(joiner) = self.members.get_mut(&client) {
                    joiner.presence.unanswered_offer = Some(offer.clone());
                }
                self.send_to(client, offer);
            }
            SfuEvent::Connected { client, kind } => {
                let (room, identity) = self.names(client);
                tracing::info!(room, identity, client = %client, ?kind, "media connected");
                self.set_media_lost(client, kind, false);
            }
            SfuEvent::MediaInterrupted { client, kind } => {
                let (room, identity) = self.names(client);
                tracing::info!(room, identity, client = %client, ?kind, "media interrupted");
                self.set_media_lost(client, kind, true);
            }
            SfuEvent::MediaRestored { client, kind } => {
                let (room, identity) = self.names(client);
                tracing::info!(room, identity, client = %client, ?kind, "media restored");
                self.set_media_lost(client, kind, false);
            }
            SfuEvent::TrackResumed { room, track } => {
                if self.talk_track_started(track.client, &track) {
                    return;
                }
                let Some(publisher) = self.members.get(&track.client) else {
                    return;
                };
                debug_assert_eq!(publisher.member.room, room.0);
                // The stream restarts with new sequence numbers; the recorder continues
                // the same recording and source from them.
                self.tell_recorder(RecorderInput::TrackStarted {
                    publisher: recorded_publisher(&publisher.member),
                    client: track.client,
                    track: track.track,
                    kind: track.kind,
                    source: track.source,
                });
            }
            SfuEvent::Disconnected { client, .. } | SfuEvent::ClientFailed { client }
                if self.is_phone(client) =>
            {
                self.phone_media_lost(Instant::now(), client);
            }
            SfuEvent::Disconnected { client, kind } => {
                let (room, identity) = self.names(client);
                tracing::info!(room, identity, client = %client, ?kind, "media connection lost");
                if self.remove_viewer(Instant::now(), client) {
                    return;
                }
                if self.members.get(&client).is_some_and(|j| j.whip.is_some()) {
                    // A WHIP encoder that comes back starts a new session.
                    self.leave(Instant::now(), client);
                    return;
                }
                self.set_media_lost(client, kind, true);
                // A lost publishing connection leaves its tracks kept for the rejoin grace,
                // and the client publishes on a new connection by itself.
                if kind == PeerKind::Receiving {
                    let message = error_message(
                        protocol::ErrorCode::Internal,
                        "The receiving connection was lost. Rejoin to receive.",
                        false,
                    );
                    self.send_to(client, message);
                }
            }
            SfuEvent::LayersWanted { client, mid, rids } => {
                // NOTE: a publisher whose socket is lost at this moment misses the message
                // and keeps sending the layers it sent before until the set changes again.
                let message = ServerMessage::LayersWanted(protocol::LayersWanted { mid, rids });
                self.send_to(client, message);
            }
            SfuEvent::ClientFailed { client } => {
                let (room, identity) = self.names(client);
                tracing::error!(room, identity, client = %client, "client removed after an internal failure");
                let message = error_message(
                    protocol::ErrorCode::Internal,
                    "The server failed to handle this connection. Join again.",
                    true,
                );
                self.send_to(client, message);
                self.end_talks_of(Instant::now(), client);
                if let Some(joiner) = self.members.get(&client) {
                    let member = joiner.member.clone();
                    self.end_phone_of(Instant::now(), &member);
                }
                self.viewers.remove(&client);
                if let Some(left) = self.members.remove(&client) {
                    self.person_left(&left.member);
                }
            }
        }
    }

    /// Returns the room and identity of a client, for log lines.
    fn names(&self, client: ClientId) -> (&str, &str) {
        match self.members.get(&client) {
            Some(joiner) => (&joiner.member.room, &joiner.member.identity),
            None => ("", ""),
        }
    }

    fn subscribed_track(&self, mid: &str, track: TrackId) -> Option<SubscribedTrack> {
        let id = track.to_string();
        let info = self
            .members
            .values()
            .flat_map(|m| m.tracks.iter())
            .find(|t| t.track == id)
            .or_else(|| self.phone_track_info(&id))?;
        Some(SubscribedTrack {
            mid: mid.to_string(),
            info: info.clone(),
        })
    }

    /// Queues a message for a client. A client whose socket is lost misses it.
    fn send_to(&self, client: ClientId, message: ServerMessage) {
        if let Some(outbox) = self.members.get(&client).and_then(|j| j.outbox.as_ref()) {
            deliver(client, outbox, message);
        }
    }

    /// Sends `message`, which is about `subject`, to everyone in the subject's room who may
    /// see the subject, except `except`.
    fn broadcast(&self, subject: &Member, except: Option<ClientId>, message: &ServerMessage) {
        self.broadcast_to(subject, except, message, |_| true);
    }

    /// Sends `message`, which is about a track from `source` of `publisher`, to everyone
    /// who learns of that track (see [`Self::learns_of_track`]).
    fn broadcast_track(
        &self,
        publisher: ClientId,
        member: &Member,
        source: protocol::TrackSource,
        message: &ServerMessage,
    ) {
        let learns = |viewer| self.learns_of_track(viewer, publisher, source);
        self.broadcast_to(member, Some(publisher), message, learns);
    }

    /// Sends `message` as [`Self::broadcast`] does, to the viewers `addressed` accepts.
    fn broadcast_to(
        &self,
        subject: &Member,
        except: Option<ClientId>,
        message: &ServerMessage,
        addressed: impl Fn(ClientId) -> bool,
    ) {
        self.broadcast_each(subject, except, addressed, |_| message.clone());
    }

    /// Sends each client that `broadcast_to` would address the message `message_for`
    /// makes for it.
    fn broadcast_each(
        &self,
        subject: &Member,
        except: Option<ClientId>,
        addressed: impl Fn(ClientId) -> bool,
        message_for: impl Fn(ClientId) -> ServerMessage,
    ) {
        for (client, joiner) in &self.members {
            let viewer = &joiner.member;
            let in_room = viewer.room == subject.room && Some(*client) != except;
            let Some(outbox) = &joiner.outbox else {
                continue;
            };
            if in_room && may_see(viewer.role, subject.role) && addressed(*client) {
                deliver(*client, outbox, message_for(*client));
            }
        }
    }

    /// Returns whether `viewer`, who may see `publisher`, learns of its track from `source`.
    /// A talk track is announced only to those the router sends it to now: the participant
    /// talked to and those who receive everyone. Other participants learn nothing of it.
    fn learns_of_track(
        &self,
        viewer: ClientId,
        publisher: ClientId,
        source: protocol::TrackSource,
    ) -> bool {
        !source.is_talk() || self.sfu.hears_talk(viewer, publisher)
    }

    /// Describes `joiner`, the member `publisher`, with the tracks `viewer` learns of.
    fn peer_info(&self, viewer: ClientId, publisher: ClientId, joiner: &Joiner) -> PeerInfo {
        let member = &joiner.member;
        let mut tracks: Vec<TrackInfo> = joiner
            .tracks
            .iter()
            .filter(|t| self.learns_of_track(viewer, publisher, t.source))
            .cloned()
            .collect();
        tracks.extend(self.phone_tracks(member));
        PeerInfo {
            identity: member.identity.clone(),
            name: member.name.clone(),
            role: member.role,
            tracks,
            reconnecting: joiner.presence.announced,
        }
    }
}

/// Queues a message for a session without waiting, so that one slow client cannot stall the
/// media loop.
// NOTE: a session whose queue of 256 messages is full loses the message and nothing tells
// the client; its view of the room stays stale until it rejoins.
fn deliver(client: ClientId, outbox: &mpsc::Sender<ServerMessage>, message: ServerMessage) {
    if let Err(mpsc::error::TrySendError::Full(_)) = outbox.try_send(message) {
        tracing::warn!(client = %client, "signalling queue full, message dropped");
    }
}

/// Returns whether someone in role `viewer` learns about someone in role `subject`. Participants see
/// only organisers, so that they learn nothing about each other.
fn may_see(viewer: Role, subject: Role) -> bool {
    viewer != Role::Participant || subject == Role::Organiser
}

fn recorded_publisher(member: &Member) -> Publisher {
    Publisher {
        room: member.room.clone(),
        identity: member.identity.clone(),
        name: member.name.clone(),
    }
}

/// Returns what a member may publish and receives. In a briefing everyone receives only
/// presenters: the organisers, and the participant who has the floor.
fn client_options(member: &Member, recorded: bool) -> ClientOptions {
    let room = RoomId(member.room.clone());
    if member.kind == RoomKind::Briefing {
        return ClientOptions {
            room,
            may_publish: member.role != Role::Expert,
            may_talk: false,
            presenter: member.role == Role::Organiser,
            receives: Receives::Presenters,
            recorded: recorded && member.role != Role::Expert,
        };
    }
    match member.role {
        Role::Participant => ClientOptions {
            room,
            may_publish: true,
            may_talk: false,
            presenter: false,
            receives: Receives::Presenters,
            recorded,
        },
        Role::Expert => ClientOptions {
            room,
            may_publish: false,
            may_talk: true,
            presenter: false,
            receives: Receives::Everyone,
            // An expert publishes only talk audio and video, which are recorded with the
            // participant talked to.
            recorded,
        },
        Role::Organiser => ClientOptions {
            room,
            may_publish: true,
            may_talk: true,
            presenter: true,
            receives: Receives::Everyone,
            recorded,
        },
    }
}

fn track_info(identity: &str, track: &TrackSummary) -> TrackInfo {
    TrackInfo {
        track: track.track.to_string(),
        identity: identity.to_string(),
        kind: match track.kind {
            MediaKind::Audio => protocol::MediaKind::Audio,
            MediaKind::Video => protocol::MediaKind::Video,
        },
        source: match track.source {
            TrackSource::Camera => protocol::TrackSource::Camera,
            TrackSource::Microphone => protocol::TrackSource::Microphone,
            TrackSource::Screen => protocol::TrackSource::Screen,
            TrackSource::ScreenAudio => protocol::TrackSource::ScreenAudio,
            TrackSource::Camera2 => protocol::TrackSource::Camera2,
            TrackSource::Talk => protocol::TrackSource::Talk,
            TrackSource::TalkVideo => protocol::TrackSource::TalkVideo,
        },
    }
}

/// Returns the id of a track written as in [`TrackInfo::track`], `tr-` and a number.
fn parse_track_id(text: &str) -> Option<TrackId> {
    text.strip_prefix("tr-")?.parse().ok().map(TrackId)
}

/// Waits until `deadline`, or for ever when there is none.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Builds an `error` message.
pub fn error_message(code: protocol::ErrorCode, message: &str, fatal: bool) -> ServerMessage {
    ServerMessage::Error {
        code,
        message: message.to_string(),
        fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_id_parses_only_its_own_form() {
        assert_eq!(parse_track_id("tr-5"), Some(TrackId(5)));
        assert_eq!(parse_track_id("tr-"), None);
        assert_eq!(parse_track_id("5"), None);
        assert_eq!(parse_track_id("tr--5"), None);
        assert_eq!(
            parse_track_id("tr-18446744073709551616"),
            None,
            "beyond u64"
        );
    }
}
