//! Real encoded media for mux tests: RTP packets from GStreamer encoders and payloaders.

use std::path::Path;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use recorder::journal::{Codec, JournalHeader, JournalPacket, JournalWriter};

/// First sequence number and timestamp of the payloaders, close to their 16-bit and 32-bit
/// limits, so that every stream tests the extension across a wrap.
pub const SEQ_OFFSET: u32 = 65_500;
pub const TIMESTAMP_OFFSET: u32 = 4_294_900_000;

/// Runs `source ! payloader` (a gst-launch description) to its end and returns the RTP packets
/// with sequence numbers and timestamps extended.
pub fn encode(description: &str) -> Vec<JournalPacket> {
    gst::init().unwrap();
    let description = format!(
        "{description} seqnum-offset={SEQ_OFFSET} timestamp-offset={TIMESTAMP_OFFSET} \
         ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();

    let mut unwrapper = Unwrapper::default();
    while let Ok(sample) = sink.pull_sample() {
        let buffer = sample.buffer().unwrap().map_readable().unwrap();
        unwrapper.push(&buffer);
    }
    assert_no_bus_error(&pipeline);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        !unwrapper.packets.is_empty(),
        "{description} produced no packets"
    );
    unwrapper.packets
}

fn assert_no_bus_error(pipeline: &gst::Pipeline) {
    let bus = pipeline.bus().unwrap();
    if let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
        panic!("encoding pipeline failed: {message:?}");
    }
}

/// Extends the 16-bit sequence numbers and 32-bit timestamps of packets in sending order.
#[derive(Default)]
struct Unwrapper {
    packets: Vec<JournalPacket>,
}

impl Unwrapper {
    fn push(&mut self, rtp: &[u8]) {
        assert_eq!(rtp[0] >> 6, 2, "RTP version");
        let csrc_count = usize::from(rtp[0] & 0x0f);
        let mut header_len = 12 + 4 * csrc_count;
        if rtp[0] & 0x10 != 0 {
            let words = u16::from_be_bytes([rtp[header_len + 2], rtp[header_len + 3]]);
            header_len += 4 + 4 * usize::from(words);
        }
        let seq = u16::from_be_bytes([rtp[2], rtp[3]]);
        let timestamp = u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]);

        let (seq, rtp_time) = match self.packets.last() {
            None => (u64::from(seq), u64::from(timestamp)),
            Some(previous) => (
                extend(previous.seq, u64::from(seq), 1 << 16),
                extend(previous.rtp_time, u64::from(timestamp), 1 << 32),
            ),
        };
        self.packets.push(JournalPacket {
            arrival_unix_us: 1_700_000_000_000_000 + self.packets.len() as u64 * 1_000,
            seq,
            rtp_time,
            marker: rtp[1] & 0x80 != 0,
            payload: rtp[header_len..].to_vec(),
        });
    }
}

/// Returns the extended value closest to `previous` whose low bits are `low`.
fn extend(previous: u64, low: u64, modulus: u64) -> u64 {
    let base = previous - previous % modulus;
    [
        base + low,
        base + modulus + low,
        (base + low).saturating_sub(modulus),
    ]
    .into_iter()
    .min_by_key(|candidate| candidate.abs_diff(previous))
    .unwrap()
}

pub fn header(codec: Codec) -> JournalHeader {
    JournalHeader {
        codec,
        payload_type: 96,
        source: "camera".into(),
        recording: "5f0e8d9c-1b2a-4c3d-8e7f-6a5b4c3d2e1f".into(),
        segment_index: 0,
    }
}

/// Writes `packets` into a new journal at `path`.
pub fn write_journal(path: &Path, codec: Codec, packets: &[JournalPacket]) {
    let mut writer = JournalWriter::create(path, &header(codec)).unwrap();
    for packet in packets {
        writer.append_packet(packet).unwrap();
    }
    writer.finish().unwrap();
}

/// Groups packets into frames by RTP timestamp, in order.
pub fn frames(packets: &[JournalPacket]) -> Vec<Vec<JournalPacket>> {
    let mut frames: Vec<Vec<JournalPacket>> = Vec::new();
    for packet in packets {
        match frames.last_mut() {
            Some(frame) if frame[0].rtp_time == packet.rtp_time => frame.push(packet.clone()),
            _ => frames.push(vec![packet.clone()]),
        }
    }
    frames
}
