//! Append-only journal of the RTP packets of one segment of one track.
//!
//! The file starts with the magic bytes `PSJRNL01`, followed by records of the form
//! `[u32 LE body length][u32 LE CRC-32 of the body][body]`. The first body is the JSON
//! [`JournalHeader`]. Every later body starts with a type byte: 1 for a packet
//! (`arrival_unix_us`, `seq`, `rtp_time` as u64 LE, a marker byte, then the payload) and 2 for
//! a sender report (`ntp_unix_us`, `rtp_time` as u64 LE). Records are only appended, so a kill
//! of the writer at any moment leaves every record before the last one intact. The reader
//! stops at a short record or a CRC mismatch and reports a torn tail.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Operation, RecorderError};

/// Bytes at the start of every journal file. The digits are the format version.
pub const MAGIC: &[u8; 8] = b"PSJRNL01";

/// Maximum length of a record body in bytes. Writers reject longer records, and readers treat
/// a longer length field as a corrupt record.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

const RECORD_PACKET: u8 = 1;
const RECORD_SENDER_REPORT: u8 = 2;
/// Type byte, three u64 fields and the marker byte that precede a packet's payload.
const PACKET_FIXED_LEN: usize = 1 + 8 + 8 + 8 + 1;
const SENDER_REPORT_LEN: usize = 1 + 8 + 8;
/// Length and CRC fields in front of every record body.
const FRAME_HEADER_LEN: usize = 8;
/// Capacity of the writer's buffer in bytes. Records reach the file on
/// [`JournalWriter::flush`] or when the buffer is full.
const WRITE_BUFFER: usize = 64 * 1024;
/// Capacity of the reader's buffer in bytes, so that a segment's journal of a few hundred
/// kilobytes takes a few read calls.
const READ_BUFFER: usize = 256 * 1024;

/// Kind of media a track carries.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Sound.
    Audio,
    /// Pictures.
    Video,
}

/// Codec of a recorded track.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Opus audio (RFC 7587).
    Opus,
    /// VP8 video (RFC 7741).
    Vp8,
    /// VP9 video (RFC 9628).
    Vp9,
    /// H.264 video (RFC 6184).
    H264,
    /// AV1 video (AV1 RTP specification of the Alliance for Open Media).
    Av1,
}

impl Codec {
    /// Returns whether the codec is audio or video.
    pub fn kind(self) -> MediaKind {
        match self {
            Self::Opus => MediaKind::Audio,
            Self::Vp8 | Self::Vp9 | Self::H264 | Self::Av1 => MediaKind::Video,
        }
    }

    /// Returns the RTP clock rate in Hz: 48000 for Opus, 90000 for video.
    pub fn clock_rate(self) -> u32 {
        match self.kind() {
            MediaKind::Audio => 48_000,
            MediaKind::Video => 90_000,
        }
    }
}

/// Metadata written once, as the first record of a journal.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JournalHeader {
    /// Codec of the packets.
    pub codec: Codec,
    /// RTP payload type the packets arrived with.
    pub payload_type: u8,
    /// Track source, such as `camera`, `microphone` or `screen`.
    pub source: String,
    /// Recording id (UUID text).
    pub recording: String,
    /// Position of the segment in its recording, from 0.
    pub segment_index: u32,
}

/// One RTP packet as it arrived, with its sequence number and timestamp extended.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalPacket {
    /// Server wall clock when the datagram arrived, in microseconds since the Unix epoch.
    pub arrival_unix_us: u64,
    /// Extended RTP sequence number, which does not wrap.
    pub seq: u64,
    /// Extended RTP timestamp, which does not wrap.
    pub rtp_time: u64,
    /// RTP marker bit.
    pub marker: bool,
    /// RTP payload, without the RTP header.
    pub payload: Vec<u8>,
}

/// Fields of a [`JournalPacket`] without its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketFields {
    /// Server wall clock when the datagram arrived, in microseconds since the Unix epoch.
    pub arrival_unix_us: u64,
    /// Extended RTP sequence number.
    pub seq: u64,
    /// Extended RTP timestamp.
    pub rtp_time: u64,
    /// RTP marker bit.
    pub marker: bool,
}

/// Mapping from an RTCP sender report of the same stream: the sender's NTP wall clock, as
/// Unix microseconds, at the extended RTP time `rtp_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderClock {
    /// Sender wall clock in microseconds since the Unix epoch.
    pub ntp_unix_us: u64,
    /// Extended RTP timestamp.
    pub rtp_time: u64,
}

/// Record of a journal after its header.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalRecord {
    /// An RTP packet.
    Packet(JournalPacket),
    /// A sender report's clock mapping.
    SenderReport(SenderClock),
}

