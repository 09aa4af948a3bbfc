//! Handlers for sign-in and sign-out, invites, the signed-in person, and media tokens for
//! the rooms they are assigned to.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use profstage_contest::{
    Invite, InviteId, InviteLink, NewInvite, NewSession, OwnApplication, Person, PersonId, Role,
    Room, RoomId, RoomKind as ContestRoomKind,
};
use serde::{Deserialize, Serialize};

use super::extract::{
    domain_error, path_id, session_cookie_header, ApiBody, ClientAddress, SignedIn,
};
use super::sign_in_limit::SignInLimiter;
use crate::http::{too_many_requests, ApiError};
use crate::signalling::protocol::Role as MediaRole;
use crate::signalling::protocol::RoomKind;
use crate::state::AppState;
use crate::token::Claims;

/// Lifetime of a media token from `POST /api/v1/rooms/{id}/media-token`, in seconds: long
/// enough for a contest day. The token is checked when the browser joins the room.
const MEDIA_TOKEN_TTL_SECS: u64 = 12 * 60 * 60;

/// Login and password of an organiser.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignInRequest {
    /// The login given to `profstage create-organiser`, in any letter case.
    pub login: String,
    /// The password.
    pub password: String,
}

/// A secret from an invite link.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AcceptInviteRequest {
    /// The 64 hex digits after `#` in the link.
    pub token: String,
}

/// A new session. The session cookie comes in `Set-Cookie`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// The signed-in person.
    pub person_id: PersonId,
    /// Their role.
    pub role: Role,
    /// The value to send in the `X-CSRF-Token` header of every state-changing request.
    pub csrf_token: String,
    /// Session expiry, in Unix milliseconds.
    pub expires_at: i64,
}

/// The signed-in person and their session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    /// The person's record.
    pub person: Person,
    /// The session's CSRF token, for the `X-CSRF-Token` header.
    pub csrf_token: String,
    /// Session expiry, in Unix milliseconds.
    pub expires_at: i64,
}

/// A media token for one room.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaTokenResponse {
    /// The JWT to send in the signalling `join` message.
    pub token: String,
    /// The holder's identity in the room: their person id.
    pub identity: String,
    /// The room.
    pub room: RoomId,
    /// `contest` or `briefing`; the web client opens a briefing in `briefing.html`.
    #[schema(value_type = String, example = "briefing")]
    pub kind: RoomKind,
    /// Expiry, in Unix seconds.
    pub expires_at: u64,
}

