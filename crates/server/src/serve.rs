//! The HTTP/1.1 accept loop, with a time limit on reading each request's headers.
//!
//! `axum::serve` gives hyper no timer, so hyper's header read timeout never runs. A client
//! that opens a connection and sends its headers slowly, or not at all, keeps the
//! connection open for as long as it likes. Here each connection gets hyper's HTTP/1.1 server
//! with a Tokio timer and `http.header_timeout_secs`. WebSocket upgrades work as before,
//! and handlers see the peer address as `ConnectInfo<SocketAddr>`.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Pause after a failed `accept`, such as one for lack of file descriptors, so that the
/// loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets
/// each connection finish the request in progress and returns once all have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (closing, closed) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "accepting an HTTP connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection = serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service),
            header_timeout,
            closed.clone(),
        );
        tokio::spawn(connection);
    }
    drop(closed);
    let _ = closing.send(true);
    closing.closed().await;
    Ok(())
}

/// Serves one connection until it ends, or until `closing` turns true and the response to
/// the request in progress is sent.
async fn serve_connection<S>(
    io: TokioIo<tokio::net::TcpStream>,
    service: S,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) where
    S: hyper::service::Service<axum::http::Request<Incoming>, Response = axum::response::Response>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut connection = pin!(builder.serve_connection(io, service).with_upgrades());
    let closing = async move {
        // The guard that `wait_for` returns must not live across an await.
        let _ = closing.wait_for(|closing| *closing).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = closing => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        // Closed by the client or timed out while reading headers: nothing to act on.
        tracing::debug!(error = %error, "HTTP connection ended with an error");
    }
}