/// Contents of a journal file.
#[derive(Clone, Debug, PartialEq)]
pub struct Journal {
    /// The header.
    pub header: JournalHeader,
    /// Complete records in file order.
    pub records: Vec<JournalRecord>,
    /// Whether reading stopped at an incomplete or corrupt record, as a kill of the writer
    /// leaves behind.
    pub torn_tail: bool,
}

impl Journal {
    /// Returns the packet records in file order.
    pub fn packets(&self) -> impl Iterator<Item = &JournalPacket> {
        self.records.iter().filter_map(|record| match record {
            JournalRecord::Packet(packet) => Some(packet),
            JournalRecord::SenderReport(_) => None,
        })
    }

    /// Returns the sender report records in file order.
    pub fn sender_reports(&self) -> impl Iterator<Item = SenderClock> + '_ {
        self.records.iter().filter_map(|record| match record {
            JournalRecord::SenderReport(clock) => Some(*clock),
            JournalRecord::Packet(_) => None,
        })
    }
}

/// Writer of one journal file.
///
/// Records are buffered in memory until [`flush`](Self::flush), so a kill of the process loses
/// at most the records appended since the last flush. After a failed write the writer rejects
/// every later append, because records behind a partly written one could not be read back.
pub struct JournalWriter {
    output: BufWriter<File>,
    path: PathBuf,
    bytes_written: u64,
    body: Vec<u8>,
    failed: bool,
}

impl JournalWriter {
    /// Creates the journal file at `path`, which must not exist yet, writes the magic bytes and
    /// the header and hands them to the operating system.
    pub fn create(path: &Path, header: &JournalHeader) -> Result<Self, RecorderError> {
        let op = Operation::CreateJournal;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| RecorderError::io(op, path, e))?;
        let body = serde_json::to_vec(header).map_err(|source| RecorderError::Json {
            operation: op,
            path: path.to_owned(),
            source,
        })?;

