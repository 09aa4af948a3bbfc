//! Object storage for recordings: segments and manifests go to a local folder or to an
//! S3-compatible bucket (Garage in development and tests) through one interface,
//! [`Storage`].
//!
//! Every call takes an [`ObjectKey`], validated when it is made, so no key can name a path
//! outside the storage. Every failure is a [`StorageError`] that names the operation, the
//! key and the storage, never a credential, and tells whether a retry may help.
//!
//! ```no_run
//! # async fn demo() -> Result<(), storage::StorageError> {
//! use storage::{ObjectKey, Storage, StorageConfig};
//!
//! let storage = Storage::from_config(&StorageConfig::default())?;
//! storage.check().await?;
//! let key = ObjectKey::new("recordings/r1/manifest.json").expect("a valid key");
//! storage.put(&key, bytes::Bytes::from_static(b"{}")).await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod config;
mod error;
mod key;
mod local;
mod object;
mod s3;
mod storage;

pub use config::{
    Backend, S3Config, S3Credentials, S3Settings, SecretAccessKey, StorageConfig,
    ACCESS_KEY_ID_VAR, SECRET_ACCESS_KEY_VAR,
};
pub use error::{Operation, StorageError, Target};
pub use key::{KeyError, KeyPrefix, ObjectKey, MAX_KEY_BYTES, MAX_SEGMENT_BYTES};
pub use local::LocalStore;
pub use object::{ObjectInfo, PresignedUrl};
pub use s3::{S3Store, MULTIPART_THRESHOLD, PART_SIZE};
pub use storage::Storage;
