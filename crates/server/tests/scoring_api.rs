//! Scoring over HTTP, on SQLite and on PostgreSQL: every scoring endpoint for every role,
//! and the whole path from sheets to the commission's approved protocol. Approval codes come
//! from the file outbox or by e-mail through a real SMTP server. PDFs are read back with
//! pdftotext.

mod api;

use std::path::{Path, PathBuf};

use axum::http::{header, Method, StatusCode};
use profstage_contest::{
    Actor, Database, NewExpertGroup, NewPerson, NewRoom, NewStagePart, PartKind, PersonId, Role,
    StageId,
};
use profstage_server::config::{Config, MailPassword, MailSecurity};
use serde_json::{json, Value};

use api::{scenarios, test_config, world, Api, Reply, Session};
use profstage_contest::testing::sqlite_url;

mod log_capture;
mod smtp;

use log_capture::Captured;
use smtp::{SmtpServer, TestCertificate};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Organiser,
    Chair,
    Member,
    Outsider,
    Participant,
    Commission,
    Support,
}

const EVERYONE: [Who; 7] = [
    Who::Organiser,
    Who::Chair,
    Who::Member,
    Who::Outsider,
    Who::Participant,
    Who::Commission,
    Who::Support,
];

/// A nomination with a theory and a practice part, each with criteria; an expert group of
/// a chair and a member; an expert of no group; two participants in both parts; and one
/// signed-in person of every other role.
struct World {
    api: Api,
    _data: tempfile::TempDir,
    outbox: PathBuf,
    sessions: Vec<(Who, Session)>,
    stage: String,
    theory: String,
    practice: String,
    theory_criterion: String,
    weld: String,
    safety: String,
    group: String,
    participants: Vec<String>,
}

impl World {
    fn session(&self, who: Who) -> &Session {
        &self.sessions.iter().find(|(w, _)| *w == who).unwrap().1
    }

    async fn call(&self, method: Method, path: &str, who: Who, body: Option<Value>) -> Reply {
        let session = self.session(who);
        self.api.call(method, path, Some(session), body).await
    }

    /// Sends a request that must succeed with `status`, and returns its reply.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        who: Who,
        body: Option<Value>,
        status: StatusCode,
    ) -> Reply {
        let reply = self.call(method.clone(), path, who, body).await;
        assert_eq!(
            reply.status,
            status,
            "{method} {path} as {who:?}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply
    }

    /// Returns the sequence number of the newest audit entry.
    async fn audit_seq(&self) -> i64 {
        let log = self
            .expect(
                Method::GET,
                "/api/v1/audit-log?limit=1",
                Who::Organiser,
                None,
                StatusCode::OK,
            )
            .await;
        log.json()["items"][0]["seq"].as_i64().unwrap()
    }

    /// Returns the criteria of a stage part as `(name, position)`, in order.
    async fn criteria_of(&self, part: &str) -> Vec<(String, i64)> {
        let path = format!("/api/v1/parts/{part}/criteria");
        let list = self
            .expect(Method::GET, &path, Who::Organiser, None, StatusCode::OK)
            .await
            .json();
        let items = list["items"].as_array().unwrap();
        let pairs = items.iter().map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            (name, c["position"].as_i64().unwrap())
        });
        pairs.collect()
    }

    /// Returns the signed-in person's protocols as `(kind, waiting)`.
    async fn my_protocols(&self, who: Who) -> Vec<(String, bool)> {
        let list = self
            .expect(
                Method::GET,
                "/api/v1/me/protocols",
                who,
                None,
                StatusCode::OK,
            )
            .await
            .json();
        let items = list["items"].as_array().unwrap();
        let pairs = items.iter().map(|p| {
            let kind = p["kind"].as_str().unwrap().to_owned();
            (kind, p["waiting"].as_bool().unwrap())
        });
        pairs.collect()
    }

    /// Saves and locks a complete sheet of `who` for participant `p` in both parts.
    async fn fill(&self, who: Who, p: usize, theory: i64, weld: i64, safe: bool) {
        let participant = &self.participants[p];
        let path = format!("/api/v1/parts/{}/sheets/{participant}", self.theory);
        let body = json!({"marks": [{"criterion_id": self.theory_criterion, "value": theory}]});
        let sheet = self
            .expect(Method::PUT, &path, who, Some(body), StatusCode::OK)
            .await;
        let lock = format!(
            "/api/v1/sheets/{}/lock",
            sheet.json()["id"].as_str().unwrap()
        );
        self.expect(Method::POST, &lock, who, None, StatusCode::OK)
            .await;
        let path = format!("/api/v1/parts/{}/sheets/{participant}", self.practice);
        let body = json!({"marks": [
            {"criterion_id": self.weld, "value": weld},
            {"criterion_id": self.safety, "value": safe}
        ], "comment": "Шов ровный"});
        let sheet = self
            .expect(Method::PUT, &path, who, Some(body), StatusCode::OK)
            .await;
        let lock = format!(
            "/api/v1/sheets/{}/lock",
            sheet.json()["id"].as_str().unwrap()
        );
        self.expect(Method::POST, &lock, who, None, StatusCode::OK)
            .await;
    }

    /// Fills and locks every sheet of the group, the chair generates its protocol, and
    /// returns the protocol's id.
    async fn locked_protocol(&self) -> String {
        use Who::*;
        self.fill(Chair, 0, 18, 9, true).await;
        self.fill(Chair, 1, 12, 6, true).await;
        self.fill(Member, 0, 16, 7, true).await;
        self.fill(Member, 1, 14, 8, false).await;
        let path = format!("/api/v1/expert-groups/{}/protocols", self.group);
        let generated = self
            .expect(Method::POST, &path, Chair, None, StatusCode::CREATED)
            .await
            .json();
        generated["id"].as_str().unwrap().to_owned()
    }

    /// Requests a code as `who` and reads it from the outbox, which names the recipient.
    async fn code(&self, who: Who, protocol: &str) -> String {
        let path = format!("/api/v1/protocols/{protocol}/approval-code");
        self.expect(Method::POST, &path, who, None, StatusCode::ACCEPTED)
            .await;
        let (code, message) = newest_code(&self.outbox);
        let name = match who {
            Who::Chair => "Председатель Смирнова",
            Who::Member => "Эксперт Кузнецов",
            Who::Commission => "Член комиссии Сидоров",
            _ => panic!("{who:?} approves no protocol"),
        };
        assert_eq!(message["to_name"], name, "{message}");
        code
    }

    async fn approve(&self, who: Who, protocol: &str) -> Value {
        let code = self.code(who, protocol).await;
        let path = format!("/api/v1/protocols/{protocol}/approve");
        let body = json!({"code": code});
        self.expect(Method::POST, &path, who, Some(body), StatusCode::OK)
            .await
            .json()
    }
}

