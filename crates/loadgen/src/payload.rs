//! Synthetic VP8 and Opus RTP payloads that carry a probe: who sent the packet, which packet
//! it is, and when it was sent.
//!
//! The SFU forwards payloads without decoding them, but it reads the VP8 payload descriptor
//! and the frame tag to find keyframes, and the recorder reads a keyframe's dimensions. So
//! every VP8 payload starts with a correct payload descriptor (RFC 7741 section 4.2), and the
//! first packet of a frame with a correct frame tag and, for a keyframe, the start code and
//! the size (RFC 6386 section 9.1). Opus payloads start with a valid TOC byte. The probe
//! follows these headers; filler bytes make up the rest of the size.

/// Marks the start of a probe inside a payload.
const MAGIC: [u8; 4] = *b"PSLG";

/// Bytes of a probe, magic included.
pub const PROBE_LEN: usize = 35;

/// Largest payload of one RTP packet: with the RTP header, header extensions and the SRTP
/// tag, a packet stays well below a 1280-byte path MTU.
pub const MAX_PAYLOAD: usize = 1100;

/// Opus TOC byte: configuration 31 (CELT full band, 20 ms), stereo, one frame (RFC 6716
/// section 3.1).
const OPUS_TOC: u8 = 0xfc;

/// Audio or video, as written into the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An Opus track.
    Audio,
    /// A VP8 track.
    Video,
}

impl Kind {
    fn to_byte(self) -> u8 {
        match self {
            Self::Audio => 0,
            Self::Video => 1,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Audio),
            1 => Some(Self::Video),
            _ => None,
        }
    }
}

/// The probe a packet carries about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Wall-clock time just before the publisher handed the packet to its WebRTC stack, in
    /// nanoseconds since the Unix epoch.
    pub sent_ns: u64,
    /// Index of the publisher within the run.
    pub publisher: u32,
    /// Audio or video.
    pub kind: Kind,
    /// Index of the packet within its track, from 0.
    pub index: u64,
    /// Index of the frame within its track, from 0.
    pub frame: u32,
    /// Index of the packet within its frame.
    pub part: u16,
    /// Packets in the frame.
    pub parts: u16,
    /// Whether the frame is a keyframe.
    pub keyframe: bool,
    /// Simulcast layer, from 0 for the lowest; 0 for audio and for video without
    /// simulcast.
    pub layer: u8,
}

impl Probe {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend(MAGIC);
        out.extend(self.sent_ns.to_be_bytes());
        out.extend(self.publisher.to_be_bytes());
        out.push(self.kind.to_byte());
        out.extend(self.index.to_be_bytes());
        out.extend(self.frame.to_be_bytes());
        out.extend(self.part.to_be_bytes());
        out.extend(self.parts.to_be_bytes());
        out.push(u8::from(self.keyframe));
        out.push(self.layer);
    }

    /// Finds and reads the probe in a payload built by this module. Returns `None` for any
    /// other payload.
    pub fn find(payload: &[u8]) -> Option<Self> {
        let window = &payload[..payload.len().min(32 + MAGIC.len())];
        let start = window.windows(MAGIC.len()).position(|w| w == MAGIC)?;
        let bytes = payload.get(start + MAGIC.len()..start + PROBE_LEN)?;
        let u64_at = |at: usize| Some(u64::from_be_bytes(bytes[at..at + 8].try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?));
        let u16_at = |at: usize| Some(u16::from_be_bytes(bytes[at..at + 2].try_into().ok()?));
        Some(Self {
            sent_ns: u64_at(0)?,
            publisher: u32_at(8)?,
            kind: Kind::from_byte(bytes[12])?,
            index: u64_at(13)?,
            frame: u32_at(21)?,
            part: u16_at(25)?,
            parts: u16_at(27)?,
            keyframe: bytes[29] != 0,
            layer: bytes[30],
        })
    }
}

/// Builds the payloads of one VP8 frame of `size` bytes in total, split into packets of at
/// most [`MAX_PAYLOAD`] bytes. `probe` is the probe of the first packet; the packets after
/// it take the next indexes.
pub fn vp8_frame(
    probe: Probe,
    size: usize,
    picture_id: u16,
    width: u16,
    height: u16,
) -> Vec<Vec<u8>> {
    let parts = size.div_ceil(MAX_PAYLOAD).max(1);
    let per_part = size.div_ceil(parts).max(PROBE_LEN + 16);
    let parts_u16 = u16::try_from(parts).unwrap_or(u16::MAX);
    (0..parts_u16)
        .map(|part| {
            let mut payload = Vec::with_capacity(per_part);
            let first = part == 0;
            // X=1 and S for the first packet, PID=0; then I=1 with a 15-bit PictureID.
            payload.push(if first { 0x90 } else { 0x80 });
            payload.push(0x80);
            payload.extend((picture_id & 0x7fff | 0x8000).to_be_bytes());
            if first {
                // Frame tag: frame type (0 = key), version 0, show_frame 1, and the size of
                // the first partition in the remaining 19 bits.
                let partition = u32::try_from(size.min(0x7ffff)).unwrap_or(0x7ffff);
                let tag = (partition << 5) | (1 << 4) | u32::from(!probe.keyframe);
                payload.extend(&tag.to_le_bytes()[..3]);
                if probe.keyframe {
                    payload.extend([0x9d, 0x01, 0x2a]);
                    payload.extend((width & 0x3fff).to_le_bytes());
                    payload.extend((height & 0x3fff).to_le_bytes());
                }
            }
            let this = Probe {
                index: probe.index + u64::from(part),
                part,
                parts: parts_u16,
                ..probe
            };
            this.write(&mut payload);
            payload.resize(per_part.max(payload.len()), 0xa5);
            payload
        })
        .collect()
}

