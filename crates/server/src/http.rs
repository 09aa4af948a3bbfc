//! HTTP routes: static web client, health, development token endpoints, WebSocket upgrade.
