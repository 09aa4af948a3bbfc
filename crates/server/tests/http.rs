//! HTTP routes: health, info, development endpoints, static files and the WebSocket path.

use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use profstage_server::audit::AuditLog;
use profstage_server::config::{AuthConfig, Config, TokenSecret, WebConfig};
use profstage_server::http::router;
use profstage_server::media_loop::MediaHandle;
use profstage_server::notifier::CodeSender;
use profstage_server::phone_camera::PhoneCamera;
use profstage_server::signalling::protocol::Role;
use profstage_server::state::AppState;
use profstage_server::token::TokenKeys;
use serde_json::{json, Value};
use tower::ServiceExt;

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

/// Largest response body read by the tests, in bytes.
const BODY_LIMIT: usize = 1 << 20;

async fn state_with(dev_mode: bool, web_root: PathBuf) -> Arc<AppState> {
    let config = Config {
        dev_mode: Some(dev_mode),
        auth: AuthConfig {
            token_secret: Some(TokenSecret::new(SECRET)),
            ..AuthConfig::default()
        },
        web: WebConfig { root: web_root },
        ..Config::default()
    };
    config.validate().expect("test configuration is valid");
    Arc::new(AppState {
        phone_camera: PhoneCamera::new(AuditLog::new(std::env::temp_dir().join("unused.jsonl"))),
        codes: CodeSender::from_config(&config).expect("mail setup"),
        config: Arc::new(config),
        tokens: TokenKeys::new(SECRET.as_bytes()),
        media: MediaHandle::detached(),
        recordings: None,
        briefings: None,
        contest: profstage_contest::Database::connect("sqlite::memory:")
            .await
            .expect("in-memory contest database opens"),
        sign_in_limits: Default::default(),
        submission_limits: Default::default(),
    })
}

async fn state(dev_mode: bool) -> Arc<AppState> {
    state_with(dev_mode, PathBuf::from("/nonexistent/web-client")).await
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            let text = String::from_utf8_lossy(&self.body);
            panic!("body is not JSON ({error}): {text}")
        })
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn error_code(&self) -> String {
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

async fn send(state: Arc<AppState>, request: Request<Body>) -> Reply {
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), BODY_LIMIT).await.unwrap();
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

async fn get(state: Arc<AppState>, uri: &str) -> Reply {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    send(state, request).await
}

async fn post_json(state: Arc<AppState>, uri: &str, body: impl Into<Body>) -> Reply {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    send(state, request).await
}

async fn request_token(state: Arc<AppState>, body: Value) -> Reply {
    post_json(state, "/api/dev/token", body.to_string()).await
}

#[tokio::test]
async fn health_reports_ok() {
    let reply = get(state(false).await, "/api/v1/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn info_reports_dev_mode_and_protocol() {
    for dev_mode in [true, false] {
        let reply = get(state(dev_mode).await, "/api/v1/info").await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), json!({"dev_mode": dev_mode, "protocol": 1}));
    }
}

