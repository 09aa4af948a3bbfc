//! One WebRTC connection: a str0m peer in RTP mode and its own UDP socket.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::clock;
use crate::udp::MediaSocket;
use crate::Error;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 2048;

/// A str0m peer bound to a UDP socket.
pub struct Peer {
    /// The WebRTC state machine.
    pub rtc: Rtc,
    socket: MediaSocket,
    buffer: Vec<u8>,
    timeout: Instant,
    /// Datagrams dropped because the socket's send buffer was full.
    pub send_drops: u64,
    /// Datagrams str0m rejected, such as packets for an unknown stream.
    pub rejected: u64,
}

impl Peer {
    /// Creates a peer like a browser's, with VP8 and Opus only, one host candidate on a new
    /// socket on `ip`, and full ICE.
    pub fn new(ip: IpAddr) -> Result<Self, Error> {
        let socket = MediaSocket::bind(ip).map_err(|e| Error::io("binding a UDP socket", e))?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            .build(now);
        let candidate = Candidate::host(socket.local_addr(), "udp")
            .map_err(|e| Error::Rtc(format!("host candidate: {e}")))?;
        rtc.add_local_candidate(candidate);
        Ok(Self {
            rtc,
            socket,
            buffer: vec![0; MAX_DATAGRAM],
            timeout: now,
            send_drops: 0,
            rejected: 0,
        })
    }

    /// The local socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr()
    }

    /// When str0m next needs [`Peer::handle_timeout`].
    pub fn timeout(&self) -> Instant {
        self.timeout
    }

    /// Waits until a datagram can be read.
    pub async fn readable(&self) -> io::Result<()> {
        self.socket.readable().await
    }

    /// Sends what str0m has to send and hands its events to `on_event` with `arrival_ns`,
    /// until str0m waits for time.
    pub fn drain(
        &mut self,
        arrival_ns: u64,
        on_event: &mut impl FnMut(u64, Event),
    ) -> Result<(), Error> {
        loop {
            let output = self
                .rtc
                .poll_output()
                .map_err(|e| Error::Rtc(format!("poll: {e}")))?;
            match output {
                Output::Timeout(at) => {
                    self.timeout = at;
                    return Ok(());
                }
                Output::Transmit(transmit) => {
                    let sent = self
                        .socket
                        .try_send(&transmit.contents, transmit.destination)
                        .map_err(|e| Error::io("sending a datagram", e))?;
                    if !sent {
                        self.send_drops += 1;
                    }
                }
                Output::Event(event) => on_event(arrival_ns, event),
            }
        }
    }

    /// Reads every waiting datagram and feeds it to str0m. A peer in RTP mode is drained
    /// after each datagram, because it keeps only the newest received packet until polled.
    pub fn receive(&mut self, on_event: &mut impl FnMut(u64, Event)) -> Result<(), Error> {
        while let Some(datagram) = self
            .socket
            .try_receive(&mut self.buffer)
            .map_err(|e| Error::io("receiving a datagram", e))?
        {
            let contents = &self.buffer[..datagram.length];
            let destination = self.socket.local_addr();
            let Ok(receive) = Receive::new(Protocol::Udp, datagram.source, destination, contents)
            else {
                self.rejected += 1;
                continue;
            };
            if self
                .rtc
                .handle_input(Input::Receive(Instant::now(), receive))
                .is_err()
            {
                self.rejected += 1;
            }
            self.drain(datagram.arrival_ns, on_event)?;
        }
        Ok(())
    }

    /// Sends media just written at once. str0m queues written packets until its next
    /// timeout, which it sets to a moment already past. A tokio timer fires no earlier than
    /// the next millisecond tick, so waiting for it would add up to a millisecond between
    /// the time in a probe and the send.
    pub fn send_written(&mut self, on_event: &mut impl FnMut(u64, Event)) -> Result<(), Error> {
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .map_err(|e| Error::Rtc(format!("timeout: {e}")))?;
        self.drain(clock::wall_ns(), on_event)
    }

    /// Lets str0m act on time passing, then drains it.
    pub fn handle_timeout(&mut self, on_event: &mut impl FnMut(u64, Event)) -> Result<(), Error> {
        let now = Instant::now();
        if now >= self.timeout {
            self.rtc
                .handle_input(Input::Timeout(now))
                .map_err(|e| Error::Rtc(format!("timeout: {e}")))?;
        }
        self.drain(clock::wall_ns(), on_event)
    }
}

/// Returns `at`, or a moment soon when `at` is far off, for use in a `select!` that must
/// also notice other wake-ups.
pub fn capped(at: Instant) -> tokio::time::Instant {
    let limit = Instant::now() + Duration::from_millis(500);
    tokio::time::Instant::from_std(at.min(limit))
}
