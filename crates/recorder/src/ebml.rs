//! Structural check of a WebM or Matroska file written by the muxer.
//!
//! The muxer writes the file front to back and then seeks back to fill in the sizes of the
//! segment and its clusters, the positions in the seek head, the cues and the duration. A file
//! in which any of these writes went wrong still has the right length, but a player stops at
//! the first element it cannot read. [`check`] reads every element header of the file and
//! fails on the first that does not fit, so that such a file never replaces its journal.

use std::fmt;

const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;

/// Counts of a structurally sound file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Structure {
    /// Clusters in the segment.
    pub clusters: u32,
    /// Blocks (simple blocks and blocks in groups) in all clusters.
    pub blocks: u64,
}

/// The first problem found in a file, with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Offset from the start of the file.
    pub offset: u64,
    /// Description of what is wrong at the offset.
    pub problem: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.problem)
    }
}

impl std::error::Error for Malformed {}

/// Element header: ID, where the data starts and how long it is.
#[derive(Debug, Clone, Copy)]
struct Element {
    id: u32,
    start: usize,
    data: usize,
    end: usize,
}

/// Checks that `bytes` contain one EBML header and one segment of known size that ends at the
/// end of the file. Every element of the segment, of its clusters, seek head and cues must have
/// a valid ID and a known size inside its parent. Each seek head entry must point at an element
/// with the ID it names, and each cue at a cluster.
pub fn check(bytes: &[u8]) -> Result<Structure, Malformed> {
    let header = element_at(bytes, 0, bytes.len())?;
    if header.id != EBML_HEADER {
        return Err(malformed(
            0,
            format!("ID {:#x} where the EBML header belongs", header.id),
        ));
    }
    let segment = element_at(bytes, header.end, bytes.len())?;
    if segment.id != SEGMENT {
        return Err(malformed(
            header.end,
            format!("ID {:#x} where the segment belongs", segment.id),
        ));
    }
    if segment.end != bytes.len() {
        return Err(malformed(
            segment.start,
            format!(
                "a segment that ends at byte {} in a file of {} bytes",
                segment.end,
                bytes.len()
            ),
        ));
    }

    let top = children(bytes, &segment)?;
    let mut structure = Structure {
        clusters: 0,
        blocks: 0,
    };
    let (mut info, mut tracks) = (false, false);
    for child in &top {
        match child.id {
            INFO => info = true,
            TRACKS => tracks = true,
            CLUSTER => {
                structure.clusters += 1;
                for block in children(bytes, child)? {
                    match block.id {
                        SIMPLE_BLOCK => structure.blocks += 1,
                        BLOCK_GROUP => {
                            let inner = children(bytes, &block)?;
                            structure.blocks +=
                                inner.iter().filter(|element| element.id == BLOCK).count() as u64;
                        }
                        _ => {}
                    }
                }
            }
            SEEK_HEAD => check_seek_head(bytes, &segment, &top, child)?,
            CUES => check_cues(bytes, &segment, &top, child)?,
            _ => {}
        }
    }
    if !info || !tracks {
        return Err(malformed(
            segment.data,
            "a segment without info or tracks".into(),
        ));
    }
    if structure.clusters == 0 {
        return Err(malformed(segment.data, "a segment without clusters".into()));
    }
    Ok(structure)
}

fn check_seek_head(
    bytes: &[u8],
    segment: &Element,
    top: &[Element],
    seek_head: &Element,
) -> Result<(), Malformed> {
    for seek in children(bytes, seek_head)? {
        if seek.id != SEEK {
            continue;
        }
        let fields = children(bytes, &seek)?;
        let id = fields.iter().find(|field| field.id == SEEK_ID);
        let position = fields.iter().find(|field| field.id == SEEK_POSITION);
        let (Some(id), Some(position)) = (id, position) else {
            return Err(malformed(
                seek.start,
                "a seek entry without ID or position".into(),
            ));
        };
        let target_id = unsigned(bytes, id)?;
        let target = segment.data as u64 + unsigned(bytes, position)?;
        match top.iter().find(|element| element.start as u64 == target) {
            Some(element) if u64::from(element.id) == target_id => {}
            Some(element) => {
                return Err(malformed(
                    seek.start,
                    format!(
                        "a seek entry for ID {target_id:#x} that points at ID {:#x}",
                        element.id
                    ),
                ))
            }
            None => {
                return Err(malformed(
                    seek.start,
                    format!("a seek entry for ID {target_id:#x} that points at no element"),
                ))
            }
        }
    }
    Ok(())
}

