//! WebSocket signalling: protocol messages and one session per connection.

pub mod protocol;
pub mod quality;
mod session;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;

/// Upgrades `GET /ws` to a signalling session.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<Arc<AppState>>) -> Response {
    ws.max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session::run(state, socket))
}
