//! Load generator for the Profstage SFU.
//!
//! Many WebRTC clients in one process, each a str0m peer with its own UDP socket, join a
//! running server through its development token endpoint and WebSocket signalling, as a
//! browser does. Publishers send synthetic VP8 and Opus with a probe in every packet;
//! subscribers read the probes to count loss and to measure jitter and the latency the
//! server adds. The run samples the server's CPU time and memory from `/proc`. The same
//! load runs against Janus Gateway's VideoRoom plugin for comparison (`janus.rs`). See
//! `docs/load.md`.

use std::io;
use std::time::Duration;

pub mod clock;
pub mod floor;
pub mod janus;
pub mod options;
pub mod payload;
pub mod peer;
pub mod procfs;
pub mod publisher;
pub mod report;
pub mod run;
pub mod session;
pub mod signalling;
pub mod stats;
pub mod subscriber;
mod table;
pub mod udp;

pub use options::{Mode, Options, Target, ViewSize};
pub use report::Report;
pub use run::run;

/// How often each client sends `ping` on its signalling socket, or `keepalive` to Janus,
/// whose sessions time out after 60 s by default.
pub const PING_INTERVAL: Duration = Duration::from_secs(20);

/// The stage of a run, broadcast to every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Publishers send media.
    Run,
    /// Publishers stop sending; subscribers keep receiving what is still on its way.
    Drain,
    /// Everyone leaves.
    Leave,
}

/// Errors of a client or of the run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options or the server's setup do not allow the run.
    #[error("{0}")]
    Setup(String),
    /// A socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// The step that failed.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// An HTTP request to the server failed.
    #[error("HTTP: {0}")]
    Http(String),
    /// Signalling failed or the server rejected a request.
    #[error("signalling: {0}")]
    Signalling(String),
    /// The WebRTC stack failed.
    #[error("WebRTC: {0}")]
    Rtc(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: &'static str, source: io::Error) -> Self {
        Self::Io { what, source }
    }
}
