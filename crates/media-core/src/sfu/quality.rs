//! Connection quality: str0m's periodic statistics turned into one record per client.
//!
//! Every peer connection emits str0m's stats events once per
//! [`SfuConfig::stats_interval`](super::SfuConfig::stats_interval). The router keeps the
//! latest figures of each RTP stream and sums them per track and per connection when asked,
//! so the only per-packet work is str0m's own byte and packet counting.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats};

use super::Sfu;
use crate::ids::{ClientId, TrackId};
use crate::peer::{Peer, PeerKind, Side};

/// RTP clock rate of Opus, the only audio codec the router negotiates.
const AUDIO_CLOCK_RATE: f64 = 48_000.0;
/// RTP clock rate of every video codec.
const VIDEO_CLOCK_RATE: f64 = 90_000.0;
/// How long figures of a stream that str0m stopped reporting are kept.
const STALE_AFTER: Duration = Duration::from_secs(10);

/// The figures of one of a client's connections over the latest stats interval.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkQuality {
    /// RTP bits per second on the connection, retransmissions included: received from
    /// the client on a publishing connection, sent to it on a receiving one.
    pub bitrate: u64,
    /// Fraction of RTP packets lost on the way, from 0 to 1, as RTCP receiver reports state
    /// it: the router's own for a publishing connection, the client's for a receiving one.
    /// A packet whose retransmission arrived before the report counts as received, so this
    /// is the loss that retransmission did not repair in time. `None` until a report exists.
    pub loss: Option<f32>,
    /// Round-trip time between the router and the client, from RTCP: receiver reports on
    /// a receiving connection, extended reports (RFC 3611 DLRR) on a publishing one.
    /// `None` when the client sends neither.
    pub rtt: Option<Duration>,
    /// Interarrival jitter (RFC 3550 section 6.4.1), the largest of the connection's
    /// streams. `None` until a receiver report exists.
    pub jitter: Option<Duration>,
    /// Figures of each track the connection carries, by track id.
    pub tracks: Vec<TrackQuality>,
}

/// The figures of one track of a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackQuality {
    /// The track.
    pub track: TrackId,
    /// Audio or video.
    pub kind: MediaKind,
    /// RTP bits per second, summed over the track's simulcast layers.
    pub bitrate: u64,
    /// Fraction of RTP packets lost, from 0 to 1, as in [`LinkQuality::loss`].
    pub loss: Option<f32>,
    /// Interarrival jitter.
    pub jitter: Option<Duration>,
}

/// Connection quality of one client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientQuality {
    /// The client.
    pub client: ClientId,
    /// Media the client publishes, as the router receives it.
    pub publishing: Option<LinkQuality>,
    /// Media the router sends to the client.
    pub receiving: Option<LinkQuality>,
}

/// The latest figures of one RTP stream: one m-line, and one simulcast layer of it.
#[derive(Debug, Default)]
struct StreamFigures {
    /// Cumulative bytes and packets at the latest event.
    bytes: u64,
    packets: u64,
    /// Time of the latest event.
    at: Option<Instant>,
    /// Whether two events have come, so that the rates are measured.
    rated: bool,
    bitrate: f64,
    packet_rate: f64,
    loss: Option<f32>,
    /// Jitter in RTP timestamp units, as str0m reports it.
    jitter: Option<u32>,
    rtt: Option<Duration>,
}

/// The latest stats of one peer connection's streams.
#[derive(Debug, Default)]
pub(crate) struct PeerFigures {
    streams: HashMap<(Mid, Option<Rid>), StreamFigures>,
    /// Time of the latest stats event.
    latest: Option<Instant>,
}

/// One stats event of one stream, in the fields both directions share.
struct Sample {
    mid: Mid,
    rid: Option<Rid>,
    bytes: u64,
    packets: u64,
    at: Instant,
    loss: Option<f32>,
    jitter: Option<u32>,
    rtt: Option<Duration>,
}

impl From<MediaIngressStats> for Sample {
    fn from(stats: MediaIngressStats) -> Self {
        Self {
            mid: stats.mid,
            rid: stats.rid,
            bytes: stats.bytes,
            packets: stats.packets,
            at: stats.timestamp,
            loss: stats.loss,
            // str0m reports 0 until it sent its first receiver report.
            jitter: stats.loss.map(|_| stats.jitter),
            rtt: stats.rtt,
        }
    }
}

impl From<MediaEgressStats> for Sample {
    fn from(stats: MediaEgressStats) -> Self {
        Self {
            mid: stats.mid,
            rid: stats.rid,
            bytes: stats.bytes,
            packets: stats.packets,
            at: stats.timestamp,
            loss: stats.loss,
            jitter: stats.remote.map(|r| r.jitter),
            rtt: stats.rtt,
        }
    }
}

