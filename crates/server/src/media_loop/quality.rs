//! Connection quality reports. Every [`QUALITY_REPORT_INTERVAL`] the media loop reads the
//! router's figures of each person, sends them as `connection_quality` to the experts and
//! organisers who may see that person, and keeps them as gauges for `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use media_core::{ClientId, LinkQuality};

use super::MediaLoop;
use crate::signalling::protocol::{Role, ServerMessage, TrackSource};
use crate::signalling::quality::{LinkFigures, QualityReport};

/// Time between two quality reports about one person.
pub const QUALITY_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// The figures of one person's two connections.
#[derive(Debug, Clone)]
struct Figures {
    /// Media the server receives from the person.
    received: Option<LinkQuality>,
    /// Media the server sends to the person.
    sent: Option<LinkQuality>,
}

/// The figures of the people of one worker's rooms, by room and identity.
type People = BTreeMap<(String, String), Figures>;

/// The latest figures of everyone in every room, by room and identity, for `/metrics`.
/// Names and e-mail addresses never reach it: a person is labelled by their identity.
#[derive(Debug, Clone, Default)]
pub struct QualityGauges {
    /// Each media worker's figures, by worker number.
    people: Arc<Mutex<BTreeMap<usize, People>>>,
}

/// A gauge of one connection: name, help text and how to read it in base units.
type Gauge = (&'static str, &'static str, fn(&LinkQuality) -> Option<f64>);

const GAUGES: [Gauge; 4] = [
    (
        "profstage_connection_bitrate_bits_per_second",
        "RTP bits per second between the server and a person's browser, retransmissions included.",
        |link| Some(link.bitrate as f64),
    ),
    (
        "profstage_connection_loss_ratio",
        "Fraction of RTP packets lost, from RTCP receiver reports.",
        |link| link.loss.map(f64::from),
    ),
    (
        "profstage_connection_rtt_seconds",
        "Round-trip time between the server and a person's browser, from RTCP.",
        |link| link.rtt.map(|d| d.as_secs_f64()),
    ),
    (
        "profstage_connection_jitter_seconds",
        "Interarrival jitter, the largest of the connection's RTP streams.",
        |link| link.jitter.map(|d| d.as_secs_f64()),
    ),
];

impl QualityGauges {
    /// Renders the gauges in the Prometheus text exposition format. Each series is
    /// labelled by room, identity and direction: `in` for media the server receives from
    /// the person, `out` for media it sends to them.
    pub fn render(&self) -> String {
        let workers = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        let people: BTreeMap<_, _> = workers.values().flatten().collect();
        let mut body = String::new();
        for (name, help, read) in GAUGES {
            let _ = writeln!(body, "# HELP {name} {help}\n# TYPE {name} gauge");
            for ((room, identity), figures) in &people {
                let links = [("in", &figures.received), ("out", &figures.sent)];
                for (direction, link) in links {
                    let Some(value) = link.as_ref().and_then(read) else {
                        continue;
                    };
                    let _ = writeln!(
                        body,
                        "{name}{{room=\"{}\",identity=\"{}\",direction=\"{direction}\"}} {value}",
                        escape_label(room),
                        escape_label(identity),
                    );
                }
            }
        }
        body
    }

    /// Replaces the figures of the rooms of `worker`.
    fn replace(&self, worker: usize, figures: People) {
        let mut workers = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        workers.insert(worker, figures);
    }

    /// Removes a person's series, so that the label set stays that of the people present.
    pub(super) fn remove(&self, room: &str, identity: &str) {
        let key = (room.to_owned(), identity.to_owned());
        let mut workers = self.people.lock().unwrap_or_else(PoisonError::into_inner);
        for people in workers.values_mut() {
            people.remove(&key);
        }
    }
}

/// Names a forwarded layer by its frame size when known, such as `640x360`, else by its
/// RTP stream id.
fn describe_layer((rid, size): (String, Option<(u32, u32)>)) -> String {
    match size {
        Some((width, height)) => format!("{width}x{height}"),
        None => rid,
    }
}

/// Escapes a label value as the Prometheus text format requires.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl MediaLoop {
    /// Sends each person's figures to those who watch them and updates the gauges.
    pub(super) fn report_quality(&mut self) {
        let mut gauges = BTreeMap::new();
        for quality in self.sfu.quality() {
            let Some(joiner) = self.members.get(&quality.client) else {
                continue;
            };
            let member = &joiner.member;
            let report = QualityReport {
                identity: member.identity.clone(),
                publishing: quality.publishing.as_ref().map(LinkFigures::from),
                receiving: quality.receiving.as_ref().map(LinkFigures::from),
                layer: None,
            };
            let camera = joiner
                .tracks
                .iter()
                .find(|t| t.source == TrackSource::Camera)
                .and_then(|t| super::parse_track_id(&t.track));
            let message_for = |viewer| {
                let layer = camera.and_then(|track| self.sfu.forwarded_layer(viewer, track));
                ServerMessage::ConnectionQuality(QualityReport {
                    layer: layer.map(describe_layer),
                    ..report.clone()
                })
            };
            let watches = |viewer| self.watches_quality(viewer);
            self.broadcast_each(member, Some(quality.client), watches, message_for);
            let figures = Figures {
                received: quality.publishing,
                sent: quality.receiving,
            };
            gauges.insert((member.room.clone(), member.identity.clone()), figures);
        }
        self.quality.replace(self.crew.index, gauges);
    }

    /// Returns whether `viewer` gets quality reports: experts and organisers do,
    /// participants do not.
    fn watches_quality(&self, viewer: ClientId) -> bool {
        self.members
            .get(&viewer)
            .is_some_and(|j| j.member.role != Role::Participant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(bitrate: u64) -> LinkQuality {
        LinkQuality {
            bitrate,
            loss: Some(0.25),
            rtt: Some(Duration::from_millis(40)),
            jitter: None,
            tracks: Vec::new(),
        }
    }

    #[test]
    fn render_labels_room_identity_and_direction() {
        let gauges = QualityGauges::default();
        let figures = Figures {
            received: Some(link(800_000)),
            sent: None,
        };
        let key = ("hall \"A\"".to_owned(), "u-12bc".to_owned());
        gauges.replace(0, BTreeMap::from([(key, figures)]));
        let text = gauges.render();
        let labels = r#"{room="hall \"A\"",identity="u-12bc",direction="in"}"#;
        let bitrate = format!("profstage_connection_bitrate_bits_per_second{labels} 800000");
        assert!(text.contains(&bitrate), "{text}");
        assert!(text.contains(&format!("profstage_connection_loss_ratio{labels} 0.25")));
        assert!(text.contains(&format!("profstage_connection_rtt_seconds{labels} 0.04")));
        assert!(
            !text.contains("profstage_connection_jitter_seconds{"),
            "{text}"
        );
        assert!(!text.contains("direction=\"out\""), "{text}");
    }

    #[test]
    fn removed_person_has_no_series() {
        let gauges = QualityGauges::default();
        let figures = Figures {
            received: Some(link(1)),
            sent: Some(link(2)),
        };
        let key = ("hall".to_owned(), "u-12bc".to_owned());
        gauges.replace(0, BTreeMap::from([(key, figures)]));
        gauges.remove("hall", "u-12bc");
        assert!(!gauges.render().contains("u-12bc"));
    }
}
