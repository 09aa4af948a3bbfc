//! Forwarding: each incoming RTP packet goes to every open subscriber of its track that
//! receives its layer, and keyframe requests go back to the publisher.

use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Pt, Rid, Rids};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::Sfu;
use crate::ids::{PeerId, TrackId};
use crate::keyframe::{starts_keyframe, vp8_keyframe_size};
use crate::layer::{Layers, ARRIVAL_TIMEOUT};
use crate::peer::Peer;
use crate::rewrite::Rewriter;
use crate::track::KeyframeNeed;

impl Sfu {
    /// Asks the publisher of `track` for a keyframe on `layer`, as often as the layer's
    /// [`KeyframeThrottle`](crate::track::KeyframeThrottle) lets `need` go. A FIR that
    /// comes while a request is held makes the held request a FIR.
    pub(super) fn request_keyframe(
        &mut self,
        now: Instant,
        track: TrackId,
        layer: usize,
        need: KeyframeNeed,
        kind: KeyframeRequestKind,
    ) {
        let gaps = self.config.keyframe_gaps();
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        if entry.kind != MediaKind::Video {
            return;
        }
        if kind == KeyframeRequestKind::Fir {
            entry.full_intra_requested = true;
        }
        let Some(throttle) = entry.layers.get_mut(layer).map(|l| &mut l.keyframes) else {
            return;
        };
        if throttle.request(now, need, gaps) {
            self.send_keyframe_request(track, layer);
        }
    }

    /// Asks the publisher of `track` for a keyframe on `layer` for a receiver that waits
    /// for its first picture of the layer.
    pub(super) fn request_waiting_keyframe(&mut self, now: Instant, track: TrackId, layer: usize) {
        self.request_keyframe(
            now,
            track,
            layer,
            KeyframeNeed::Waiting,
            KeyframeRequestKind::Pli,
        );
    }

    pub(super) fn send_keyframe_request(&mut self, track: TrackId, layer: usize) {
        let Some(entry) = self.tracks.get_mut(&track) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&entry.peer) else {
            return;
        };
        let Some(rid) = entry.layers.get(layer).map(|l| l.rid) else {
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
            let stream = api.stream_rx_by_mid(mid, rid)?;
            stream.request_keyframe(kind);
            Some(())
        });
        if sent.flatten().is_some() {
            entry.full_intra_requested = false;
            tracing::trace!(track = %track, layer, "keyframe requested");
            self.dirty.push(entry.peer);
        } else if let Some(layer) = entry.layers.get_mut(layer) {
            layer.keyframes.hold();
        }
    }

    /// Sends one incoming RTP packet to every open subscriber of its track that receives
    /// the packet's layer.
    pub(super) fn forward(&mut self, now: Instant, peer_id: PeerId, packet: RtpPacket) {
        let Some((track_id, rid)) = self.track_of_packet(peer_id, &packet) else {
            return;
        };
        let Some(params) = self
            .peers
            .get(&peer_id)
            .and_then(|p| p.payload_params(packet.header.payload_type))
        else {
            return;
        };
        let Some(layer) = self.layer_of_packet(now, track_id, rid) else {
            return;
        };
        let Some(track) = self.tracks.get_mut(&track_id) else {
            return;
        };
        let codec = params.spec().codec;
        let keyframe = track.kind == MediaKind::Video && starts_keyframe(codec, &packet.payload);
        let size = if keyframe && codec == Codec::Vp8 {
            vp8_keyframe_size(&packet.payload)
        } else {
            None
        };
        let learned_size =
            size.is_some() && track.layers.get(layer).is_some_and(|l| l.size != size);
        track
            .layers
            .note_packet(layer, packet.header.ssrc, now, size);
        if let Some(entry) = track.layers.get_mut(layer) {
            let bytes = packet.header.header_len + packet.payload.len();
            entry.bitrate.record(now, bytes);
            if keyframe {
                entry.keyframes.keyframe_arrived();
            }
        }
        self.tap(now, track_id, layer, keyframe, &packet, &params);

        let Some(track) = self.tracks.get(&track_id) else {
            return;
        };
        let incoming = Incoming {
            packet: &packet,
            params: &params,
            layer,
            keyframe,
        };
        let mut wants_keyframe = false;
        let mut switched = false;
        for (subscriber, mid) in &track.subscribers {
            let Some(peer) = self.peers.get_mut(subscriber) else {
                continue;
            };
            match write_forward(now, peer, *mid, &track.layers, &incoming) {
                Written::Sent => self.dirty.push(*subscriber),
                Written::Switched => {
                    self.dirty.push(*subscriber);
                    switched = true;
                }
                Written::NeedsKeyframe => wants_keyframe = true,
                Written::Skipped => {}
            }
        }
        let recheck = track.layers.is_simulcast()
            && track
                .wanted_checked_at
                .is_none_or(|at| now.saturating_duration_since(at) >= WANTED_RECHECK);
        if wants_keyframe {
            self.request_waiting_keyframe(now, track_id, layer);
        }
        if learned_size || switched || recheck {
            // A view may now fit a smaller layer than the top one chosen without sizes, no
            // subscriber may need the layer one of them left, or a layer may have stopped.
            self.update_wanted_layers(now, track_id);
        }
    }

    /// Returns the track and RID of a packet, from the SSRC's stream in str0m.
    pub(super) fn track_of_packet(
        &mut self,
        peer_id: PeerId,
        packet: &RtpPacket,
    ) -> Option<(TrackId, Option<Rid>)> {
        let peer = self.peers.get_mut(&peer_id)?;
        let ssrc = packet.header.ssrc;
        if let Some(found) = peer.publishing()?.by_ssrc.get(&ssrc) {
            return Some(*found);
        }
        let (mid, rid) = peer
            .guarded(|rtc| {
                rtc.direct_api()
                    .stream_rx(&ssrc)
                    .map(|s| (s.mid(), s.rid()))
            })
            .flatten()?;
        let side = peer.publishing()?;
        let track = *side.tracks.get(&mid)?;
        side.by_ssrc.insert(ssrc, (track, rid));
        Some((track, rid))
    }

    /// Returns the index of the layer with `rid` in `track`. A RID the track does not know
    /// yet makes it read the negotiated RIDs of its m-line again.
    fn layer_of_packet(
        &mut self,
        now: Instant,
        track_id: TrackId,
        rid: Option<Rid>,
    ) -> Option<usize> {
        let track = self.tracks.get(&track_id)?;
        if let Some(index) = track.layers.index_of(rid) {
            return Some(index);
        }
        let rids = self
            .peers
            .get(&track.peer)
            .map(|peer| negotiated_rids(peer, track.mid))
            .unwrap_or_default();
        let track = self.tracks.get_mut(&track_id)?;
        if !rids.contains(&rid?) {
            return None;
        }
        tracing::debug!(track = %track_id, ?rids, "simulcast layers");
        track.layers = Layers::from_rids(&rids);
        let index = track.layers.index_of(rid);
        self.update_wanted_layers(now, track_id);
        index
    }
}

