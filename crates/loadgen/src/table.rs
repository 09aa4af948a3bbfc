//! The report as a table for people.

use std::fmt;

use crate::report::Report;
use crate::stats::Summary;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "profstage-load: {:?}, {} publishers x {} subscribers ({:?}), {} kbit/s VP8{} at {} \
             fps + Opus, {:.0} s window",
            o.target,
            o.publishers,
            o.subscribers,
            o.mode,
            o.video_kbps,
            if o.simulcast { " in 3 layers" } else { "" },
            o.fps,
            self.packets.window_s
        )?;
        self.write_clients(f)?;
        self.write_packets(f)?;
        self.write_latency(f)?;
        self.write_costs(f)?;

        if self.passed {
            return writeln!(f, "PASSED");
        }
        writeln!(f, "FAILED")?;
        for failure in &self.failures {
            writeln!(f, "  - {failure}")?;
        }
        Ok(())
    }
}

impl Report {
    fn write_clients(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.publishers;
        let s = &self.subscribers;
        writeln!(f, "clients")?;
        let connected = format!(
            "{} of {} in {:.1} s",
            p.connected, p.count, p.connect_phase_s
        );
        row(f, "publishers connected", connected)?;
        let complete = format!(
            "{} of {} in {:.1} s",
            s.with_all_frames, s.count, s.join_phase_s
        );
        row(f, "subscribers with every frame", complete)?;
        row(f, "subscribed tracks", s.subscribed_tracks.to_string())?;
        row(f, "join to connected, ms", summary(&s.connect_ms))?;
        row(f, "join to first frame, ms", summary(&s.first_frame_ms))?;
        row(
            f,
            "join to every publisher's frame, ms",
            summary(&s.all_frames_ms),
        )?;
        if self.options.simulcast {
            row(f, "final layer q / h / f, tracks", self.layer_counts())?;
        }
        Ok(())
    }

    /// Counts the subscribed video tracks by the simulcast layer they got last.
    fn layer_counts(&self) -> String {
        let mut counts = [0usize; 3];
        for layer in self
            .per_subscriber
            .iter()
            .flat_map(|row| &row.current_layers)
        {
            if let Some(count) = counts.get_mut(usize::from(*layer)) {
                *count += 1;
            }
        }
        format!("{} / {} / {}", counts[0], counts[1], counts[2])
    }

    fn write_packets(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.publishers;
        let k = &self.packets;
        writeln!(f, "packets")?;
        let sent = format!(
            "{} ({} video, {} audio)",
            k.sent, p.video_packets, p.audio_packets
        );
        row(f, "sent by publishers", sent)?;
        let keyframes = format!("{} / {}", p.keyframes, p.keyframe_requests);
        row(f, "keyframes sent / requested", keyframes)?;
        row(f, "expected by subscribers", k.expected.to_string())?;
        let received = format!("{} (+{} duplicates)", k.received, k.duplicates);
        row(f, "received (distinct)", received)?;
        row(
            f,
            "lost",
            format!("{} ({:.3}%)", k.lost, k.loss_ratio * 100.0),
        )?;
        let window = format!(
            "{} ({:.0}/s)",
            k.window_received, k.window_packets_per_second
        );
        row(f, "forwarded in window", window)
    }

    fn write_latency(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let j = &self.jitter_ms;
        writeln!(f, "latency added, send to arrival (ms)")?;
        row(f, "video", summary(&self.added_latency_ms.video))?;
        row(f, "audio", summary(&self.added_latency_ms.audio))?;
        let video = format!("{:.2} / {:.2}", j.video_mean, j.video_max);
        row(f, "jitter video mean / max, ms", video)?;
        let audio = format!("{:.2} / {:.2}", j.audio_mean, j.audio_max);
        row(f, "jitter audio mean / max, ms", audio)
    }

    fn write_costs(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.server {
            Some(x) => {
                writeln!(f, "server (pid {})", x.pid)?;
                let cpu = format!(
                    "{:.2} s ({:.0}% of one core)",
                    x.window_cpu_s,
                    x.cores_busy * 100.0
                );
                row(f, "CPU in window", cpu)?;
                let wait = format!("{:.2} s, summed over threads", x.window_runqueue_wait_s);
                row(f, "waiting for a CPU in window", wait)?;
                let per_packet = format!("{:.2} us", x.cpu_us_per_forwarded_packet);
                row(f, "CPU per forwarded packet", per_packet)?;
                let per_core = format!("{:.0}", x.forwarded_per_core_second);
                row(f, "forwarded per core-second", per_core)?;
                let rss = format!(
                    "{} / {} / {} KiB (peak {})",
                    x.rss_before_kib, x.rss_publishers_kib, x.rss_end_kib, x.rss_peak_kib
                );
                row(f, "RSS before / publishers / end", rss)?;
                let per_track = format!("{:.1} KiB", x.kib_per_subscribed_track);
                row(f, "memory per subscribed track", per_track)?;
                if let Some(drops) = x.udp_drops {
                    row(f, "UDP receive buffer drops", drops.to_string())?;
                }
            }
            None => writeln!(
                f,
                "server: process not found; pass --server-pid for CPU and memory"
            )?,
        }

        if let Some(cpu) = self.load_generator_cpu_seconds {
            let wait = self.load_generator_runqueue_wait_seconds.unwrap_or(0.0);
            let own = format!("{cpu:.2} s / {wait:.2} s");
            row(f, "load generator CPU / CPU wait", own)?;
        }
        if let Some(drops) = self.load_generator_udp_drops {
            row(f, "load generator UDP buffer drops", drops.to_string())?;
        }
        Ok(())
    }
}

/// Writes one indented line of the table.
fn row(f: &mut fmt::Formatter<'_>, name: &str, value: String) -> fmt::Result {
    writeln!(f, "  {name:<34} {value}")
}

fn summary(x: &Summary) -> String {
    format!(
        "p50 {:.1}  p99 {:.1}  max {:.1}  (n={})",
        x.p50, x.p99, x.max, x.count
    )
}
