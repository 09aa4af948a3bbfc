//! Placing media on the server clock, with audio and video of one publisher kept in sync.
//!
//! A browser stamps each stream with its own RTP clock and maps it to its wall clock in RTCP
//! sender reports. Through those reports every stream of a publisher shares one clock, the
//! sender's. The offset from the sender's clock to the server's is the smallest difference
//! between a packet's arrival and its sender time: the path's delay at its shortest. Using
//! one offset for all streams of a publisher keeps them in sync to the reports' accuracy.

use media_core::SenderClock;
use rustc_hash::FxHashMap;

/// Converts RTP time to server time for the streams of one publisher.
#[derive(Debug, Default)]
pub struct ClockMap {
    /// Server time minus sender time, in microseconds, at its smallest so far.
    offset_us: Option<i64>,
    reports: FxHashMap<String, (SenderClock, u32)>,
}

impl ClockMap {
    /// Records one packet of `stream`, any key that names a stream of the publisher.
    ///
    /// A new sender report replaces the stream's older one, and the packet may lower the offset.
    pub fn observe(
        &mut self,
        stream: &str,
        arrival_us: u64,
        rtp_time: u64,
        clock_rate: u32,
        report: Option<SenderClock>,
    ) {
        if let Some(report) = report {
            match self.reports.get_mut(stream) {
                Some(known) if known.0 == report => {}
                Some(known) => *known = (report, clock_rate),
                None => {
                    self.reports.insert(stream.to_owned(), (report, clock_rate));
                }
            }
        }
        let Some(sender_us) = self.sender_time_us(stream, rtp_time) else {
            return;
        };
        let offset = arrival_us as i64 - sender_us;
        self.offset_us = Some(self.offset_us.map_or(offset, |known| known.min(offset)));
    }

    /// Forgets the sender clock of `stream` and the offset, because the stream starts again,
    /// possibly from a new connection whose sender clock differs: Chromium's sender reports
    /// of two connections of one page can be tens of seconds apart.
    pub fn restart(&mut self, stream: &str) {
        self.reports.remove(stream);
        self.offset_us = None;
    }

    /// Converts `rtp_time` of `stream` to server time, or returns `None` before the stream's
    /// first sender report.
    pub fn server_time_us(&self, stream: &str, rtp_time: u64) -> Option<u64> {
        let sender = self.sender_time_us(stream, rtp_time)?;
        let offset = self.offset_us?;
        u64::try_from(sender + offset).ok()
    }

    fn sender_time_us(&self, stream: &str, rtp_time: u64) -> Option<i64> {
        let (report, clock_rate) = self.reports.get(stream)?;
        if *clock_rate == 0 {
            return None;
        }
        let ticks = rtp_time as i128 - report.rtp_time as i128;
        let delta_us = ticks * 1_000_000 / i128::from(*clock_rate);
        i64::try_from(report.ntp_unix_us as i128 + delta_us).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ntp_unix_us: u64, rtp_time: u64) -> Option<SenderClock> {
        Some(SenderClock {
            ntp_unix_us,
            rtp_time,
        })
    }

    #[test]
    fn server_time_unknown_before_report() {
        let mut map = ClockMap::default();
        map.observe("camera", 5_000_000, 90_000, 90_000, None);
        assert_eq!(map.server_time_us("camera", 90_000), None);
    }

    #[test]
    fn audio_and_video_share_one_offset() {
        // The sender's clock is 2 s behind the server's. Video has 40 ms of delay in the
        // encoder and network and audio 10 ms. Both were captured at sender time 100 s.
        let mut map = ClockMap::default();
        let skew = 2_000_000;
        map.observe(
            "camera",
            100_040_000 + skew,
            9_000_000,
            90_000,
            report(100_000_000, 9_000_000),
        );
        map.observe(
            "microphone",
            100_010_000 + skew,
            4_800_000,
            48_000,
            report(100_000_000, 4_800_000),
        );

        let video = map.server_time_us("camera", 9_000_000).unwrap();
        let audio = map.server_time_us("microphone", 4_800_000).unwrap();
        assert_eq!(video, audio, "captured together, placed together");
        assert_eq!(
            video,
            100_010_000 + skew,
            "the shortest delay sets the offset"
        );
        // One second later in RTP time is one second later on the server.
        assert_eq!(
            map.server_time_us("camera", 9_090_000),
            Some(video + 1_000_000)
        );
    }

    #[test]
    fn newer_report_replaces_older() {
        let mut map = ClockMap::default();
        map.observe("camera", 1_000_000, 0, 90_000, report(1_000_000, 0));
        map.observe(
            "camera",
            2_000_000,
            90_000,
            90_000,
            report(2_000_000, 90_000),
        );
        assert_eq!(map.server_time_us("camera", 180_000), Some(3_000_000));
    }

    #[test]
    fn restart_takes_new_sender_clock() {
        // The first connection's sender clock matches the server's; the second one's runs
        // 50 s behind, as Chromium's did for a new connection of the same page.
        let mut map = ClockMap::default();
        map.observe("camera", 10_000_000, 0, 90_000, report(10_000_000, 0));
        map.restart("camera");
        assert_eq!(
            map.server_time_us("camera", 0),
            None,
            "no report after a restart"
        );

        map.observe("camera", 60_000_000, 0, 90_000, report(10_000_000, 0));
        assert_eq!(
            map.server_time_us("camera", 90_000),
            Some(61_000_000),
            "placed by the new connection's clock"
        );
    }
}
