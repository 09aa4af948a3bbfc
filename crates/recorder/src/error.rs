//! The error every recorder operation returns.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::journal::Codec;

/// Recorder operation that failed, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Creating a journal file and writing its header.
    CreateJournal,
    /// Appending a record to a journal.
    AppendJournal,
    /// Handing buffered journal records to the operating system.
    FlushJournal,
    /// Flushing, syncing and closing a journal.
    FinishJournal,
    /// Reading a journal.
    ReadJournal,
    /// Muxing a journal into a WebM or Matroska file.
    Mux,
    /// Writing a manifest.
    WriteManifest,
    /// Reading a manifest.
    ReadManifest,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreateJournal => "create journal",
            Self::AppendJournal => "append to journal",
            Self::FlushJournal => "flush journal",
            Self::FinishJournal => "finish journal",
            Self::ReadJournal => "read journal",
            Self::Mux => "mux segment",
            Self::WriteManifest => "write manifest",
            Self::ReadManifest => "read manifest",
        })
    }
}

/// Error from a journal, mux or manifest operation. Each variant names the operation and the
/// file it was on.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// A file system call failed.
    #[error("{operation} failed: I/O error on {}: {source}", path.display())]
    Io {
        /// The failed operation.
        operation: Operation,
        /// File or folder the error is about.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file does not have the expected format, such as a journal without the magic bytes
    /// or with an unreadable header.
    #[error("{operation} failed: invalid file {}: {reason}", path.display())]
    InvalidFormat {
        /// The failed operation.
        operation: Operation,
        /// The file.
        path: PathBuf,
        /// Description of the problem, with the byte offset where it applies.
        reason: String,
    },
    /// A JSON document could not be encoded or decoded.
    #[error("{operation} failed: invalid JSON in {}: {source}", path.display())]
    Json {
        /// The failed operation.
        operation: Operation,
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// A journal record would be longer than the format allows.
    #[error(
        "{operation} failed: record of {length} bytes in {} exceeds the maximum of {max} bytes",
        path.display()
    )]
    RecordTooLarge {
        /// The failed operation.
        operation: Operation,
        /// The journal.
        path: PathBuf,
        /// Length of the rejected record body in bytes.
        length: usize,
        /// Maximum record body length in bytes.
        max: usize,
    },
    /// GStreamer could not be initialised or lacks an element the recorder needs.
    #[error("GStreamer is not usable: {reason}")]
    GstreamerUnavailable {
        /// Cause, such as the missing element and the package that provides it.
        reason: String,
    },
    /// The installed GStreamer has no element to mux this codec.
    #[error("{operation} failed for {}: codec {codec:?} is not supported: {reason}", path.display())]
    UnsupportedCodec {
        /// The failed operation.
        operation: Operation,
        /// The output file.
        path: PathBuf,
        /// The codec of the journal.
        codec: Codec,
        /// The missing element.
        reason: String,
    },
    /// The journal has no packets.
    #[error("{operation} failed for {}: the journal has no packets", path.display())]
    Empty {
        /// The failed operation.
        operation: Operation,
        /// The output file.
        path: PathBuf,
    },
    /// The video journal has packets but none starts a keyframe, so no frame can be decoded.
    #[error(
        "{operation} failed for {}: none of the {packets} packets starts a keyframe",
        path.display()
    )]
    NoKeyframe {
        /// The failed operation.
        operation: Operation,
        /// The output file.
        path: PathBuf,
        /// Packets in the journal.
        packets: usize,
    },
    /// The GStreamer pipeline could not be built or reported an error.
    #[error("{operation} failed for {}: GStreamer pipeline error: {reason}", path.display())]
    Pipeline {
        /// The failed operation.
        operation: Operation,
        /// The output file.
        path: PathBuf,
        /// The element and message GStreamer reported.
        reason: String,
    },
    /// The GStreamer pipeline did not reach the end of the stream in time.
    #[error("{operation} failed for {}: timed out after {timeout:?}", path.display())]
    TimedOut {
        /// The failed operation.
        operation: Operation,
        /// The output file.
        path: PathBuf,
        /// Timeout that ran out.
        timeout: Duration,
    },
}

impl RecorderError {
    /// Builds an [`Io`](Self::Io) error.
    pub(crate) fn io(operation: Operation, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    /// Builds an [`InvalidFormat`](Self::InvalidFormat) error.
    pub(crate) fn invalid(
        operation: Operation,
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidFormat {
            operation,
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`Pipeline`](Self::Pipeline) error of a mux.
    pub(crate) fn pipeline(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::Pipeline {
            operation: Operation::Mux,
            path: path.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_operation_and_path() {
        let error = RecorderError::io(
            Operation::AppendJournal,
            "/tmp/seg/000001.journal",
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert_eq!(
            error.to_string(),
            "append to journal failed: I/O error on /tmp/seg/000001.journal: permission denied"
        );
    }

    #[test]
    fn too_large_names_lengths() {
        let error = RecorderError::RecordTooLarge {
            operation: Operation::AppendJournal,
            path: "/tmp/j".into(),
            length: 70_000,
            max: 65_536,
        };
        let text = error.to_string();
        assert!(text.contains("70000 bytes"), "{text}");
        assert!(text.contains("65536 bytes"), "{text}");
    }
}
