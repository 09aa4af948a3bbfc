//! WebSocket signalling: protocol messages and one session per connection.

pub mod protocol;
