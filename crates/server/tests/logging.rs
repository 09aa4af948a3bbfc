//! The server's log at info level names rooms and identities but never a token, a display
//! name or a client's address.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Client, TestServer};
use profstage_server::signalling::protocol::{Role, ServerMessage};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn log_hides_tokens_names_and_addresses() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
