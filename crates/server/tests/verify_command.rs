//! The `profstage-verify` command against a recording in a local storage folder.

use std::process::Command;

use recorder::journal::Codec;
use recorder::manifest::{sha256_hex, Manifest, SegmentEntry};

const PREFIX: &str = "recordings/demo/p-1/rec-7";

/// Writes a recording of three segments into `root` as the local backend stores it.
fn store_recording(root: &std::path::Path) {
    let mut manifest = Manifest::new("rec-7", "demo", "p-1", 5_000, 4_000);
    for index in 0..3u32 {
        let bytes = format!("segment number {index}").into_bytes();
        let key = format!("{PREFIX}/camera/{index:06}.webm");
        let path = root.join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        manifest.push_segment(SegmentEntry {
            index,
            source: "camera".into(),
            key,
            started_unix_ms: 5_000 + u64::from(index) * 4_000,
            media_start_ms: u64::from(index) * 4_000,
            duration_ms: 4_000,
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            chain: String::new(),
            codec: Codec::Vp8,
            width: Some(640),
            height: Some(480),
            missing_packets: 0,
            uploaded: true,
        });
    }
    let path = root.join(format!("{PREFIX}/manifest.json"));
    std::fs::write(path, serde_json::to_vec(&manifest).unwrap()).unwrap();
}

fn verify(root: &std::path::Path, recording: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_profstage-verify"))
        .arg(recording)
        .current_dir(root)
        .env("PROFSTAGE_STORAGE_BACKEND", "local")
        .env("PROFSTAGE_STORAGE_LOCAL_DIR", root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn intact_recording_verifies() {
    let folder = tempfile::tempdir().unwrap();
    store_recording(folder.path());
    let (status, text) = verify(folder.path(), "rec-7");
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("ok: 3 segments checked"), "{text}");
}

#[test]
fn altered_segment_fails() {
    let folder = tempfile::tempdir().unwrap();
    store_recording(folder.path());
    let segment = folder.path().join(format!("{PREFIX}/camera/000001.webm"));
    std::fs::write(segment, b"segment number X").unwrap();
    let (status, text) = verify(folder.path(), "rec-7");
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("problem: segment 1"), "{text}");
}

#[test]
fn removed_segment_fails() {
    let folder = tempfile::tempdir().unwrap();
    store_recording(folder.path());
    std::fs::remove_file(folder.path().join(format!("{PREFIX}/camera/000002.webm"))).unwrap();
    let (status, text) = verify(folder.path(), "rec-7");
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn unknown_recording_cannot_be_checked() {
    let folder = tempfile::tempdir().unwrap();
    store_recording(folder.path());
    let (status, text) = verify(folder.path(), "rec-nope");
    assert_eq!(status, 2, "{text}");
    assert!(text.contains("no recording rec-nope"), "{text}");
}
