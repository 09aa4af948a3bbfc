//! The theory stage over HTTP, on SQLite and on PostgreSQL: every endpoint for every role,
//! the identity check, shuffling per participant, scoring and the OpenAPI document. Bank and
//! results imports that fail must change nothing, and a time limit that passes while the
//! server is down must close the attempt at the deadline.

mod api;

use std::time::Duration;

use axum::http::{header, Method, StatusCode};
use profstage_contest::{NewApplication, NewPerson, Role, Transition};
use serde_json::{json, Value};

use api::world::{self, PASSWORD};
use api::{now_ms, scenarios, Api, Payload, Reply, Session};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Organiser,
    Participant,
    Other,
    Expert,
    Commission,
    Support,
}

struct World {
    url: String,
    api: Api,
    sessions: Vec<(Who, Session)>,
    part: String,
    nomination: String,
    people: Vec<(Who, String)>,
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

    fn person(&self, who: Who) -> &str {
        let found = self.people.iter().find(|(w, _)| *w == who);
        found.map(|(_, id)| id.as_str()).expect("a person")
    }

    /// Imports questions into the nomination's bank as JSON.
    async fn import_bank(&self, questions: Value) -> Reply {
        let path = format!(
            "/api/v1/nominations/{}/theory-questions/import?format=json",
            self.nomination
        );
        let body = json!({ "questions": questions }).to_string();
        let payload = Payload::Raw("application/json", body.as_bytes());
        let organiser = self.as_(Who::Organiser);
        self.api
            .call(Method::POST, &path, Some(organiser), payload)
            .await
    }

    /// Creates and publishes a theory test, returning its id.
    async fn test(&self, body: Value) -> String {
        let organiser = self.as_(Who::Organiser);
        let path = format!("/api/v1/parts/{}/theory-tests", self.part);
        let created = self.api.json(Method::POST, &path, organiser, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/tasks/{id}/publish");
        let published = self.api.post(&path, organiser).await;
        assert_eq!(published.status, StatusCode::OK, "{:?}", published.json());
        id
    }

    /// Sends an identity snapshot as `who` and returns the reply.
    async fn snapshot(&self, who: Who, test: &str, content: &[u8]) -> Reply {
        let path = format!("/api/v1/theory-tests/{test}/identity");
        let payload = Payload::Raw("image/jpeg", content);
        self.api
            .call(Method::POST, &path, Some(self.as_(who)), payload)
            .await
    }

    /// Sends a snapshot and opens the test as `who`.
    async fn start(&self, who: Who, test: &str) -> Value {
        let sent = self.snapshot(who, test, JPEG).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.json());
        let path = format!("/api/v1/theory-tests/{test}/open");
        let opened = self.api.post(&path, self.as_(who)).await;
        assert_eq!(opened.status, StatusCode::OK, "{:?}", opened.json());
        opened.json()
    }

    /// Returns the sequence number of the newest audit entry.
    async fn audit_seq(&self) -> i64 {
        let organiser = self.as_(Who::Organiser);
        let log = self.api.get("/api/v1/audit-log?limit=1", organiser).await;
        log.json()["items"][0]["seq"].as_i64().unwrap()
    }
}

async fn world(url: String) -> World {
    let api = Api::start(&url).await;
    let db = &api.contest;
    let (actor, organiser) = world::organiser(db).await;
    let (stage, nomination) = world::nomination(db, &actor).await;
    let (part, room) = world::theory_room(db, &actor, &nomination).await;

    let mut sessions = vec![(Who::Organiser, organiser)];
    let mut people = Vec::new();
    for (who, role, name) in [
        (Who::Participant, Role::Participant, "Иван Сварщиков"),
        (Who::Other, Role::Participant, "Пётр Паяльников"),
        (Who::Expert, Role::Expert, "Эксперт Экспертов"),
        (Who::Commission, Role::CommissionMember, "Член Комиссии"),
        (Who::Support, Role::Support, "Поддержка"),
    ] {
        let new = NewPerson {
            role: Some(role),
            full_name: name.into(),
            stage_id: (role == Role::CommissionMember).then(|| stage.id.clone()),
            ..NewPerson::default()
        };
        let person = world::seated(db, &actor, &nomination, &room, &new).await;
        sessions.push((who, world::invited(db, &actor, &person.id).await));
        people.push((who, person.id.to_string()));
    }
    World {
        url,
        api,
        sessions,
        part: part.id.to_string(),
        nomination: nomination.id.to_string(),
        people,
    }
}

fn test_body(starts_at: i64, limit_secs: i64, mode: &str, count: Option<i64>) -> Value {
    json!({
        "title": "Теоретический тест",
        "text": "Ответьте на вопросы.",
        "starts_at": starts_at,
        "time_limit_secs": limit_secs,
        "limit_mode": mode,
        "question_count": count,
    })
}

