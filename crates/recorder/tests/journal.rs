//! Journal round trips, torn tails, corruption and kills of the writer.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use recorder::journal::{
    read_journal, Codec, JournalHeader, JournalPacket, JournalRecord, JournalWriter, SenderClock,
    MAX_RECORD_LEN,
};
use recorder::RecorderError;

fn header() -> JournalHeader {
    JournalHeader {
        codec: Codec::Vp8,
        payload_type: 96,
        source: "camera".into(),
        recording: "0b6c5d7e-3f4a-4b2c-9d1e-8f7a6b5c4d3e".into(),
        segment_index: 7,
    }
}

/// Packet `i` of a test stream, with a payload whose length and content depend on `i`.
fn packet(i: u64) -> JournalPacket {
    let length = 20 + (i as usize * 37) % 1100;
    JournalPacket {
        arrival_unix_us: 1_700_000_000_000_000 + i * 3_333,
        seq: 65_530 + i,
        rtp_time: 4_294_967_000 + (i / 3) * 3_000,
        marker: i % 3 == 2,
        payload: (0..length).map(|b| (b as u64 * 7 + i) as u8).collect(),
    }
}

fn records(count: u64) -> Vec<JournalRecord> {
    (0..count)
        .map(|i| {
            if i % 10 == 5 {
                JournalRecord::SenderReport(SenderClock {
                    ntp_unix_us: 1_700_000_000_000_000 + i,
                    rtp_time: 4_294_967_000 + i * 1_000,
                })
            } else {
                JournalRecord::Packet(packet(i))
            }
        })
        .collect()
}

fn append(writer: &mut JournalWriter, record: &JournalRecord) {
    match record {
        JournalRecord::Packet(packet) => writer.append_packet(packet).unwrap(),
        JournalRecord::SenderReport(clock) => writer.append_sender_report(*clock).unwrap(),
    }
}

fn write_journal(path: &Path, records: &[JournalRecord]) {
    let mut writer = JournalWriter::create(path, &header()).unwrap();
    for record in records {
        append(&mut writer, record);
    }
    writer.finish().unwrap();
}

/// Length of a record in the file: length and CRC fields plus the body.
fn record_len(record: &JournalRecord) -> usize {
    8 + match record {
        JournalRecord::Packet(packet) => 26 + packet.payload.len(),
        JournalRecord::SenderReport(_) => 17,
    }
}

#[test]
fn round_trip_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000007.journal");
    let written = records(40);
    write_journal(&path, &written);

    let journal = read_journal(&path).unwrap();
    assert_eq!(journal.header, header());
    assert_eq!(journal.records, written);
    assert!(!journal.torn_tail);
    assert_eq!(journal.packets().count(), 36);
    assert_eq!(journal.sender_reports().count(), 4);
}

#[test]
fn bytes_written_matches_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut writer = JournalWriter::create(&path, &header()).unwrap();
    for record in records(12) {
        append(&mut writer, &record);
    }
    let counted = writer.bytes_written();
    writer.finish().unwrap();
    assert_eq!(counted, fs::metadata(&path).unwrap().len());
}

#[test]
fn create_rejects_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    write_journal(&path, &records(3));
    let result = JournalWriter::create(&path, &header());
    assert!(matches!(result, Err(RecorderError::Io { .. })));
    assert_eq!(read_journal(&path).unwrap().records.len(), 3);
}

#[test]
fn truncation_in_last_record_is_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full");
    let written = records(8);
    write_journal(&path, &written);
    let bytes = fs::read(&path).unwrap();
    let last_start = bytes.len() - record_len(written.last().unwrap());

    let cut_path = dir.path().join("cut");
    for cut in last_start..bytes.len() {
        fs::write(&cut_path, &bytes[..cut]).unwrap();
        let journal = read_journal(&cut_path).unwrap();
        assert_eq!(journal.records, written[..7], "cut at byte {cut}");
        assert_eq!(journal.torn_tail, cut > last_start, "cut at byte {cut}");
    }
}

#[test]
fn flipped_byte_ends_reading_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full");
    let written = records(6);
    write_journal(&path, &written);
    let bytes = fs::read(&path).unwrap();
    let total: usize = written.iter().map(record_len).sum();
    let records_start = bytes.len() - total;
    let third_start = records_start + record_len(&written[0]) + record_len(&written[1]);
    let third_end = third_start + record_len(&written[2]);

    let flipped_path = dir.path().join("flipped");
    for position in third_start..third_end {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0xff;
        fs::write(&flipped_path, &flipped).unwrap();
        let journal = read_journal(&flipped_path).unwrap();
        assert_eq!(journal.records, written[..2], "byte {position} flipped");
        assert!(journal.torn_tail, "byte {position} flipped");
    }
}

