//! The task that owns the UDP socket and drives the media core.
