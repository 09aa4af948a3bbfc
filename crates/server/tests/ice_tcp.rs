//! ICE over TCP: a str0m peer whose only candidate is TCP publishes through a real loopback
//! connection to the server's TCP listener, and malformed or excess connections do not keep
//! it from doing so.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{add_room, join_named_room, join_room, negotiate_publish, Client, TestServer};
use profstage_server::signalling::protocol::{Role, RoomKind, ServerMessage};
use str0m::media::MediaKind;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The server's limit on open TCP media connections.
const MAX_CONNECTIONS: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

async fn tcp_server() -> TestServer {
    TestServer::start_with(|config| {
        config.media.tcp_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

fn tcp_addr(server: &TestServer) -> SocketAddr {
    server.running.tcp_addr.expect("the server listens on TCP")
}

/// A publishing str0m peer that reaches the server over one TCP connection, framed as in
/// RFC 4571. Its task ends when it is dropped.
struct TcpPublisher {
    connected: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TcpPublisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpPublisher {
    /// Waits until ICE and DTLS are up; returns false after `CONNECT_TIMEOUT`.
    async fn wait_connected(&mut self) -> bool {
        let connected = self.connected.wait_for(|connected| *connected);
        matches!(
            tokio::time::timeout(CONNECT_TIMEOUT, connected).await,
            Ok(Ok(_))
        )
    }
}

async fn publish_over_tcp(client: &mut Client, server: SocketAddr) -> TcpPublisher {
    let stream = TcpStream::connect(server).await.expect("TCP connects");
    let local = stream.local_addr().expect("the stream has an address");
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
    let candidate = Candidate::host(local, "tcp").expect("a TCP host candidate");
    rtc.add_local_candidate(candidate);
    negotiate_publish(client, &mut rtc, MediaKind::Video, "camera").await;
    let (report, connected) = watch::channel(false);
    let task = tokio::spawn(drive_over_tcp(rtc, stream, report));
    TcpPublisher { connected, task }
}

/// Moves frames between the peer and its connection and runs its timers.
async fn drive_over_tcp(mut rtc: Rtc, mut stream: TcpStream, connected: watch::Sender<bool>) {
    let local = stream.local_addr().expect("the stream has an address");
    let remote = stream.peer_addr().expect("the stream has a peer");
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 4096];
    loop {
        let deadline = match rtc.poll_output().expect("the test publisher runs") {
            Output::Transmit(transmit) => {
                assert_eq!(
                    transmit.proto,
                    Protocol::Tcp,
                    "the peer sends over TCP only"
                );
                let frame = framed(&transmit.contents);
                if stream.write_all(&frame).await.is_err() {
                    return;
                }
                continue;
            }
            Output::Event(Event::Connected) => {
                connected.send_replace(true);
                continue;
            }
            Output::Event(_) => continue,
            Output::Timeout(at) => at,
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            read = stream.read(&mut buffer) => {
                let length = match read {
                    Ok(0) | Err(_) => return,
                    Ok(length) => length,
                };
                received.extend_from_slice(&buffer[..length]);
                while let Some(frame) = take_frame(&mut received) {
                    let Ok(receive) = Receive::new(Protocol::Tcp, remote, local, &frame) else {
                        continue;
                    };
                    let input = Input::Receive(Instant::now(), receive);
                    rtc.handle_input(input).expect("the peer takes its input");
                }
            }
            () = sleep => {
                rtc.handle_input(Input::Timeout(Instant::now())).expect("the peer runs");
            }
        }
    }
}

fn framed(datagram: &[u8]) -> Vec<u8> {
    let length = u16::try_from(datagram.len()).expect("a datagram fits a frame");
    let mut frame = length.to_be_bytes().to_vec();
    frame.extend_from_slice(datagram);
    frame
}

/// Removes and returns the first whole frame of `buffer`.
fn take_frame(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let prefix: [u8; 2] = buffer.get(..2)?.try_into().expect("two bytes");
    let end = 2 + usize::from(u16::from_be_bytes(prefix));
    if buffer.len() < end {
        return None;
    }
    let frame = buffer[2..end].to_vec();
    buffer.drain(..end);
    Some(frame)
}

/// Joins an expert and a participant, publishes a camera over TCP and returns once the
/// expert receives `track_published`, which the server sends when DTLS is up, with the
/// track's id.
async fn expert_sees_tcp_publisher(server: &TestServer) -> (TcpPublisher, String) {
    let (mut expert, _) = join_room(server, "expert-1", Role::Expert, RoomKind::Contest).await;
    let (mut participant, _) = join_room(
        server,
        "participant-1",
        Role::Participant,
        RoomKind::Contest,
    )
    .await;
    let mut publisher = publish_over_tcp(&mut participant, tcp_addr(server)).await;
    assert!(
        publisher.wait_connected().await,
        "the publisher connects over TCP"
    );
    loop {
        match expert.receive_within(CONNECT_TIMEOUT).await {
            ServerMessage::TrackPublished(info) if info.identity == "participant-1" => {
                return (publisher, info.track)
            }
            _ => continue,
        }
    }
}

/// Returns whether the server closes `stream` within two seconds.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await;
    matches!(read, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn publisher_connects_over_tcp() {
    let server = tcp_server().await;
    let _publisher = expert_sees_tcp_publisher(&server).await;
}

/// The first worker accepts every TCP connection; a room on the second worker gets its
/// frames from it and sends back through it.
#[tokio::test]
async fn tcp_reaches_second_worker() {
    let server = TestServer::start_with(|config| {
        config.media.tcp_listen = Some("127.0.0.1:0".parse().unwrap());
        config.media.workers = 2;
        add_room(config, "first");
    })
    .await;
    // The first room used goes to the first worker, so `demo` goes to the second.
    let (_first, _) = join_named_room(
        &server,
        "first",
        "expert-1",
        Role::Expert,
        RoomKind::Contest,
    )
    .await;
    let (_publisher, track) = expert_sees_tcp_publisher(&server).await;
    let number: u64 = track.strip_prefix("tr-").unwrap().parse().unwrap();
    assert_eq!(
        (number - 1) % 2,
        1,
        "{track} was numbered by the second worker"
    );
}

#[tokio::test]
async fn tcp_listener_off_by_default() {
    let server = TestServer::start().await;
    assert_eq!(server.running.tcp_addr, None);
}

#[tokio::test]
async fn oversized_frame_closes_connection() {
    let server = tcp_server().await;
    let mut stream = TcpStream::connect(tcp_addr(&server)).await.unwrap();
    let mut input = vec![0xff, 0xff];
    input.extend(vec![0x42u8; 4096]);
    stream.write_all(&input).await.unwrap();
    assert!(closed_by_server(&mut stream).await, "connection stays open");
}

#[tokio::test]
async fn truncated_frame_closes_connection() {
    let server = tcp_server().await;
    let mut stream = TcpStream::connect(tcp_addr(&server)).await.unwrap();
    stream.write_all(&[0x00, 0x40, 1, 2, 3]).await.unwrap();
    stream.shutdown().await.unwrap();
    assert!(closed_by_server(&mut stream).await, "connection stays open");
}

#[tokio::test]
async fn garbage_and_flood_leave_tcp_usable() {
    let server = tcp_server().await;
    let target = tcp_addr(&server);

    let mut garbage = TcpStream::connect(target).await.unwrap();
    for length in [1usize, 20, 200, 1500, 0, 2048] {
        let datagram: Vec<u8> = (0..length).map(|i| (i * 31 % 251) as u8).collect();
        garbage.write_all(&framed(&datagram)).await.unwrap();
    }
    let mut flood = Vec::new();
    for _ in 0..MAX_CONNECTIONS + 20 {
        flood.push(TcpStream::connect(target).await.unwrap());
    }

    // At the limit, each new connection closes the oldest one that no peer claimed.
    let _publisher = expert_sees_tcp_publisher(&server).await;
    assert!(
        closed_by_server(&mut garbage).await,
        "the oldest unclaimed connection is closed for newer ones"
    );
}