fn check_cues(
    bytes: &[u8],
    segment: &Element,
    top: &[Element],
    cues: &Element,
) -> Result<(), Malformed> {
    for point in children(bytes, cues)? {
        if point.id != CUE_POINT {
            continue;
        }
        for positions in children(bytes, &point)? {
            if positions.id != CUE_TRACK_POSITIONS {
                continue;
            }
            for field in children(bytes, &positions)? {
                if field.id != CUE_CLUSTER_POSITION {
                    continue;
                }
                let target = segment.data as u64 + unsigned(bytes, &field)?;
                let is_cluster = top
                    .iter()
                    .any(|element| element.start as u64 == target && element.id == CLUSTER);
                if !is_cluster {
                    return Err(malformed(
                        field.start,
                        format!("a cue that points at byte {target}, which starts no cluster"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn children(bytes: &[u8], parent: &Element) -> Result<Vec<Element>, Malformed> {
    let mut elements = Vec::new();
    let mut offset = parent.data;
    while offset < parent.end {
        let element = element_at(bytes, offset, parent.end)?;
        offset = element.end;
        elements.push(element);
    }
    Ok(elements)
}

/// Reads the element header at `offset`, whose data must end by `limit`.
fn element_at(bytes: &[u8], offset: usize, limit: usize) -> Result<Element, Malformed> {
    let (id, id_len) = vint(bytes, offset, 4).ok_or_else(|| {
        malformed(
            offset,
            format!("no element ID ({})", byte_at(bytes, offset)),
        )
    })?;
    let size_offset = offset + id_len;
    let (size, size_len) = vint(bytes, size_offset, 8).ok_or_else(|| {
        malformed(
            size_offset,
            format!("no element size ({})", byte_at(bytes, size_offset)),
        )
    })?;
    // The ID keeps its length marker, and the size loses it.
    let id = id as u32;
    let marker = 1u64 << (7 * size_len);
    let size = size & (marker - 1);
    if size == marker - 1 {
        return Err(malformed(offset, format!("ID {id:#x} of unknown size")));
    }
    let data = size_offset + size_len;
    let end = usize::try_from(size)
        .ok()
        .and_then(|size| data.checked_add(size))
        .filter(|end| *end <= limit)
        .ok_or_else(|| {
            malformed(
                offset,
                format!("ID {id:#x} of {size} bytes, which ends past its parent at byte {limit}"),
            )
        })?;
    Ok(Element {
        id,
        start: offset,
        data,
        end,
    })
}

/// Reads a variable-length integer of at most `max_len` bytes with its length marker kept,
/// and returns it with its length.
fn vint(bytes: &[u8], offset: usize, max_len: usize) -> Option<(u64, usize)> {
    let first = *bytes.get(offset)?;
    let len = first.leading_zeros() as usize + 1;
    if first == 0 || len > max_len {
        return None;
    }
    let field = bytes.get(offset..offset + len)?;
    Some((
        field
            .iter()
            .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)),
        len,
    ))
}

fn unsigned(bytes: &[u8], element: &Element) -> Result<u64, Malformed> {
    let field = &bytes[element.data..element.end];
    if field.len() > 8 {
        return Err(malformed(
            element.start,
            format!("an unsigned integer of {} bytes", field.len()),
        ));
    }
    Ok(field
        .iter()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)))
}

fn byte_at(bytes: &[u8], offset: usize) -> String {
    match bytes.get(offset) {
        Some(byte) => format!("byte {byte:#04x}"),
        None => "end of file".into(),
    }
}

fn malformed(offset: usize, problem: String) -> Malformed {
    Malformed {
        offset: offset as u64,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes an element with a one-byte size where it fits, else an eight-byte one.
    fn element(id: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let id_bytes = id.to_be_bytes();
        let skip = id_bytes.iter().take_while(|byte| **byte == 0).count();
        out.extend_from_slice(&id_bytes[skip..]);
        if data.len() < 127 {
            out.push(0x80 | data.len() as u8);
        } else {
            out.push(0x01);
            out.extend_from_slice(&(data.len() as u64).to_be_bytes()[1..]);
        }
        out.extend_from_slice(data);
        out
    }

    fn uint(id: u32, value: u64) -> Vec<u8> {
        element(id, &value.to_be_bytes())
    }

    /// Builds a file with a seek head (info, tracks, cues), info, tracks, two clusters of
    /// blocks and cues, laid out like the muxer's output.
    fn file(seek_head_target: Option<u64>) -> Vec<u8> {
        let info = element(INFO, &uint(0x2AD7B1, 1_000_000));
        let tracks = element(TRACKS, &element(0xAE, &uint(0xD7, 1)));
        let cluster = |blocks: usize| {
            let mut data = uint(0xE7, 0);
            for _ in 0..blocks {
                data.extend(element(SIMPLE_BLOCK, &[0x81, 0, 0, 0x80, 1, 2, 3]));
            }
            element(CLUSTER, &data)
        };
        let clusters = [cluster(3), cluster(2)];

        let seek = |id: u32, position: u64| {
            let mut data = element(SEEK_ID, &id.to_be_bytes());
            data.extend(uint(SEEK_POSITION, position));
            element(SEEK, &data)
        };
        // Every entry has the same length, so the seek head's length is known up front.
        let seek_head_len = element(
            SEEK_HEAD,
            &[seek(INFO, 0), seek(TRACKS, 0), seek(CUES, 0)].concat(),
        )
        .len() as u64;
        let info_at = seek_head_len;
        let tracks_at = info_at + info.len() as u64;
        let first_cluster_at = tracks_at + tracks.len() as u64;
        let second_cluster_at = first_cluster_at + clusters[0].len() as u64;
        let cues_at = second_cluster_at + clusters[1].len() as u64;
        let cue = |cluster_at: u64| {
            element(
                CUE_POINT,
                &element(CUE_TRACK_POSITIONS, &uint(CUE_CLUSTER_POSITION, cluster_at)),
            )
        };
        let cues = element(
            CUES,
            &[cue(first_cluster_at), cue(second_cluster_at)].concat(),
        );
        let seek_head = element(
            SEEK_HEAD,
            &[
                seek(INFO, seek_head_target.unwrap_or(info_at)),
                seek(TRACKS, tracks_at),
                seek(CUES, cues_at),
            ]
            .concat(),
        );
        let segment_data = [seek_head, info, tracks, clusters.concat(), cues].concat();
        [
            element(EBML_HEADER, &element(0x4282, b"webm")),
            element(SEGMENT, &segment_data),
        ]
        .concat()
    }

    /// Finds the offsets of a four-byte ID in `bytes`.
    fn id_offsets(bytes: &[u8], id: u32) -> Vec<usize> {
        let pattern = id.to_be_bytes();
        (0..bytes.len().saturating_sub(3))
            .filter(|at| bytes[*at..*at + 4] == pattern)
            .collect()
    }

    #[test]
    fn sound_file_counted() {
        assert_eq!(
            check(&file(None)),
            Ok(Structure {
                clusters: 2,
                blocks: 5
            })
        );
    }

    #[test]
    fn zeroed_header_found() {
        let mut bytes = file(None);
        // Zero the ID and size of the info element, as a lost write leaves them. The last match
        // is the element, because the first is its ID in the seek head.
        let info_at = *id_offsets(&bytes, INFO).last().unwrap();
        bytes[info_at..info_at + 5].fill(0);
        let error = check(&bytes).unwrap_err();
        assert!(error.problem.contains("no element ID"), "{error}");
    }

    #[test]
    fn wrong_seek_target_found() {
        let error = check(&file(Some(0))).unwrap_err();
        assert!(error.problem.contains("points at ID 0x114d9b74"), "{error}");
    }

    #[test]
    fn truncated_file_found() {
        let bytes = file(None);
        let error = check(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(error.problem.contains("ID 0x18538067"), "{error}");
    }

    #[test]
    fn unknown_size_found() {
        let mut bytes = file(None);
        let cluster_at = id_offsets(&bytes, CLUSTER)[0];
        // An eight-byte size of all ones means unknown.
        bytes[cluster_at + 4] = 0x01;
        bytes[cluster_at + 5..cluster_at + 12].fill(0xFF);
        let error = check(&bytes).unwrap_err();
        assert!(error.problem.contains("unknown size"), "{error}");
    }

    #[test]
    fn cue_off_cluster_found() {
        let mut bytes = file(None);
        let cue_at = bytes
            .windows(1)
            .rposition(|window| window[0] == CUE_CLUSTER_POSITION as u8)
            .unwrap();
        // Move the cue one byte later by raising the last byte of its eight-byte position.
        bytes[cue_at + 9] += 1;
        let error = check(&bytes).unwrap_err();
        assert!(error.problem.contains("starts no cluster"), "{error}");
    }

    #[test]
    fn garbage_never_panics() {
        let sound = file(None);
        for length in 0..sound.len() {
            let _ = check(&sound[..length]);
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut bytes = sound.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % bytes.len() as u64) as usize;
                bytes[at] = (state >> 32) as u8;
            }
            let _ = check(&bytes);
        }
    }
}
