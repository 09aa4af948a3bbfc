//! The Profstage server: HTTP and WebSocket signalling edge, UDP media loop and the wiring
//! between them and the media core.

pub mod admin;
pub mod app;
pub mod audit;
pub mod briefing;
pub mod client_address;
pub mod config;
pub mod contest_api;
pub mod http;
pub mod media_loop;
pub mod notifier;
pub mod pdf;
pub mod phone_camera;
pub mod recording;
pub mod recording_api;
pub mod retention;
pub mod serve;
pub mod signalling;
pub mod state;
pub mod telemetry;
pub mod token;
pub mod token_bucket;
pub mod turn;
pub mod whip;
