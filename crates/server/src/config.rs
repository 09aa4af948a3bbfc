//! Typed configuration: defaults, TOML file, environment and command line.

/// The server's whole configuration.
pub struct Config {}
