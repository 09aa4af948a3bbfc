//! Decisions on when to cut a source's recording into segments and when to request a keyframe.
//!
//! A [`Segmenter`] takes each packet's arrival time, sequence number and keyframe flag and
//! returns a decision without doing I/O. Video segments open only on a keyframe, so every
//! segment decodes on its own. A segment closes on the first keyframe after it has reached
//! its target length, or on a keyframe with a new frame size, or when media stops for longer
//! than the gap threshold.

use std::collections::BTreeMap;

/// Timing settings, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmenterConfig {
    /// Length after which a segment closes at the next keyframe for video, or the next packet
    /// for audio.
    pub target_us: u64,
    /// Time without media after which the open segment closes and a gap is recorded.
    pub gap_us: u64,
    /// Age after which a hole in the sequence numbers counts as lost for good.
    pub loss_us: u64,
    /// Minimum time between two keyframe requests for one source.
    pub keyframe_retry_us: u64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        Self {
            target_us: 4_000_000,
            gap_us: 1_500_000,
            loss_us: 1_000_000,
            keyframe_retry_us: 1_000_000,
        }
    }
}

/// Reason a segment closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// It reached its target length.
    Length,
    /// The frame size changed.
    Resolution,
    /// No media for longer than the gap threshold.
    Gap,
    /// The track ended or the recording stopped.
    Ended,
}

/// Actions the caller must take for one packet or tick.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Step {
    /// Close the open segment first.
    pub close: Option<CloseReason>,
    /// Open a new segment with this packet.
    pub open: bool,
    /// Append the packet to the open segment. This is true whenever `open` is.
    pub append: bool,
    /// Request a keyframe from the publisher.
    pub request_keyframe: bool,
    /// Span without media, start and end in microseconds, to record as a gap.
    pub gap: Option<(u64, u64)>,
    /// A packet was lost and retransmission did not bring it back.
    pub lost: bool,
}

/// Packet metadata that the segmenter decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Arrival on the server clock, microseconds since the Unix epoch.
    pub at_us: u64,
    /// Extended sequence number.
    pub seq: u64,
    /// Whether the packet starts a keyframe. Callers set it for every audio packet.
    pub keyframe: bool,
    /// Frame size declared by a video keyframe, when the depayloader reads it for the codec.
    pub size: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    started_us: u64,
    size: Option<(u32, u32)>,
}

/// Maximum jump in sequence numbers that is tracked as individual holes. A bigger jump is
/// treated as a restarted stream.
const MAX_HOLES: u64 = 512;

/// Segmenting decisions for one source (a camera, a microphone, a screen) of one recording.
#[derive(Debug)]
pub struct Segmenter {
    config: SegmenterConfig,
    video: bool,
    open: Option<Open>,
    /// Arrival of the newest packet taken into a segment.
    last_media_us: Option<u64>,
    last_request_us: Option<u64>,
    highest_seq: Option<u64>,
    /// Missing sequence numbers and when they were first missed.
    holes: BTreeMap<u64, u64>,
}

impl Segmenter {
    /// Creates a segmenter for a video or an audio source.
    pub fn new(config: SegmenterConfig, video: bool) -> Self {
        Self {
            config,
            video,
            open: None,
            last_media_us: None,
            last_request_us: None,
            highest_seq: None,
            holes: BTreeMap::new(),
        }
    }

    /// Returns whether a segment is open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Decides what to do with one packet.
    pub fn on_packet(&mut self, packet: PacketInfo) -> Step {
        let mut step = Step {
            lost: self.track_sequence(packet.seq, packet.at_us),
            ..Step::default()
        };
        if let Some(open) = self.open {
            if packet
                .at_us
                .saturating_sub(self.last_media_us.unwrap_or(packet.at_us))
                > self.config.gap_us
            {
                step.close = Some(CloseReason::Gap);
                self.open = None;
            } else if let Some(reason) = self.cut_reason(open, packet) {
                step.close = Some(reason);
                self.open = None;
            }
        }
        if self.open.is_none() {
            if packet.keyframe || !self.video {
                step.gap = self.gap_before(packet.at_us);
                self.open = Some(Open {
                    started_us: packet.at_us,
                    size: packet.size,
                });
                step.open = true;
            } else {
                step.request_keyframe = self.may_request(packet.at_us);
                return step;
            }
        }
        step.append = true;
        self.last_media_us = Some(packet.at_us);
        if let Some(open) = self.open {
            let overdue = packet.at_us.saturating_sub(open.started_us) >= self.config.target_us;
            if self.video && overdue && !step.open {
                step.request_keyframe |= self.may_request(packet.at_us);
            }
        }
        if step.lost && self.video {
            step.request_keyframe |= self.may_request(packet.at_us);
        }
        step
    }

