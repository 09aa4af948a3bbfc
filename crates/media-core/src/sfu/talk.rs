//! Talk: an expert's or organiser's microphone and camera, published as
//! [`TrackSource::Talk`] and [`TrackSource::TalkVideo`], reach the one participant they talk
//! to and everyone who receives every track of the room. They reach nobody while their
//! publisher has no talk target.

use std::time::Instant;

use super::{ClientOptions, Receives, Sfu};
use crate::error::PublishError;
use crate::ids::{ClientId, TrackId, TrackSource};
use crate::sdp_check::sending_media;
use crate::MediaKind;

impl Sfu {
    /// Points the talk tracks of `talker` at `target`, or at nobody with `None`. Returns
    /// false, and changes nothing, when the talker is not known or may not talk, or when
    /// the target is not a client in the talker's room.
    ///
    /// Receivers that may no longer hear the talk stop getting it at once, with a new offer
    /// in which those m-lines are inactive; receivers that now may are offered it.
    pub fn set_talk_target(
        &mut self,
        now: Instant,
        talker: ClientId,
        target: Option<ClientId>,
    ) -> bool {
        let Some(entry) = self.clients.get(&talker) else {
            return false;
        };
        if !entry.options.may_talk {
            return false;
        }
        let room = &entry.options.room;
        if let Some(target) = target {
            let in_room = self
                .clients
                .get(&target)
                .is_some_and(|c| &c.options.room == room);
            if !in_room || target == talker {
                return false;
            }
        }
        if entry.talk_target == target {
            return true;
        }
        if let Some(entry) = self.clients.get_mut(&talker) {
            entry.talk_target = target;
        }
        tracing::debug!(client = %talker, target = ?target, "talk target changed");

        let mut tracks: Vec<TrackId> = self
            .tracks
            .values()
            .filter(|t| t.client == talker && t.source.is_talk())
            .map(|t| t.id)
            .collect();
        tracks.sort();
        self.unsubscribe_ineligible(&tracks);
        self.subscribe_newly_eligible(now, &tracks);
        self.process(now);
        true
    }

    /// Returns whom `talker` talks to, or `None` when nobody or when the client is not known.
    pub fn talk_target(&self, talker: ClientId) -> Option<ClientId> {
        self.clients.get(&talker).and_then(|c| c.talk_target)
    }

    /// Returns whether `receiver` may receive the talk tracks of `talker` now: the talker
    /// talks, and the receiver is the participant talked to or receives every track of the
    /// talker's room. The signalling layer announces a talk track to these clients only.
    pub fn hears_talk(&self, receiver: ClientId, talker: ClientId) -> bool {
        let Some(talker_entry) = self.clients.get(&talker) else {
            return false;
        };
        let Some(target) = talker_entry.talk_target else {
            return false;
        };
        let Some(receiver_entry) = self.clients.get(&receiver) else {
            return false;
        };
        if receiver == talker || receiver_entry.options.room != talker_entry.options.room {
            return false;
        }
        receiver == target || receiver_entry.options.receives == Receives::Everyone
    }
}

/// Returns the MID, kind and source of every sending m-line of `offer`, as the router
/// reads them: an m-line missing from `sources` is a camera (video) or a microphone (audio).
/// An offer that is not SDP has no m-lines.
pub fn offered_sources(
    offer: &str,
    sources: &[(String, TrackSource)],
) -> Vec<(String, MediaKind, TrackSource)> {
    let offered = sending_media(offer).into_iter().map(|(mid, kind)| {
        let kind = if kind == "audio" {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        let declared = sources.iter().find(|(m, _)| *m == mid).map(|(_, s)| *s);
        let source = declared.unwrap_or(match kind {
            MediaKind::Audio => TrackSource::Microphone,
            MediaKind::Video => TrackSource::Camera,
        });
        (mid, kind, source)
    });
    offered.collect()
}

/// Checks that every sending m-line of `offer` carries a source the client may publish, on
/// an m-line of the kind the source needs. An m-line missing from `sources` is a camera
/// (video) or a microphone (audio).
pub(super) fn check_sources(
    options: &ClientOptions,
    offer: &str,
    sources: &[(String, TrackSource)],
) -> Result<(), PublishError> {
    for (mid, kind, source) in offered_sources(offer, sources) {
        let reason = if source.is_talk() && !options.may_talk {
            Some("only experts and organisers may talk to a participant")
        } else if !source.is_talk() && !options.may_publish {
            Some("this role publishes only talk audio and video")
        } else {
            None
        };
        if source.required_kind().is_some_and(|k| k != kind) {
            return Err(PublishError::SourceKindMismatch {
                mid,
                kind,
                declared: source,
            });
        }
        if let Some(reason) = reason {
            return Err(PublishError::SourceNotAllowed {
                mid,
                declared: source,
                reason,
            });
        }
    }
    Ok(())
}
