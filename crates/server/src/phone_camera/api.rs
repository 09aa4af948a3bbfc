//! Routes of phone camera links:
//!
//! - `POST /api/v1/rooms/{room}/phone-links`: a participant's page requests a one-time
//!   link and its QR code, with the participant's access token;
//! - `POST /api/v1/phone-links/redeem`: the phone exchanges the link's secret for a phone
//!   camera token.
//!
//! Issuing and redeeming are audited before the response is sent.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::links::{LinkOwner, RedeemError, TooManyLinks};
use super::qr;
use crate::audit::{now_ms, AuditEntry, AuditError};
use crate::contest_api::extract::ApiBody;
use crate::http::{bearer_claims, too_many_requests, ApiError};
use crate::signalling::protocol::{Role, RoomKind};
use crate::state::AppState;
use crate::token::{Claims, PhoneClaims, PhoneScope};

/// Lifetime of a phone camera token, in seconds: long enough for a contest day. The token
/// is checked only when the phone joins; a phone that loses its session scans a new link.
const PHONE_TOKEN_TTL_SECS: u64 = 12 * 60 * 60;

/// Largest body of either route, in bytes.
const BODY_LIMIT: usize = 4 * 1024;

/// Longest `page_url`, in bytes, so that the link fits in a QR code a phone reads easily.
const MAX_PAGE_URL_BYTES: usize = 512;

/// Routes of phone camera links.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/rooms/{room}/phone-links", post(issue))
        .route("/api/v1/phone-links/redeem", post(redeem))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    /// The phone page's address without fragment, such as `https://host/phone.html`.
    page_url: String,
}

#[derive(Serialize)]
struct IssuedLink {
    /// `page_url` with the secret in the fragment: `#link=<64 hex digits>`.
    link: String,
    /// The link drawn as a QR code, an SVG document.
    qr_svg: String,
    /// Expiry, in milliseconds since the Unix epoch on the server's clock.
    expires_at_ms: u64,
    /// Time until expiry, in milliseconds, for clients whose clock differs.
    expires_in_ms: u64,
}

/// Issues a one-time link that lets a phone publish the caller's second camera. Only a
/// participant of a contest room may request one, for their own room.
async fn issue(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    ApiBody(request): ApiBody<IssueRequest>,
) -> Result<(StatusCode, Json<IssuedLink>), Response> {
    let claims = bearer_claims(&state, &headers)?;
    let allowed = claims.role == Role::Participant && claims.kind == RoomKind::Contest;
    if !allowed || claims.room != room {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only a participant of this contest room may link a phone camera to it.",
        )
        .into());
    }
    check_page_url(&request.page_url)?;
    if !room_exists(&state, &room).await? {
        return Err(unknown_room().into());
    }
    let now = now_ms();
    let links = &state.phone_camera.links;
    links
        .check_issue(&owner(&claims), now)
        .map_err(|error| too_many_links(&claims, error))?;
    let entry = AuditEntry {
        participant: Some(claims.sub.clone()),
        ..AuditEntry::by(&claims, "phone_link.issue")
    };
    state
        .phone_camera
        .audit
        .record(entry)
        .map_err(audit_failed)?;
    let issued = links
        .issue(owner(&claims), now)
        .map_err(|error| too_many_links(&claims, error))?;
    let link = format!("{}#link={}", request.page_url, issued.secret);
    // The longest link has 512 + 6 + 64 bytes, far below the 2,331 a QR code holds, so this
    // fails only on a broken invariant, which leaves a stored link whose secret nobody has.
    let qr_svg = qr::svg(&link).map_err(|error| {
        tracing::error!(%error, "drawing a phone link's QR code failed");
        ApiError::internal()
    })?;
    tracing::info!(room = %claims.room, identity = %claims.sub, expires_at_ms = issued.expires_at_ms, "issued phone camera link");
    let body = IssuedLink {
        link,
        qr_svg,
        expires_at_ms: issued.expires_at_ms,
        expires_in_ms: issued.expires_at_ms.saturating_sub(now),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    /// The 64 hex digits after `#link=`.
    secret: String,
}

#[derive(Serialize)]
struct PhoneToken {
    /// The phone camera token, for `join`.
    token: String,
    /// Room identifier.
    room: String,
    /// The participant whose second camera the phone is.
    identity: String,
    /// The participant's display name.
    name: String,
    /// Expiry of the token, in seconds since the Unix epoch.
    expires_at: u64,
}