/// Returns the code of the newest message in the outbox, and the message.
fn newest_code(outbox: &Path) -> (String, Value) {
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .expect("the outbox exists")
        .map(|e| e.unwrap())
        .collect();
    files.sort_by_key(|e| e.metadata().unwrap().modified().unwrap());
    let newest = files.last().expect("a message in the outbox");
    let message: Value = serde_json::from_slice(&std::fs::read(newest.path()).unwrap()).unwrap();
    assert_eq!(message["kind"], "approval_code");
    let code = message["code"].as_str().unwrap().to_owned();
    assert!(message["text"].as_str().unwrap().contains(&code));
    (code, message)
}

async fn signed_in(
    db: &Database,
    organiser: &Actor,
    role: Role,
    name: &str,
    stage: &StageId,
) -> (PersonId, Session) {
    let new = NewPerson {
        role: Some(role),
        full_name: name.to_owned(),
        region: Some("Тверская область".to_owned()),
        stage_id: (role == Role::CommissionMember).then(|| stage.clone()),
        ..NewPerson::default()
    };
    let person = db.create_person(organiser, &new).await.unwrap();
    let session = world::invited(db, organiser, &person.id).await;
    (person.id, session)
}

async fn world(url: String) -> World {
    world_with(url, |_| {}).await
}

