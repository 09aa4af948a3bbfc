//! A single-node Garage in a temporary folder, run through `scripts/garage`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use storage::{S3Config, SecretAccessKey, Storage, StorageConfig};
use tempfile::TempDir;

/// Exit status of `scripts/garage` when no garage binary is installed.
const EXIT_NOT_INSTALLED: i32 = 3;

/// Attempts to start a node. Two nodes starting at once can pick the same free port, and
/// then the later one fails to bind, so a failed start is tried again in a new folder.
const START_ATTEMPTS: usize = 3;

/// A Garage node on free loopback ports, stopped and deleted on drop.
pub struct Garage {
    dir: TempDir,
    /// Base URL of the S3 API.
    pub endpoint: String,
    /// Region to sign for.
    pub region: String,
    /// Bucket the key may read and write.
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl Garage {
    /// Starts a node with a bucket and key. Panics, failing the test, when garage is not
    /// installed: these tests must not pass without running.
    pub fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("storage-garage-")
                .tempdir()
                .expect("temporary folder for garage");
            match try_script("start", dir.path()) {
                Ok(output) => return Self::from_exports(dir, &output),
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "garage failed to start {START_ATTEMPTS} times:\n{}",
            failures.join("\n")
        );
    }

    fn from_exports(dir: TempDir, output: &Output) -> Self {
        let exports = String::from_utf8_lossy(&output.stdout);
        let value = |name: &str| export_value(&exports, name);

        Self {
            endpoint: value("PROFSTAGE_STORAGE_S3_ENDPOINT"),
            region: value("PROFSTAGE_STORAGE_S3_REGION"),
            bucket: value("PROFSTAGE_STORAGE_S3_BUCKET"),
            access_key_id: value("AWS_ACCESS_KEY_ID"),
            secret_access_key: value("AWS_SECRET_ACCESS_KEY"),
            dir,
        }
    }

    /// Stops the node gracefully, keeping its data and ports. Garage waits for open client
    /// connections first, which takes up to about 10 s.
    pub fn stop(&self) {
        run_script("stop", self.dir.path());
    }

    /// Kills the node with SIGKILL, as a crash would, keeping its data and ports.
    pub fn kill(&self) {
        let pid = self.pid();
        send_signal("KILL", pid);
        let exited = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.running_pid().is_none()
        });
        assert!(exited, "garage (pid {pid}) still runs after SIGKILL");
    }

    /// Starts the node again on the same data folder and ports.
    pub fn restart(&self) {
        run_script("start", self.dir.path());
    }

    /// Process id of the running node.
    pub fn pid(&self) -> u32 {
        self.running_pid().expect("garage runs")
    }

    /// Process id from `garage.pid` when that process is still a garage, so that no other
    /// process that got the id later is signalled.
    fn running_pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.dir.path().join("garage.pid")).ok()?;
        let pid: u32 = pid.trim().parse().ok()?;
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (name.trim() == "garage").then_some(pid)
    }

    /// Settings for the bucket with this node's key.
    pub fn s3_config(&self) -> S3Config {
        S3Config {
            endpoint: Some(self.endpoint.clone()),
            region: Some(self.region.clone()),
            bucket: Some(self.bucket.clone()),
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(SecretAccessKey::new(self.secret_access_key.clone())),
            ..S3Config::default()
        }
    }

    /// Builds a storage for the bucket with this node's key.
    pub fn storage(&self) -> Storage {
        storage_for(self.s3_config())
    }
}

impl Drop for Garage {
    /// Kills the node without a graceful stop, because its data is deleted next.
    fn drop(&mut self) {
        if let Some(pid) = self.running_pid() {
            // The status is ignored: the node may have exited since the check.
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// Sends SIGSTOP, SIGCONT or SIGKILL to a process this test started.
pub fn send_signal(name: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// Builds an S3 storage from `s3`.
pub fn storage_for(s3: S3Config) -> Storage {
    let config = StorageConfig {
        backend: storage::Backend::S3,
        s3,
        ..StorageConfig::default()
    };
    Storage::from_config(&config).expect("valid S3 configuration")
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/garage")
}

fn run_script(command: &str, dir: &Path) -> Output {
    try_script(command, dir).unwrap_or_else(|failure| panic!("{failure}"))
}

/// Runs `scripts/garage COMMAND DIR`, and panics when garage is not installed.
fn try_script(command: &str, dir: &Path) -> Result<Output, String> {
    let output = Command::new(script_path())
        .arg(command)
        .arg(dir)
        .output()
        .expect("scripts/garage runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(EXIT_NOT_INSTALLED) {
        panic!(
            "the S3 tests need Garage, which is not installed: run scripts/garage install \
             (about 10 minutes), then run the tests again.\n{stderr}"
        );
    }
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "scripts/garage {command} {} failed with {}:\n{stderr}",
            dir.display(),
            output.status
        ))
    }
}

fn export_value(exports: &str, name: &str) -> String {
    let prefix = format!("export {name}=");
    exports
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("scripts/garage start printed no export line for {name}"))
        .to_owned()
}
