//! How the S3 backend reports rejections: wrong credentials and a missing bucket.

mod common;

use bytes::Bytes;
use storage::{SecretAccessKey, StorageError};

use common::garage::{storage_for, Garage};
use common::key;

#[tokio::test]
async fn wrong_secret_is_rejected() {
    let garage = Garage::start();
    let wrong_secret = "0".repeat(64);
    let config = storage::S3Config {
        secret_access_key: Some(SecretAccessKey::new(wrong_secret.clone())),
        ..garage.s3_config()
    };
    let storage = storage_for(config);

    let error = storage
        .put(&key("r/a"), Bytes::from_static(b"a"))
        .await
        .unwrap_err();
    assert!(matches!(error, StorageError::Rejected { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("r/a"), "{message}");
    assert!(message.contains(&garage.endpoint), "{message}");
    assert!(!message.contains(&wrong_secret), "{message}");
    assert!(!message.contains(&garage.access_key_id), "{message}");

    let error = storage.check().await.unwrap_err();
    assert!(matches!(error, StorageError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn unknown_key_id_is_rejected_without_naming_it() {
    let garage = Garage::start();
    let config = storage::S3Config {
        access_key_id: Some("GK000000000000000000000000".into()),
        ..garage.s3_config()
    };
    let error = storage_for(config).get(&key("r/a")).await.unwrap_err();
    assert!(matches!(error, StorageError::Rejected { .. }), "{error:?}");
    let message = error.to_string();
    assert!(!message.contains("GK000000000000000000000000"), "{message}");
}

#[tokio::test]
async fn missing_bucket_is_rejected() {
    let garage = Garage::start();
    let config = storage::S3Config {
        bucket: Some("no-such-bucket".into()),
        ..garage.s3_config()
    };
    let storage = storage_for(config);

    let error = storage.check().await.unwrap_err();
    assert!(matches!(error, StorageError::Rejected { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-bucket"), "{error}");

    let error = storage
        .put(&key("r/a"), Bytes::from_static(b"a"))
        .await
        .unwrap_err();
    assert!(matches!(error, StorageError::Rejected { .. }), "{error:?}");
    assert!(!error.is_retryable());
}