    /// Decides what to do when no packet arrived. It closes a segment after the gap threshold
    /// and reports holes older than the loss threshold as lost.
    pub fn on_tick(&mut self, now_us: u64) -> Step {
        let mut step = Step::default();
        let silent_for = now_us.saturating_sub(self.last_media_us.unwrap_or(now_us));
        if self.open.is_some() && silent_for > self.config.gap_us {
            self.open = None;
            step.close = Some(CloseReason::Gap);
        }
        if self.expire_holes(now_us) {
            step.lost = true;
            if self.video && self.open.is_some() {
                step.request_keyframe = self.may_request(now_us);
            }
        }
        step
    }

    /// Closes the open segment, if any, because the track ended or the recording stops.
    pub fn finish(&mut self) -> Option<CloseReason> {
        self.open.take().map(|_| CloseReason::Ended)
    }

    /// Clears sequence tracking, because the next packet belongs to a new track or stream.
    pub fn restart_sequence(&mut self) {
        self.highest_seq = None;
        self.holes.clear();
    }

    /// Returns whether to request a keyframe now: true for video unless one was requested
    /// within the retry interval.
    pub fn request_now(&mut self, now_us: u64) -> bool {
        self.video && self.may_request(now_us)
    }

    fn cut_reason(&self, open: Open, packet: PacketInfo) -> Option<CloseReason> {
        if !packet.keyframe {
            return None;
        }
        if self.video && packet.size.is_some() && open.size.is_some() && packet.size != open.size {
            return Some(CloseReason::Resolution);
        }
        if packet.at_us.saturating_sub(open.started_us) >= self.config.target_us {
            return Some(CloseReason::Length);
        }
        // A codec whose frame size is not read here may change size at any keyframe.
        if self.video && packet.size.is_none() {
            return Some(CloseReason::Resolution);
        }
        None
    }

    fn gap_before(&self, at_us: u64) -> Option<(u64, u64)> {
        let last = self.last_media_us?;
        (at_us.saturating_sub(last) > self.config.gap_us).then_some((last, at_us))
    }

    fn may_request(&mut self, now_us: u64) -> bool {
        let due = self
            .last_request_us
            .is_none_or(|last| now_us.saturating_sub(last) >= self.config.keyframe_retry_us);
        if due {
            self.last_request_us = Some(now_us);
        }
        due
    }

    /// Records holes and repairs, and returns whether a hole aged past the loss threshold.
    fn track_sequence(&mut self, seq: u64, at_us: u64) -> bool {
        match self.highest_seq {
            None => self.highest_seq = Some(seq),
            Some(highest) if seq > highest => {
                if seq - highest <= MAX_HOLES {
                    for missing in highest + 1..seq {
                        self.holes.insert(missing, at_us);
                    }
                } else {
                    self.holes.clear();
                }
                self.highest_seq = Some(seq);
            }
            Some(_) => {
                self.holes.remove(&seq);
            }
        }
        self.expire_holes(at_us)
    }

