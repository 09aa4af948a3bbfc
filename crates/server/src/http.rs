//! HTTP routes: static web client, health, development token endpoints, WebSocket upgrade.
//!
//! Every `/api` error is JSON: `{"error": {"code": "...", "message": "..."}}`.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, any_service, get, post, MethodRouter};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;
use uuid::Uuid;

use crate::signalling;
use crate::signalling::protocol::{Role, RoomKind, PROTOCOL_VERSION};
use crate::state::AppState;
use crate::token::{is_display_text, Claims, MAX_NAME_CHARS};

/// Content-Security-Policy of every response: scripts, styles and fonts only from the
/// server's own files, no inline code, media from `blob:` and WebSocket connections. Pages
/// may be framed only by pages of this server, as the scoring page frames the live and
/// review pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
    connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'self'; form-action 'self'";

/// Largest body accepted by `POST /api/dev/token`, in bytes.
const DEV_TOKEN_BODY_LIMIT: usize = 16 * 1024;

/// Builds the application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let static_files = static_files(&state.config.web.root);
    let routes = Router::new()
        .merge(api_routes(state.config.dev_mode()))
        .route("/ws", get(signalling::upgrade))
        .route("/metrics", get(crate::recording_api::metrics))
        .fallback_service(static_files)
        .method_not_allowed_fallback(method_not_allowed);
    let tracing = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(
            DefaultOnResponse::new()
                .level(Level::DEBUG)
                .latency_unit(LatencyUnit::Millis),
        );
    with_security_headers(routes)
        .layer(tracing)
        .with_state(state)
}

fn api_routes(dev_mode: bool) -> Router<Arc<AppState>> {
    let mut api = Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/info", get(info))
        .merge(crate::recording_api::routes())
        .merge(crate::briefing::api::routes())
        .merge(crate::phone_camera::api::routes())
        .merge(crate::whip::routes())
        .merge(crate::contest_api::routes());
    if dev_mode {
        let token = post(dev_token).layer(DefaultBodyLimit::max(DEV_TOKEN_BODY_LIMIT));
        api = api
            .route("/api/dev/rooms", get(dev_rooms))
            .route("/api/dev/token", token);
    }
    api.route("/api/{*path}", any(api_not_found))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Serves the web client's directory, with `index.html` for `/` and for directories.
fn static_files(root: &Path) -> MethodRouter {
    any_service(ServeDir::new(root).append_index_html_on_directories(true)).layer(
        SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ),
    )
}

fn with_security_headers(routes: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    headers.into_iter().fold(
        routes,
        |routes, (name, value): (HeaderName, &'static str)| {
            routes.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        },
    )
}

/// Opens a debug-level span per request with its method and path, never the query string,
/// which may carry a token.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize)]
struct Info {
    dev_mode: bool,
    protocol: u32,
}

async fn info(State(state): State<Arc<AppState>>) -> Json<Info> {
    Json(Info {
        dev_mode: state.config.dev_mode(),
        protocol: PROTOCOL_VERSION,
    })
}

#[derive(Serialize)]
struct RoomSummary {
    id: String,
    title: String,
}

async fn dev_rooms(State(state): State<Arc<AppState>>) -> Json<Vec<RoomSummary>> {
    let rooms = state.config.rooms.iter().map(|room| RoomSummary {
        id: room.id.to_string(),
        title: room.title.clone(),
    });
    Json(rooms.collect())
}

#[derive(Deserialize)]
struct TokenRequest {
    room: String,
    name: String,
    role: String,
    /// `contest` (the default) or `briefing`.
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Serialize)]
struct TokenResponse {
    token: String,
    identity: String,
    expires_at: u64,
}

/// Issues a token to anyone. Routed only in development mode.
async fn dev_token(
    State(state): State<Arc<AppState>>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let name = validate_name(&request.name)?;
    let role = parse_role(&request.role)?;
    let kind = parse_kind(request.kind.as_deref())?;
    let room = state.config.room(&request.room).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "room not found; GET /api/dev/rooms lists the rooms",
        )
    })?;

    let now = unix_now()?;
    let expires_at = now.saturating_add(state.config.auth.dev_token_ttl_secs);
    let identity = new_identity();
    let claims = Claims {
        sub: identity.clone(),
        name: name.to_owned(),
        room: room.id.to_string(),
        role,
        kind,
        iat: now,
        exp: expires_at,
    };
    let token = state.tokens.issue(&claims);

    tracing::info!(room = %room.id, identity = %identity, ?role, ?kind, expires_at, "issued development token");
    Ok(Json(TokenResponse {
        token,
        identity,
        expires_at,
    }))
}

/// Returns the trimmed name, or an error unless it has 1 to 100 characters and no control or
/// invisible formatting characters.
fn validate_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_CHARS {
        return Err(ApiError::unprocessable(
            "invalid_name",
            format!("name must have 1 to {MAX_NAME_CHARS} characters after trimming spaces"),
        ));
    }
    if !is_display_text(name) {
        return Err(ApiError::unprocessable(
            "invalid_name",
            "name must not contain control or invisible formatting characters",
        ));
    }
    Ok(name)
}

