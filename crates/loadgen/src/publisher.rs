//! A publisher: joins, offers one VP8 and one Opus track, and sends synthetic media with a
//! probe in every packet once ICE and DTLS are up.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::rtp::RtpWrite;
use str0m::Event;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::clock;
use crate::options::Target;
use crate::payload::{self, Kind, Probe};
use crate::peer::{capped, Peer};
use crate::session::{Identity, Incoming, Session};
use crate::signalling::{PublishedTrack, Server};
use crate::{Error, Phase, PING_INTERVAL};

/// Media a publisher sends.
#[derive(Debug, Clone)]
pub struct MediaSpec {
    /// Video bitrate, bits per second.
    pub video_bitrate: u64,
    /// Video frames per second.
    pub fps: u32,
    /// Frames between periodic keyframes.
    pub keyframe_every: u32,
    /// Width declared in keyframes.
    pub width: u16,
    /// Height declared in keyframes.
    pub height: u16,
    /// Bytes of each Opus payload; 50 are sent per second.
    pub audio_bytes: usize,
}

/// Counters of one publisher that the run reads while it goes on.
#[derive(Debug, Default)]
pub struct PublisherLive {
    /// Whether ICE and DTLS completed.
    pub connected: AtomicBool,
    /// Packets written so far, for [`Kind::Audio`] and [`Kind::Video`]: the next index.
    pub written: [AtomicU64; 2],
    /// Keyframes sent.
    pub keyframes: AtomicU64,
    /// Keyframe requests (PLI or FIR) received.
    pub keyframe_requests: AtomicU64,
    /// The publisher's feed id on Janus, which subscribers name; 0 until known.
    pub feed: AtomicU64,
}

impl PublisherLive {
    /// Packets written on `kind` so far.
    pub fn written(&self, kind: Kind) -> u64 {
        self.written[kind_slot(kind)].load(Ordering::Relaxed)
    }
}

fn kind_slot(kind: Kind) -> usize {
    match kind {
        Kind::Audio => 0,
        Kind::Video => 1,
    }
}

/// End state of one publisher.
#[derive(Debug, Clone)]
pub struct PublisherOutcome {
    /// Index within the run.
    pub index: u32,
    /// From the start of the join to ICE and DTLS completing.
    pub connect_time: Option<Duration>,
    /// Datagrams dropped on a full send buffer.
    pub send_drops: u64,
    /// Error that ended the publisher, if any.
    pub error: Option<String>,
}

/// One publisher's settings.
#[derive(Debug, Clone)]
pub struct PublisherSpec {
    /// Index within the run; written into every probe.
    pub index: u32,
    /// The kind of server.
    pub target: Target,
    /// Room to join.
    pub room: String,
    /// Role to join as: `organiser` when subscribers receive presenters only.
    pub role: &'static str,
    /// Media to send.
    pub media: MediaSpec,
    /// Address for the UDP socket.
    pub ip: IpAddr,
}

/// Runs a publisher until the phase is [`Phase::Leave`].
pub async fn run(
    spec: PublisherSpec,
    server: Arc<Server>,
    live: Arc<PublisherLive>,
    phase: watch::Receiver<Phase>,
) -> PublisherOutcome {
    let mut outcome = PublisherOutcome {
        index: spec.index,
        connect_time: None,
        send_drops: 0,
        error: None,
    };
    if let Err(error) = publish(&spec, &server, &live, phase, &mut outcome).await {
        outcome.error = Some(error.to_string());
    }
    outcome
}

struct Track {
    mid: Mid,
    pt: Pt,
    kind: Kind,
    next_sequence: u64,
    next_timestamp: u32,
    frames: u32,
}

