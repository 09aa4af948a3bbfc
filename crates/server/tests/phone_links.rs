//! Phone camera links: a participant issues a one-time link, a phone redeems it once for a
//! phone camera token, and expired, reused, replaced, foreign and malformed requests are
//! rejected without changing anything.

mod api;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use profstage_server::audit::AuditLog;
use profstage_server::signalling::protocol::{Role, RoomKind};
use profstage_server::token::{Claims, PhoneScope};
use serde_json::{json, Value};

use api::{scenarios, Api, Reply};

const PAGE_URL: &str = "http://127.0.0.1:8080/phone.html";

async fn world(url: String) -> Api {
    Api::start(&url).await
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Returns an access token of `identity` in `room`.
fn token(w: &Api, identity: &str, room: &str, role: Role, kind: RoomKind) -> String {
    w.state.tokens.issue(&Claims {
        sub: identity.to_owned(),
        name: "Иванова Мария".to_owned(),
        room: room.to_owned(),
        role,
        kind,
        iat: now_secs(),
        exp: now_secs() + 600,
    })
}

fn participant(w: &Api) -> String {
    token(w, "u-phone1", "demo", Role::Participant, RoomKind::Contest)
}

async fn post(w: &Api, path: &str, bearer: Option<&str>, body: Value) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    w.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn issue(w: &Api, room: &str, token: &str) -> Reply {
    let path = format!("/api/v1/rooms/{room}/phone-links");
    post(w, &path, Some(token), json!({"page_url": PAGE_URL})).await
}

async fn redeem(w: &Api, secret: &str) -> Reply {
    post(
        w,
        "/api/v1/phone-links/redeem",
        None,
        json!({"secret": secret}),
    )
    .await
}

/// Returns the secret in the fragment of an issued link.
fn secret_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let link = reply.json()["link"].as_str().unwrap().to_owned();
    let (page, secret) = link.split_once("#link=").expect("secret in the fragment");
    assert_eq!(page, PAGE_URL);
    secret.to_owned()
}

fn audit_actions(w: &Api) -> Vec<String> {
    let log = AuditLog::new(w.data.path().join("audit.jsonl"));
    log.read_all().into_iter().map(|e| e.action).collect()
}

async fn link_works_once(w: Api) {
    let issued = issue(&w, "demo", &participant(&w)).await;
    let secret = secret_of(&issued);
    let body = issued.json();
    assert_eq!(secret.len(), 64, "{secret}");
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(body["expires_in_ms"], 600_000);

    let redeemed = redeem(&w, &secret).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
    let reply = redeemed.json();
    assert_eq!(reply["identity"], "u-phone1");
    assert_eq!(reply["room"], "demo");
    let claims = w
        .state
        .tokens
        .verify_phone(reply["token"].as_str().unwrap())
        .expect("a phone camera token");
    assert_eq!(claims.sub, "u-phone1");
    assert_eq!(claims.room, "demo");
    assert_eq!(claims.scope, PhoneScope::Camera2);
    let as_access_token = w.state.tokens.verify(reply["token"].as_str().unwrap());
    assert!(as_access_token.is_err(), "a phone token is no access token");

    let again = redeem(&w, &secret).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(again.code(), "link_used");
    assert_eq!(audit_actions(&w), ["phone_link.issue", "phone_link.redeem"]);
}

async fn expired_link_is_rejected(w: Api) {
    w.state.phone_camera.links.set_ttl(Duration::ZERO);
    let secret = secret_of(&issue(&w, "demo", &participant(&w)).await);
    let late = redeem(&w, &secret).await;
    assert_eq!(late.status, StatusCode::GONE);
    assert_eq!(late.code(), "link_expired");
    assert_eq!(audit_actions(&w), ["phone_link.issue"]);
}

