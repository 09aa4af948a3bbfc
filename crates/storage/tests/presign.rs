//! Presigned download URLs: S3 signs them with SigV4, local storage has none.

mod common;

use std::time::Duration;

use bytes::Bytes;
use storage::StorageError;

use common::{http_get, key, pattern, Fixture};

#[tokio::test]
async fn presigned_url_downloads_object() {
    let fixture = Fixture::s3();
    let key = key("recordings/r1/cam-0001.webm");
    let data = pattern(300_000, 7);
    fixture.storage.put(&key, data.clone()).await.unwrap();

    let url = fixture
        .storage
        .presign_get(&key, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("S3 signs URLs");
    let debug = format!("{url:?}");
    assert!(!debug.contains("Signature"), "Debug shows the URL: {debug}");
    let url = url.as_str();
    let garage = fixture.garage.as_ref().unwrap();
    assert!(
        url.starts_with(&format!("{}/{}/{}?", garage.endpoint, garage.bucket, key)),
        "path-style URL expected"
    );
    assert!(
        url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
        "SigV4 expected"
    );
    assert!(!url.contains(&garage.secret_access_key));

    let (status, body) = http_get(url).await;
    assert_eq!(status, 200);
    assert!(body == data, "downloaded bytes differ");
}

#[tokio::test]
async fn presigned_url_expires() {
    let fixture = Fixture::s3();
    let key = key("r/expiring");
    fixture
        .storage
        .put(&key, Bytes::from_static(b"soon gone"))
        .await
        .unwrap();
    let url = fixture
        .storage
        .presign_get(&key, Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();
    let (status, _) = http_get(url.as_str()).await;
    assert_eq!(status, 200, "fresh URL rejected");

    // SigV4 expiry counts whole seconds from X-Amz-Date, so wait past the next second.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = http_get(url.as_str()).await;
    // Garage 2.5.0 returns 400 "Date is too old", and AWS S3 returns 403.
    assert!(
        status == 400 || status == 403,
        "expired URL got HTTP {status}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_ne!(body, "soon gone");
}

#[tokio::test]
async fn tampered_presigned_url_rejected() {
    let fixture = Fixture::s3();
    fixture
        .storage
        .put(&key("r/a"), Bytes::from_static(b"a"))
        .await
        .unwrap();
    fixture
        .storage
        .put(&key("r/b"), Bytes::from_static(b"b"))
        .await
        .unwrap();
    let url = fixture
        .storage
        .presign_get(&key("r/a"), Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();

    let other_object = url.as_str().replacen("/r/a?", "/r/b?", 1);
    assert_ne!(other_object, url.as_str());
    let (status, _) = http_get(&other_object).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn presign_over_seven_days_is_invalid() {
    let fixture = Fixture::s3();
    let week_and_a_second = Duration::from_secs(7 * 24 * 3600 + 1);
    let error = fixture
        .storage
        .presign_get(&key("r/a"), week_and_a_second)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StorageError::InvalidRequest { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn local_has_no_presigned_url() {
    let fixture = Fixture::local();
    let url = fixture
        .storage
        .presign_get(&key("r/a"), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(url, None);
}
