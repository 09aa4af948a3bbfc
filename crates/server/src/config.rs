//! Typed configuration: defaults, TOML file, environment and command line.
//!
//! Each layer overrides the one before it:
//!
//! 1. [`Config::default`], the only place defaults live;
//! 2. a TOML file, given with `--config PATH`, or `config/default.toml` when that exists in
//!    the current directory;
//! 3. environment variables `PROFSTAGE_<SECTION>_<KEY>`, listed by [`env_var_names`];
//! 4. command-line flags, [`Cli`].
//!
//! [`Config::load`] applies the layers and validates the result.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use crate::client_address::TrustedProxy;
use crate::signalling::protocol::MAX_FRAME_BYTES;
use clap::Parser;
pub use mail::{MailConfig, MailPassword, MailSecurity};
use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;
pub use turn::{TurnConfig, TurnSecret};

mod mail;
mod turn;

/// The file read when no `--config` is given, relative to the current directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/default.toml";

/// Minimum length of `auth.token_secret`, in bytes: the size of an HMAC-SHA256 key.
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// Suffix of placeholder hostnames. The `.invalid` top-level domain never resolves
/// (RFC 2606), so such a name is rejected before any DNS lookup.
const PLACEHOLDER_SUFFIX: &str = ".invalid";

/// The server's whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Development mode; `None` means on when `http.listen` is a loopback address.
    /// `[dev] enabled` sets the same thing.
    pub dev_mode: Option<bool>,
    /// The HTTP and WebSocket listener.
    pub http: HttpConfig,
    /// The UDP media socket and the address browsers send media to.
    pub media: MediaConfig,
    /// Access tokens.
    pub auth: AuthConfig,
    /// Development mode, as a section.
    pub dev: DevConfig,
    /// The web client's files.
    pub web: WebConfig,
    /// Rooms people can join.
    pub rooms: Vec<RoomConfig>,
    /// WebSocket signalling sessions.
    pub signalling: SignallingConfig,
    /// Logging.
    pub log: LogConfig,
    /// Recording of published tracks.
    pub recording: RecordingConfig,
    /// Recording storage: a local folder or an S3 bucket.
    pub storage: storage::StorageConfig,
    /// The contest database.
    pub database: DatabaseConfig,
    /// The SMTP server for one-time approval codes.
    pub mail: MailConfig,
    /// The TURN server for browsers that reach no media port.
    pub turn: TurnConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            dev_mode: None,
            http: HttpConfig::default(),
            media: MediaConfig::default(),
            auth: AuthConfig::default(),
            dev: DevConfig::default(),
            web: WebConfig::default(),
            rooms: vec![RoomConfig {
                id: RoomId("demo".to_owned()),
                title: "Демонстрационная комната".to_owned(),
                retention_days: None,
            }],
            signalling: SignallingConfig::default(),
            log: LogConfig::default(),
            recording: RecordingConfig::default(),
            storage: storage::StorageConfig::default(),
            database: DatabaseConfig::default(),
            mail: MailConfig::default(),
            turn: TurnConfig::default(),
        }
    }
}

/// `[http]`: the HTTP and WebSocket listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port the HTTP server binds.
    pub listen: SocketAddr,
    /// Reverse proxies whose `X-Forwarded-For` header names the client, as addresses or
    /// CIDR blocks. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Seconds a client has to send a request's headers, on a new connection or between
    /// the requests of a kept-alive one, before the server closes the connection.
    pub header_timeout_secs: u64,
}

/// Longest accepted `http.header_timeout_secs`.
const MAX_HEADER_TIMEOUT_SECS: u64 = 600;

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxies: Vec::new(),
            header_timeout_secs: 30,
        }
    }
}

impl HttpConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_HEADER_TIMEOUT_SECS).contains(&self.header_timeout_secs) {
            return Err(ConfigError::invalid(
                "http.header_timeout_secs",
                self.header_timeout_secs,
                format!("must be from 1 to {MAX_HEADER_TIMEOUT_SECS} seconds"),
            ));
        }
        Ok(())
    }
}

/// `[media]`: the one UDP socket that carries every peer's media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Address and port the UDP media socket binds.
    pub udp_listen: SocketAddr,
    /// IP address or hostname put in the ICE host candidate.
    pub public_host: Option<String>,
    /// Port put in the ICE host candidate, for a NAT port forward.
    pub public_port: Option<u16>,
    /// Address and port of the TCP listener for ICE over TCP (RFC 6544, framed by RFC 4571),
    /// for browsers whose network blocks UDP. `None`: UDP only.
    pub tcp_listen: Option<SocketAddr>,
    /// Port put in the passive TCP candidate, for a NAT port forward.
    pub public_tcp_port: Option<u16>,
    /// Number of media workers, threads that each serve a share of the rooms on their own
    /// socket of the media port. 0: one per core the process may run on, at most 16.
    pub workers: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            udp_listen: SocketAddr::from(([127, 0, 0, 1], 50000)),
            public_host: None,
            public_port: None,
            tcp_listen: None,
            public_tcp_port: None,
            workers: 0,
        }
    }
}

