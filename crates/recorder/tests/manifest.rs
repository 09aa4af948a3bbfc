//! Manifest hash chain, verification against stored segments, and atomic writes.

use std::collections::HashMap;
use std::fs;

use recorder::journal::Codec;
use recorder::manifest::{
    chain_link, sha256_file, sha256_hex, verify, Event, Gap, Manifest, RecordingStatus,
    SegmentEntry, VerifyReport,
};
use recorder::RecorderError;

const STARTED_MS: u64 = 1_700_000_000_000;

/// Stored segment files by object key.
type Storage = HashMap<String, Vec<u8>>;

/// A field name and a change of that field.
type FieldChange = (&'static str, fn(&mut SegmentEntry));

fn entry(index: u32, source: &str, bytes: &[u8]) -> SegmentEntry {
    let started_unix_ms = STARTED_MS + u64::from(index) * 4_000;
    SegmentEntry {
        index,
        source: source.into(),
        key: format!("recordings/r/p/rec/{source}/{index:06}.webm"),
        started_unix_ms,
        media_start_ms: started_unix_ms - STARTED_MS,
        duration_ms: 4_000,
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        chain: String::new(),
        codec: if source == "microphone" {
            Codec::Opus
        } else {
            Codec::Vp8
        },
        width: None,
        height: None,
        missing_packets: 0,
        uploaded: true,
    }
}

/// Builds a manifest of four segments and the storage that contains their files.
fn recording() -> (Manifest, Storage) {
    let mut manifest = Manifest::new("rec", "room-1", "participant-7", STARTED_MS, 4_000);
    let mut storage = Storage::new();
    for (index, source) in ["camera", "microphone", "camera", "microphone"]
        .into_iter()
        .enumerate()
    {
        let bytes: Vec<u8> = (0..500 + index * 10)
            .map(|b| (b * 31 + index) as u8)
            .collect();
        let entry = entry(index as u32, source, &bytes);
        storage.insert(entry.key.clone(), bytes);
        manifest.push_segment(entry);
    }
    (manifest, storage)
}

fn verify_in(manifest: &Manifest, storage: &Storage) -> VerifyReport {
    verify(manifest, |key| {
        storage
            .get(key)
            .cloned()
            .ok_or_else(|| "object not found".to_owned())
    })
}

fn assert_problem(report: &VerifyReport, expected: &str) {
    assert!(!report.ok, "{report:?}");
    assert!(
        report
            .problems
            .iter()
            .any(|problem| problem.contains(expected)),
        "no problem contains {expected:?}: {report:?}"
    );
}

#[test]
fn chain_link_known_value() {
    let first = entry(0, "camera", b"hello");
    assert_eq!(
        first.sha256,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    let first = SegmentEntry {
        started_unix_ms: 1_700_000_000_123,
        ..first
    };
    // printf '\n0\ncamera\n1700000000123\n<sha256 of hello>' | sha256sum
    assert_eq!(
        chain_link("", &first),
        "936c6c41a3401dad54979c7c117fe8bb9d2546b511c066f629200d4163a1eb33"
    );
}

#[test]
fn push_segment_links_chain() {
    let (manifest, _) = recording();
    assert_eq!(
        manifest.segments[0].chain,
        chain_link("", &manifest.segments[0])
    );
    for pair in manifest.segments.windows(2) {
        assert_eq!(pair[1].chain, chain_link(&pair[0].chain, &pair[1]));
    }
    assert_eq!(manifest.chain_head, manifest.segments[3].chain);
}

#[test]
fn verify_passes_intact_recording() {
    let (manifest, storage) = recording();
    let report = verify_in(&manifest, &storage);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.segments_checked, 4);
    assert!(report.problems.is_empty());
}

#[test]
fn verify_passes_empty_recording() {
    let manifest = Manifest::new("rec", "room-1", "participant-7", STARTED_MS, 4_000);
    let report = verify_in(&manifest, &Storage::new());
    assert!(report.ok, "{report:?}");
    assert_eq!(report.segments_checked, 0);
}

#[test]
fn removed_segment_detected() {
    let (mut manifest, storage) = recording();
    manifest.segments.remove(1);
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "segment 2: chain link");
}

#[test]
fn removed_last_segment_detected() {
    let (mut manifest, storage) = recording();
    manifest.segments.pop();
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "chain_head");
}

#[test]
fn altered_segment_byte_detected() {
    let (manifest, mut storage) = recording();
    let key = &manifest.segments[2].key;
    storage.get_mut(key).unwrap()[100] ^= 0x01;
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "segment 2: SHA-256");
    assert_eq!(report.segments_checked, 4);
}

