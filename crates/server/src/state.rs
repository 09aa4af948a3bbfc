//! State shared by every HTTP and WebSocket handler.

use std::sync::Arc;

use crate::config::Config;
use crate::media_loop::MediaHandle;
use crate::token::TokenKeys;

/// Everything a request handler may need, behind one `Arc`.
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Keys that sign and verify access tokens.
    pub tokens: TokenKeys,
    /// The channel into the media loop.
    pub media: MediaHandle,
}
