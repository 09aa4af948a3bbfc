//! Applications over HTTP, on SQLite and on PostgreSQL: the public form, multipart
//! submission with attachments, the status link, the organisers' list, downloads, status
//! changes and exports, every endpoint for every role, bad input and the rate limit.

mod api;
mod log_capture;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use profstage_contest::testing::sqlite_url;
use serde_json::{json, Value};

use api::multipart::{self, text, Part, BOUNDARY};
use api::world::{self, Who};
use api::{scenarios, Api, Payload, Reply, Session};
use log_capture::Captured;

const CONSENT: &str = "2027-01";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
const HTML: &[u8] = b"<!doctype html><script>alert(1)</script>";
const MIB: usize = 1 << 20;

/// Returns an attachment of an application form.
fn file(name: &str, declared_type: &str, content: &[u8]) -> Part {
    Part {
        name: "attachments".into(),
        file_name: Some(name.into()),
        content_type: Some(declared_type.into()),
        content: content.to_vec(),
    }
}

/// A stage with one nomination, a consent text, an organiser and one signed-in person of
/// every other role.
struct World {
    api: Api,
    organiser: Session,
    others: Vec<(Who, Session)>,
    stage: String,
    nomination: String,
}

impl World {
    fn session(&self, who: Who) -> Option<&Session> {
        match who {
            Who::Anonymous => None,
            Who::Organiser => Some(&self.organiser),
            _ => self.others.iter().find(|(w, _)| *w == who).map(|(_, s)| s),
        }
    }

    /// Returns the parts of a valid application with one PDF attachment.
    fn form(&self, full_name: &str, email: &str) -> Vec<Part> {
        vec![
            text("nomination_id", &self.nomination),
            text("full_name", full_name),
            text("birth_date", "1990-05-17"),
            text("employer", "ООО «Сварка»"),
            text("position", "Сварщик 5 разряда"),
            text("experience_years", "12"),
            text("email", email),
            text("phone", "+7 (900) 123-45-67"),
            text("consent_version", CONSENT),
            text("consent", "true"),
            file("диплом.pdf", "application/pdf", PDF),
        ]
    }

    /// Submits a valid application and returns its id and status token.
    async fn apply(&self, full_name: &str, email: &str) -> (String, String) {
        let reply = self.submit(self.form(full_name, email)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let body = reply.json();
        let id = body["id"].as_str().unwrap().to_owned();
        (id, body["status_token"].as_str().unwrap().to_owned())
    }

    async fn transition(&self, id: &str, action: &str) -> Reply {
        let path = format!("/api/v1/applications/{id}/transition");
        let body = json!({"action": action});
        self.api.post_json(&path, &self.organiser, body).await
    }

    /// Submits an application form without a session.
    async fn submit(&self, parts: Vec<Part>) -> Reply {
        let form = Payload::Form(parts);
        self.api
            .call(Method::POST, "/api/v1/applications", None, form)
            .await
    }

    /// Looks an application up by its status token.
    async fn status(&self, token: &str) -> Reply {
        let body = Payload::Json(json!({"token": token}));
        self.api
            .call(Method::POST, "/api/v1/application-status", None, body)
            .await
    }

    /// Rows of the applications and attachments tables, read past the API.
    async fn stored_rows(&self) -> (i64, i64) {
        let pool = sqlx::AnyPool::connect(&self.api.url).await.unwrap();
        let count = |table: &str| {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let pool = pool.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
                n
            }
        };
        let rows = (
            count("applications").await,
            count("application_attachments").await,
        );
        pool.close().await;
        rows
    }
}

async fn world(url: String) -> World {
    let api = Api::start(&url).await.with_fresh_clients();
    let db = &api.contest;
    let (actor, organiser) = world::organiser(db).await;
    let (stage, nomination) = world::nomination(db, &actor).await;

    let mut others = Vec::new();
    for (who, role) in Who::PEOPLE {
        let new = world::person(role, &stage);
        let person = db.create_person(&actor, &new).await.unwrap();
        others.push((who, world::invited(db, &actor, &person.id).await));
    }
    let world = World {
        api,
        organiser,
        others,
        stage: stage.id.to_string(),
        nomination: nomination.id.to_string(),
    };
    let consent =
        json!({"version": CONSENT, "body": "Я согласен на обработку моих персональных данных."});
    let reply = world
        .api
        .post_json("/api/v1/consent-texts", &world.organiser, consent)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    world
}

