//! WHEP: a player receives the current tracks of one person in the token's room.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use media_core::WatchError;

use super::{created, member, offer_request, respond, stopping, WHEP_SESSIONS};
use crate::audit::{AuditEntry, AuditLog};
use crate::http::ApiError;
use crate::media_loop::{OpenRejected, Opened, MAX_VIEWERS_PER_PERSON};
use crate::state::AppState;
use crate::token::Claims;

/// The audit action of a WHEP session.
const WATCH_ACTION: &str = "live.watch";

/// Handles `POST /api/v1/whep/{identity}`: sends the tracks of `identity` to the offer's
/// m-lines.
pub(super) async fn open(
    State(state): State<Arc<AppState>>,
    Path(identity): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(watch(&state, identity, &headers, body).await)
}

async fn watch(
    state: &AppState,
    target: String,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (claims, offer) = offer_request(state, headers, body).await?;
    let Some(audit) = audit_log(state) else {
        tracing::error!("no audit log is configured, WHEP request rejected");
        return Err(audit_unavailable());
    };
    let result = state
        .media
        .open_whep(member(&claims), target.clone(), offer)
        .await
        .map_err(stopping)?;
    let opened = result.map_err(rejection)?;
    if let Err(error) = audit.record(entry(&claims, &target, &opened)) {
        tracing::error!(room = %claims.room, %error, "audit log unavailable, WHEP session ended");
        let ended = state
            .media
            .end_session(opened.resource, claims.room, claims.sub)
            .await;
        if let Ok(Err(rejected)) = ended {
            tracing::error!(%rejected, "ending the unaudited WHEP session failed");
        }
        return Err(audit_unavailable());
    }
    let location = format!("{WHEP_SESSIONS}/{}", opened.resource);
    Ok(created(opened.answer, location))
}

/// Returns the audit log that recording views and briefing reads are written to.
fn audit_log(state: &AppState) -> Option<&AuditLog> {
    let recordings = state.recordings.as_ref().map(|r| &r.audit);
    recordings.or(state.briefings.as_ref().map(|b| &b.audit))
}

/// Describes the session for the audit log: who watches whom, and which tracks.
fn entry(claims: &Claims, target: &str, opened: &Opened) -> AuditEntry {
    let sources: Vec<String> = opened
        .tracks
        .iter()
        .filter_map(|track| serde_json::to_value(track.source).ok())
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    AuditEntry {
        participant: Some(target.to_owned()),
        detail: Some(format!(
            "WHEP session {}: {}",
            opened.resource,
            sources.join(", ")
        )),
        ..AuditEntry::by(claims, WATCH_ACTION)
    }
}

fn audit_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_unavailable",
        "The audit log cannot be written, so the request is rejected. Try again later.",
    )
}

fn rejection(rejected: OpenRejected) -> ApiError {
    match rejected {
        OpenRejected::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Participants may watch only organisers; experts and organisers watch anyone in \
             their room.",
        ),
        OpenRejected::UnknownPeer => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_peer",
            "Nobody with this identity is in the room now.",
        ),
        OpenRejected::NotPublishing => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_publishing",
            "This person publishes nothing now. Try again once their camera is on.",
        ),
        OpenRejected::TooManySessions => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_sessions",
            format!(
                "You have {MAX_VIEWERS_PER_PERSON} WHEP sessions open already. DELETE one \
                 you no longer use, then try again."
            ),
        ),
        OpenRejected::Watch(WatchError::InvalidSdp(detail)) => {
            tracing::debug!(%detail, "WHEP offer rejected by str0m");
            super::invalid_sdp()
        }
        OpenRejected::Watch(WatchError::NoMedia) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_media",
            "The offer has no audio or video m-line with recvonly or sendrecv and a=mid; \
             add recvonly transceivers before creating it.",
        ),
        other => {
            tracing::warn!(error = %other, "WHEP session failed");
            ApiError::internal()
        }
    }
}
