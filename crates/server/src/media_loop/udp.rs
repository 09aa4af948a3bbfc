//! Batched sending on the media socket.
//!
//! The router emits one datagram per subscriber for each forwarded packet. [`SendQueue`]
//! collects them and hands the kernel up to [`BATCH`] at a time with `sendmmsg(2)`, one
//! system call where `sendto(2)` took one per datagram. Datagrams to one destination leave
//! in the order they were queued.
//!
//! When the media loop took several incoming packets before sending, the queue contains runs
//! of datagrams to one subscriber, such as the packets of one video frame. The queue then
//! brings each destination's datagrams together, and a run of equal size leaves in one
//! `sendmsg(2)` with UDP generic segmentation offload (GSO). That is the `UDP_SEGMENT`
//! control message of Linux 4.18 and later, and the kernel splits the run into datagrams
//! further down.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::SocketAddr;

use rustix::io::Errno;
use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
use socket2::{MsgHdr, SockAddr, SockRef};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Most datagrams handed to one `sendmmsg` call. Linux takes up to 1024 (`UIO_MAXIOV`);
/// 64 datagrams of 1200 bytes are 77 KB, well inside the media socket's send buffer.
pub const BATCH: usize = 64;

/// Maximum number of segments in one GSO send: `UDP_MAX_SEGMENTS` of Linux 4.18.
const MAX_SEGMENTS: usize = 64;
/// Maximum bytes in one GSO send: the largest UDP payload over IPv4.
const MAX_SEGMENTED_BYTES: usize = 65_507;
/// `SOL_UDP` and `UDP_SEGMENT` from Linux's `<linux/udp.h>`.
const SOL_UDP: i32 = 17;
const UDP_SEGMENT: i32 = 103;

/// One datagram waiting to be sent.
pub struct Datagram {
    /// The datagram's destination.
    pub destination: SocketAddr,
    /// The UDP payload.
    pub contents: Vec<u8>,
}

/// A socket that sends several datagrams in one call.
pub trait BatchSend {
    /// Sends datagrams from the start of `batch`, in order, and returns how many the kernel
    /// took. An error concerns the first datagram of `batch`, because `sendmmsg` reports
    /// the error of a later datagram only on the next call.
    fn send_batch(&mut self, batch: &[Datagram]) -> io::Result<usize>;

    /// Sends `run`, datagrams to one destination of which all but the last have the size of
    /// the first and the last is no larger, in one call with UDP segmentation offload.
    fn send_segments(&mut self, run: &[Datagram]) -> io::Result<()>;
}

/// Datagrams waiting for the media socket, oldest first.
pub struct SendQueue {
    queued: VecDeque<Datagram>,
    /// Datagrams dropped because the kernel rejected them.
    dropped: u64,
    /// False once the kernel rejected a send with segmentation offload as unsupported,
    /// after which runs leave as single datagrams.
    segmenting: bool,
}

impl Default for SendQueue {
    fn default() -> Self {
        Self {
            queued: VecDeque::new(),
            dropped: 0,
            segmenting: true,
        }
    }
}

impl SendQueue {
    /// Queues a datagram behind those already queued.
    pub fn push(&mut self, destination: SocketAddr, contents: Vec<u8>) {
        self.queued.push_back(Datagram {
            destination,
            contents,
        });
    }

    /// Puts the datagrams to each destination next to each other, keeping their order, so
    /// that runs to one destination can leave in one send with segmentation offload.
    pub fn group_by_destination(&mut self) {
        self.queued
            .make_contiguous()
            .sort_by_key(|datagram| datagram.destination);
    }

    /// Returns the number of datagrams waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    /// Returns the number of datagrams dropped so far because the kernel rejected them.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Sends every queued datagram on `socket`, waiting whenever its send buffer is full.
    /// A datagram the kernel rejects, such as one larger than the path allows, is logged
    /// and dropped, and the rest are still sent.
    pub async fn send_all(&mut self, socket: &UdpSocket) {
        while !self.queued.is_empty() {
            let mut sender = SocketSender(socket);
            let sent = socket.try_io(Interest::WRITABLE, || self.send_batch(&mut sender));
            let Err(error) = sent else {
                continue;
            };
            debug_assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
            if let Err(error) = socket.writable().await {
                // Tokio fails this only while its runtime shuts down.
                tracing::warn!(error = %error, queued = self.queued.len(), "media socket unusable, datagrams dropped");
                self.dropped += self.queued.len() as u64;
                self.queued.clear();
                return;
            }
        }
    }

