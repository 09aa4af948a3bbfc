//! Detection of RTP packets that start a keyframe, read from the payload descriptors without
//! depacketizing. Truncated or malformed payloads count as "not a keyframe", and no input
//! makes these functions panic.

use crate::journal::Codec;

/// Checks whether `payload`, an RTP payload of `codec`, is the first packet of a frame that a
/// decoder can start from. Always false for audio.
pub(crate) fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_starts_keyframe(payload),
        Codec::Vp9 => vp9_starts_keyframe(payload),
        Codec::H264 => h264_starts_keyframe(payload),
        Codec::Av1 => av1_starts_keyframe(payload),
        Codec::Opus => false,
    }
}

/// VP8 (RFC 7741 section 4.2): the descriptor must mark the start of partition 0, and the
/// frame tag that follows it has its lowest bit, P, clear on a key frame (RFC 6386 section
/// 9.1).
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&descriptor) = payload.first() else {
        return false;
    };
    let extended = descriptor & 0x80 != 0;
    let start_of_partition = descriptor & 0x10 != 0;
    let partition_id = descriptor & 0x07;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let tag_offset = if extended {
        vp8_extended_descriptor_end(payload)
    } else {
        Some(1)
    };
    tag_offset
        .and_then(|offset| payload.get(offset))
        .is_some_and(|tag| tag & 0x01 == 0)
}

/// Returns the length of the VP8 payload descriptor (RFC 7741 section 4.2) at the start of
/// `payload`, or `None` when the payload ends inside it.
pub(crate) fn vp8_descriptor_len(payload: &[u8]) -> Option<usize> {
    let extended = payload.first()? & 0x80 != 0;
    let length = if extended {
        vp8_extended_descriptor_end(payload)?
    } else {
        1
    };
    (length <= payload.len()).then_some(length)
}

/// Returns the offset just past the optional fields of an extended VP8 payload descriptor.
fn vp8_extended_descriptor_end(payload: &[u8]) -> Option<usize> {
    let flags = *payload.get(1)?;
    let has_picture_id = flags & 0x80 != 0;
    let has_tl0_pic_idx = flags & 0x40 != 0;
    let has_tid_or_key_idx = flags & 0x30 != 0;

    let mut offset = 2;
    if has_picture_id {
        // The M bit selects a 15-bit picture id over a 7-bit one.
        let long_picture_id = payload.get(offset)? & 0x80 != 0;
        offset += if long_picture_id { 2 } else { 1 };
    }
    if has_tl0_pic_idx {
        offset += 1;
    }
    if has_tid_or_key_idx {
        offset += 1;
    }
    Some(offset)
}

/// VP9 (RFC 9628 section 4.2): the descriptor's B bit marks the start of a frame and its P bit
/// an inter-picture predicted frame.
fn vp9_starts_keyframe(payload: &[u8]) -> bool {
    payload.first().is_some_and(|&descriptor| {
        let inter_predicted = descriptor & 0x40 != 0;
        let start_of_frame = descriptor & 0x08 != 0;
        start_of_frame && !inter_predicted
    })
}

const H264_NAL_IDR: u8 = 5;
const H264_NAL_SPS: u8 = 7;
const H264_NAL_STAP_A: u8 = 24;
const H264_NAL_FU_A: u8 = 28;

/// H.264 (RFC 6184): a single IDR slice or sequence parameter set, one of them inside a
/// STAP-A, or the first fragment of an IDR slice in an FU-A. Starting at the SPS keeps the
/// parameter sets that browsers send in front of each IDR slice.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&nal_header) = payload.first() else {
        return false;
    };
    match nal_header & 0x1f {
        H264_NAL_IDR | H264_NAL_SPS => true,
        H264_NAL_STAP_A => stap_a_contains_keyframe(&payload[1..]),
        H264_NAL_FU_A => payload.get(1).is_some_and(|&fu_header| {
            let start = fu_header & 0x80 != 0;
            start && fu_header & 0x1f == H264_NAL_IDR
        }),
        _ => false,
    }
}