#[test]
fn altered_segment_with_new_hash_detected() {
    let (mut manifest, mut storage) = recording();
    let key = manifest.segments[2].key.clone();
    let bytes = storage.get_mut(&key).unwrap();
    bytes[100] ^= 0x01;
    manifest.segments[2].sha256 = sha256_hex(bytes);
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "segment 2: chain link");
}

#[test]
fn reordered_segments_detected() {
    let (mut manifest, storage) = recording();
    manifest.segments.swap(1, 2);
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "segment 2: chain link");
    assert_problem(&report, "segment 1: chain link");
}

#[test]
fn verify_repeated_index_fails() {
    let (mut manifest, storage) = recording();
    manifest.segments[2].index = manifest.segments[1].index;
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "listed twice");
}

#[test]
fn changed_chained_fields_detected() {
    let changes: [FieldChange; 4] = [
        ("index", |entry| entry.index += 10),
        ("source", |entry| entry.source = "screen".into()),
        ("started_unix_ms", |entry| entry.started_unix_ms += 1),
        ("sha256", |entry| entry.sha256 = sha256_hex(b"other")),
    ];
    for (field, change) in changes {
        let (mut manifest, storage) = recording();
        change(&mut manifest.segments[1]);
        let report = verify_in(&manifest, &storage);
        assert!(!report.ok, "changing {field} went unnoticed");
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains("chain link")),
            "changing {field}: {report:?}"
        );
    }
}

#[test]
fn unchained_fields_may_change() {
    let (mut manifest, storage) = recording();
    manifest.segments[1].uploaded = false;
    manifest.segments[1].missing_packets = 3;
    manifest.status = RecordingStatus::Complete;
    let report = verify_in(&manifest, &storage);
    assert!(report.ok, "{report:?}");
}

#[test]
fn missing_object_reported() {
    let (mut manifest, mut storage) = recording();
    storage.remove(&manifest.segments[3].key);
    manifest.segments[3].uploaded = false;
    let report = verify_in(&manifest, &storage);
    assert_problem(&report, "segment 3 (not uploaded yet): fetching");
    assert_eq!(report.segments_checked, 3);
}

#[test]
fn write_read_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    let (mut manifest, _) = recording();
    manifest.status = RecordingStatus::NoMedia;
    manifest.ended_unix_ms = Some(STARTED_MS + 16_000);
    manifest.gaps.push(Gap {
        source: "camera".into(),
        from_unix_ms: STARTED_MS + 4_000,
        to_unix_ms: STARTED_MS + 5_000,
        reason: "track_muted".into(),
    });
    manifest.events.push(Event {
        at_unix_ms: STARTED_MS,
        kind: "track_started".into(),
        source: Some("camera".into()),
        detail: None,
    });

    manifest.write_atomic(&path).unwrap();
    assert_eq!(Manifest::read(&path).unwrap(), manifest);
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["status"], "no_media");
    assert_eq!(json["format"], 1);
    assert_eq!(json["segments"][1]["codec"], "opus");
    assert_eq!(json["segments"][0]["media_start_ms"], 0);
    assert_eq!(json["chain_head"], manifest.segments[3].chain.as_str());
}

#[test]
fn write_replaces_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    let (mut manifest, _) = recording();
    manifest.write_atomic(&path).unwrap();
    manifest.status = RecordingStatus::Complete;
    manifest.write_atomic(&path).unwrap();

    assert_eq!(
        Manifest::read(&path).unwrap().status,
        RecordingStatus::Complete
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["manifest.json"]);
}

#[test]
fn write_into_missing_folder_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent").join("manifest.json");
    let (manifest, _) = recording();
    let result = manifest.write_atomic(&path);
    assert!(
        matches!(result, Err(RecorderError::Io { .. })),
        "{result:?}"
    );
}

#[test]
fn read_rejects_bad_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    fs::write(&path, b"{\"format\": 1").unwrap();
    let result = Manifest::read(&path);
    assert!(
        matches!(result, Err(RecorderError::Json { .. })),
        "{result:?}"
    );

    let (mut manifest, _) = recording();
    manifest.format = 2;
    fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let result = Manifest::read(&path);
    assert!(
        matches!(result, Err(RecorderError::InvalidFormat { .. })),
        "{result:?}"
    );
}

#[test]
fn sha256_file_matches_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segment.webm");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&path, &bytes).unwrap();
    assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&bytes));
}
