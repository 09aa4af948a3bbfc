//! The same behaviour checks on both backends: `local::NAME` on a temporary folder and
//! `s3::NAME` on a Garage node that the test starts (`scripts/garage install` first).

mod common;

use std::collections::BTreeSet;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use storage::{KeyPrefix, ObjectKey, Storage, StorageError, MULTIPART_THRESHOLD};

use common::{key, pattern, Fixture};

/// Runs each listed check as `local::NAME` and `s3::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let fixture = crate::Fixture::local();
                    crate::$name(&fixture.storage).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $name() {
                    let fixture = crate::Fixture::s3();
                    crate::$name(&fixture.storage).await;
                }
            )*
        }
    };
}

on_both_backends!(
    round_trip,
    put_overwrites,
    head_reports_size,
    list_filters_by_prefix,
    list_pages_past_1000,
    delete_is_idempotent,
    get_missing_is_not_found,
    odd_valid_keys_round_trip,
    put_file_small,
    put_file_20_mib,
    put_file_missing_source,
    check_succeeds,
);

async fn round_trip(storage: &Storage) {
    let data: Bytes = (0..=255u8).cycle().take(10_000).collect::<Vec<u8>>().into();
    let key = key("recordings/r1/cam-0001.webm");
    storage.put(&key, data.clone()).await.unwrap();
    assert_eq!(storage.get(&key).await.unwrap(), data);

    let empty = common::key("recordings/r1/empty");
    storage.put(&empty, Bytes::new()).await.unwrap();
    assert_eq!(storage.get(&empty).await.unwrap(), Bytes::new());
}

async fn put_overwrites(storage: &Storage) {
    let key = key("recordings/r1/manifest.json");
    storage
        .put(&key, Bytes::from_static(b"first, longer"))
        .await
        .unwrap();
    storage
        .put(&key, Bytes::from_static(b"second"))
        .await
        .unwrap();

    assert_eq!(storage.get(&key).await.unwrap(), "second");
    let info = storage.head(&key).await.unwrap().expect("object exists");
    assert_eq!(info.size, 6);
}

async fn head_reports_size(storage: &Storage) {
    let key = key("r/head.bin");
    assert_eq!(storage.head(&key).await.unwrap(), None);

    storage.put(&key, pattern(1234, 1)).await.unwrap();
    let info = storage.head(&key).await.unwrap().expect("object exists");
    assert_eq!(info.key, key);
    assert_eq!(info.size, 1234);
    assert_eq!(storage.head(&common::key("r")).await.unwrap(), None);
}

async fn list_filters_by_prefix(storage: &Storage) {
    let keys = [
        "r1/cam/0001.webm",
        "r1/cam/0002.webm",
        "r1/mic/0001.webm",
        "r1/manifest.json",
        "r10/cam/0001.webm",
        "r2/cam/0001.webm",
    ];
    for (i, name) in keys.iter().enumerate() {
        storage.put(&key(name), pattern(i + 1, 2)).await.unwrap();
    }

    assert_eq!(
        listed(storage, "r1/").await,
        [
            "r1/cam/0001.webm",
            "r1/cam/0002.webm",
            "r1/manifest.json",
            "r1/mic/0001.webm"
        ]
    );
    assert_eq!(
        listed(storage, "r1/cam/").await,
        ["r1/cam/0001.webm", "r1/cam/0002.webm"]
    );
    assert_eq!(
        listed(storage, "r1/m").await,
        ["r1/manifest.json", "r1/mic/0001.webm"]
    );
    assert_eq!(listed(storage, "r1").await.len(), 5, "r1 also matches r10/");
    assert_eq!(listed(storage, "").await.len(), keys.len());
    assert_eq!(
        listed(storage, "r1/cam/0002.webm").await,
        ["r1/cam/0002.webm"]
    );
    assert!(listed(storage, "r3/").await.is_empty());

    let sizes = storage.list(&prefix("r2/")).await.unwrap();
    assert_eq!(sizes.len(), 1);
    assert_eq!(sizes[0].size, 6);
}

