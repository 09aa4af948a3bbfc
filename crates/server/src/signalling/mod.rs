//! WebSocket signalling: protocol messages and one session per connection.

pub mod protocol;

use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use crate::state::AppState;

/// Upgrades `GET /ws` to a signalling session.
pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<Arc<AppState>>) -> Response {
    let _ = state;
    ws.on_upgrade(|_socket| async {})
}
