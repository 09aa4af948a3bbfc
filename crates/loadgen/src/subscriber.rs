//! A subscriber: joins, accepts every offer of the server with an SDP answer, and reads
//! the probe of every packet it receives.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::{Event, IceConnectionState};
use tokio::sync::watch;

use crate::clock;
use crate::janus::FeedId;
use crate::options::Target;
use crate::payload::{Kind, Probe};
use crate::peer::{capped, Peer};
use crate::session::{Identity, Incoming, Session};
use crate::signalling::Server;
use crate::stats::TrackReceiver;
use crate::{Error, Phase, PING_INTERVAL};

/// Counters shared by every subscriber of a run.
#[derive(Debug, Default)]
pub struct Totals {
    /// Whether packets count towards the measurement window now.
    pub measuring: AtomicBool,
    /// Packets received by all subscribers, with a probe of this run.
    pub received: AtomicU64,
}

/// One subscriber's settings.
#[derive(Debug, Clone)]
pub struct SubscriberSpec {
    /// Index within the run.
    pub index: u32,
    /// The kind of server.
    pub target: Target,
    /// Room to join.
    pub room: String,
    /// Role to join as: `participant` to receive presenters, `expert` to receive everyone.
    pub role: &'static str,
    /// Publishers this subscriber should receive.
    pub watches: Vec<u32>,
    /// Janus feed ids of the watched publishers, known once they have published.
    pub feeds: Vec<FeedId>,
    /// Address for the UDP socket.
    pub ip: IpAddr,
    /// Size sent in `video_size` for each video track, which chooses the simulcast layer
    /// the server sends. With `None` no size is sent, and the server sends the top layer.
    pub view_size: Option<(u32, u32)>,
}

/// State of one subscriber that the run reads while it goes on.
#[derive(Debug, Default)]
pub struct SubscriberLive {
    /// Set when a whole keyframe of every watched publisher has arrived.
    pub complete: AtomicBool,
}

/// Measurements of one subscriber.
#[derive(Debug, Clone, Default)]
pub struct SubscriberOutcome {
    /// Index within the run.
    pub index: u32,
    /// From the start of the join (token request) to ICE and DTLS completing.
    pub connect_time: Option<Duration>,
    /// From the start of the join to the first whole keyframe of any publisher.
    pub first_frame: Option<Duration>,
    /// From the start of the join to a whole keyframe of every watched publisher.
    pub all_frames: Option<Duration>,
    /// Per publisher, kind and simulcast layer.
    pub tracks: HashMap<(u32, Kind, u8), TrackReceiver>,
    /// Latency samples within the measurement window, microseconds, video then audio.
    pub latency_us: [Vec<u32>; 2],
    /// RTP packets without a probe of this run.
    pub foreign: u64,
    /// Offers answered.
    pub offers: u32,
    /// Datagrams str0m rejected.
    pub rejected: u64,
    /// Error that ended the subscriber, if any.
    pub error: Option<String>,
}

/// Runs a subscriber until the phase is [`Phase::Leave`].
pub async fn run(
    spec: SubscriberSpec,
    server: Arc<Server>,
    totals: Arc<Totals>,
    live: Arc<SubscriberLive>,
    phase: watch::Receiver<Phase>,
) -> SubscriberOutcome {
    let mut outcome = SubscriberOutcome {
        index: spec.index,
        ..SubscriberOutcome::default()
    };
    if let Err(error) = subscribe(&spec, &server, &totals, &live, phase, &mut outcome).await {
        outcome.error = Some(error.to_string());
    }
    outcome
}

/// Keyframes being assembled, per publisher: frame index and packets seen.
type Assembly = HashMap<u32, (u32, u16)>;