fn parse_role(role: &str) -> Result<Role, ApiError> {
    serde_json::from_value(serde_json::Value::from(role)).map_err(|_| {
        ApiError::unprocessable(
            "invalid_role",
            "role must be participant, expert or organiser",
        )
    })
}

fn parse_kind(kind: Option<&str>) -> Result<RoomKind, ApiError> {
    let Some(kind) = kind else {
        return Ok(RoomKind::Contest);
    };
    serde_json::from_value(serde_json::Value::from(kind))
        .map_err(|_| ApiError::unprocessable("invalid_kind", "kind must be contest or briefing"))
}

/// Verifies the access token in the `Authorization: Bearer` header and returns its claims.
/// The scheme name is case-insensitive, as HTTP defines it.
pub fn bearer_claims(state: &AppState, headers: &HeaderMap) -> Result<Claims, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Send an access token in the Authorization header as Bearer <token>.",
            )
        })?;
    state.tokens.verify(token.trim()).map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The access token is invalid or has expired.",
        )
    })
}

/// Generates a fresh identity: `u-` and the first 12 hex digits (48 random bits) of a UUIDv4.
fn new_identity() -> String {
    let uuid = Uuid::new_v4().simple().to_string();
    format!("u-{}", &uuid[..12])
}

fn unix_now() -> Result<u64, ApiError> {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => Ok(elapsed.as_secs()),
        Err(error) => {
            tracing::error!(%error, "system clock is before the Unix epoch");
            Err(ApiError::internal())
        }
    }
}

async fn api_not_found(uri: Uri) -> ApiError {
    let message = if uri.path().starts_with("/api/dev/") {
        "not found; development endpoints are available only in development mode"
    } else {
        "not found"
    };
    ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed for this path",
    )
}

/// An `/api` error, sent as `{"error": {"code", "reason", "message", "fields"}}`.
/// `reason` names the specific cause, such as `stage_has_dependents` for a conflict.
/// `fields` lists the invalid input fields. Each of the two is left out when empty.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: Option<String>,
    message: String,
    fields: Vec<profstage_contest::FieldError>,
}

impl ApiError {
    /// Creates an error with this status, stable machine-readable code and message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: None,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds the stable code of the specific cause.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds the invalid fields.
    pub fn with_fields(mut self, fields: Vec<profstage_contest::FieldError>) -> Self {
        self.fields = fields;
        self
    }

    fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// Creates the error for a server failure. The caller logs the cause, which is not sent.
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fields: &'a [profstage_contest::FieldError],
}

/// Builds a 429 response with error `code`, `Retry-After` as `wait` rounded up to whole
/// seconds, and the message that `message` makes from those seconds.
pub fn too_many_requests(
    code: &'static str,
    wait: std::time::Duration,
    message: impl FnOnce(u64) -> String,
) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message(seconds));
    let retry_after = [(header::RETRY_AFTER, seconds.to_string())];
    (retry_after, error).into_response()
}

/// Lets a handler that returns a [`Response`] as its error use `?` on an [`ApiError`].
impl From<ApiError> for axum::response::Response {
    fn from(error: ApiError) -> Self {
        error.into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                reason: self.reason.as_deref(),
                message: &self.message,
                fields: &self.fields,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let (status, code) = match &rejection {
            JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            JsonRejection::JsonDataError(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            _ => (rejection.status(), "invalid_body"),
        };
        Self::new(status, code, rejection.body_text())
    }
}

/// `axum::Json` whose rejection is an [`ApiError`].
struct ApiJson<T>(T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_trimmed() {
        assert_eq!(validate_name("  Иванов И. И. ").unwrap(), "Иванов И. И.");
    }

    #[test]
    fn name_length_counts_characters() {
        let cyrillic = "Ж".repeat(MAX_NAME_CHARS);
        assert!(validate_name(&cyrillic).is_ok());
        assert!(validate_name(&format!("{cyrillic}Ж")).is_err());
    }

    #[test]
    fn name_rejects_blank_and_control_characters() {
        for name in ["", "   ", "a\u{0}b", "line\nbreak"] {
            assert!(validate_name(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn role_parses_protocol_names() {
        assert_eq!(parse_role("expert").unwrap(), Role::Expert);
        assert_eq!(parse_role("organiser").unwrap(), Role::Organiser);
        assert!(parse_role("admin").is_err());
        assert!(parse_role("Expert").is_err());
    }

    #[test]
    fn kind_defaults_to_contest() {
        assert_eq!(parse_kind(None).unwrap(), RoomKind::Contest);
        assert_eq!(parse_kind(Some("briefing")).unwrap(), RoomKind::Briefing);
        assert!(parse_kind(Some("Briefing")).is_err());
        assert!(parse_kind(Some("")).is_err());
    }

    #[test]
    fn identity_has_prefix_and_twelve_hex_digits() {
        let identity = new_identity();
        let digits = identity.strip_prefix("u-").unwrap();
        assert_eq!(digits.len(), 12, "{identity}");
        assert!(digits.chars().all(|c| c.is_ascii_hexdigit()), "{identity}");
        assert_ne!(new_identity(), identity);
    }
}