    fn expire_holes(&mut self, now_us: u64) -> bool {
        let loss_us = self.config.loss_us;
        let before = self.holes.len();
        self.holes
            .retain(|_, missed| now_us.saturating_sub(*missed) < loss_us);
        self.holes.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000;

    fn video() -> Segmenter {
        Segmenter::new(SegmenterConfig::default(), true)
    }

    fn packet(at_ms: u64, seq: u64, keyframe: bool) -> PacketInfo {
        PacketInfo {
            at_us: at_ms * MS,
            seq,
            keyframe,
            size: keyframe.then_some((640, 480)),
        }
    }

    #[test]
    fn video_waits_for_keyframe() {
        let mut s = video();
        let first = s.on_packet(packet(0, 1, false));
        assert!(!first.append);
        assert!(!first.open);
        assert!(first.request_keyframe);
        let second = s.on_packet(packet(500, 2, false));
        assert!(!second.request_keyframe, "at most one request per second");
        let third = s.on_packet(packet(1_000, 3, false));
        assert!(third.request_keyframe);
        let key = s.on_packet(packet(1_100, 4, true));
        assert!(key.open);
        assert!(key.append);
        assert_eq!(key.close, None);
    }

    #[test]
    fn segment_cuts_at_keyframe_after_length() {
        let mut s = video();
        s.on_packet(packet(0, 1, true));
        s.on_packet(packet(1_000, 2, false));
        let early = s.on_packet(packet(2_000, 3, true));
        assert_eq!(
            early.close, None,
            "a keyframe before the length does not cut"
        );
        s.on_packet(packet(3_000, 4, false));
        let late = s.on_packet(packet(4_100, 5, false));
        assert!(late.append);
        assert!(
            late.request_keyframe,
            "length reached, so a keyframe is requested"
        );
        let cut = s.on_packet(packet(4_300, 6, true));
        assert_eq!(cut.close, Some(CloseReason::Length));
        assert!(cut.open);
        assert!(cut.append);
    }

    #[test]
    fn resolution_change_cuts_at_once() {
        let mut s = video();
        s.on_packet(packet(0, 1, true));
        let mut bigger = packet(1_000, 2, true);
        bigger.size = Some((1280, 720));
        let step = s.on_packet(bigger);
        assert_eq!(step.close, Some(CloseReason::Resolution));
        assert!(step.open);
    }

    #[test]
    fn codec_without_size_cuts_at_every_keyframe() {
        let mut s = video();
        let mut first = packet(0, 1, true);
        first.size = None;
        s.on_packet(first);
        let mut next = packet(500, 2, true);
        next.size = None;
        assert_eq!(s.on_packet(next).close, Some(CloseReason::Resolution));
    }

    #[test]
    fn silence_closes_segment_records_gap() {
        let mut s = video();
        s.on_packet(packet(0, 1, true));
        s.on_packet(packet(100, 2, false));
        assert_eq!(s.on_tick(1_000 * MS).close, None);
        assert_eq!(s.on_tick(1_700 * MS).close, Some(CloseReason::Gap));
        assert!(!s.is_open());
        s.restart_sequence();
        let resumed = s.on_packet(packet(5_000, 900, true));
        assert_eq!(resumed.gap, Some((100 * MS, 5_000 * MS)));
        assert!(resumed.open);
    }

    #[test]
    fn audio_opens_anywhere_cuts_at_length() {
        let mut s = Segmenter::new(SegmenterConfig::default(), false);
        let first = s.on_packet(PacketInfo {
            at_us: 0,
            seq: 1,
            keyframe: true,
            size: None,
        });
        assert!(first.open);
        assert!(!first.request_keyframe);
        for (seq, at_ms) in (2..).zip((20..4_000).step_by(20)) {
            let step = s.on_packet(PacketInfo {
                at_us: at_ms * MS,
                seq,
                keyframe: true,
                size: None,
            });
            assert_eq!(step.close, None, "at {at_ms} ms");
        }
        let cut = s.on_packet(PacketInfo {
            at_us: 4_000 * MS,
            seq: 300,
            keyframe: true,
            size: None,
        });
        assert_eq!(cut.close, Some(CloseReason::Length));
    }

    #[test]
    fn hole_lost_only_when_not_repaired() {
        let mut s = video();
        s.on_packet(packet(0, 1, true));
        s.on_packet(packet(20, 3, false));
        let repaired = s.on_packet(packet(100, 2, false));
        assert!(!repaired.lost);
        s.on_packet(packet(120, 5, false));
        let late = s.on_packet(packet(1_200, 6, false));
        assert!(late.lost);
        assert!(late.request_keyframe);
        assert!(!s.on_packet(packet(1_220, 7, false)).lost, "reported once");
    }

    #[test]
    fn finish_closes_an_open_segment_once() {
        let mut s = video();
        assert_eq!(s.finish(), None);
        s.on_packet(packet(0, 1, true));
        assert_eq!(s.finish(), Some(CloseReason::Ended));
        assert_eq!(s.finish(), None);
    }
}