/// `[auth]`: access tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC key that signs tokens. Required unless development mode is on.
    pub token_secret: Option<TokenSecret>,
    /// Lifetime of tokens from `POST /api/dev/token`, in seconds.
    pub dev_token_ttl_secs: u64,
    /// Lifetime of a contest session, from a password sign-in or an invite link, in seconds.
    pub session_ttl_secs: u64,
    /// Lifetime of an invite link created without `valid_hours`, in hours.
    pub invite_ttl_hours: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_secret: None,
            dev_token_ttl_secs: 12 * 60 * 60,
            session_ttl_secs: 12 * 60 * 60,
            invite_ttl_hours: profstage_contest::invites::DEFAULT_INVITE_HOURS,
        }
    }
}

/// Shortest `auth.session_ttl_secs`: five minutes, time to sign in and open a page.
pub const MIN_SESSION_TTL_SECS: u64 = 5 * 60;
/// Longest `auth.session_ttl_secs`: seven days, so that a lost cookie stops working within
/// a week.
pub const MAX_SESSION_TTL_SECS: u64 = 7 * 24 * 60 * 60;

impl AuthConfig {
    /// Returns the lifetimes the contest database gives new sessions and invite links.
    pub fn lifetimes(&self) -> profstage_contest::Lifetimes {
        let session_ms = self.session_ttl_secs.saturating_mul(1000);
        profstage_contest::Lifetimes {
            session_ms: i64::try_from(session_ms).unwrap_or(i64::MAX),
            default_invite_hours: self.invite_ttl_hours,
        }
    }

    fn validate_lifetimes(&self) -> Result<(), ConfigError> {
        let sessions = MIN_SESSION_TTL_SECS..=MAX_SESSION_TTL_SECS;
        if !sessions.contains(&self.session_ttl_secs) {
            return Err(ConfigError::invalid(
                "auth.session_ttl_secs",
                self.session_ttl_secs,
                format!(
                    "must be from {MIN_SESSION_TTL_SECS} (5 minutes) to \
                     {MAX_SESSION_TTL_SECS} (7 days) seconds"
                ),
            ));
        }
        let max_hours = profstage_contest::invites::MAX_INVITE_HOURS;
        if !(1..=max_hours).contains(&self.invite_ttl_hours) {
            return Err(ConfigError::invalid(
                "auth.invite_ttl_hours",
                self.invite_ttl_hours,
                format!("must be from 1 to {max_hours} hours (30 days)"),
            ));
        }
        Ok(())
    }
}

/// `[dev]`: development mode, as an alternative to the top-level `dev_mode` key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevConfig {
    /// Same as the top-level `dev_mode`.
    pub enabled: Option<bool>,
}

/// `[web]`: the web client's files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Directory served at `/`, relative to the current directory unless absolute.
    pub root: PathBuf,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("web-client"),
        }
    }
}

/// One `[[rooms]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Room identifier, as in tokens and signalling messages.
    pub id: RoomId,
    /// Name shown to people.
    pub title: String,
    /// Days this room's recordings are kept after they end; `recording.retention_days`
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u64>,
}

/// `[signalling]`: WebSocket signalling sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignallingConfig {
    /// Seconds without any message from a client before its session is closed.
    pub idle_timeout_secs: u64,
    /// Largest text frame read from a client, in bytes.
    pub max_message_bytes: usize,
    /// Seconds a client whose signalling socket or publishing connection was lost keeps
    /// its place (room membership, published tracks, subscriptions) while it reconnects.
    /// The recorder keeps a recording open as long after its participant is removed, so
    /// that a participant who joins again continues the same recording.
    pub rejoin_grace_secs: u64,
}

impl Default for SignallingConfig {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 60,
            // An SDP answer grows by about 2.5 KiB per m-line; this fits some 200.
            max_message_bytes: 512 * 1024,
            rejoin_grace_secs: 30,
        }
    }
}

/// `[recording]`: recording of published tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    /// Whether every track participants and organisers publish is recorded.
    pub enabled: bool,
    /// Folder where segments wait until storage has them, and where open segments are
    /// journaled. It must survive a restart of the server.
    pub spool_dir: PathBuf,
    /// Most bytes the spool may hold, for example during a storage outage.
    pub spool_max_bytes: u64,
    /// Target length of a segment, in seconds.
    pub segment_secs: u64,
    /// Milliseconds without media after which the time is a gap in the recording.
    pub gap_ms: u64,
    /// Seconds a published track may send nothing before its state is "no media".
    pub no_media_secs: u64,
    /// Seconds the server waits at shutdown for storage to take the last segments. What is
    /// left stays in the spool and is uploaded at the next start.
    pub shutdown_upload_secs: u64,
    /// Days recordings are kept after they end, before they are deleted.
    pub retention_days: u64,
    /// Folder for files made for download, the audit log and the briefings' event files.
    pub data_dir: PathBuf,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            spool_dir: PathBuf::from("data/spool"),
            spool_max_bytes: 20 * 1024 * 1024 * 1024,
            segment_secs: 4,
            gap_ms: 1500,
            no_media_secs: 10,
            shutdown_upload_secs: 30,
            retention_days: 365,
            data_dir: PathBuf::from("data"),
        }
    }
}