impl PeerFigures {
    pub fn record_ingress(&mut self, stats: MediaIngressStats) {
        self.record(stats.into());
    }

    pub fn record_egress(&mut self, stats: MediaEgressStats) {
        self.record(stats.into());
    }

    /// Updates a stream's figures. Loss, jitter and RTT keep their last known value when
    /// no new RTCP report arrived during the interval.
    fn record(&mut self, sample: Sample) {
        let entry = self.streams.entry((sample.mid, sample.rid)).or_default();
        if let Some(previous) = entry.at {
            let seconds = sample.at.saturating_duration_since(previous).as_secs_f64();
            if seconds > 0.0 {
                let bytes = sample.bytes.saturating_sub(entry.bytes);
                let packets = sample.packets.saturating_sub(entry.packets);
                entry.bitrate = bytes as f64 * 8.0 / seconds;
                entry.packet_rate = packets as f64 / seconds;
                entry.rated = true;
            }
        }
        entry.bytes = sample.bytes;
        entry.packets = sample.packets;
        entry.at = Some(sample.at);
        entry.loss = sample.loss.or(entry.loss);
        entry.jitter = sample.jitter.or(entry.jitter);
        entry.rtt = sample.rtt.or(entry.rtt);

        let latest = self.latest.map_or(sample.at, |t| t.max(sample.at));
        self.latest = Some(latest);
        self.streams
            .retain(|_, s| s.at.is_some_and(|at| at + STALE_AFTER >= latest));
    }

    /// Streams of the latest stats event whose rates are measured. A stream str0m no
    /// longer reports counts as gone.
    fn current(&self) -> impl Iterator<Item = (&Mid, &StreamFigures)> {
        let latest = self.latest;
        self.streams
            .iter()
            .filter(move |(_, s)| s.rated && s.at.is_some() && s.at == latest)
            .map(|((mid, _), s)| (mid, s))
    }
}

impl Sfu {
    /// Returns the connection quality of every client that has a connection with measured
    /// figures.
    pub fn quality(&self) -> Vec<ClientQuality> {
        let mut clients: Vec<ClientId> = self.clients.keys().copied().collect();
        clients.sort();
        clients
            .into_iter()
            .filter_map(|c| self.client_quality(c))
            .collect()
    }

    /// Returns the connection quality of one client, or `None` until one of its
    /// connections has carried media over two stats intervals.
    pub fn client_quality(&self, client: ClientId) -> Option<ClientQuality> {
        let entry = self.clients.get(&client)?;
        let link = |peer: Option<_>| {
            peer.and_then(|id| self.peers.get(&id))
                .and_then(|p| self.link_quality(p))
        };
        let quality = ClientQuality {
            client,
            publishing: link(entry.publishing),
            receiving: link(entry.receiving),
        };
        let known = quality.publishing.is_some() || quality.receiving.is_some();
        known.then_some(quality)
    }

    fn link_quality(&self, peer: &Peer) -> Option<LinkQuality> {
        peer.figures.current().next()?;
        let mut link = LinkQuality {
            bitrate: 0,
            loss: None,
            rtt: None,
            jitter: None,
            tracks: Vec::new(),
        };
        let mut loss = Weighted::default();
        let mut by_track: HashMap<TrackId, (MediaKind, Vec<&StreamFigures>)> = HashMap::new();
        for (mid, stream) in peer.figures.current() {
            let kind = self.kind_of(peer, *mid);
            link.bitrate += stream.bitrate.round() as u64;
            loss.add(stream);
            link.rtt = link.rtt.max(stream.rtt);
            link.jitter = link.jitter.max(kind.and_then(|k| jitter(stream, k)));
            if let Some((track, kind)) = self.track_on(peer, *mid) {
                by_track
                    .entry(track)
                    .or_insert((kind, Vec::new()))
                    .1
                    .push(stream);
            }
        }
        link.loss = loss.mean();
        link.tracks = by_track
            .into_iter()
            .map(|(track, (kind, streams))| track_quality(track, kind, &streams))
            .collect();
        link.tracks.sort_by_key(|t| t.track);
        Some(link)
    }

    /// Returns the track carried on an m-line of a peer, with its kind.
    fn track_on(&self, peer: &Peer, mid: Mid) -> Option<(TrackId, MediaKind)> {
        let track = match &peer.side {
            Side::Publishing(side) => *side.tracks.get(&mid)?,
            Side::Receiving(side) => side.forwards.get(&mid)?.track,
        };
        let kind = self.tracks.get(&track).map(|t| t.kind)?;
        Some((track, kind))
    }

    fn kind_of(&self, peer: &Peer, mid: Mid) -> Option<MediaKind> {
        peer.rtc.media(mid).map(|m| m.kind())
    }
}