/// Three questions: single (2 points, option 2), multiple (2 points, options 1 and 3) and
/// short (2 points, «Аргон»).
fn scoring_bank() -> Value {
    json!([
        {"kind": "single", "text": "Какой ток у MMA?", "options": ["Переменный", "Постоянный", "Любой"],
         "correct": [2], "points": 2},
        {"kind": "multiple", "text": "Что входит в СИЗ?", "options": ["Маска", "Сандалии", "Краги", "Шорты"],
         "correct": [1, 3], "points": 2},
        {"kind": "short", "text": "Защитный газ для TIG?", "accepted": ["Аргон"], "points": 2},
    ])
}

/// Twelve single choice questions with four options each.
fn large_bank() -> Value {
    let questions: Vec<Value> = (1..=12)
        .map(|i| {
            json!({"kind": "single", "text": format!("Вопрос {i}"),
                   "options": ["А", "Б", "В", "Г"], "correct": [1], "points": 1})
        })
        .collect();
    Value::Array(questions)
}

fn order_of(opened: &Value) -> Vec<(String, Vec<u64>)> {
    let questions = opened["questions"].as_array().unwrap();
    questions
        .iter()
        .map(|q| {
            let options = q["options"].as_array().unwrap();
            let numbers = options.iter().map(|o| o["number"].as_u64().unwrap());
            (q["id"].as_str().unwrap().to_owned(), numbers.collect())
        })
        .collect()
}

