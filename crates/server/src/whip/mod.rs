//! WHIP (RFC 9725) and WHEP over HTTP: a standard encoder publishes a person's workplace
//! camera, and a standard player watches one person, each with one `POST` of an SDP offer
//! and a `DELETE` of the session it created. Both take the access tokens of the signalling
//! socket as `Authorization: Bearer`. See `docs/whip.md`.

mod publish;
mod watch;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;
use str0m::change::SdpOffer;

use crate::http::{bearer_claims, ApiError};
use crate::media_loop::{EndRejected, MediaStopped, Member};
use crate::signalling::protocol::RoomKind;
use crate::state::AppState;
use crate::token::Claims;

/// The WHIP endpoint, where an encoder `POST`s its offer.
pub const WHIP_PATH: &str = "/api/v1/whip";
/// The prefix of WHIP session resources.
const WHIP_SESSIONS: &str = "/api/v1/whip/sessions";
/// The prefix of WHEP endpoints, followed by the identity to watch.
pub const WHEP_PATH: &str = "/api/v1/whep";
/// The prefix of WHEP session resources.
const WHEP_SESSIONS: &str = "/api/v1/whep/sessions";

/// Largest SDP offer accepted, in bytes. Offers of a few m-lines are 5 to 10 KiB.
const OFFER_LIMIT: usize = 64 * 1024;

/// The media type of SDP bodies.
const SDP: &str = "application/sdp";

/// Routes of the WHIP and WHEP endpoints and their session resources.
pub fn routes() -> Router<Arc<AppState>> {
    let session = delete(end_session).patch(patch_session);
    Router::new()
        .route(WHIP_PATH, post(publish::open))
        .route(&format!("{WHIP_SESSIONS}/{{resource}}"), session.clone())
        .route(&format!("{WHEP_PATH}/{{identity}}"), post(watch::open))
        .route(&format!("{WHEP_SESSIONS}/{{resource}}"), session)
        .layer(DefaultBodyLimit::max(OFFER_LIMIT))
}

/// Turns a handler's result into a response. A 401 gets `WWW-Authenticate: Bearer`, which
/// tells HTTP clients to send a bearer token.
fn respond(result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(response) => response,
        Err(error) => {
            let unauthorized = error.status() == StatusCode::UNAUTHORIZED;
            let mut response = error.into_response();
            if unauthorized {
                let challenge = HeaderValue::from_static("Bearer realm=\"profstage\"");
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        }
    }
}

/// Checks what every `POST` of an offer needs before it reaches the media loop: a valid
/// token for a contest room that exists, an SDP body and an offer that parses. Returns the
/// token's claims and the offer's text.
async fn offer_request(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Claims, String), ApiError> {
    let claims = bearer_claims(state, headers)?;
    check_content_type(headers)?;
    let body = body.map_err(|rejection| {
        let message = format!(
            "The offer could not be read: {}. Offers may have at most {} KiB.",
            rejection.body_text(),
            OFFER_LIMIT / 1024
        );
        ApiError::new(rejection.status(), "invalid_body", message)
    })?;
    if crate::signalling::room_title(state, &claims.room)
        .await
        .is_none()
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "The room named in the token does not exist. Ask the organiser for a new link.",
        ));
    }
    if claims.kind != RoomKind::Contest {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "WHIP and WHEP serve contest rooms only; briefings are joined from the browser.",
        ));
    }
    let offer = parse_offer(&body)?;
    Ok((claims, offer))
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if media_type.is_some_and(|t| t.eq_ignore_ascii_case(SDP)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Send the SDP offer as the body with Content-Type: application/sdp.",
    ))
}

/// Returns the offer's text once str0m's parser takes it. The parser's own message names
/// its internals, so it goes to the debug log only.
fn parse_offer(body: &Bytes) -> Result<String, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| invalid_sdp())?;
    if let Err(error) = SdpOffer::from_sdp_string(text) {
        tracing::debug!(%error, "SDP offer rejected");
        return Err(invalid_sdp());
    }
    Ok(text.to_owned())
}

fn invalid_sdp() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_sdp",
        "The body is not a valid SDP offer. Send the offer your WebRTC stack's createOffer() \
         produced, unchanged, with a=mid on every m-line.",
    )
}

/// Returns the member named by a token.
fn member(claims: &Claims) -> Member {
    Member {
        room: claims.room.clone(),
        identity: claims.sub.clone(),
        name: claims.name.clone(),
        role: claims.role,
        kind: claims.kind,
    }
}

/// Answers 201 Created with the SDP answer and the session's resource in `Location`.
fn created(answer: String, location: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, SDP.to_owned()),
        (header::LOCATION, location),
    ];
    (StatusCode::CREATED, headers, answer).into_response()
}

fn stopping(_: MediaStopped) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "stopping",
        "The server is shutting down. Try again once it is back.",
    )
}

/// `DELETE` of a WHIP or WHEP session: ends it. Only the person who created it may.
async fn end_session(
    State(state): State<Arc<AppState>>,
    Path(resource): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(end(&state, resource, &headers).await)
}

async fn end(
    state: &AppState,
    resource: String,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let claims = bearer_claims(state, headers)?;
    let result = state
        .media
        .end_session(resource, claims.room, claims.sub)
        .await
        .map_err(stopping)?;
    match result {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(EndRejected::NotFound) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such session; it has ended already or never existed.",
        )),
        Err(EndRejected::Forbidden) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The session belongs to someone else; only its creator's token may end it.",
        )),
    }
}

/// Rejects `PATCH` of a session, because the server supports neither trickle ICE nor ICE
/// restarts. The SDP answer already lists the server's only candidate, so a client needs
/// no trickle. A client whose network changed starts a new session.
async fn patch_session() -> Response {
    let error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This server supports neither trickle ICE nor ICE restarts. The answer lists its only \
         ICE candidate; to recover from a network change, DELETE the session and POST a new \
         offer.",
    );
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("DELETE"));
    response
}
