//! The task that owns the UDP socket and drives the media core.

/// A cloneable channel into the media loop.
#[derive(Clone)]
pub struct MediaHandle {}
