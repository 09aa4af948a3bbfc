//! Copies of received RTP packets for recording.
//!
//! Tracks of clients with [`ClientOptions::recorded`](super::ClientOptions) set hand every
//! packet the publisher sends to a queue that the caller drains with [`Sfu::poll_media`]. The
//! payload is shared with forwarding, not copied.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use str0m::format::{Codec, PayloadParams};
use str0m::rtp::RtpPacket;

use super::Sfu;
use crate::ids::{ClientId, RoomId, TrackId, TrackSource};
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

    /// Asks the publisher of `track` for a keyframe, as a subscriber's PLI would: at most one
    /// request per keyframe interval reaches the publisher. Audio tracks ignore it.
    pub fn request_keyframe_for(&mut self, now: Instant, track: TrackId) {
        self.request_keyframe(now, track, str0m::media::KeyframeRequestKind::Pli);
        self.process(now);
    }

    pub(super) fn tap(&mut self, track: TrackId, packet: &RtpPacket, params: &PayloadParams) {
        let Some(entry) = self.tracks.get(&track) else {
            return;
        };
        if !entry.recorded {
            return;
        }
        let rtp_time = packet.time.numer();
        self.media.push_back(MediaPacket {
            track,
            client: entry.client,
            room: entry.room.clone(),
            kind: entry.kind,
            source: entry.source,
            codec: params.spec().codec,
            payload_type: *packet.header.payload_type,
            seq: *packet.seq_no,
            rtp_time,
            marker: packet.header.marker,
            arrival: packet.timestamp,
            sender_clock: packet
                .last_sender_info
                .map(|info| sender_clock(info.ntp_time, info.rtp_time.numer(), rtp_time)),
            payload: Arc::clone(&packet.payload),
        });
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
