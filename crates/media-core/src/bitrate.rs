//! Bitrates: what each simulcast layer sends, and the highest layer a subscriber's
//! bandwidth estimate allows.

use std::time::{Duration, Instant};

/// Length of one measurement window of [`BitrateMeter`].
const WINDOW: Duration = Duration::from_millis(500);

/// Weight of the newest window in the moving average.
const NEWEST_WEIGHT: f64 = 0.5;

/// A gap between two packets longer than this restarts the window, so that a layer that
/// was paused keeps the rate it had while it was sending.
const GAP: Duration = Duration::from_millis(300);

/// An exponential moving average of the bitrate of one RTP stream, over windows of
/// [`WINDOW`].
#[derive(Debug, Default)]
pub(crate) struct BitrateMeter {
    window_start: Option<Instant>,
    window_bytes: u64,
    last_packet: Option<Instant>,
    average: Option<f64>,
}

impl BitrateMeter {
    /// Adds a packet of `bytes` (RTP header and payload) that arrived at `now`.
    pub fn record(&mut self, now: Instant, bytes: usize) {
        let resumed = self
            .last_packet
            .is_some_and(|at| now.saturating_duration_since(at) > GAP);
        if resumed {
            self.window_start = None;
            self.window_bytes = 0;
        }
        self.last_packet = Some(now);

        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= WINDOW {
            let rate = self.window_bytes as f64 * 8.0 / elapsed.as_secs_f64();
            let average = match self.average {
                Some(old) => old + NEWEST_WEIGHT * (rate - old),
                None => rate,
            };
            self.average = Some(average);
            self.window_start = Some(now);
            self.window_bytes = 0;
        }
        self.window_bytes += bytes as u64;
    }

    /// Returns the average in bits per second, or `None` before one window was complete.
    pub fn bits_per_second(&self) -> Option<u64> {
        self.average.map(|rate| rate.round() as u64)
    }
}

/// How long a bandwidth estimate must allow a higher layer before a subscriber gets it.
/// Lowering the layer is immediate.
pub(crate) const RAISE_HOLD: Duration = Duration::from_secs(2);

/// The highest layer a subscriber's bandwidth estimate allows for one track, with
/// hysteresis: a lower limit applies at once, a higher one only after the estimate allowed
/// it, with headroom, for [`RAISE_HOLD`] without a break.
#[derive(Debug, Default)]
pub(crate) struct LayerCap {
    /// The highest layer allowed, or `None` when the estimate does not limit the track.
    limit: Option<usize>,
    /// Since when the estimate has allowed more than `limit`.
    raise_since: Option<Instant>,
}

impl LayerCap {
    /// Returns the highest layer allowed, or `None` when there is no limit.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// Applies the newest allocation at `now`. `keep` is the highest layer the whole
    /// estimate allows and `raise` the highest one the estimate allows with headroom, and
    /// `None` means no limit. Returns whether the applied limit changed.
    pub fn update(&mut self, now: Instant, keep: Option<usize>, raise: Option<usize>) -> bool {
        if is_below(keep, self.limit) {
            self.limit = keep;
            self.raise_since = None;
            return true;
        }
        if !is_below(self.limit, raise) {
            self.raise_since = None;
            return false;
        }
        let since = *self.raise_since.get_or_insert(now);
        if now.saturating_duration_since(since) < RAISE_HOLD {
            return false;
        }
        self.raise_since = None;
        self.limit = raise;
        true
    }
}

