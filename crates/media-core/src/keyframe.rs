//! Keyframe detection on RTP payloads, without depacketizing.
//!
//! Each function returns whether a packet starts a frame that a decoder can begin from.
//! Malformed or truncated payloads are "not a keyframe"; nothing here panics on any input.

use str0m::format::Codec;

/// Returns whether `payload` (an RTP payload of `codec`) starts a keyframe.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8(payload),
        Codec::Vp9 => vp9(payload),
        Codec::H264 => h264(payload),
        Codec::Av1 => av1(payload),
        _ => false,
    }
}

/// VP8 payload descriptor (RFC 7741 section 4.2) followed by the VP8 frame tag, whose lowest
/// bit is 0 for a key frame (RFC 6386 section 9.1).
fn vp8(payload: &[u8]) -> bool {
    vp8_frame_start(payload)
        .and_then(|offset| payload.get(offset))
        .is_some_and(|tag| tag & 0x01 == 0)
}

/// Returns the width and height a VP8 key frame declares, when `payload` starts one: the
/// 3-byte frame tag, the start code 9d 01 2a, then two 16-bit little-endian fields whose low
/// 14 bits are the size (RFC 6386 section 9.1).
pub fn vp8_keyframe_size(payload: &[u8]) -> Option<(u32, u32)> {
    let offset = vp8_frame_start(payload)?;
    let header = payload.get(offset..offset + 10)?;
    if header[0] & 0x01 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([header[6], header[7]]) & 0x3fff;
    let height = u16::from_le_bytes([header[8], header[9]]) & 0x3fff;
    Some((u32::from(width), u32::from(height)))
}

/// Returns where the VP8 frame begins when `payload` starts the first partition of a frame.
fn vp8_frame_start(payload: &[u8]) -> Option<usize> {
    let first = *payload.first()?;
    let start_of_partition = first & 0x10 != 0;
    let partition_index = first & 0x07;
    if !start_of_partition || partition_index != 0 {
        return None;
    }
    let mut offset = 1;
    if first & 0x80 != 0 {
        let extension = *payload.get(1)?;
        offset = 2;
        if extension & 0x80 != 0 {
            // PictureID: 15 bits when its first bit (M) is set, else 7 bits.
            let picture_id = *payload.get(offset)?;
            offset += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if extension & 0x40 != 0 {
            offset += 1; // TL0PICIDX
        }
        if extension & 0x30 != 0 {
            offset += 1; // TID, Y and KEYIDX share one byte.
        }
    }
    Some(offset)
}

/// VP9 payload descriptor (RFC 9628 section 4.2): P clear (not inter-predicted) and B set
/// (first packet of a frame).
fn vp9(payload: &[u8]) -> bool {
    payload
        .first()
        .is_some_and(|first| first & 0x40 == 0 && first & 0x08 != 0)
}

const H264_IDR: u8 = 5;
const H264_SPS: u8 = 7;
const H264_STAP_A: u8 = 24;
const H264_FU_A: u8 = 28;

/// H.264 (RFC 6184): an IDR slice or a sequence parameter set, alone, inside a STAP-A, or at
/// the start of an FU-A.
fn h264(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        H264_IDR | H264_SPS => true,
        H264_STAP_A => stap_a_has_keyframe(&payload[1..]),
        H264_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == H264_IDR),
        _ => false,
    }
}

fn stap_a_has_keyframe(mut units: &[u8]) -> bool {
    while units.len() > 2 {
        let size = usize::from(u16::from_be_bytes([units[0], units[1]]));
        let Some(unit) = units.get(2..2 + size) else {
            return false;
        };
        if let Some(&header) = unit.first() {
            if matches!(header & 0x1f, H264_IDR | H264_SPS) {
                return true;
            }
        }
        units = &units[2 + size..];
    }
    false
}

/// AV1 aggregation header (AV1 RTP specification section 4.4): N is set on the first packet
/// of a coded video sequence, which starts with a key frame.
fn av1(payload: &[u8]) -> bool {
    payload.first().is_some_and(|header| header & 0x08 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_key_and_delta_frames() {
        // S=1, PID=0, no extension; frame tag with P=0 (key) and P=1 (delta).
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00, 0x9d]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01, 0x9d]));
    }

    #[test]
    fn vp8_with_extended_picture_id() {
        // X=1; I=1 with a 15-bit picture id; then a key frame tag.
        let payload = [0x90, 0x80, 0x81, 0x23, 0x00];
        assert!(starts_keyframe(Codec::Vp8, &payload));
        let delta = [0x90, 0x80, 0x81, 0x23, 0x01];
        assert!(!starts_keyframe(Codec::Vp8, &delta));
    }

    #[test]
    fn vp8_keyframe_size_from_header() {
        // Descriptor with a 7-bit picture id, then tag, start code, 640 and 480 with scaling
        // bits set in the top two bits, which are not part of the size.
        let payload = [
            0x90, 0x80, 0x05, 0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x42, 0xe0, 0xc1,
        ];
        assert_eq!(vp8_keyframe_size(&payload), Some((640, 480)));
        let mut delta = payload;
        delta[3] |= 0x01;
        assert_eq!(vp8_keyframe_size(&delta), None);
        let mut no_start_code = payload;
        no_start_code[7] = 0;
        assert_eq!(vp8_keyframe_size(&no_start_code), None);
        for end in 0..payload.len() {
            assert_eq!(vp8_keyframe_size(&payload[..end]), None);
        }
    }

    #[test]
    fn vp8_continuation_is_not_keyframe() {
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00]));
    }

    #[test]
    fn truncated_payloads_are_not_keyframes() {
        for codec in [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1] {
            assert!(!starts_keyframe(codec, &[]));
        }
        assert!(!starts_keyframe(Codec::Vp8, &[0x90]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0x80]));
        assert!(!starts_keyframe(Codec::H264, &[H264_FU_A]));
        assert!(!starts_keyframe(
            Codec::H264,
            &[H264_STAP_A, 0x00, 0x09, 0x65]
        ));
    }

    #[test]
    fn h264_units() {
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        // FU-A start of an IDR, and FU-A continuation.
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x00]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x00]));
        // STAP-A with SPS inside.
        assert!(starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]
        ));
    }

    #[test]
    fn vp9_and_av1_flags() {
        assert!(starts_keyframe(Codec::Vp9, &[0x08]));
        assert!(!starts_keyframe(Codec::Vp9, &[0x48]));
        assert!(starts_keyframe(Codec::Av1, &[0x18]));
        assert!(!starts_keyframe(Codec::Av1, &[0x10]));
    }

    #[test]
    fn opus_never_keyframe() {
        assert!(!starts_keyframe(Codec::Opus, &[0xff, 0xff]));
    }
}
