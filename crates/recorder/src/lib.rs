//! Crash-safe segmented recording of RTP streams.
//!
//! Incoming RTP packets of one track are appended to a journal file. When a segment closes,
//! its journal is muxed by GStreamer into a WebM file that starts with a keyframe and plays
//! on its own. A manifest per recording lists the segments with their SHA-256 hashes chained,
//! so that a removed or altered segment is detected.

#![warn(missing_docs)]

mod depay;
pub mod ebml;
pub mod error;
pub mod export;
pub mod journal;
mod keyframe;
pub mod manifest;
pub mod mux;

pub use error::{Operation, RecorderError};
