//! The S3 backend while Garage is down or hung: errors come back within the timeouts and
//! are retryable, and work resumes once Garage is back.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use storage::StorageError;

use common::garage::{send_signal, storage_for, Garage};
use common::key;

/// Operation timeout of the stores in these tests.
const OPERATION_TIMEOUT_SECS: u64 = 3;
/// Slack for retries' backoff and a loaded machine on top of the operation timeout.
const SLACK: Duration = Duration::from_secs(2);

fn short_timeout_storage(garage: &Garage) -> storage::Storage {
    storage_for(storage::S3Config {
        connect_timeout_secs: 1,
        operation_timeout_secs: OPERATION_TIMEOUT_SECS,
        ..garage.s3_config()
    })
}

#[tokio::test]
async fn put_fails_retryable_while_stopped_then_recovers() {
    let garage = Garage::start();
    let storage = short_timeout_storage(&garage);
    let before = key("r/before-outage");
    storage
        .put(&before, Bytes::from_static(b"kept"))
        .await
        .unwrap();

    garage.stop();
    assert_put_fails_retryable(&storage, &garage).await;
    garage.restart();
    let after_stop = key("r/after-stop");
    storage
        .put(&after_stop, Bytes::from_static(b"back"))
        .await
        .unwrap();

    garage.kill();
    assert_put_fails_retryable(&storage, &garage).await;
    garage.restart();
    let after_crash = key("r/after-crash");
    storage
        .put(&after_crash, Bytes::from_static(b"back again"))
        .await
        .unwrap();

    assert_eq!(storage.get(&before).await.unwrap(), "kept");
    assert_eq!(storage.get(&after_stop).await.unwrap(), "back");
    assert_eq!(storage.get(&after_crash).await.unwrap(), "back again");
}

async fn assert_put_fails_retryable(storage: &storage::Storage, garage: &Garage) {
    let key = key("r/during-outage");
    let started = Instant::now();
    let error = storage
        .put(&key, Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();

    assert!(
        matches!(
            error,
            StorageError::Unreachable { .. } | StorageError::TimedOut { .. }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        elapsed < Duration::from_secs(OPERATION_TIMEOUT_SECS) + SLACK,
        "put took {elapsed:?}"
    );
    let message = error.to_string();
    assert!(message.contains(key.as_str()), "{message}");
    assert!(message.contains(&garage.endpoint), "{message}");
    assert!(!message.contains(&garage.secret_access_key), "{message}");
    assert!(storage.check().await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn put_times_out_while_hung() {
    let garage = Garage::start();
    let storage = short_timeout_storage(&garage);
    storage.check().await.unwrap();

    let pid = garage.pid();
    send_signal("STOP", pid);
    let started = Instant::now();
    let result = storage
        .put(&key("r/while-hung"), Bytes::from_static(b"x"))
        .await;
    let elapsed = started.elapsed();
    send_signal("CONT", pid);

    let error = result.unwrap_err();
    assert!(matches!(error, StorageError::TimedOut { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        elapsed < Duration::from_secs(OPERATION_TIMEOUT_SECS) + SLACK,
        "put took {elapsed:?}"
    );
    storage
        .put(&key("r/after-hang"), Bytes::from_static(b"y"))
        .await
        .unwrap();
}
