//! Request extractors of the contest API. They read the signed-in session and check its CSRF
//! token, and parse JSON bodies, query strings and path ids. Every rejection is an
//! [`ApiError`].

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::Extensions;
use axum::http::StatusCode;
use profstage_contest::{Error, FieldError, SessionInfo};
use serde::de::DeserializeOwned;

use crate::client_address::client_address;
use crate::http::ApiError;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "profstage_session";
/// Header that carries the session's CSRF token on every state-changing request.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session of a request. Rejects requests without a live session (401), and
/// state-changing requests (not GET, HEAD, OPTIONS or TRACE) whose CSRF header does not
/// match the session's token (403).
pub struct SignedIn(pub SessionInfo);

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in first: POST /api/v1/session or open an invite link",
            )
        };
        let token = session_cookie(&parts.headers).ok_or_else(unauthenticated)?;
        let session = state
            .contest
            .session(token)
            .await
            .map_err(domain_error)?
            .ok_or_else(unauthenticated)?;

        if !parts.method.is_safe() {
            let given = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !given.is_some_and(|token| session.csrf_matches(token)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_failed",
                    "missing or wrong X-CSRF-Token header; GET /api/v1/me returns the token",
                ));
            }
        }
        Ok(Self(session))
    }
}

/// The client's address: the TCP peer, or the address that trusted proxies in
/// `http.trusted_proxies` name in `X-Forwarded-For` ([`client_address`]). `None` when the
/// server was not started with connection info, as in tests that call the router directly.
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// Finds the client's address of a request's parts.
    pub fn of(extensions: &Extensions, headers: &HeaderMap, state: &AppState) -> Self {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>();
        let trusted = &state.config.http.trusted_proxies;
        Self(peer.map(|ConnectInfo(peer)| client_address(peer.ip(), headers, trusted)))
    }
}

impl FromRequestParts<Arc<AppState>> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions, &parts.headers, state))
    }
}

/// Returns the value of the session cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    let prefix = format!("{SESSION_COOKIE}=");
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(prefix.as_str()))
        .filter(|token| !token.is_empty())
}

/// Builds the `Set-Cookie` value of a session: HttpOnly, SameSite=Strict, and Secure unless
/// `secure` is false (development mode on a loopback address, served over plain HTTP).
pub fn session_cookie_header(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&value).expect("the cookie token is hex and the rest is ASCII")
}

/// A JSON request body. Rejects a missing or wrong content type (415), a body over the
/// route's limit (413), malformed JSON (400) and values of the wrong type or unknown fields
/// (422, naming the field).
pub struct ApiBody<T>(pub T);

impl<S, T> FromRequest<S> for ApiBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(Self)
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is larger than {} bytes", super::BODY_LIMIT),
        );
    }
    ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
}

/// Parses a JSON object. Anything else, such as an array that serde would map onto the
/// struct's fields in order, is rejected.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("malformed JSON: {error}"),
        )
    })?;
    if !value.is_object() {
        return Err(invalid_body("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        invalid_body(&field, &error.inner().to_string())
    })
}

fn invalid_body(field: &str, message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "the body does not match the expected fields and types",
    )
    .with_fields(vec![FieldError::new(field, serde_code(message), message)])
}

/// Returns the field error code of a serde message: a missing field, an unknown field or
/// a value of the wrong type or form.
fn serde_code(message: &str) -> &'static str {
    if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_value"
    }
}

/// A query string. Rejects missing, duplicated and mistyped parameters with 400, naming
/// the parameter in `fields`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection: QueryRejection| invalid_query(&rejection.body_text()))?;
        Ok(Self(value))
    }
}

/// Turns axum's rejection text, such as "Failed to deserialize query string: missing field
/// `room`", into the API's error shape with the parameter named.
fn invalid_query(text: &str) -> ApiError {
    let problem = text.split_once(": ").map_or(text, |(_, problem)| problem);
    let field = problem
        .split('`')
        .nth(1)
        .filter(|name| !name.is_empty())
        .unwrap_or("query");
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "the query string does not match the expected parameters",
    )
    .with_fields(vec![FieldError::new(field, serde_code(problem), problem)])
}

/// Parses an id from the path, or rejects it with 422 naming the parameter.
pub fn path_id<T: FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        domain_error(Error::invalid(
            name,
            "invalid_id",
            "must be a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8",
        ))
    })
}

/// Turns a domain error into the API's error: user mistakes get a 4xx, database failures a
/// 500 and one log line with the cause.
pub fn domain_error(error: Error) -> ApiError {
    match error {
        Error::Invalid(fields) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            "invalid input; see fields",
        )
        .with_fields(fields),
        Error::NotFound(kind) => {
            let reason = format!("{}_not_found", kind.replace(' ', "_"));
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{kind} not found"))
                .with_reason(reason)
        }
        Error::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role does not allow this, or the record is not yours",
        ),
        Error::Conflict { code, message } => {
            ApiError::new(StatusCode::CONFLICT, "conflict", message).with_reason(code)
        }
        Error::WrongCredentials => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_credentials",
            "wrong login or password",
        ),
        Error::InvalidInvite => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_invite",
            "the invite link is unknown, expired, revoked or already used; ask the organiser for a new one",
        ),
        Error::TimeUp { deadline } => ApiError::new(
            StatusCode::CONFLICT,
            "time_up",
            format!(
                "the time limit of this task ended at {deadline} (Unix ms on the server clock); \
                 answers and uploads are no longer accepted"
            ),
        ),
        Error::Database(error) => {
            tracing::error!(%error, "contest database failed");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_static("a=1; profstage_session=abc; b=2");
        headers.insert(header::COOKIE, value);
        assert_eq!(session_cookie(&headers), Some("abc"));
    }

    #[test]
    fn empty_cookie_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("profstage_session="),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn cookie_is_secure_outside_development() {
        let secure = session_cookie_header("ab", 60, true);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
        let plain = session_cookie_header("ab", 60, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
        assert!(plain
            .to_str()
            .unwrap()
            .contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Params {
            format: Option<String>,
        }
        let uri: axum::http::Uri = "/x?format=csv&format=json".parse().unwrap();
        let rejection = Query::<Params>::try_from_uri(&uri).unwrap_err();
        let error = invalid_query(&rejection.body_text());
        let debug = format!("{error:?}");
        assert!(debug.contains("field: \"format\""), "{debug}");
        assert!(debug.contains("duplicate field"), "{debug}");
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            name: String,
        }
        let error = parse_json::<Body>(br#"{"name": 5}"#).unwrap_err();
        assert!(
            format!("{error:?}").contains("field: \"name\""),
            "{error:?}"
        );
        let error = parse_json::<Body>(b"{").unwrap_err();
        assert!(format!("{error:?}").contains("invalid_json"), "{error:?}");
        let error = parse_json::<Body>(br#"{"name": "a"} x"#).unwrap_err();
        assert!(format!("{error:?}").contains("invalid_json"), "{error:?}");
    }
}
