//! ICE over TCP: the listener behind the passive TCP candidate and its connections.
//!
//! A browser that cannot reach the UDP port opens a TCP connection to the passive candidate
//! (RFC 6544) and sends its datagrams on it, each preceded by its length as a 16-bit
//! big-endian number (RFC 4571). A reader task per connection cuts the stream into frames
//! and queues them for the media loop, which feeds each to the media core as a TCP datagram
//! from the connection's remote address. The core's TCP transmits go back through a writer
//! task per connection. Everything a connection may hold is bounded: the number of
//! connections, the frame size, the queue towards the loop and each writer's queue.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use media_core::Transmit;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Maximum number of connections open at once. Each one has at most about 100 KiB of
/// buffers and queued frames in the server, so all of them together use about 50 MiB, plus
/// the kernel's socket buffers.
// NOTE: one limit for everyone, not per remote address, because many participants of one
// company may share a NAT address. At the limit, the oldest connection that no peer has
// claimed is closed for the new one, so a flood of idle connections cannot lock browsers
// out for longer than `UNCLAIMED_TIMEOUT`.
pub(super) const MAX_CONNECTIONS: usize = 512;
/// Largest frame accepted. WebRTC datagrams stay below the path MTU, so a larger length
/// prefix means the stream is not RFC 4571 framing of WebRTC, and the connection closes.
pub(super) const MAX_FRAME_BYTES: usize = 2048;
/// Frames read from all connections and not yet taken by the media loop. A full queue
/// stops the readers, which lets TCP flow control slow the senders down.
const INBOUND_QUEUE: usize = 256;
/// Frames waiting to be written on one connection. When the browser reads too slowly,
/// further frames are dropped, as a full UDP socket buffer would drop them.
const OUTBOUND_QUEUE: usize = 64;
/// Time a new connection has to send a frame that a peer connection accepts.
const UNCLAIMED_TIMEOUT: Duration = Duration::from_secs(10);
/// Time without any frame after which a connection is closed. Browsers send an ICE consent
/// check at least every 5 seconds (RFC 7675).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a write may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed `accept`, such as one for lack of file descriptors, so that the
/// media loop does not spin on it.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An error reading an RFC 4571 frame.
#[derive(Debug, thiserror::Error)]
pub(super) enum FrameError {
    /// The length prefix exceeds [`MAX_FRAME_BYTES`].
    #[error("frame of {length} bytes exceeds the limit of {MAX_FRAME_BYTES}")]
    TooLarge {
        /// The length the prefix announced.
        length: usize,
    },
    /// The stream ended inside a frame.
    #[error("the stream ended inside a frame")]
    Truncated,
    /// Reading from the socket failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads one RFC 4571 frame. Returns `None` when the stream ends between frames.
pub(super) async fn read_frame<R>(reader: &mut R) -> Result<Option<Vec<u8>>, FrameError>
where
    R: AsyncRead + Unpin,
{
    let mut prefix = [0u8; 2];
    if reader.read(&mut prefix[..1]).await? == 0 {
        return Ok(None);
    }
    read_exact(reader, &mut prefix[1..]).await?;
    let length = usize::from(u16::from_be_bytes(prefix));
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge { length });
    }
    let mut frame = vec![0u8; length];
    read_exact(reader, &mut frame).await?;
    Ok(Some(frame))
}

async fn read_exact<R>(reader: &mut R, buffer: &mut [u8]) -> Result<(), FrameError>
where
    R: AsyncRead + Unpin,
{
    match reader.read_exact(buffer).await {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Err(FrameError::Truncated),
        Err(error) => Err(FrameError::Io(error)),
    }
}

/// Writes one datagram as an RFC 4571 frame, into a buffer the caller flushes.
pub(super) async fn write_frame<W>(writer: &mut W, datagram: &[u8]) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let length = u16::try_from(datagram.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "datagram longer than an RFC 4571 frame",
        )
    })?;
    writer.write_all(&length.to_be_bytes()).await?;
    writer.write_all(datagram).await
}

/// Identifies one accepted connection, so that a late message of a closed one is not
/// taken for a new connection from the same remote address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnectionId(u64);

/// A report of a reader task to the media loop.
pub(super) enum Inbound {
    /// A frame arrived.
    Frame {
        connection: ConnectionId,
        remote: SocketAddr,
        frame: Vec<u8>,
    },
    /// The connection ended: the browser closed it, it broke, sent a bad frame or went idle.
    Closed {
        connection: ConnectionId,
        remote: SocketAddr,
        reason: String,
    },
}

/// A TCP event that wakes the media loop.
pub(super) enum TcpWake {
    /// A browser connected.
    Accepted(TcpStream, SocketAddr),
    /// Accepting failed, so accepting pauses for [`ACCEPT_BACKOFF`].
    AcceptFailed(io::Error),
    /// A reader task reported.
    Inbound(Inbound),
}

struct Connection {
    id: ConnectionId,
    opened: Instant,
    /// Whether a peer connection has accepted a frame from it.
    claimed: bool,
    outbound: mpsc::Sender<Vec<u8>>,
    reader: AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The writer task ends when `outbound` is dropped with this.
        self.reader.abort();
    }
}

