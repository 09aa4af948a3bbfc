//! Sequence number and timestamp rewriting for one forwarded track.
//!
//! A subscriber sees one continuous RTP stream per m-line even when the source behind it
//! changes (a new SSRC after the publisher restarts its encoder, or a simulcast layer switch).
//! At each switch the outgoing sequence continues from the last number sent and the outgoing
//! timestamp advances by the wall-clock time that passed, so the receiver's jitter buffer sees
//! neither a jump nor a gap.

use std::time::Instant;

use str0m::rtp::{SeqNo, Ssrc};

/// The first outgoing sequence number. Kept below 2^16 because the receiver starts the SRTP
/// rollover counter at zero (RFC 3711 section 3.3.1).
const FIRST_SEQUENCE: u64 = 1000;

/// Maps incoming `(sequence number, timestamp)` pairs of the current source to outgoing ones.
#[derive(Debug)]
pub struct Rewriter {
    clock_rate: u32,
    source: Option<Source>,
    last_sent: Option<Sent>,
}

#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: Ssrc,
    /// Incoming extended sequence number of the first packet forwarded from this source.
    first_sequence: u64,
    /// Outgoing minus incoming sequence number, modulo 2^64.
    sequence_offset: u64,
    /// Outgoing minus incoming timestamp, modulo 2^32.
    timestamp_offset: u32,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    sequence: u64,
    timestamp: u32,
    at: Instant,
}

/// The outgoing numbering of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Outgoing extended sequence number.
    pub sequence: SeqNo,
    /// Outgoing RTP timestamp.
    pub timestamp: u32,
}

impl Rewriter {
    /// Creates a rewriter for a codec with `clock_rate` ticks per second.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            source: None,
            last_sent: None,
        }
    }

    /// Returns whether packets of `ssrc` are forwarded now without a switch.
    pub fn is_current(&self, ssrc: Ssrc) -> bool {
        self.source.is_some_and(|s| s.ssrc == ssrc)
    }

    /// Returns the SSRC of the source forwarded now.
    pub fn current_ssrc(&self) -> Option<Ssrc> {
        self.source.map(|s| s.ssrc)
    }

    /// Makes the packet `(ssrc, sequence, timestamp)` the first of a new source, received at
    /// `now`. For video, call this only on a packet that starts a keyframe.
    pub fn switch_to(&mut self, ssrc: Ssrc, sequence: SeqNo, timestamp: u32, now: Instant) {
        let sequence = *sequence;
        let (out_sequence, out_timestamp) = match self.last_sent {
            None => (FIRST_SEQUENCE, timestamp),
            Some(last) => {
                let elapsed = now.saturating_duration_since(last.at);
                let ticks = elapsed.as_micros() * u128::from(self.clock_rate) / 1_000_000;
                // At least one tick, so that the new frame never shares the old frame's time.
                let ticks = u32::try_from(ticks.max(1)).unwrap_or(u32::MAX);
                (last.sequence + 1, last.timestamp.wrapping_add(ticks))
            }
        };
        self.source = Some(Source {
            ssrc,
            first_sequence: sequence,
            sequence_offset: out_sequence.wrapping_sub(sequence),
            timestamp_offset: out_timestamp.wrapping_sub(timestamp),
        });
    }

    /// Returns the outgoing numbering of a packet of the current source, or `None` when the
    /// packet belongs to another source or precedes the switch to this one.
    pub fn rewrite(
        &mut self,
        ssrc: Ssrc,
        sequence: SeqNo,
        timestamp: u32,
        now: Instant,
    ) -> Option<Rewritten> {
        let source = self.source.filter(|s| s.ssrc == ssrc)?;
        let sequence = *sequence;
        if sequence < source.first_sequence {
            return None;
        }
        let out_sequence = sequence.wrapping_add(source.sequence_offset);
        let out_timestamp = timestamp.wrapping_add(source.timestamp_offset);
        let newest = self.last_sent.is_none_or(|l| out_sequence > l.sequence);
        if newest {
            self.last_sent = Some(Sent {
                sequence: out_sequence,
                timestamp: out_timestamp,
                at: now,
            });
        }
        Some(Rewritten {
            sequence: out_sequence.into(),
            timestamp: out_timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ssrc(value: u32) -> Ssrc {
        value.into()
    }

    #[test]
    fn first_source_starts_low() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new(90_000);
        rewriter.switch_to(ssrc(1), 70_000.into(), 5000, now);
        let out = rewriter.rewrite(ssrc(1), 70_000.into(), 5000, now).unwrap();
        assert_eq!(*out.sequence, FIRST_SEQUENCE);
        assert_eq!(out.timestamp, 5000);
        let next = rewriter.rewrite(ssrc(1), 70_001.into(), 8000, now).unwrap();
        assert_eq!(*next.sequence, FIRST_SEQUENCE + 1);
        assert_eq!(next.timestamp, 8000);
    }

    #[test]
    fn packets_before_switch_are_dropped() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new(90_000);
        rewriter.switch_to(ssrc(1), 500.into(), 0, now);
        assert!(rewriter.rewrite(ssrc(1), 499.into(), 0, now).is_none());
        assert!(rewriter.rewrite(ssrc(2), 500.into(), 0, now).is_none());
    }

    #[test]
    fn reordered_packet_keeps_its_place() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new(90_000);
        rewriter.switch_to(ssrc(1), 10.into(), 0, now);
        rewriter.rewrite(ssrc(1), 10.into(), 0, now).unwrap();
        rewriter.rewrite(ssrc(1), 12.into(), 0, now).unwrap();
        let late = rewriter.rewrite(ssrc(1), 11.into(), 0, now).unwrap();
        assert_eq!(*late.sequence, FIRST_SEQUENCE + 1);
        let after = rewriter.rewrite(ssrc(1), 13.into(), 0, now).unwrap();
        assert_eq!(*after.sequence, FIRST_SEQUENCE + 3);
    }

    #[test]
    fn switch_continues_sequence_and_time() {
        let start = Instant::now();
        let mut rewriter = Rewriter::new(90_000);
        rewriter.switch_to(ssrc(1), 100.into(), 1_000, start);
        rewriter.rewrite(ssrc(1), 100.into(), 1_000, start).unwrap();
        let last = rewriter.rewrite(ssrc(1), 101.into(), 4_000, start).unwrap();

        let later = start + Duration::from_millis(500);
        rewriter.switch_to(ssrc(2), 40_000.into(), 777_777, later);
        let first = rewriter
            .rewrite(ssrc(2), 40_000.into(), 777_777, later)
            .unwrap();
        assert_eq!(*first.sequence, *last.sequence + 1);
        assert_eq!(first.timestamp, last.timestamp + 45_000);
        assert!(rewriter
            .rewrite(ssrc(1), 102.into(), 7_000, later)
            .is_none());
    }

    #[test]
    fn timestamp_wraps() {
        let now = Instant::now();
        let mut rewriter = Rewriter::new(48_000);
        rewriter.switch_to(ssrc(1), 1.into(), u32::MAX - 10, now);
        let out = rewriter.rewrite(ssrc(1), 2.into(), 20, now).unwrap();
        assert_eq!(out.timestamp, 20);
    }
}
