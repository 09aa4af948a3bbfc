//! Runs the load generator against a real server on loopback ports: the server library
//! with its UDP media loop, signalling and recording, and str0m clients over real ICE,
//! DTLS and SRTP.

use profstage_loadgen::{run, Mode, Options, Report, ViewSize};
use profstage_server::app;
use profstage_server::config::{Config, RoomConfig};

/// Starts a server on ephemeral loopback ports with rooms `a` and `b`, its files in `data`.
async fn start_server(data: &std::path::Path) -> app::RunningServer {
    let mut config = Config::default();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.media.udp_listen = "127.0.0.1:0".parse().unwrap();
    config.dev_mode = Some(true);
    config.recording.spool_dir = data.join("spool");
    config.recording.data_dir = data.join("data");
    config.storage.local_dir = data.join("recordings");
    let rooms: Vec<RoomConfig> = toml::from_str::<toml::Table>(
        "[[rooms]]\nid = \"a\"\ntitle = \"A\"\n[[rooms]]\nid = \"b\"\ntitle = \"B\"\n",
    )
    .unwrap()["rooms"]
        .clone()
        .try_into()
        .unwrap();
    config.rooms = rooms;
    app::start(config).await.expect("server starts")
}

fn options(server: &app::RunningServer, mode: Mode) -> Options {
    let mut options = Options::new(&server.url(), mode, 2, 3);
    options.duration = 3.0;
    options.video_kbps = 600;
    // The server runs in this process.
    options.server_pid = Some(std::process::id());
    options
}

/// Checks what holds for any healthy run of 2 publishers and 3 subscribers each receiving
/// `watched` publishers.
fn assert_healthy(report: &Report, watched: u64) {
    eprintln!("{report}");
    assert!(report.passed, "the run failed:\n{report}");
    assert_eq!(report.publishers.connected, 2, "{report}");
    assert_eq!(
        report.subscribers.with_all_frames, report.subscribers.count,
        "{report}"
    );
    // 3 s at 600 kbit/s and 30 fps is at least 90 frames, and 150 Opus packets, per publisher.
    for row in &report.per_subscriber {
        assert!(
            row.error.is_none(),
            "subscriber {}: {:?}",
            row.index,
            row.error
        );
        assert!(
            row.video_packets >= 90 * watched,
            "subscriber {} got {} video packets",
            row.index,
            row.video_packets
        );
        assert!(
            row.audio_packets >= 150 * watched,
            "subscriber {} got {} audio packets",
            row.index,
            row.audio_packets
        );
    }
    assert!(report.packets.received > 0);
    assert!(report.packets.loss_ratio < 0.01, "{report}");

    for (kind, latency) in [
        ("video", report.added_latency_ms.video),
        ("audio", report.added_latency_ms.audio),
    ] {
        assert!(latency.count > 100, "{kind}: {latency:?}");
        assert!(latency.p50 > 0.0, "{kind}: {latency:?}");
        assert!(latency.p99 >= latency.p50, "{kind}: {latency:?}");
        assert!(latency.p99 < 1000.0, "{kind}: {latency:?}");
    }
    let first = report.subscribers.first_frame_ms;
    assert_eq!(first.count, report.subscribers.count);
    assert!(first.p50 > 0.0, "{first:?}");
    assert!(first.max < 10_000.0, "{first:?}");

    let server = report
        .server
        .as_ref()
        .expect("the server's process is sampled");
    assert!(server.window_cpu_s > 0.0, "{server:?}");
    assert!(server.rss_end_kib > 0, "{server:?}");
    assert!(server.cpu_us_per_forwarded_packet > 0.0, "{server:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_publisher_reaches_its_own_subscribers() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let report = run(&options(&server, Mode::PerPublisher)).await.unwrap();
    assert_eq!(report.subscribers.count, 6);
    assert_eq!(report.subscribers.subscribed_tracks, 12);
    assert_healthy(&report, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expert_receives_every_publisher() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let report = run(&options(&server, Mode::WatchAll)).await.unwrap();
    assert_eq!(report.subscribers.count, 3);
    assert_eq!(report.subscribers.subscribed_tracks, 12);
    assert_healthy(&report, 2);
}

/// Runs 2 simulcast publishers with 3 subscribers each that show videos at `view_size`.
/// Returns, per subscriber, the layers it received and the layer it received last.
async fn simulcast_layers(view_size: Option<ViewSize>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let mut options = options(&server, Mode::PerPublisher);
    options.simulcast = true;
    options.view_size = view_size;
    let report = run(&options).await.unwrap();
    assert_healthy(&report, 1);
    report
        .per_subscriber
        .iter()
        .map(|row| (row.video_layers.clone(), row.current_layers.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_view_gets_lowest_layer() {
    let small = ViewSize {
        width: 320,
        height: 180,
    };
    // Until the server has the view size, a subscriber may get a higher layer.
    for (received, current) in simulcast_layers(Some(small)).await {
        assert!(received.contains(&0), "{received:?}");
        assert_eq!(current, [0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_view_size_gets_top_layer() {
    // The bandwidth estimate may start a subscriber on a lower layer.
    for (received, current) in simulcast_layers(None).await {
        assert!(received.contains(&2), "{received:?}");
        assert_eq!(current, [2]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_rooms_is_a_setup_error() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let mut options = options(&server, Mode::PerPublisher);
    options.publishers = 3;
    let error = run(&options).await.unwrap_err();
    assert!(
        error.to_string().contains("3 publishers need 3 rooms"),
        "{error}"
    );
}

/// Runs the `profstage-load` binary with `arguments` and returns its exit status.
async fn run_binary(arguments: Vec<String>) -> std::process::ExitStatus {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_profstage-load"))
        .args(arguments)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .expect("the binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_writes_json_and_exits_zero() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let json = data.path().join("report.json");
    let arguments = [
        "--url",
        &server.url(),
        "--subscribers",
        "2",
        "--duration",
        "1",
        "--video-kbps",
        "300",
        "--server-pid",
        &std::process::id().to_string(),
        "--json",
        json.to_str().unwrap(),
    ];
    let status = run_binary(arguments.iter().map(|a| a.to_string()).collect()).await;
    assert_eq!(status.code(), Some(0));

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["subscribers"]["count"], 2);
    assert_eq!(report["per_subscriber"].as_array().unwrap().len(), 2);
    assert!(report["added_latency_ms"]["video"]["p50"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_two_on_unknown_room() {
    let data = tempfile::tempdir().unwrap();
    let server = start_server(data.path()).await;
    let arguments = vec![
        "--url".to_string(),
        server.url(),
        "--room".to_string(),
        "nowhere".to_string(),
    ];
    let status = run_binary(arguments).await;
    assert_eq!(status.code(), Some(2));
}