/// Signs an organiser in with login and password.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = SignInRequest,
    responses((status = 200, body = SessionResponse, headers(("Set-Cookie" = String))),
              (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    ApiBody(request): ApiBody<SignInRequest>,
) -> Result<Response, ApiError> {
    let limits = &state.sign_in_limits;
    if let Err(wait) = limits.attempt(&request.login, address, Instant::now()) {
        // Neither the login nor the address is logged: both identify a person.
        tracing::warn!(
            retry_after_secs = wait.as_secs(),
            "rejected a sign-in: too many failures"
        );
        return Ok(too_many_sign_ins(wait));
    }
    let session = state
        .contest
        .sign_in(&request.login, &request.password)
        .await;
    let session = match session {
        Ok(session) => session,
        Err(error) => {
            SignInLimiter::store_failure(&state.contest, &request.login, address).await;
            return Err(domain_error(error));
        }
    };
    limits.succeeded(&request.login, address);
    SignInLimiter::store_success(&state.contest, &request.login).await;
    let (person, id) = (&session.info.person, &session.info.id);
    tracing::info!(%person, session = %id, "signed in with a password");
    Ok(session_response(&state, session))
}

/// Builds the 429 response of a rate-limited sign-in, with `Retry-After` in whole seconds.
fn too_many_sign_ins(wait: Duration) -> Response {
    too_many_requests("too_many_attempts", wait, |seconds| {
        format!(
            "too many failed sign-ins for this login or from this address; try again in {seconds} seconds"
        )
    })
}

/// Opens an invite link: signs its person in. A link works once.
#[utoipa::path(post, path = "/api/v1/invites/accept", tag = "accounts", request_body = AcceptInviteRequest,
    responses((status = 200, body = SessionResponse, headers(("Set-Cookie" = String))),
              (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn accept_invite(
    State(state): State<Arc<AppState>>,
    ApiBody(request): ApiBody<AcceptInviteRequest>,
) -> Result<Response, ApiError> {
    let session = state.contest.accept_invite(request.token.trim()).await;
    let session = session.map_err(domain_error)?;
    let (person, id) = (&session.info.person, &session.info.id);
    tracing::info!(%person, session = %id, "signed in with an invite");
    Ok(session_response(&state, session))
}

fn session_response(state: &AppState, session: NewSession) -> Response {
    let secure = cookie_is_secure(state);
    let max_age_secs = (session.info.expires_at - now_secs() as i64 * 1000) / 1000;
    let cookie = session_cookie_header(&session.cookie_token, max_age_secs, secure);
    let body = SessionResponse {
        person_id: session.info.person.clone(),
        role: session.info.role,
        csrf_token: session.csrf_token,
        expires_at: session.info.expires_at,
    };
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// Returns whether the session cookie gets `Secure`: always, unless development mode is on
/// and the server listens on a loopback address over plain HTTP.
fn cookie_is_secure(state: &AppState) -> bool {
    let config = &state.config;
    !(config.dev_mode() && config.http.listen.ip().is_loopback())
}

/// Ends the session and clears its cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Response, ApiError> {
    state
        .contest
        .sign_out(&session)
        .await
        .map_err(domain_error)?;
    tracing::info!(person = %session.person, session = %session.id, "signed out");
    let cookie = session_cookie_header("", 0, cookie_is_secure(&state));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Returns the signed-in person and the session's CSRF token.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = MeResponse), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn me(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<MeResponse>, ApiError> {
    let person = state
        .contest
        .person(&session.actor(), &session.person)
        .await;
    Ok(Json(MeResponse {
        person: person.map_err(domain_error)?,
        csrf_token: session.csrf_token().to_owned(),
        expires_at: session.expires_at,
    }))
}

/// Lists the rooms the signed-in person is assigned to.
#[utoipa::path(get, path = "/api/v1/me/rooms", tag = "accounts",
    responses((status = 200, body = Vec<Room>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn my_rooms(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<Vec<Room>>, ApiError> {
    let rooms = state.contest.my_rooms(&session.actor()).await;
    Ok(Json(rooms.map_err(domain_error)?))
}

/// Returns the application the signed-in person came from, or `null` for people added by
/// hand.
#[utoipa::path(get, path = "/api/v1/me/application", tag = "accounts",
    responses((status = 200, body = Option<OwnApplication>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn my_application(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<Option<OwnApplication>>, ApiError> {
    let application = state.contest.own_application(&session.actor()).await;
    Ok(Json(application.map_err(domain_error)?))
}

/// Issues a media token for a room the signed-in person is assigned to, or for a briefing
/// they may join; a briefing's token has the kind `briefing`.
#[utoipa::path(post, path = "/api/v1/rooms/{id}/media-token", tag = "accounts",
    params(("id" = String, Path, description = "Room id")),
    responses((status = 200, body = MediaTokenResponse), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn media_token(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<MediaTokenResponse>, ApiError> {
    let room: RoomId = path_id("id", &id)?;
    let access = state.contest.room_access(&session.actor(), &room).await;
    let access = access.map_err(domain_error)?;

    let now = now_secs();
    let expires_at = now + MEDIA_TOKEN_TTL_SECS;
    let claims = Claims {
        sub: access.person_id.to_string(),
        name: access.full_name,
        room: room.to_string(),
        role: media_role(access.role),
        kind: match access.kind {
            ContestRoomKind::Contest => RoomKind::Contest,
            ContestRoomKind::Briefing => RoomKind::Briefing,
        },
        iat: now,
        exp: expires_at,
    };
    let token = state.tokens.issue(&claims);
    tracing::info!(room = %room, identity = %claims.sub, role = ?claims.role, expires_at, "issued media token");
    Ok(Json(MediaTokenResponse {
        token,
        identity: claims.sub,
        room,
        kind: claims.kind,
        expires_at,
    }))
}

/// Maps a contest role to what it may do in a media room: participants publish, experts and
/// commission members watch, organisers and support staff publish and watch.
fn media_role(role: Role) -> MediaRole {
    match role {
        Role::Participant => MediaRole::Participant,
        Role::Expert | Role::CommissionMember => MediaRole::Expert,
        Role::Organiser | Role::Support => MediaRole::Organiser,
    }
}

/// Creates a one-time invite link for a person. The token is returned only here.
#[utoipa::path(post, path = "/api/v1/people/{id}/invites", tag = "accounts",
    params(("id" = String, Path, description = "Person id")), request_body = NewInvite,
    responses((status = 201, body = InviteLink), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_invite(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewInvite>,
) -> Result<(StatusCode, Json<InviteLink>), ApiError> {
    let person: PersonId = path_id("id", &id)?;
    let link = state
        .contest
        .create_invite(&session.actor(), &person, &new)
        .await;
    Ok((StatusCode::CREATED, Json(link.map_err(domain_error)?)))
}

/// Lists a person's invites, without their secrets.
#[utoipa::path(get, path = "/api/v1/people/{id}/invites", tag = "accounts",
    params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = Vec<Invite>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_invites(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Vec<Invite>>, ApiError> {
    let person: PersonId = path_id("id", &id)?;
    let invites = state.contest.invites(&session.actor(), &person).await;
    Ok(Json(invites.map_err(domain_error)?))
}

/// Revokes an invite that has not been opened.
#[utoipa::path(post, path = "/api/v1/invites/{id}/revoke", tag = "accounts",
    params(("id" = String, Path, description = "Invite id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn revoke_invite(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let invite: InviteId = path_id("id", &id)?;
    let revoked = state.contest.revoke_invite(&session.actor(), &invite).await;
    revoked.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
