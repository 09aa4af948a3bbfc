//! Typed configuration: defaults, TOML file, environment and command line.