/// How often the packets of a simulcast track make the router work out again which layers
/// are needed, so that a layer that stopped arriving is noticed.
const WANTED_RECHECK: std::time::Duration = ARRIVAL_TIMEOUT;

/// Returns the RIDs the publisher's m-line `mid` negotiated, in the order of its offer, or
/// none when it is not simulcast.
pub(super) fn negotiated_rids(peer: &Peer, mid: Mid) -> Vec<Rid> {
    match peer.rtc.media(mid).map(|m| m.rids_rx()) {
        Some(Rids::Specific(rids)) => rids.clone(),
        _ => Vec::new(),
    }
}

/// One packet from a publisher and what the router learned of it.
struct Incoming<'a> {
    packet: &'a RtpPacket,
    params: &'a PayloadParams,
    layer: usize,
    keyframe: bool,
}

enum Written {
    Sent,
    /// Sent as the first packet of another layer or stream.
    Switched,
    NeedsKeyframe,
    Skipped,
}

/// Writes one packet to one subscriber's m-line, rewriting SSRC (by writing to the
/// subscriber's own stream), sequence number, timestamp and payload type.
/// A subscriber receives one layer at a time: the one that suits its view, or another one
/// while that does not arrive. It switches only at a keyframe of the new layer.
fn write_forward(
    now: Instant,
    peer: &mut Peer,
    mid: Mid,
    layers: &Layers,
    incoming: &Incoming,
) -> Written {
    let Incoming {
        packet,
        params,
        layer,
        keyframe,
    } = *incoming;
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
    let target = forward.target_layer(layers);
    let rewriter = forward
        .rewriter
        .get_or_insert_with(|| Rewriter::new(spec.clock_rate.get()));
    let mut switched = false;
    if !rewriter.is_current(header.ssrc) {
        let chosen = layers.fallback(target, now);
        if chosen != Some(layer) {
            return Written::Skipped;
        }
        if forward.kind == MediaKind::Video && !keyframe {
            return Written::NeedsKeyframe;
        }
        rewriter.switch_to(header.ssrc, packet.seq_no, header.timestamp, now);
        switched = true;
    }
    let Some(numbering) = rewriter.rewrite(header.ssrc, packet.seq_no, header.timestamp, now)
    else {
        return Written::Skipped;
    };
    if switched {
        forward.layer = Some(layer);
    }

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
        // Forwarded media leaves as it arrives, because the publisher paced it already and
        // the bandwidth estimate caps the layer rather than the send rate. str0m still paces
        // its padding and probes. Its pacer would otherwise hold back the part of a keyframe
        // beyond 40 ms at 1.1 times the estimate.
        stream.set_unpaced(true);
        stream.write_rtp(write);
        Some(())
    });
    if written.flatten().is_none() {
        return Written::Skipped;
    }
    peer.forwarded = true;
    if switched {
        Written::Switched
    } else {
        Written::Sent
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
