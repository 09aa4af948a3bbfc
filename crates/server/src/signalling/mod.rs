//! WebSocket signalling: protocol messages and one session per connection.

pub mod protocol;
mod session;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;

/// Largest frame the WebSocket layer accepts at all. Frames between the protocol's limit and
/// this one get a `message_too_large` error and the session goes on; larger ones end it.
const TRANSPORT_LIMIT: usize = 1024 * 1024;

/// Upgrades `GET /ws` to a signalling session.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<Arc<AppState>>) -> Response {
    ws.max_message_size(TRANSPORT_LIMIT)
        .max_frame_size(TRANSPORT_LIMIT)
        .on_upgrade(move |socket| session::run(state, socket))
}