impl RecordingConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("recording.segment_secs", self.segment_secs),
            ("recording.gap_ms", self.gap_ms),
            ("recording.no_media_secs", self.no_media_secs),
            ("recording.retention_days", self.retention_days),
            ("recording.spool_max_bytes", self.spool_max_bytes),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(key, value, "must be at least 1"));
            }
        }
        if self.segment_secs > 60 {
            return Err(ConfigError::invalid(
                "recording.segment_secs",
                self.segment_secs,
                "must be at most 60: a crash loses at most the open segment",
            ));
        }
        Ok(())
    }
}

/// `[database]`: the contest database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// PostgreSQL URL. When unset, the server keeps an SQLite file, `profstage.db`, in
    /// `recording.data_dir`.
    pub url: Option<DatabaseUrl>,
}

impl DatabaseConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        let postgres = url.0.starts_with("postgres://") || url.0.starts_with("postgresql://");
        if postgres || url.0.starts_with("sqlite:") {
            return Ok(());
        }
        Err(ConfigError::invalid(
            "database.url",
            "<hidden>",
            "expected postgres://USER:PASSWORD@HOST/DATABASE or sqlite:PATH",
        ))
    }
}

/// Name of the SQLite file kept in `recording.data_dir` when `database.url` is unset.
pub const SQLITE_FILE: &str = "profstage.db";

