//! Uploading files: one PutObject for small files, a multipart upload for large ones.

use std::io;
use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::S3Store;
use crate::error::{Operation, StorageError};
use crate::key::ObjectKey;

/// Size of each part of a multipart upload, in bytes. S3 requires at least 5 MiB for every
/// part but the last and allows at most 10,000 parts, so files up to 80 GiB fit.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// Files of this many bytes or more go up as multipart uploads.
pub const MULTIPART_THRESHOLD: u64 = 2 * PART_SIZE;

/// Uploads the file at `source` to `key`; a failed multipart upload is aborted so that
/// its parts do not linger in the bucket.
pub(super) async fn put_file(
    store: &S3Store,
    key: &ObjectKey,
    source: &Path,
) -> Result<(), StorageError> {
    let size = tokio::fs::metadata(source)
        .await
        .map_err(|e| source_error(store, key, source, e))?
        .len();
    if size < MULTIPART_THRESHOLD {
        return put_whole(store, key, source).await;
    }

    let upload_id = create(store, key).await?;
    let result = match upload_parts(store, key, source, size, &upload_id).await {
        Ok(parts) => complete(store, key, &upload_id, parts).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        abort(store, key, &upload_id).await;
    }
    result
}

async fn put_whole(store: &S3Store, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
    let body = ByteStream::from_path(source)
        .await
        .map_err(|e| source_error(store, key, source, io::Error::other(e)))?;
    store
        .client
        .put_object()
        .bucket(&store.bucket)
        .key(key.as_str())
        .body(body)
        .send()
        .await
        .map_err(|e| store.sdk_error(Operation::PutFile, key.as_str(), e))?;
    Ok(())
}

async fn create(store: &S3Store, key: &ObjectKey) -> Result<String, StorageError> {
    let output = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(key.as_str())
        .send()
        .await
        .map_err(|e| store.sdk_error(Operation::PutFile, key.as_str(), e))?;
    output
        .upload_id()
        .map(str::to_owned)
        .ok_or_else(|| StorageError::Unreachable {
            target: store.target(Operation::PutFile, key.as_str()),
            reason: "CreateMultipartUpload returned no upload id".to_owned(),
        })
}

/// Uploads the parts one after another, so memory stays bounded by one part's buffers.
async fn upload_parts(
    store: &S3Store,
    key: &ObjectKey,
    source: &Path,
    size: u64,
    upload_id: &str,
) -> Result<Vec<CompletedPart>, StorageError> {
    let mut parts = Vec::new();
    for (index, offset) in (0..size).step_by(PART_SIZE as usize).enumerate() {
        let length = PART_SIZE.min(size - offset);
        let body = ByteStream::read_from()
            .path(source)
            .offset(offset)
            .length(Length::Exact(length))
            .build()
            .await
            .map_err(|e| source_error(store, key, source, io::Error::other(e)))?;
        // Part numbers start at 1; 80 GiB / 8 MiB = 10,240 parts fit in an i32.
        let part_number = i32::try_from(index + 1).unwrap_or(i32::MAX);

        let output = store
            .client
            .upload_part()
            .bucket(&store.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(part_number)
            .body(body)
            .send()
            .await
            .map_err(|e| store.sdk_error(Operation::PutFile, key.as_str(), e))?;
        parts.push(
            CompletedPart::builder()
                .part_number(part_number)
                .set_e_tag(output.e_tag().map(str::to_owned))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_owned))
                .build(),
        );
    }
    Ok(parts)
}

async fn complete(
    store: &S3Store,
    key: &ObjectKey,
    upload_id: &str,
    parts: Vec<CompletedPart>,
) -> Result<(), StorageError> {
    let upload = CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build();
    store
        .client
        .complete_multipart_upload()
        .bucket(&store.bucket)
        .key(key.as_str())
        .upload_id(upload_id)
        .multipart_upload(upload)
        .send()
        .await
        .map_err(|e| store.sdk_error(Operation::PutFile, key.as_str(), e))?;
    Ok(())
}

/// Aborts the upload; a failure is logged, because the caller already has the error that
/// made it abort.
async fn abort(store: &S3Store, key: &ObjectKey, upload_id: &str) {
    let result = store
        .client
        .abort_multipart_upload()
        .bucket(&store.bucket)
        .key(key.as_str())
        .upload_id(upload_id)
        .send()
        .await;
    if let Err(e) = result {
        let error = store.sdk_error(Operation::PutFile, key.as_str(), e);
        tracing::warn!(
            %error,
            upload_id,
            "aborting a failed multipart upload failed, so its parts stay in the bucket"
        );
    }
}

fn source_error(store: &S3Store, key: &ObjectKey, source: &Path, error: io::Error) -> StorageError {
    StorageError::from_io(
        store.target(Operation::PutFile, key.as_str()),
        source.to_path_buf(),
        error,
        false,
    )
}