async fn every_endpoint_checks_role(w: World) {
    let imported = w.import_bank(scoring_bank()).await;
    assert_eq!(
        imported.status,
        StatusCode::CREATED,
        "{:?}",
        imported.json()
    );
    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    let opened = w.start(Who::Participant, &id).await;
    let questions = opened["questions"].as_array().unwrap();
    let single = questions.iter().find(|q| q["kind"] == "single").unwrap();
    let question = single["id"].as_str().unwrap().to_owned();
    let checks = w
        .api
        .get(
            &format!("/api/v1/theory-tests/{id}/identity-checks"),
            w.as_(Who::Expert),
        )
        .await;
    let check = checks.json()[0]["id"].as_str().unwrap().to_owned();
    let (part, nomination) = (&w.part, &w.nomination);
    let bank = json!({"kind": "short", "text": "Ещё вопрос", "accepted": ["да"], "points": 1});
    let new_test = test_body(now_ms() + 60_000, 600, "common_start", None);
    let bank_file = json!({"questions": [bank.clone()]}).to_string();
    let results_file = format!(
        "participant;score;max_score\n{};1;2\n",
        w.person(Who::Other)
    );
    type Row<'a> = (Method, String, Payload<'a>, [u16; 6]);
    // Columns: anonymous, organiser, participant, expert, commission member, support.
    // The organiser may take tests by role but is assigned to no room, so it is 404.
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            format!("/api/v1/nominations/{nomination}/theory-questions"),
            Payload::Empty,
            [401, 200, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/nominations/{nomination}/theory-questions"),
            Payload::Json(bank.clone()),
            [401, 201, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/nominations/{nomination}/theory-questions/import?format=json"),
            Payload::Raw("application/json", bank_file.as_bytes()),
            [401, 201, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/nominations/{nomination}/theory-questions/export?format=csv"),
            Payload::Empty,
            [401, 200, 403, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/theory-questions/{question}"),
            Payload::Json(bank.clone()),
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            format!("/api/v1/theory-questions/{question}"),
            Payload::Empty,
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/parts/{part}/theory-tests"),
            Payload::Json(new_test.clone()),
            [401, 201, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/theory-tests/{id}"),
            Payload::Empty,
            [401, 200, 403, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/theory-tests/{id}"),
            Payload::Json(new_test.clone()),
            [401, 409, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/me/theory-tests".into(),
            Payload::Empty,
            [401, 200, 200, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/theory-tests/{id}/intro"),
            Payload::Empty,
            [401, 404, 200, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/theory-tests/{id}/identity"),
            Payload::Raw("image/jpeg", JPEG),
            [401, 404, 201, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/theory-tests/{id}/open"),
            Payload::Empty,
            [401, 404, 200, 403, 403, 403],
        ),
        (
            Method::PUT,
            format!("/api/v1/theory-tests/{id}/answers/{question}"),
            Payload::Json(json!({"selected": [1]})),
            [401, 404, 200, 403, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/theory-tests/{id}/identity-checks"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/identity-checks/{check}/snapshot"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/theory-tests/{id}/results"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
        (
            Method::GET,
            format!("/api/v1/theory-tests/{id}/results/csv"),
            Payload::Empty,
            [401, 200, 403, 200, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/theory-tests/{id}/results/import"),
            Payload::Raw("text/csv", results_file.as_bytes()),
            [401, 201, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/identity-checks/{check}/review"),
            Payload::Json(json!({"decision": "confirm"})),
            [401, 200, 403, 409, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/theory-tests/{id}/finish"),
            Payload::Empty,
            [401, 404, 200, 403, 403, 403],
        ),
    ];
    let everyone = [
        Who::Anonymous,
        Who::Organiser,
        Who::Participant,
        Who::Expert,
        Who::Commission,
        Who::Support,
    ];
    for (method, path, payload, expected) in rows {
        for (who, status) in everyone.iter().zip(expected) {
            let payload = payload.clone();
            let session = w.session(*who);
            let before = w.audit_seq().await;
            let reply = w.api.call(method.clone(), &path, session, payload).await;
            assert_eq!(reply.status.as_u16(), status, "{method} {path} as {who:?}");
            if status >= 400 {
                let after = w.audit_seq().await;
                assert_eq!(after, before, "{method} {path} as {who:?} was audited");
            }
        }
    }
}

async fn questions_are_edited_until_drawn(w: World) {
    let organiser = w.as_(Who::Organiser);
    let bank = format!("/api/v1/nominations/{}/theory-questions", w.nomination);
    let first = json!({"kind": "single", "text": "Какой ток у MMA?",
        "options": ["Переменный", "Постоянный"], "correct": [2], "points": 2});
    let created = w.api.json(Method::POST, &bank, organiser, first).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json());
    let created = created.json();
    let path = format!(
        "/api/v1/theory-questions/{}",
        created["id"].as_str().unwrap()
    );

    // An edit replaces every field and keeps the place in the bank.
    let short = json!({"kind": "short", "text": " Защитный газ для TIG? ",
        "accepted": ["Аргон", "argon"], "points": 3});
    let edited = w.api.json(Method::PUT, &path, organiser, short).await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.json());
    let edited = edited.json();
    assert_eq!(edited["kind"], "short");
    assert_eq!(edited["text"], "Защитный газ для TIG?");
    assert_eq!(edited["accepted"], json!(["Аргон", "argon"]));
    assert_eq!(edited["options"], json!([]));
    assert_eq!(edited["points"], 3);
    assert_eq!(edited["position"], created["position"]);
    assert_eq!(edited["id"], created["id"]);

    // An invalid edit names its fields and changes nothing.
    let before = w.audit_seq().await;
    let invalid = json!({"kind": "single", "text": "", "options": ["Один"], "correct": [3],
        "points": 0});
    let rejected = w.api.json(Method::PUT, &path, organiser, invalid).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = rejected.fields();
    for field in ["text", "options", "correct", "points"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    assert_eq!(w.audit_seq().await, before, "a rejected edit was audited");
    let listed = w.api.get(&bank, organiser).await.json();
    assert_eq!(listed[0], edited, "a rejected edit changed the question");
    let unknown = "/api/v1/theory-questions/00000000-0000-4000-8000-000000000000";
    let valid = json!({"kind": "short", "text": "Вопрос", "accepted": ["да"], "points": 1});
    let missing = w.api.json(Method::PUT, unknown, organiser, valid).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The published test shows in the expert's workspace, with its part.
    let test = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    let workspace = w.api.get("/api/v1/me/scoring", w.as_(Who::Expert)).await;
    assert_eq!(workspace.status, StatusCode::OK);
    let part = &workspace.json()["groups"][0]["parts"][0];
    assert_eq!(part["id"], w.part.as_str());
    assert_eq!(part["theory_tests"][0]["id"], test.as_str());
    assert_eq!(part["theory_tests"][0]["title"], "Теоретический тест");

    // Once drawn, the question neither changes nor leaves the bank.
    w.start(Who::Participant, &test).await;
    let before = w.audit_seq().await;
    let again = json!({"kind": "short", "text": "Другой текст", "accepted": ["да"], "points": 1});
    let drawn = w.api.json(Method::PUT, &path, organiser, again).await;
    assert_eq!(drawn.status, StatusCode::CONFLICT);
    assert_eq!(drawn.code(), "conflict");
    let deleted = w
        .api
        .call(Method::DELETE, &path, Some(organiser), Payload::Empty)
        .await;
    assert_eq!(deleted.status, StatusCode::CONFLICT);
    assert_eq!(w.audit_seq().await, before, "a rejected change was audited");
    let listed = w.api.get(&bank, organiser).await.json();
    assert_eq!(listed[0], edited, "the drawn question changed");
}

async fn identity_is_checked_by_hand(w: World) {
    w.import_bank(scoring_bank()).await;
    let id = w
        .test(test_body(now_ms() - 1000, 600, "first_opening", None))
        .await;
    let me = w.as_(Who::Participant);
    let expert = w.as_(Who::Expert);
    let open = format!("/api/v1/theory-tests/{id}/open");

    let without = w.api.post(&open, me).await;
    assert_eq!(without.status, StatusCode::CONFLICT);
    let intro = w
        .api
        .get(&format!("/api/v1/theory-tests/{id}/intro"), me)
        .await;
    assert_eq!(intro.status, StatusCode::OK);
    assert_eq!(intro.json()["check"], Value::Null);

    let png = w.snapshot(Who::Participant, &id, PNG).await;
    assert_eq!(png.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(png.fields(), ["snapshot"]);
    let big = [JPEG, &vec![0u8; 3 << 20]].concat();
    let big = w.snapshot(Who::Participant, &id, &big).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);

    let sent = w.snapshot(Who::Participant, &id, JPEG).await;
    assert_eq!(sent.status, StatusCode::CREATED);
    let check = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(sent.json()["status"], "pending");
    let review = format!("/api/v1/identity-checks/{check}/review");
    let no_reason = w
        .api
        .json(Method::POST, &review, expert, json!({"decision": "reject"}))
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.fields(), ["reason"]);
    let body = json!({"decision": "reject", "reason": "Документ не читается"});
    let rejected = w.api.json(Method::POST, &review, expert, body).await;
    assert_eq!(rejected.status, StatusCode::OK);
    assert_eq!(rejected.json()["status"], "rejected");
    let blocked = w.api.post(&open, me).await;
    assert_eq!(blocked.status, StatusCode::CONFLICT);
    let message = blocked.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("Документ не читается"), "{message}");

    let again = w.snapshot(Who::Participant, &id, JPEG).await;
    let check = again.json()["id"].as_str().unwrap().to_owned();
    let before = w.audit_seq().await;
    let image = w
        .api
        .get(&format!("/api/v1/identity-checks/{check}/snapshot"), expert)
        .await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.body, JPEG);
    assert_eq!(image.headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(image.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let log = w
        .api
        .get(
            &format!("/api/v1/audit-log?target_id={check}"),
            w.as_(Who::Organiser),
        )
        .await;
    let actions: Vec<String> = log.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"theory.identity_read".to_owned()),
        "{actions:?}"
    );
    assert!(w.audit_seq().await > before);

    let review = format!("/api/v1/identity-checks/{check}/review");
    let confirm = json!({"decision": "confirm"});
    let confirmed = w
        .api
        .json(Method::POST, &review, expert, confirm.clone())
        .await;
    assert_eq!(confirmed.json()["status"], "confirmed");
    let twice = w.api.json(Method::POST, &review, expert, confirm).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let opened = w.api.post(&open, me).await;
    assert_eq!(opened.status, StatusCode::OK, "{:?}", opened.json());
    let results = w
        .api
        .get(&format!("/api/v1/theory-tests/{id}/results"), expert)
        .await;
    assert_eq!(results.json()["items"][0]["identity"], "confirmed");
}

async fn shuffling_is_stable_per_participant(w: World) {
    w.import_bank(large_bank()).await;
    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", Some(8)))
        .await;
    let first = order_of(&w.start(Who::Participant, &id).await);
    assert_eq!(first.len(), 8);
    let path = format!("/api/v1/theory-tests/{id}/open");
    let reload = w.api.post(&path, w.as_(Who::Participant)).await.json();
    assert_eq!(order_of(&reload), first, "a reload shows the same order");
    let other = order_of(&w.start(Who::Other, &id).await);
    assert_eq!(other.len(), 8);
    assert_ne!(other, first, "another participant gets another order");
    let shuffled = first
        .iter()
        .any(|(_, options)| options.as_slice() != [1, 2, 3, 4]);
    assert!(shuffled, "options are shuffled");

    // A question added to the bank later does not change a started attempt.
    w.import_bank(large_bank()).await;
    let later = w.api.post(&path, w.as_(Who::Participant)).await.json();
    assert_eq!(order_of(&later), first);
}

async fn answers_are_scored(w: World) {
    w.import_bank(scoring_bank()).await;
    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    // Answers per question kind, for each participant, and the expected total score.
    let cases = [
        (
            Who::Participant,
            [
                json!({"selected": [2]}),
                json!({"selected": [3]}),
                json!({"text": "  аРГОН "}),
            ],
            5.0,
        ),
        (
            Who::Other,
            [
                json!({"selected": [1]}),
                json!({"selected": [1, 2]}),
                json!({"text": "гелий"}),
            ],
            0.0,
        ),
    ];
    for (who, answers, _) in &cases {
        let opened = w.start(*who, &id).await;
        for question in opened["questions"].as_array().unwrap() {
            let index = match question["kind"].as_str().unwrap() {
                "single" => 0,
                "multiple" => 1,
                _ => 2,
            };
            let qid = question["id"].as_str().unwrap();
            let path = format!("/api/v1/theory-tests/{id}/answers/{qid}");
            let body = answers[index].clone();
            let saved = w.api.json(Method::PUT, &path, w.as_(*who), body).await;
            assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.json());
        }
    }
    let reload = w
        .api
        .post(
            &format!("/api/v1/theory-tests/{id}/open"),
            w.as_(Who::Participant),
        )
        .await
        .json();
    let short = reload["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["kind"] == "short")
        .unwrap()
        .clone();
    assert_eq!(short["answer"], json!({"text": "аРГОН"}));
    assert!(short.get("accepted").is_none(), "no correct answers go out");

    let results = w
        .api
        .get(
            &format!("/api/v1/theory-tests/{id}/results"),
            w.as_(Who::Expert),
        )
        .await
        .json();
    for (who, _, expected) in &cases {
        let row = results["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["person_id"] == w.person(*who))
            .unwrap()
            .clone();
        assert_eq!(row["score"].as_f64(), Some(*expected), "{who:?}");
        assert_eq!(row["max_score"].as_f64(), Some(6.0), "{who:?}");
        assert_eq!(row["source"], "platform");
        assert_eq!(row["answered"], 3);
    }
    let csv = w
        .api
        .get(
            &format!("/api/v1/theory-tests/{id}/results/csv"),
            w.as_(Who::Organiser),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = String::from_utf8(csv.body).unwrap();
    assert!(
        text.contains(";Иван Сварщиков;platform;5.00;6.00;3;3;"),
        "{text}"
    );

    let finish = format!("/api/v1/theory-tests/{id}/finish");
    let finished = w.api.post(&finish, w.as_(Who::Participant)).await;
    assert_eq!(finished.status, StatusCode::OK);
    let qid = short["id"].as_str().unwrap();
    let path = format!("/api/v1/theory-tests/{id}/answers/{qid}");
    let late = w
        .api
        .json(
            Method::PUT,
            &path,
            w.as_(Who::Participant),
            json!({"text": "x"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
}

async fn bad_answers_are_rejected(w: World) {
    w.import_bank(scoring_bank()).await;
    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    let opened = w.start(Who::Participant, &id).await;
    let of_kind = |kind: &str| {
        let questions = opened["questions"].as_array().unwrap();
        let q = questions.iter().find(|q| q["kind"] == kind).unwrap();
        q["id"].as_str().unwrap().to_owned()
    };
    let cases = [
        (of_kind("single"), json!({"selected": [1, 2]}), "selected"),
        (of_kind("single"), json!({"selected": [9]}), "selected"),
        (of_kind("multiple"), json!({"selected": [1, 1]}), "selected"),
        (of_kind("multiple"), json!({"text": "Маска"}), "text"),
        (of_kind("short"), json!({"selected": [1]}), "selected"),
        (of_kind("short"), json!({"text": "a\u{202E}b"}), "text"),
        (of_kind("short"), json!({"answer": "x"}), "answer"),
    ];
    for (question, body, field) in cases {
        let path = format!("/api/v1/theory-tests/{id}/answers/{question}");
        let reply = w
            .api
            .json(Method::PUT, &path, w.as_(Who::Participant), body.clone())
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problems = reply.problems();
        assert!(
            problems.iter().any(|p| p.contains(field)),
            "{body}: {problems:?}"
        );
    }
    let stranger = uuid::Uuid::new_v4();
    let path = format!("/api/v1/theory-tests/{id}/answers/{stranger}");
    let body = json!({"selected": [1]});
    let reply = w
        .api
        .json(Method::PUT, &path, w.as_(Who::Participant), body)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let results = w
        .api
        .get(
            &format!("/api/v1/theory-tests/{id}/results"),
            w.as_(Who::Organiser),
        )
        .await;
    assert_eq!(results.json()["items"][0]["answered"], 0);
}

async fn failed_imports_change_nothing(w: World) {
    let organiser = w.as_(Who::Organiser);
    w.import_bank(scoring_bank()).await;
    let bank = format!("/api/v1/nominations/{}/theory-questions", w.nomination);
    let audit_before = w.audit_seq().await;

    // Each problem of a line names the line and column in its parameters, so that clients
    // can translate it. The message stays the English one.
    let csv = "kind;text;points;options;correct;accepted\n\
        single;Хороший вопрос;1;Да|Нет;1;\n\
        single;Плохой вопрос;1;Да|Нет;3;\n\
        essay;Эссе;1;;;\n\
        single;Дорогой вопрос;500;Да|Нет;1;\n";
    let path = format!("{bank}/import?format=csv");
    let payload = Payload::Raw("text/csv", csv.as_bytes());
    let reply = w
        .api
        .call(Method::POST, &path, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.code(), "invalid_input");
    let expected = [
        json!({"field": "questions", "code": "no_such_option",
            "message": "option 3 does not exist; options are numbered from 1",
            "params": {"line": "3", "field": "correct"}}),
        json!({"field": "questions", "code": "invalid_question_kind",
            "message": "must be single, multiple or short",
            "params": {"line": "4", "field": "kind"}}),
        json!({"field": "questions", "code": "out_of_range",
            "message": "must be a whole number from 1 to 100",
            "params": {"line": "5", "field": "points", "min": "1", "max": "100"}}),
    ];
    assert_eq!(reply.field_errors(), expected);

    let json_file = br#"{"questions": [{"kind": "single", "text": "x"}]}"#;
    let path = format!("{bank}/import?format=json");
    let payload = Payload::Raw("application/json", json_file);
    let reply = w
        .api
        .call(Method::POST, &path, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = &reply.field_errors()[0];
    assert_eq!(problem["field"], "questions");
    assert_eq!(problem["code"], "invalid_question");
    assert_eq!(problem["params"]["line"], "1");
    assert_eq!(problem["params"]["field"], "questions[0]");
    let detail = problem["params"]["detail"].as_str().unwrap();
    assert!(detail.contains("points"), "{detail}");
    assert_eq!(problem["message"], problem["params"]["detail"]);
    let path = format!("{bank}/import?format=xml");
    let payload = Payload::Raw("text/xml", b"<q/>");
    let reply = w
        .api
        .call(Method::POST, &path, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    let listed = w.api.get(&bank, organiser).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 3, "the bank is unchanged");
    assert_eq!(w.audit_seq().await, audit_before, "nothing was audited");

    // The export imports back as the same questions.
    let exported = w
        .api
        .get(&format!("{bank}/export?format=csv"), organiser)
        .await;
    assert_eq!(exported.status, StatusCode::OK);
    let path = format!("{bank}/import?format=csv");
    let payload = Payload::Raw("text/csv", &exported.body);
    let reply = w
        .api
        .call(Method::POST, &path, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
    let listed = w.api.get(&bank, organiser).await.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 6);
    for (a, b) in listed[..3].iter().zip(&listed[3..]) {
        for key in ["kind", "text", "options", "correct", "accepted", "points"] {
            assert_eq!(a[key], b[key], "{key}");
        }
    }

    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    w.start(Who::Participant, &id).await;
    let results = format!("/api/v1/theory-tests/{id}/results");
    let import = format!("{results}/import");
    let bad = format!(
        "participant;score;max_score\n{};8,5;10\n{};1;2\nЛПП-2027-9999;1;2\n{};11;10\n",
        w.person(Who::Other),
        w.person(Who::Participant),
        w.person(Who::Other),
    );
    let payload = Payload::Raw("text/csv", bad.as_bytes());
    let reply = w
        .api
        .call(Method::POST, &import, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = json!({"field": "results", "code": "score_above_max",
        "message": "must not exceed max_score", "params": {"line": "5", "field": "score"}});
    assert_eq!(reply.field_errors(), [expected]);
    let bad = format!(
        "participant;score;max_score\n{};8,5;10\n{};1;2\nЛПП-2027-9999;1;2\n",
        w.person(Who::Other),
        w.person(Who::Participant),
    );
    let payload = Payload::Raw("text/csv", bad.as_bytes());
    let reply = w
        .api
        .call(Method::POST, &import, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problems = reply.field_errors();
    let places: Vec<_> = problems
        .iter()
        .map(|p| (&p["field"], &p["params"]["line"], &p["params"]["field"]))
        .collect();
    assert_eq!(
        places,
        [
            (&json!("results"), &json!("3"), &json!("participant")),
            (&json!("results"), &json!("4"), &json!("participant")),
        ]
    );
    assert_eq!(problems[0]["code"], "test_taken_here");
    assert_eq!(problems[0]["params"]["value"], w.person(Who::Participant));
    assert_eq!(problems[1]["code"], "participant_not_found");
    assert_eq!(problems[1]["params"]["value"], "ЛПП-2027-9999");
    let listed = w.api.get(&results, organiser).await.json();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing imported"
    );

    let good = format!(
        "participant,score,max_score\n{},8.5,10\n",
        w.person(Who::Other)
    );
    let payload = Payload::Raw("text/csv", good.as_bytes());
    let reply = w
        .api
        .call(Method::POST, &import, Some(organiser), payload)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
    assert_eq!(reply.json()["imported"], 1);
    let listed = w.api.get(&results, organiser).await.json();
    let imported = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "imported")
        .unwrap()
        .clone();
    assert_eq!(imported["person_id"], w.person(Who::Other));
    assert_eq!(imported["score"].as_f64(), Some(8.5));
    assert_eq!(imported["max_score"].as_f64(), Some(10.0));
}

/// Values out of range are rejected with the limits named in `params`, beside the English
/// message.
async fn range_errors_name_limits(w: World) {
    let organiser = w.as_(Who::Organiser);
    let bank = format!("/api/v1/nominations/{}/theory-questions", w.nomination);
    let options: Vec<String> = (1..=21).map(|n| format!("Вариант {n}")).collect();
    let question = json!({"kind": "single", "text": "Вопрос", "options": options,
        "correct": [1], "points": 500});
    let reply = w.api.json(Method::POST, &bank, organiser, question).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = [
        json!({"field": "points", "code": "out_of_range",
            "message": "must be a whole number from 1 to 100",
            "params": {"min": "1", "max": "100"}}),
        json!({"field": "options", "code": "out_of_range",
            "message": "must list 2 to 20 options", "params": {"min": "2", "max": "20"}}),
    ];
    assert_eq!(reply.field_errors(), expected);

    let question = json!({"kind": "single", "text": "ж".repeat(4001),
        "options": ["Да", "н".repeat(1001)], "correct": [1], "points": 1});
    let reply = w.api.json(Method::POST, &bank, organiser, question).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = [
        json!({"field": "text", "code": "too_long",
            "message": "must have at most 4000 characters", "params": {"max": "4000"}}),
        json!({"field": "options", "code": "too_long",
            "message": "entry 2 must have at most 1000 characters",
            "params": {"entry": "2", "max": "1000"}}),
    ];
    assert_eq!(reply.field_errors(), expected);

    let path = format!("/api/v1/parts/{}/theory-tests", w.part);
    let starts_at = now_ms() + 60_000;
    for (body, field, max) in [
        (
            test_body(starts_at, 0, "common_start", None),
            "time_limit_secs",
            "604800",
        ),
        (
            test_body(starts_at, 600, "common_start", Some(0)),
            "question_count",
            "1000",
        ),
    ] {
        let reply = w.api.json(Method::POST, &path, organiser, body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        let problem = &reply.field_errors()[0];
        assert_eq!(problem["field"], field);
        assert_eq!(problem["code"], "out_of_range", "{field}");
        assert_eq!(
            problem["params"],
            json!({"min": "1", "max": max}),
            "{field}"
        );
    }
    let listed = w.api.get(&bank, organiser).await.json();
    assert_eq!(listed, json!([]), "nothing was added to the bank");
}

/// An accepted applicant, named by their application number in an imported results file.
async fn results_import_by_application_number(w: World) {
    let db = &w.api.contest;
    let organiser = db.sign_in("chief", PASSWORD).await.unwrap().info.actor();
    db.create_consent_text(&organiser, "2027-01", "Я согласен на обработку данных.")
        .await
        .unwrap();
    let form = NewApplication {
        nomination_id: w.nomination.clone(),
        full_name: "Андреев Андрей Андреевич".into(),
        birth_date: "1990-05-17".into(),
        employer: "ООО «Сварка»".into(),
        position: "Сварщик".into(),
        experience_years: Some(12),
        email: "andreev@example.org".into(),
        phone: "+7 900 123-45-67".into(),
        consent_version: "2027-01".into(),
        consent: true,
    };
    let submitted = db.submit_application(&form, Vec::new()).await.unwrap();
    let ids = [submitted.id];
    for step in [
        Transition::Register,
        Transition::StartReview,
        Transition::Accept,
    ] {
        db.transition_applications(&organiser, &ids, &step)
            .await
            .unwrap();
    }
    let application = db.application(&organiser, &ids[0]).await.unwrap();
    let number = application.number.clone().unwrap();
    let person = application.person_id.clone().unwrap().to_string();

    w.import_bank(scoring_bank()).await;
    let id = w
        .test(test_body(now_ms() - 1000, 600, "common_start", None))
        .await;
    let file = format!("participant;score;max_score\n{number};7,25;10\n");
    let import = format!("/api/v1/theory-tests/{id}/results/import");
    let payload = Payload::Raw("text/csv", file.as_bytes());
    let session = w.as_(Who::Organiser);
    let reply = w
        .api
        .call(Method::POST, &import, Some(session), payload)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
    let results = w
        .api
        .get(&format!("/api/v1/theory-tests/{id}/results"), session)
        .await
        .json();
    let row = &results["items"][0];
    assert_eq!(row["person_id"], person);
    assert_eq!(row["application_number"], number);
    assert_eq!(row["source"], "imported");
    assert_eq!(row["score"].as_f64(), Some(7.25));
}

async fn practice_part_takes_no_test(w: World) {
    let organiser = w.as_(Who::Organiser);
    let path = format!("/api/v1/nominations/{}/parts", w.nomination);
    let body = json!({"kind": "practice", "title": "Практика"});
    let part = w
        .api
        .json(Method::POST, &path, organiser, body)
        .await
        .json();
    let part = part["id"].as_str().unwrap();
    let path = format!("/api/v1/parts/{part}/theory-tests");
    let body = test_body(now_ms(), 600, "common_start", None);
    let reply = w.api.json(Method::POST, &path, organiser, body).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);

    let path = format!("/api/v1/parts/{}/theory-tests", w.part);
    let body = test_body(now_ms(), 600, "common_start", Some(5));
    let created = w
        .api
        .json(Method::POST, &path, organiser, body)
        .await
        .json();
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["kind"], "theory");
    let publish = format!("/api/v1/tasks/{id}/publish");
    let empty = w.api.post(&publish, organiser).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.fields(), ["question_count"]);
    w.import_bank(large_bank()).await;
    let published = w.api.post(&publish, organiser).await;
    assert_eq!(published.status, StatusCode::OK);

    // The task routes do not serve a theory test.
    let me = w.as_(Who::Participant);
    let as_task = w.api.post(&format!("/api/v1/tasks/{id}/open"), me).await;
    assert_eq!(as_task.status, StatusCode::NOT_FOUND);
    let mine = w.api.get("/api/v1/me/tasks", me).await.json();
    assert_eq!(mine["items"][0]["kind"], "theory");
}

/// The server stops before the deadline and starts after it; the attempt is then closed
/// at the deadline, later answers get `time_up`, and the results show the deadline as the
/// closing time.
async fn time_limit_passes_while_down(w: World) {
    w.import_bank(scoring_bank()).await;
    let limit_secs = 60;
    let starts_at = now_ms() - limit_secs * 1000 + 4000;
    let id = w
        .test(test_body(starts_at, limit_secs, "common_start", None))
        .await;
    let opened = w.start(Who::Participant, &id).await;
    let deadline = opened["deadline"].as_i64().unwrap();
    assert_eq!(deadline, starts_at + limit_secs * 1000);
    assert_eq!(opened["state"], "open");
    let question = opened["questions"][0]["id"].as_str().unwrap().to_owned();
    let me = w.as_(Who::Participant).clone();
    let organiser = w.as_(Who::Organiser).clone();

    let url = w.url.clone();
    w.api.contest.close().await;
    drop(w);
    let wait = deadline - now_ms() + 300;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;

    let api = Api::start(&url).await;
    let path = format!("/api/v1/theory-tests/{id}/answers/{question}");
    let late = api
        .json(Method::PUT, &path, &me, json!({"selected": [1]}))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.code(), "time_up");
    let finish = api
        .post(&format!("/api/v1/theory-tests/{id}/finish"), &me)
        .await;
    assert_eq!(finish.code(), "time_up");
    let reopened = api
        .post(&format!("/api/v1/theory-tests/{id}/open"), &me)
        .await;
    assert_eq!(reopened.json()["state"], "closed");
    assert_eq!(reopened.json()["closed_at"].as_i64(), Some(deadline));
    let results = api
        .get(&format!("/api/v1/theory-tests/{id}/results"), &organiser)
        .await
        .json();
    assert_eq!(results["items"][0]["closed_at"].as_i64(), Some(deadline));
    assert_eq!(results["items"][0]["answered"], 0);
}

async fn first_opening_closes_at_opens_until(w: World) {
    w.import_bank(scoring_bank()).await;
    let organiser = w.as_(Who::Organiser);
    let path = format!("/api/v1/parts/{}/theory-tests", w.part);
    let now = now_ms();

    let mut common = test_body(now - 1000, 600, "common_start", None);
    common["opens_until"] = json!(now + 60_000);
    let rejected = w.api.json(Method::POST, &path, organiser, common).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = rejected.field_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["field"], "opens_until");
    assert_eq!(errors[0]["code"], "opens_until_not_allowed");

    let opens_until = now + 1500;
    let mut body = test_body(now - 1000, 600, "first_opening", None);
    body["opens_until"] = json!(opens_until);
    let id = w.test(body).await;
    let opened = w.start(Who::Participant, &id).await;
    assert_eq!(opened["opens_until"].as_i64(), Some(opens_until));
    assert_eq!(opened["state"], "open");

    let sent = w.snapshot(Who::Other, &id, JPEG).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.json());
    let wait = opens_until - now_ms() + 200;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let open_path = format!("/api/v1/theory-tests/{id}/open");
    let late = w.api.post(&open_path, w.as_(Who::Other)).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.json());
    assert_eq!(late.json()["error"]["reason"], "opening_closed");
    // A participant who opened the test in time may open it again.
    let again = w.api.post(&open_path, w.as_(Who::Participant)).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.json());
}

async fn openapi_lists_theory_routes(w: World) {
    let doc = w
        .api
        .call(Method::GET, "/api/v1/openapi.json", None, Payload::Empty);
    let doc = doc.await.json();
    for path in [
        "/api/v1/nominations/{id}/theory-questions",
        "/api/v1/nominations/{id}/theory-questions/import",
        "/api/v1/nominations/{id}/theory-questions/export",
        "/api/v1/theory-questions/{id}",
        "/api/v1/parts/{id}/theory-tests",
        "/api/v1/theory-tests/{id}",
        "/api/v1/me/theory-tests",
        "/api/v1/theory-tests/{id}/intro",
        "/api/v1/theory-tests/{id}/identity",
        "/api/v1/theory-tests/{id}/open",
        "/api/v1/theory-tests/{id}/answers/{question_id}",
        "/api/v1/theory-tests/{id}/finish",
        "/api/v1/theory-tests/{id}/identity-checks",
        "/api/v1/identity-checks/{id}/snapshot",
        "/api/v1/identity-checks/{id}/review",
        "/api/v1/theory-tests/{id}/results",
        "/api/v1/theory-tests/{id}/results/csv",
        "/api/v1/theory-tests/{id}/results/import",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

scenarios!(
    multi_thread;
    every_endpoint_checks_role,
    questions_are_edited_until_drawn,
    identity_is_checked_by_hand,
    shuffling_is_stable_per_participant,
    answers_are_scored,
    bad_answers_are_rejected,
    failed_imports_change_nothing,
    range_errors_name_limits,
    results_import_by_application_number,
    practice_part_takes_no_test,
    time_limit_passes_while_down,
    first_opening_closes_at_opens_until,
    openapi_lists_theory_routes,
);