/// Builds the world on a server whose configuration `configure` has changed.
async fn world_with(url: String, configure: impl FnOnce(&mut Config)) -> World {
    let data = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.recording.data_dir = data.path().to_owned();
    configure(&mut config);
    config.validate().unwrap();
    let api = Api::with_config(&url, config).await;
    let db = &api.contest;
    let (organiser, session) = world::organiser(db).await;
    let mut sessions = vec![(Who::Organiser, session)];
    let (stage, nomination) = world::nomination(db, &organiser).await;
    let mut parts = Vec::new();
    for (kind, title) in [
        (PartKind::Theory, "Теория"),
        (PartKind::Practice, "Практика"),
    ] {
        let new = NewStagePart {
            kind: Some(kind),
            title: title.into(),
        };
        parts.push(
            db.create_stage_part(&organiser, &nomination.id, &new)
                .await
                .unwrap(),
        );
    }

    let mut people = Vec::new();
    for (who, role, name) in [
        (Who::Chair, Role::Expert, "Председатель Смирнова"),
        (Who::Member, Role::Expert, "Эксперт Кузнецов"),
        (Who::Outsider, Role::Expert, "Эксперт Посторонний"),
        (Who::Participant, Role::Participant, "Участник Иванов"),
        (
            Who::Commission,
            Role::CommissionMember,
            "Член комиссии Сидоров",
        ),
        (Who::Support, Role::Support, "Поддержка Орлова"),
    ] {
        let (id, session) = signed_in(db, &organiser, role, name, &stage.id).await;
        people.push(id);
        sessions.push((who, session));
    }
    let group = NewExpertGroup {
        name: "Группа сварщиков".into(),
        chair_id: Some(people[0].clone()),
        member_ids: vec![people[1].clone()],
    };
    let group = db
        .create_expert_group(&organiser, &nomination.id, &group)
        .await
        .unwrap();
    let second = NewPerson {
        role: Some(Role::Participant),
        full_name: "Участник Петров".into(),
        ..NewPerson::default()
    };
    let second = db.create_person(&organiser, &second).await.unwrap().id;
    let participants = vec![people[3].clone(), second];
    for part in &parts {
        let room = NewRoom {
            title: part.title.clone(),
        };
        let room = db.create_room(&organiser, &part.id, &room).await.unwrap();
        for participant in &participants {
            db.assign(&organiser, &room.id, participant).await.unwrap();
        }
    }

    let mut w = World {
        api,
        outbox: data.path().join("outbox"),
        _data: data,
        sessions,
        stage: stage.id.to_string(),
        theory: parts[0].id.to_string(),
        practice: parts[1].id.to_string(),
        theory_criterion: String::new(),
        weld: String::new(),
        safety: String::new(),
        group: group.id.to_string(),
        participants: participants.iter().map(|p| p.to_string()).collect(),
    };
    let criterion = |part: String, body: Value| {
        let w = &w;
        async move {
            let path = format!("/api/v1/parts/{part}/criteria");
            let reply = w
                .expect(
                    Method::POST,
                    &path,
                    Who::Organiser,
                    Some(body),
                    StatusCode::CREATED,
                )
                .await;
            reply.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let theory_criterion = criterion(
        w.theory.clone(),
        json!({"name": "Тест по технологии", "max_points": 20, "kind": "points"}),
    )
    .await;
    let weld = criterion(
        w.practice.clone(),
        json!({"name": "Качество шва", "max_points": 10, "kind": "points"}),
    )
    .await;
    let safety = criterion(
        w.practice.clone(),
        json!({"name": "Охрана труда", "max_points": 5, "kind": "yes_no"}),
    )
    .await;
    w.theory_criterion = theory_criterion;
    w.weld = weld;
    w.safety = safety;
    w
}

/// A route: method, path, body, the roles allowed, and the status of an allowed request.
type Case<'a> = (Method, String, Option<Value>, &'a [Who], StatusCode);

async fn every_endpoint_checks_role(w: World) {
    use Who::*;
    let p1 = &w.participants[0];
    let (theory, practice, stage, group) = (&w.theory, &w.practice, &w.stage, &w.group);
    let half = json!({"marks": [{"criterion_id": w.weld, "value": 7}]});
    let sheet = w
        .expect(
            Method::PUT,
            &format!("/api/v1/parts/{practice}/sheets/{p1}"),
            Member,
            Some(half.clone()),
            StatusCode::OK,
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spare = w
        .expect(
            Method::POST,
            &format!("/api/v1/parts/{theory}/criteria"),
            Organiser,
            Some(json!({"name": "Запасной", "max_points": 3, "kind": "points"})),
            StatusCode::CREATED,
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let readers = &[Organiser, Chair, Member, Outsider, Commission, Support][..];
    let score_readers = &[Organiser, Chair, Member, Commission][..];
    let experts = &[Chair, Member][..];

    // Method, path, body, roles allowed, status of an allowed request. Every other role
    // gets 403 and changes nothing.
    let table: Vec<Case> = vec![
        (
            Method::GET,
            format!("/api/v1/parts/{practice}/criteria"),
            None,
            readers,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/parts/{theory}/criteria"),
            Some(json!({"name": "Устный ответ", "max_points": 5, "kind": "points"})),
            &[Organiser],
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            format!("/api/v1/criteria/{spare}"),
            Some(json!({"name": "Запасной критерий", "max_points": 4, "kind": "points"})),
            &[Organiser],
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/criteria/{spare}/move"),
            Some(json!({"position": 1})),
            &[Organiser],
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("/api/v1/criteria/{spare}"),
            None,
            &[Organiser],
            StatusCode::NO_CONTENT,
        ),
        (
            Method::GET,
            "/api/v1/me/protocols".to_owned(),
            None,
            &[Organiser, Chair, Member, Outsider, Commission],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/stages/{stage}/scoring-rule"),
            None,
            readers,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/api/v1/stages/{stage}/scoring-rule"),
            Some(json!({"aggregation": "median"})),
            &[Organiser],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/parts/{practice}/sheets/{p1}"),
            None,
            experts,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/api/v1/parts/{practice}/sheets/{p1}"),
            Some(half),
            experts,
            StatusCode::OK,
        ),
        // The sheet misses a mark, so its expert may try but not lock it.
        (
            Method::POST,
            format!("/api/v1/sheets/{sheet}/lock"),
            None,
            &[Member],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // The sheet is open, so the chair may try but not reopen it.
        (
            Method::POST,
            format!("/api/v1/sheets/{sheet}/reopen"),
            Some(json!({"reason": "проверка"})),
            &[Chair],
            StatusCode::CONFLICT,
        ),
        (
            Method::GET,
            "/api/v1/me/scoring".to_owned(),
            None,
            &[Organiser, Chair, Member, Outsider],
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/expert-groups/{group}/sheets"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/sheets/{sheet}/pdf"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/expert-groups/{group}/summary"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/expert-groups/{group}/summary/pdf"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/expert-groups/{group}/protocols"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        // Not every sheet is locked, so the chair may try but not generate the protocol.
        (
            Method::POST,
            format!("/api/v1/expert-groups/{group}/protocols"),
            None,
            &[Chair],
            StatusCode::CONFLICT,
        ),
    ];
    check_table(&w, table).await;
}

/// Checks `table` like [`every_endpoint_checks_role`]: every role not allowed gets 403, and
/// each allowed role gets the given status.
async fn check_table(w: &World, table: Vec<Case<'_>>) {
    for (method, path, body, allowed, status) in table {
        for who in EVERYONE.into_iter().filter(|w| !allowed.contains(w)) {
            let reply = w.call(method.clone(), &path, who, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {path} as {who:?}"
            );
            assert_eq!(reply.json()["error"]["code"], "forbidden");
        }
        for who in allowed {
            w.expect(method.clone(), &path, *who, body.clone(), status)
                .await;
        }
    }
}

/// Checks the protocol endpoints by role: group members request codes and approve, only the
/// chair hands over, and after the hand-over only the stage's commission members approve.
async fn protocol_endpoints_check_role(w: World) {
    use Who::*;
    let protocol = w.locked_protocol().await;
    let score_readers = &[Organiser, Chair, Member, Commission][..];
    // Six digits pass the format check. A random code equals it once in a million.
    let wrong_code = Some(json!({"code": "000000"}));

    let table: Vec<Case> = vec![
        (
            Method::GET,
            format!("/api/v1/protocols/{protocol}"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/protocols/{protocol}/pdf"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/protocols/{protocol}/approval-code"),
            None,
            &[Chair, Member],
            StatusCode::ACCEPTED,
        ),
        // A wrong code: the approvers may try, and fail.
        (
            Method::POST,
            format!("/api/v1/protocols/{protocol}/approve"),
            wrong_code.clone(),
            &[Chair, Member],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // No member has approved yet, so the chair may try but not hand over.
        (
            Method::POST,
            format!("/api/v1/protocols/{protocol}/hand-over"),
            None,
            &[Chair],
            StatusCode::CONFLICT,
        ),
    ];
    check_table(&w, table).await;

    w.approve(Chair, &protocol).await;
    w.approve(Member, &protocol).await;
    let hand_over = format!("/api/v1/protocols/{protocol}/hand-over");
    let commission = w
        .expect(Method::POST, &hand_over, Chair, None, StatusCode::CREATED)
        .await
        .json();
    let commission = commission["id"].as_str().unwrap().to_owned();
    let table: Vec<Case> = vec![
        (
            Method::GET,
            format!("/api/v1/protocols/{commission}"),
            None,
            score_readers,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/protocols/{commission}/approval-code"),
            None,
            &[Commission],
            StatusCode::ACCEPTED,
        ),
        (
            Method::POST,
            format!("/api/v1/protocols/{commission}/approve"),
            wrong_code,
            &[Commission],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    check_table(&w, table).await;
}

async fn workspace_lists_participants_and_sheets(w: World) {
    let p1 = &w.participants[0];
    let path = format!("/api/v1/parts/{}/sheets/{p1}", w.practice);
    let body = json!({"marks": [{"criterion_id": w.weld, "value": 7}]});
    let saved = w
        .expect(Method::PUT, &path, Who::Member, Some(body), StatusCode::OK)
        .await
        .json();

    let workspace = w
        .expect(
            Method::GET,
            "/api/v1/me/scoring",
            Who::Member,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    let groups = workspace["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(group["id"], w.group.as_str());
    assert_eq!(group["chair"], false);
    assert_eq!(group["profession"], "Сварщик");
    let parts = group["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    // Parts created in the same millisecond have no defined order.
    let practice = parts.iter().find(|p| p["id"] == w.practice.as_str());
    let practice = practice.expect("the practice part is listed");
    assert_eq!(practice["criteria"].as_array().unwrap().len(), 2);
    let names: Vec<&str> = practice["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Участник Иванов", "Участник Петров"]);
    let ivanov = &practice["participants"][0];
    assert_eq!(ivanov["room_title"], "Практика");
    assert_eq!(ivanov["sheet"]["id"], saved["id"]);
    assert_eq!(ivanov["sheet"]["marks"], 1);
    assert!(ivanov["sheet"]["locked_at"].is_null());
    assert!(practice["participants"][1]["sheet"].is_null());

    let chair = w
        .expect(
            Method::GET,
            "/api/v1/me/scoring",
            Who::Chair,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(chair["groups"][0]["chair"], true);
    let chair_parts = chair["groups"][0]["parts"].as_array().unwrap();
    let chair_practice = chair_parts.iter().find(|p| p["id"] == w.practice.as_str());
    assert!(
        chair_practice.unwrap()["participants"][0]["sheet"].is_null(),
        "the chair sees only their own sheets in the workspace"
    );
    let outsider = w
        .expect(
            Method::GET,
            "/api/v1/me/scoring",
            Who::Outsider,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(outsider["groups"], json!([]));

    let sheets = w
        .expect(
            Method::GET,
            &format!("/api/v1/expert-groups/{}/sheets", w.group),
            Who::Chair,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    let items = sheets["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["expert_name"], "Эксперт Кузнецов");
    assert_eq!(items[0]["participant_name"], "Участник Иванов");
    let bad = w
        .call(
            Method::GET,
            "/api/v1/expert-groups/not-a-uuid/sheets",
            Who::Chair,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn bad_marks_are_rejected(w: World) {
    let p1 = &w.participants[0];
    let path = format!("/api/v1/parts/{}/sheets/{p1}", w.practice);
    let cases = [
        json!({"marks": [{"criterion_id": w.weld, "value": 11}]}),
        json!({"marks": [{"criterion_id": w.weld, "value": true}]}),
        json!({"marks": [{"criterion_id": w.safety, "value": 5}]}),
        json!({"marks": [{"criterion_id": w.theory_criterion, "value": 1}]}),
        json!({"marks": [{"criterion_id": w.weld, "value": 1}, {"criterion_id": w.weld, "value": 2}]}),
    ];
    for body in cases {
        let reply = w
            .expect(
                Method::PUT,
                &path,
                Who::Member,
                Some(body.clone()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        let fields = reply.json()["error"]["fields"].clone();
        assert!(
            fields[0]["field"].as_str().unwrap().starts_with("marks["),
            "{body}: {fields}"
        );
    }
    for body in [
        json!({"marks": [{"criterion_id": w.weld, "value": 2.5}]}),
        json!({"mark": []}),
    ] {
        let reply = w
            .call(Method::PUT, &path, Who::Member, Some(body.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let reply = w
        .expect(Method::GET, &path, Who::Member, None, StatusCode::OK)
        .await;
    assert!(
        reply.json()["sheet"].is_null(),
        "rejected saves create no sheet"
    );
    let reopen = w
        .call(
            Method::POST,
            "/api/v1/sheets/not-a-uuid/reopen",
            Who::Chair,
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(reopen.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Runs pdftotext on a PDF and returns its text.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("document.pdf");
    std::fs::write(&file, bytes).unwrap();
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", file.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext runs; scripts/install-deps installs poppler-utils");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_subset_font(&file, bytes.len());
    String::from_utf8(output.stdout).unwrap()
}

/// Checks with pdffonts that the one font is embedded as a subset with a ToUnicode map, and
/// that the file is far smaller than the whole font (about 750 KB).
fn assert_subset_font(file: &std::path::Path, size: usize) {
    let output = std::process::Command::new("pdffonts")
        .arg(file)
        .output()
        .expect("pdffonts runs; scripts/install-deps installs poppler-utils");
    let listing = String::from_utf8(output.stdout).unwrap();
    let fonts: Vec<&str> = listing.lines().skip(2).collect();
    assert_eq!(fonts.len(), 1, "{listing}");
    let columns: Vec<&str> = fonts[0].split_whitespace().collect();
    assert!(columns[0].ends_with("+DejaVuSans"), "{listing}");
    // The emb, sub and uni columns come before the object number and generation.
    assert_eq!(
        columns[columns.len() - 5..columns.len() - 2],
        ["yes", "yes", "yes"],
        "{listing}"
    );
    assert!(size < 100_000, "a PDF of {size} bytes");
}

fn assert_contains(text: &str, wanted: &[&str]) {
    for piece in wanted {
        assert!(text.contains(piece), "{piece:?} missing from:\n{text}");
    }
}

async fn protocols_are_approved_with_codes(w: World) {
    use Who::*;
    // Chair and member mark both participants; participant 2 fails safety with the member.
    w.fill(Chair, 0, 18, 9, true).await;
    w.fill(Chair, 1, 12, 6, true).await;
    w.fill(Member, 0, 16, 7, true).await;
    w.fill(Member, 1, 14, 8, false).await;

    let summary = w
        .expect(
            Method::GET,
            &format!("/api/v1/expert-groups/{}/summary", w.group),
            Commission,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(summary["complete"], true);
    // Rows go by name.
    let ivanov = &summary["rows"][0];
    assert_eq!(ivanov["full_name"], "Участник Иванов");
    assert_eq!(ivanov["total"], 1700 + 800 + 500);
    let petrov = &summary["rows"][1];
    assert_eq!(petrov["full_name"], "Участник Петров");
    assert_eq!(petrov["total"], 1300 + 700 + 250);
    assert_eq!(
        (ivanov["rank"].as_i64(), petrov["rank"].as_i64()),
        (Some(1), Some(2))
    );

    let generated = w
        .expect(
            Method::POST,
            &format!("/api/v1/expert-groups/{}/protocols", w.group),
            Chair,
            None,
            StatusCode::CREATED,
        )
        .await
        .json();
    let protocol = generated["id"].as_str().unwrap().to_owned();
    let hash = generated["content_hash"].as_str().unwrap().to_owned();

    let outsider = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/approval-code"),
            Commission,
            None,
        )
        .await;
    assert_eq!(
        outsider.status,
        StatusCode::FORBIDDEN,
        "commission members do not approve the group's protocol"
    );
    let wrong = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/approve"),
            Chair,
            Some(json!({"code": "12345"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let outsider_wrong = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/approve"),
            Commission,
            Some(json!({"code": "12345"})),
        )
        .await;
    assert_eq!(
        outsider_wrong.status,
        StatusCode::FORBIDDEN,
        "access is checked before the code's format"
    );

    w.approve(Chair, &protocol).await;
    let early = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/hand-over"),
            Chair,
            None,
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::CONFLICT,
        "the member has not approved"
    );
    let approved = w.approve(Member, &protocol).await;
    assert_eq!(approved["approved"], true);
    let member_hands = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/hand-over"),
            Member,
            None,
        )
        .await;
    assert_eq!(member_hands.status, StatusCode::FORBIDDEN);
    let commission = w
        .expect(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/hand-over"),
            Chair,
            None,
            StatusCode::CREATED,
        )
        .await
        .json();
    let commission_id = commission["id"].as_str().unwrap().to_owned();
    assert_eq!(commission["kind"], "commission");
    let by_expert = w
        .call(
            Method::POST,
            &format!("/api/v1/protocols/{commission_id}/approval-code"),
            Chair,
            None,
        )
        .await;
    assert_eq!(by_expert.status, StatusCode::FORBIDDEN);
    let done = w.approve(Commission, &commission_id).await;
    assert_eq!(done["approved"], true);

    // PDFs: the sheet, the summary and both protocols.
    let sheet = w
        .expect(
            Method::GET,
            &format!("/api/v1/parts/{}/sheets/{}", w.practice, w.participants[1]),
            Member,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    let sheet_id = sheet["sheet"]["id"].as_str().unwrap();
    let reply = w
        .expect(
            Method::GET,
            &format!("/api/v1/sheets/{sheet_id}/pdf"),
            Organiser,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(reply.header(header::CONTENT_TYPE), "application/pdf");
    let text = pdf_text(&reply.body);
    assert_contains(
        &text,
        &[
            "Оценочный лист",
            "Участник Петров",
            "Эксперт Кузнецов",
            "Качество шва",
            "Охрана труда",
            "нет (0)",
            "Итого: 8 из 15",
            "Шов ровный",
        ],
    );

    let reply = w
        .expect(
            Method::GET,
            &format!("/api/v1/expert-groups/{}/summary/pdf", w.group),
            Commission,
            None,
            StatusCode::OK,
        )
        .await;
    let text = pdf_text(&reply.body);
    assert_contains(
        &text,
        &[
            "Сводная ведомость",
            "Сварщик",
            "Тверская область",
            "Участник Иванов",
            "Участник Петров",
            "30.00",
            "22.50",
            "17.00",
            "2.50",
            "Председатель Смирнова (председатель)",
        ],
    );

    let reply = w
        .expect(
            Method::GET,
            &format!("/api/v1/protocols/{protocol}/pdf"),
            Member,
            None,
            StatusCode::OK,
        )
        .await;
    let text = pdf_text(&reply.body);
    assert_contains(
        &text,
        &[
            "Протокол экспертной группы",
            "Участник Иванов",
            "30.00",
            "22.50",
            "Председатель Смирнова",
            "Эксперт Кузнецов",
            &hash,
            "UTC",
        ],
    );
    assert!(
        !text.contains("не подтверждено"),
        "both members approved:\n{text}"
    );

    let reply = w
        .expect(
            Method::GET,
            &format!("/api/v1/protocols/{commission_id}/pdf"),
            Commission,
            None,
            StatusCode::OK,
        )
        .await;
    let text = pdf_text(&reply.body);
    assert_contains(
        &text,
        &[
            "Протокол региональной комиссии",
            "Член комиссии Сидоров",
            "Участник Петров",
            "22.50",
            &hash,
            commission["content_hash"].as_str().unwrap(),
        ],
    );
}

async fn criteria_are_edited_moved_and_deleted(w: World) {
    use Who::*;
    let practice = &w.practice;
    let create = format!("/api/v1/parts/{practice}/criteria");
    let body = json!({"name": "Чистота рабочего места", "max_points": 3, "kind": "yes_no"});
    let tidy = w
        .expect(
            Method::POST,
            &create,
            Organiser,
            Some(body),
            StatusCode::CREATED,
        )
        .await
        .json();
    let tidy_path = format!("/api/v1/criteria/{}", tidy["id"].as_str().unwrap());
    assert_eq!(tidy["position"], 3);

    // An unmarked criterion changes every field.
    let body = json!({"name": " Порядок на посту ", "description": "Инструмент убран",
        "max_points": 4, "kind": "points"});
    let edited = w
        .expect(
            Method::PUT,
            &tidy_path,
            Organiser,
            Some(body),
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(edited["name"], "Порядок на посту");
    assert_eq!(edited["description"], "Инструмент убран");
    assert_eq!(edited["max_points"], 4);
    assert_eq!(edited["kind"], "points");
    assert_eq!(edited["position"], 3);

    // Moving shifts the criteria in between.
    let move_path = format!("{tidy_path}/move");
    w.expect(
        Method::POST,
        &move_path,
        Organiser,
        Some(json!({"position": 1})),
        StatusCode::OK,
    )
    .await;
    let order = w.criteria_of(practice).await;
    let expected = [
        ("Порядок на посту", 1),
        ("Качество шва", 2),
        ("Охрана труда", 3),
    ];
    let expected: Vec<(String, i64)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    assert_eq!(order, expected);
    w.expect(
        Method::POST,
        &move_path,
        Organiser,
        Some(json!({"position": 2})),
        StatusCode::OK,
    )
    .await;
    let names: Vec<String> = w
        .criteria_of(practice)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["Качество шва", "Порядок на посту", "Охрана труда"]);

    // Invalid input names its fields, and rejected requests change and audit nothing.
    let before = w.audit_seq().await;
    let rejected: Vec<(Method, String, Option<Value>, StatusCode)> = vec![
        (
            Method::PUT,
            tidy_path.clone(),
            Some(json!({"name": "", "max_points": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            move_path.clone(),
            Some(json!({"position": 4})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            move_path.clone(),
            Some(json!({"position": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/api/v1/criteria/00000000-0000-4000-8000-000000000000".to_owned(),
            Some(json!({"name": "Нет", "max_points": 1, "kind": "points"})),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, body, status) in rejected {
        w.expect(method, &path, Organiser, body, status).await;
    }
    let invalid = w
        .call(
            Method::PUT,
            &tidy_path,
            Organiser,
            Some(json!({"name": "", "max_points": 0})),
        )
        .await
        .json();
    let fields: Vec<&str> = invalid["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "max_points", "kind"]);
    assert_eq!(w.audit_seq().await, before);
    let names: Vec<String> = w
        .criteria_of(practice)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["Качество шва", "Порядок на посту", "Охрана труда"]);

    // A marked criterion keeps its scale and stays; its name may still change.
    let p1 = &w.participants[0];
    let sheet = format!("/api/v1/parts/{practice}/sheets/{p1}");
    let marks = json!({"marks": [{"criterion_id": tidy["id"], "value": 2}]});
    w.expect(Method::PUT, &sheet, Member, Some(marks), StatusCode::OK)
        .await;
    let rescale = json!({"name": "Порядок на посту", "max_points": 2, "kind": "points"});
    let conflict = w
        .expect(
            Method::PUT,
            &tidy_path,
            Organiser,
            Some(rescale),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(conflict.json()["error"]["code"], "conflict");
    w.expect(
        Method::DELETE,
        &tidy_path,
        Organiser,
        None,
        StatusCode::CONFLICT,
    )
    .await;
    let rename = json!({"name": "Порядок", "max_points": 4, "kind": "points"});
    let renamed = w
        .expect(
            Method::PUT,
            &tidy_path,
            Organiser,
            Some(rename),
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(renamed["name"], "Порядок");

    // Without marks it is deleted, and the criteria after it close the gap.
    let unmark = json!({"marks": [{"criterion_id": tidy["id"], "value": null}]});
    w.expect(Method::PUT, &sheet, Member, Some(unmark), StatusCode::OK)
        .await;
    w.expect(
        Method::DELETE,
        &tidy_path,
        Organiser,
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    let order = w.criteria_of(practice).await;
    let expected = [("Качество шва", 1), ("Охрана труда", 2)];
    let expected: Vec<(String, i64)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    assert_eq!(order, expected);
    w.expect(
        Method::DELETE,
        &tidy_path,
        Organiser,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn my_protocols_list_waiting_approvals(w: World) {
    use Who::*;
    for who in [Chair, Member, Commission, Outsider] {
        assert_eq!(w.my_protocols(who).await, [], "{who:?} before any protocol");
    }
    let protocol = w.locked_protocol().await;

    let group = [("expert_group".to_owned(), true)];
    assert_eq!(w.my_protocols(Chair).await, group);
    assert_eq!(w.my_protocols(Member).await, group);
    assert_eq!(w.my_protocols(Outsider).await, []);
    assert_eq!(w.my_protocols(Commission).await, [], "not handed over yet");

    w.approve(Chair, &protocol).await;
    assert_eq!(
        w.my_protocols(Chair).await,
        [("expert_group".to_owned(), false)]
    );
    assert_eq!(w.my_protocols(Member).await, group);
    w.approve(Member, &protocol).await;
    let handed = w
        .expect(
            Method::POST,
            &format!("/api/v1/protocols/{protocol}/hand-over"),
            Chair,
            None,
            StatusCode::CREATED,
        )
        .await
        .json();
    let commission = handed["id"].as_str().unwrap().to_owned();

    let list = w
        .expect(
            Method::GET,
            "/api/v1/me/protocols",
            Commission,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    let item = &list["items"][0];
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["id"], commission.as_str());
    assert_eq!(item["kind"], "commission");
    assert_eq!(item["waiting"], true);
    assert_eq!(item["group_name"], "Группа сварщиков");
    assert_eq!(item["profession"], "Сварщик");
    assert_eq!(item["region"], "Тверская область");
    assert_eq!(item["my_approval_at"], Value::Null);
    assert!(
        item.get("content").is_none(),
        "the list leaves the content out"
    );

    w.approve(Commission, &commission).await;
    let list = w
        .expect(
            Method::GET,
            "/api/v1/me/protocols",
            Commission,
            None,
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(list["items"][0]["waiting"], false);
    assert_eq!(list["items"][0]["approved"], true);
    assert!(list["items"][0]["my_approval_at"].is_i64());
    assert_eq!(
        w.my_protocols(Member).await,
        [("expert_group".to_owned(), false)],
        "a handed over protocol waits for nobody"
    );
}

async fn openapi_lists_scoring(w: World) {
    let reply = w
        .expect(
            Method::GET,
            "/api/v1/openapi.json",
            Who::Support,
            None,
            StatusCode::OK,
        )
        .await;
    let document = reply.json();
    for path in [
        "/api/v1/parts/{id}/criteria",
        "/api/v1/parts/{id}/sheets/{participant_id}",
        "/api/v1/sheets/{id}/reopen",
        "/api/v1/expert-groups/{id}/summary/pdf",
        "/api/v1/protocols/{id}/approval-code",
        "/api/v1/protocols/{id}/hand-over",
        "/api/v1/me/scoring",
        "/api/v1/me/protocols",
        "/api/v1/criteria/{id}",
        "/api/v1/criteria/{id}/move",
        "/api/v1/expert-groups/{id}/sheets",
    ] {
        assert!(
            document["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(document["components"]["schemas"]["Summary"].is_object());
}

/// The chair's e-mail address in the mail tests; the member has none.
const CHAIR_EMAIL: &str = "smirnova@example.org";

/// Builds a world on SQLite whose server sends codes through the SMTP server at `port`,
/// with [`CHAIR_EMAIL`] in the chair's record, and whose mail settings `configure` has
/// changed.
async fn mail_world(folder: &Path, port: u16, configure: impl FnOnce(&mut Config)) -> World {
    let url = sqlite_url(folder);
    let w = world_with(url.clone(), |config| {
        config.mail.host = Some("127.0.0.1".to_owned());
        config.mail.port = Some(port);
        config.mail.security = MailSecurity::None;
        config.mail.from = Some("Профстейдж <noreply@example.org>".to_owned());
        config.mail.timeout_secs = 5;
        configure(config);
    })
    .await;
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE people SET email = $1 WHERE full_name = $2")
        .bind(CHAIR_EMAIL)
        .bind("Председатель Смирнова")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    w
}

/// Sends a code to the chair through an SMTP server that speaks TLS with `certificate`,
/// and returns the reply status and the messages the server received.
async fn tls_delivery(
    certificate: &TestCertificate,
    security: MailSecurity,
    trust: bool,
) -> (StatusCode, usize) {
    let args = match security {
        MailSecurity::Tls => certificate.smtps_args(),
        _ => certificate.starttls_args(),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let smtp = SmtpServer::start(&args);
    let folder = tempfile::tempdir().unwrap();
    let w = mail_world(folder.path(), smtp.port(), |config| {
        config.mail.security = security;
        config.mail.ca_file = trust.then(|| certificate.cert.clone());
    })
    .await;
    let protocol = w.locked_protocol().await;
    let path = format!("/api/v1/protocols/{protocol}/approval-code");
    let reply = w.call(Method::POST, &path, Who::Chair, None).await;
    (reply.status, smtp.messages().len())
}

/// Counts the approval codes stored for any protocol.
async fn stored_codes(folder: &Path) -> i64 {
    let pool = sqlx::AnyPool::connect(&sqlite_url(folder)).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM approval_codes")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

/// Returns the six-digit code in a message body.
fn code_in(body: &str) -> String {
    let digits: Vec<&str> = body
        .split(|c: char| !c.is_ascii_digit())
        .filter(|word| word.len() == 6)
        .collect();
    assert!(!digits.is_empty(), "no 6-digit code in {body:?}");
    assert!(digits.iter().all(|d| *d == digits[0]), "{body:?}");
    digits[0].to_owned()
}

/// Requests a code as the chair from a server that sends through the SMTP server at
/// `port`, and returns the protocol, the reply and the log of the request.
async fn chair_requests_code(folder: &Path, port: u16) -> (String, Reply, String) {
    let w = mail_world(folder, port, |_| {}).await;
    let protocol = w.locked_protocol().await;
    let path = format!("/api/v1/protocols/{protocol}/approval-code");
    let (log, _guard) = Captured::install(tracing::Level::DEBUG);
    let reply = w.call(Method::POST, &path, Who::Chair, None).await;
    (protocol, reply, log.text())
}

#[tokio::test]
async fn code_is_mailed_to_approver() {
    let smtp = SmtpServer::start(&[]);
    let folder = tempfile::tempdir().unwrap();
    let w = mail_world(folder.path(), smtp.port(), |_| {}).await;
    let (log, _guard) = Captured::install(tracing::Level::DEBUG);
    let protocol = w.locked_protocol().await;
    let path = format!("/api/v1/protocols/{protocol}/approval-code");

    w.expect(Method::POST, &path, Who::Chair, None, StatusCode::ACCEPTED)
        .await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert_eq!(mail.envelope_to, CHAIR_EMAIL);
    assert_eq!(mail.to, CHAIR_EMAIL);
    assert_eq!(mail.from, "Профстейдж <noreply@example.org>");
    assert_eq!(
        mail.subject,
        "Код подтверждения протокола / Protocol approval code"
    );
    assert_eq!(mail.content_type, "text/plain");
    assert!(
        mail.body.contains("Ваш код подтверждения протокола"),
        "{}",
        mail.body
    );
    assert!(
        mail.body.contains("Your protocol approval code"),
        "{}",
        mail.body
    );
    assert!(!w.outbox.exists(), "no outbox while mail is configured");

    let code = code_in(&mail.body);
    let approve = format!("/api/v1/protocols/{protocol}/approve");
    let approved = w
        .expect(
            Method::POST,
            &approve,
            Who::Chair,
            Some(json!({"code": code})),
            StatusCode::OK,
        )
        .await
        .json();
    let chair = approved["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["full_name"] == "Председатель Смирнова")
        .unwrap();
    assert!(chair["approved_at"].is_i64(), "{approved}");

    // The member's record has no address: no code, and nothing sent.
    let reply = w.call(Method::POST, &path, Who::Member, None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.json()["error"]["reason"], "no_email_address");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(stored_codes(folder.path()).await, 1);

    let log = log.text();
    assert!(!log.contains(&code), "the code reached the log: {log}");
    assert!(
        !log.contains("smirnova"),
        "the address reached the log: {log}"
    );
}

#[tokio::test]
async fn code_is_mailed_over_tls() {
    let certificate = TestCertificate::generate();
    for security in [MailSecurity::Starttls, MailSecurity::Tls] {
        let trusted = tls_delivery(&certificate, security, true).await;
        assert_eq!(trusted, (StatusCode::ACCEPTED, 1), "{security:?}");

        // Without the private root the certificate is unknown, and nothing is sent.
        let untrusted = tls_delivery(&certificate, security, false).await;
        assert_eq!(
            untrusted,
            (StatusCode::SERVICE_UNAVAILABLE, 0),
            "{security:?}"
        );
    }
}

/// Sends a code to the chair through an SMTP server that requires STARTTLS and a login as
/// `mailer`, logging in with `password`. A failed login gets no reply when `silent`.
/// Returns the reply, the messages the server received, and the log of the request.
async fn login_delivery(password: &str, silent: bool) -> (Reply, usize, String) {
    let certificate = TestCertificate::generate();
    let smtp = SmtpServer::start_with_login(&certificate, "mailer", "secret-Пароль", silent);
    let folder = tempfile::tempdir().unwrap();
    let w = mail_world(folder.path(), smtp.port(), |config| {
        config.mail.security = MailSecurity::Starttls;
        config.mail.ca_file = Some(certificate.cert.clone());
        config.mail.username = Some("mailer".to_owned());
        config.mail.password = Some(MailPassword::new(password));
        config.mail.timeout_secs = 1;
    })
    .await;
    let protocol = w.locked_protocol().await;
    let path = format!("/api/v1/protocols/{protocol}/approval-code");
    let (log, _guard) = Captured::install(tracing::Level::DEBUG);
    let reply = w.call(Method::POST, &path, Who::Chair, None).await;
    (reply, smtp.messages().len(), log.text())
}

#[tokio::test]
async fn code_is_mailed_after_login() {
    let (reply, messages, _) = login_delivery("secret-Пароль", false).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.json());
    assert_eq!(messages, 1);

    let (reply, messages, log) = login_delivery("wrong-password", false).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.json());
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "code_not_sent");
    assert_eq!(error["reason"], "mail_rejected");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("535"), "{message}");
    assert_eq!(messages, 0);
    assert!(
        !log.contains("wrong-password"),
        "the password reached the log: {log}"
    );
}

#[tokio::test]
async fn silent_mail_server_times_out() {
    let started = std::time::Instant::now();
    let (reply, messages, log) = login_delivery("wrong-password", true).await;
    let waited = started.elapsed();
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.json()
    );
    assert_eq!(reply.json()["error"]["reason"], "mail_unavailable");
    assert_eq!(messages, 0);
    assert!(log.contains("timed out after 4 s"), "{log}");
    // Four steps of 1 s, plus the setup of the world; the server would wait 300 s.
    assert!(
        waited < std::time::Duration::from_secs(60),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn unreachable_mail_server_withdraws_code() {
    let port = smtp::free_loopback_addr().port();
    let folder = tempfile::tempdir().unwrap();
    let (protocol, reply, log) = chair_requests_code(folder.path(), port).await;

    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "code_not_sent");
    assert_eq!(error["reason"], "mail_unavailable");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("could not be reached"), "{message}");
    assert_eq!(
        stored_codes(folder.path()).await,
        0,
        "the code is withdrawn"
    );
    let outbox = folder.path().join("outbox");
    assert!(!outbox.exists(), "no fallback to the outbox");

    assert!(log.contains("failed to deliver an approval code"), "{log}");
    assert!(log.contains(&protocol), "{log}");
    assert!(
        !log.contains("smirnova"),
        "the address reached the log: {log}"
    );
}

#[tokio::test]
async fn rejected_message_withdraws_code() {
    // aiosmtpd rejects messages over 300 bytes with 552, after accepting the recipient.
    let smtp = SmtpServer::start(&["-s", "300"]);
    let folder = tempfile::tempdir().unwrap();
    let (_, reply, log) = chair_requests_code(folder.path(), smtp.port()).await;

    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "code_not_sent");
    assert_eq!(error["reason"], "mail_rejected");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("552"), "{message}");
    assert!(smtp.messages().is_empty());
    assert_eq!(
        stored_codes(folder.path()).await,
        0,
        "the code is withdrawn"
    );

    assert!(log.contains("552"), "{log}");
    assert!(
        !log.contains("smirnova"),
        "the address reached the log: {log}"
    );
}

scenarios!(
    every_endpoint_checks_role,
    protocol_endpoints_check_role,
    workspace_lists_participants_and_sheets,
    bad_marks_are_rejected,
    protocols_are_approved_with_codes,
    criteria_are_edited_moved_and_deleted,
    my_protocols_list_waiting_approvals,
    openapi_lists_scoring,
);