    /// Makes one attempt to send up to [`BATCH`] datagrams from the front of the queue and
    /// removes those sent. Returns an error only for [`io::ErrorKind::WouldBlock`], and
    /// then leaves the queue as it was. Any other error drops the datagram it concerns.
    pub fn send_batch(&mut self, sender: &mut impl BatchSend) -> io::Result<()> {
        let waiting = self.queued.make_contiguous();
        let mut offered = waiting.len().min(BATCH);
        if offered == 0 {
            return Ok(());
        }
        let run = if self.segmenting {
            segment_run(waiting)
        } else {
            1
        };
        if run > 1 {
            match sender.send_segments(&waiting[..run]) {
                Ok(()) => {
                    self.queued.drain(..run);
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Err(error),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
                Err(error) => {
                    if offload_unsupported(&error) {
                        self.segmenting = false;
                    }
                    // The run leaves as single datagrams, so that only those the kernel
                    // rejects are dropped.
                    offered = run;
                }
            }
        } else if self.segmenting {
            // Datagrams before the next run leave with `sendmmsg`, the run on the next call.
            offered = (1..offered)
                .find(|index| segment_run(&waiting[*index..]) > 1)
                .unwrap_or(offered);
        }
        match sender.send_batch(&waiting[..offered]) {
            Ok(0) => {
                let error = io::Error::new(io::ErrorKind::WriteZero, "sendmmsg sent nothing");
                self.drop_first(&error);
            }
            Ok(sent) => {
                self.queued.drain(..sent.min(offered));
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Err(error),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => self.drop_first(&error),
        }
        Ok(())
    }

    fn drop_first(&mut self, error: &io::Error) {
        if let Some(datagram) = self.queued.pop_front() {
            self.dropped += 1;
            tracing::debug!(
                error = %error,
                bytes = datagram.contents.len(),
                dropped = self.dropped,
                "UDP send failed, datagram dropped"
            );
        }
    }
}

/// The media socket as a [`BatchSend`], through `sendmmsg(2)`.
struct SocketSender<'a>(&'a UdpSocket);

impl BatchSend for SocketSender<'_> {
    fn send_batch(&mut self, batch: &[Datagram]) -> io::Result<usize> {
        let addresses: Vec<SocketAddrAny> = batch
            .iter()
            .map(|d| SocketAddrAny::from(d.destination))
            .collect();
        let slices: Vec<[IoSlice<'_>; 1]> =
            batch.iter().map(|d| [IoSlice::new(&d.contents)]).collect();
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = batch
            .iter()
            .map(|_| SendAncillaryBuffer::default())
            .collect();
        let mut messages: Vec<MMsgHdr<'_>> = addresses
            .iter()
            .zip(&slices)
            .zip(controls.iter_mut())
            .map(|((address, slice), control)| MMsgHdr::new_with_addr(address, slice, control))
            .collect();
        Ok(sendmmsg(self.0, &mut messages, SendFlags::empty())?)
    }

    fn send_segments(&mut self, run: &[Datagram]) -> io::Result<()> {
        let size = run.first().map_or(0, |first| first.contents.len());
        let size = u16::try_from(size).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let destination = SockAddr::from(run[0].destination);
        let slices: Vec<IoSlice<'_>> = run.iter().map(|d| IoSlice::new(&d.contents)).collect();
        let control = segment_control(size);
        let message = MsgHdr::new()
            .with_addr(&destination)
            .with_buffers(&slices)
            .with_control(&control);
        SockRef::from(self.0).sendmsg(&message, 0)?;
        Ok(())
    }
}

/// Logs `error` of a segmented send and returns whether it means that the kernel or the
/// network device does not support segmentation offload. Other errors concern the
/// destination.
fn offload_unsupported(error: &io::Error) -> bool {
    let unsupported = [Errno::IO, Errno::INVAL, Errno::NOPROTOOPT, Errno::OPNOTSUPP]
        .iter()
        .any(|code| error.raw_os_error() == Some(code.raw_os_error()));
    if unsupported {
        tracing::info!(error = %error, "UDP segmentation offload failed, sending single datagrams from now on");
    } else {
        tracing::debug!(error = %error, "segmented UDP send failed, sending the run as single datagrams");
    }
    unsupported
}

/// Returns how many datagrams from the start of `waiting` can leave in one send with
/// segmentation offload: those to the first one's destination with its size, and one
/// smaller one after them, within the kernel's limits. Returns 1 when no run starts there.
fn segment_run(waiting: &[Datagram]) -> usize {
    let Some(first) = waiting.first() else {
        return 0;
    };
    let size = first.contents.len();
    let mut run = 1;
    for datagram in &waiting[1..] {
        let fits = datagram.destination == first.destination
            && datagram.contents.len() <= size
            && run < MAX_SEGMENTS
            && (run + 1) * size <= MAX_SEGMENTED_BYTES;
        if !fits || size == 0 {
            break;
        }
        run += 1;
        if datagram.contents.len() < size {
            break;
        }
    }
    run
}

/// Builds the `UDP_SEGMENT` control message for segments of `size` bytes, in the layout of
/// Linux's `CMSG_SPACE`. A `cmsghdr` (length as a `size_t`, level and type as `int`) comes
/// first, then the size as a `u16`, and each part is padded to the alignment of `size_t`.
fn segment_control(size: u16) -> Vec<u8> {
    let word = std::mem::size_of::<usize>();
    let header = (word + 8).next_multiple_of(word);
    let mut control = vec![0; header + 2usize.next_multiple_of(word)];
    control[..word].copy_from_slice(&(header + 2).to_ne_bytes());
    control[word..word + 4].copy_from_slice(&SOL_UDP.to_ne_bytes());
    control[word + 4..word + 8].copy_from_slice(&UDP_SEGMENT.to_ne_bytes());
    control[header..header + 2].copy_from_slice(&size.to_ne_bytes());
    control
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes scripted results and records the destinations' ports of what it sent.
    struct Scripted {
        results: VecDeque<io::Result<usize>>,
        offered: Vec<usize>,
        sent: Vec<u16>,
        /// Results of segmented sends, `Ok` when none is left.
        segment_results: VecDeque<io::Result<()>>,
        /// The length of each run sent with segmentation offload.
        runs: Vec<usize>,
    }

    impl Scripted {
        fn new(results: Vec<io::Result<usize>>) -> Self {
            Self {
                results: results.into(),
                offered: Vec::new(),
                sent: Vec::new(),
                segment_results: VecDeque::new(),
                runs: Vec::new(),
            }
        }
    }

    impl BatchSend for Scripted {
        fn send_batch(&mut self, batch: &[Datagram]) -> io::Result<usize> {
            self.offered.push(batch.len());
            let result = self.results.pop_front().unwrap_or(Ok(batch.len()));
            if let Ok(count) = result {
                let count = count.min(batch.len());
                self.sent
                    .extend(batch[..count].iter().map(|d| d.destination.port()));
            }
            result
        }

        fn send_segments(&mut self, run: &[Datagram]) -> io::Result<()> {
            let result = self.segment_results.pop_front().unwrap_or(Ok(()));
            if result.is_ok() {
                self.runs.push(run.len());
                self.sent.extend(run.iter().map(|d| d.destination.port()));
            }
            result
        }
    }

    fn queue_of(count: u16) -> SendQueue {
        let mut queue = SendQueue::default();
        for port in 1..=count {
            queue.push(SocketAddr::from(([127, 0, 0, 1], port)), vec![0; 100]);
        }
        queue
    }

    fn drain(queue: &mut SendQueue, sender: &mut Scripted) {
        for _ in 0..1000 {
            if queue.len() == 0 {
                return;
            }
            queue.send_batch(sender).expect("no scripted WouldBlock");
        }
        panic!("the queue did not drain");
    }

    fn errno(code: rustix::io::Errno) -> io::Result<usize> {
        Err(io::Error::from(code))
    }

    #[test]
    fn partial_send_resumes_in_order() {
        let mut queue = queue_of(10);
        let mut sender = Scripted::new(vec![Ok(3), Ok(1), Ok(4)]);
        drain(&mut queue, &mut sender);

        assert_eq!(sender.sent, (1..=10).collect::<Vec<u16>>());
        assert_eq!(sender.offered, vec![10, 7, 6, 2]);
        assert_eq!(queue.dropped(), 0);
    }

    #[test]
    fn batch_holds_at_most_batch_datagrams() {
        let mut queue = queue_of(150);
        let mut sender = Scripted::new(Vec::new());
        drain(&mut queue, &mut sender);

        assert_eq!(sender.offered, vec![BATCH, BATCH, 150 - 2 * BATCH]);
        assert_eq!(sender.sent, (1..=150).collect::<Vec<u16>>());
    }

    #[test]
    fn rejected_datagram_is_dropped_alone() {
        let mut queue = queue_of(5);
        let mut sender = Scripted::new(vec![Ok(2), errno(rustix::io::Errno::MSGSIZE)]);
        drain(&mut queue, &mut sender);

        assert_eq!(sender.sent, vec![1, 2, 4, 5]);
        assert_eq!(queue.dropped(), 1);
    }

    #[test]
    fn would_block_keeps_queue() {
        let mut queue = queue_of(4);
        let mut sender = Scripted::new(vec![errno(rustix::io::Errno::AGAIN)]);

        let error = queue.send_batch(&mut sender).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(queue.len(), 4);
        assert_eq!(queue.dropped(), 0);

        drain(&mut queue, &mut sender);
        assert_eq!(sender.sent, vec![1, 2, 3, 4]);
    }

    #[test]
    fn interrupted_send_is_retried() {
        let mut queue = queue_of(3);
        let mut sender = Scripted::new(vec![errno(rustix::io::Errno::INTR)]);
        drain(&mut queue, &mut sender);

        assert_eq!(sender.sent, vec![1, 2, 3]);
        assert_eq!(queue.dropped(), 0);
    }

    #[test]
    fn zero_sent_drops_one() {
        let mut queue = queue_of(3);
        let mut sender = Scripted::new(vec![Ok(0)]);
        drain(&mut queue, &mut sender);

        assert_eq!(sender.sent, vec![2, 3]);
        assert_eq!(queue.dropped(), 1);
    }

    /// Returns a sender whose first segmented send fails with `code`.
    fn failing_segments(code: Errno) -> Scripted {
        let mut sender = Scripted::new(Vec::new());
        sender.segment_results.push_back(Err(io::Error::from(code)));
        sender
    }

    fn to_port(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn grouping_keeps_order_per_destination() {
        let mut queue = SendQueue::default();
        for (port, tag) in [(2, 1), (1, 2), (2, 3), (1, 4), (2, 5)] {
            queue.push(to_port(port), vec![tag]);
        }
        queue.group_by_destination();

        let order: Vec<(u16, u8)> = queue
            .queued
            .iter()
            .map(|d| (d.destination.port(), d.contents[0]))
            .collect();
        assert_eq!(order, vec![(1, 2), (1, 4), (2, 1), (2, 3), (2, 5)]);
    }

    #[test]
    fn equal_sizes_to_one_destination_leave_as_segments() {
        let mut queue = SendQueue::default();
        queue.push(to_port(1), vec![0; 50]);
        for size in [1000, 1000, 1000, 400] {
            queue.push(to_port(2), vec![0; size]);
        }
        queue.push(to_port(2), vec![0; 1000]);
        queue.push(to_port(3), vec![0; 900]);
        queue.push(to_port(3), vec![0; 1000]);
        let mut sender = Scripted::new(Vec::new());
        drain(&mut queue, &mut sender);

        assert_eq!(sender.runs, vec![4]);
        assert_eq!(sender.offered, vec![1, 3]);
        assert_eq!(sender.sent, vec![1, 2, 2, 2, 2, 2, 3, 3]);
    }

    #[test]
    fn runs_stop_at_kernel_limits() {
        let mut queue = SendQueue::default();
        for _ in 0..100 {
            queue.push(to_port(1), vec![0; 100]);
        }
        for _ in 0..60 {
            queue.push(to_port(2), vec![0; 1200]);
        }
        let mut sender = Scripted::new(Vec::new());
        drain(&mut queue, &mut sender);

        assert_eq!(sender.runs, vec![MAX_SEGMENTS, 100 - MAX_SEGMENTS, 54, 6]);
    }

    #[test]
    fn unsupported_segmentation_falls_back() {
        let mut queue = SendQueue::default();
        for _ in 0..3 {
            queue.push(to_port(1), vec![0; 100]);
        }
        queue.push(to_port(2), vec![0; 100]);
        queue.push(to_port(2), vec![0; 100]);
        let mut sender = failing_segments(Errno::IO);
        drain(&mut queue, &mut sender);

        assert!(!queue.segmenting);
        assert!(sender.runs.is_empty());
        assert_eq!(sender.offered, vec![3, 2]);
        assert_eq!(sender.sent, vec![1, 1, 1, 2, 2]);
        assert_eq!(queue.dropped(), 0);
    }

    #[test]
    fn destination_error_keeps_segmentation_on() {
        let mut queue = SendQueue::default();
        queue.push(to_port(1), vec![0; 100]);
        queue.push(to_port(1), vec![0; 100]);
        queue.push(to_port(2), vec![0; 100]);
        queue.push(to_port(2), vec![0; 100]);
        let mut sender = failing_segments(Errno::NETUNREACH);
        drain(&mut queue, &mut sender);

        assert!(queue.segmenting);
        assert_eq!(sender.offered, vec![2]);
        assert_eq!(sender.runs, vec![2]);
        assert_eq!(sender.sent, vec![1, 1, 2, 2]);
    }

    #[test]
    fn segmented_send_that_would_block_keeps_queue() {
        let mut queue = SendQueue::default();
        queue.push(to_port(1), vec![0; 100]);
        queue.push(to_port(1), vec![0; 100]);
        let mut sender = failing_segments(Errno::AGAIN);

        let error = queue.send_batch(&mut sender).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(queue.len(), 2);

        drain(&mut queue, &mut sender);
        assert_eq!(sender.runs, vec![2]);
    }

    /// Binds a receiving socket with room in its buffer for every datagram a test sends.
    fn receiver() -> std::net::UdpSocket {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        socket2::SockRef::from(&socket)
            .set_recv_buffer_size(1 << 20)
            .unwrap();
        socket
    }

    fn receive_all(socket: &std::net::UdpSocket, count: usize) -> Vec<Vec<u8>> {
        let mut buffer = vec![0u8; 2048];
        (0..count)
            .map(|_| {
                let length = socket.recv(&mut buffer).expect("datagram expected");
                buffer[..length].to_vec()
            })
            .collect()
    }

    async fn bound_sender() -> UdpSocket {
        UdpSocket::bind("127.0.0.1:0").await.unwrap()
    }

    #[tokio::test]
    async fn socket_delivers_each_datagram_in_order() {
        let (first, second) = (receiver(), receiver());
        let mut queue = SendQueue::default();
        for index in 0..200u16 {
            let target = if index % 3 == 0 { &first } else { &second };
            // Small datagrams, so that a default receive buffer of 208 KiB has room for all
            // 133 where `net.core.rmem_max` caps the larger buffer asked for.
            let contents = [index.to_be_bytes().as_slice(), &[7; 62]].concat();
            queue.push(target.local_addr().unwrap(), contents);
        }
        queue.send_all(&bound_sender().await).await;

        let at_first = receive_all(&first, 67);
        let at_second = receive_all(&second, 133);
        let index = |d: &Vec<u8>| u16::from_be_bytes([d[0], d[1]]);
        let expected_first: Vec<u16> = (0..200).filter(|i| i % 3 == 0).collect();
        let expected_second: Vec<u16> = (0..200).filter(|i| i % 3 != 0).collect();
        assert_eq!(
            at_first.iter().map(index).collect::<Vec<_>>(),
            expected_first
        );
        assert_eq!(
            at_second.iter().map(index).collect::<Vec<_>>(),
            expected_second
        );
        assert!(at_second.iter().all(|d| d.len() == 64));
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.dropped(), 0);
    }

    #[tokio::test]
    async fn socket_splits_segments_into_datagrams() {
        let target = receiver();
        let address = target.local_addr().unwrap();
        let mut queue = SendQueue::default();
        let sizes = [1000, 1000, 1000, 1000, 300];
        for (index, size) in sizes.into_iter().enumerate() {
            queue.push(address, vec![index as u8; size]);
        }
        let mut sender = SocketSender(&bound_sender().await);
        assert_eq!(segment_run(queue.queued.make_contiguous()), 5);
        queue.send_batch(&mut sender).unwrap();

        assert!(queue.segmenting);
        assert_eq!(queue.len(), 0);
        let received = receive_all(&target, 5);
        for (index, datagram) in received.iter().enumerate() {
            assert_eq!(datagram.len(), sizes[index]);
            assert!(datagram.iter().all(|byte| *byte == index as u8));
        }
    }

    #[tokio::test]
    async fn socket_skips_rejected_datagrams() {
        let target = receiver();
        let address = target.local_addr().unwrap();
        let mut queue = SendQueue::default();
        queue.push(address, vec![1]);
        // Larger than any UDP datagram over IPv4: EMSGSIZE.
        queue.push(address, vec![0; 70_000]);
        queue.push(address, vec![2]);
        // An IPv6 destination on an IPv4 socket.
        queue.push("[::1]:9".parse().unwrap(), vec![0]);
        queue.push(address, vec![3]);
        queue.send_all(&bound_sender().await).await;

        assert_eq!(receive_all(&target, 3), vec![vec![1], vec![2], vec![3]]);
        assert_eq!(queue.dropped(), 2);
        assert_eq!(queue.len(), 0);
    }
}