async fn every_endpoint_checks_role(w: World) {
    let (stage, nomination) = (&w.stage, &w.nomination);
    let (first, token) = w.apply("Первый Заявитель", "first@example.org").await;
    let detail = w
        .api
        .get(&format!("/api/v1/applications/{first}"), &w.organiser)
        .await;
    let attachment = detail.json()["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let organiser = &[Who::Organiser][..];
    let form = Payload::Form(w.form("Второй Заявитель", "second@example.org"));
    let consent = json!({"version": "2027-02", "body": "Новая редакция согласия."});
    let consent = Payload::Json(consent);

    // Anyone may submit, signed in or not; the session plays no part.
    for who in Who::EVERYONE {
        let reply = w
            .api
            .call(
                Method::POST,
                "/api/v1/applications",
                w.session(*who),
                form.clone(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{who:?}: {}",
            reply.text()
        );
    }

    // Method, path, body, roles allowed. Within each row the rejected roles go first, so a
    // rejected request meets the same state as the allowed one.
    let table: Vec<(Method, String, Payload, &[Who])> = vec![
        (
            Method::GET,
            format!("/api/v1/application-form?stage={stage}&nomination={nomination}"),
            Payload::Empty,
            Who::EVERYONE,
        ),
        (
            Method::POST,
            "/api/v1/application-status".into(),
            Payload::Json(json!({"token": token})),
            Who::EVERYONE,
        ),
        (
            Method::GET,
            "/api/v1/applications".into(),
            Payload::Empty,
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/applications/{first}"),
            Payload::Empty,
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/attachments/{attachment}"),
            Payload::Empty,
            organiser,
        ),
        (
            Method::POST,
            format!("/api/v1/applications/{first}/transition"),
            Payload::Json(json!({"action": "register"})),
            organiser,
        ),
        (
            Method::POST,
            "/api/v1/applications/transition".into(),
            Payload::Json(json!({"ids": [first], "action": "start_review"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/stages/{stage}/participants/csv"),
            Payload::Empty,
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/stages/{stage}/participants/html"),
            Payload::Empty,
            organiser,
        ),
        (
            Method::GET,
            "/api/v1/consent-texts/current".into(),
            Payload::Empty,
            organiser,
        ),
        (
            Method::POST,
            "/api/v1/consent-texts".into(),
            consent,
            organiser,
        ),
    ];

    for (method, path, payload, allowed) in &table {
        let mut order: Vec<Who> = Who::EVERYONE
            .iter()
            .copied()
            .filter(|w| !allowed.contains(w))
            .collect();
        order.extend(allowed.iter());
        for who in order {
            let before = w.api.audit_len().await;
            let reply = w
                .api
                .call(method.clone(), path, w.session(who), payload.clone())
                .await;
            let what = format!("{who:?} {method} {path}: {}", reply.text());
            if allowed.contains(&who) {
                assert!(reply.status.is_success(), "{}: {what}", reply.status);
                continue;
            }
            let expected = if who == Who::Anonymous {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(reply.status, expected, "{what}");
            assert!(!reply.code().is_empty(), "{what}");
            let after = w.api.audit_len().await;
            assert_eq!(after, before, "a rejected request changed state: {what}");
        }
    }
}

/// Reads the consent text in force as the organiser.
async fn consent_in_force(w: &World) -> Reply {
    w.api
        .get("/api/v1/consent-texts/current", &w.organiser)
        .await
}

async fn newest_consent_text_is_in_force(w: World) {
    let first = consent_in_force(&w).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["version"], CONSENT);
    assert!(first["body"].as_str().unwrap().contains("согласен"));
    assert!(first["created_at"].as_i64().unwrap() > 0);

    let next = json!({"version": "2027-02", "body": "Новая редакция согласия."});
    let reply = w
        .api
        .post_json("/api/v1/consent-texts", &w.organiser, next)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let audit_before = w.api.audit_len().await;
    let second = consent_in_force(&w).await.json();
    assert_eq!(second["version"], "2027-02");
    assert_eq!(second["body"], "Новая редакция согласия.");
    assert_eq!(second, reply.json(), "the reply to the publication");
    assert_eq!(
        w.api.audit_len().await,
        audit_before,
        "a read of a public text"
    );

    let path = format!(
        "/api/v1/application-form?stage={}&nomination={}",
        w.stage, w.nomination
    );
    let form = w.api.call(Method::GET, &path, None, Payload::Empty).await;
    assert_eq!(
        form.json()["consent"],
        second,
        "the form shows the same text"
    );
}

#[tokio::test]
async fn no_consent_text_before_first() {
    let folder = tempfile::tempdir().unwrap();
    let api = Api::start(&sqlite_url(folder.path())).await;
    let (_, organiser) = world::organiser(&api.contest).await;
    let reply = api.get("/api/v1/consent-texts/current", &organiser).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    assert_eq!(reply.code(), "not_found");
    assert_eq!(reply.json()["error"]["reason"], "consent_text_not_found");
}

async fn application_goes_from_form_to_participant(w: World) {
    let path = format!(
        "/api/v1/application-form?stage={}&nomination={}",
        w.stage, w.nomination
    );
    let form = w.api.call(Method::GET, &path, None, Payload::Empty).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    let form = form.json();
    assert_eq!(form["profession"], "Сварщик");
    assert_eq!(form["region"], "Тверская область");
    assert_eq!(form["contest_name"], "Лучший по профессии 2027");
    assert_eq!(form["starts_at"], 1_800_000_000_000_i64);
    assert_eq!(form["consent"]["version"], CONSENT);
    assert!(form["consent"]["body"]
        .as_str()
        .unwrap()
        .contains("согласен"));

    let mut parts = w.form("Семёнов Пётр Ильич", "petr@example.org");
    parts.push(file("photo.png", "image/png", PNG));
    let reply = w.submit(parts).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let receipt = reply.json();
    let id = receipt["id"].as_str().unwrap().to_owned();
    let token = receipt["status_token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let status_url = format!("/application-status.html#{token}");
    assert_eq!(receipt["status_url"], status_url.as_str());

    let status = w.status(&token).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.text());
    let status = status.json();
    let mut keys: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    let expected = [
        "number",
        "rejection_reason",
        "status",
        "submitted_at",
        "updated_at",
    ];
    assert_eq!(keys, expected, "the status link shows nothing personal");
    assert_eq!(status["status"], "submitted");
    assert!(status["submitted_at"].as_i64().unwrap() > 0);

    let filters = [
        format!("stage_id={}", w.stage),
        format!("nomination_id={}", w.nomination),
        "status=submitted".to_owned(),
        "name=%D1%81%D0%B5%D0%BC%D0%B5%D0%BD%D0%BE%D0%B2".to_owned(), // "семенов"
    ];
    for filter in &filters {
        let list = w
            .api
            .get(&format!("/api/v1/applications?{filter}"), &w.organiser)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{filter}: {}", list.text());
        let items = list.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{filter}");
        assert_eq!(items[0]["id"], id.as_str(), "{filter}");
    }
    let none = w
        .api
        .get("/api/v1/applications?status=accepted", &w.organiser)
        .await;
    assert_eq!(none.json()["items"].as_array().unwrap().len(), 0);

    let detail = w
        .api
        .get(&format!("/api/v1/applications/{id}"), &w.organiser)
        .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.text());
    let detail = detail.json();
    assert_eq!(detail["application"]["full_name"], "Семёнов Пётр Ильич");
    assert_eq!(detail["application"]["consent_version"], CONSENT);
    let attachments = detail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["kind"], "pdf");
    assert_eq!(attachments[1]["kind"], "png");
    assert_eq!(attachments[1]["size"], PNG.len());
    assert!(attachments[0].get("content").is_none());

    let attachment = attachments[1]["id"].as_str().unwrap();
    let reads_before = w.api.audit_actions().await;
    let download = w
        .api
        .get(&format!("/api/v1/attachments/{attachment}"), &w.organiser)
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, PNG);
    assert_eq!(download.header(header::CONTENT_TYPE), "image/png");
    let disposition = download.header(header::CONTENT_DISPOSITION);
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.ends_with(".png\""), "{disposition}");
    assert_eq!(download.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let reads_after = w.api.audit_actions().await;
    assert_eq!(reads_after.len(), reads_before.len() + 1);
    assert_eq!(reads_after[0], "attachment.read", "newest entry first");

    let register = w.transition(&id, "register").await;
    assert_eq!(register.status, StatusCode::OK, "{}", register.text());
    assert_eq!(register.json()["number"], "ЛПП-2027-0001");
    let early = w.transition(&id, "accept").await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.text().contains("registered"), "{}", early.text());
    let review = w.transition(&id, "start_review").await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.text());
    let accept = w.transition(&id, "accept").await;
    assert_eq!(accept.status, StatusCode::OK, "{}", accept.text());
    let person = accept.json()["person_id"].as_str().unwrap().to_owned();
    let participant = w
        .api
        .get(&format!("/api/v1/people/{person}"), &w.organiser)
        .await
        .json();
    assert_eq!(participant["role"], "participant");
    assert_eq!(participant["full_name"], "Семёнов Пётр Ильич");

    let status = w.status(&token).await.json();
    assert_eq!(status["status"], "accepted");
    assert_eq!(status["number"], "ЛПП-2027-0001");

    let csv = w
        .api
        .get(
            &format!("/api/v1/stages/{}/participants/csv", w.stage),
            &w.organiser,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    assert!(csv
        .header(header::CONTENT_DISPOSITION)
        .starts_with("attachment;"));
    assert!(
        csv.body.starts_with("\u{FEFF}".as_bytes()),
        "UTF-8 byte order mark"
    );
    assert!(csv
        .text()
        .contains("\r\nЛПП-2027-0001;Семёнов Пётр Ильич;1990-05-17;"));

    let html = w
        .api
        .get(
            &format!("/api/v1/stages/{}/participants/html", w.stage),
            &w.organiser,
        )
        .await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(
        html.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let policy = html.header(header::CONTENT_SECURITY_POLICY);
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let page = html.text();
    assert!(page.contains("<td>Семёнов Пётр Ильич</td>"), "{page}");
    assert!(
        page.contains("Лучший по профессии 2027 — Тверская область"),
        "{page}"
    );
    let actions = w.api.audit_actions().await;
    let exports = actions
        .iter()
        .filter(|a| *a == "application.export")
        .count();
    assert_eq!(exports, 2, "each export is audited");
}

async fn participant_sees_own_application(w: World) {
    let (id, _) = w.apply("Семёнов Пётр Ильич", "petr@example.org").await;
    for action in ["register", "start_review", "accept"] {
        let reply = w.transition(&id, action).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text());
    }
    let application = w
        .api
        .get(&format!("/api/v1/applications/{id}"), &w.organiser)
        .await
        .json();
    let person = application["application"]["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/people/{person}/invites");
    let link = w.api.post_json(&path, &w.organiser, json!({})).await.json();
    let token = link["token"].as_str().unwrap();
    let db = &w.api.state.contest;
    let signed_in = db.accept_invite(token).await.unwrap();
    let participant = Session {
        cookie: signed_in.cookie_token,
        csrf: signed_in.csrf_token,
    };

    let before = w.api.audit_actions().await.len();
    let own = w.api.get("/api/v1/me/application", &participant).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text());
    let own = own.json();
    assert_eq!(own["id"], id.as_str());
    assert_eq!(own["number"], "ЛПП-2027-0001");
    assert_eq!(own["status"], "accepted");
    assert_eq!(own["profession"], "Сварщик");
    assert_eq!(own["region"], "Тверская область");
    assert_eq!(own["contest_name"], "Лучший по профессии 2027");
    assert_eq!(own["stage_id"], w.stage.as_str());
    assert!(own.get("email").is_none(), "no personal data: {own}");
    let actions = w.api.audit_actions().await;
    assert_eq!(actions.len(), before + 1);
    assert_eq!(actions[0], "application.read_own");

    // People added by hand, and organisers, have no application.
    let added = w.session(Who::Participant).unwrap();
    let none = w.api.get("/api/v1/me/application", added).await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json(), Value::Null);
    let organiser = w.api.get("/api/v1/me/application", &w.organiser).await;
    assert_eq!(organiser.json(), Value::Null);
    let anonymous = w
        .api
        .call(Method::GET, "/api/v1/me/application", None, Payload::Empty)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn rejection_and_bulk_changes(w: World) {
    let (a, token) = w.apply("Анна Андреева", "anna@example.org").await;
    let (b, _) = w.apply("Борис Борисов", "boris@example.org").await;
    let bulk = "/api/v1/applications/transition";

    let register = json!({"ids": [a, b], "action": "register"});
    let reply = w.api.post_json(bulk, &w.organiser, register.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let items = reply.json()["items"].as_array().unwrap().clone();
    assert_eq!(items[0]["number"], "ЛПП-2027-0001");
    assert_eq!(items[1]["number"], "ЛПП-2027-0002");

    let review_a = json!({"ids": [a], "action": "start_review"});
    let reply = w.api.post_json(bulk, &w.organiser, review_a).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // b is still registered, so rejecting both fails and changes neither.
    let before = w.api.audit_len().await;
    let reject_both = json!({"ids": [a, b], "action": "reject", "reason": "Нет диплома"});
    let reply = w.api.post_json(bulk, &w.organiser, reject_both).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    assert_eq!(w.api.audit_len().await, before, "nothing changed");
    let status = w.status(&token).await.json();
    assert_eq!(status["status"], "under_review");
    let before = w.api.audit_len().await;

    let single = format!("/api/v1/applications/{a}/transition");
    let cases = [
        (json!({"action": "reject"}), "reason"),
        (json!({"action": "reject", "reason": "   "}), "reason"),
        (json!({"action": "accept", "reason": "лишнее"}), "reason"),
        (json!({"action": "approve"}), "action"),
        (json!({}), "body"),
        (
            json!({"action": "reject", "reason": "x", "extra": 1}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let reply = w.api.post_json(&single, &w.organiser, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields = reply.fields();
        assert!(
            fields.iter().any(|f| f.starts_with(field)) || field == "body",
            "{body}: {fields:?}"
        );
    }
    let bad_ids = [
        (json!({"ids": [], "action": "register"}), "ids"),
        (
            json!({"ids": [a, "not-a-uuid"], "action": "register"}),
            "ids[1]",
        ),
    ];
    for (body, field) in bad_ids {
        let reply = w.api.post_json(bulk, &w.organiser, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(reply.fields(), [field], "{body}");
    }
    let missing = "00000000-0000-4000-8000-000000000000";
    let reply = w.transition(missing, "register").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        w.api.audit_len().await,
        before,
        "bad requests changed nothing"
    );

    let reason = "Стаж меньше трёх лет <b>";
    let reject = json!({"action": "reject", "reason": reason});
    let reply = w.api.post_json(&single, &w.organiser, reject).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let status = w.status(&token).await.json();
    assert_eq!(status["status"], "rejected");
    assert_eq!(status["rejection_reason"], reason);
    assert_eq!(status["number"], "ЛПП-2027-0001");
}

/// Returns a valid form with `name` replaced by `value`, or left out when `value` is `None`.
fn form_with(w: &World, name: &str, value: Option<&str>) -> Vec<Part> {
    let mut parts = w.form("Проверка Полей", "check@example.org");
    parts.retain(|part| part.name != name);
    if let Some(value) = value {
        parts.push(text(name, value));
    }
    parts
}

async fn bad_submissions_save_nothing(w: World) {
    let before_rows = w.stored_rows().await;
    let before_audit = w.api.audit_len().await;
    let big: Vec<u8> = PDF
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'0', 5 * MIB))
        .collect();
    let png_named_html_pdf = file("cv.pdf", "application/pdf", HTML);
    let mut two_files_second_bad = w.form("Проверка Полей", "check@example.org");
    two_files_second_bad.push(png_named_html_pdf.clone());
    let mut six_files = w.form("Проверка Полей", "check@example.org");
    for _ in 0..5 {
        six_files.push(file("a.png", "image/png", PNG));
    }
    let mut oversized_file = form_with(&w, "attachments", None);
    oversized_file.push(file("big.pdf", "application/pdf", &big));
    let mut repeated = w.form("Проверка Полей", "check@example.org");
    repeated.push(text("full_name", "Другое Имя"));
    let mut unknown = w.form("Проверка Полей", "check@example.org");
    unknown.push(text("role", "organiser"));
    let mut not_utf8 = form_with(&w, "position", None);
    not_utf8.push(Part {
        content: vec![0xC3, 0x28],
        ..text("position", "")
    });
    let long_field = "Щ".repeat(10_000);
    let other_nomination = "00000000-0000-4000-8000-000000000000";

    let cases: Vec<(&str, Vec<Part>, &[&str])> = vec![
        ("no name", form_with(&w, "full_name", None), &["full_name"]),
        (
            "blank name",
            form_with(&w, "full_name", Some("   ")),
            &["full_name"],
        ),
        (
            "101-character name",
            form_with(&w, "full_name", Some(&"Я".repeat(101))),
            &["full_name"],
        ),
        (
            "name over the field limit",
            form_with(&w, "full_name", Some(&long_field)),
            &["full_name"],
        ),
        (
            "bidirectional override",
            form_with(&w, "full_name", Some("Иван\u{202E}вонаИ")),
            &["full_name"],
        ),
        (
            "date in Russian order",
            form_with(&w, "birth_date", Some("17.05.1990")),
            &["birth_date"],
        ),
        (
            "too young",
            form_with(&w, "birth_date", Some("2025-01-01")),
            &["birth_date"],
        ),
        (
            "years in words",
            form_with(&w, "experience_years", Some("двенадцать")),
            &["experience_years"],
        ),
        (
            "years out of range",
            form_with(&w, "experience_years", Some("81")),
            &["experience_years"],
        ),
        ("no consent", form_with(&w, "consent", None), &["consent"]),
        (
            "consent false",
            form_with(&w, "consent", Some("false")),
            &["consent"],
        ),
        (
            "consent yes",
            form_with(&w, "consent", Some("yes")),
            &["consent"],
        ),
        (
            "old consent version",
            form_with(&w, "consent_version", Some("2026-01")),
            &["consent_version"],
        ),
        (
            "malformed nomination",
            form_with(&w, "nomination_id", Some("welders")),
            &["nomination_id"],
        ),
        (
            "unknown nomination",
            form_with(&w, "nomination_id", Some(other_nomination)),
            &["nomination_id"],
        ),
        (
            "bad e-mail",
            form_with(&w, "email", Some("petr at example.org")),
            &["email"],
        ),
        (
            "letters in phone",
            form_with(&w, "phone", Some("+7 900 ABC")),
            &["phone"],
        ),
        (
            "HTML named .pdf",
            {
                let mut parts = form_with(&w, "attachments", None);
                parts.push(png_named_html_pdf.clone());
                parts
            },
            &["attachments[0]"],
        ),
        (
            "second file HTML",
            two_files_second_bad,
            &["attachments[1]"],
        ),
        ("six files", six_files, &["attachments"]),
        ("file over 5 MiB", oversized_file, &["attachments[0]"]),
        ("repeated field", repeated, &["full_name"]),
        ("unknown field", unknown, &["role"]),
        ("invalid UTF-8", not_utf8, &["position"]),
        (
            "nothing at all",
            Vec::new(),
            &[
                "nomination_id",
                "full_name",
                "birth_date",
                "employer",
                "position",
                "experience_years",
                "email",
                "phone",
                "consent",
                "consent_version",
            ],
        ),
    ];
    for (name, parts, fields) in cases {
        let reply = w.submit(parts).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "invalid_input", "{name}");
        let mut got = reply.fields();
        got.sort();
        let mut expected: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        expected.sort();
        assert_eq!(got, expected, "{name}: {}", reply.text());
    }

    // Four files of 4.5 MiB pass the per-file limit but not the body limit.
    let mut too_much = form_with(&w, "attachments", None);
    let chunk: Vec<u8> = PDF
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b' ', 9 * MIB / 2))
        .collect();
    for _ in 0..4 {
        too_much.push(file("part.pdf", "application/pdf", &chunk));
    }
    let reply = w.submit(too_much).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.code(), "payload_too_large");

    let json = Payload::Json(json!({"full_name": "Иван"}));
    let reply = w
        .api
        .call(Method::POST, "/api/v1/applications", None, json)
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = Request::post("/api/v1/applications")
        .header(header::CONTENT_TYPE, multipart::content_type())
        .body(Body::from(format!("--{BOUNDARY}\r\nno headers, no end")))
        .unwrap();
    let reply = w.api.send_from(garbage, w.api.fresh_client()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.code(), "invalid_multipart");

    assert_eq!(w.stored_rows().await, before_rows, "nothing was half-saved");
    assert_eq!(w.api.audit_len().await, before_audit, "nothing was audited");
}