/// A database URL, which may contain a password. `Debug` and `Serialize` hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// Returns the URL, password included, for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(url))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<hidden>)")
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<hidden>")
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing_subscriber::EnvFilter` directive. `RUST_LOG` overrides it.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected text or json".to_owned()),
        }
    }
}

/// Room identifier: 1 to 64 characters from `a-z`, `0-9`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomId(String);

impl RoomId {
    /// Largest room identifier, in characters.
    pub const MAX_LEN: usize = 64;

    /// Returns the identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoomId {
    type Err = InvalidRoomId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::try_from(value.to_owned())
    }
}

impl TryFrom<String> for RoomId {
    type Error = InvalidRoomId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        let length_ok = (1..=Self::MAX_LEN).contains(&value.len());
        if length_ok && value.chars().all(allowed) {
            Ok(Self(value))
        } else {
            Err(InvalidRoomId(value))
        }
    }
}

impl From<RoomId> for String {
    fn from(id: RoomId) -> Self {
        id.0
    }
}

/// A room identifier that breaks the rules of [`RoomId`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid room id {0:?}: use 1 to 64 characters from a-z, 0-9, '_' and '-'")]
pub struct InvalidRoomId(pub String);

/// The token signing secret. `Debug` and `Serialize` hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Returns the secret's bytes, for building the HMAC key.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl FromStr for TokenSecret {
    type Err = std::convert::Infallible;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(secret))
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<hidden>)")
    }
}

impl Serialize for TokenSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<hidden>")
    }
}

/// An error that stops the configuration from loading.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the expected keys and types.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error, with line and column.
        source: Box<toml::de::Error>,
    },
    /// A `PROFSTAGE_` environment variable matches no key.
    #[error("unknown environment variable {name}; known variables: {known}")]
    UnknownEnv {
        /// The variable.
        name: String,
        /// Every variable the server reads, comma-separated.
        known: String,
    },
    /// A `PROFSTAGE_` environment variable is not valid UTF-8.
    #[error("environment variable {name} is not valid UTF-8")]
    NonUnicodeEnv {
        /// The variable, lossily converted.
        name: String,
    },
    /// An environment variable could not be parsed.
    #[error("invalid {name} = {value:?}: expected {expected}")]
    InvalidEnv {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// Description of a valid value.
        expected: &'static str,
    },
    /// A key has a value that breaks its rules.
    #[error("invalid {key} = {value}: {reason}")]
    Invalid {
        /// Dotted key, such as `media.public_port`.
        key: String,
        /// The value as written in TOML.
        value: String,
        /// Explanation of the problem and its fix.
        reason: String,
    },
    /// `auth.token_secret` is shorter than [`MIN_TOKEN_SECRET_BYTES`].
    #[error(
        "auth.token_secret is too short: {len} bytes, at least {MIN_TOKEN_SECRET_BYTES} \
         required; generate one with `openssl rand -base64 48`"
    )]
    SecretTooShort {
        /// The secret's length in bytes.
        len: usize,
    },
    /// `auth.token_secret` is missing and development mode is off.
    #[error(
        "auth.token_secret is not set and development mode is off: set \
         PROFSTAGE_AUTH_TOKEN_SECRET to a random string of at least {MIN_TOKEN_SECRET_BYTES} \
         bytes (for example from `openssl rand -base64 48`)"
    )]
    MissingSecret,
    /// The hostname in `media.public_host` could not be resolved.
    #[error("failed to resolve media.public_host {host:?}: {source}")]
    Resolve {
        /// The hostname.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The hostname in `media.public_host` resolved to no address.
    #[error("media.public_host {host:?} resolved to no address")]
    NoAddress {
        /// The hostname.
        host: String,
    },
    /// Neither `media.public_port` nor the port of `media.udp_listen` is usable.
    #[error(
        "media.udp_listen has port 0 and media.public_port is not set, so the ICE candidate \
         has no port: set a fixed udp_listen port or public_port"
    )]
    NoCandidatePort,
    /// Neither `media.public_tcp_port` nor the port of `media.tcp_listen` is usable.
    #[error(
        "media.tcp_listen has port 0 and media.public_tcp_port is not set, so the TCP ICE \
         candidate has no port: set a fixed tcp_listen port or public_tcp_port"
    )]
    NoTcpCandidatePort,
}

impl ConfigError {
    fn invalid(key: &str, value: impl fmt::Debug, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            value: format!("{value:?}"),
            reason: reason.into(),
        }
    }
}

/// `PROFSTAGE_` environment variables, by name.
pub type EnvVars = BTreeMap<String, String>;

/// Prefix of every environment variable the server reads.
pub const ENV_PREFIX: &str = "PROFSTAGE_";

type EnvSetter = fn(&mut Config, &str) -> Result<(), InvalidValue>;

/// A value that does not parse as the type of its key.
#[derive(Debug)]
struct InvalidValue;

/// Every environment variable the server reads, with the form of its value and the key it
/// sets. An empty value unsets an optional key.
const ENV_VARS: &[(&str, &str, EnvSetter)] = &[
    ("PROFSTAGE_DEV_MODE", EXPECT_BOOL, set_dev_mode_env),
    ("PROFSTAGE_DEV_ENABLED", EXPECT_BOOL, set_dev_mode_env),
    ("PROFSTAGE_HTTP_LISTEN", EXPECT_ADDR, |c, v| {
        set(&mut c.http.listen, v)
    }),
    (
        "PROFSTAGE_HTTP_TRUSTED_PROXIES",
        "comma-separated IP addresses or CIDR blocks such as 127.0.0.1,10.0.0.0/8",
        |c, v| set_list(&mut c.http.trusted_proxies, v),
    ),
    ("PROFSTAGE_HTTP_HEADER_TIMEOUT_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.http.header_timeout_secs, v)
    }),
    ("PROFSTAGE_MEDIA_UDP_LISTEN", EXPECT_ADDR, |c, v| {
        set(&mut c.media.udp_listen, v)
    }),
    ("PROFSTAGE_MEDIA_PUBLIC_HOST", EXPECT_HOST, |c, v| {
        set_optional(&mut c.media.public_host, v)
    }),
    ("PROFSTAGE_MEDIA_PUBLIC_PORT", EXPECT_PORT, |c, v| {
        set_optional(&mut c.media.public_port, v)
    }),
    ("PROFSTAGE_MEDIA_TCP_LISTEN", EXPECT_ADDR, |c, v| {
        set_optional(&mut c.media.tcp_listen, v)
    }),
    ("PROFSTAGE_MEDIA_PUBLIC_TCP_PORT", EXPECT_PORT, |c, v| {
        set_optional(&mut c.media.public_tcp_port, v)
    }),
    ("PROFSTAGE_MEDIA_WORKERS", EXPECT_COUNT, |c, v| {
        set(&mut c.media.workers, v)
    }),
    ("PROFSTAGE_AUTH_TOKEN_SECRET", "a string", |c, v| {
        set_optional(&mut c.auth.token_secret, v)
    }),
    ("PROFSTAGE_AUTH_DEV_TOKEN_TTL_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.auth.dev_token_ttl_secs, v)
    }),
    ("PROFSTAGE_AUTH_SESSION_TTL_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.auth.session_ttl_secs, v)
    }),
    (
        "PROFSTAGE_AUTH_INVITE_TTL_HOURS",
        "a whole number of hours",
        |c, v| set(&mut c.auth.invite_ttl_hours, v),
    ),
    ("PROFSTAGE_WEB_ROOT", "a directory path", |c, v| {
        set(&mut c.web.root, v)
    }),
    (
        "PROFSTAGE_SIGNALLING_IDLE_TIMEOUT_SECS",
        EXPECT_SECS,
        |c, v| set(&mut c.signalling.idle_timeout_secs, v),
    ),
    (
        "PROFSTAGE_SIGNALLING_MAX_MESSAGE_BYTES",
        EXPECT_BYTES,
        |c, v| set(&mut c.signalling.max_message_bytes, v),
    ),
    (
        "PROFSTAGE_SIGNALLING_REJOIN_GRACE_SECS",
        EXPECT_SECS,
        |c, v| set(&mut c.signalling.rejoin_grace_secs, v),
    ),
    (
        "PROFSTAGE_LOG_LEVEL",
        "an EnvFilter directive such as info",
        |c, v| set(&mut c.log.level, v),
    ),
    ("PROFSTAGE_LOG_FORMAT", "text or json", |c, v| {
        set(&mut c.log.format, v)
    }),
    ("PROFSTAGE_RECORDING_ENABLED", EXPECT_BOOL, |c, v| {
        set(&mut c.recording.enabled, v)
    }),
    ("PROFSTAGE_RECORDING_SPOOL_DIR", EXPECT_DIR, |c, v| {
        set(&mut c.recording.spool_dir, v)
    }),
    ("PROFSTAGE_RECORDING_DATA_DIR", EXPECT_DIR, |c, v| {
        set(&mut c.recording.data_dir, v)
    }),
    ("PROFSTAGE_RECORDING_SEGMENT_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.recording.segment_secs, v)
    }),
    ("PROFSTAGE_RECORDING_GAP_MS", EXPECT_MS, |c, v| {
        set(&mut c.recording.gap_ms, v)
    }),
    (
        "PROFSTAGE_RECORDING_SPOOL_MAX_BYTES",
        EXPECT_BYTES,
        |c, v| set(&mut c.recording.spool_max_bytes, v),
    ),
    ("PROFSTAGE_RECORDING_NO_MEDIA_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.recording.no_media_secs, v)
    }),
    (
        "PROFSTAGE_RECORDING_SHUTDOWN_UPLOAD_SECS",
        EXPECT_SECS,
        |c, v| set(&mut c.recording.shutdown_upload_secs, v),
    ),
    (
        "PROFSTAGE_RECORDING_RETENTION_DAYS",
        "a whole number of days",
        |c, v| set(&mut c.recording.retention_days, v),
    ),
    ("PROFSTAGE_STORAGE_BACKEND", "local or s3", |c, v| {
        c.storage.backend = match v {
            "local" => storage::Backend::Local,
            "s3" => storage::Backend::S3,
            _ => return Err(InvalidValue),
        };
        Ok(())
    }),
    ("PROFSTAGE_STORAGE_LOCAL_DIR", EXPECT_DIR, |c, v| {
        set(&mut c.storage.local_dir, v)
    }),
    ("PROFSTAGE_STORAGE_S3_ENDPOINT", "a URL", |c, v| {
        set_optional(&mut c.storage.s3.endpoint, v)
    }),
    ("PROFSTAGE_STORAGE_S3_REGION", "a region name", |c, v| {
        set_optional(&mut c.storage.s3.region, v)
    }),
    ("PROFSTAGE_STORAGE_S3_BUCKET", "a bucket name", |c, v| {
        set_optional(&mut c.storage.s3.bucket, v)
    }),
    ("PROFSTAGE_STORAGE_S3_PATH_STYLE", EXPECT_BOOL, |c, v| {
        set(&mut c.storage.s3.path_style, v)
    }),
    (
        "PROFSTAGE_STORAGE_S3_ACCESS_KEY_ID",
        "an access key id",
        |c, v| set_optional(&mut c.storage.s3.access_key_id, v),
    ),
    (
        "PROFSTAGE_STORAGE_S3_SECRET_ACCESS_KEY",
        "a secret access key",
        |c, v| {
            c.storage.s3.secret_access_key =
                (!v.is_empty()).then(|| storage::SecretAccessKey::new(v));
            Ok(())
        },
    ),
    (
        "PROFSTAGE_STORAGE_S3_CONNECT_TIMEOUT_SECS",
        EXPECT_SECS,
        |c, v| set(&mut c.storage.s3.connect_timeout_secs, v),
    ),
    (
        "PROFSTAGE_STORAGE_S3_OPERATION_TIMEOUT_SECS",
        EXPECT_SECS,
        |c, v| set(&mut c.storage.s3.operation_timeout_secs, v),
    ),
    ("PROFSTAGE_DATABASE_URL", "a postgres:// URL", |c, v| {
        set_optional(&mut c.database.url, v)
    }),
    ("PROFSTAGE_MAIL_HOST", EXPECT_HOST, |c, v| {
        set_optional(&mut c.mail.host, v)
    }),
    ("PROFSTAGE_MAIL_PORT", EXPECT_PORT, |c, v| {
        set_optional(&mut c.mail.port, v)
    }),
    (
        "PROFSTAGE_MAIL_SECURITY",
        "none, starttls or tls",
        |c, v| set(&mut c.mail.security, v),
    ),
    ("PROFSTAGE_MAIL_USERNAME", "a user name", |c, v| {
        set_optional(&mut c.mail.username, v)
    }),
    ("PROFSTAGE_MAIL_PASSWORD", "a password", |c, v| {
        set_optional(&mut c.mail.password, v)
    }),
    (
        "PROFSTAGE_MAIL_FROM",
        "an address such as Profstage <noreply@example.org>",
        |c, v| set_optional(&mut c.mail.from, v),
    ),
    ("PROFSTAGE_MAIL_CA_FILE", "a PEM file path", |c, v| {
        set_optional(&mut c.mail.ca_file, v)
    }),
    ("PROFSTAGE_MAIL_TIMEOUT_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.mail.timeout_secs, v)
    }),
    (
        "PROFSTAGE_TURN_URLS",
        "comma-separated URLs such as turns:turn.example.org:443?transport=tcp",
        |c, v| set_list(&mut c.turn.urls, v),
    ),
    ("PROFSTAGE_TURN_SHARED_SECRET", "a string", |c, v| {
        set_optional(&mut c.turn.shared_secret, v)
    }),
    ("PROFSTAGE_TURN_CREDENTIAL_TTL_SECS", EXPECT_SECS, |c, v| {
        set(&mut c.turn.credential_ttl_secs, v)
    }),
];

const EXPECT_DIR: &str = "a directory path";
const EXPECT_MS: &str = "a whole number of milliseconds";

const EXPECT_BOOL: &str = "true or false";
const EXPECT_ADDR: &str = "an address and port such as 127.0.0.1:8080";
const EXPECT_HOST: &str = "an IP address or hostname";
const EXPECT_PORT: &str = "a port number from 1 to 65535";
const EXPECT_SECS: &str = "a whole number of seconds";
const EXPECT_BYTES: &str = "a whole number of bytes";
const EXPECT_COUNT: &str = "a whole number";

fn set<T: FromStr>(field: &mut T, value: &str) -> Result<(), InvalidValue> {
    *field = value.parse().map_err(|_| InvalidValue)?;
    Ok(())
}

/// Sets a list from comma-separated items; an empty value sets an empty list.
fn set_list<T: FromStr>(field: &mut Vec<T>, value: &str) -> Result<(), InvalidValue> {
    let items = value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty());
    *field = items
        .map(|item| item.parse().map_err(|_| InvalidValue))
        .collect::<Result<_, _>>()?;
    Ok(())
}

/// Sets an optional key, or unsets it when the value is empty.
fn set_optional<T: FromStr>(field: &mut Option<T>, value: &str) -> Result<(), InvalidValue> {
    *field = if value.is_empty() {
        None
    } else {
        Some(value.parse().map_err(|_| InvalidValue)?)
    };
    Ok(())
}

fn set_dev_mode_env(config: &mut Config, value: &str) -> Result<(), InvalidValue> {
    let mut mode = None;
    set_optional(&mut mode, value)?;
    set_dev_mode(config, mode);
    Ok(())
}

/// Sets development mode from a layer above the file, replacing both spellings below it.
fn set_dev_mode(config: &mut Config, value: Option<bool>) {
    config.dev_mode = value;
    config.dev.enabled = None;
}

/// Names of every environment variable the server reads.
pub fn env_var_names() -> impl Iterator<Item = &'static str> {
    ENV_VARS.iter().map(|(name, ..)| *name)
}

/// Collects the process's `PROFSTAGE_` environment variables.
pub fn read_env() -> Result<EnvVars, ConfigError> {
    let mut vars = EnvVars::new();
    for (name, value) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if !name.starts_with(ENV_PREFIX) {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_| ConfigError::NonUnicodeEnv { name: name.clone() })?;
        vars.insert(name, value);
    }
    Ok(vars)
}

/// Command-line flags. Each one overrides the same key from the file and the environment.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "profstage",
    version,
    about = "Profstage server: web client, WebSocket signalling and WebRTC media forwarding",
    after_help = "Settings come from defaults, then the TOML file, then PROFSTAGE_<SECTION>_<KEY> \
                  environment variables, then these flags; each overrides the one before. \
                  The token secret is read only from the file or PROFSTAGE_AUTH_TOKEN_SECRET, \
                  never from a flag, so that it does not show in the process list."
)]
pub struct Cli {
    /// A subcommand to run instead of the server, such as `create-organiser`.
    #[command(subcommand)]
    pub command: Option<crate::admin::Command>,

    /// TOML configuration file to read [default: config/default.toml if it exists]
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Development mode: the /api/dev endpoints hand out tokens to anyone
    /// (sets dev_mode; default: on when --http-listen is a loopback address)
    #[arg(long, value_name = "BOOL")]
    pub dev_mode: Option<bool>,

    /// Address and port of the HTTP and WebSocket server (sets http.listen)
    #[arg(long, value_name = "IP:PORT")]
    pub http_listen: Option<SocketAddr>,

    /// Address and port of the UDP socket for all media (sets media.udp_listen)
    #[arg(long, value_name = "IP:PORT")]
    pub media_udp_listen: Option<SocketAddr>,

    /// IP address or hostname that browsers send media to (sets media.public_host)
    #[arg(long, value_name = "HOST")]
    pub media_public_host: Option<String>,

    /// UDP port that browsers send media to, for a NAT port forward
    /// (sets media.public_port)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub media_public_port: Option<u16>,

    /// Address and port of the TCP listener for ICE over TCP, for browsers whose network
    /// blocks UDP (sets media.tcp_listen; default: off)
    #[arg(long, value_name = "IP:PORT")]
    pub media_tcp_listen: Option<SocketAddr>,

    /// TCP port that browsers connect to for media, for a NAT port forward
    /// (sets media.public_tcp_port)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub media_public_tcp_port: Option<u16>,

    /// Lifetime of development tokens, in seconds (sets auth.dev_token_ttl_secs)
    #[arg(long, value_name = "SECONDS")]
    pub auth_dev_token_ttl_secs: Option<u64>,

    /// Directory with the web client's files (sets web.root)
    #[arg(long, value_name = "DIR")]
    pub web_root: Option<PathBuf>,

    /// Seconds without a client message before its signalling session is closed
    /// (sets signalling.idle_timeout_secs)
    #[arg(long, value_name = "SECONDS")]
    pub signalling_idle_timeout_secs: Option<u64>,

    /// Largest signalling message read from a client, in bytes
    /// (sets signalling.max_message_bytes)
    #[arg(long, value_name = "BYTES")]
    pub signalling_max_message_bytes: Option<usize>,

    /// Log filter such as info or profstage_server=debug; RUST_LOG overrides it
    /// (sets log.level)
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Log output format (sets log.format)
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl Cli {
    /// Returns the file to read: `--config`, or [`DEFAULT_CONFIG_PATH`] when it exists.
    pub fn config_path(&self) -> Option<PathBuf> {
        if let Some(path) = &self.config {
            return Some(path.clone());
        }
        let default = PathBuf::from(DEFAULT_CONFIG_PATH);
        default.is_file().then_some(default)
    }

    fn apply(&self, config: &mut Config) {
        if self.dev_mode.is_some() {
            set_dev_mode(config, self.dev_mode);
        }
        override_with(&mut config.http.listen, &self.http_listen);
        override_with(&mut config.media.udp_listen, &self.media_udp_listen);
        override_optional(&mut config.media.public_host, &self.media_public_host);
        override_optional(&mut config.media.public_port, &self.media_public_port);
        override_optional(&mut config.media.tcp_listen, &self.media_tcp_listen);
        override_optional(
            &mut config.media.public_tcp_port,
            &self.media_public_tcp_port,
        );
        override_with(
            &mut config.auth.dev_token_ttl_secs,
            &self.auth_dev_token_ttl_secs,
        );
        override_with(&mut config.web.root, &self.web_root);
        override_with(
            &mut config.signalling.idle_timeout_secs,
            &self.signalling_idle_timeout_secs,
        );
        override_with(
            &mut config.signalling.max_message_bytes,
            &self.signalling_max_message_bytes,
        );
        override_with(&mut config.log.level, &self.log_level);
        override_with(&mut config.log.format, &self.log_format);
    }
}

fn override_with<T: Clone>(field: &mut T, flag: &Option<T>) {
    if let Some(value) = flag {
        *field = value.clone();
    }
}

fn override_optional<T: Clone>(field: &mut Option<T>, flag: &Option<T>) {
    if flag.is_some() {
        field.clone_from(flag);
    }
}

impl Config {
    /// Loads the configuration from every layer and validates it.
    ///
    /// `env` contains the `PROFSTAGE_` variables, from [`read_env`] in the server.
    pub fn load(cli: &Cli, env: &EnvVars) -> Result<Self, ConfigError> {
        let mut config = match cli.config_path() {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(env)?;
        cli.apply(&mut config);
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file, without validating the values.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Overrides keys with `PROFSTAGE_` environment variables.
    pub fn apply_env(&mut self, env: &EnvVars) -> Result<(), ConfigError> {
        check_dev_mode_env(env)?;
        for (name, value) in env {
            let Some((_, expected, setter)) = ENV_VARS.iter().find(|(known, ..)| known == name)
            else {
                return Err(unknown_env(name));
            };
            setter(self, value).map_err(|_| ConfigError::InvalidEnv {
                name: name.clone(),
                value: value.clone(),
                expected,
            })?;
        }
        Ok(())
    }

    /// Returns whether development mode is on: `dev_mode` or `[dev] enabled` when set, otherwise
    /// whether `http.listen` is a loopback address.
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
            .or(self.dev.enabled)
            .unwrap_or_else(|| self.http.listen.ip().is_loopback())
    }

    /// Finds the room with this identifier.
    pub fn room(&self, id: &str) -> Option<&RoomConfig> {
        self.rooms.iter().find(|room| room.id.as_str() == id)
    }

    /// Checks every value's rules. The error names the key and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_dev_mode()?;
        self.http.validate()?;
        self.media.validate()?;
        self.validate_auth()?;
        self.validate_rooms()?;
        self.signalling.validate()?;
        self.recording.validate()?;
        self.database.validate()?;
        self.mail.validate()?;
        self.turn.validate()?;
        self.log.validate()
    }

    fn validate_dev_mode(&self) -> Result<(), ConfigError> {
        match (self.dev_mode, self.dev.enabled) {
            (Some(top), Some(section)) if top != section => Err(ConfigError::invalid(
                "dev.enabled",
                section,
                format!("it contradicts dev_mode = {top}; set only one of them"),
            )),
            _ => Ok(()),
        }
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        match &self.auth.token_secret {
            Some(secret) if secret.expose().len() < MIN_TOKEN_SECRET_BYTES => {
                Err(ConfigError::SecretTooShort {
                    len: secret.expose().len(),
                })
            }
            None if !self.dev_mode() => Err(ConfigError::MissingSecret),
            _ if self.auth.dev_token_ttl_secs == 0 => Err(ConfigError::invalid(
                "auth.dev_token_ttl_secs",
                0,
                "must be at least 1 second",
            )),
            _ => self.auth.validate_lifetimes(),
        }
    }

    fn validate_rooms(&self) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (index, room) in self.rooms.iter().enumerate() {
            if !seen.insert(&room.id) {
                let key = format!("rooms[{index}].id");
                return Err(ConfigError::invalid(
                    &key,
                    room.id.as_str(),
                    "duplicate room id",
                ));
            }
            if room.title.trim().is_empty() {
                let key = format!("rooms[{index}].title");
                return Err(ConfigError::invalid(&key, &room.title, "must not be empty"));
            }
        }
        Ok(())
    }
}

fn check_dev_mode_env(env: &EnvVars) -> Result<(), ConfigError> {
    let top = env.get("PROFSTAGE_DEV_MODE");
    let section = env.get("PROFSTAGE_DEV_ENABLED");
    match (top, section) {
        (Some(top), Some(section)) if top != section => Err(ConfigError::invalid(
            "PROFSTAGE_DEV_ENABLED",
            section,
            format!("it contradicts PROFSTAGE_DEV_MODE = {top:?}; set only one of them"),
        )),
        _ => Ok(()),
    }
}

fn unknown_env(name: &str) -> ConfigError {
    let known: Vec<&str> = env_var_names().collect();
    ConfigError::UnknownEnv {
        name: name.to_owned(),
        known: known.join(", "),
    }
}

/// Most media workers a configuration may ask for: each is a thread with its own socket.
const MAX_MEDIA_WORKERS: usize = 256;

impl MediaConfig {
    /// Resolves the address put in the ICE host candidate.
    ///
    /// The host is `public_host`, or the IP of `udp_listen`, or 127.0.0.1 when that is
    /// unspecified (0.0.0.0 or ::). A hostname is resolved with the system resolver and
    /// its first IPv4 address is preferred. The port is `public_port`, or the port of
    /// `udp_listen`.
    pub fn candidate_addr(&self) -> Result<SocketAddr, ConfigError> {
        let port = self.public_port.unwrap_or(self.udp_listen.port());
        if port == 0 {
            return Err(ConfigError::NoCandidatePort);
        }
        self.candidate_with_port(port)
    }

    /// Resolves the address put in the passive TCP candidate, or `None` when ICE over TCP
    /// is off. The host is that of [`Self::candidate_addr`]. The port is `public_tcp_port`,
    /// or the port of `tcp_listen`.
    pub fn tcp_candidate_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(listen) = self.tcp_listen else {
            return Ok(None);
        };
        let port = self.public_tcp_port.unwrap_or(listen.port());
        if port == 0 {
            return Err(ConfigError::NoTcpCandidatePort);
        }
        self.candidate_with_port(port).map(Some)
    }

    fn candidate_with_port(&self, port: u16) -> Result<SocketAddr, ConfigError> {
        let Some(host) = &self.public_host else {
            let ip = self.udp_listen.ip();
            let ip = if ip.is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                ip
            };
            return Ok(SocketAddr::new(ip, port));
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        check_public_host(host)?;
        resolve_host(host, port)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(host) = &self.public_host {
            check_public_host(host)?;
        }
        if self.workers > MAX_MEDIA_WORKERS {
            return Err(ConfigError::invalid(
                "media.workers",
                self.workers,
                format!("must be at most {MAX_MEDIA_WORKERS}; 0 takes one per core"),
            ));
        }
        let ports = [
            ("media.public_port", self.public_port),
            ("media.public_tcp_port", self.public_tcp_port),
        ];
        for (key, port) in ports {
            if port == Some(0) {
                return Err(ConfigError::invalid(
                    key,
                    0,
                    "must be a port from 1 to 65535",
                ));
            }
        }
        Ok(())
    }
}

/// Checks the syntax of `media.public_host` without resolving it.
fn check_public_host(host: &str) -> Result<(), ConfigError> {
    let invalid = |reason: &str| ConfigError::invalid("media.public_host", host, reason);
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_unspecified() {
            return Err(invalid(
                "browsers cannot send to an unspecified address; use the server's public IP",
            ));
        }
        return Ok(());
    }
    if host.to_ascii_lowercase().ends_with(PLACEHOLDER_SUFFIX) {
        return Err(invalid(
            "this is a placeholder; set the server's public IP address or hostname",
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    let valid_name = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(allowed)
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63);
    if valid_name {
        Ok(())
    } else {
        Err(invalid(
            "expected an IP address (IPv6 without brackets) or a hostname",
        ))
    }
}

fn resolve_host(host: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| ConfigError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let first_ipv4 = addrs.iter().find(|addr| addr.is_ipv4());
    first_ipv4
        .or(addrs.first())
        .copied()
        .ok_or_else(|| ConfigError::NoAddress {
            host: host.to_owned(),
        })
}

impl SignallingConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "signalling.idle_timeout_secs",
                0,
                "must be at least 1 second",
            ));
        }
        if self.max_message_bytes == 0 {
            return Err(ConfigError::invalid(
                "signalling.max_message_bytes",
                0,
                "must be at least 1 byte",
            ));
        }
        if self.max_message_bytes > MAX_FRAME_BYTES {
            return Err(ConfigError::invalid(
                "signalling.max_message_bytes",
                self.max_message_bytes,
                "must be at most 1048576 bytes (1 MiB), the WebSocket frame limit",
            ));
        }
        Ok(())
    }
}

impl LogConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(drop)
            .map_err(|error| {
                ConfigError::invalid(
                    "log.level",
                    &self.level,
                    format!("{error}; expected a filter such as info or profstage_server=debug"),
                )
            })
    }
}