/// Builds one Opus payload of `size` bytes.
pub fn opus_packet(probe: Probe, size: usize) -> Vec<u8> {
    let mut payload = Vec::with_capacity(size);
    payload.push(OPUS_TOC);
    probe.write(&mut payload);
    payload.resize(size.max(payload.len()), 0x5a);
    payload
}

/// Returns the size of a VP8 frame in bytes, for a stream of `bitrate` bits per second at
/// `fps` frames per second with a keyframe every `keyframe_every` frames. A keyframe is
/// four times the mean size and the delta frames share the rest, so that the mean bitrate
/// holds.
pub fn frame_size(bitrate: u64, fps: u32, keyframe_every: u32, keyframe: bool) -> usize {
    let mean = bitrate as f64 / 8.0 / f64::from(fps.max(1));
    let every = f64::from(keyframe_every.max(5));
    let size = if keyframe {
        mean * 4.0
    } else {
        mean * (every - 4.0) / (every - 1.0)
    };
    (size as usize).max(PROBE_LEN + 16)
}

/// Returns whether a VP8 payload starts a keyframe, read as the SFU reads it.
pub fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    if first & 0x10 == 0 || first & 0x07 != 0 {
        return false;
    }
    let mut offset = 1;
    if first & 0x80 != 0 {
        let Some(&extension) = payload.get(1) else {
            return false;
        };
        offset = 2;
        if extension & 0x80 != 0 {
            let Some(&picture_id) = payload.get(offset) else {
                return false;
            };
            offset += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if extension & 0x40 != 0 {
            offset += 1;
        }
        if extension & 0x30 != 0 {
            offset += 1;
        }
    }
    payload.get(offset).is_some_and(|tag| tag & 0x01 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(keyframe: bool) -> Probe {
        Probe {
            sent_ns: 1_700_000_000_123_456_789,
            publisher: 7,
            kind: Kind::Video,
            index: 1000,
            frame: 42,
            part: 0,
            parts: 0,
            keyframe,
            layer: 2,
        }
    }

    #[test]
    fn keyframe_splits_into_packets_with_increasing_indexes() {
        let packets = vp8_frame(probe(true), 5000, 300, 1280, 720);
        assert_eq!(packets.len(), 5);
        for (part, payload) in packets.iter().enumerate() {
            assert!(payload.len() <= MAX_PAYLOAD);
            let read = Probe::find(payload).expect("every packet carries a probe");
            assert_eq!(read.index, 1000 + part as u64);
            assert_eq!(usize::from(read.part), part);
            assert_eq!(read.parts, 5);
            assert_eq!(read.publisher, 7);
            assert_eq!(read.frame, 42);
            assert!(read.keyframe);
        }
        assert!(vp8_starts_keyframe(&packets[0]));
        assert!(!vp8_starts_keyframe(&packets[1]));
    }

    #[test]
    fn keyframe_declares_its_size() {
        let packets = vp8_frame(probe(true), 3000, 5, 1280, 720);
        // Descriptor (4 bytes), frame tag (3), start code (3), then width and height.
        let header = &packets[0][4..14];
        assert_eq!(&header[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([header[6], header[7]]), 1280);
        assert_eq!(u16::from_le_bytes([header[8], header[9]]), 720);
    }

    #[test]
    fn delta_frame_is_not_a_keyframe() {
        let packets = vp8_frame(probe(false), 2000, 6, 1280, 720);
        assert!(!vp8_starts_keyframe(&packets[0]));
        assert!(!Probe::find(&packets[0]).unwrap().keyframe);
    }

    #[test]
    fn opus_probe_reads_back() {
        let sent = Probe {
            kind: Kind::Audio,
            parts: 1,
            ..probe(false)
        };
        let payload = opus_packet(sent, 80);
        assert_eq!(payload.len(), 80);
        assert_eq!(payload[0], OPUS_TOC);
        assert_eq!(Probe::find(&payload), Some(sent));
    }

    #[test]
    fn foreign_payload_has_no_probe() {
        assert_eq!(Probe::find(&[0x10, 0, 0, 0, 1, 2, 3]), None);
        assert_eq!(Probe::find(&[]), None);
    }

    #[test]
    fn frame_sizes_keep_the_mean_bitrate() {
        let every = 90;
        let key = frame_size(1_500_000, 30, every, true);
        let delta = frame_size(1_500_000, 30, every, false);
        let total = key + delta * (every as usize - 1);
        let mean_bitrate = total as f64 * 8.0 * 30.0 / f64::from(every);
        assert!(
            (mean_bitrate - 1_500_000.0).abs() < 15_000.0,
            "{mean_bitrate}"
        );
    }
}