async fn unusual_files_and_names_are_kept(w: World) {
    // Three files of 4.6 MiB: far above the API's 64 KiB default, within the domain's limits.
    let mut parts = w.form("Семёнов-Тян-Шанский Пётр 👷🏽", "tian@example.org");
    parts.retain(|part| part.name != "attachments");
    let large: Vec<u8> = PDF
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b' ', 46 * MIB / 10))
        .collect();
    for _ in 0..2 {
        parts.push(file("scan.pdf", "application/pdf", &large));
    }
    // A PNG named .pdf is kept as the PNG its content shows.
    parts.push(file("photo.pdf", "application/pdf", PNG));
    let reply = w.submit(parts).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let detail = w
        .api
        .get(&format!("/api/v1/applications/{id}"), &w.organiser)
        .await
        .json();
    assert_eq!(
        detail["application"]["full_name"],
        "Семёнов-Тян-Шанский Пётр 👷🏽"
    );
    let attachments = detail["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 3);
    assert_eq!(attachments[0]["size"], large.len());
    assert_eq!(attachments[2]["kind"], "png");
    let png = attachments[2]["id"].as_str().unwrap();
    let download = w
        .api
        .get(&format!("/api/v1/attachments/{png}"), &w.organiser)
        .await;
    assert_eq!(download.header(header::CONTENT_TYPE), "image/png");

    let longest = "Ж".repeat(100);
    let (first, first_token) = w.apply(&longest, "zh@example.org").await;
    // The same person again: saved, and flagged as a duplicate of the first.
    let (second, second_token) = w.apply(&longest, "zh@example.org").await;
    assert_ne!(first, second);
    assert_ne!(first_token, second_token);
    let detail = w
        .api
        .get(&format!("/api/v1/applications/{second}"), &w.organiser)
        .await
        .json();
    assert_eq!(detail["application"]["duplicate_of"], first.as_str());
    assert_eq!(w.status(&second_token).await.json()["status"], "submitted");
}