impl Peer {
    /// Files a stats event of this peer's `Rtc`.
    pub(crate) fn record_stats(&mut self, event: str0m::Event) {
        match event {
            str0m::Event::MediaIngressStats(stats) if self.kind() == PeerKind::Publishing => {
                self.figures.record_ingress(stats);
            }
            str0m::Event::MediaEgressStats(stats) if self.kind() == PeerKind::Receiving => {
                self.figures.record_egress(stats);
            }
            _ => {}
        }
    }
}

fn track_quality(track: TrackId, kind: MediaKind, streams: &[&StreamFigures]) -> TrackQuality {
    let mut loss = Weighted::default();
    for stream in streams {
        loss.add(stream);
    }
    TrackQuality {
        track,
        kind,
        bitrate: streams.iter().map(|s| s.bitrate).sum::<f64>().round() as u64,
        loss: loss.mean(),
        jitter: streams.iter().filter_map(|s| jitter(s, kind)).max(),
    }
}

fn jitter(stream: &StreamFigures, kind: MediaKind) -> Option<Duration> {
    let rate = match kind {
        MediaKind::Audio => AUDIO_CLOCK_RATE,
        MediaKind::Video => VIDEO_CLOCK_RATE,
    };
    stream
        .jitter
        .map(|units| Duration::from_secs_f64(f64::from(units) / rate))
}

/// A mean of loss fractions weighted by each stream's packet rate, so that a lost audio
/// packet counts as much as a lost video packet.
#[derive(Default)]
struct Weighted {
    sum: f64,
    weight: f64,
    any: bool,
}

impl Weighted {
    fn add(&mut self, stream: &StreamFigures) {
        let Some(loss) = stream.loss else {
            return;
        };
        // A stream that sent nothing in the interval still counts a little, so that a
        // connection whose only report is from a quiet stream has a value.
        let weight = stream.packet_rate.max(f64::EPSILON);
        self.sum += f64::from(loss) * weight;
        self.weight += weight;
        self.any = true;
    }

    fn mean(&self) -> Option<f32> {
        self.any.then(|| (self.sum / self.weight) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mid: &str, bytes: u64, packets: u64, at: Instant, loss: Option<f32>) -> Sample {
        Sample {
            mid: Mid::from(mid),
            rid: None,
            bytes,
            packets,
            at,
            loss,
            jitter: None,
            rtt: None,
        }
    }

    #[test]
    fn bitrate_comes_from_byte_difference() {
        let start = Instant::now();
        let mut figures = PeerFigures::default();
        figures.record(sample("0", 1_000, 10, start, None));
        figures.record(sample(
            "0",
            126_000,
            110,
            start + Duration::from_secs(1),
            None,
        ));
        let (_, stream) = figures.current().next().expect("a stream");
        assert_eq!(stream.bitrate, 1_000_000.0);
        assert_eq!(stream.packet_rate, 100.0);
    }

    #[test]
    fn stream_missing_from_latest_event_is_not_current() {
        let start = Instant::now();
        let mut figures = PeerFigures::default();
        let second = start + Duration::from_secs(1);
        figures.record(sample("0", 1_000, 10, start, None));
        figures.record(sample("1", 1_000, 10, start, None));
        figures.record(sample("1", 2_000, 20, second, None));
        let mids: Vec<&Mid> = figures.current().map(|(mid, _)| mid).collect();
        assert_eq!(mids, vec![&Mid::from("1")]);
    }

    #[test]
    fn single_event_has_no_rate() {
        let mut figures = PeerFigures::default();
        figures.record(sample("0", 1_000, 10, Instant::now(), None));
        assert!(figures.current().next().is_none());
    }

    #[test]
    fn loss_keeps_last_report() {
        let start = Instant::now();
        let mut figures = PeerFigures::default();
        figures.record(sample("0", 1_000, 10, start, Some(0.25)));
        figures.record(sample("0", 2_000, 20, start + Duration::from_secs(1), None));
        let (_, stream) = figures.current().next().expect("a stream");
        assert_eq!(stream.loss, Some(0.25));
    }

    #[test]
    fn loss_is_weighted_by_packet_rate() {
        let busy = StreamFigures {
            packet_rate: 300.0,
            loss: Some(0.1),
            ..StreamFigures::default()
        };
        let quiet = StreamFigures {
            packet_rate: 100.0,
            loss: Some(0.5),
            ..StreamFigures::default()
        };
        let mut mean = Weighted::default();
        mean.add(&busy);
        mean.add(&quiet);
        let loss = mean.mean().expect("a mean");
        assert!((loss - 0.2).abs() < 1e-6, "{loss}");
    }
}
