//! The contest API called in process through the router, with session cookies and CSRF
//! tokens, for the API tests that share it. [`world`] creates the contest data they start
//! from, [`scenarios!`] runs each scenario on SQLite and on PostgreSQL, and [`multipart`]
//! builds form bodies.

#![allow(dead_code)]

pub mod multipart;
mod scenarios;
pub mod world;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{header, request, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use profstage_contest::{Actor, AuditFilter, Database, NewSession, Page};
use profstage_server::audit::AuditLog;
use profstage_server::config::{AuthConfig, Config, TokenSecret};
use profstage_server::contest_api::sign_in_limit::SignInLimiter;
use profstage_server::contest_api::submission_limit::SubmissionLimiter;
use profstage_server::http::router;
use profstage_server::media_loop::MediaHandle;
use profstage_server::notifier::CodeSender;
use profstage_server::phone_camera::PhoneCamera;
use profstage_server::state::AppState;
use profstage_server::token::TokenKeys;
use serde_json::{json, Value};
use tower::ServiceExt;

pub(crate) use scenarios::scenarios;

/// The token secret of the test servers.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

/// The largest reply body the tests read.
const REPLY_LIMIT: usize = 32 << 20;

/// Returns the wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    elapsed.as_millis() as i64
}

/// Returns the config of the test servers: development mode and the test token secret.
pub fn test_config() -> Config {
    Config {
        dev_mode: Some(true),
        auth: AuthConfig {
            token_secret: Some(TokenSecret::new(SECRET)),
            ..AuthConfig::default()
        },
        ..Config::default()
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            let text = String::from_utf8_lossy(&self.body);
            panic!("body is not JSON ({error}): {text}")
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Returns the value of header `name`, and panics when the reply has none.
    pub fn header(&self, name: header::HeaderName) -> String {
        let value = self.headers.get(&name);
        let value = value.unwrap_or_else(|| panic!("no {name} header"));
        value.to_str().unwrap().to_owned()
    }

    /// Returns the code of an error reply, and checks that the error carries a message.
    pub fn code(&self) -> String {
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"].as_str().unwrap_or_default().into()
    }

    /// Returns every invalid field with its message, as `field: message`.
    pub fn problems(&self) -> Vec<String> {
        let texts = self
            .field_errors()
            .into_iter()
            .map(|f| format!("{}: {}", f["field"], f["message"]));
        texts.collect()
    }

    /// Returns the `fields` array of an error reply, empty when it has none.
    pub fn field_errors(&self) -> Vec<Value> {
        let body = self.json();
        let fields = body["error"]["fields"].as_array().cloned();
        fields.unwrap_or_default()
    }

    /// Returns the names of the invalid fields of an error reply.
    pub fn fields(&self) -> Vec<String> {
        let fields = self.field_errors();
        let names = fields
            .iter()
            .map(|f| f["field"].as_str().unwrap_or_default());
        names.map(str::to_owned).collect()
    }
}

/// A signed-in session: its cookie value and CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl From<NewSession> for Session {
    fn from(session: NewSession) -> Self {
        Self {
            cookie: session.cookie_token,
            csrf: session.csrf_token,
        }
    }
}

