//! Clients that send their request headers slowly or not at all lose their connection after
//! `http.header_timeout_secs`, while complete requests are served as before.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longer than the one-second header timeout of these tests, with room for a busy host.
const WAIT: Duration = Duration::from_secs(10);

async fn server() -> TestServer {
    TestServer::start_with(|config| config.http.header_timeout_secs = 1).await
}

/// Reads until the server closes the connection, and returns what it sent and when it
/// closed, or `None` when it kept the connection open for [`WAIT`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<(Vec<u8>, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout_at((started + WAIT).into(), stream.read(&mut buffer));
        match read.await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((received, started.elapsed())),
            Ok(Ok(length)) => received.extend_from_slice(&buffer[..length]),
        }
    }
}

#[tokio::test]
async fn unfinished_headers_close_connection() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.running.http_addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();

    let closed = read_until_closed(&mut stream).await;

    let (received, after) = closed.expect("the server closes a connection whose headers stall");
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
    let text = String::from_utf8_lossy(&received);
    assert!(!text.contains("200 OK"), "unexpected response: {text}");
}

#[tokio::test]
async fn silent_connection_closes() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.running.http_addr).await.unwrap();

    let closed = read_until_closed(&mut stream).await;

    assert!(
        closed.is_some(),
        "the server keeps a silent connection open"
    );
}

#[tokio::test]
async fn complete_request_gets_response() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.running.http_addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();

    let (received, _) = read_until_closed(&mut stream)
        .await
        .expect("the server closes the connection after answering");

    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
}