        let mut writer = Self {
            output: BufWriter::with_capacity(WRITE_BUFFER, file),
            path: path.to_owned(),
            bytes_written: 0,
            body,
            failed: false,
        };
        match writer.write_start() {
            Ok(()) => Ok(writer),
            Err(e) => {
                drop(writer);
                // The file is useless without its header. A failure to remove it changes
                // nothing for the caller, who gets the write error.
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Appends an RTP packet. Rejects a packet whose record would exceed [`MAX_RECORD_LEN`].
    pub fn append_packet(&mut self, packet: &JournalPacket) -> Result<(), RecorderError> {
        let fields = PacketFields {
            arrival_unix_us: packet.arrival_unix_us,
            seq: packet.seq,
            rtp_time: packet.rtp_time,
            marker: packet.marker,
        };
        self.append_payload(fields, &packet.payload)
    }

    /// Appends an RTP packet from its fields and a borrowed payload, which is copied only into
    /// the write buffer. Rejects a packet whose record would exceed [`MAX_RECORD_LEN`].
    pub fn append_payload(
        &mut self,
        fields: PacketFields,
        payload: &[u8],
    ) -> Result<(), RecorderError> {
        let op = Operation::AppendJournal;
        let length = PACKET_FIXED_LEN + payload.len();
        self.check_length(op, length)?;
        let mut fixed = [0; PACKET_FIXED_LEN];
        fixed[0] = RECORD_PACKET;
        fixed[1..9].copy_from_slice(&fields.arrival_unix_us.to_le_bytes());
        fixed[9..17].copy_from_slice(&fields.seq.to_le_bytes());
        fixed[17..25].copy_from_slice(&fields.rtp_time.to_le_bytes());
        fixed[25] = u8::from(fields.marker);

        let mut crc = crc32fast::Hasher::new();
        crc.update(&fixed);
        crc.update(payload);
        let mut frame = [0; FRAME_HEADER_LEN];
        // The length fits in u32 because it is at most MAX_RECORD_LEN.
        frame[..4].copy_from_slice(&(length as u32).to_le_bytes());
        frame[4..].copy_from_slice(&crc.finalize().to_le_bytes());
        self.write(op, &frame)?;
        self.write(op, &fixed)?;
        self.write(op, payload)
    }

    /// Appends the clock mapping of a sender report.
    pub fn append_sender_report(&mut self, clock: SenderClock) -> Result<(), RecorderError> {
        encode_sender_report(clock, &mut self.body);
        self.write_body(Operation::AppendJournal)
    }

    /// Hands buffered records to the operating system (a write, not an fsync), so that they
    /// survive a kill of the process.
    pub fn flush(&mut self) -> Result<(), RecorderError> {
        self.flush_as(Operation::FlushJournal)
    }

    /// Flushes and closes the file without syncing it to the disk, for a caller that syncs
    /// it on another thread.
    pub fn close(mut self) -> Result<(), RecorderError> {
        self.flush_as(Operation::FinishJournal)
    }

    /// Flushes, syncs the file and its folder to the disk, and closes the file.
    pub fn finish(mut self) -> Result<(), RecorderError> {
        let op = Operation::FinishJournal;
        self.flush_as(op)?;
        self.output
            .get_ref()
            .sync_all()
            .map_err(|e| RecorderError::io(op, &self.path, e))?;
        sync_parent(&self.path).map_err(|e| RecorderError::io(op, &self.path, e))
    }

    /// Returns the bytes appended so far, including those still buffered.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Returns the path of the journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the magic bytes and the header, which is in `self.body`, and flushes them.
    fn write_start(&mut self) -> Result<(), RecorderError> {
        let op = Operation::CreateJournal;
        self.write(op, MAGIC)?;
        self.write_body(op)?;
        self.flush_as(op)
    }

    fn check_length(&self, op: Operation, length: usize) -> Result<(), RecorderError> {
        if length > MAX_RECORD_LEN {
            return Err(RecorderError::RecordTooLarge {
                operation: op,
                path: self.path.clone(),
                length,
                max: MAX_RECORD_LEN,
            });
        }
        Ok(())
    }

    fn write_body(&mut self, op: Operation) -> Result<(), RecorderError> {
        let length = self.body.len();
        self.check_length(op, length)?;
        let mut frame = [0; FRAME_HEADER_LEN];
        // The length fits in u32 because it is at most MAX_RECORD_LEN.
        frame[..4].copy_from_slice(&(length as u32).to_le_bytes());
        frame[4..].copy_from_slice(&crc32fast::hash(&self.body).to_le_bytes());
        self.write(op, &frame)?;

        let body = std::mem::take(&mut self.body);
        let result = self.write(op, &body);
        self.body = body;
        result
    }

    fn write(&mut self, op: Operation, bytes: &[u8]) -> Result<(), RecorderError> {
        self.check_usable(op)?;
        if let Err(e) = self.output.write_all(bytes) {
            self.failed = true;
            return Err(RecorderError::io(op, &self.path, e));
        }
        self.bytes_written += bytes.len() as u64;
        Ok(())
    }

    fn flush_as(&mut self, op: Operation) -> Result<(), RecorderError> {
        self.check_usable(op)?;
        if let Err(e) = self.output.flush() {
            self.failed = true;
            return Err(RecorderError::io(op, &self.path, e));
        }
        Ok(())
    }

    fn check_usable(&self, op: Operation) -> Result<(), RecorderError> {
        if !self.failed {
            return Ok(());
        }
        let reason = "an earlier write failed, so the journal ends at its last complete record";
        Err(RecorderError::io(op, &self.path, io::Error::other(reason)))
    }
}

fn encode_sender_report(clock: SenderClock, body: &mut Vec<u8>) {
    body.clear();
    body.push(RECORD_SENDER_REPORT);
    body.extend_from_slice(&clock.ntp_unix_us.to_le_bytes());
    body.extend_from_slice(&clock.rtp_time.to_le_bytes());
}

/// Syncs the folder that contains `path`, so that a newly created file's name survives a
/// power loss.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => File::open(parent)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

/// Reads the whole journal at `path`: its header and every complete record.
pub fn read_journal(path: &Path) -> Result<Journal, RecorderError> {
    let mut reader = JournalReader::open(path)?;
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }
    Ok(Journal {
        header: reader.header,
        torn_tail: reader.torn_tail,
        records,
    })
}

/// Reader of a journal file, one record at a time.
pub struct JournalReader {
    input: BufReader<File>,
    path: PathBuf,
    header: JournalHeader,
    /// Byte offset of the next record.
    offset: u64,
    torn_tail: bool,
    finished: bool,
}

/// Outcome of reading one record frame.
enum Frame {
    Body(Vec<u8>),
    End,
    Torn(&'static str),
}

impl JournalReader {
    /// Opens the journal at `path` and reads its magic bytes and header. Fails when either is
    /// missing or corrupt, since the records cannot be interpreted without them.
    pub fn open(path: &Path) -> Result<Self, RecorderError> {
        let op = Operation::ReadJournal;
        let file = File::open(path).map_err(|e| RecorderError::io(op, path, e))?;
        let mut input = BufReader::with_capacity(READ_BUFFER, file);

        let mut magic = [0; MAGIC.len()];
        let read = read_full(&mut input, &mut magic).map_err(|e| RecorderError::io(op, path, e))?;
        if read < magic.len() || &magic != MAGIC {
            return Err(RecorderError::invalid(
                op,
                path,
                "missing the journal magic bytes PSJRNL01",
            ));
        }

        let offset = MAGIC.len() as u64;
        let body = match read_frame(&mut input).map_err(|e| RecorderError::io(op, path, e))? {
            Frame::Body(body) => body,
            Frame::End => return Err(RecorderError::invalid(op, path, "missing the header")),
            Frame::Torn(reason) => {
                let reason = format!("header record at byte {offset}: {reason}");
                return Err(RecorderError::invalid(op, path, reason));
            }
        };
        let header = serde_json::from_slice(&body).map_err(|source| RecorderError::Json {
            operation: op,
            path: path.to_owned(),
            source,
        })?;

        Ok(Self {
            input,
            path: path.to_owned(),
            header,
            offset: offset + (FRAME_HEADER_LEN + body.len()) as u64,
            torn_tail: false,
            finished: false,
        })
    }

