//! A non-blocking UDP socket on which the kernel stamps the arrival time of each datagram.
//!
//! The arrival time comes from `SO_TIMESTAMPNS`: the moment the datagram reached the
//! socket, before this process got round to reading it. With hundreds of clients in one
//! process, reading can lag by milliseconds; the kernel's time keeps that lag out of the
//! latency figures.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use nix::sys::time::TimeSpec;
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::clock;

/// Receive buffer asked of the kernel for each socket, in bytes. The kernel caps it at
/// `net.core.rmem_max`.
const RECEIVE_BUFFER: usize = 1 << 20;

/// One received datagram.
pub struct Datagram {
    /// Bytes in the buffer passed to [`MediaSocket::try_receive`].
    pub length: usize,
    /// The sender.
    pub source: SocketAddr,
    /// Arrival time, nanoseconds since the Unix epoch: the kernel's time stamp, or the time
    /// of reading when the kernel gave none.
    pub arrival_ns: u64,
}

/// A UDP socket for one WebRTC connection.
pub struct MediaSocket {
    socket: UdpSocket,
    /// The same socket, for sends: a send straight to the kernel does not wait for the
    /// runtime to learn that the socket is writable.
    sender: std::net::UdpSocket,
    local: SocketAddr,
    control: Vec<u8>,
}

impl MediaSocket {
    /// Binds a socket on an ephemeral port of `ip`.
    pub fn bind(ip: IpAddr) -> io::Result<Self> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        socket.set_nonblocking(true)?;
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
        // A smaller buffer than asked for still works; only the loss under a burst grows.
        let _ = setsockopt(&socket, sockopt::RcvBuf, &RECEIVE_BUFFER);
        let local = socket.local_addr()?;
        let sender = socket.try_clone()?;
        Ok(Self {
            socket: UdpSocket::from_std(socket)?,
            sender,
            local,
            control: nix::cmsg_space!(TimeSpec),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits until a datagram can be read.
    pub async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Reads one waiting datagram into `buffer`, or returns `None` when none waits.
    pub fn try_receive(&mut self, buffer: &mut [u8]) -> io::Result<Option<Datagram>> {
        let Self {
            socket, control, ..
        } = self;
        let fd = socket.as_raw_fd();
        let result = socket.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(buffer)];
            let message = recvmsg::<SockaddrStorage>(
                fd,
                &mut iov,
                Some(control.as_mut_slice()),
                MsgFlags::empty(),
            )
            .map_err(io::Error::from)?;
            let mut arrival_ns = None;
            for cmsg in message.cmsgs().map_err(io::Error::from)? {
                if let ControlMessageOwned::ScmTimestampns(time) = cmsg {
                    arrival_ns = timespec_ns(time);
                }
            }
            let source = message.address.as_ref().and_then(socket_addr);
            Ok((message.bytes, source, arrival_ns))
        });
        match result {
            Ok((length, Some(source), arrival_ns)) => Ok(Some(Datagram {
                length,
                source,
                arrival_ns: arrival_ns.unwrap_or_else(clock::wall_ns),
            })),
            // A datagram without a source address cannot come from a peer; skip it.
            Ok((_, None, _)) => self.try_receive(buffer),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sends a datagram without waiting. Returns `false` when the send buffer was full and
    /// the datagram was dropped.
    pub fn try_send(&self, contents: &[u8], destination: SocketAddr) -> io::Result<bool> {
        match self.sender.send_to(contents, destination) {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(error) => Err(error),
        }
    }
}

fn timespec_ns(time: TimeSpec) -> Option<u64> {
    let seconds = u64::try_from(time.tv_sec()).ok()?;
    let nanos = u64::try_from(time.tv_nsec()).ok()?;
    Some(seconds * 1_000_000_000 + nanos)
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    let v6 = address.as_sockaddr_in6()?;
    Some(SocketAddr::from((v6.ip(), v6.port())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[tokio::test]
    async fn arrival_time_comes_with_each_datagram() {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut receiver = MediaSocket::bind(ip).unwrap();
        let sender = MediaSocket::bind(ip).unwrap();
        let before = clock::wall_ns();
        assert!(sender.try_send(b"hello", receiver.local_addr()).unwrap());
        let mut buffer = [0u8; 64];
        let datagram = loop {
            receiver.readable().await.unwrap();
            if let Some(datagram) = receiver.try_receive(&mut buffer).unwrap() {
                break datagram;
            }
        };
        assert_eq!(&buffer[..datagram.length], b"hello");
        assert_eq!(datagram.source, sender.local_addr());
        let after = clock::wall_ns();
        assert!(
            (before..=after).contains(&datagram.arrival_ns),
            "{before} <= {} <= {after}",
            datagram.arrival_ns
        );
    }
}