async fn subscribe(
    spec: &SubscriberSpec,
    server: &Server,
    totals: &Totals,
    live: &SubscriberLive,
    mut phase: watch::Receiver<Phase>,
    outcome: &mut SubscriberOutcome,
) -> Result<(), Error> {
    let started = Instant::now();
    let name = format!("load subscriber {}", spec.index);
    let who = Identity {
        room: &spec.room,
        name: &name,
        role: spec.role,
    };
    let mut session = Session::open(spec.target, server, &who, spec.ip).await?;
    session.subscribe(&spec.feeds).await?;
    let mut peer = Peer::new(spec.ip)?;
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;

    let mut assembly = Assembly::new();
    let mut complete: Vec<u32> = Vec::new();
    let mut connected_at = None;
    let mut failure = None;
    let mut offers = 0;
    let mut sized: Vec<String> = Vec::new();
    let mut events = |arrival_ns: u64, event: Event| match event {
        Event::Connected => connected_at = Some(started.elapsed()),
        Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
            failure = Some("ICE disconnected".to_string());
        }
        Event::RtpPacket(packet) => {
            let Some(probe) = Probe::find(&packet.payload) else {
                outcome.foreign += 1;
                return;
            };
            if !spec.watches.contains(&probe.publisher) {
                outcome.foreign += 1;
                return;
            }
            totals.received.fetch_add(1, Ordering::Relaxed);
            let track = outcome
                .tracks
                .entry((probe.publisher, probe.kind, probe.layer))
                .or_default();
            let fresh = track.record(&probe, arrival_ns);
            if totals.measuring.load(Ordering::Relaxed) {
                let latency_us = arrival_ns.saturating_sub(probe.sent_ns) / 1000;
                let slot = usize::from(probe.kind == Kind::Audio);
                outcome.latency_us[slot].push(u32::try_from(latency_us).unwrap_or(u32::MAX));
            }
            if fresh && probe.kind == Kind::Video && probe.keyframe {
                let elapsed = started.elapsed();
                if assemble(&mut assembly, &mut complete, &probe) {
                    outcome.first_frame.get_or_insert(elapsed);
                    if spec.watches.iter().all(|p| complete.contains(p)) {
                        outcome.all_frames.get_or_insert(elapsed);
                        live.complete.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        _ => {}
    };

    let result = loop {
        tokio::select! {
            readable = peer.readable() => {
                if let Err(e) = readable {
                    break Err(Error::io("waiting for the socket", e));
                }
                if let Err(e) = peer.receive(&mut events) {
                    break Err(e);
                }
            }
            () = tokio::time::sleep_until(capped(peer.timeout())) => {
                if let Err(e) = peer.handle_timeout(&mut events) {
                    break Err(e);
                }
            }
            _ = ping.tick() => {
                if let Err(e) = session.keepalive().await {
                    break Err(e);
                }
            }
            incoming = session.receive() => match incoming {
                Ok(Incoming::Offer { sdp, video_tracks }) => {
                    let answer = SdpOffer::from_sdp_string(&sdp)
                        .map_err(|e| Error::Rtc(format!("the server's offer: {e}")))
                        .and_then(|offer| {
                            peer.rtc
                                .sdp_api()
                                .accept_offer(offer)
                                .map_err(|e| Error::Rtc(format!("accepting the offer: {e}")))
                        });
                    let sent = match answer {
                        Ok(answer) => session.answer(answer.to_sdp_string()).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = sent.and_then(|()| peer.drain(clock::wall_ns(), &mut events)) {
                        break Err(e);
                    }
                    offers += 1;
                    if let Err(e) = show(&mut session, spec.view_size, &video_tracks, &mut sized).await {
                        break Err(e);
                    }
                }
                Ok(Incoming::LayersWanted(_)) => {}
                Ok(Incoming::Fatal(reason)) => break Err(Error::Signalling(reason)),
                Ok(Incoming::Other) => {}
                Err(e) => break Err(e),
            },
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Leave {
                    break Ok(());
                }
            }
        }
    };
    outcome.offers = offers;
    outcome.connect_time = connected_at;
    outcome.rejected = peer.rejected;
    if let Some(failure) = failure {
        outcome.error.get_or_insert(failure);
    }
    session.leave().await;
    result
}

/// Sends `view_size` once for each video track not sized yet, as a page does for each tile.
async fn show(
    session: &mut Session,
    view_size: Option<(u32, u32)>,
    video_tracks: &[String],
    sized: &mut Vec<String>,
) -> Result<(), Error> {
    let Some((width, height)) = view_size else {
        return Ok(());
    };
    for track in video_tracks {
        if !sized.contains(track) {
            session.video_size(track, width, height).await?;
            sized.push(track.clone());
        }
    }
    Ok(())
}

/// Counts one packet of a keyframe; returns whether it completed a keyframe of a publisher
/// that had none yet.
fn assemble(assembly: &mut Assembly, complete: &mut Vec<u32>, probe: &Probe) -> bool {
    if complete.contains(&probe.publisher) {
        return true;
    }
    let entry = assembly.entry(probe.publisher).or_insert((probe.frame, 0));
    if entry.0 != probe.frame {
        // A newer keyframe replaces an incomplete older one.
        if probe.frame < entry.0 {
            return false;
        }
        *entry = (probe.frame, 0);
    }
    entry.1 += 1;
    if entry.1 >= probe.parts {
        complete.push(probe.publisher);
        return true;
    }
    false
}
