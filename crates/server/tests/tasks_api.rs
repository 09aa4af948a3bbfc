//! Tasks over HTTP, on SQLite and on PostgreSQL: every endpoint for every role, the
//! participant's flow with the server clock in replies, uploads checked on content, bad
//! input, a deadline that passes while the server is down, a first opening after the
//! task's `opens_until`, and the OpenAPI document.

mod api;

use std::time::Duration;

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

use api::world::{self, Who};
use api::{now_ms, scenarios, Api, Payload, Session};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";

struct World {
    url: String,
    api: Api,
    sessions: Vec<(Who, Session)>,
    part: String,
}

impl World {
    fn session(&self, who: Who) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, s)| s)
    }

    fn as_(&self, who: Who) -> &Session {
        self.session(who).expect("a session")
    }

    /// Creates and publishes a task, returning its id.
    async fn task(&self, body: Value) -> String {
        let organiser = self.as_(Who::Organiser);
        let path = format!("/api/v1/parts/{}/tasks", self.part);
        let created = self.api.json(Method::POST, &path, organiser, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/tasks/{id}/publish");
        let published = self.api.post(&path, organiser).await;
        assert_eq!(published.status, StatusCode::OK, "{:?}", published.json());
        id
    }
}

async fn world(url: String) -> World {
    let api = Api::start(&url).await;
    let db = &api.contest;
    let (actor, organiser) = world::organiser(db).await;
    let (stage, nomination) = world::nomination(db, &actor).await;
    let (part, room) = world::theory_room(db, &actor, &nomination).await;

    let mut sessions = vec![(Who::Organiser, organiser)];
    for (who, role) in Who::PEOPLE {
        let new = world::person(role, &stage);
        let person = world::seated(db, &actor, &nomination, &room, &new).await;
        sessions.push((who, world::invited(db, &actor, &person.id).await));
    }
    World {
        url,
        api,
        sessions,
        part: part.id.to_string(),
    }
}

fn task_body(starts_at: i64, limit_secs: i64, mode: &str) -> Value {
    json!({
        "title": "Задание 1",
        "text": "# Порядок работы\n\n<b>не HTML</b>",
        "starts_at": starts_at,
        "time_limit_secs": limit_secs,
        "limit_mode": mode,
    })
}

