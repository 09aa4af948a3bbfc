//! The `profstage` server: loads the configuration, starts the media loop and serves HTTP
//! until SIGINT or SIGTERM.

use std::future::IntoFuture;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use profstage_server::config::{self, Cli, Config, ConfigError};
use profstage_server::media_loop::MediaHandle;
use profstage_server::state::AppState;
use profstage_server::token::TokenKeys;
use profstage_server::{http, telemetry};
use rand::rngs::OsRng;
use rand::RngCore;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Exit status for an invalid configuration or command line.
const EXIT_CONFIG: u8 = 2;

/// How long requests in flight may run after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Size of the random token secret generated in development mode, in bytes.
const GENERATED_SECRET_BYTES: usize = 32;

/// An error that stops the server.
#[derive(Debug, Error)]
enum RunError {
    #[error("failed to bind the HTTP listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("profstage: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(error) = telemetry::init(&config.log) {
        eprintln!("profstage: {error}");
        return ExitCode::from(EXIT_CONFIG);
    }

    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Loads and validates the configuration, and resolves the ICE candidate address so that
/// a wrong `media.public_host` stops the server before it starts.
fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let env = config::read_env()?;
    let config = Config::load(cli, &env)?;
    config.media.candidate_addr()?;
    Ok(config)
}

async fn run(config: Config) -> Result<(), RunError> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        dev_mode = config.dev_mode(),
        "starting"
    );
    warn_about_setup(&config);

    let tokens = token_keys(&config);
    let media = start_media(&config);
    let listen = config.http.listen;
    let state = Arc::new(AppState {
        config: Arc::new(config),
        tokens,
        media,
    });

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| RunError::Bind {
            addr: listen,
            source,
        })?;
    let local = listener.local_addr().unwrap_or(listen);
    tracing::info!(url = %browser_url(local), "listening");
    serve(listener, http::router(state)).await
}

/// Starts the media loop and returns the handle the signalling sessions use.
///
/// TODO: start the real media loop here once `media_loop` offers a start function; this
/// handle reaches no loop, and nothing binds `media.udp_listen` yet.
fn start_media(config: &Config) -> MediaHandle {
    let _ = config;
    MediaHandle {}
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
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/", SocketAddr::new(host, local.port()))
}

/// Serves until a shutdown signal, then lets requests in flight finish for up to
/// [`SHUTDOWN_GRACE`].
///
/// NOTE: upgraded WebSocket connections are not waited for; they end with the process.
async fn serve(listener: TcpListener, app: axum::Router) -> Result<(), RunError> {
    let (stopping_tx, mut stopping_rx) = watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let signal = shutdown_signal().await;
        tracing::info!(signal, "stopping: finishing requests in flight");
        let _ = stopping_tx.send(true);
    });
    let grace_expired = async move {
        if stopping_rx.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };

    tokio::select! {
        result = server.into_future() => result.map_err(RunError::Serve)?,
        () = grace_expired => tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "requests still in flight after the grace period; stopping anyway"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGINT or SIGTERM and returns the signal's name.
async fn shutdown_signal() -> &'static str {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for SIGINT");
            std::future::pending::<()>().await;
        }
        "SIGINT"
    };
    tokio::select! {
        name = interrupt => name,
        name = terminate_signal() => name,
    }
}

#[cfg(unix)]
async fn terminate_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};

    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            terminate.recv().await;
        }
        Err(error) => {
            tracing::error!(%error, "failed to listen for SIGTERM");
            std::future::pending::<()>().await;
        }
    }
    "SIGTERM"
}

#[cfg(not(unix))]
async fn terminate_signal() -> &'static str {
    std::future::pending().await
}
