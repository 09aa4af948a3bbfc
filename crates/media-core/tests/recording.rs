//! Packets of recorded publishers are handed out once each, in order, with their codec and
//! the sender's clock; packets of other publishers are not.

mod common;

use std::time::Duration;

use common::{member, Harness};
use media_core::{ClientOptions, Codec, MediaKind, TrackSource};

fn recorded(room: &str) -> ClientOptions {
    ClientOptions {
        recorded: true,
        ..member(room)
    }
}

const TRACKS: &[(MediaKind, TrackSource)] = &[
    (MediaKind::Video, TrackSource::Camera),
    (MediaKind::Audio, TrackSource::Microphone),
];

#[test]
fn recorded_publisher_packets_are_handed_out() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(recorded("hall"), TRACKS);
    let quiet = h.add_publisher(member("hall"), TRACKS);
    h.connect_all();
    h.run_for(Duration::from_secs(3));

    let video = h.track_of(publisher, MediaKind::Video);
    let audio = h.track_of(publisher, MediaKind::Audio);
    let quiet_video = h.track_of(quiet, MediaKind::Video);
    assert!(h.media.iter().all(|p| p.track != quiet_video));

    // The last frame written, two video packets or one audio packet, may still be on its
    // way when the run ends.
    for (track, codec, source, minimum, last_frame) in [
        (video, Codec::Vp8, TrackSource::Camera, 150, 2),
        (audio, Codec::Opus, TrackSource::Microphone, 120, 1),
    ] {
        let packets: Vec<_> = h.media.iter().filter(|p| p.track == track).collect();
        assert!(
            packets.len() >= minimum,
            "{source:?}: {} packets handed out, expected at least {minimum}",
            packets.len()
        );
        assert!(packets
            .iter()
            .all(|p| p.codec == codec && p.source == source));
        let sent = &h.endpoint(publisher).sent_track(packets[0].kind).sent;
        assert!(
            sent.len() - packets.len() <= last_frame,
            "{source:?}: {} copies of {} packets sent",
            packets.len(),
            sent.len()
        );
        for pair in packets.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1, "{source:?}: sequence");
            assert!(pair[1].rtp_time >= pair[0].rtp_time, "{source:?}: RTP time");
        }
        for (packet, original) in packets.iter().zip(sent) {
            assert_eq!(
                &packet.payload[..],
                &original.payload[..],
                "{source:?}: payload"
            );
            assert_eq!(packet.marker, original.marker, "{source:?}: marker");
        }
    }
}

#[test]
fn sender_clock_follows_reports() {
    let mut h = Harness::new();
    let publisher = h.add_publisher(recorded("hall"), TRACKS);
    h.connect_all();
    h.run_for(Duration::from_secs(8));
    let video = h.track_of(publisher, MediaKind::Video);
    let clocks: Vec<_> = h
        .media
        .iter()
        .filter(|p| p.track == video)
        .filter_map(|p| p.sender_clock.map(|c| (p.rtp_time, c)))
        .collect();
    assert!(!clocks.is_empty(), "a sender report reached the recorder");
    for (rtp_time, clock) in clocks {
        // The report describes a moment near the packet: at most five seconds before it,
        // or a tenth of a second after it (a sender extrapolates its clock to the report).
        let behind = rtp_time as i64 - clock.rtp_time as i64;
        assert!(
            (-9_000..450_000).contains(&behind),
            "report {behind} ticks behind"
        );
        assert!(
            clock.ntp_unix_us > 1_600_000_000_000_000,
            "a plausible NTP time"
        );
    }
}
