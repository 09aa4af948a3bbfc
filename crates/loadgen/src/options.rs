//! Command-line options of `profstage-load`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use serde::Serialize;

/// Which subscribers watch which publishers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Each publisher presents in a room of its own (as an organiser) to its own
    /// subscribers (participants), as in a briefing.
    PerPublisher,
    /// Every publisher (a participant) is in one room and every subscriber (an expert)
    /// watches all of them, as experts watch a contest.
    WatchAll,
}

/// The kind of server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Profstage: clients get tokens from `POST /api/dev/token` and signal over its
    /// WebSocket.
    Profstage,
    /// Janus Gateway with its VideoRoom plugin, signalled over its HTTP REST API. The run
    /// creates its own rooms; `--url` names the API's base, such as
    /// `http://127.0.0.1:8088/janus`.
    Janus,
}

/// Options of one run.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(
    name = "profstage-load",
    version,
    about = "Load generator for the Profstage SFU: publishers and subscribers over real \
             WebRTC, with loss, jitter, added latency, join time and the server's CPU and memory",
    after_help = "The server must be in development mode (it hands out tokens on \
                  POST /api/dev/token). Exit status: 0 when the run passed, 1 when it \
                  failed (see the failures listed), 2 when it could not run."
)]
pub struct Options {
    /// URL of the server's HTTP listener
    #[arg(long, default_value = "http://127.0.0.1:8080/")]
    pub url: String,

    /// The kind of server at --url
    #[arg(long, value_enum, default_value_t = Target::Profstage)]
    pub target: Target,

    /// Who watches whom
    #[arg(long, value_enum, default_value_t = Mode::PerPublisher)]
    pub mode: Mode,

    /// Publishers, each with one camera (VP8) and one microphone (Opus) track
    #[arg(long, default_value_t = 1)]
    pub publishers: u32,

    /// Subscribers per publisher (per-publisher mode) or in all, each watching every
    /// publisher (watch-all mode)
    #[arg(long, default_value_t = 3)]
    pub subscribers: u32,

    /// Room to use in watch-all mode, or with one publisher; other runs take the
    /// server's rooms in order, one per publisher [default: the server's first room].
    /// Not used with --target janus, where the run creates its rooms
    #[arg(long)]
    pub room: Option<String>,

    /// Seconds of the measurement window, after every subscriber has its first frames
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Video bitrate per publisher, kbit/s
    #[arg(long, default_value_t = 1500)]
    pub video_kbps: u64,

    /// Video frames per second
    #[arg(long, default_value_t = 30)]
    pub fps: u32,

    /// Seconds between periodic keyframes; keyframe requests get one sooner
    #[arg(long, default_value_t = 3.0)]
    pub keyframe_interval: f64,

    /// Video width declared in keyframes
    #[arg(long, default_value_t = 1280)]
    pub width: u16,

    /// Video height declared in keyframes
    #[arg(long, default_value_t = 720)]
    pub height: u16,

    /// Bytes of each Opus payload, 50 packets a second
    #[arg(long, default_value_t = 80)]
    pub audio_bytes: usize,

    /// Send the camera as three simulcast layers, as the web client does: RIDs q, h and f,
    /// at a quarter, half and the full frame size, with a tenth, a third and all of
    /// --video-kbps
    #[arg(long)]
    pub simulcast: bool,

    /// Size that subscribers send in `video_size` for each video, as WIDTHxHEIGHT in device
    /// pixels, which chooses their simulcast layer [default: none, which gets the top layer]
    #[arg(long, value_name = "WIDTHxHEIGHT", value_parser = parse_view_size)]
    pub view_size: Option<ViewSize>,

    /// Subscribers that start joining per second
    #[arg(long, default_value_t = 50.0)]
    pub join_rate: f64,

    /// Seconds to wait for publishers to connect, and for subscribers' first frames after
    /// the last one started joining
    #[arg(long, default_value_t = 20.0)]
    pub join_timeout: f64,

    /// Process id of the server [default: the process listening on the URL's port]
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Largest share of packets lost, from 0 to 1, for the run to pass
    #[arg(long, default_value_t = 0.01)]
    pub max_loss: f64,

    /// Write the report as JSON to this file
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Local address for the clients' UDP sockets
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,

    /// Worker threads of the load generator
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

/// A size at which a subscriber shows a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ViewSize {
    /// Width in device pixels.
    pub width: u32,
    /// Height in device pixels.
    pub height: u32,
}

fn parse_view_size(text: &str) -> Result<ViewSize, String> {
    let invalid = || format!("expected WIDTHxHEIGHT, such as 320x180, got {text:?}");
    let (width, height) = text.split_once('x').ok_or_else(invalid)?;
    Ok(ViewSize {
        width: width.parse().map_err(|_| invalid())?,
        height: height.parse().map_err(|_| invalid())?,
    })
}

impl Options {
    /// Returns options for `publishers` and `subscribers` against `url`, with every other
    /// option at its default.
    pub fn new(url: &str, mode: Mode, publishers: u32, subscribers: u32) -> Self {
        let mut options = Self::parse_from(["profstage-load"]);
        options.url = url.to_string();
        options.mode = mode;
        options.publishers = publishers;
        options.subscribers = subscribers;
        options
    }

    /// Frames between periodic keyframes.
    pub fn keyframe_every(&self) -> u32 {
        ((self.keyframe_interval * f64::from(self.fps)).round() as u32).max(5)
    }
}
