//! Forwarding: each incoming RTP packet goes to every open subscriber of its track, and
//! keyframe requests go back to the publisher.

use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::Sfu;
use crate::ids::{PeerId, TrackId};
use crate::keyframe::starts_keyframe;
use crate::peer::Peer;
use crate::rewrite::Rewriter;

impl Sfu {
    /// Asks the publisher of `track` for a keyframe, at most once per keyframe interval. A
    /// FIR that comes while a request is held makes the held request a FIR.
    pub(super) fn request_keyframe(
        &mut self,
        now: Instant,
        track: TrackId,
        kind: KeyframeRequestKind,
    ) {
        let interval = self.config.keyframe_interval;
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        if entry.kind != MediaKind::Video {
            return;
        }
        if kind == KeyframeRequestKind::Fir {
            entry.full_intra_requested = true;
        }
        if entry.keyframes.request(now, interval) {
            self.send_keyframe_request(track);
        }
    }

    pub(super) fn send_keyframe_request(&mut self, track: TrackId) {
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&entry.peer) else {
            return;
        };
        let mid = entry.mid;
        let kind = if entry.full_intra_requested {
            KeyframeRequestKind::Fir
        } else {
            KeyframeRequestKind::Pli
        };
        let sent = peer.guarded(|rtc| {
            let mut api = rtc.direct_api();
            let stream = api.stream_rx_by_mid(mid, None)?;
            stream.request_keyframe(kind);
            Some(())
        });
        if sent.flatten().is_some() {
            entry.full_intra_requested = false;
            tracing::trace!(track = %track, "keyframe requested");
            self.dirty.push(entry.peer);
        } else {
            entry.keyframes.hold();
        }
    }

    /// Sends one incoming RTP packet to every open subscriber of its track.
    pub(super) fn forward(&mut self, now: Instant, peer_id: PeerId, packet: RtpPacket) {
        let Some(track_id) = self.track_of_packet(peer_id, &packet) else {
            return;
        };
        let Some(params) = self
            .peers
            .get(&peer_id)
            .and_then(|p| p.payload_params(packet.header.payload_type))
        else {
            return;
        };
        self.tap(track_id, &packet, &params);
        let Some(track) = self.tracks.get_mut(&track_id) else {
            return;
        };
        track.ssrc = Some(packet.header.ssrc);
        let keyframe =
            track.kind == MediaKind::Video && starts_keyframe(params.spec().codec, &packet.payload);
        let subscribers = track.subscribers.clone();
        let mut wants_keyframe = false;
        for (subscriber, mid) in subscribers {
            let Some(peer) = self.peers.get_mut(&subscriber) else {
                continue;
            };
            match write_forward(now, peer, mid, &packet, &params, keyframe) {
                Written::Sent => self.dirty.push(subscriber),
                Written::NeedsKeyframe => wants_keyframe = true,
                Written::Skipped => {}
            }
        }
        if wants_keyframe {
            self.request_keyframe(now, track_id, KeyframeRequestKind::Pli);
        }
    }

    pub(super) fn track_of_packet(
        &mut self,
        peer_id: PeerId,
        packet: &RtpPacket,
    ) -> Option<TrackId> {
        let peer = self.peers.get_mut(&peer_id)?;
        let ssrc = packet.header.ssrc;
        if let Some(track) = peer.publishing()?.by_ssrc.get(&ssrc) {
            return Some(*track);
        }
        let mid = peer
            .guarded(|rtc| rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid()))
            .flatten()?;
        let side = peer.publishing()?;
        let track = *side.tracks.get(&mid)?;
        side.by_ssrc.insert(ssrc, track);
        Some(track)
    }
}

enum Written {
    Sent,
    NeedsKeyframe,
    Skipped,
}

/// Writes one packet to one subscriber's m-line, rewriting SSRC (by writing to the
/// subscriber's own stream), sequence number, timestamp and payload type.
fn write_forward(
    now: Instant,
    peer: &mut Peer,
    mid: Mid,
    packet: &RtpPacket,
    params: &PayloadParams,
    keyframe: bool,
) -> Written {
    let Some(side) = peer.receiving() else {
        return Written::Skipped;
    };
    let Some(forward) = side.forwards.get_mut(&mid) else {
        return Written::Skipped;
    };
    if !forward.open {
        return Written::Skipped;
    }

    let header = &packet.header;
    let spec = params.spec();
    let rewriter = forward
        .rewriter
        .get_or_insert_with(|| Rewriter::new(spec.clock_rate.get()));
    if !rewriter.is_current(header.ssrc) {
        if forward.kind == MediaKind::Video && !keyframe {
            return Written::NeedsKeyframe;
        }
        rewriter.switch_to(header.ssrc, packet.seq_no, header.timestamp, now);
    }
    let Some(numbering) = rewriter.rewrite(header.ssrc, packet.seq_no, header.timestamp, now)
    else {
        return Written::Skipped;
    };

    let cached = forward.payload_type;
    let Some(out_pt) = subscriber_payload_type(peer, mid, cached, header.payload_type, params)
    else {
        return Written::Skipped;
    };

    let video = spec.codec.is_video();
    let extensions = ExtensionValues {
        audio_level: header.ext_vals.audio_level,
        voice_activity: header.ext_vals.voice_activity,
        video_orientation: header.ext_vals.video_orientation,
        ..ExtensionValues::default()
    };
    let write = RtpWrite::new(
        out_pt,
        numbering.sequence,
        numbering.timestamp,
        packet.timestamp,
        packet.payload.clone(),
    )
    .marker(header.marker)
    .ext_vals(extensions)
    .nackable(video);

    let written = peer.guarded(|rtc| {
        let mut api = rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None)?;
        stream.write_rtp(write);
        Some(())
    });
    match written.flatten() {
        Some(()) => Written::Sent,
        None => Written::Skipped,
    }
}

/// Returns the subscriber's payload type for the publisher's payload type `in_pt`, from the
/// cache of the m-line or from the codec the subscriber accepted in its answer. Returns
/// `None` when the subscriber did not accept the publisher's codec.
fn subscriber_payload_type(
    peer: &mut Peer,
    mid: Mid,
    cached: Option<(Pt, Pt)>,
    in_pt: Pt,
    params: &PayloadParams,
) -> Option<Pt> {
    if let Some((_, out)) = cached.filter(|(cached_in, _)| *cached_in == in_pt) {
        return Some(out);
    }
    let out = peer.rtc.codec_config().match_params(*params)?.pt();
    let accepted = peer.rtc.media(mid)?.remote_pts().contains(&out);
    if !accepted {
        tracing::debug!(mid = %mid, pt = *out, "subscriber did not accept the publisher's codec");
        return None;
    }
    let forward = peer.receiving()?.forwards.get_mut(&mid)?;
    forward.payload_type = Some((in_pt, out));
    Some(out)
}
