//! A publisher: joins, offers one VP8 and one Opus track, and sends synthetic media with a
//! probe in every packet once ICE and DTLS are up. With simulcast, the VP8 track has three
//! layers, as the web client's camera has.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::rtp::RtpWrite;
use str0m::Event;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::clock;
use crate::options::Target;
use crate::payload::{self, Kind, Probe};
use crate::peer::{capped, Peer};
use crate::session::{Identity, Incoming, Session};
use crate::signalling::LayersWanted;
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
    /// Whether the camera sends the three [`SIMULCAST_LAYERS`].
    pub simulcast: bool,
}

/// A camera's simulcast layers, lowest first, as the web client sends them: the RID, the
/// share of the video bitrate (150, 500 and 1,500 kbit/s at the web client's 1.5 Mbit/s), and
/// the divisor of the frame size.
pub const SIMULCAST_LAYERS: [(&str, f64, u16); 3] =
    [("q", 0.1, 4), ("h", 1.0 / 3.0, 2), ("f", 1.0, 1)];

/// Slots of [`PublisherLive::written`]: audio, then each video layer.
const WRITTEN_SLOTS: usize = 1 + SIMULCAST_LAYERS.len();

/// Counters of one publisher that the run reads while it goes on.
#[derive(Debug, Default)]
pub struct PublisherLive {
    /// Whether ICE and DTLS completed.
    pub connected: AtomicBool,
    /// Packets written so far on audio and on each video layer: the next index.
    pub written: [AtomicU64; WRITTEN_SLOTS],
    /// Keyframes sent.
    pub keyframes: AtomicU64,
    /// Keyframe requests (PLI or FIR) received.
    pub keyframe_requests: AtomicU64,
    /// The publisher's feed id on Janus, which subscribers name; 0 until known.
    pub feed: AtomicU64,
}

impl PublisherLive {
    /// Packets written on `kind` so far, over all layers.
    pub fn written(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Audio => self.written_on(kind, 0),
            Kind::Video => (0..SIMULCAST_LAYERS.len() as u8)
                .map(|layer| self.written_on(kind, layer))
                .sum(),
        }
    }

    /// Packets written so far on `kind` and simulcast `layer` (0 without simulcast).
    pub fn written_on(&self, kind: Kind, layer: u8) -> u64 {
        self.written[written_slot(kind, layer)].load(Ordering::Relaxed)
    }
}

