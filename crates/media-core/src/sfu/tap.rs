//! Copies of received RTP packets for recording.
//!
//! Tracks of clients with [`ClientOptions::recorded`](super::ClientOptions) set hand every
//! packet the publisher sends to a queue that the caller drains with [`Sfu::poll_media`]. The
//! payload is shared with forwarding, not copied. Of a simulcast track only the highest
//! layer that arrives is handed out, switching at keyframes, with sequence numbers and RTP
//! times continued across a switch as if it were one stream.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use str0m::format::{Codec, PayloadParams};
use str0m::media::KeyframeRequestKind;
use str0m::rtp::{RtpPacket, Ssrc};

use super::Sfu;
use crate::ids::{ClientId, RoomId, TrackId, TrackSource};
use crate::track::{KeyframeNeed, TrackIn};
use crate::MediaKind;

/// The sender's wall clock at one RTP time, from its latest RTCP sender report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderClock {
    /// The sender's NTP time as microseconds since the Unix epoch.
    pub ntp_unix_us: u64,
    /// The RTP time that corresponds to it, extended like [`MediaPacket::rtp_time`].
    pub rtp_time: u64,
}

/// One RTP packet of a recorded track, as it came from the publisher.
#[derive(Debug, Clone)]
pub struct MediaPacket {
    /// The track.
    pub track: TrackId,
    /// The publishing client.
    pub client: ClientId,
    /// The publisher's room.
    pub room: RoomId,
    /// Audio or video.
    pub kind: MediaKind,
    /// The device behind the track.
    pub source: TrackSource,
    /// The codec of the payload.
    pub codec: Codec,
    /// The publisher's payload type.
    pub payload_type: u8,
    /// Extended sequence number: it does not wrap.
    pub seq: u64,
    /// Extended RTP timestamp in the codec's clock rate: it does not wrap.
    pub rtp_time: u64,
    /// The RTP marker bit (the last packet of a video frame).
    pub marker: bool,
    /// When the datagram arrived.
    pub arrival: Instant,
    /// The mapping from RTP time to the sender's clock, once a sender report has come.
    pub sender_clock: Option<SenderClock>,
    /// The RTP payload, without the header.
    pub payload: Arc<[u8]>,
}

impl Sfu {
    /// Takes the next packet of a recorded track. Call it until it returns `None` after
    /// every input, or the queue grows with the incoming media.
    pub fn poll_media(&mut self) -> Option<MediaPacket> {
        self.media.pop_front()
    }

    /// Asks the publisher of `track` for a keyframe of the layer the recorder takes, as a
    /// subscriber's PLI would: at most one request per keyframe interval reaches the
    /// publisher. Audio tracks ignore it.
    pub fn request_keyframe_for(&mut self, now: Instant, track: TrackId) {
        let Some(layer) = self.tracks.get(&track).map(|t| recorded_layer(t, now)) else {
            return;
        };
        self.request_keyframe(
            now,
            track,
            layer,
            KeyframeNeed::Repair,
            KeyframeRequestKind::Pli,
        );
        self.process(now);
    }

    pub(super) fn tap(
        &mut self,
        now: Instant,
        track: TrackId,
        layer: usize,
        keyframe: bool,
        packet: &RtpPacket,
        params: &PayloadParams,
    ) {
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        if !entry.recorded {
            return;
        }
        let mut seq = *packet.seq_no;
        let mut rtp_time = packet.time.numer();
        let mut time_shift = 0;
        if entry.layers.is_simulcast() {
            let ssrc = packet.header.ssrc;
            let is_current = entry.recorder.as_ref().is_some_and(|f| f.ssrc == ssrc);
            if !is_current {
                if layer != recorded_layer(entry, now) {
                    return;
                }
                if !keyframe {
                    self.request_waiting_keyframe(now, track, layer);
                    return;
                }
                let clock_rate = params.spec().clock_rate.get();
                let feed = RecorderFeed::switch(
                    entry.recorder.as_ref(),
                    ssrc,
                    seq,
                    rtp_time,
                    now,
                    clock_rate,
                );
                entry.recorder = Some(feed);
            }
            let feed = entry.recorder.as_mut().expect("set above for this SSRC");
            (seq, rtp_time) = feed.rewrite(seq, rtp_time, now);
            time_shift = feed.time_offset;
        }
        let Some(entry) = self.tracks.get(&track) else {
            return;
        };
        self.media.push_back(MediaPacket {
            track,
            client: entry.client,
            room: entry.room.clone(),
            kind: entry.kind,
            source: entry.source,
            codec: params.spec().codec,
            payload_type: *packet.header.payload_type,
            seq,
            rtp_time,
            marker: packet.header.marker,
            arrival: packet.timestamp,
            sender_clock: packet.last_sender_info.map(|info| {
                let report_rtp = info.rtp_time.numer().wrapping_add(time_shift);
                sender_clock(info.ntp_time, report_rtp, rtp_time)
            }),
            payload: Arc::clone(&packet.payload),
        });
    }
}