/// Returns the session that a sign-in or invite reply sets: the cookie and the CSRF token
/// of its body.
pub fn session_of(reply: &Reply) -> Session {
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    let value = cookie
        .strip_prefix("profstage_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("session cookie");
    Session {
        cookie: value.to_owned(),
        csrf: reply.json()["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// A request body.
#[derive(Clone)]
pub enum Payload<'a> {
    Empty,
    Json(Value),
    /// Bytes with their content type.
    Raw(&'a str, &'a [u8]),
    /// A `multipart/form-data` body.
    Form(Vec<multipart::Part>),
}

impl From<Option<Value>> for Payload<'_> {
    fn from(body: Option<Value>) -> Self {
        match body {
            Some(value) => Payload::Json(value),
            None => Payload::Empty,
        }
    }
}

/// Where the rate limits of a test server start.
enum Limits {
    /// Empty, as on a fresh database.
    Empty,
    /// From the sign-in failures and submissions the database stores, as after a restart.
    Restored,
}

/// The server's router on a contest database, called without a network.
pub struct Api {
    pub state: Arc<AppState>,
    pub contest: Database,
    pub router: Router,
    pub url: String,
    /// The folder of the audit log of phone camera links.
    pub data: tempfile::TempDir,
    /// Whether a request that names no client comes from a new client address, so that
    /// the rate limit of submissions never builds up. Otherwise the request carries no
    /// client address at all.
    fresh_clients: bool,
    /// Counter behind [`Api::fresh_client`].
    next_client: AtomicU32,
}

impl Api {
    /// Serves the database at `url` with [`test_config`] and empty rate limits.
    pub async fn start(url: &str) -> Self {
        Self::with_config(url, test_config()).await
    }

    /// Serves the database at `url` with `config` and empty rate limits.
    pub async fn with_config(url: &str, config: Config) -> Self {
        Self::serve(url, config, Limits::Empty).await
    }

    /// Serves the same database as another server would with `config`, with rate limits
    /// of its own that start from the failures and submissions the database stores, as
    /// after a restart.
    pub async fn with_restored_limits(url: &str, config: Config) -> Self {
        Self::serve(url, config, Limits::Restored).await
    }

    async fn serve(url: &str, config: Config, limits: Limits) -> Self {
        let contest = Database::connect(url).await.expect("database opens");
        let contest = contest.with_lifetimes(config.auth.lifetimes());
        let (sign_in_limits, submission_limits) = match limits {
            Limits::Empty => Default::default(),
            Limits::Restored => (
                SignInLimiter::restore(&contest).await,
                SubmissionLimiter::restore(&contest).await,
            ),
        };
        let data = tempfile::tempdir().expect("temporary folder");
        let audit = AuditLog::new(data.path().join("audit.jsonl"));
        let state = Arc::new(AppState {
            phone_camera: PhoneCamera::new(audit),
            codes: CodeSender::from_config(&config).expect("mail setup"),
            config: Arc::new(config),
            tokens: TokenKeys::new(SECRET.as_bytes()),
            media: MediaHandle::detached(),
            recordings: None,
            briefings: None,
            contest: contest.clone(),
            sign_in_limits,
            submission_limits,
        });
        Self {
            router: router(Arc::clone(&state)),
            state,
            data,
            contest,
            url: url.to_owned(),
            fresh_clients: false,
            next_client: AtomicU32::new(1),
        }
    }

    /// Sends every request that names no client from a new client address.
    pub fn with_fresh_clients(mut self) -> Self {
        self.fresh_clients = true;
        self
    }

    /// Returns a client address that no request has come from yet.
    pub fn fresh_client(&self) -> SocketAddr {
        let n = self.next_client.fetch_add(1, Ordering::Relaxed);
        SocketAddr::from(([10, 0, (n >> 8) as u8, n as u8], 40_000))
    }

    /// Sends a request as it is and reads the reply.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), REPLY_LIMIT).await.unwrap();
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// Sends a request from the client address `client`.
    pub async fn send_from(&self, mut request: Request<Body>, client: SocketAddr) -> Reply {
        request.extensions_mut().insert(ConnectInfo(client));
        self.send(request).await
    }

    /// Starts a request with the session's cookie and CSRF header.
    fn request(&self, method: Method, path: &str, session: Option<&Session>) -> request::Builder {
        let builder = Request::builder().method(method).uri(path);
        let Some(session) = session else {
            return builder;
        };
        let cookie = format!("profstage_session={}", session.cookie);
        builder
            .header(header::COOKIE, cookie)
            .header("x-csrf-token", &session.csrf)
    }

    fn build<'a>(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        payload: impl Into<Payload<'a>>,
    ) -> Request<Body> {
        let mut builder = self.request(method, path, session);
        let body = match payload.into() {
            Payload::Empty => Body::empty(),
            Payload::Json(value) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            Payload::Raw(content_type, bytes) => {
                builder = builder.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes.to_vec())
            }
            Payload::Form(parts) => {
                builder = builder.header(header::CONTENT_TYPE, multipart::content_type());
                Body::from(multipart::body(&parts))
            }
        };
        builder.body(body).unwrap()
    }

    /// Sends a request with the session's cookie and CSRF header, and the payload.
    pub async fn call<'a>(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        payload: impl Into<Payload<'a>>,
    ) -> Reply {
        let request = self.build(method, path, session, payload);
        if self.fresh_clients {
            return self.send_from(request, self.fresh_client()).await;
        }
        self.send(request).await
    }

    /// Sends a request like [`Api::call`] from the client address `client`.
    pub async fn call_from<'a>(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        payload: impl Into<Payload<'a>>,
        client: SocketAddr,
    ) -> Reply {
        let request = self.build(method, path, session, payload);
        self.send_from(request, client).await
    }

    pub async fn get(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::GET, path, Some(session), Payload::Empty)
            .await
    }

    /// Posts with an empty body.
    pub async fn post(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::POST, path, Some(session), Payload::Empty)
            .await
    }

    pub async fn post_json(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.json(Method::POST, path, session, body).await
    }

    pub async fn json(&self, method: Method, path: &str, session: &Session, body: Value) -> Reply {
        self.call(method, path, Some(session), Payload::Json(body))
            .await
    }

    /// Posts raw bytes as JSON with the session's cookie and CSRF header.
    pub async fn post_raw(&self, path: &str, session: &Session, body: impl Into<Body>) -> Reply {
        let request = self
            .request(Method::POST, path, Some(session))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    /// Signs the organiser [`world::ORGANISER`] in over HTTP and checks that it succeeds.
    pub async fn sign_in(&self) -> (Session, Reply) {
        let login = json!({"login": world::ORGANISER, "password": world::PASSWORD});
        let reply = self
            .call(Method::POST, "/api/v1/session", None, Payload::Json(login))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        (session_of(&reply), reply)
    }

    /// Accepts the invite link `token` without a session.
    pub async fn accept(&self, token: &str) -> Reply {
        let body = Payload::Json(json!({"token": token}));
        self.call(Method::POST, "/api/v1/invites/accept", None, body)
            .await
    }

    /// Returns the action of every audit entry, newest first: every change and every read
    /// of personal data adds one.
    pub async fn audit_actions(&self) -> Vec<String> {
        let mut actions = Vec::new();
        let mut offset = 0;
        loop {
            let page = Page::new(Some(offset), Some(Page::MAX_LIMIT)).unwrap();
            let actor = Actor::command_line();
            let filter = AuditFilter::default();
            let log = self.contest.audit_log(&actor, &filter, page).await;
            let log = log.unwrap();
            actions.extend(log.items.iter().map(|entry| entry.action.clone()));
            match log.next_offset {
                Some(next) => offset = next,
                None => return actions,
            }
        }
    }

    /// Returns the number of audit entries.
    pub async fn audit_len(&self) -> usize {
        self.audit_actions().await.len()
    }
}