#[test]
fn corrupt_header_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    write_journal(&path, &records(2));
    let mut bytes = fs::read(&path).unwrap();
    bytes[20] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    let result = read_journal(&path);
    assert!(matches!(result, Err(RecorderError::InvalidFormat { .. })));
}

#[test]
fn missing_magic_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    fs::write(&path, b"PSJRNL0").unwrap();
    let result = read_journal(&path);
    assert!(matches!(result, Err(RecorderError::InvalidFormat { .. })));
    fs::write(&path, b"RIFF0000anything").unwrap();
    let result = read_journal(&path);
    assert!(matches!(result, Err(RecorderError::InvalidFormat { .. })));
}

#[test]
fn oversized_packet_rejected_on_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut writer = JournalWriter::create(&path, &header()).unwrap();
    let largest = JournalPacket {
        payload: vec![1; MAX_RECORD_LEN - 26],
        ..packet(0)
    };
    writer.append_packet(&largest).unwrap();
    let oversized = JournalPacket {
        payload: vec![2; MAX_RECORD_LEN - 25],
        ..packet(1)
    };
    let result = writer.append_packet(&oversized);
    assert!(matches!(
        result,
        Err(RecorderError::RecordTooLarge { length, .. }) if length == MAX_RECORD_LEN + 1
    ));
    writer.append_packet(&packet(2)).unwrap();
    writer.finish().unwrap();

    let journal = read_journal(&path).unwrap();
    let payload_lengths: Vec<usize> = journal.packets().map(|p| p.payload.len()).collect();
    assert_eq!(
        payload_lengths,
        [MAX_RECORD_LEN - 26, packet(2).payload.len()]
    );
    assert!(!journal.torn_tail);
}

#[test]
fn oversized_length_field_is_torn_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    write_journal(&path, &records(2));
    let mut bytes = fs::read(&path).unwrap();
    let length = (MAX_RECORD_LEN as u32 + 1).to_le_bytes();
    bytes.extend_from_slice(&length);
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.resize(bytes.len() + MAX_RECORD_LEN + 1, 0);
    fs::write(&path, &bytes).unwrap();

    let journal = read_journal(&path).unwrap();
    assert_eq!(journal.records, records(2));
    assert!(journal.torn_tail);
}

#[test]
fn valid_crc_unknown_type_is_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    write_journal(&path, &records(1));
    let mut bytes = fs::read(&path).unwrap();
    let body = [9u8, 1, 2, 3];
    bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    fs::write(&path, &bytes).unwrap();

    let result = read_journal(&path);
    assert!(matches!(result, Err(RecorderError::InvalidFormat { .. })));
}

#[test]
fn forgotten_writer_keeps_flushed_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let written = records(30);
    let mut writer = JournalWriter::create(&path, &header()).unwrap();
    for record in &written[..20] {
        append(&mut writer, record);
    }
    writer.flush().unwrap();
    for record in &written[20..] {
        append(&mut writer, record);
    }
    // Leaking the writer skips its destructor, as a kill of the process would, so the
    // records after the flush never leave its buffer.
    std::mem::forget(writer);

    let journal = read_journal(&path).unwrap();
    assert_eq!(journal.records, written[..20]);
    assert!(!journal.torn_tail);
}

/// Environment variable that turns `kill_child_writer` into the writer process.
const KILL_PATH_VAR: &str = "RECORDER_TEST_KILL_JOURNAL";
const FLUSHED: u64 = 25;

#[test]
fn sigkill_keeps_flushed_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.journal");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill_child_writer", "--exact", "--ignored", "--nocapture"])
        .env(KILL_PATH_VAR, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line == "journal ready");
    assert!(ready, "the child process did not write the journal");
    // Child::kill sends SIGKILL on Unix.
    child.kill().unwrap();
    child.wait().unwrap();

    let journal = read_journal(&path).unwrap();
    assert_eq!(journal.records, records(FLUSHED));
    assert!(!journal.torn_tail);
}

/// Writer process of `sigkill_keeps_flushed_records`: flushes some records, buffers more,
/// reports that it is ready and waits to be killed.
#[test]
#[ignore = "runs only as the child process of sigkill_keeps_flushed_records"]
fn kill_child_writer() {
    let Some(path) = std::env::var_os(KILL_PATH_VAR) else {
        return;
    };
    let written = records(FLUSHED + 10);
    let mut writer = JournalWriter::create(Path::new(&path), &header()).unwrap();
    for record in &written[..FLUSHED as usize] {
        append(&mut writer, record);
    }
    writer.flush().unwrap();
    for record in &written[FLUSHED as usize..] {
        append(&mut writer, record);
    }
    println!("journal ready");
    std::thread::sleep(std::time::Duration::from_secs(60));
}
