//! The contest API called in process through the router, with session cookies and CSRF
//! tokens, for the API tests that share it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use profstage_contest::Database;
use profstage_server::config::{AuthConfig, Config, TokenSecret};
use profstage_server::http::router;
use profstage_server::media_loop::MediaHandle;
use profstage_server::notifier::CodeSender;
use profstage_server::state::AppState;
use profstage_server::token::TokenKeys;
use serde_json::Value;
use tower::ServiceExt;

/// The token secret of the test servers.
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

/// Returns the wall clock in Unix milliseconds.
pub fn now_ms() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    elapsed.as_millis() as i64
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

    pub fn code(&self) -> String {
        let body = self.json();
        body["error"]["code"].as_str().unwrap_or_default().into()
    }

    /// Returns every invalid field with its message, as `field: message`.
    pub fn problems(&self) -> Vec<String> {
        let body = self.json();
        let fields = body["error"]["fields"].as_array().cloned();
        let fields = fields.unwrap_or_default();
        let texts = fields
            .iter()
            .map(|f| format!("{}: {}", f["field"], f["message"]));
        texts.collect()
    }

    /// Returns the `fields` array of an error reply, empty when it has none.
    pub fn field_errors(&self) -> Vec<Value> {
        let body = self.json();
        let fields = body["error"]["fields"].as_array().cloned();
        fields.unwrap_or_default()
    }

    pub fn fields(&self) -> Vec<String> {
        let body = self.json();
        let fields = body["error"]["fields"].as_array().cloned();
        let fields = fields.unwrap_or_default();
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

/// A request body.
pub enum Payload<'a> {
    Empty,
    Json(Value),
    Raw(&'a str, &'a [u8]),
}

/// The server's router on a contest database, called without a network.
pub struct Api {
    pub router: Router,
    pub contest: Database,
}

impl Api {
    pub async fn start(url: &str) -> Self {
        let config = Config {
            dev_mode: Some(true),
            auth: AuthConfig {
                token_secret: Some(TokenSecret::new(SECRET)),
                ..AuthConfig::default()
            },
            ..Config::default()
        };
        let contest = Database::connect(url).await.expect("database opens");
        let state = Arc::new(AppState {
            codes: CodeSender::from_config(&config).expect("mail setup"),
            config: Arc::new(config),
            tokens: TokenKeys::new(SECRET.as_bytes()),
            media: MediaHandle::detached(),
            recordings: None,
            briefings: None,
            contest: contest.clone(),
            sign_in_limits: Default::default(),
            submission_limits: Default::default(),
        });
        Self {
            router: router(state),
            contest,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&Session>,
        payload: Payload<'_>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(session) = session {
            let cookie = format!("profstage_session={}", session.cookie);
            builder = builder
                .header(header::COOKIE, cookie)
                .header("x-csrf-token", &session.csrf);
        }
        let body = match payload {
            Payload::Empty => Body::empty(),
            Payload::Json(value) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            Payload::Raw(content_type, bytes) => {
                builder = builder.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes.to_vec())
            }
        };
        let request = builder.body(body).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 32 << 20).await.unwrap();
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::GET, path, Some(session), Payload::Empty)
            .await
    }

    pub async fn post(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::POST, path, Some(session), Payload::Empty)
            .await
    }

    pub async fn json(&self, method: Method, path: &str, session: &Session, body: Value) -> Reply {
        self.call(method, path, Some(session), Payload::Json(body))
            .await
    }
}