/// The TCP listener and every open connection, by remote address.
pub(super) struct TcpMedia {
    listener: TcpListener,
    connections: HashMap<SocketAddr, Connection>,
    inbound_sender: mpsc::Sender<Inbound>,
    inbound: mpsc::Receiver<Inbound>,
    next_id: u64,
    accept_paused_until: Option<tokio::time::Instant>,
    /// Frames dropped because a connection's outbound queue was full, since the last log.
    dropped: u64,
}

impl TcpMedia {
    /// Binds the listener, outside any runtime, for [`Self::new`].
    pub(super) fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        use socket2::{Domain, Socket, Type};

        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        // As tokio's own bind does, so that a restarted server gets its port back at once.
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        Ok(socket.into())
    }

    /// Serves a listener from [`Self::bind`] on the current runtime.
    pub(super) fn new(listener: std::net::TcpListener) -> io::Result<Self> {
        let listener = TcpListener::from_std(listener)?;
        let (inbound_sender, inbound) = mpsc::channel(INBOUND_QUEUE);
        Ok(Self {
            listener,
            connections: HashMap::new(),
            inbound_sender,
            inbound,
            next_id: 1,
            accept_paused_until: None,
            dropped: 0,
        })
    }

    /// Number of open connections.
    pub(super) fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Waits for a new connection or a frame. Cancel-safe, as `select!` requires.
    pub(super) async fn next(&mut self) -> TcpWake {
        if let Some(until) = self.accept_paused_until {
            if tokio::time::Instant::now() >= until {
                self.accept_paused_until = None;
            }
        }
        let paused = self.accept_paused_until;
        let listener = &self.listener;
        let accept = async move {
            if let Some(until) = paused {
                tokio::time::sleep_until(until).await;
            }
            listener.accept().await
        };
        let wake = tokio::select! {
            accepted = accept => match accepted {
                Ok((stream, remote)) => TcpWake::Accepted(stream, remote),
                Err(error) => TcpWake::AcceptFailed(error),
            },
            inbound = self.inbound.recv() => {
                // The struct keeps a sender, so the channel never closes.
                TcpWake::Inbound(inbound.expect("TcpMedia holds an inbound sender"))
            }
        };
        if let TcpWake::AcceptFailed(_) = &wake {
            self.accept_paused_until = Some(tokio::time::Instant::now() + ACCEPT_BACKOFF);
        }
        wake
    }

    /// Starts serving an accepted connection, unless the limit is reached and no unclaimed
    /// connection can make room.
    pub(super) fn open(&mut self, stream: TcpStream, remote: SocketAddr, now: Instant) {
        if self.connections.len() >= MAX_CONNECTIONS && !self.evict_oldest_unclaimed() {
            tracing::warn!(
                limit = MAX_CONNECTIONS,
                "TCP media connection rejected: too many open connections"
            );
            return;
        }
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(error = %error, "setting TCP_NODELAY failed");
        }
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        let (read_half, write_half) = stream.into_split();
        let (outbound, queue) = mpsc::channel(OUTBOUND_QUEUE);
        let sender = self.inbound_sender.clone();
        let reader = tokio::spawn(read_frames(read_half, id, remote, sender)).abort_handle();
        tokio::spawn(write_frames(write_half, queue));
        let connection = Connection {
            id,
            opened: now,
            claimed: false,
            outbound,
            reader,
        };
        tracing::debug!(connection = id.0, "TCP media connection opened");
        self.connections.insert(remote, connection);
    }

    /// Closes the oldest connection that no peer has claimed. Returns false when every
    /// connection is claimed.
    fn evict_oldest_unclaimed(&mut self) -> bool {
        let oldest = self
            .connections
            .iter()
            .filter(|(_, c)| !c.claimed)
            .min_by_key(|(_, c)| c.opened)
            .map(|(remote, _)| *remote);
        let Some(remote) = oldest else {
            return false;
        };
        if let Some(connection) = self.connections.remove(&remote) {
            tracing::debug!(
                connection = connection.id.0,
                "TCP media connection closed to make room"
            );
        }
        true
    }

    /// Hands a frame to `receive`, which returns whether a peer connection claims it, or
    /// removes a closed connection.
    pub(super) fn handle(
        &mut self,
        inbound: Inbound,
        receive: impl FnOnce(SocketAddr, &[u8]) -> bool,
    ) {
        match inbound {
            Inbound::Frame {
                connection,
                remote,
                frame,
            } => {
                let Some(open) = self.connections.get_mut(&remote) else {
                    return;
                };
                if open.id != connection || frame.is_empty() {
                    return;
                }
                if receive(remote, &frame) {
                    open.claimed = true;
                }
            }
            Inbound::Closed {
                connection,
                remote,
                reason,
            } => {
                if self
                    .connections
                    .get(&remote)
                    .is_some_and(|c| c.id == connection)
                {
                    self.connections.remove(&remote);
                    tracing::debug!(
                        connection = connection.0,
                        reason,
                        "TCP media connection closed"
                    );
                }
            }
        }
    }

    /// Queues a TCP transmit of the media core on the connection to its destination. Without
    /// such a connection, or when its queue is full, the datagram is dropped.
    pub(super) fn send(&mut self, transmit: Transmit) {
        let Some(connection) = self.connections.get(&transmit.destination) else {
            return;
        };
        match connection.outbound.try_send(transmit.contents.into()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::debug!(
                        dropped = self.dropped,
                        "TCP media frames dropped: a browser reads too slowly"
                    );
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The writer gave up on the connection.
                self.connections.remove(&transmit.destination);
            }
        }
    }

    /// Returns when the oldest unclaimed connection times out.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.connections
            .values()
            .filter(|c| !c.claimed)
            .map(|c| c.opened + UNCLAIMED_TIMEOUT)
            .min()
    }

    /// Closes every connection that no peer claimed within [`UNCLAIMED_TIMEOUT`].
    pub(super) fn close_unclaimed(&mut self, now: Instant) {
        self.connections.retain(|_, c| {
            let keep = c.claimed || c.opened + UNCLAIMED_TIMEOUT > now;
            if !keep {
                tracing::debug!(
                    connection = c.id.0,
                    "TCP media connection closed: no peer claimed it"
                );
            }
            keep
        });
    }
}

