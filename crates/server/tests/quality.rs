//! Connection quality: experts get `connection_quality` about a publishing participant,
//! and `/metrics` carries the same figures until the participant leaves.

mod common;

use std::time::{Duration, Instant};

use common::{join_room, publish_media, Client, TestServer};
use profstage_server::signalling::protocol::{Role, RoomKind, ServerMessage};
use profstage_server::signalling::quality::QualityReport;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Payload bits per second the test publisher sends: 200 bytes every 20 ms.
const SENT_BPS: f64 = 80_000.0;

/// Returns the body of `GET /metrics`.
async fn scrape(server: &TestServer) -> String {
    let mut stream = TcpStream::connect(server.running.http_addr)
        .await
        .expect("the HTTP port accepts");
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("a response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let (_, body) = response.split_once("\r\n\r\n").expect("headers end");
    body.to_owned()
}

/// Returns the value of the series `name` with `labels`, if present.
fn series(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().expect("a number"))
}

/// Returns the next `connection_quality` about `identity` that has publishing figures,
/// skipping other messages.
async fn next_report(client: &mut Client, identity: &str) -> QualityReport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.receive_within(left).await {
            ServerMessage::ConnectionQuality(report)
                if report.identity == identity && report.publishing.is_some() =>
            {
                return report
            }
            _ => continue,
        }
    }
}

/// Polls `/metrics` until `done` holds for its body, for at most 10 seconds.
async fn scrape_until(server: &TestServer, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(server).await;
        if done(&text) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn expert_gets_quality_of_publisher() {
    let server = TestServer::start().await;
    let (mut expert, _) = join_room(&server, "e-1", Role::Expert, RoomKind::Contest).await;
    let (mut participant, _) =
        join_room(&server, "p-1", Role::Participant, RoomKind::Contest).await;
    let (mut organiser, _) = join_room(&server, "o-1", Role::Organiser, RoomKind::Contest).await;
    let _participant_publisher = publish_media(&mut participant, "microphone").await;
    let _organiser_publisher = publish_media(&mut organiser, "microphone").await;

    let report = next_report(&mut expert, "p-1").await;
    let publishing = report.publishing.expect("publishing figures");
    let bitrate = publishing.bitrate_bps as f64;
    assert!(
        (SENT_BPS * 0.5..SENT_BPS * 2.0).contains(&bitrate),
        "bitrate {bitrate}, sent {SENT_BPS}"
    );
    assert_eq!(publishing.tracks.len(), 1, "{:?}", publishing.tracks);
    assert_eq!(report.layer, None);

    // A participant sees the organiser, but gets no quality reports. The server sends each
    // round of reports at once, so once the expert has one about the organiser, the
    // participant's copy, if any, is queued before the reply to a ping.
    next_report(&mut expert, "o-1").await;
    participant.send(json!({"type": "ping"})).await;
    loop {
        match participant.receive().await {
            ServerMessage::Pong => break,
            ServerMessage::ConnectionQuality(report) => {
                panic!("a participant got a quality report: {report:?}")
            }
            _ => continue,
        }
    }
}

#[tokio::test]
async fn metrics_follow_publisher_until_leave() {
    let server = TestServer::start().await;
    let (mut participant, _) =
        join_room(&server, "p-1", Role::Participant, RoomKind::Contest).await;
    let _publisher = publish_media(&mut participant, "microphone").await;

    let name = "profstage_connection_bitrate_bits_per_second";
    let labels = r#"room="demo",identity="p-1",direction="in""#;
    let has_bitrate = |text: &str| series(text, name, labels).is_some_and(|v| v > 0.0);
    let text = scrape_until(&server, has_bitrate).await;
    let bitrate = series(&text, name, labels).expect("the bitrate series");
    assert!(
        (SENT_BPS * 0.5..SENT_BPS * 2.0).contains(&bitrate),
        "bitrate {bitrate}, sent {SENT_BPS}:\n{text}"
    );
    let loss = series(&text, "profstage_connection_loss_ratio", labels);
    if let Some(loss) = loss {
        assert!((0.0..=0.01).contains(&loss), "loss {loss} on loopback");
    }
    let rtt = series(&text, "profstage_connection_rtt_seconds", labels);
    if let Some(rtt) = rtt {
        assert!((0.0..0.5).contains(&rtt), "round trip {rtt} s on loopback");
    }
    assert!(text.contains("# TYPE profstage_connection_jitter_seconds gauge"));
    assert!(!text.contains("Name of p-1"), "a name reached the metrics");

    participant.send(json!({"type": "leave"})).await;
    let gone = |text: &str| !text.contains(r#"identity="p-1""#);
    let text = scrape_until(&server, gone).await;
    assert!(gone(&text), "series stay after leave:\n{text}");
}
