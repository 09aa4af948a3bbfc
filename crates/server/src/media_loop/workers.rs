//! Rooms spread over several media workers, each with its own thread, router and socket.
//!
//! Every worker binds the same UDP address and port with `SO_REUSEPORT`, so the kernel
//! spreads incoming datagrams over the workers' sockets by a hash of the remote address. A
//! datagram may therefore land on a worker whose router does not know its sender. The
//! workers share a map from remote address to the worker whose router accepted datagrams
//! from it, and hand a datagram from a known address to that worker. A datagram from an
//! unknown address, such as the first STUN request of a new connection, is offered to each
//! worker in turn until a router accepts it. Each worker sends from its own socket, whose
//! source address and port are those of every other worker.
//!
//! ICE over TCP stays with the first worker, which accepts every connection and reads and
//! writes its frames. Frames go to the worker that owns their remote address as datagrams
//! do, and that worker's TCP transmits come back to the first worker.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use media_core::{Protocol, Transmit};
use tokio::sync::mpsc;

use super::MediaLoop;

/// Most workers [`worker_count`] picks by itself.
pub(super) const MAX_WORKERS: usize = 16;
/// Hand-offs queued for one worker. A full queue drops the datagram, as a full socket
/// buffer would.
pub(super) const HANDOFF_CAPACITY: usize = 4096;
/// Time after which a remote address that sent nothing is forgotten. Browsers send an ICE
/// consent check at least every 5 seconds (RFC 7675), so a live connection never gets there.
const ADDRESS_IDLE: Duration = Duration::from_secs(60);

/// Returns the number of workers: `configured`, or with 0 the number of cores this process
/// may run on, at most [`MAX_WORKERS`].
pub fn worker_count(configured: usize) -> usize {
    if configured > 0 {
        return configured;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_WORKERS)
}

/// Returns the first identifier and the step of the router of worker `index` of `count`,
/// so that each identifier names the worker that handed it out ([`owner_of_id`]).
pub(super) fn id_space(index: usize, count: usize) -> (u64, u64) {
    (index as u64 + 1, count as u64)
}

/// Returns the worker whose router handed out the client, peer or track number `id`.
pub(super) fn owner_of_id(id: u64, count: usize) -> usize {
    (id.saturating_sub(1) % count as u64) as usize
}

/// Work one worker hands to another.
pub(super) enum Handoff {
    /// A datagram, or a frame of a TCP connection, from `source`. `tries` is the number of
    /// further workers to offer it to when this one's router does not accept it.
    Datagram {
        protocol: Protocol,
        source: SocketAddr,
        contents: Vec<u8>,
        tries: usize,
    },
    /// A TCP transmit for the first worker, which owns the connections.
    TcpTransmit(Transmit),
}

/// The workers' shared map from remote address to the worker that serves it.
#[derive(Default)]
pub(super) struct Routes {
    owners: RwLock<HashMap<(Protocol, SocketAddr), usize>>,
}

impl Routes {
    fn owner(&self, key: &(Protocol, SocketAddr)) -> Option<usize> {
        let owners = self.owners.read().unwrap_or_else(PoisonError::into_inner);
        owners.get(key).copied()
    }

    fn set(&self, key: (Protocol, SocketAddr), worker: usize) {
        let mut owners = self.owners.write().unwrap_or_else(PoisonError::into_inner);
        owners.insert(key, worker);
    }

    /// Forgets the addresses that `worker` owns and `forget` names.
    fn forget(&self, worker: usize, forget: &[(Protocol, SocketAddr)]) {
        let mut owners = self.owners.write().unwrap_or_else(PoisonError::into_inner);
        for key in forget {
            if owners.get(key) == Some(&worker) {
                owners.remove(key);
            }
        }
    }
}

/// One worker's place among the others.
pub(super) struct Crew {
    /// This worker's number. Worker 0 owns the TCP listener.
    pub(super) index: usize,
    pub(super) routes: Arc<Routes>,
    /// Every worker's hand-off queue, this one's included, by number.
    pub(super) queues: Arc<[mpsc::Sender<Handoff>]>,
    /// When each address this worker owns last sent something.
    pub(super) owned: HashMap<(Protocol, SocketAddr), Instant>,
}

impl Crew {
    pub(super) fn new(
        index: usize,
        routes: Arc<Routes>,
        queues: Arc<[mpsc::Sender<Handoff>]>,
    ) -> Self {
        Self {
            index,
            routes,
            queues,
            owned: HashMap::new(),
        }
    }

    fn size(&self) -> usize {
        self.queues.len()
    }

    fn hand(&self, worker: usize, handoff: Handoff) {
        if self.queues[worker].try_send(handoff).is_err() {
            tracing::debug!(worker, "hand-off queue full, datagram dropped");
        }
    }
}

