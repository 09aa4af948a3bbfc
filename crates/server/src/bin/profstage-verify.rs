//! `profstage-verify`: checks a recording in storage. It reads the recording's manifest,
//! fetches every segment, and compares sizes, SHA-256 hashes and the hash chain.
//!
//! Usage: `profstage-verify [--config PATH] RECORDING_ID`. Storage settings come from the
//! server's TOML file (default `config/default.toml` when it exists) and `PROFSTAGE_STORAGE_*`
//! variables, as for the server. Exit status: 0 when the recording verifies, 1 when it does
//! not, 2 when it cannot be checked.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use profstage_server::config::{self, Config};
use profstage_server::recording::KEY_ROOT;
use recorder::manifest::Manifest;
use storage::{KeyPrefix, ObjectKey, Storage};

/// Exit status when the recording cannot be checked at all.
const EXIT_UNCHECKED: u8 = 2;

#[derive(Parser)]
#[command(
    name = "profstage-verify",
    version,
    about = "Verify a recording's segments against its manifest's SHA-256 hashes and hash chain"
)]
struct Args {
    /// The server's TOML configuration file, for its [storage] section.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The recording's identifier, as in the review page and the API.
    recording: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("profstage-verify: {message}");
            ExitCode::from(EXIT_UNCHECKED)
        }
    }
}

/// Verifies the recording and prints the report; returns whether it verified.
async fn run(args: &Args) -> Result<bool, String> {
    let storage = open_storage(args)?;
    let manifest = find_manifest(&storage, &args.recording).await?;
    let mut files = HashMap::new();
    let mut unreadable = Vec::new();
    for segment in &manifest.segments {
        let key = ObjectKey::new(segment.key.clone()).map_err(|e| e.to_string())?;
        match storage.get(&key).await {
            Ok(bytes) => {
                files.insert(segment.key.clone(), bytes.to_vec());
            }
            Err(error) => unreadable.push(format!("segment {}: {error}", segment.index)),
        }
    }
    let report = recorder::manifest::verify(&manifest, |key| {
        files
            .remove(key)
            .ok_or_else(|| "not readable from storage".to_owned())
    });
    println!(
        "recording {} ({} segments, chain head {})",
        manifest.recording,
        manifest.segments.len(),
        manifest.chain_head
    );
    for problem in unreadable.iter().chain(&report.problems) {
        println!("problem: {problem}");
    }
    let ok = report.ok && unreadable.is_empty();
    println!(
        "{}: {} segments checked",
        if ok { "ok" } else { "FAILED" },
        report.segments_checked
    );
    Ok(ok)
}

fn open_storage(args: &Args) -> Result<Storage, String> {
    let path = args.config.clone().or_else(|| {
        let default = PathBuf::from("config/default.toml");
        default.is_file().then_some(default)
    });
    let mut config = match path {
        Some(path) => Config::from_file(&path).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    let env = config::read_env().map_err(|e| e.to_string())?;
    config.apply_env(&env).map_err(|e| e.to_string())?;
    Storage::from_config(&config.storage).map_err(|e| e.to_string())
}

/// Finds `recordings/<room>/<participant>/<recording>/manifest.json` and parses it.
async fn find_manifest(storage: &Storage, recording: &str) -> Result<Manifest, String> {
    let prefix = KeyPrefix::new(format!("{KEY_ROOT}/")).map_err(|e| e.to_string())?;
    let suffix = format!("/{recording}/manifest.json");
    let objects = storage
        .list(&prefix)
        .await
        .map_err(|e| format!("listing recordings failed: {e}"))?;
    let key = objects
        .into_iter()
        .map(|object| object.key)
        .find(|key| key.as_str().ends_with(&suffix))
        .ok_or_else(|| format!("no recording {recording} in {}", storage.location()))?;
    let body = storage
        .get(&key)
        .await
        .map_err(|e| format!("reading the manifest failed: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("the manifest does not parse: {e}"))
}