/// Exchanges a link's secret for a phone camera token. Each link works once.
async fn redeem(
    State(state): State<Arc<AppState>>,
    ApiBody(request): ApiBody<RedeemRequest>,
) -> Result<Json<PhoneToken>, ApiError> {
    let now = now_ms();
    let accept = |owner: &LinkOwner| {
        let entry = AuditEntry {
            at_unix_ms: 0,
            actor: owner.identity.clone(),
            role: Role::Participant.as_str().to_owned(),
            session: "phone".to_owned(),
            action: "phone_link.redeem".to_owned(),
            recording: None,
            room: owner.room.clone(),
            participant: Some(owner.identity.clone()),
            detail: None,
        };
        state
            .phone_camera
            .audit
            .record(entry)
            .map(|()| owner.clone())
    };
    let redeemed = state
        .phone_camera
        .links
        .redeem(&request.secret, now, accept);
    let owner = redeemed.map_err(redeem_failed)?.map_err(audit_failed)?;

    let issued_at = now / 1000;
    let claims = PhoneClaims {
        sub: owner.identity,
        name: owner.name,
        room: owner.room,
        scope: PhoneScope::Camera2,
        iat: issued_at,
        exp: issued_at + PHONE_TOKEN_TTL_SECS,
    };
    let token = state.tokens.issue_phone(&claims);
    tracing::info!(room = %claims.room, identity = %claims.sub, expires_at = claims.exp, "redeemed phone camera link");
    Ok(Json(PhoneToken {
        token,
        room: claims.room,
        identity: claims.sub,
        name: claims.name,
        expires_at: claims.exp,
    }))
}

/// Builds the 429 response of a participant who requested too many links, with
/// `Retry-After` in whole seconds.
fn too_many_links(claims: &Claims, error: TooManyLinks) -> Response {
    let wait = error.retry_after;
    tracing::info!(room = %claims.room, identity = %claims.sub, retry_after_ms = wait.as_millis() as u64, "phone camera link rejected: too many requests");
    too_many_requests("too_many_links", wait, |seconds| {
        format!("too many phone links requested in the last minute; try again in {seconds} seconds")
    })
}

fn owner(claims: &Claims) -> LinkOwner {
    LinkOwner {
        room: claims.room.clone(),
        identity: claims.sub.clone(),
        name: claims.name.clone(),
    }
}

/// Accepts an absolute `http` or `https` address without fragment, white space or control
/// characters, of at most [`MAX_PAGE_URL_BYTES`].
fn check_page_url(url: &str) -> Result<(), ApiError> {
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let characters_ok =
        !url.contains('#') && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if scheme_ok && characters_ok && url.len() <= MAX_PAGE_URL_BYTES {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_page_url",
        format!(
            "page_url must be an http:// or https:// address of at most {MAX_PAGE_URL_BYTES} bytes, without a fragment or spaces"
        ),
    ))
}

/// Returns whether the room is configured or is a contest room.
async fn room_exists(state: &AppState, room: &str) -> Result<bool, ApiError> {
    if state.config.room(room).is_some() {
        return Ok(true);
    }
    match state.contest.room_title(room).await {
        Ok(title) => Ok(title.is_some()),
        Err(error) => {
            tracing::error!(%error, room, "failed to look up a contest room");
            Err(ApiError::internal())
        }
    }
}

fn unknown_room() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_room",
        "The room does not exist.",
    )
}

fn audit_failed(error: AuditError) -> ApiError {
    tracing::error!(%error, "audit log unavailable, phone link request rejected");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_unavailable",
        "The audit log cannot be written, so the request is rejected. Try again later.",
    )
}

fn redeem_failed(error: RedeemError) -> ApiError {
    let (status, code, message) = match error {
        RedeemError::NotFound => (
            StatusCode::NOT_FOUND,
            "link_not_found",
            "This phone camera link is not valid. Scan the QR code on the participant's page again.",
        ),
        RedeemError::Expired => (
            StatusCode::GONE,
            "link_expired",
            "This phone camera link has expired. Scan the new QR code on the participant's page.",
        ),
        RedeemError::Used => (
            StatusCode::GONE,
            "link_used",
            "This phone camera link was already used. Scan the new QR code on the participant's page.",
        ),
        RedeemError::Replaced => (
            StatusCode::GONE,
            "link_replaced",
            "A newer phone camera link replaced this one. Scan the QR code on the participant's page.",
        ),
    };
    ApiError::new(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_url_must_be_http_without_fragment() {
        for good in [
            "http://127.0.0.1:8080/phone.html",
            "https://stage.example/phone.html",
        ] {
            assert!(check_page_url(good).is_ok(), "{good}");
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_PAGE_URL_BYTES));
        let bad = [
            "",
            "javascript:alert(1)",
            "ftp://a.example/phone.html",
            "https://a.example/phone.html#link=1",
            "https://a.example/ phone.html",
            "https://a.example/\nphone.html",
            &long,
        ];
        for url in bad {
            assert!(check_page_url(url).is_err(), "{url:?}");
        }
    }
}