async fn publish(
    spec: &PublisherSpec,
    server: &Server,
    live: &PublisherLive,
    mut phase: watch::Receiver<Phase>,
    outcome: &mut PublisherOutcome,
) -> Result<(), Error> {
    let started = Instant::now();
    let name = format!("load publisher {}", spec.index);
    let who = Identity {
        room: &spec.room,
        name: &name,
        role: spec.role,
    };
    let mut session = Session::open(spec.target, server, &who, spec.ip).await?;

    let mut peer = Peer::new(spec.ip)?;
    let mut change = peer.rtc.sdp_api();
    let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, pending) = change
        .apply()
        .ok_or_else(|| Error::Rtc("the offer has no media".into()))?;
    let tracks = vec![
        PublishedTrack {
            mid: video.to_string(),
            source: "camera",
        },
        PublishedTrack {
            mid: audio.to_string(),
            source: "microphone",
        },
    ];
    let (answer, feed) = session
        .publish(&name, offer.to_sdp_string(), tracks)
        .await?;
    if let Some(feed) = feed {
        live.feed.store(feed, Ordering::Relaxed);
    }
    let answer = SdpAnswer::from_sdp_string(&answer)
        .map_err(|e| Error::Rtc(format!("the server's answer: {e}")))?;
    peer.rtc
        .sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| Error::Rtc(format!("accepting the answer: {e}")))?;

    let mut video = Track::new(&peer, video, Kind::Video, Codec::Vp8)?;
    let mut audio = Track::new(&peer, audio, Kind::Audio, Codec::Opus)?;
    let media = &spec.media;
    let mut video_tick =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(media.fps.max(1))));
    let mut audio_tick = tokio::time::interval(Duration::from_millis(20));
    video_tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    audio_tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;

    let mut state = State::default();
    // A new closure at each use, so that `state` can be read between the uses.
    macro_rules! events {
        () => {
            &mut |_: u64, event: Event| state.handle(event, live)
        };
    }
    peer.drain(clock::wall_ns(), events!())?;
    loop {
        let sending = state.connected && *phase.borrow() == Phase::Run;
        tokio::select! {
            readable = peer.readable() => {
                readable.map_err(|e| Error::io("waiting for the socket", e))?;
                peer.receive(events!())?;
            }
            () = tokio::time::sleep_until(capped(peer.timeout())) => {
                peer.handle_timeout(events!())?;
            }
            _ = video_tick.tick(), if sending => {
                let periodic = video.frames % media.keyframe_every.max(1) == 0;
                let keyframe = std::mem::take(&mut state.keyframe_requested) || periodic;
                video.write_frame(&mut peer, spec.index, media, keyframe, live)?;
                peer.send_written(events!())?;
            }
            _ = audio_tick.tick(), if sending => {
                audio.write_frame(&mut peer, spec.index, media, false, live)?;
                peer.send_written(events!())?;
            }
            _ = ping.tick() => session.keepalive().await?,
            incoming = session.receive() => {
                if let Incoming::Fatal(reason) = incoming? {
                    return Err(Error::Signalling(reason));
                }
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Leave {
                    break;
                }
            }
        }
        if state.connected && outcome.connect_time.is_none() {
            outcome.connect_time = Some(started.elapsed());
            live.connected.store(true, Ordering::Relaxed);
        }
    }
    outcome.send_drops = peer.send_drops;
    session.leave().await;
    Ok(())
}

/// Facts the publisher learned from its peer's events.
#[derive(Default)]
struct State {
    connected: bool,
    keyframe_requested: bool,
}

impl State {
    fn handle(&mut self, event: Event, live: &PublisherLive) {
        match event {
            Event::Connected => self.connected = true,
            Event::KeyframeRequest(_) => {
                self.keyframe_requested = true;
                live.keyframe_requests.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

impl Track {
    fn new(peer: &Peer, mid: Mid, kind: Kind, codec: Codec) -> Result<Self, Error> {
        let pt = peer
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
            .ok_or_else(|| Error::Rtc(format!("no payload type for {codec:?}")))?;
        Ok(Self {
            mid,
            pt,
            kind,
            next_sequence: 1 + u64::from(rand::random::<u16>() % 10_000),
            next_timestamp: rand::random(),
            frames: 0,
        })
    }

    /// Writes one frame: a VP8 frame in one or more packets, or one Opus packet.
    fn write_frame(
        &mut self,
        peer: &mut Peer,
        publisher: u32,
        media: &MediaSpec,
        keyframe: bool,
        live: &PublisherLive,
    ) -> Result<(), Error> {
        let slot = &live.written[kind_slot(self.kind)];
        let index = slot.load(Ordering::Relaxed);
        let probe = Probe {
            sent_ns: clock::wall_ns(),
            publisher,
            kind: self.kind,
            index,
            frame: self.frames,
            part: 0,
            parts: 1,
            keyframe,
        };
        let (payloads, ticks) = match self.kind {
            Kind::Video => {
                let size = payload::frame_size(
                    media.video_bitrate,
                    media.fps,
                    media.keyframe_every,
                    keyframe,
                );
                let picture_id = (self.frames & 0x7fff) as u16;
                let frame = payload::vp8_frame(probe, size, picture_id, media.width, media.height);
                (frame, 90_000 / media.fps.max(1))
            }
            Kind::Audio => (vec![payload::opus_packet(probe, media.audio_bytes)], 960),
        };
        let now = Instant::now();
        let count = payloads.len();
        let mut api = peer.rtc.direct_api();
        let stream = api
            .stream_tx_by_mid(self.mid, None)
            .ok_or_else(|| Error::Rtc(format!("no sending stream on m-line {}", self.mid)))?;
        for (part, payload) in payloads.into_iter().enumerate() {
            let write = RtpWrite::new(
                self.pt,
                self.next_sequence.into(),
                self.next_timestamp,
                now,
                payload,
            )
            .marker(self.kind == Kind::Video && part + 1 == count)
            .nackable(self.kind == Kind::Video);
            stream.write_rtp(write);
            self.next_sequence += 1;
        }
        slot.store(index + count as u64, Ordering::Relaxed);
        if keyframe {
            live.keyframes.fetch_add(1, Ordering::Relaxed);
        }
        self.frames += 1;
        self.next_timestamp = self.next_timestamp.wrapping_add(ticks);
        Ok(())
    }
}
