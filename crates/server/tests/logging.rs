//! The server's log at info level names rooms and identities but never a token, a display
//! name or a client's address.

mod common;
mod log_capture;

use common::{Client, TestServer};
use log_capture::Captured;
use profstage_server::signalling::protocol::{Role, ServerMessage};
use serde_json::json;

#[tokio::test]
async fn log_hides_tokens_names_and_addresses() {
    let (captured, _guard) = Captured::install(tracing::Level::INFO);

    let server = TestServer::start().await;
    let mut client = Client::connect(&server).await;
    let mut claims = server.claims("person-7", "demo", Role::Participant);
    claims.name = "Иванова Мария Петровна".into();
    let token = server.issue(&claims);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    assert!(matches!(
        client.receive().await,
        ServerMessage::Welcome { .. }
    ));
    client
        .send(json!({"type": "publish", "sdp": "v=0", "tracks": []}))
        .await;
    assert!(matches!(
        client.receive().await,
        ServerMessage::Error { .. }
    ));
    let address = client.local_addr().to_string();
    client.send(json!({"type": "leave"})).await;
    assert!(client.is_closed().await);
    drop(server);

    let log = captured.text();
    assert!(log.contains("joined"), "the join is logged: {log}");
    assert!(log.contains("person-7"), "the identity is logged: {log}");
    assert!(
        log.contains("request rejected"),
        "the rejection is logged: {log}"
    );
    assert!(!log.contains(&token), "the token leaked into the log");
    assert!(
        !log.contains("Иванова"),
        "the display name leaked into the log"
    );
    assert!(
        !log.contains(&address),
        "the client address leaked into the log"
    );
}