async fn participant_flow(w: World) {
    let api = &w.api;
    let me = w.as_(Who::Participant);
    let id = w
        .task(task_body(now_ms() - 1000, 600, "first_opening"))
        .await;

    let before = now_ms();
    let list = api.get("/api/v1/me/tasks", me).await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let server_now = list["now"].as_i64().unwrap();
    assert!((before..=now_ms()).contains(&server_now), "{list}");
    assert_eq!(list["items"][0]["state"], "not_opened");
    assert_eq!(list["items"][0]["deadline"], Value::Null);

    let opened = api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    assert_eq!(opened.status, StatusCode::OK);
    let opened = opened.json();
    let first = opened["first_opened_at"].as_i64().unwrap();
    assert_eq!(opened["deadline"].as_i64(), Some(first + 600_000));
    assert_eq!(opened["now"].as_i64(), Some(first));
    assert_eq!(opened["text"], "# Порядок работы\n\n<b>не HTML</b>");
    assert_eq!(opened["state"], "open");

    let again = api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    assert_eq!(again.json()["first_opened_at"].as_i64(), Some(first));

    let path = format!("/api/v1/tasks/{id}/answer");
    let body = json!({"text": "Мой ответ"});
    let sent = api.json(Method::PUT, &path, me, body).await;
    assert_eq!(sent.status, StatusCode::OK, "{:?}", sent.json());
    assert_eq!(sent.json()["submission"]["kind"], "text");

    let path = format!("/api/v1/tasks/{id}/uploads");
    let upload = api
        .call(
            Method::POST,
            &path,
            Some(me),
            Payload::Raw("image/png", PNG),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{:?}", upload.json());
    let submission = upload.json()["submission"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let expert = w.as_(Who::Expert);
    let openings = api
        .get(&format!("/api/v1/tasks/{id}/openings"), expert)
        .await;
    let openings = openings.json();
    let firsts: Vec<bool> = openings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["first"].as_bool().unwrap())
        .collect();
    assert_eq!(firsts, [true, false]);
    let file = api
        .get(&format!("/api/v1/task-submissions/{submission}"), expert)
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, PNG);
    assert_eq!(file.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(file.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

async fn pdf_task_served_inline(w: World) {
    let api = &w.api;
    let organiser = w.as_(Who::Organiser);
    let me = w.as_(Who::Participant);
    let path = format!("/api/v1/parts/{}/tasks", w.part);
    let mut body = task_body(now_ms(), 600, "common_start");
    body["text"] = json!("");
    let created = api.json(Method::POST, &path, organiser, body).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let pdf_path = format!("/api/v1/tasks/{id}/pdf");

    let wrong = Payload::Raw("application/pdf", PNG);
    let wrong = api
        .call(Method::PUT, &pdf_path, Some(organiser), wrong)
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.fields(), ["pdf"]);
    let right = Payload::Raw("application/pdf", PDF);
    let right = api
        .call(Method::PUT, &pdf_path, Some(organiser), right)
        .await;
    assert_eq!(right.status, StatusCode::OK);
    let published = api
        .post(&format!("/api/v1/tasks/{id}/publish"), organiser)
        .await;
    assert_eq!(published.status, StatusCode::OK);

    let unopened = api.get(&pdf_path, me).await;
    assert_eq!(unopened.status, StatusCode::CONFLICT);
    let opened = api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    assert_eq!(opened.json()["has_pdf"], true);
    let pdf = api.get(&pdf_path, me).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.body, PDF);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    let policy = pdf.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
}

async fn hidden_until_start(w: World) {
    let api = &w.api;
    let me = w.as_(Who::Participant);
    let id = w
        .task(task_body(now_ms() + 3_600_000, 600, "common_start"))
        .await;
    let list = api.get("/api/v1/me/tasks", me).await.json();
    assert_eq!(list["items"], json!([]));
    let open = api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    assert_eq!(open.status, StatusCode::NOT_FOUND);
    assert_eq!(open.code(), "not_found");
}

async fn every_endpoint_checks_role(w: World) {
    let id = w
        .task(task_body(now_ms() - 1000, 600, "common_start"))
        .await;
    let part = &w.part;
    let body = task_body(now_ms() + 60_000, 600, "common_start");
    type Row<'a> = (Method, String, Payload<'a>, [u16; 6]);
    // Columns: anonymous, organiser, participant, expert, commission member, support.
    // The organiser may open tasks by role but is assigned to no room, so it is 404.
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            format!("/api/v1/parts/{part}/tasks"),
            Payload::Empty,
            [401, 200, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/parts/{part}/tasks"),
            Payload::Json(body.clone()),
            [401, 201, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/tasks/{id}"),
            Payload::Empty,
            [401, 200, 403, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/tasks/{id}"),
            Payload::Json(body.clone()),
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/tasks/{id}/pdf"),
            Payload::Raw("application/pdf", PDF),
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/tasks/{id}/publish"),
            Payload::Empty,
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/me/tasks".into(),
            Payload::Empty,
            [401, 200, 200, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/tasks/{id}/open"),
            Payload::Empty,
            [401, 404, 200, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/tasks/{id}/answer"),
            Payload::Json(json!({"text": "a"})),
            [401, 404, 200, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/tasks/{id}/uploads"),
            Payload::Raw("image/png", PNG),
            [401, 404, 201, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/tasks/{id}/pdf"),
            Payload::Empty,
            [401, 404, 404, 404, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/tasks/{id}/openings"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/tasks/{id}/submissions"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
    ];
    let everyone = Who::EVERYONE;
    for (method, path, payload, expected) in rows {
        for (who, status) in everyone.iter().zip(expected) {
            let payload = payload.clone();
            let session = w.session(*who);
            let reply = w.api.call(method.clone(), &path, session, payload).await;
            assert_eq!(reply.status.as_u16(), status, "{method} {path} as {who:?}");
        }
    }

    // The participant's upload above is the submission whose download is checked.
    let organiser = w.as_(Who::Organiser);
    let path = format!("/api/v1/tasks/{id}/submissions");
    let listed = w.api.get(&path, organiser).await.json();
    let submission = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/task-submissions/{submission}");
    let expected = [401, 200, 403, 200, 403, 403];
    for (who, status) in everyone.iter().zip(expected) {
        let session = w.session(*who);
        let reply = w
            .api
            .call(Method::GET, &path, session, Payload::Empty)
            .await;
        assert_eq!(reply.status.as_u16(), status, "GET {path} as {who:?}");
    }
}

async fn bad_input_is_rejected(w: World) {
    let api = &w.api;
    let organiser = w.as_(Who::Organiser);
    let me = w.as_(Who::Participant);
    let path = format!("/api/v1/parts/{}/tasks", w.part);
    let cases = [
        (
            json!({"title": "x", "starts_at": 1, "time_limit_secs": 60}),
            "limit_mode",
        ),
        (
            json!({"title": "x", "starts_at": 1, "time_limit_secs": 60, "limit_mode": "soon"}),
            "limit_mode",
        ),
        (
            json!({"title": "x", "starts_at": "1", "time_limit_secs": 60, "limit_mode": "common_start"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "starts_at": 1, "time_limit_secs": 0, "limit_mode": "common_start"}),
            "time_limit_secs",
        ),
        (
            json!({"title": "x", "starts_at": 1, "time_limit_secs": 60, "limit_mode": "common_start", "html": "<b>"}),
            "html",
        ),
    ];
    for (body, field) in cases {
        let reply = api.json(Method::POST, &path, organiser, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problems = reply.problems();
        assert!(
            problems.iter().any(|p| p.contains(field)),
            "{body}: {problems:?}"
        );
    }
    let bad_id = api.get("/api/v1/parts/not-a-uuid/tasks", organiser).await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_id.fields(), ["id"]);

    let id = w
        .task(task_body(now_ms() - 1000, 600, "common_start"))
        .await;
    api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    let uploads = format!("/api/v1/tasks/{id}/uploads");
    for (declared, content) in [
        ("application/pdf", PNG),
        ("image/png", b"<html><script>alert(1)</script>".as_slice()),
        ("image/jpeg", b"".as_slice()),
    ] {
        let payload = Payload::Raw(declared, content);
        let reply = api.call(Method::POST, &uploads, Some(me), payload).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{declared}");
        assert_eq!(reply.fields(), ["file"], "{declared}");
    }
    let too_big = vec![b'%'; (10 << 20) + 4096];
    let payload = Payload::Raw("application/pdf", &too_big);
    let reply = api.call(Method::POST, &uploads, Some(me), payload).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = format!("/api/v1/tasks/{id}/answer");
    let reply = api.json(Method::PUT, &answer, me, json!({"text": 5})).await;
    assert_eq!(reply.fields(), ["text"]);
    let subs = api
        .get(&format!("/api/v1/tasks/{id}/submissions"), organiser)
        .await;
    assert_eq!(subs.json()["items"], json!([]));
}

/// The server stops before the deadline and starts after it; the task is then closed at
/// the deadline given before the stop, and an answer is rejected with `time_up`.
async fn deadline_passes_while_down(w: World) {
    let limit_secs = 60;
    let starts_at = now_ms() - limit_secs * 1000 + 1500;
    let id = w
        .task(task_body(starts_at, limit_secs, "common_start"))
        .await;
    let me = w.as_(Who::Participant).clone();
    let opened = w.api.post(&format!("/api/v1/tasks/{id}/open"), &me).await;
    let deadline = opened.json()["deadline"].as_i64().unwrap();
    assert_eq!(deadline, starts_at + limit_secs * 1000);
    assert_eq!(opened.json()["state"], "open");

    let url = w.url.clone();
    w.api.contest.close().await;
    drop(w);
    let wait = deadline - now_ms() + 200;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;

    let api = Api::start(&url).await;
    let list = api.get("/api/v1/me/tasks", &me).await.json();
    assert_eq!(list["items"][0]["state"], "closed");
    assert_eq!(list["items"][0]["deadline"].as_i64(), Some(deadline));
    let path = format!("/api/v1/tasks/{id}/answer");
    let late = api
        .json(Method::PUT, &path, &me, json!({"text": "поздно"}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.code(), "time_up");
    let path = format!("/api/v1/tasks/{id}/uploads");
    let late = api
        .call(
            Method::POST,
            &path,
            Some(&me),
            Payload::Raw("image/png", PNG),
        )
        .await;
    assert_eq!(late.code(), "time_up");
}

/// A first opening after the task's `opens_until` gets 409 `opening_closed`, and
/// `/me/tasks` lists the task as closed without a deadline. Before that bound, opening
/// works as usual.
async fn first_opening_after_bound_rejected(w: World) {
    let api = &w.api;
    let me = w.as_(Who::Participant);
    let now = now_ms();
    let mut body = task_body(now - 2000, 600, "first_opening");
    body["opens_until"] = json!(now - 1000);
    let missed = w.task(body).await;
    let mut body = task_body(now - 2000, 600, "first_opening");
    body["opens_until"] = json!(now + 60_000);
    let open = w.task(body).await;

    let list = api.get("/api/v1/me/tasks", me).await.json();
    let item = |id: &str| {
        let items = list["items"].as_array().unwrap();
        items.iter().find(|t| t["id"] == id).unwrap().clone()
    };
    assert_eq!(item(&missed)["state"], "closed", "{list}");
    assert_eq!(item(&missed)["deadline"], Value::Null);
    assert_eq!(item(&missed)["opens_until"].as_i64(), Some(now - 1000));
    assert_eq!(item(&open)["state"], "not_opened");

    let rejected = api.post(&format!("/api/v1/tasks/{missed}/open"), me).await;
    assert_eq!(rejected.status, StatusCode::CONFLICT);
    assert_eq!(rejected.json()["error"]["reason"], "opening_closed");
    let path = format!("/api/v1/tasks/{missed}/openings");
    let openings = api.get(&path, w.as_(Who::Organiser)).await;
    assert_eq!(openings.json()["items"], json!([]));

    let opened = api.post(&format!("/api/v1/tasks/{open}/open"), me).await;
    assert_eq!(opened.status, StatusCode::OK);
    let opened = opened.json();
    let first = opened["first_opened_at"].as_i64().unwrap();
    assert_eq!(opened["deadline"].as_i64(), Some(first + 600_000));

    let organiser = w.as_(Who::Organiser);
    let path = format!("/api/v1/parts/{}/tasks", w.part);
    let mut body = task_body(now + 60_000, 600, "common_start");
    body["opens_until"] = json!(now + 120_000);
    let reply = api.json(Method::POST, &path, organiser, body).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = &reply.field_errors()[0];
    assert_eq!(problem["field"], "opens_until");
    assert_eq!(problem["code"], "opens_until_not_allowed");
}

async fn openapi_lists_task_routes(w: World) {
    let doc = w
        .api
        .call(Method::GET, "/api/v1/openapi.json", None, Payload::Empty);
    let doc = doc.await.json();
    for path in [
        "/api/v1/parts/{id}/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/pdf",
        "/api/v1/tasks/{id}/publish",
        "/api/v1/me/tasks",
        "/api/v1/tasks/{id}/open",
        "/api/v1/tasks/{id}/answer",
        "/api/v1/tasks/{id}/uploads",
        "/api/v1/tasks/{id}/openings",
        "/api/v1/tasks/{id}/submissions",
        "/api/v1/task-submissions/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in ["NewTask", "Task", "MyTask"] {
        let property = &schemas[schema]["properties"]["opens_until"];
        assert!(property.is_object(), "{schema}.opens_until missing");
    }
}

scenarios!(
    multi_thread;
    participant_flow,
    pdf_task_served_inline,
    hidden_until_start,
    every_endpoint_checks_role,
    bad_input_is_rejected,
    deadline_passes_while_down,
    first_opening_after_bound_rejected,
    openapi_lists_task_routes,
);
