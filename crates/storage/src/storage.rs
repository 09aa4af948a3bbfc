//! [`Storage`]: one interface over both backends.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{Backend, StorageConfig};
use crate::error::StorageError;
use crate::key::{KeyPrefix, ObjectKey};
use crate::local::LocalStore;
use crate::object::{ObjectInfo, PresignedUrl};
use crate::s3::S3Store;

/// Where recordings are stored: a local folder or an S3 bucket.
///
/// Every method takes validated keys, so no call can reach outside the folder or bucket.
/// [`StorageError::is_retryable`] tells whether a retry may help.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Files under a local folder.
    Local(LocalStore),
    /// Objects in an S3 bucket.
    S3(S3Store),
}

impl Storage {
    /// Builds the backend that `config` selects. Validates the configuration and, for S3,
    /// resolves the credentials; makes no request: call [`check`](Self::check) for that.
    pub fn from_config(config: &StorageConfig) -> Result<Self, StorageError> {
        match config.backend {
            Backend::Local => Ok(Self::Local(LocalStore::new(&config.local_dir))),
            Backend::S3 => Ok(Self::S3(S3Store::from_config(&config.s3)?)),
        }
    }

    /// Stores `data` under `key`, replacing any object there.
    pub async fn put(&self, key: &ObjectKey, data: Bytes) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.put(key, data).await,
            Self::S3(store) => store.put(key, data).await,
        }
    }

    /// Stores the file at `source` under `key`, streaming it from disk; on S3, large files
    /// go up as multipart uploads.
    pub async fn put_file(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.put_file(key, source).await,
            Self::S3(store) => store.put_file(key, source).await,
        }
    }

    /// Stores the file at `source` under `key`. The local backend renames the file when it is
    /// on the store's filesystem, so that `source` is gone on success. Otherwise, and on S3,
    /// the file is copied or uploaded and stays at `source` for the caller to remove.
    pub async fn move_file(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.move_file(key, source).await,
            Self::S3(store) => store.put_file(key, source).await,
        }
    }

    /// Reads the whole object at `key`; [`StorageError::NotFound`] when there is none.
    pub async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        match self {
            Self::Local(store) => store.get(key).await,
            Self::S3(store) => store.get(key).await,
        }
    }

    /// Returns the key and size of the object at `key`, or `None` when there is none.
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        match self {
            Self::Local(store) => store.head(key).await,
            Self::S3(store) => store.head(key).await,
        }
    }

    /// Lists every object whose key starts with `prefix`, sorted by key.
    pub async fn list(&self, prefix: &KeyPrefix) -> Result<Vec<ObjectInfo>, StorageError> {
        match self {
            Self::Local(store) => store.list(prefix).await,
            Self::S3(store) => store.list(prefix).await,
        }
    }

    /// Deletes the object at `key`; succeeds when there is none.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.delete(key).await,
            Self::S3(store) => store.delete(key).await,
        }
    }

    /// Signs a download URL for `key` valid for `expires_in` (at most 7 days) on S3.
    /// Returns `None` for local storage, whose files the server sends itself.
    pub async fn presign_get(
        &self,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<Option<PresignedUrl>, StorageError> {
        match self {
            Self::Local(_) => Ok(None),
            Self::S3(store) => store.presign_get(key, expires_in).await.map(Some),
        }
    }

    /// Probes the storage cheaply. The local store creates its folder if missing and checks
    /// that it is a folder, and the S3 store sends HEAD for the bucket with its credentials.
    pub async fn check(&self) -> Result<(), StorageError> {
        match self {
            Self::Local(store) => store.check().await,
            Self::S3(store) => store.check().await,
        }
    }

    /// `local folder PATH` or `s3 bucket B at ENDPOINT`, for logs. Contains no credential.
    pub fn location(&self) -> String {
        match self {
            Self::Local(store) => store.location(),
            Self::S3(store) => store.location().to_owned(),
        }
    }
}