/// Walks the `[u16 BE size][NAL unit]` list of a STAP-A.
fn stap_a_contains_keyframe(mut units: &[u8]) -> bool {
    while let [high, low, rest @ ..] = units {
        let size = usize::from(u16::from_be_bytes([*high, *low]));
        let Some(unit) = rest.get(..size) else {
            return false;
        };
        if unit
            .first()
            .is_some_and(|header| matches!(header & 0x1f, H264_NAL_IDR | H264_NAL_SPS))
        {
            return true;
        }
        units = &rest[size..];
    }
    false
}

/// AV1 (RTP Payload Format for AV1, section 4.4): the aggregation header's N bit marks the
/// first packet of a coded video sequence, which begins with a key frame.
fn av1_starts_keyframe(payload: &[u8]) -> bool {
    payload.first().is_some_and(|header| header & 0x08 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_key_and_delta() {
        // S=1 and partition 0 without extension, then frame tags with P=0 and P=1.
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x50, 0x2a]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x51, 0x2a]));
    }

    #[test]
    fn vp8_extended_descriptor() {
        // X=1 with I, L and T set, a 15-bit picture id, TL0PICIDX and TID bytes, then a tag.
        let key = [0x90, 0xe0, 0x81, 0x02, 0x07, 0x40, 0x50];
        assert!(starts_keyframe(Codec::Vp8, &key));
        let delta = [0x90, 0xe0, 0x81, 0x02, 0x07, 0x40, 0x51];
        assert!(!starts_keyframe(Codec::Vp8, &delta));
        // A 7-bit picture id moves the tag one byte earlier.
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x05, 0x50]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x05, 0x51]));
    }

    #[test]
    fn vp8_later_partition_not_keyframe() {
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x50]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x11, 0x50]));
    }

    #[test]
    fn vp9_flags() {
        assert!(starts_keyframe(Codec::Vp9, &[0x08]));
        assert!(starts_keyframe(Codec::Vp9, &[0x8c, 0x12]));
        assert!(!starts_keyframe(Codec::Vp9, &[0x48]));
        assert!(!starts_keyframe(Codec::Vp9, &[0x04]));
    }

    #[test]
    fn h264_single_and_fragmented() {
        assert!(starts_keyframe(Codec::H264, &[0x65, 0x88]));
        assert!(starts_keyframe(Codec::H264, &[0x67, 0x42]));
        assert!(!starts_keyframe(Codec::H264, &[0x41, 0x9a]));
        assert!(!starts_keyframe(Codec::H264, &[0x68, 0xce]));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05, 0x88]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x81, 0x9a]));
    }

    #[test]
    fn h264_stap_a() {
        let with_sps = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce];
        assert!(starts_keyframe(Codec::H264, &with_sps));
        let with_idr_second = [0x78, 0x00, 0x01, 0x06, 0x00, 0x02, 0x65, 0x88];
        assert!(starts_keyframe(Codec::H264, &with_idr_second));
        let without_keyframe = [0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a];
        assert!(!starts_keyframe(Codec::H264, &without_keyframe));
    }

    #[test]
    fn av1_new_sequence_bit() {
        assert!(starts_keyframe(Codec::Av1, &[0x18]));
        assert!(!starts_keyframe(Codec::Av1, &[0x10]));
    }

    #[test]
    fn truncated_payloads_not_keyframes() {
        for codec in [Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1, Codec::Opus] {
            assert!(!starts_keyframe(codec, &[]), "{codec:?}");
        }
        assert!(!starts_keyframe(Codec::Vp8, &[0x10]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0x80]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x85, 0x00]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c]));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0x00, 0x09, 0x65]));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0x00]));
    }

    #[test]
    fn opus_never_keyframe() {
        assert!(!starts_keyframe(Codec::Opus, &[0xfc, 0xff, 0xfe]));
    }
}
