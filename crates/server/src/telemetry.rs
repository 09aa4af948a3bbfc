//! Logging setup with `tracing`.

use std::io::IsTerminal;

use thiserror::Error;
use tracing_subscriber::filter::ParseError;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// An error that stops logging from being set up.
#[derive(Debug, Error)]
pub enum TelemetryError {
    /// `RUST_LOG` or `log.level` is not a valid filter.
    #[error("invalid log filter {directive:?} from {origin}: {source}")]
    InvalidFilter {
        /// The filter text.
        directive: String,
        /// `RUST_LOG` or `log.level`.
        origin: &'static str,
        /// The parser's error.
        source: ParseError,
    },
    /// A global subscriber was already installed.
    #[error("failed to install the log subscriber: {0}")]
    Install(String),
}

/// Installs the global log subscriber, writing to standard output, with colours only when
/// that is a terminal.
///
/// The filter is `RUST_LOG` when that is set and not empty, otherwise `config.level`.
pub fn init(config: &LogConfig) -> Result<(), TelemetryError> {
    let filter = build_filter(std::env::var("RUST_LOG").ok(), &config.level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|error| TelemetryError::Install(error.to_string()))
}

/// Builds the filter from `RUST_LOG` when given and not empty, otherwise from `level`.
pub fn build_filter(rust_log: Option<String>, level: &str) -> Result<EnvFilter, TelemetryError> {
    let (directive, origin) = match rust_log {
        Some(value) if !value.trim().is_empty() => (value, "RUST_LOG"),
        _ => (level.to_owned(), "log.level"),
    };
    EnvFilter::try_new(&directive).map_err(|source| TelemetryError::InvalidFilter {
        directive,
        origin,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_level() {
        let filter = build_filter(Some("warn".to_owned()), "debug").unwrap();
        assert_eq!(filter.to_string(), "warn");
    }

    #[test]
    fn empty_rust_log_falls_back_to_level() {
        let filter = build_filter(Some("  ".to_owned()), "debug").unwrap();
        assert_eq!(filter.to_string(), "debug");
    }

    #[test]
    fn invalid_rust_log_names_its_origin() {
        let error = build_filter(Some("profstage=loudest".to_owned()), "info").unwrap_err();
        assert!(error.to_string().contains("RUST_LOG"), "{error}");
    }
}