    /// Returns the journal header.
    pub fn header(&self) -> &JournalHeader {
        &self.header
    }

    /// Returns whether reading stopped at an incomplete or corrupt record.
    pub fn torn_tail(&self) -> bool {
        self.torn_tail
    }

    /// Reads the next record. Returns `None` at the end of the file or at a torn record, and an
    /// error for a record whose CRC matches but whose content is invalid.
    pub fn next_record(&mut self) -> Result<Option<JournalRecord>, RecorderError> {
        if self.finished {
            return Ok(None);
        }
        let op = Operation::ReadJournal;
        let frame =
            read_frame(&mut self.input).map_err(|e| RecorderError::io(op, &self.path, e))?;
        let body = match frame {
            Frame::Body(body) => body,
            Frame::End => return Ok(self.finish(false)),
            Frame::Torn(reason) => {
                tracing::warn!(
                    path = %self.path.display(),
                    offset = self.offset,
                    reason,
                    "journal ends with a torn record"
                );
                return Ok(self.finish(true));
            }
        };

        let length = body.len();
        let record = decode_record(body).map_err(|reason| {
            let reason = format!("record at byte {}: {reason}", self.offset);
            RecorderError::invalid(op, &self.path, reason)
        })?;
        self.offset += (FRAME_HEADER_LEN + length) as u64;
        Ok(Some(record))
    }

    fn finish(&mut self, torn: bool) -> Option<JournalRecord> {
        self.finished = true;
        self.torn_tail = torn;
        None
    }
}

/// Reads one `[length][crc][body]` frame.
fn read_frame(input: &mut impl Read) -> io::Result<Frame> {
    let mut header = [0; FRAME_HEADER_LEN];
    match read_full(input, &mut header)? {
        0 => return Ok(Frame::End),
        FRAME_HEADER_LEN => {}
        _ => return Ok(Frame::Torn("incomplete length and CRC fields")),
    }
    let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
    let length = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    if length > MAX_RECORD_LEN {
        return Ok(Frame::Torn(
            "length field exceeds the maximum record length",
        ));
    }

    // read_to_end fills the body without zeroing it first.
    let mut body = Vec::with_capacity(length);
    if input.take(length as u64).read_to_end(&mut body)? < length {
        return Ok(Frame::Torn("incomplete body"));
    }
    if crc32fast::hash(&body) != crc {
        return Ok(Frame::Torn("CRC mismatch"));
    }
    Ok(Frame::Body(body))
}

/// Reads until `buffer` is full or the input ends, and returns the bytes read.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn decode_record(body: Vec<u8>) -> Result<JournalRecord, String> {
    match body.first() {
        Some(&RECORD_PACKET) => decode_packet(body).map(JournalRecord::Packet),
        Some(&RECORD_SENDER_REPORT) => decode_sender_report(&body).map(JournalRecord::SenderReport),
        Some(other) => Err(format!("unknown record type {other}")),
        None => Err("empty record".into()),
    }
}

/// Decodes a packet record, reusing the body's allocation for the payload.
fn decode_packet(mut body: Vec<u8>) -> Result<JournalPacket, String> {
    if body.len() < PACKET_FIXED_LEN {
        return Err(format!(
            "packet record of {} bytes is too short",
            body.len()
        ));
    }
    let packet = JournalPacket {
        arrival_unix_us: u64_at(&body, 1),
        seq: u64_at(&body, 9),
        rtp_time: u64_at(&body, 17),
        marker: body[25] != 0,
        payload: Vec::new(),
    };
    body.drain(..PACKET_FIXED_LEN);
    Ok(JournalPacket {
        payload: body,
        ..packet
    })
}

fn decode_sender_report(body: &[u8]) -> Result<SenderClock, String> {
    if body.len() != SENDER_REPORT_LEN {
        return Err(format!("sender report record has {} bytes", body.len()));
    }
    Ok(SenderClock {
        ntp_unix_us: u64_at(body, 1),
        rtp_time: u64_at(body, 9),
    })
}

/// Reads a little-endian u64 at `offset`. The caller has checked the length.
fn u64_at(body: &[u8], offset: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&body[offset..offset + 8]);
    u64::from_le_bytes(bytes)
}