fn written_slot(kind: Kind, layer: u8) -> usize {
    match kind {
        Kind::Audio => 0,
        Kind::Video => 1 + usize::from(layer).min(SIMULCAST_LAYERS.len() - 1),
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
    /// The simulcast layer's RID, or `None` without simulcast.
    rid: Option<Rid>,
    /// Index into [`SIMULCAST_LAYERS`], or 0 without simulcast.
    layer: u8,
    /// Share of the video bitrate this layer sends.
    share: f64,
    /// Divisor of the frame size that keyframes declare.
    divisor: u16,
    /// Whether the server wants this layer; a paused layer sends nothing.
    active: bool,
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
    // The offer lists the layers highest first, as the web client does.
    let simulcast = spec.media.simulcast.then(|| {
        let mut simulcast = Simulcast::new();
        for (rid, _, _) in SIMULCAST_LAYERS.iter().rev() {
            simulcast.add_send_layer(SimulcastLayer::new(rid));
        }
        simulcast
    });
    let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
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

    let video_mid = video;
    let mut videos = if spec.media.simulcast {
        (0..SIMULCAST_LAYERS.len() as u8)
            .map(|layer| Track::new(&peer, video, Kind::Video, Codec::Vp8, Some(layer)))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![Track::new(&peer, video, Kind::Video, Codec::Vp8, None)?]
    };
    let mut audio = Track::new(&peer, audio, Kind::Audio, Codec::Opus, None)?;
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
    let mut phased = false;
    let keyframe_phase = rand::random::<u32>() % media.keyframe_every.max(1);
    loop {
        let sending = state.connected && *phase.borrow() == Phase::Run;
        if sending && !phased {
            start_at_random_phase(&mut video_tick);
            start_at_random_phase(&mut audio_tick);
            phased = true;
        }
        tokio::select! {
            readable = peer.readable() => {
                readable.map_err(|e| Error::io("waiting for the socket", e))?;
                peer.receive(events!())?;
            }
            () = tokio::time::sleep_until(capped(peer.timeout())) => {
                peer.handle_timeout(events!())?;
            }
            _ = video_tick.tick(), if sending => {
                for video in videos.iter_mut().filter(|video| video.active) {
                    let periodic = keyframe_due(video.frames, keyframe_phase, media.keyframe_every);
                    let requested = state.take_keyframe_request(video.layer);
                    video.write_frame(&mut peer, spec.index, media, requested || periodic, live)?;
                }
                peer.send_written(events!())?;
            }
            _ = audio_tick.tick(), if sending => {
                audio.write_frame(&mut peer, spec.index, media, false, live)?;
                peer.send_written(events!())?;
            }
            _ = ping.tick() => session.keepalive().await?,
            incoming = session.receive() => match incoming? {
                Incoming::Fatal(reason) => return Err(Error::Signalling(reason)),
                Incoming::LayersWanted(wanted) => apply_layers_wanted(&mut videos, video_mid, &wanted),
                _ => {}
            },
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

/// Moves the first tick of `tick` to a random point within one period from now. Publishers
/// that connect together would otherwise send their frames in the same millisecond of every
/// period, unlike cameras in different workplaces.
fn start_at_random_phase(tick: &mut tokio::time::Interval) {
    let offset = tick.period().mul_f64(rand::random::<f64>());
    tick.reset_at(tokio::time::Instant::now() + offset);
}

/// Tells whether frame `frame` is a periodic keyframe: the first frame, and then one in
/// every `every` frames, shifted by `phase`. Cameras started together with different phases
/// send their periodic keyframes at different times.
fn keyframe_due(frame: u32, phase: u32, every: u32) -> bool {
    frame == 0 || (frame + phase).is_multiple_of(every.max(1))
}

/// Sends only the layers of the camera that the server wants, as the web client does with
/// `active` in `setParameters`. A track without simulcast always sends.
fn apply_layers_wanted(videos: &mut [Track], mid: Mid, wanted: &LayersWanted) {
    if wanted.mid != mid.to_string() {
        return;
    }
    for video in videos.iter_mut() {
        if let Some(rid) = &video.rid {
            video.active = wanted.rids.iter().any(|wanted| wanted.as_str() == &**rid);
        }
    }
}

/// Facts the publisher learned from its peer's events.
#[derive(Default)]
struct State {
    connected: bool,
    /// Layers asked for a keyframe, one bit per layer.
    keyframe_requested: u8,
}

impl State {
    fn handle(&mut self, event: Event, live: &PublisherLive) {
        match event {
            Event::Connected => self.connected = true,
            Event::KeyframeRequest(request) => {
                let layer = request.rid.and_then(|rid| {
                    SIMULCAST_LAYERS
                        .iter()
                        .position(|(name, _, _)| *name == &*rid)
                });
                self.keyframe_requested |= match layer {
                    Some(layer) => 1 << layer,
                    None => u8::MAX,
                };
                live.keyframe_requests.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Returns whether a keyframe of `layer` was requested, and clears the request.
    fn take_keyframe_request(&mut self, layer: u8) -> bool {
        let bit = 1 << layer;
        let requested = self.keyframe_requested & bit != 0;
        self.keyframe_requested &= !bit;
        requested
    }
}

impl Track {
    /// Creates the track of m-line `mid`, or its simulcast layer `layer`.
    fn new(
        peer: &Peer,
        mid: Mid,
        kind: Kind,
        codec: Codec,
        layer: Option<u8>,
    ) -> Result<Self, Error> {
        let pt = peer
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
            .ok_or_else(|| Error::Rtc(format!("no payload type for {codec:?}")))?;
        let (rid, share, divisor) = match layer {
            Some(layer) => {
                let (rid, share, divisor) = SIMULCAST_LAYERS[usize::from(layer)];
                (Some(Rid::from(rid)), share, divisor)
            }
            None => (None, 1.0, 1),
        };
        Ok(Self {
            mid,
            pt,
            kind,
            rid,
            layer: layer.unwrap_or(0),
            share,
            divisor,
            active: true,
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
        let slot = &live.written[written_slot(self.kind, self.layer)];
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
            layer: self.layer,
        };
        let (payloads, ticks) = match self.kind {
            Kind::Video => {
                let bitrate = (media.video_bitrate as f64 * self.share) as u64;
                let size = payload::frame_size(bitrate, media.fps, media.keyframe_every, keyframe);
                let picture_id = (self.frames & 0x7fff) as u16;
                let (width, height) = (media.width / self.divisor, media.height / self.divisor);
                let frame = payload::vp8_frame(probe, size, picture_id, width, height);
                (frame, 90_000 / media.fps.max(1))
            }
            Kind::Audio => (vec![payload::opus_packet(probe, media.audio_bytes)], 960),
        };
        let now = Instant::now();
        let count = payloads.len();
        let mut api = peer.rtc.direct_api();
        let stream = api
            .stream_tx_by_mid(self.mid, self.rid)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_keyframe_once_per_interval() {
        for phase in [0, 1, 45, 89] {
            assert!(keyframe_due(0, phase, 90), "phase {phase}");
            for start in [1, 90, 181] {
                let due = (start..start + 90)
                    .filter(|&frame| keyframe_due(frame, phase, 90))
                    .count();
                assert_eq!(due, 1, "phase {phase}, frames {start} to {}", start + 89);
            }
        }
        assert!(keyframe_due(90, 0, 90));
        assert!(!keyframe_due(90, 1, 90));
        assert!(keyframe_due(89, 1, 90));
    }

    #[tokio::test]
    async fn first_ticks_spread_over_one_period() {
        let period = Duration::from_millis(100);
        let start = tokio::time::Instant::now();
        let ticks = (0..50).map(|_| async move {
            let mut tick = tokio::time::interval(period);
            start_at_random_phase(&mut tick);
            tick.tick().await - start
        });
        let offsets = futures_util::future::join_all(ticks).await;
        // Each interval is set up a few microseconds after `start`.
        let latest_allowed = period + Duration::from_millis(5);
        assert!(
            offsets.iter().all(|offset| *offset < latest_allowed),
            "{offsets:?}"
        );
        let earliest = offsets.iter().min().copied().unwrap_or_default();
        let latest = offsets.iter().max().copied().unwrap_or_default();
        // 50 uniform draws fall within half the period with a chance of about 2^-44.
        assert!(latest - earliest > period / 2, "{offsets:?}");
    }
}