async fn public_lookups_reject_bad_input(w: World) {
    let api = &w.api;
    let form = |query: String| {
        let path = format!("/api/v1/application-form{query}");
        async move { api.call(Method::GET, &path, None, Payload::Empty).await }
    };
    let reply = form(String::new()).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "invalid_query");
    let reply = form(format!("?stage=x&nomination={}", w.nomination)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["stage"]);
    let other = "00000000-0000-4000-8000-000000000000";
    let reply = form(format!("?stage={other}&nomination={}", w.nomination)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let before = w.api.audit_len().await;
    for token in ["", "abc", &"g".repeat(64)] {
        let reply = w.status(token).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{token:?}");
        assert_eq!(reply.fields(), ["token"]);
    }
    let reply = w.status(&"0".repeat(64)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(w.api.audit_len().await, before);

    let list = w
        .api
        .get("/api/v1/applications?status=lost", &w.organiser)
        .await;
    assert_eq!(list.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list.fields(), ["status"]);
    let list = w
        .api
        .get("/api/v1/applications?stage_id=tver", &w.organiser)
        .await;
    assert_eq!(list.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list.fields(), ["stage_id"]);
    let export = format!("/api/v1/stages/{other}/participants/html");
    let reply = w.api.get(&export, &w.organiser).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = w
        .api
        .get(&format!("/api/v1/attachments/{other}"), &w.organiser)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

async fn submissions_are_rate_limited(w: World) {
    let client: SocketAddr = "198.51.100.7:50000".parse().unwrap();
    let neighbour: SocketAddr = "198.51.100.8:50000".parse().unwrap();
    let path = "/api/v1/applications";
    // Invalid forms take a token as well.
    let empty = || Payload::Form(vec![text("consent", "false")]);
    for attempt in 0..10 {
        let reply = w
            .api
            .call_from(Method::POST, path, None, empty(), client)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{attempt}");
    }

    let before = w.api.audit_len().await;
    let form = Payload::Form(w.form("Лишний Заявитель", "extra@example.org"));
    let reply = w
        .api
        .call_from(Method::POST, path, None, form.clone(), client)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    assert_eq!(reply.code(), "too_many_requests");
    assert_eq!(
        w.api.audit_len().await,
        before,
        "a limited request saves nothing"
    );
    let reply = w
        .api
        .call_from(Method::POST, path, None, form, neighbour)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

/// Posts an empty, invalid application form from the TCP peer `peer`, with an
/// `X-Forwarded-For` header; 422 means the rate limit let it through.
async fn submit_via(api: &Api, peer: &str, forwarded_for: &str) -> StatusCode {
    let parts = vec![text("consent", "false")];
    let request = Request::post("/api/v1/applications")
        .header(header::CONTENT_TYPE, multipart::content_type())
        .header("x-forwarded-for", forwarded_for)
        .body(Body::from(multipart::body(&parts)))
        .unwrap();
    api.send_from(request, peer.parse().unwrap()).await.status
}

/// Uses up the burst of submissions that `forwarded_for` names for the client.
async fn use_up_submissions(api: &Api, peer: &str, forwarded_for: impl Fn(usize) -> String) {
    for index in 0..10 {
        let header = forwarded_for(index);
        let status = submit_via(api, peer, &header).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{index} via {header}"
        );
    }
}

async fn submission_limit_follows_trusted_proxy(w: World) {
    let mut config = (*w.api.state.config).clone();
    config.http.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let api = Api::with_config(&w.api.url, config)
        .await
        .with_fresh_clients();
    let proxy = "127.0.0.1:40000";

    use_up_submissions(&api, proxy, |_| "198.51.100.20".to_owned()).await;
    let limited = submit_via(&api, proxy, "198.51.100.20").await;
    assert_eq!(limited, StatusCode::TOO_MANY_REQUESTS);
    let forged = submit_via(&api, proxy, "192.0.2.1, 198.51.100.20").await;
    assert_eq!(
        forged,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged entry changes nothing"
    );
    let other = submit_via(&api, proxy, "198.51.100.21").await;
    assert_eq!(other, StatusCode::UNPROCESSABLE_ENTITY, "another client");

    // A peer that is not a trusted proxy keeps its own address, whatever it sends.
    let client = "203.0.113.30:40000";
    use_up_submissions(&api, client, |index| format!("198.51.100.{}", 100 + index)).await;
    let spoofed = submit_via(&api, client, "198.51.100.222").await;
    assert_eq!(spoofed, StatusCode::TOO_MANY_REQUESTS);
}

async fn submission_limit_without_trusted_proxy(w: World) {
    // Every client behind an untrusted proxy shares the proxy's bucket.
    let proxy = "127.0.0.1:40000";
    use_up_submissions(&w.api, proxy, |index| format!("198.51.100.{index}")).await;
    let shared = submit_via(&w.api, proxy, "198.51.100.99").await;
    assert_eq!(shared, StatusCode::TOO_MANY_REQUESTS);
}

async fn openapi_lists_application_routes(w: World) {
    let reply = w
        .api
        .call(Method::GET, "/api/v1/openapi.json", None, Payload::Empty)
        .await;
    let document = reply.json();
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/application-form",
        "/api/v1/applications",
        "/api/v1/application-status",
        "/api/v1/consent-texts",
        "/api/v1/consent-texts/current",
        "/api/v1/applications/{id}",
        "/api/v1/applications/{id}/transition",
        "/api/v1/applications/transition",
        "/api/v1/attachments/{id}",
        "/api/v1/stages/{id}/participants/csv",
        "/api/v1/stages/{id}/participants/html",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    let submit = &paths["/api/v1/applications"]["post"]["requestBody"]["content"];
    assert!(submit["multipart/form-data"].is_object(), "{submit}");
}

#[tokio::test]
async fn log_holds_no_applicant_data() {
    let (captured, _guard) = Captured::install(tracing::Level::TRACE);

    let folder = tempfile::tempdir().unwrap();
    let w = world(sqlite_url(folder.path())).await;
    let (id, token) = w
        .apply("Журавлёва Зинаида Львовна", "zina@example.org")
        .await;
    assert_eq!(w.status(&token).await.status, StatusCode::OK);
    let bad = form_with(&w, "birth_date", Some("1990-02-30"));
    assert_eq!(w.submit(bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = w
        .api
        .get(&format!("/api/v1/applications/{id}"), &w.organiser)
        .await;
    let attachment = detail.json()["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = format!("/api/v1/attachments/{attachment}");
    assert_eq!(
        w.api.get(&download, &w.organiser).await.status,
        StatusCode::OK
    );
    for action in ["register", "start_review", "accept"] {
        assert_eq!(w.transition(&id, action).await.status, StatusCode::OK);
    }
    let export = format!("/api/v1/stages/{}/participants/csv", w.stage);
    assert_eq!(
        w.api.get(&export, &w.organiser).await.status,
        StatusCode::OK
    );
    drop(w);

    let log = captured.text();
    assert!(
        log.contains("/api/v1/applications"),
        "requests are logged: {log}"
    );
    for secret in ["Журавлёва", "zina@example.org", "123-45-67", &token] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}

scenarios!(
    every_endpoint_checks_role,
    newest_consent_text_is_in_force,
    application_goes_from_form_to_participant,
    rejection_and_bulk_changes,
    bad_submissions_save_nothing,
    unusual_files_and_names_are_kept,
    public_lookups_reject_bad_input,
    submissions_are_rate_limited,
    participant_sees_own_application,
    submission_limit_follows_trusted_proxy,
    submission_limit_without_trusted_proxy,
    openapi_lists_application_routes,
);
