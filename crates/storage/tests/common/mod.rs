//! Fixtures shared by the integration tests: a storage on each backend.

#![allow(dead_code)]

pub mod garage;

use bytes::Bytes;
use storage::{LocalStore, ObjectKey, Storage};
use tempfile::TempDir;

use garage::Garage;

/// A storage and what keeps it alive: a temporary folder or a Garage node.
pub struct Fixture {
    /// The storage under test.
    pub storage: Storage,
    _local: Option<TempDir>,
    /// The Garage node behind an S3 storage.
    pub garage: Option<Garage>,
}

impl Fixture {
    /// Creates a local storage in a fresh temporary folder.
    pub fn local() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        Self {
            storage: Storage::Local(LocalStore::new(dir.path().join("recordings"))),
            _local: Some(dir),
            garage: None,
        }
    }

    /// Creates an S3 storage on a fresh Garage node.
    pub fn s3() -> Self {
        let garage = Garage::start();
        Self {
            storage: garage.storage(),
            _local: None,
            garage: Some(garage),
        }
    }
}

/// Parses a key that the test expects to be valid.
pub fn key(key: &str) -> ObjectKey {
    ObjectKey::new(key).unwrap_or_else(|e| panic!("test key {key:?} is invalid: {e}"))
}

/// `len` bytes from a fixed xorshift sequence: not compressible, the same on every run.
pub fn pattern(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    Bytes::from(data)
}

/// Fetches `url` with a plain HTTP/1.1 GET and returns the status and body.
pub async fn http_get(url: &str) -> (u16, Bytes) {
    use http_body_util::{BodyExt, Empty};
    use hyper::header::HOST;

    let uri: hyper::Uri = url.parse().expect("valid URL");
    let authority = uri.authority().expect("URL with a host").clone();
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((authority.host(), port))
        .await
        .expect("connect to the URL's host");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(connection);

    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = hyper::Request::get(path)
        .header(HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .expect("valid request");
    let response = sender.send_request(request).await.expect("HTTP response");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes();
    (status, body)
}