async fn list_pages_past_1000(storage: &Storage) {
    const COUNT: usize = 1005;
    let names: Vec<String> = (0..COUNT).map(|i| format!("many/seg-{i:05}")).collect();
    stream::iter(&names)
        .map(|name| async move { storage.put(&key(name), Bytes::from(name.clone())).await })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    storage
        .put(&key("other/seg-0"), Bytes::new())
        .await
        .unwrap();

    let listed = storage.list(&prefix("many/")).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys.len(), COUNT);
    assert_eq!(keys, names, "every key once, in order");
    assert!(listed.iter().all(|o| o.size == 14));
}

async fn delete_is_idempotent(storage: &Storage) {
    let key = key("r/delete-me");
    storage.put(&key, Bytes::from_static(b"x")).await.unwrap();
    storage.delete(&key).await.unwrap();

    assert_eq!(storage.head(&key).await.unwrap(), None);
    assert!(storage.get(&key).await.unwrap_err().is_not_found());
    storage.delete(&key).await.unwrap();
    storage.delete(&common::key("never/existed")).await.unwrap();
}

async fn get_missing_is_not_found(storage: &Storage) {
    let error = storage.get(&key("r/missing.webm")).await.unwrap_err();
    assert!(matches!(error, StorageError::NotFound { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("r/missing.webm"), "{message}");
    assert!(message.contains(&storage.location()), "{message}");
}

/// Keys that look odd but follow the rules stay inside the storage and come back intact.
async fn odd_valid_keys_round_trip(storage: &Storage) {
    let longest = format!("{}/{}/{}", "a".repeat(255), "b".repeat(200), "c".repeat(55));
    let names = [".hidden", "a/..b", "a/.../c", "_-./x", longest.as_str()];
    for (i, name) in names.iter().enumerate() {
        let data = pattern(10 + i, 3);
        storage.put(&key(name), data.clone()).await.unwrap();
        assert_eq!(storage.get(&key(name)).await.unwrap(), data, "key {name}");
    }
    let all: BTreeSet<String> = listed(storage, "").await.into_iter().collect();
    let expected: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
    assert_eq!(all, expected);
}

async fn put_file_small(storage: &Storage) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segment.webm");
    let data = pattern(100_000, 4);
    std::fs::write(&path, &data).unwrap();

    let key = key("r/small.webm");
    storage.put_file(&key, &path).await.unwrap();
    assert_eq!(storage.get(&key).await.unwrap(), data);
}

/// 20 MiB is over the multipart threshold, so S3 gets three parts: 8, 8 and 4 MiB.
async fn put_file_20_mib(storage: &Storage) {
    const SIZE: usize = 20 * 1024 * 1024;
    assert!(SIZE as u64 > MULTIPART_THRESHOLD);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screen.webm");
    let data = pattern(SIZE, 5);
    std::fs::write(&path, &data).unwrap();

    let key = key("r/large.webm");
    storage.put_file(&key, &path).await.unwrap();
    let info = storage.head(&key).await.unwrap().expect("object exists");
    assert_eq!(info.size, SIZE as u64);
    let read = storage.get(&key).await.unwrap();
    assert!(read == data, "20 MiB object differs from the file");
}

async fn put_file_missing_source(storage: &Storage) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let error = storage.put_file(&key("r/x"), &missing).await.unwrap_err();
    match &error {
        StorageError::Io { path, .. } => assert_eq!(path, &missing),
        other => panic!("expected an I/O error on the source, got {other:?}"),
    }
    assert_eq!(storage.head(&key("r/x")).await.unwrap(), None);
}

async fn check_succeeds(storage: &Storage) {
    storage.check().await.unwrap();
}

fn prefix(prefix: &str) -> KeyPrefix {
    KeyPrefix::new(prefix).unwrap()
}

async fn listed(storage: &Storage, prefix: &str) -> Vec<String> {
    let objects = storage.list(&self::prefix(prefix)).await.unwrap();
    objects.into_iter().map(|o| String::from(o.key)).collect()
}

#[test]
fn invalid_keys_rejected() {
    for bad in [
        "", "/abs", "../up", "a/../b", "a/./b", "a//b", "a/", "a\\b", "a b", "ключ",
    ] {
        assert!(ObjectKey::new(bad).is_err(), "{bad:?} accepted");
    }
    assert!(
        ObjectKey::new("x".repeat(513)).is_err(),
        "513-byte key accepted"
    );
    for bad in ["/", "../", "a/../", "a b"] {
        assert!(KeyPrefix::new(bad).is_err(), "prefix {bad:?} accepted");
    }
}
