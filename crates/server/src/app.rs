//! Starting and stopping the whole server: media loop, token keys and HTTP listener.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::OsRng;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::audit::AuditLog;
use crate::briefing::store::{spawn_writer, BriefingStore, JsonlStore};
use crate::briefing::Briefings;
use crate::config::{Config, ConfigError};
use crate::contest_api::sign_in_limit::SignInLimiter;
use crate::contest_api::submission_limit::SubmissionLimiter;
use crate::http;
use crate::media_loop::{self, MediaAddresses};
use crate::notifier::CodeSender;
use crate::phone_camera::PhoneCamera;
use crate::recording::{self, RecordingIndex, RecordingRuntime};
use crate::state::AppState;
use crate::state::Recordings;
use crate::token::TokenKeys;

/// Size of the random token secret generated in development mode, in bytes.
const GENERATED_SECRET_BYTES: usize = 32;

/// Errors of [`start`].
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ICE candidate address could not be worked out.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A media socket could not be bound.
    #[error(transparent)]
    Media(#[from] media_loop::MediaStartError),
    /// Recording could not start.
    #[error("recording: {0}")]
    Recording(#[from] recording::StartRecordingError),
    /// The contest database could not be opened or migrated.
    #[error("contest database: {0}")]
    Database(#[from] profstage_contest::DatabaseError),
    /// The SMTP client for approval codes could not be set up.
    #[error(transparent)]
    Mail(#[from] crate::notifier::MailSetupError),
    /// The HTTP listener could not be bound.
    #[error("failed to bind the HTTP listener on {addr}: {source}")]
    BindHttp {
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        source: io::Error,
    },
}

/// A server that is running: its bound addresses and the means to stop it.
pub struct RunningServer {
    /// The bound HTTP address.
    pub http_addr: SocketAddr,
    /// The bound UDP media address.
    pub udp_addr: SocketAddr,
    /// The bound TCP media address, when ICE over TCP is on.
    pub tcp_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    http: JoinHandle<io::Result<()>>,
    recording: Option<RecordingRuntime>,
    shutdown_upload: Duration,
}

impl RunningServer {
    /// Stops accepting requests and waits for HTTP requests in flight.
    pub async fn stop(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.http).await.unwrap_or(Ok(()))
    }

    /// Closes every open recording segment and waits, up to `recording.shutdown_upload_secs`,
    /// for storage to take the rest.
    pub async fn finish_recordings(&mut self) {
        if let Some(recording) = self.recording.take() {
            recording.shutdown(self.shutdown_upload).await;
        }
    }

    /// Returns the recorder's index, or `None` when recording is off.
    pub fn recording_index(&self) -> Option<Arc<RecordingIndex>> {
        self.recording.as_ref().map(|r| Arc::clone(&r.index))
    }

    /// Returns the URL to open in a browser.
    pub fn url(&self) -> String {
        browser_url(self.http_addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.http.abort();
    }
}

/// Binds the UDP and HTTP sockets and starts serving on the current tokio runtime.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    warn_about_setup(&config);
    let addresses = media_addresses(&config)?;
    let codes = CodeSender::from_config(&config)?;
    let (recording, link) = if config.recording.enabled {
        let (runtime, link) = recording::start(&config).await?;
        (Some(runtime), Some(link))
    } else {
        (None, None)
    };
    let data = &config.recording.data_dir;
    let briefing_store: Arc<dyn BriefingStore> = Arc::new(JsonlStore::new(data.join("briefings")));
    let (briefing_events, _briefing_writer) = spawn_writer(Arc::clone(&briefing_store));
    let briefings = Briefings {
        store: briefing_store,
        // NOTE: a second handle on the recordings' audit file. Each entry is one append of
        // a short line, which Linux does not interleave with the other handle's appends.
        audit: AuditLog::new(data.join("audit.jsonl")),
    };
    let rejoin_grace = Duration::from_secs(config.signalling.rejoin_grace_secs);
    let workers = media_loop::worker_count(config.media.workers);
    let (media, _media_task) =
        media_loop::start(addresses, workers, rejoin_grace, link, briefing_events).await?;
    let udp_addr = media.local_addr();
    let tcp_addr = media.tcp_local_addr();
    let contest = open_database(&config).await?;
    let http_listen = config.http.listen;
    let listener = TcpListener::bind(http_listen)
        .await
        .map_err(|source| StartError::BindHttp {
            addr: http_listen,
            source,
        })?;
    let http_addr = listener.local_addr().unwrap_or(http_listen);

    let shutdown_upload = Duration::from_secs(config.recording.shutdown_upload_secs);
    let recordings = recording
        .as_ref()
        .map(|runtime| Recordings::new(runtime, &config));
    let phone_camera = PhoneCamera::new(AuditLog::new(data.join("audit.jsonl")));
    let state = Arc::new(AppState {
        phone_camera,
        tokens: token_keys(&config),
        codes,
        config: Arc::new(config),
        media,
        recordings,
        briefings: Some(briefings),
        sign_in_limits: SignInLimiter::restore(&contest).await,
        submission_limits: SubmissionLimiter::restore(&contest).await,
        contest,
    });
    let pruning = crate::contest_api::limiter_store::prune_every_minute(state.contest.clone());
    tokio::spawn(pruning);
    if state.recordings.is_some() {
        tokio::spawn(crate::retention::run(Arc::clone(&state)));
    }
    let (stop, stopped) = oneshot::channel::<()>();
    // The peer address, or the client that a trusted proxy names, keys the rate limits of
    // sign-in and of public application submissions (`ConnectInfo` from `serve::serve`).
    let header_timeout = Duration::from_secs(state.config.http.header_timeout_secs);
    let serve = crate::serve::serve(
        listener,
        http::router(Arc::clone(&state)),
        header_timeout,
        async move {
            let _ = stopped.await;
        },
    );
    let http = tokio::spawn(serve);

    Ok(RunningServer {
        http_addr,
        udp_addr,
        tcp_addr,
        stop: Some(stop),
        http,
        recording,
        shutdown_upload,
    })
}

/// Returns the media listen and ICE candidate addresses. With an ephemeral port (port 0)
/// and no public port, a candidate takes the port its socket is bound to, which the media
/// loop fills in.
fn media_addresses(config: &Config) -> Result<MediaAddresses, ConfigError> {
    let mut media = config.media.clone();
    if media.udp_listen.port() == 0 && media.public_port.is_none() {
        media.public_port = Some(1);
    }
    let tcp_ephemeral = media.tcp_listen.is_some_and(|listen| listen.port() == 0);
    if tcp_ephemeral && media.public_tcp_port.is_none() {
        media.public_tcp_port = Some(1);
    }
    let mut udp_candidate = media.candidate_addr()?;
    if media.public_port != config.media.public_port {
        udp_candidate.set_port(0);
    }
    let mut tcp_candidate = media.tcp_candidate_addr()?;
    if media.public_tcp_port != config.media.public_tcp_port {
        tcp_candidate.iter_mut().for_each(|addr| addr.set_port(0));
    }
    let tcp = config.media.tcp_listen.zip(tcp_candidate);
    Ok(MediaAddresses {
        udp_listen: config.media.udp_listen,
        udp_candidate,
        tcp,
    })
}

/// Opens the contest database: `database.url`, or the SQLite file in `recording.data_dir`,
/// with the session and invite lifetimes of `[auth]`.
pub async fn open_database(
    config: &Config,
) -> Result<profstage_contest::Database, profstage_contest::DatabaseError> {
    let database = match &config.database.url {
        Some(url) => profstage_contest::Database::connect(url.expose()).await,
        None => {
            let path = config.recording.data_dir.join(crate::config::SQLITE_FILE);
            profstage_contest::Database::open_sqlite(&path).await
        }
    }?;
    Ok(database.with_lifetimes(config.auth.lifetimes()))
}

fn token_keys(config: &Config) -> TokenKeys {
    if let Some(secret) = &config.auth.token_secret {
        return TokenKeys::new(secret.expose());
    }
    // Config::validate allows a missing secret only in development mode.
    tracing::warn!(
        "auth.token_secret is not set: using a random secret for this run, so tokens stop \
         working when the server restarts"
    );
    let mut secret = [0u8; GENERATED_SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    TokenKeys::new(&secret)
}

fn warn_about_setup(config: &Config) {
    if config.dev_mode() && !config.http.listen.ip().is_loopback() {
        tracing::warn!(
            "development mode is on and http.listen is not a loopback address: anyone who \
             reaches the server can get a token from /api/dev/token"
        );
    }
    match &config.mail.host {
        Some(host) => tracing::info!(
            host = %host,
            port = config.mail.port(),
            security = config.mail.security.as_str(),
            "approval codes are sent by e-mail"
        ),
        None if !config.dev_mode() => tracing::warn!(
            "mail.host is not set, so approval codes are written to the outbox folder in \
             recording.data_dir and the operator must forward them"
        ),
        None => {}
    }
    if !config.web.root.is_dir() {
        tracing::warn!(
            root = %config.web.root.display(),
            "web.root is not a directory, so the web client's pages will answer 404"
        );
    }
}

/// Formats the address to open in a browser: the bound address, with loopback in place of an
/// unspecified IP.
fn browser_url(local: SocketAddr) -> String {
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(host, local.port()))
}
