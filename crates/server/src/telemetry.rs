//! Logging setup with `tracing`.