/// Reads frames until the connection ends, fails or stays silent for [`IDLE_TIMEOUT`].
async fn read_frames(
    read_half: OwnedReadHalf,
    connection: ConnectionId,
    remote: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut reader = BufReader::with_capacity(MAX_FRAME_BYTES + 2, read_half);
    let reason = loop {
        match tokio::time::timeout(IDLE_TIMEOUT, read_frame(&mut reader)).await {
            Ok(Ok(Some(frame))) => {
                let message = Inbound::Frame {
                    connection,
                    remote,
                    frame,
                };
                if inbound.send(message).await.is_err() {
                    return;
                }
            }
            Ok(Ok(None)) => break "closed by the remote end".to_string(),
            Ok(Err(error)) => break error.to_string(),
            Err(_) => break "idle".to_string(),
        }
    };
    let message = Inbound::Closed {
        connection,
        remote,
        reason,
    };
    let _ = inbound.send(message).await;
}

/// Writes queued datagrams as frames, flushing whenever the queue runs empty, until the
/// queue closes or a write fails or takes longer than [`WRITE_TIMEOUT`].
async fn write_frames(write_half: OwnedWriteHalf, mut queue: mpsc::Receiver<Vec<u8>>) {
    let mut writer = BufWriter::with_capacity(16 * 1024, write_half);
    while let Some(first) = queue.recv().await {
        let batch = async {
            write_frame(&mut writer, &first).await?;
            while let Ok(datagram) = queue.try_recv() {
                write_frame(&mut writer, &datagram).await?;
            }
            writer.flush().await
        };
        match tokio::time::timeout(WRITE_TIMEOUT, batch).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "TCP media write failed");
                return;
            }
            Err(_) => {
                tracing::debug!("TCP media write timed out");
                return;
            }
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames_of(mut input: &[u8]) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut frames = Vec::new();
        loop {
            match read_frame(&mut input).await {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => return (frames, None),
                Err(error) => return (frames, Some(error)),
            }
        }
    }

    #[tokio::test]
    async fn frames_split_at_length_prefixes() {
        let input = [0, 3, b'a', b'b', b'c', 0, 0, 0, 1, b'd'];
        let (frames, error) = frames_of(&input).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames, vec![b"abc".to_vec(), Vec::new(), b"d".to_vec()]);
    }

    #[tokio::test]
    async fn written_frames_read_back() {
        let mut stream = Vec::new();
        let datagrams = [vec![1u8; 1200], vec![2u8; 1], vec![3u8; MAX_FRAME_BYTES]];
        for datagram in &datagrams {
            write_frame(&mut stream, datagram).await.unwrap();
        }
        let (frames, error) = frames_of(&stream).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames, datagrams.to_vec());
    }

    #[tokio::test]
    async fn oversized_frame_rejected() {
        let length = u16::try_from(MAX_FRAME_BYTES + 1).unwrap();
        let mut input = length.to_be_bytes().to_vec();
        input.extend(vec![0u8; MAX_FRAME_BYTES + 1]);
        let (frames, error) = frames_of(&input).await;
        assert!(frames.is_empty());
        assert!(
            matches!(error, Some(FrameError::TooLarge { length: 2049 })),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn truncated_frames_rejected() {
        let cases: [&[u8]; 3] = [&[0], &[0, 5, 1, 2], &[0, 1, 9, 0]];
        for input in cases {
            let (_, error) = frames_of(input).await;
            assert!(
                matches!(error, Some(FrameError::Truncated)),
                "{input:?}: {error:?}"
            );
        }
    }

    #[tokio::test]
    async fn too_long_datagram_not_written() {
        let mut stream = Vec::new();
        let result = write_frame(&mut stream, &vec![0u8; 70_000]).await;
        assert!(result.is_err());
        assert!(stream.is_empty());
    }
}
