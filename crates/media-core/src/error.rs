//! Errors of the operations a signalling layer calls.

use crate::ids::{ClientId, TrackSource};

/// Errors of [`crate::Sfu::publish`]. Nothing changed when one is returned, except for
/// [`PublishError::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The client is not known (it left or was never added).
    #[error("client {0} is not connected")]
    UnknownClient(ClientId),
    /// The client may not publish.
    #[error("client {0} may not publish")]
    Forbidden(ClientId),
    /// The text is not a valid SDP offer.
    #[error("invalid SDP offer: {0}")]
    InvalidSdp(String),
    /// An m-line declares a source that the client may not publish.
    #[error("m-line {mid} may not carry source {declared:?}: {reason}")]
    SourceNotAllowed {
        /// The m-line.
        mid: String,
        /// The declared source, or the default one for an undeclared m-line.
        declared: TrackSource,
        /// Why, for people.
        reason: &'static str,
    },
    /// An m-line declares a source that needs the other kind of m-line: talk on video or a
    /// second camera on audio.
    #[error("m-line {mid} is {kind:?} and cannot carry source {declared:?}")]
    SourceKindMismatch {
        /// The m-line.
        mid: String,
        /// The m-line's kind.
        kind: crate::MediaKind,
        /// The declared source.
        declared: TrackSource,
    },
    /// The offer has no audio or video m-line.
    #[error("the SDP offer has no audio or video")]
    NoMedia,
    /// The offer has more m-lines than a publisher may send.
    #[error("the SDP offer has {count} m-lines; at most {max} are allowed")]
    TooManyMedia {
        /// M-lines in the offer.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An m-line declares more simulcast layers than the router takes.
    #[error("m-line {mid} declares {count} simulcast layers; at most {max} are allowed")]
    TooManyLayers {
        /// The m-line.
        mid: String,
        /// Layers (`a=rid` lines) declared.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An m-line offers only codecs that are not forwarded.
    #[error("m-line {mid} offers no supported codec (supported: {supported})")]
    UnsupportedCodec {
        /// The m-line.
        mid: String,
        /// Codec names that would be accepted.
        supported: &'static str,
    },
    /// The peer connection failed while applying the offer and was closed.
    #[error("the publishing connection failed and was closed")]
    Failed,
}

/// Errors of [`crate::Sfu::subscribe_answer`].
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The client is not known.
    #[error("client {0} is not connected")]
    UnknownClient(ClientId),
    /// No offer is waiting for an answer.
    #[error("no offer is waiting for an answer")]
    NoPendingOffer,
    /// The text is not a valid SDP answer, or does not match the offer.
    #[error("invalid SDP answer: {0}")]
    InvalidSdp(String),
    /// The peer connection failed while applying the answer and was closed.
    #[error("the receiving connection failed and was closed")]
    Failed,
}

/// Errors of [`crate::Sfu::watch`]. Nothing changed when one is returned, except for
/// [`WatchError::Failed`].
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The client is not known.
    #[error("client {0} is not connected")]
    UnknownClient(ClientId),
    /// The client already has a receiving connection.
    #[error("client {0} already receives on another connection")]
    AlreadyReceiving(ClientId),
    /// The text is not a valid SDP offer, or str0m could not apply it.
    #[error("invalid SDP offer: {0}")]
    InvalidSdp(String),
    /// The offer has no audio or video m-line on which the viewer receives.
    #[error("the SDP offer has no audio or video m-line that receives")]
    NoMedia,
    /// The peer connection failed while applying the offer and was closed.
    #[error("the receiving connection failed and was closed")]
    Failed,
}