async fn newer_link_replaces_older(w: Api) {
    let token = participant(&w);
    let older = secret_of(&issue(&w, "demo", &token).await);
    let newer = secret_of(&issue(&w, "demo", &token).await);
    let replaced = redeem(&w, &older).await;
    assert_eq!(replaced.status, StatusCode::GONE);
    assert_eq!(replaced.code(), "link_replaced");
    assert_eq!(redeem(&w, &newer).await.status, StatusCode::OK);
}

async fn wrong_room_is_forbidden(w: Api) {
    let reply = issue(&w, "other", &participant(&w)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.code(), "forbidden");
    assert!(audit_actions(&w).is_empty());
}

async fn only_contest_participants_issue(w: Api) {
    let expert = token(&w, "u-exp1", "demo", Role::Expert, RoomKind::Contest);
    let organiser = token(&w, "u-org1", "demo", Role::Organiser, RoomKind::Contest);
    let briefing = token(
        &w,
        "u-phone1",
        "demo",
        Role::Participant,
        RoomKind::Briefing,
    );
    for bearer in [expert, organiser, briefing] {
        let reply = issue(&w, "demo", &bearer).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    }

    let path = "/api/v1/rooms/demo/phone-links";
    let anonymous = post(&w, path, None, json!({"page_url": PAGE_URL})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // A phone camera token cannot ask for further links.
    let secret = secret_of(&issue(&w, "demo", &participant(&w)).await);
    let phone = redeem(&w, &secret).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let escalated = issue(&w, "demo", &phone).await;
    assert_eq!(escalated.status, StatusCode::UNAUTHORIZED);
}

async fn unknown_room_is_not_found(w: Api) {
    let bearer = token(
        &w,
        "u-phone1",
        "nowhere",
        Role::Participant,
        RoomKind::Contest,
    );
    let reply = issue(&w, "nowhere", &bearer).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.code(), "unknown_room");
    assert!(audit_actions(&w).is_empty());
}

async fn bad_input_changes_nothing(w: Api) {
    let token = participant(&w);
    let path = "/api/v1/rooms/demo/phone-links";
    let page_urls = [
        "javascript:alert(1)",
        "http://127.0.0.1:8080/phone.html#link=00",
        "http://127.0.0.1:8080/phone .html",
    ];
    for page_url in page_urls {
        let reply = post(&w, path, Some(&token), json!({"page_url": page_url})).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{page_url}");
        assert_eq!(reply.code(), "invalid_page_url", "{page_url}");
    }
    let missing = post(&w, path, Some(&token), json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let extra = post(
        &w,
        path,
        Some(&token),
        json!({"page_url": PAGE_URL, "room": "x"}),
    )
    .await;
    assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY);

    for secret in ["", "abc", &"0".repeat(64), &"z".repeat(64)] {
        let reply = redeem(&w, secret).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{secret:?}");
        assert_eq!(reply.code(), "link_not_found", "{secret:?}");
    }
    let wrong_type = post(&w, "/api/v1/phone-links/redeem", None, json!({"secret": 1})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(audit_actions(&w).is_empty());
}

async fn issuing_is_rate_limited(w: Api) {
    let token = participant(&w);
    let mut last = String::new();
    for _ in 0..5 {
        last = secret_of(&issue(&w, "demo", &token).await);
    }
    let rejected = issue(&w, "demo", &token).await;
    assert_eq!(
        rejected.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        rejected.text()
    );
    assert_eq!(rejected.code(), "too_many_links");
    let retry_after: u64 = rejected.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    // The rejected request added no audit line and left the last link working.
    assert_eq!(audit_actions(&w), vec!["phone_link.issue"; 5]);
    let redeemed = redeem(&w, &last).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
}

scenarios!(
    link_works_once,
    issuing_is_rate_limited,
    expired_link_is_rejected,
    newer_link_replaces_older,
    wrong_room_is_forbidden,
    only_contest_participants_issue,
    unknown_room_is_not_found,
    bad_input_changes_nothing,
);
