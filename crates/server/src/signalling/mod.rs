//! WebSocket signalling: protocol messages and one session per connection.

mod phone;
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

/// Returns the title of a configured room or of a contest room, or `None` when neither
/// exists or the database fails.
pub(crate) async fn room_title(state: &AppState, room: &str) -> Option<String> {
    if let Some(configured) = state.config.room(room) {
        return Some(configured.title.clone());
    }
    match state.contest.room_title(room).await {
        Ok(title) => title,
        Err(error) => {
            tracing::error!(%error, room, "failed to look up a contest room");
            None
        }
    }
}
