//! The `profstage` server: loads the configuration, starts the media loop and serves HTTP
//! until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use profstage_server::config::{self, Cli, Config, ConfigError};
use profstage_server::{admin, app, telemetry};

/// Exit status for an invalid configuration or command line.
const EXIT_CONFIG: u8 = 2;

/// How long requests in flight may run after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    if let Some(command) = &cli.command {
        return admin::run(command, &config).await;
    }
    if let Err(error) = telemetry::init(&config.log) {
        eprintln!("profstage: {error}");
        return ExitCode::from(EXIT_CONFIG);
    }

    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        dev_mode = config.dev_mode(),
        "starting"
    );
    let mut server = match app::start(config).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "failed to start");
            return ExitCode::FAILURE;
        }
    };
    match server.tcp_addr {
        Some(tcp) => {
            tracing::info!(url = %server.url(), udp = %server.udp_addr, %tcp, "listening");
        }
        None => tracing::info!(url = %server.url(), udp = %server.udp_addr, "listening"),
    }

    let signal = shutdown_signal().await;
    tracing::info!(signal, "stopping: finishing requests in flight");
    // NOTE: upgraded WebSocket connections are not waited for; they end with the process.
    match tokio::time::timeout(SHUTDOWN_GRACE, server.stop()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "HTTP server failed"),
        Err(_) => tracing::warn!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "requests still in flight after the grace period; stopping anyway"
        ),
    }
    tracing::info!("closing recordings");
    server.finish_recordings().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Loads and validates the configuration, and resolves the ICE candidate address so that
/// a wrong `media.public_host` stops the server before it starts.
fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let env = config::read_env()?;
    let config = Config::load(cli, &env)?;
    if config.media.udp_listen.port() != 0 || config.media.public_port.is_some() {
        config.media.candidate_addr()?;
    }
    let tcp_port = config.media.tcp_listen.map(|listen| listen.port());
    if tcp_port.is_some_and(|port| port != 0) || config.media.public_tcp_port.is_some() {
        config.media.tcp_candidate_addr()?;
    }
    Ok(config)
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
