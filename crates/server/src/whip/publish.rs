//! WHIP: an encoder publishes the token holder's workplace camera.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use media_core::{media_lines, MediaKind, PublishError};

use super::{created, member, offer_request, respond, stopping, WHIP_SESSIONS};
use crate::http::ApiError;
use crate::media_loop::{JoinRejected, OpenRejected};
use crate::signalling::protocol::Role;
use crate::state::AppState;

/// Handles `POST /api/v1/whip`: publishes the offer's video as the token holder's second
/// camera.
pub(super) async fn open(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(publish(&state, &headers, body).await)
}

async fn publish(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (claims, offer) = offer_request(state, headers, body).await?;
    if claims.role == Role::Expert {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Experts publish nothing but their voice while they talk; only participants and \
             organisers publish a workplace camera.",
        ));
    }
    let mid = video_mid(&offer)?;
    let result = state
        .media
        .open_whip(member(&claims), offer, mid)
        .await
        .map_err(stopping)?;
    let opened = result.map_err(rejection)?;
    tracing::info!(room = %claims.room, identity = %claims.sub, "WHIP session created");
    let location = format!("{WHIP_SESSIONS}/{}", opened.resource);
    Ok(created(opened.answer, location))
}

/// Returns the MID of the offer's only m-line, which must be a video m-line that sends.
/// The workplace camera is one video source: the person's microphone comes from their
/// browser, and a second audio track would have no source to be recorded as.
fn video_mid(offer: &str) -> Result<String, ApiError> {
    let lines = media_lines(offer);
    let audio = lines.iter().filter(|l| l.kind == MediaKind::Audio).count();
    let video = lines.iter().filter(|l| l.kind == MediaKind::Video).count();
    let line = match lines.as_slice() {
        [line] if line.kind == MediaKind::Video && line.sending => line,
        _ => {
            let message = format!(
                "A workplace camera sends exactly one video m-line with sendonly or sendrecv \
                 and no audio; this offer has {video} video and {audio} audio m-lines. \
                 Turn the encoder's audio off."
            );
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_offer",
                message,
            ));
        }
    };
    line.mid.clone().ok_or_else(super::invalid_sdp)
}

fn rejection(rejected: OpenRejected) -> ApiError {
    match rejected {
        OpenRejected::Join(JoinRejected::KindMismatch { .. }) => ApiError::new(
            StatusCode::CONFLICT,
            "room_kind_mismatch",
            "The room is in use as a briefing; a workplace camera publishes only in a contest room.",
        ),
        OpenRejected::SourceInUse => ApiError::new(
            StatusCode::CONFLICT,
            "source_in_use",
            "Your browser already shares a second camera in this room. Turn it off there, then \
             start the workplace camera again.",
        ),
        OpenRejected::Publish(error) => publish_error(error),
        other => {
            tracing::error!(error = %other, "unexpected rejection of a WHIP offer");
            ApiError::internal()
        }
    }
}

fn publish_error(error: PublishError) -> ApiError {
    match error {
        PublishError::InvalidSdp(detail) => {
            tracing::debug!(%detail, "WHIP offer rejected by str0m");
            super::invalid_sdp()
        }
        PublishError::NoMedia
        | PublishError::TooManyMedia { .. }
        | PublishError::TooManyLayers { .. } => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_sdp", error.to_string())
        }
        PublishError::UnsupportedCodec { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_codec",
            error.to_string(),
        ),
        PublishError::Forbidden(_)
        | PublishError::SourceNotAllowed { .. }
        | PublishError::SourceKindMismatch { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string())
        }
        PublishError::UnknownClient(_) | PublishError::Failed => {
            tracing::warn!(error = %error, "WHIP publish failed");
            ApiError::internal()
        }
    }
}
