//! Depacketization of VP8 (RFC 7741) and Opus (RFC 7587) RTP payloads into whole frames, so
//! that the muxer gets one buffer per frame instead of one per packet and no depayloader
//! element runs. Malformed payloads are dropped like lost packets, and no input makes these
//! functions panic.

use crate::journal::JournalPacket;
use crate::keyframe::vp8_descriptor_len;

/// One coded frame, ready for the muxer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Extended RTP timestamp of the frame's packets.
    pub rtp_time: u64,
    /// The coded frame: the concatenated VP8 payloads, or one Opus packet.
    pub data: Vec<u8>,
    /// Whether a decoder can start at this frame.
    pub keyframe: bool,
    /// Picture size of a VP8 keyframe, from its frame header.
    pub size: Option<(u32, u32)>,
    /// VP8 profile (version) from the frame tag, 0 to 3.
    pub profile: u8,
}

/// Frames of a VP8 segment.
#[derive(Debug, Default)]
pub(crate) struct Vp8Frames {
    /// Complete frames in sequence order, the first of them a keyframe with a picture size.
    pub frames: Vec<Frame>,
    /// Packets before the first complete keyframe, which were skipped.
    pub dropped_leading: u64,
}

/// Frame being assembled from its packets.
struct Partial {
    rtp_time: u64,
    next_seq: u64,
    packets: u64,
    data: Vec<u8>,
}

/// Assembles the VP8 frames of `packets`, which are in sequence order without duplicates.
///
/// A frame starts at a packet with the S bit set for partition 0 and ends at the packet with
/// the RTP marker bit. A frame with a missing packet, a malformed descriptor, or packets of
/// another timestamp is dropped, as rtpvp8depay does by default, and later frames are kept.
/// Frames before the first complete keyframe are skipped, so the result starts with one.
pub(crate) fn vp8_frames(packets: &[&JournalPacket]) -> Vp8Frames {
    let mut result = Vp8Frames::default();
    let mut partial: Option<Partial> = None;
    let mut skipped_packets = 0;

    for packet in packets {
        let Some(offset) = vp8_descriptor_len(&packet.payload) else {
            skipped_packets += partial.take().map_or(0, |p| p.packets) + 1;
            continue;
        };
        let data = &packet.payload[offset..];
        let descriptor = packet.payload[0];
        let starts_frame = descriptor & 0x10 != 0 && descriptor & 0x07 == 0;

        if starts_frame {
            skipped_packets += partial.take().map_or(0, |p| p.packets);
            partial = Some(Partial {
                rtp_time: packet.rtp_time,
                next_seq: packet.seq,
                packets: 0,
                data: Vec::with_capacity(data.len() * 8),
            });
        }
        let continues = partial
            .as_ref()
            .is_some_and(|p| p.next_seq == packet.seq && p.rtp_time == packet.rtp_time);
        if !continues {
            skipped_packets += partial.take().map_or(0, |p| p.packets) + 1;
            continue;
        }
        let Some(frame) = partial.as_mut() else {
            continue;
        };
        frame.data.extend_from_slice(data);
        frame.next_seq += 1;
        frame.packets += 1;

        if packet.marker {
            let done = partial.take().expect("checked by continues");
            if let Some(frame) = finished_vp8_frame(done.rtp_time, done.data) {
                if result.frames.is_empty() && frame.size.is_none() {
                    skipped_packets += done.packets;
                    continue;
                }
                if result.frames.is_empty() {
                    result.dropped_leading = skipped_packets;
                }
                result.frames.push(frame);
            } else {
                skipped_packets += done.packets;
            }
        }
    }
    if result.frames.is_empty() {
        result.dropped_leading = skipped_packets;
    }
    result
}

/// Reads the frame tag (RFC 6386 section 9.1) of an assembled frame. Returns `None` for an
/// empty frame.
fn finished_vp8_frame(rtp_time: u64, data: Vec<u8>) -> Option<Frame> {
    let tag = *data.first()?;
    let size = vp8_keyframe_size(&data);
    Some(Frame {
        rtp_time,
        keyframe: size.is_some(),
        size,
        profile: (tag >> 1) & 0x07,
        data,
    })
}

/// Returns the picture size of a VP8 keyframe: the P bit of the tag is clear, the start code
/// `9d 01 2a` follows the 3-byte tag, and then come 14-bit width and height (RFC 6386
/// section 9.1). Returns `None` for a delta frame or a malformed keyframe.
fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    let header = frame.get(..10)?;
    if header[0] & 0x01 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    if width == 0 || height == 0 {
        return None;
    }
    Some((u32::from(width), u32::from(height)))
}