#[tokio::test]
async fn api_responses_carry_security_headers() {
    let reply = get(state(true).await, "/api/v1/health").await;
    assert_eq!(reply.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(reply.header(header::REFERRER_POLICY), "no-referrer");
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let policy = reply.header(header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("media-src 'self' blob:"), "{policy}");
    assert!(policy.contains("connect-src 'self' ws: wss:"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
}

#[tokio::test]
async fn dev_rooms_lists_configured_rooms() {
    let reply = get(state(true).await, "/api/dev/rooms").await;
    assert_eq!(reply.status, StatusCode::OK);
    let expected = json!([{"id": "demo", "title": "Демонстрационная комната"}]);
    assert_eq!(reply.json(), expected);
}

#[tokio::test]
async fn dev_endpoints_absent_without_dev_mode() {
    let rooms = get(state(false).await, "/api/dev/rooms").await;
    assert_eq!(rooms.status, StatusCode::NOT_FOUND);
    assert_eq!(rooms.error_code(), "not_found");

    let body = json!({"room": "demo", "name": "Анна", "role": "expert"});
    let token = request_token(state(false).await, body).await;
    assert_eq!(token.status, StatusCode::NOT_FOUND);
    assert_eq!(token.error_code(), "not_found");
}

#[tokio::test]
async fn dev_token_is_verifiable() {
    let state = state(true).await;
    let body = json!({"room": "demo", "name": "  Иванов И. И. ", "role": "participant"});
    let reply = request_token(state.clone(), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");

    let body = reply.json();
    let token = body["token"].as_str().unwrap();
    let claims = state.tokens.verify(token).unwrap();
    assert_eq!(claims.sub, body["identity"].as_str().unwrap());
    assert_eq!(claims.name, "Иванов И. И.");
    assert_eq!(claims.room, "demo");
    assert_eq!(claims.role, Role::Participant);
    assert_eq!(claims.exp, body["expires_at"].as_u64().unwrap());
    let ttl = state.config.auth.dev_token_ttl_secs;
    assert_eq!(claims.exp - claims.iat, ttl);
    assert!(claims.sub.starts_with("u-"), "{}", claims.sub);
}

#[tokio::test]
async fn dev_token_identities_differ() {
    let body = json!({"room": "demo", "name": "Анна", "role": "expert"});
    let first = request_token(state(true).await, body.clone()).await.json();
    let second = request_token(state(true).await, body).await.json();
    assert_ne!(first["identity"], second["identity"]);
}

#[tokio::test]
async fn malformed_json_is_bad_request() {
    let reply = post_json(state(true).await, "/api/dev/token", "{\"room\": \"demo\",").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_json");
}

#[tokio::test]
async fn empty_body_is_bad_request() {
    let reply = post_json(state(true).await, "/api/dev/token", "").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_json");
}

#[tokio::test]
async fn missing_content_type_is_rejected() {
    let body = json!({"room": "demo", "name": "Анна", "role": "expert"}).to_string();
    let request = Request::post("/api/dev/token")
        .body(Body::from(body))
        .unwrap();
    let reply = send(state(true).await, request).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_code(), "unsupported_media_type");
}

#[tokio::test]
async fn missing_field_is_unprocessable() {
    let reply = request_token(state(true).await, json!({"room": "demo", "role": "expert"})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.error_code(), "invalid_body");
    let message = reply.json()["error"]["message"].to_string();
    assert!(message.contains("name"), "{message}");
}

#[tokio::test]
async fn unknown_room_is_not_found() {
    let body = json!({"room": "nowhere", "name": "Анна", "role": "expert"});
    let reply = request_token(state(true).await, body).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "unknown_room");
}

#[tokio::test]
async fn bad_role_is_unprocessable() {
    for role in ["admin", "Expert", ""] {
        let body = json!({"room": "demo", "name": "Анна", "role": role});
        let reply = request_token(state(true).await, body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{role:?}");
        assert_eq!(reply.error_code(), "invalid_role", "{role:?}");
    }
}

#[tokio::test]
async fn bad_name_is_unprocessable() {
    let long = "я".repeat(101);
    for name in ["", "   ", "tab\there", long.as_str()] {
        let body = json!({"room": "demo", "name": name, "role": "expert"});
        let reply = request_token(state(true).await, body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(reply.error_code(), "invalid_name", "{name:?}");
    }
}

#[tokio::test]
async fn oversized_body_is_rejected() {
    let name = "x".repeat(64 * 1024);
    let body = json!({"room": "demo", "name": name, "role": "expert"});
    let reply = request_token(state(true).await, body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_code(), "invalid_body");
}

#[tokio::test]
async fn wrong_method_gets_json_405() {
    let reply = get(state(true).await, "/api/dev/token").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_code(), "method_not_allowed");
}

#[tokio::test]
async fn unknown_api_path_gets_json_404() {
    let reply = get(state(true).await, "/api/v2/nothing").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

/// A web root in the temporary directory, removed on drop.
struct WebRoot(PathBuf);

impl WebRoot {
    fn new() -> Self {
        let name = format!("profstage-web-{}", uuid::Uuid::new_v4().simple());
        let root = std::env::temp_dir().join(name);
        std::fs::create_dir_all(root.join("js")).unwrap();
        std::fs::write(root.join("index.html"), "<!doctype html><title>t</title>").unwrap();
        std::fs::write(root.join("js/app.js"), "export const ready = true;\n").unwrap();
        Self(root)
    }
}

impl Drop for WebRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn root_serves_index_html() {
    let web = WebRoot::new();
    let reply = get(state_with(true, web.0.clone()).await, "/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, b"<!doctype html><title>t</title>");
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-cache");
    assert_eq!(reply.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(reply.header(header::CONTENT_TYPE).starts_with("text/html"));
}

#[tokio::test]
async fn static_file_is_served() {
    let web = WebRoot::new();
    let reply = get(state_with(false, web.0.clone()).await, "/js/app.js").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, b"export const ready = true;\n");
    assert!(reply.header(header::CONTENT_TYPE).contains("javascript"));
}

#[tokio::test]
async fn static_traversal_is_not_served() {
    let web = WebRoot::new();
    let reply = get(state_with(true, web.0.join("js")).await, "/../index.html").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn missing_static_file_is_404() {
    let web = WebRoot::new();
    let reply = get(state_with(true, web.0.clone()).await, "/missing.css").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn ws_path_upgrades_on_real_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, router(state(true).await)).into_future());

    let url = format!("ws://{addr}/ws");
    let (_socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    server.abort();
}

#[tokio::test]
async fn plain_get_on_ws_path_is_rejected() {
    let request = Request::builder()
        .method(Method::GET)
        .uri("/ws")
        .body(Body::empty())
        .unwrap();
    let reply = send(state(true).await, request).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
}
