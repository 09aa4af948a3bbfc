//! The floor cost of forwarding one packet on this host: one loopback UDP `sendto`, one
//! `recv`, and one SRTP-style AES-128-GCM encryption (RFC 7714: the RTP header as
//! associated data, a 16-byte tag), each timed alone on one thread.
//!
//! An SFU that fans a packet out to many subscribers encrypts and sends it once per
//! subscriber, and receives and decrypts it once. So at a large fan-out, the sum of one
//! send and one encryption is the least CPU time per forwarded packet that any SFU on this
//! host can spend with these system calls and this cipher.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use nix::sys::socket::{setsockopt, sockopt};
use nix::time::{clock_gettime, ClockId};
use serde::Serialize;

/// Datagrams sent before the receiver drains them. 64 datagrams of 1200 bytes take about
/// 150 KiB of receive buffer, under Linux's default of 208 KiB, so none is dropped.
const BATCH: usize = 64;

/// Bytes of the RTP header that SRTP authenticates as associated data.
const RTP_HEADER_LEN: usize = 12;

/// The cost of one operation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cost {
    /// Operations timed.
    pub count: u64,
    /// CPU time of the timing thread per operation, microseconds.
    pub cpu_us: f64,
    /// Wall-clock time per operation, microseconds.
    pub wall_us: f64,
    /// Operations per second of one core's time: `1e6 / cpu_us`.
    pub per_core_second: f64,
}

/// The floor costs of one packet.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// Bytes of each datagram and of each encrypted payload.
    pub size: usize,
    /// One `sendto` of a datagram to a socket on 127.0.0.1, including the kernel's delivery
    /// into the receiving socket, which on loopback runs in the sender's system call.
    pub send: Cost,
    /// One `recv` of a waiting datagram.
    pub recv: Cost,
    /// One AES-128-GCM encryption with a 12-byte header as associated data.
    pub encrypt: Cost,
    /// `send + encrypt`, CPU microseconds: the least an SFU spends per forwarded packet at
    /// a large fan-out.
    pub forward_us: f64,
    /// Forwarded packets per core-second at that floor.
    pub forward_per_core_second: f64,
}

/// Accumulates the CPU and wall time of timed sections.
#[derive(Default)]
struct Timer {
    count: u64,
    cpu: Duration,
    wall: Duration,
}

impl Timer {
    fn time<T>(&mut self, operations: u64, section: impl FnOnce() -> T) -> T {
        let cpu_start = thread_cpu();
        let wall_start = Instant::now();
        let value = section();
        self.wall += wall_start.elapsed();
        self.cpu += thread_cpu().saturating_sub(cpu_start);
        self.count += operations;
        value
    }

    fn cost(&self) -> Cost {
        let count = self.count.max(1) as f64;
        let cpu_us = self.cpu.as_secs_f64() * 1e6 / count;
        Cost {
            count: self.count,
            cpu_us,
            wall_us: self.wall.as_secs_f64() * 1e6 / count,
            per_core_second: if cpu_us > 0.0 { 1e6 / cpu_us } else { 0.0 },
        }
    }
}

/// CPU time of the calling thread. It leaves out time the thread waited for a core, so a
/// busy host slows the figures less than wall-clock time would.
fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// Measures `packets` sends, receives and encryptions of `size` bytes.
pub fn measure(packets: u64, size: usize) -> io::Result<Floor> {
    let (send, recv) = measure_udp(packets, size)?;
    let encrypt = measure_encrypt(packets, size);
    let forward_us = send.cpu_us + encrypt.cpu_us;
    Ok(Floor {
        size,
        send,
        recv,
        encrypt,
        forward_us,
        forward_per_core_second: if forward_us > 0.0 {
            1e6 / forward_us
        } else {
            0.0
        },
    })
}

/// Sends batches of datagrams between two loopback sockets, timing the sends and then the
/// receives of each batch.
fn measure_udp(packets: u64, size: usize) -> io::Result<(Cost, Cost)> {
    let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let receiver = UdpSocket::bind(localhost)?;
    let sender = UdpSocket::bind(localhost)?;
    // A smaller buffer than asked for is fine: a batch fits in the default one.
    let _ = setsockopt(&receiver, sockopt::RcvBuf, &(1 << 20));
    receiver.set_nonblocking(true)?;
    let destination = receiver.local_addr()?;
    let datagram = vec![0x5au8; size];
    let mut buffer = vec![0u8; size.max(2048)];

    let (mut send, mut recv) = (Timer::default(), Timer::default());
    while send.count < packets {
        send.time(BATCH as u64, || -> io::Result<()> {
            for _ in 0..BATCH {
                sender.send_to(&datagram, destination)?;
            }
            Ok(())
        })?;
        let received = recv.time(0, || drain(&receiver, &mut buffer))?;
        recv.count += received;
    }
    Ok((send.cost(), recv.cost()))
}

/// Receives every waiting datagram; returns how many.
fn drain(socket: &UdpSocket, buffer: &mut [u8]) -> io::Result<u64> {
    let mut received = 0;
    loop {
        match socket.recv(buffer) {
            Ok(_) => received += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(received),
            Err(e) => return Err(e),
        }
    }
}

/// Encrypts `packets` payloads of `size` bytes in place, each with a new nonce, as SRTP
/// does with the packet's index.
fn measure_encrypt(packets: u64, size: usize) -> Cost {
    let key = UnboundKey::new(&AES_128_GCM, &[0x42; 16]).expect("a 16-byte key suits AES-128");
    let key = LessSafeKey::new(key);
    let header = [0x80u8, 0x60, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    debug_assert_eq!(header.len(), RTP_HEADER_LEN);
    let mut payload = vec![0xa5u8; size];
    let mut timer = Timer::default();
    let mut index = 0u64;
    while timer.count < packets {
        timer.time(BATCH as u64, || {
            for _ in 0..BATCH {
                index += 1;
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&index.to_be_bytes());
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(header),
                        &mut payload,
                    )
                    .expect("AES-GCM seals any payload under 64 GiB");
                std::hint::black_box(&tag);
            }
        });
    }
    timer.cost()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_counted_and_timed() {
        let floor = measure(1_000, 1200).unwrap();
        assert!(floor.send.count >= 1_000);
        assert_eq!(floor.recv.count, floor.send.count, "no datagram lost");
        assert!(floor.encrypt.count >= 1_000);
        for cost in [floor.send, floor.recv, floor.encrypt] {
            assert!(cost.cpu_us > 0.0, "{cost:?}");
            assert!(cost.wall_us > 0.0, "{cost:?}");
            assert!(cost.per_core_second > 0.0, "{cost:?}");
        }
        let sum = floor.send.cpu_us + floor.encrypt.cpu_us;
        assert!((floor.forward_us - sum).abs() < 1e-9);
    }
}
