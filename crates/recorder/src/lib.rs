//! Crash-safe segmented recording of RTP streams.
//!
//! Incoming RTP packets of one track are appended to a journal file; when a segment closes,
//! its journal is muxed by GStreamer into a WebM file that starts with a keyframe and plays
//! on its own. A manifest per recording lists the segments with their SHA-256 hashes chained,
//! so that a removed or altered segment is detected.

pub mod export;
