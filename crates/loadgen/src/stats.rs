//! Per-track receive statistics and percentile summaries.

use serde::Serialize;

use crate::payload::Probe;

/// Largest packet index span tracked per track; later packets count as received but not for
/// loss. About 20 hours of video at 230 packets a second.
const MAX_SPAN: u64 = 1 << 24;

/// Counts and timings of one track at one subscriber.
#[derive(Debug, Clone, Default)]
pub struct TrackReceiver {
    /// Index of the first packet received.
    pub first_index: Option<u64>,
    seen: Vec<u64>,
    /// Distinct packets received.
    pub unique: u64,
    /// Packets received more than once, such as retransmissions of packets that arrived.
    pub duplicates: u64,
    /// Packets older than the first one received.
    pub early: u64,
    /// Highest packet index received.
    pub highest_index: Option<u64>,
    /// Arrival of the latest packet, in nanoseconds since the Unix epoch.
    pub last_arrival_ns: u64,
    last_transit_ns: Option<i64>,
    /// Interarrival jitter (RFC 3550 section 6.4.1) of the transit time from send to
    /// arrival, in nanoseconds.
    pub jitter_ns: f64,
}

impl TrackReceiver {
    /// Records one packet; returns whether it was the first copy of it.
    pub fn record(&mut self, probe: &Probe, arrival_ns: u64) -> bool {
        let transit = i64::try_from(arrival_ns).unwrap_or(i64::MAX)
            - i64::try_from(probe.sent_ns).unwrap_or(i64::MAX);
        if let Some(last) = self.last_transit_ns {
            let difference = (transit - last).abs() as f64;
            self.jitter_ns += (difference - self.jitter_ns) / 16.0;
        }
        self.last_transit_ns = Some(transit);
        self.last_arrival_ns = self.last_arrival_ns.max(arrival_ns);
        self.highest_index = self.highest_index.max(Some(probe.index));

        let first = *self.first_index.get_or_insert(probe.index);
        let Some(offset) = probe.index.checked_sub(first) else {
            self.early += 1;
            return false;
        };
        if offset >= MAX_SPAN {
            return false;
        }
        let word = usize::try_from(offset / 64).unwrap_or(usize::MAX);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        let bit = 1u64 << (offset % 64);
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
            return false;
        }
        self.seen[word] |= bit;
        self.unique += 1;
        true
    }

    /// Packets the publisher sent from the first one received up to, not including,
    /// `written`, that never arrived.
    pub fn lost(&self, written: u64) -> u64 {
        let Some(first) = self.first_index else {
            return 0;
        };
        let expected = written.saturating_sub(first).min(MAX_SPAN);
        expected.saturating_sub(self.unique)
    }

    /// Returns the index after the last packet this track should have received. That is
    /// `written` for the layer the subscriber gets now. For a layer the server switched it
    /// away from, it is the packet after the highest received.
    pub fn expected_end(&self, written: u64, current: bool) -> u64 {
        match self.highest_index {
            Some(highest) if !current => (highest + 1).min(written),
            _ => written,
        }
    }

    /// Packets the publisher sent from the first one received on.
    pub fn expected(&self, written: u64) -> u64 {
        self.first_index
            .map_or(0, |first| written.saturating_sub(first).min(MAX_SPAN))
    }
}

/// Order statistics of a sample.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarises `values` (any order) by the nearest-rank method; all zero when empty.
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let index = (p * values.len() as f64).ceil() as usize;
            values[index.clamp(1, values.len()) - 1]
        };
        Self {
            count: values.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: values[values.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Kind;

    fn probe(index: u64, sent_ns: u64) -> Probe {
        Probe {
            sent_ns,
            publisher: 0,
            kind: Kind::Video,
            index,
            frame: 0,
            part: 0,
            parts: 1,
            keyframe: false,
            layer: 0,
        }
    }

    #[test]
    fn loss_counts_gaps_and_the_tail() {
        let mut track = TrackReceiver::default();
        for index in [10, 11, 13, 14, 14] {
            track.record(&probe(index, 0), 1000);
        }
        assert_eq!(track.unique, 4);
        assert_eq!(track.duplicates, 1);
        // Sent 10..=16: 12, 15 and 16 never arrived.
        assert_eq!(track.expected(17), 7);
        assert_eq!(track.lost(17), 3);
    }

    #[test]
    fn left_layer_expects_no_tail() {
        let mut track = TrackReceiver::default();
        for index in [10, 11, 13] {
            track.record(&probe(index, 0), 1000);
        }
        assert_eq!(track.expected_end(20, true), 20);
        assert_eq!(track.expected_end(20, false), 14);
        assert_eq!(track.lost(track.expected_end(20, false)), 1);
    }

    #[test]
    fn jitter_follows_transit_changes() {
        let mut track = TrackReceiver::default();
        track.record(&probe(0, 0), 1_000_000);
        assert_eq!(track.jitter_ns, 0.0);
        track.record(&probe(1, 20_000_000), 21_160_000);
        assert_eq!(track.jitter_ns, 10_000.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let summary = Summary::of((1..=100).rev().map(f64::from).collect());
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50, 50.0);
        assert_eq!(summary.p99, 99.0);
        assert_eq!(summary.max, 100.0);
        assert_eq!(Summary::of(Vec::new()), Summary::default());
    }
}
