//! The S3 backend: objects in one bucket of an S3-compatible service such as Garage.

mod client;
mod error;
mod multipart;

pub use multipart::{MULTIPART_THRESHOLD, PART_SIZE};

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;

use crate::config::{S3Config, S3Settings};
use crate::error::{Operation, StorageError, Target};
use crate::key::{KeyPrefix, ObjectKey};
use crate::object::{ObjectInfo, PresignedUrl};
use error::Redactor;

/// Objects in an S3 bucket, under the same keys.
///
/// Every request is signed with SigV4. Bucket and credentials come from [`S3Settings`];
/// the store creates no bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    location: String,
    redactor: Redactor,
}

impl S3Store {
    /// Creates a store for the bucket in `settings`, building the client without any I/O.
    pub fn new(settings: &S3Settings) -> Self {
        Self {
            client: client::build(settings),
            bucket: settings.bucket.clone(),
            location: format!("s3 bucket {} at {}", settings.bucket, settings.endpoint),
            redactor: Redactor::new(vec![
                settings.credentials.access_key_id.clone(),
                settings.credentials.secret_access_key.expose().to_owned(),
            ]),
        }
    }

    /// Validates `config`, resolves its credentials and builds the store.
    pub fn from_config(config: &S3Config) -> Result<Self, StorageError> {
        Ok(Self::new(&config.resolve()?))
    }

    /// Returns the bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3 bucket B at ENDPOINT`, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores `data` under `key`, replacing any object there.
    pub async fn put(&self, key: &ObjectKey, data: Bytes) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|e| self.sdk_error(Operation::Put, key.as_str(), e))?;
        Ok(())
    }

    /// Uploads the file at `source` to `key`, streaming it from disk: in one request up to
    /// [`MULTIPART_THRESHOLD`] bytes, as a multipart upload
    /// above.
    pub async fn put_file(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        multipart::put_file(self, key, source).await
    }

    /// Reads the whole object at `key`.
    pub async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                    StorageError::NotFound {
                        target: self.target(Operation::Get, key.as_str()),
                    }
                } else {
                    self.sdk_error(Operation::Get, key.as_str(), e)
                }
            })?;
        let data = output.body.collect().await.map_err(|e| {
            error::body_error(e, self.target(Operation::Get, key.as_str()), &self.redactor)
        })?;
        Ok(data.into_bytes())
    }

    /// Returns the key and size of the object at `key`, or `None` when there is none.
    ///
    /// NOTE: S3 returns a bare 404 to HEAD for a missing bucket too, so this returns `None`
    /// then. [`check`](Self::check) tells the two apart.
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        let result = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(ObjectInfo {
                key: key.clone(),
                size: size_from(output.content_length()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(self.sdk_error(Operation::Head, key.as_str(), e)),
        }
    }

    /// Lists the objects whose keys start with `prefix`, sorted by key, following
    /// continuation tokens across pages of up to 1000 objects.
    ///
    /// Objects whose keys break the [`ObjectKey`] rules, put there by other clients, are
    /// skipped and counted in one warning.
    pub async fn list(&self, prefix: &KeyPrefix) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut objects = Vec::new();
        let mut skipped = 0_usize;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_prefix(Some(prefix.as_str().to_owned()).filter(|p| !p.is_empty()))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.sdk_error(Operation::List, prefix.as_str(), e))?;

            for object in page.contents() {
                match object.key().map(ObjectKey::new) {
                    Some(Ok(key)) => objects.push(ObjectInfo {
                        key,
                        size: size_from(object.size()),
                    }),
                    _ => skipped += 1,
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        if skipped > 0 {
            tracing::warn!(
                bucket = %self.bucket,
                prefix = %prefix,
                skipped,
                "skipped objects whose keys are not valid object keys"
            );
        }
        objects.sort();
        Ok(objects)
    }

    /// Deletes the object at `key`; succeeds when there is none.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| self.sdk_error(Operation::Delete, key.as_str(), e))?;
        Ok(())
    }

    /// Signs a GET URL for `key` that works for `expires_in`, at most 7 days. Makes no
    /// request, so it neither checks that the object exists nor that the storage is up.
    pub async fn presign_get(
        &self,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<PresignedUrl, StorageError> {
        let config =
            PresigningConfig::expires_in(expires_in).map_err(|e| StorageError::InvalidRequest {
                target: self.target(Operation::Presign, key.as_str()),
                reason: e.to_string(),
            })?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(config)
            .await
            .map_err(|e| self.sdk_error(Operation::Presign, key.as_str(), e))?;
        Ok(PresignedUrl::new(request.uri().to_owned()))
    }

    /// Sends HEAD for the bucket, which succeeds when the endpoint is reachable and the
    /// credentials may access the bucket.
    pub async fn check(&self) -> Result<(), StorageError> {
        let result = self.client.head_bucket().bucket(&self.bucket).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                Err(StorageError::Rejected {
                    target: self.target(Operation::Check, ""),
                    reason: format!("bucket {} not found", self.bucket),
                })
            }
            Err(e) => Err(self.sdk_error(Operation::Check, "", e)),
        }
    }

    fn target(&self, operation: Operation, object: &str) -> Target {
        Target {
            operation,
            object: object.to_owned(),
            location: self.location.clone(),
        }
    }

    fn sdk_error<E>(
        &self,
        operation: Operation,
        object: &str,
        error: SdkError<E, HttpResponse>,
    ) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        error::from_sdk(error, self.target(operation, object), &self.redactor)
    }
}

/// Converts the signed sizes of the S3 model; a missing or negative size counts as 0.
fn size_from(size: Option<i64>) -> u64 {
    size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0)
}