/// Returns whether limit `a` is lower than limit `b`, where `None` is no limit.
fn is_below(a: Option<usize>, b: Option<usize>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// One video track in a bandwidth allocation.
#[derive(Debug)]
pub(crate) struct VideoDemand {
    /// Bitrate of each layer, lowest first, with zero for a layer not measured yet.
    pub layer_bitrates: Vec<u64>,
    /// The layer the subscriber's view calls for.
    pub target: usize,
}

/// Shares `budget` bits per second among video tracks and returns the highest layer each
/// may get. Every track gets at least its lowest layer. Then the tracks go up one layer at
/// a time in turn, towards their targets, while the sum of their layers fits the budget.
/// A layer costs at least as much as the layers below it, so that one not measured yet
/// costs what the next measured one below it does.
pub(crate) fn allocate(budget: u64, demands: &[VideoDemand]) -> Vec<usize> {
    let bitrate = |demand: &VideoDemand, layer: usize| -> u64 {
        let below = demand.layer_bitrates.iter().take(layer + 1);
        below.copied().max().unwrap_or(0)
    };
    let mut levels = vec![0; demands.len()];
    let mut spent: u64 = demands.iter().map(|d| bitrate(d, 0)).sum();
    loop {
        let mut raised = false;
        for (demand, level) in demands.iter().zip(levels.iter_mut()) {
            if *level >= demand.target {
                continue;
            }
            let step = bitrate(demand, *level + 1).saturating_sub(bitrate(demand, *level));
            if spent + step <= budget {
                spent += step;
                *level += 1;
                raised = true;
            }
        }
        if !raised {
            return levels;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_averages_windows() {
        let start = Instant::now();
        let mut meter = BitrateMeter::default();
        // 1000 bytes every 10 ms is 800 kbit/s.
        for tick in 0..=100 {
            meter.record(start + Duration::from_millis(tick * 10), 1000);
        }
        let rate = meter.bits_per_second().expect("a window is complete");
        assert!((790_000..=810_000).contains(&rate), "rate {rate}");
    }

    #[test]
    fn meter_keeps_rate_over_pause() {
        let start = Instant::now();
        let mut meter = BitrateMeter::default();
        for tick in 0..=60 {
            meter.record(start + Duration::from_millis(tick * 10), 1000);
        }
        let before = meter.bits_per_second().expect("a window is complete");
        let resumed = start + Duration::from_secs(10);
        for tick in 0..=60 {
            meter.record(resumed + Duration::from_millis(tick * 10), 1000);
        }
        let after = meter.bits_per_second().expect("a window is complete");
        assert!(after.abs_diff(before) < 20_000, "{before} then {after}");
    }

    #[test]
    fn cap_lowers_at_once_and_raises_after_hold() {
        let start = Instant::now();
        let mut cap = LayerCap::default();
        assert!(
            cap.update(start, Some(1), Some(1)),
            "the first limit applies at once"
        );
        assert_eq!(cap.limit(), Some(1));
        assert!(cap.update(start, Some(0), Some(0)));
        assert_eq!(cap.limit(), Some(0));

        assert!(
            !cap.update(start, Some(2), Some(0)),
            "no raise without headroom"
        );
        assert!(!cap.update(start, Some(2), Some(2)));
        assert_eq!(cap.limit(), Some(0), "a raise waits");
        assert!(!cap.update(start + RAISE_HOLD / 2, Some(2), Some(2)));
        assert_eq!(cap.limit(), Some(0));
        assert!(cap.update(start + RAISE_HOLD, Some(2), Some(2)));
        assert_eq!(cap.limit(), Some(2));
    }

    #[test]
    fn cap_raise_restarts_after_break() {
        let start = Instant::now();
        let mut cap = LayerCap::default();
        cap.update(start, Some(0), Some(0));
        cap.update(start, None, None);
        cap.update(start + RAISE_HOLD / 2, None, Some(0));
        let restarted = cap.update(start + RAISE_HOLD, None, None);
        assert!(!restarted, "the hold started again");
        assert_eq!(cap.limit(), Some(0));
        assert!(cap.update(start + RAISE_HOLD * 2, None, None));
        assert_eq!(cap.limit(), None);
    }

    #[test]
    fn allocation_shares_budget_in_turns() {
        let demand = |target| VideoDemand {
            layer_bitrates: vec![100, 300, 900],
            target,
        };
        assert_eq!(allocate(2_000, &[demand(2), demand(2)]), [2, 2]);
        assert_eq!(allocate(1_300, &[demand(2), demand(2)]), [2, 1]);
        assert_eq!(allocate(700, &[demand(2), demand(2)]), [1, 1]);
        assert_eq!(
            allocate(50, &[demand(2), demand(1)]),
            [0, 0],
            "lowest always"
        );
        assert_eq!(allocate(2_000, &[demand(0), demand(1)]), [0, 1], "targets");
        let unmeasured = VideoDemand {
            layer_bitrates: vec![100, 0, 900],
            target: 2,
        };
        assert_eq!(allocate(950, &[unmeasured]), [2], "costs the layer below");
    }
}