/// The worker of each room. A room goes to the worker that serves the fewest rooms when it
/// is first used, and stays there.
// NOTE: a room keeps its worker after everyone left, so the map grows by one short entry
// per room name ever used.
pub(super) struct Placement {
    rooms: Mutex<(HashMap<String, usize>, Vec<usize>)>,
}

impl Placement {
    pub(super) fn new(workers: usize) -> Self {
        Self {
            rooms: Mutex::new((HashMap::new(), vec![0; workers])),
        }
    }

    /// Returns the worker of `room`, placing the room when it is new.
    pub(super) fn place(&self, room: &str) -> usize {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let (placed, counts) = &mut *rooms;
        if let Some(worker) = placed.get(room) {
            return *worker;
        }
        let worker = (0..counts.len()).min_by_key(|w| counts[*w]).unwrap_or(0);
        counts[worker] += 1;
        placed.insert(room.to_owned(), worker);
        worker
    }

    /// Returns the worker of `room`, or `None` when the room was never used.
    pub(super) fn find(&self, room: &str) -> Option<usize> {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        rooms.0.get(room).copied()
    }
}

impl MediaLoop {
    /// Feeds a datagram or TCP frame that arrived at this worker to the worker that serves
    /// its sender. Returns whether a worker is known to serve it.
    pub(super) fn receive(
        &mut self,
        now: Instant,
        protocol: Protocol,
        source: SocketAddr,
        contents: &[u8],
    ) -> bool {
        let workers = self.crew.size();
        if workers == 1 {
            return self.sfu.handle_receive(now, protocol, source, contents);
        }
        match self.crew.routes.owner(&(protocol, source)) {
            Some(owner) if owner != self.crew.index => {
                self.hand_datagram(owner, protocol, source, contents, workers - 1);
                true
            }
            owner => self.try_receive(now, protocol, source, contents, workers - 1, owner),
        }
    }

    /// Offers a datagram to this worker's router, and when it does not accept it, to the
    /// next worker while `tries` last. `known` is the owner the shared map names.
    fn try_receive(
        &mut self,
        now: Instant,
        protocol: Protocol,
        source: SocketAddr,
        contents: &[u8],
        tries: usize,
        known: Option<usize>,
    ) -> bool {
        let key = (protocol, source);
        if self.sfu.handle_receive(now, protocol, source, contents) {
            self.crew.owned.insert(key, now);
            if known != Some(self.crew.index) {
                self.crew.routes.set(key, self.crew.index);
            }
            return true;
        }
        if tries > 0 {
            let next = (self.crew.index + 1) % self.crew.size();
            self.hand_datagram(next, protocol, source, contents, tries - 1);
        }
        false
    }

    /// Hands a copy of a datagram to `worker`, which may offer it to `tries` more workers.
    fn hand_datagram(
        &self,
        worker: usize,
        protocol: Protocol,
        source: SocketAddr,
        contents: &[u8],
        tries: usize,
    ) {
        let handoff = Handoff::Datagram {
            protocol,
            source,
            contents: contents.to_vec(),
            tries,
        };
        self.crew.hand(worker, handoff);
    }

    /// Takes work another worker handed over.
    pub(super) fn take_handoff(&mut self, handoff: Handoff) {
        match handoff {
            Handoff::Datagram {
                protocol,
                source,
                contents,
                tries,
            } => {
                let known = self.crew.routes.owner(&(protocol, source));
                self.try_receive(Instant::now(), protocol, source, &contents, tries, known);
            }
            Handoff::TcpTransmit(transmit) => {
                if let Some(tcp) = &mut self.tcp {
                    tcp.send(transmit);
                }
            }
        }
    }

    /// Sends a TCP transmit through the first worker, which owns the connections.
    pub(super) fn send_tcp(&mut self, transmit: Transmit) {
        match &mut self.tcp {
            Some(tcp) => tcp.send(transmit),
            None if self.crew.index != 0 => self.crew.hand(0, Handoff::TcpTransmit(transmit)),
            None => {}
        }
    }

    /// Forgets the addresses this worker owns that sent nothing for [`ADDRESS_IDLE`].
    pub(super) fn forget_idle_addresses(&mut self, now: Instant) {
        if self.crew.size() == 1 {
            return;
        }
        let idle: Vec<_> = self
            .crew
            .owned
            .iter()
            .filter(|(_, seen)| now.duration_since(**seen) >= ADDRESS_IDLE)
            .map(|(key, _)| *key)
            .collect();
        if idle.is_empty() {
            return;
        }
        for key in &idle {
            self.crew.owned.remove(key);
        }
        self.crew.routes.forget(self.crew.index, &idle);
    }
}
