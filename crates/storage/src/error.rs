//! The error every storage operation returns.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::key::KeyError;

/// Storage operation that failed, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Storing an object from memory.
    Put,
    /// Storing an object from a file.
    PutFile,
    /// Reading an object.
    Get,
    /// Reading an object's size.
    Head,
    /// Listing the objects under a prefix.
    List,
    /// Deleting an object.
    Delete,
    /// Signing a download URL.
    Presign,
    /// Probing that the storage is reachable.
    Check,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Put => "put",
            Self::PutFile => "put file",
            Self::Get => "get",
            Self::Head => "head",
            Self::List => "list",
            Self::Delete => "delete",
            Self::Presign => "presign",
            Self::Check => "check",
        })
    }
}

/// Operation, object and storage named in error messages. It contains no credential and
/// no URL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The operation.
    pub operation: Operation,
    /// Object key or key prefix the operation was on; empty for [`Operation::Check`].
    pub object: String,
    /// The storage: `s3 bucket B at URL` or `local folder PATH`.
    pub location: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.object.is_empty() {
            write!(f, "{} of {}", self.operation, self.location)
        } else {
            write!(
                f,
                "{} {:?} in {}",
                self.operation, self.object, self.location
            )
        }
    }
}

/// Error from a storage operation or from building a store.
///
/// [`StorageError::is_retryable`] tells whether the same call may succeed later without
/// a change to the configuration or the storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("{target} failed: object not found")]
    NotFound {
        /// The failed operation.
        target: Target,
    },
    /// The storage could not be reached, dropped the connection or returned a server error
    /// (HTTP 5xx or 429). Retryable.
    #[error("{target} failed: storage unreachable: {reason}")]
    Unreachable {
        /// The failed operation.
        target: Target,
        /// Cause, such as `connection refused`.
        reason: String,
    },
    /// The operation did not finish within its timeout. Retryable.
    #[error("{target} failed: timed out: {reason}")]
    TimedOut {
        /// The failed operation.
        target: Target,
        /// Timeout that ran out.
        reason: String,
    },
    /// The storage rejected the request: bad credentials, missing bucket, no permission or
    /// an invalid request. Not retryable: the configuration or the storage must change.
    #[error("{target} failed: rejected by storage: {reason}")]
    Rejected {
        /// The failed operation.
        target: Target,
        /// The S3 error code and message, such as `NoSuchBucket: Bucket not found`.
        reason: String,
    },
    /// The call's arguments cannot make a valid request, such as a presigned URL lifetime
    /// over the S3 maximum of 7 days.
    #[error("{target} failed: invalid request: {reason}")]
    InvalidRequest {
        /// The failed operation.
        target: Target,
        /// Problem with the arguments.
        reason: String,
    },
    /// The local disk has no space left (ENOSPC) or the user's quota is used up (EDQUOT).
    #[error("{target} failed: no space left on the disk at {}", path.display())]
    DiskFull {
        /// The failed operation.
        target: Target,
        /// File that was being written.
        path: PathBuf,
    },
    /// Another local I/O error.
    #[error("{target} failed: I/O error on {}: {source}", path.display())]
    Io {
        /// The failed operation.
        target: Target,
        /// File or folder the error is about.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A string is not a valid object key or key prefix.
    #[error("invalid object key {key:?}: {source}")]
    InvalidKey {
        /// The rejected string.
        key: String,
        /// Reason for the rejection.
        source: KeyError,
    },
    /// The storage configuration is invalid.
    #[error("invalid storage configuration: {key}: {reason}")]
    InvalidConfig {
        /// Configuration key, such as `storage.s3.bucket`.
        key: &'static str,
        /// Problem and its fix.
        reason: String,
    },
}

impl StorageError {
    /// Checks whether the same call may succeed later without a change of configuration: true for
    /// [`Unreachable`](Self::Unreachable) and [`TimedOut`](Self::TimedOut), and for local
    /// I/O errors of kind interrupted, timed out or would block.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::TimedOut { .. } => true,
            Self::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            Self::NotFound { .. }
            | Self::Rejected { .. }
            | Self::InvalidRequest { .. }
            | Self::DiskFull { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidConfig { .. } => false,
        }
    }

    /// Checks whether the error means that the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Builds the error for a local I/O failure: [`DiskFull`](Self::DiskFull) for ENOSPC and
    /// EDQUOT, [`NotFound`](Self::NotFound) when `missing_is_not_found` and no file is at
    /// the path, [`Io`](Self::Io) otherwise.
    pub(crate) fn from_io(
        target: Target,
        path: PathBuf,
        source: io::Error,
        missing_is_not_found: bool,
    ) -> Self {
        if is_disk_full(&source) {
            return Self::DiskFull { target, path };
        }
        if missing_is_not_found && is_missing(&source) {
            return Self::NotFound { target };
        }
        Self::Io {
            target,
            path,
            source,
        }
    }
}

/// Checks whether `error` means that no file exists at the path: the file or a folder on
/// its way is missing, a file is where a folder is expected, or the path names a folder.
pub(crate) fn is_missing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

/// ENOSPC (28) and EDQUOT (122) on Linux.
const ENOSPC: i32 = 28;
const EDQUOT: i32 = 122;

fn is_disk_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::StorageFull
        || matches!(error.raw_os_error(), Some(ENOSPC | EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            operation: Operation::Put,
            object: "a/b".into(),
            location: "local folder /tmp/x".into(),
        }
    }

    #[test]
    fn enospc_is_disk_full() {
        let error = StorageError::from_io(
            target(),
            PathBuf::from("/tmp/x/a/b"),
            io::Error::from_raw_os_error(ENOSPC),
            false,
        );
        assert!(matches!(error, StorageError::DiskFull { .. }), "{error:?}");
        assert!(!error.is_retryable());
        assert_eq!(
            error.to_string(),
            "put \"a/b\" in local folder /tmp/x failed: no space left on the disk at /tmp/x/a/b"
        );
    }

    #[test]
    fn missing_file_maps_by_flag() {
        let missing = || io::Error::from(io::ErrorKind::NotFound);
        let error = StorageError::from_io(target(), "/tmp/x/a/b".into(), missing(), true);
        assert!(error.is_not_found());
        let error = StorageError::from_io(target(), "/tmp/x/a/b".into(), missing(), false);
        assert!(matches!(error, StorageError::Io { .. }), "{error:?}");
    }

    #[test]
    fn retryable_kinds() {
        let unreachable = StorageError::Unreachable {
            target: target(),
            reason: "connection refused".into(),
        };
        let rejected = StorageError::Rejected {
            target: target(),
            reason: "AccessDenied".into(),
        };
        assert!(unreachable.is_retryable());
        assert!(!rejected.is_retryable());
    }
}