/// Turns each non-empty Opus payload into a frame. An RTP packet carries exactly one Opus
/// packet (RFC 7587 section 4.2), which is what Matroska stores per block.
pub(crate) fn opus_frames(packets: &[&JournalPacket]) -> Vec<Frame> {
    packets
        .iter()
        .filter(|packet| !packet.payload.is_empty())
        .map(|packet| Frame {
            rtp_time: packet.rtp_time,
            data: packet.payload.clone(),
            keyframe: true,
            size: None,
            profile: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keyframe of 640x480: tag with P clear, start code, then width and height.
    const KEY: [u8; 12] = [
        0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 7, 8,
    ];
    const DELTA: [u8; 4] = [0x51, 0x2a, 0x01, 0x55];

    fn packet(seq: u64, rtp_time: u64, marker: bool, descriptor: u8, data: &[u8]) -> JournalPacket {
        let mut payload = vec![descriptor];
        payload.extend_from_slice(data);
        JournalPacket {
            arrival_unix_us: 0,
            seq,
            rtp_time,
            marker,
            payload,
        }
    }

    /// Splits `frames` into packets of at most 4 bytes, with timestamps 3000 apart.
    fn packetize(frames: &[&[u8]]) -> Vec<JournalPacket> {
        let mut packets = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let chunks: Vec<&[u8]> = frame.chunks(4).collect();
            for (j, chunk) in chunks.iter().enumerate() {
                let descriptor = if j == 0 { 0x10 } else { 0x00 };
                let seq = packets.len() as u64;
                let last = j + 1 == chunks.len();
                packets.push(packet(seq, i as u64 * 3000, last, descriptor, chunk));
            }
        }
        packets
    }

    fn refs(packets: &[JournalPacket]) -> Vec<&JournalPacket> {
        packets.iter().collect()
    }

    #[test]
    fn frames_reassembled_across_packets() {
        let packets = packetize(&[&KEY, &DELTA, &DELTA]);
        let result = vp8_frames(&refs(&packets));
        assert_eq!(result.frames.len(), 3);
        assert_eq!(result.frames[0].data, KEY);
        assert_eq!(result.frames[0].size, Some((640, 480)));
        assert!(result.frames[0].keyframe);
        assert_eq!(result.frames[1].data, DELTA);
        assert!(!result.frames[1].keyframe);
        assert_eq!(result.frames[2].rtp_time, 6000);
        assert_eq!(result.dropped_leading, 0);
    }

    #[test]
    fn frame_with_lost_packet_dropped() {
        let mut packets = packetize(&[&KEY, &KEY, &DELTA]);
        // The second keyframe spans packets 3, 4 and 5.
        packets.remove(4);
        let result = vp8_frames(&refs(&packets));
        let times: Vec<u64> = result.frames.iter().map(|f| f.rtp_time).collect();
        assert_eq!(times, [0, 6000]);
    }

    #[test]
    fn leading_incomplete_keyframe_skipped() {
        let mut packets = packetize(&[&KEY, &DELTA, &KEY, &DELTA]);
        packets.remove(1);
        let result = vp8_frames(&refs(&packets));
        let times: Vec<u64> = result.frames.iter().map(|f| f.rtp_time).collect();
        assert_eq!(times, [6000, 9000]);
        // Two packets of the broken keyframe and the delta frame's packet.
        assert_eq!(result.dropped_leading, 3);
    }

    #[test]
    fn missing_marker_drops_frame() {
        let mut packets = packetize(&[&KEY, &DELTA, &DELTA]);
        packets[3].marker = false;
        let result = vp8_frames(&refs(&packets));
        let times: Vec<u64> = result.frames.iter().map(|f| f.rtp_time).collect();
        assert_eq!(times, [0, 6000]);
    }

    #[test]
    fn extended_descriptor_stripped() {
        // X=1, I=1 with a 15-bit picture id, then the frame.
        let mut payload = vec![0x90, 0x80, 0x81, 0x02];
        payload.extend_from_slice(&KEY);
        let packets = [JournalPacket {
            arrival_unix_us: 0,
            seq: 7,
            rtp_time: 90,
            marker: true,
            payload,
        }];
        let result = vp8_frames(&refs(&packets));
        assert_eq!(result.frames.len(), 1);
        assert_eq!(result.frames[0].data, KEY);
    }

    #[test]
    fn malformed_packets_do_not_panic() {
        let payloads: [&[u8]; 6] = [&[], &[0x90], &[0x90, 0x80], &[0x10], &[0x10, 0x50], &[0x00]];
        let packets: Vec<JournalPacket> = payloads
            .iter()
            .enumerate()
            .map(|(i, payload)| JournalPacket {
                arrival_unix_us: 0,
                seq: i as u64,
                rtp_time: i as u64,
                marker: true,
                payload: payload.to_vec(),
            })
            .collect();
        let result = vp8_frames(&refs(&packets));
        assert!(result.frames.is_empty());
        assert_eq!(result.dropped_leading, payloads.len() as u64);
    }

    #[test]
    fn keyframe_size_needs_start_code() {
        assert_eq!(vp8_keyframe_size(&KEY), Some((640, 480)));
        let mut no_start_code = KEY;
        no_start_code[4] = 0;
        assert_eq!(vp8_keyframe_size(&no_start_code), None);
        assert_eq!(vp8_keyframe_size(&KEY[..9]), None);
    }

    #[test]
    fn opus_packets_become_frames() {
        let packets = [
            packet(1, 0, false, 0xf8, &[1, 2]),
            JournalPacket {
                payload: Vec::new(),
                ..packet(2, 960, false, 0, &[])
            },
            packet(3, 1920, false, 0xfc, &[]),
        ];
        let frames = opus_frames(&refs(&packets));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, [0xf8, 1, 2]);
        assert_eq!(frames[1].rtp_time, 1920);
    }
}