/// Returns the layer of `track` that the recorder takes: the highest that arrives.
fn recorded_layer(track: &TrackIn, now: Instant) -> usize {
    track.layers.highest_arriving(now)
}

/// The simulcast layer a recorded track hands out, and the offsets that continue its
/// numbering from the layer before.
#[derive(Debug)]
pub(crate) struct RecorderFeed {
    ssrc: Ssrc,
    /// Outgoing minus incoming extended sequence number, modulo 2^64.
    seq_offset: u64,
    /// Outgoing minus incoming extended RTP time, modulo 2^64.
    time_offset: u64,
    last_seq: u64,
    last_time: u64,
    last_at: Instant,
}

impl RecorderFeed {
    /// Starts handing out `ssrc` from the packet `(seq, rtp_time)` that arrived at `now`.
    /// The first layer keeps its own numbering; a later one continues after `previous`,
    /// with the RTP time advanced by the time that passed.
    fn switch(
        previous: Option<&RecorderFeed>,
        ssrc: Ssrc,
        seq: u64,
        rtp_time: u64,
        now: Instant,
        clock_rate: u32,
    ) -> Self {
        let (out_seq, out_time) = match previous {
            None => (seq, rtp_time),
            Some(last) => {
                let elapsed = now.saturating_duration_since(last.last_at);
                let ticks = elapsed.as_micros() * u128::from(clock_rate) / 1_000_000;
                let ticks = u64::try_from(ticks.max(1)).unwrap_or(u64::MAX);
                (last.last_seq + 1, last.last_time.saturating_add(ticks))
            }
        };
        Self {
            ssrc,
            seq_offset: out_seq.wrapping_sub(seq),
            time_offset: out_time.wrapping_sub(rtp_time),
            last_seq: out_seq,
            last_time: out_time,
            last_at: now,
        }
    }

    /// Returns the outgoing sequence number and RTP time of a packet of the current layer.
    fn rewrite(&mut self, seq: u64, rtp_time: u64, now: Instant) -> (u64, u64) {
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_time = rtp_time.wrapping_add(self.time_offset);
        if out_seq > self.last_seq {
            self.last_seq = out_seq;
            self.last_time = out_time;
            self.last_at = now;
        }
        (out_seq, out_time)
    }
}

/// Places a sender report's 32-bit RTP time next to the packet's extended RTP time.
fn sender_clock(ntp: SystemTime, report_rtp: u64, packet_rtp: u64) -> SenderClock {
    let behind = (packet_rtp as u32).wrapping_sub(report_rtp as u32) as i32;
    let rtp_time = packet_rtp.saturating_add_signed(-i64::from(behind));
    let ntp_unix_us = ntp
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    SenderClock {
        ntp_unix_us,
        rtp_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sender_clock_extends_across_a_wrap() {
        let ntp = UNIX_EPOCH + Duration::from_secs(1_000);
        // The packet is just past a 32-bit wrap; the report was taken just before it.
        let packet = (1u64 << 32) + 100;
        let clock = sender_clock(ntp, u64::from(u32::MAX - 99), packet);
        assert_eq!(clock.rtp_time, (1u64 << 32) - 100);
        assert_eq!(clock.ntp_unix_us, 1_000_000_000);
    }

    #[test]
    fn sender_clock_after_the_packet() {
        let ntp = UNIX_EPOCH + Duration::from_secs(5);
        let clock = sender_clock(ntp, 9_000, 5_000);
        assert_eq!(clock.rtp_time, 9_000);
    }
}
