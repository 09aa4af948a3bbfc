//! The contest API over HTTP, on SQLite and on PostgreSQL: every endpoint for every role,
//! sessions and CSRF, invite links, bad input, media tokens and the OpenAPI document.

mod api;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use profstage_contest::{LimiterEvent, LimiterKind};
use profstage_server::signalling::protocol::Role as MediaRole;
use profstage_server::signalling::protocol::RoomKind as MediaKind;
use profstage_server::token::TokenKeys;
use serde_json::{json, Value};

use api::world::{Who, PASSWORD};
use api::{scenarios, session_of, test_config, Api, Reply, Session, SECRET};

/// Returns the number of contests listed to `organiser`.
async fn contest_count(api: &Api, organiser: &Session) -> usize {
    let reply = api.get("/api/v1/contests?limit=200", organiser).await;
    reply.json()["items"].as_array().unwrap().len()
}

/// A contest with one room, an organiser and one signed-in person of every other role.
struct World {
    api: Api,
    organiser: Session,
    participant: Session,
    expert: Session,
    commission: Session,
    support: Session,
    contest: String,
    stage: String,
    nomination: String,
    part: String,
    room: String,
    participant_id: String,
    expert_id: String,
    spare_id: String,
}

async fn world(url: String) -> World {
    let api = Api::with_restored_limits(&url, test_config()).await;
    api.state
        .contest
        .create_organiser("Chief", "Главный организатор", PASSWORD)
        .await
        .expect("organiser created");
    let (organiser, _) = api.sign_in().await;

    let create = |path: String, body: Value| {
        let api = &api;
        let organiser = &organiser;
        async move {
            let reply = api.post_json(&path, organiser, body).await;
            assert_eq!(
                reply.status,
                StatusCode::CREATED,
                "POST {path}: {}",
                String::from_utf8_lossy(&reply.body)
            );
            reply.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let contest = create(
        "/api/v1/contests".into(),
        json!({"name": "Лучший по профессии 2027"}),
    )
    .await;
    let stage = create(
        format!("/api/v1/contests/{contest}/stages"),
        json!({"region": "Тверская область", "starts_at": 1_800_000_000_000_i64, "ends_at": 1_800_086_400_000_i64}),
    )
    .await;
    let nomination = create(
        format!("/api/v1/stages/{stage}/nominations"),
        json!({"profession": "Сварщик"}),
    )
    .await;
    let part = create(
        format!("/api/v1/nominations/{nomination}/parts"),
        json!({"kind": "practice", "title": "Практическое задание"}),
    )
    .await;
    let room = create(
        format!("/api/v1/parts/{part}/rooms"),
        json!({"title": "Комната 1"}),
    )
    .await;

    let mut sessions = Vec::new();
    let mut ids = Vec::new();
    for (role, name) in [
        ("participant", "Участник Иванов"),
        ("expert", "Эксперт Петрова"),
        ("commission_member", "Член комиссии Сидоров"),
        ("support", "Поддержка Орлова"),
    ] {
        let mut person = json!({"role": role, "full_name": name});
        if role == "commission_member" {
            person["stage_id"] = json!(stage);
        }
        let id = create("/api/v1/people".into(), person).await;
        let invite = api
            .post_json(
                &format!("/api/v1/people/{id}/invites"),
                &organiser,
                json!({}),
            )
            .await;
        assert_eq!(invite.status, StatusCode::CREATED);
        let token = invite.json()["token"].as_str().unwrap().to_owned();
        let accepted = api.accept(&token).await;
        assert_eq!(
            accepted.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&accepted.body)
        );
        sessions.push(session_of(&accepted));
        ids.push(id);
    }
    let spare_id = create(
        "/api/v1/people".into(),
        json!({"role": "participant", "full_name": "Запасной участник"}),
    )
    .await;
    for person in &ids[..2] {
        let path = format!("/api/v1/rooms/{room}/assignments/{person}");
        let reply = api.call(Method::PUT, &path, Some(&organiser), None).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let mut sessions = sessions.into_iter();
    World {
        participant: sessions.next().unwrap(),
        expert: sessions.next().unwrap(),
        commission: sessions.next().unwrap(),
        support: sessions.next().unwrap(),
        participant_id: ids[0].clone(),
        expert_id: ids[1].clone(),
        spare_id,
        api,
        organiser,
        contest,
        stage,
        nomination,
        part,
        room,
    }
}

impl World {
    fn session(&self, who: Who) -> Option<&Session> {
        match who {
            Who::Anonymous => None,
            Who::Organiser => Some(&self.organiser),
            Who::Participant => Some(&self.participant),
            Who::Expert => Some(&self.expert),
            Who::Commission => Some(&self.commission),
            Who::Support => Some(&self.support),
        }
    }
}

async fn every_endpoint_checks_role(w: World) {
    let (contest, stage, nomination, part, room) =
        (&w.contest, &w.stage, &w.nomination, &w.part, &w.room);
    let (participant, expert, spare) = (&w.participant_id, &w.expert_id, &w.spare_id);
    // A participant may read their own record but not other people's.
    let revocable = w
        .api
        .post_json(
            &format!("/api/v1/people/{spare}/invites"),
            &w.organiser,
            json!({}),
        )
        .await
        .json()["invite"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let briefing = schedule(&w, "Инструктаж").await;
    let (briefing_id, briefing_room) = (&briefing["id"], &briefing["room_id"]);
    let (briefing_id, briefing_room) = (
        briefing_id.as_str().unwrap(),
        briefing_room.as_str().unwrap(),
    );
    let cancellable = schedule(&w, "Отменяемый инструктаж").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disposable_contest = created_id(
        &w,
        "/api/v1/contests",
        json!({"name": "Конкурс на удаление"}),
    )
    .await;
    let disposable_person = created_id(
        &w,
        "/api/v1/people",
        json!({"role": "support", "full_name": "Удаляемая запись"}),
    )
    .await;
    // A stage with one record at each level below it, deleted from the bottom up.
    let spare_stage = created_id(
        &w,
        &format!("/api/v1/contests/{contest}/stages"),
        json!({"region": "Омская область", "starts_at": 0, "ends_at": 1}),
    )
    .await;
    let spare_nomination = created_id(
        &w,
        &format!("/api/v1/stages/{spare_stage}/nominations"),
        json!({"profession": "Повар"}),
    )
    .await;
    let spare_part = created_id(
        &w,
        &format!("/api/v1/nominations/{spare_nomination}/parts"),
        json!({"kind": "theory", "title": "Теория"}),
    )
    .await;
    let spare_room = created_id(
        &w,
        &format!("/api/v1/parts/{spare_part}/rooms"),
        json!({"title": "Запасная комната"}),
    )
    .await;
    let structure_readers = &[Who::Organiser, Who::Expert, Who::Commission, Who::Support][..];
    let organiser = &[Who::Organiser][..];
    let people_readers = &[Who::Organiser, Who::Support][..];
    let assignment_readers = &[Who::Organiser, Who::Commission, Who::Support][..];
    let group = json!({"name": "Группа экспертов", "chair_id": expert, "member_ids": []});

    // Method, path, body, roles allowed. Within each row the rejected roles go first, so a
    // rejected request meets the same state as the allowed one.
    let table: Vec<(Method, String, Option<Value>, &[Who])> = vec![
        (Method::GET, "/api/v1/me".into(), None, Who::SIGNED_IN),
        (Method::GET, "/api/v1/me/rooms".into(), None, Who::SIGNED_IN),
        (
            Method::GET,
            "/api/v1/me/application".into(),
            None,
            Who::SIGNED_IN,
        ),
        (
            Method::GET,
            "/api/v1/contests".into(),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            "/api/v1/contests".into(),
            Some(json!({"name": "Новый"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/contests/{contest}"),
            None,
            structure_readers,
        ),
        (
            Method::GET,
            format!("/api/v1/contests/{contest}/stages"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/contests/{contest}/stages"),
            Some(json!({"region": "Омская область", "starts_at": 0, "ends_at": 1})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/stages/{stage}/nominations"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/stages/{stage}/nominations"),
            Some(json!({"profession": "Токарь"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/nominations/{nomination}/parts"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/nominations/{nomination}/parts"),
            Some(json!({"kind": "theory", "title": "Теория"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/nominations/{nomination}/expert-groups"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/nominations/{nomination}/expert-groups"),
            Some(group),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/parts/{part}/rooms"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/parts/{part}/rooms"),
            Some(json!({"title": "Комната 2"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/rooms/{room}/assignments"),
            None,
            assignment_readers,
        ),
        (
            Method::PUT,
            format!("/api/v1/rooms/{room}/assignments/{spare}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/rooms/{room}/assignments/{spare}"),
            None,
            organiser,
        ),
        (
            Method::POST,
            format!("/api/v1/rooms/{room}/media-token"),
            None,
            &[Who::Participant, Who::Expert],
        ),
        (Method::GET, "/api/v1/people".into(), None, people_readers),
        (
            Method::POST,
            "/api/v1/people".into(),
            Some(json!({"role": "expert", "full_name": "Новый эксперт"})),
            organiser,
        ),
        (
            Method::GET,
            format!("/api/v1/people/{spare}"),
            None,
            people_readers,
        ),
        (
            Method::GET,
            format!("/api/v1/people/{participant}"),
            None,
            &[Who::Organiser, Who::Participant, Who::Support],
        ),
        (
            Method::GET,
            format!("/api/v1/people/{spare}/invites"),
            None,
            organiser,
        ),
        (
            Method::POST,
            format!("/api/v1/people/{spare}/invites"),
            Some(json!({})),
            organiser,
        ),
        (
            Method::POST,
            format!("/api/v1/invites/{revocable}/revoke"),
            None,
            organiser,
        ),
        (
            Method::GET,
            "/api/v1/me/briefings".into(),
            None,
            Who::SIGNED_IN,
        ),
        (
            Method::GET,
            format!("/api/v1/stages/{stage}/briefings"),
            None,
            structure_readers,
        ),
        (
            Method::POST,
            format!("/api/v1/stages/{stage}/briefings"),
            Some(json!({"title": "Ещё один", "starts_at": in_an_hour(), "agenda": ""})),
            organiser,
        ),
        (
            Method::PATCH,
            format!("/api/v1/briefings/{briefing_id}"),
            Some(json!({"agenda": "Порядок этапа"})),
            organiser,
        ),
        (
            Method::POST,
            format!("/api/v1/rooms/{briefing_room}/media-token"),
            None,
            &[Who::Organiser, Who::Participant],
        ),
        (
            Method::POST,
            format!("/api/v1/briefings/{cancellable}/cancel"),
            None,
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/contests/{contest}"),
            Some(json!({"name": "Лучший по профессии 2027"})),
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/stages/{stage}"),
            Some(
                json!({"region": "Тверская область", "starts_at": 1_800_000_000_000_i64, "ends_at": 1_800_086_400_000_i64}),
            ),
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/nominations/{nomination}"),
            Some(json!({"profession": "Сварщик"})),
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/parts/{part}"),
            Some(json!({"kind": "practice", "title": "Практическое задание"})),
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/rooms/{room}"),
            Some(json!({"title": "Комната 1"})),
            organiser,
        ),
        (
            Method::PUT,
            format!("/api/v1/people/{disposable_person}"),
            Some(json!({"role": "support", "full_name": "Удаляемая запись"})),
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/contests/{disposable_contest}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/people/{disposable_person}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/rooms/{spare_room}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/parts/{spare_part}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/nominations/{spare_nomination}"),
            None,
            organiser,
        ),
        (
            Method::DELETE,
            format!("/api/v1/stages/{spare_stage}"),
            None,
            organiser,
        ),
        (Method::GET, "/api/v1/audit-log".into(), None, organiser),
        (Method::GET, "/api/v1/audit-log/csv".into(), None, organiser),
    ];

    for (method, path, body, allowed) in &table {
        let mut order: Vec<Who> = vec![Who::Anonymous];
        order.extend(Who::SIGNED_IN.iter().filter(|w| !allowed.contains(w)));
        order.extend(allowed.iter());
        for who in order {
            let before = w.api.audit_len().await;
            let reply = w
                .api
                .call(method.clone(), path, w.session(who), body.clone())
                .await;
            let what = format!(
                "{who:?} {method} {path}: {}",
                String::from_utf8_lossy(&reply.body)
            );
            if allowed.contains(&who) {
                assert!(
                    reply.status.is_success(),
                    "expected success, got {} for {what}",
                    reply.status
                );
                continue;
            }
            let expected = if who == Who::Anonymous {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(reply.status, expected, "{what}");
            assert!(!reply.code().is_empty(), "{what}");
            assert_eq!(
                w.api.audit_len().await,
                before,
                "a rejected request changed state: {what}"
            );
        }
    }
}

async fn csrf_token_is_required(w: World) {
    let before = contest_count(&w.api, &w.organiser).await;
    let body = json!({"name": "Без CSRF"});
    let no_header = Session {
        csrf: String::new(),
        ..w.organiser.clone()
    };
    let wrong = Session {
        csrf: "0".repeat(64),
        ..w.organiser.clone()
    };
    let other = Session {
        csrf: w.participant.csrf.clone(),
        ..w.organiser.clone()
    };
    for session in [&no_header, &wrong, &other] {
        let reply = w
            .api
            .post_json("/api/v1/contests", session, body.clone())
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.code(), "csrf_failed");
    }
    let request = Request::post("/api/v1/contests")
        .header(
            header::COOKIE,
            format!("profstage_session={}", w.organiser.cookie),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let reply = w.api.send(request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(contest_count(&w.api, &w.organiser).await, before);

    let read = w.api.get("/api/v1/contests", &no_header).await;
    assert_eq!(read.status, StatusCode::OK, "reads need no CSRF token");
    let me = w.api.get("/api/v1/me", &w.organiser).await.json();
    assert_eq!(me["csrf_token"], w.organiser.csrf.as_str());
}

async fn bad_input_saves_nothing(w: World) {
    let before_contests = contest_count(&w.api, &w.organiser).await;
    let before_audit = w.api.audit_len().await;
    let long = "Щ".repeat(201);
    let cases: Vec<(Body, StatusCode, &str, Option<&str>)> = vec![
        (
            json!({}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("name"),
        ),
        (
            json!({"name": 5}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("name"),
        ),
        (
            json!({"name": "   "}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("name"),
        ),
        (
            json!({"name": long}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("name"),
        ),
        (
            json!({"name": "a\u{202E}b"}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            Some("name"),
        ),
        (
            json!({"name": "ok", "extra": 1}).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            None,
        ),
        (
            json!(["name"]).to_string().into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            None,
        ),
        (
            "{\"name\": ".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
        ),
        (
            "{\"name\": \"a\"} trailing".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
            None,
        ),
        ("".into(), StatusCode::BAD_REQUEST, "invalid_json", None),
        (
            format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024)).into(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            None,
        ),
    ];
    for (index, (body, status, code, field)) in cases.into_iter().enumerate() {
        let reply = w.api.post_raw("/api/v1/contests", &w.organiser, body).await;
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert_eq!(reply.status, status, "case {index}: {text}");
        assert_eq!(reply.code(), code, "case {index}: {text}");
        if let Some(field) = field {
            assert_eq!(reply.fields(), [field], "case {index}: {text}");
        }
    }
    let request = Request::post("/api/v1/contests")
        .header(
            header::COOKIE,
            format!("profstage_session={}", w.organiser.cookie),
        )
        .header("x-csrf-token", &w.organiser.csrf)
        .body(Body::from(json!({"name": "без типа"}).to_string()))
        .unwrap();
    let reply = w.api.send(request).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(contest_count(&w.api, &w.organiser).await, before_contests);
    assert_eq!(
        w.api.audit_len().await,
        before_audit,
        "rejected bodies were audited"
    );

    let stage = json!({"region": "Омская область", "starts_at": 10, "ends_at": 5});
    let reply = w
        .api
        .post_json(
            &format!("/api/v1/contests/{}/stages", w.contest),
            &w.organiser,
            stage,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["ends_at"]);
    let part = json!({"kind": "lecture", "title": "Лекция"});
    let reply = w
        .api
        .post_json(
            &format!("/api/v1/nominations/{}/parts", w.nomination),
            &w.organiser,
            part,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["kind"]);
    let person =
        json!({"role": "organiser", "full_name": "Второй организатор", "email": "not-an-email"});
    let reply = w
        .api
        .post_json("/api/v1/people", &w.organiser, person)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["role", "email"]);
    let reply = w.api.get("/api/v1/contests/not-a-uuid", &w.organiser).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.fields(), ["id"]);
    let missing = "00000000-0000-4000-8000-000000000000";
    let reply = w
        .api
        .get(&format!("/api/v1/contests/{missing}"), &w.organiser)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let group =
        json!({"name": "Группа", "chair_id": w.participant_id, "member_ids": [w.expert_id]});
    let path = format!("/api/v1/nominations/{}/expert-groups", w.nomination);
    let reply = w.api.post_json(&path, &w.organiser, group).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a participant cannot chair"
    );
    let groups = w.api.get(&path, &w.organiser).await.json();
    assert_eq!(
        groups["items"].as_array().unwrap().len(),
        0,
        "the group was not half-saved"
    );
}

async fn unicode_names_round_trip(w: World) {
    let name = "Конкурс «Лучший по профессии» — 2027 👷🏽 ﷽ 中文";
    let reply = w
        .api
        .post_json("/api/v1/contests", &w.organiser, json!({"name": name}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    let fetched = w
        .api
        .get(&format!("/api/v1/contests/{id}"), &w.organiser)
        .await
        .json();
    assert_eq!(fetched["name"], name);
    let longest = "Ж".repeat(200);
    let reply = w
        .api
        .post_json("/api/v1/contests", &w.organiser, json!({"name": longest}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

async fn invite_links_work_once(w: World) {
    let spare = &w.spare_id;
    let create = || async {
        let reply = w
            .api
            .post_json(
                &format!("/api/v1/people/{spare}/invites"),
                &w.organiser,
                json!({"valid_hours": 1}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let body = reply.json();
        let id = body["invite"]["id"].as_str().unwrap().to_owned();
        (id, body["token"].as_str().unwrap().to_owned())
    };

    let (_, used) = create().await;
    assert_eq!(w.api.accept(&used).await.status, StatusCode::OK);
    let reused = w.api.accept(&used).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.code(), "invalid_invite");

    let (revoked_id, revoked) = create().await;
    let path = format!("/api/v1/invites/{revoked_id}/revoke");
    let reply = w
        .api
        .call(Method::POST, &path, Some(&w.organiser), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(w.api.accept(&revoked).await.code(), "invalid_invite");
    let again = w
        .api
        .call(Method::POST, &path, Some(&w.organiser), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let (expired_id, expired) = create().await;
    let pool = sqlx::AnyPool::connect(&w.api.url).await.unwrap();
    sqlx::query("UPDATE invites SET expires_at = created_at WHERE id = $1")
        .bind(&expired_id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(w.api.accept(&expired).await.code(), "invalid_invite");

    let before = w.api.audit_len().await;
    for token in ["", "zz", &"0".repeat(64), &"g".repeat(64)] {
        let reply = w.api.accept(token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
    assert_eq!(w.api.audit_len().await, before);

    let hours = json!({"valid_hours": 0});
    let reply = w
        .api
        .post_json(
            &format!("/api/v1/people/{spare}/invites"),
            &w.organiser,
            hours,
        )
        .await;
    assert_eq!(reply.fields(), ["valid_hours"]);
    let organiser_id = w.api.get("/api/v1/me", &w.organiser).await.json()["person"]["id"].clone();
    let path = format!("/api/v1/people/{}/invites", organiser_id.as_str().unwrap());
    let reply = w.api.post_json(&path, &w.organiser, json!({})).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "organisers get no invites"
    );
}

async fn sessions_sign_in_and_out(w: World) {
    let wrong = json!({"login": "chief", "password": "wrong password here"});
    let reply = w
        .api
        .call(Method::POST, "/api/v1/session", None, Some(wrong))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "wrong_credentials");
    assert!(!reply.headers.contains_key(header::SET_COOKIE));
    let unknown = json!({"login": "nobody", "password": PASSWORD});
    let reply = w
        .api
        .call(Method::POST, "/api/v1/session", None, Some(unknown))
        .await;
    assert_eq!(reply.code(), "wrong_credentials");

    let anonymous = w
        .api
        .call(Method::DELETE, "/api/v1/session", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let (session, reply) = w.api.sign_in().await;
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "development mode on loopback: {cookie}"
    );

    let me = w.api.get("/api/v1/me", &session).await;
    assert_eq!(me.json()["person"]["role"], "organiser");
    let out = w
        .api
        .call(Method::DELETE, "/api/v1/session", Some(&session), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = w.api.get("/api/v1/me", &session).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let still = w.api.get("/api/v1/me", &w.organiser).await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "other sessions stay signed in"
    );

    let mut production_config = test_config();
    production_config.dev_mode = Some(false);
    let production = Api::with_restored_limits(&w.api.url, production_config).await;
    let (_, reply) = production.sign_in().await;
    let cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

async fn media_token_names_person_and_room(w: World) {
    let path = format!("/api/v1/rooms/{}/media-token", w.room);
    let reply = w.api.call(Method::POST, &path, Some(&w.expert), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let claims = TokenKeys::new(SECRET.as_bytes()).verify(&token).unwrap();
    assert_eq!(claims.room, w.room);
    assert_eq!(claims.sub, w.expert_id);
    assert_eq!(claims.name, "Эксперт Петрова");
    assert_eq!(claims.role, MediaRole::Expert);

    let rooms = w.api.get("/api/v1/me/rooms", &w.participant).await.json();
    assert_eq!(rooms[0]["id"], w.room.as_str());
    let none = w.api.get("/api/v1/me/rooms", &w.support).await.json();
    assert_eq!(none.as_array().unwrap().len(), 0);

    let path = format!("/api/v1/rooms/{}/assignments/{}", w.room, w.participant_id);
    let removed = w
        .api
        .call(Method::DELETE, &path, Some(&w.organiser), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let token_path = format!("/api/v1/rooms/{}/media-token", w.room);
    let reply = w
        .api
        .call(Method::POST, &token_path, Some(&w.participant), None)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "no token after the assignment is removed"
    );
}

async fn lists_are_paged(w: World) {
    for index in 0..4 {
        let reply = w
            .api
            .post_json(
                "/api/v1/contests",
                &w.organiser,
                json!({"name": format!("К{index}")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let first = w
        .api
        .get("/api/v1/contests?limit=2", &w.organiser)
        .await
        .json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["next_offset"], 2);
    let last = w
        .api
        .get("/api/v1/contests?limit=2&offset=4", &w.organiser)
        .await
        .json();
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert!(last["next_offset"].is_null());
    let too_many = w.api.get("/api/v1/contests?limit=201", &w.organiser).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.fields(), ["limit"]);
    let not_number = w.api.get("/api/v1/contests?limit=many", &w.organiser).await;
    assert_eq!(not_number.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_number.code(), "invalid_query");
    let experts = w
        .api
        .get("/api/v1/people?role=expert", &w.organiser)
        .await
        .json();
    assert_eq!(experts["items"].as_array().unwrap().len(), 1);
}

async fn audit_log_records_reads(w: World) {
    let path = format!("/api/v1/people/{}", w.participant_id);
    let read = w.api.get(&path, &w.support).await;
    assert_eq!(read.status, StatusCode::OK);
    let query = format!("/api/v1/audit-log?target_id={}", w.participant_id);
    let log = w.api.get(&query, &w.organiser).await.json();
    let newest = &log["items"][0];
    assert_eq!(newest["action"], "person.read");
    let support_id = w.api.get("/api/v1/me", &w.support).await.json()["person"]["id"].clone();
    assert_eq!(newest["actor_id"], support_id);
    assert!(newest["session_id"].is_string());

    let csv = w.api.get("/api/v1/audit-log/csv", &w.organiser).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = String::from_utf8(csv.body).unwrap();
    assert!(
        text.starts_with("seq,at,actor_id,session_id,action"),
        "{text}"
    );
    assert!(text.contains(",person.read,person,"), "{text}");
}

async fn openapi_lists_endpoints(w: World) {
    let reply = w
        .api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/v1/contests",
        "/api/v1/session",
        "/api/v1/invites/accept",
        "/api/v1/rooms/{id}/media-token",
        "/api/v1/audit-log/csv",
        "/api/v1/stages/{id}/briefings",
        "/api/v1/briefings/{id}",
        "/api/v1/briefings/{id}/cancel",
        "/api/v1/me/briefings",
        "/api/v1/me/application",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    let health = w.api.call(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(
        health.status,
        StatusCode::OK,
        "existing routes keep working"
    );
}

/// Unix milliseconds an hour from now.
fn in_an_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    now.as_millis() as i64 + 3_600_000
}

/// Schedules a briefing for the world's stage, an hour from now, and returns it.
async fn schedule(w: &World, title: &str) -> Value {
    let path = format!("/api/v1/stages/{}/briefings", w.stage);
    let body = json!({"title": title, "starts_at": in_an_hour(), "agenda": "Регламент\nВопросы"});
    let reply = w.api.post_json(&path, &w.organiser, body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

async fn media_token(w: &World, room: &str, session: &Session) -> Reply {
    let path = format!("/api/v1/rooms/{room}/media-token");
    w.api.call(Method::POST, &path, Some(session), None).await
}

fn listed_ids(list: &Value) -> Vec<String> {
    let items = list.get("items").unwrap_or(list);
    let items = items.as_array().expect("a list");
    items
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn briefings_are_scheduled_and_joined(w: World) {
    let briefing = schedule(&w, "Инструктаж участников").await;
    let id = briefing["id"].as_str().unwrap().to_owned();
    let room = briefing["room_id"].as_str().unwrap().to_owned();
    assert_eq!(briefing["stage_id"], w.stage.as_str());
    assert_eq!(briefing["agenda"], "Регламент\nВопросы");
    assert!(briefing["cancelled_at"].is_null());
    let organiser_id = w.api.get("/api/v1/me", &w.organiser).await.json()["person"]["id"].clone();
    assert_eq!(briefing["created_by"], organiser_id);

    let stage_list = format!("/api/v1/stages/{}/briefings", w.stage);
    let listed = w.api.get(&stage_list, &w.support).await.json();
    assert_eq!(listed_ids(&listed), [id.as_str()]);
    let mine = w
        .api
        .get("/api/v1/me/briefings", &w.participant)
        .await
        .json();
    assert_eq!(
        listed_ids(&mine),
        [id.as_str()],
        "a participant of the stage sees it"
    );
    let support = w.api.get("/api/v1/me/briefings", &w.support).await.json();
    assert!(listed_ids(&support).is_empty(), "support is not invited");

    let token = media_token(&w, &room, &w.participant).await;
    assert_eq!(token.status, StatusCode::OK);
    assert_eq!(token.json()["kind"], "briefing");
    let claims = TokenKeys::new(SECRET.as_bytes())
        .verify(token.json()["token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.kind, MediaKind::Briefing);
    assert_eq!(claims.role, MediaRole::Participant);
    assert_eq!(claims.room, room);
    let organiser = media_token(&w, &room, &w.organiser).await;
    assert_eq!(organiser.status, StatusCode::OK);
    let contest = media_token(&w, &w.room, &w.participant).await;
    assert_eq!(contest.json()["kind"], "contest");

    let expert = media_token(&w, &room, &w.expert).await;
    assert_eq!(
        expert.status,
        StatusCode::FORBIDDEN,
        "experts need an assignment"
    );
    let assign = format!("/api/v1/rooms/{room}/assignments/{}", w.expert_id);
    let assigned = w
        .api
        .call(Method::PUT, &assign, Some(&w.organiser), None)
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED);
    assert_eq!(
        media_token(&w, &room, &w.expert).await.status,
        StatusCode::OK
    );
    let expert_list = w.api.get("/api/v1/me/briefings", &w.expert).await.json();
    assert_eq!(listed_ids(&expert_list), [id.as_str()]);

    let path = format!("/api/v1/briefings/{id}");
    let renamed = w
        .api
        .call(
            Method::PATCH,
            &path,
            Some(&w.organiser),
            Some(json!({"title": "Новое название"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.json()["title"], "Новое название");
    assert_eq!(renamed.json()["agenda"], "Регламент\nВопросы");
    let title = w.api.state.contest.room_title(&room).await.unwrap();
    assert_eq!(
        title.as_deref(),
        Some("Новое название"),
        "the room is renamed too"
    );

    let log = w
        .api
        .get(&format!("/api/v1/audit-log?target_id={id}"), &w.organiser)
        .await
        .json();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["briefing.update", "briefing.create"]);
    assert_eq!(log["items"][0]["detail"], "fields=title");
    let tokens = w
        .api
        .get(&format!("/api/v1/audit-log?target_id={room}"), &w.organiser)
        .await
        .json();
    assert_eq!(tokens["items"][0]["action"], "room.media_token");
    assert_eq!(tokens["items"][0]["detail"], "kind=briefing");

    let cancel = format!("/api/v1/briefings/{id}/cancel");
    let cancelled = w
        .api
        .call(Method::POST, &cancel, Some(&w.organiser), None)
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert!(cancelled.json()["cancelled_at"].is_i64());
    let refused = media_token(&w, &room, &w.participant).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "conflict");
    let mine = w
        .api
        .get("/api/v1/me/briefings", &w.participant)
        .await
        .json();
    assert!(
        listed_ids(&mine).is_empty(),
        "a cancelled briefing leaves the list"
    );
    let listed = w.api.get(&stage_list, &w.organiser).await.json();
    assert!(
        listed["items"][0]["cancelled_at"].is_i64(),
        "the stage list keeps it"
    );
    let before = w.api.audit_len().await;
    let again = w
        .api
        .call(Method::POST, &cancel, Some(&w.organiser), None)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let change = json!({"agenda": "поздно"});
    let late = w
        .api
        .call(Method::PATCH, &path, Some(&w.organiser), Some(change))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(w.api.audit_len().await, before);
}

async fn bad_briefings_save_nothing(w: World) {
    let before = w.api.audit_len().await;
    let path = format!("/api/v1/stages/{}/briefings", w.stage);
    let cases = [
        (
            json!({"title": "Б", "starts_at": 1_000, "agenda": ""}),
            vec!["starts_at"],
        ),
        (
            json!({"title": "  ", "agenda": "a\u{202E}b"}),
            vec!["title", "agenda", "starts_at"],
        ),
        (
            json!({"title": "Б", "starts_at": in_an_hour(), "agenda": "x".repeat(4001)}),
            vec!["agenda"],
        ),
        (
            json!({"title": "Б", "starts_at": "завтра"}),
            vec!["starts_at"],
        ),
        (
            json!({"title": "Б", "starts_at": i64::MAX}),
            vec!["starts_at"],
        ),
        (
            json!({"title": "Б", "starts_at": in_an_hour(), "room": "1"}),
            vec![],
        ),
    ];
    for (body, fields) in cases {
        let reply = w.api.post_json(&path, &w.organiser, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        if !fields.is_empty() {
            assert_eq!(reply.fields(), fields, "{body}");
        }
    }
    let unknown = "/api/v1/stages/67e55044-10b1-426f-9247-bb680e5fe0c8/briefings";
    let body = json!({"title": "Б", "starts_at": in_an_hour()});
    let missing = w.api.post_json(unknown, &w.organiser, body).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let briefing = schedule(&w, "Инструктаж").await;
    let before_changes = w.api.audit_len().await;
    let path = format!("/api/v1/briefings/{}", briefing["id"].as_str().unwrap());
    for (body, field) in [
        (json!({}), "body"),
        (json!({"starts_at": 5}), "starts_at"),
        (json!({"title": ""}), "title"),
    ] {
        let reply = w
            .api
            .call(Method::PATCH, &path, Some(&w.organiser), Some(body.clone()))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(reply.fields(), [field], "{body}");
    }
    let bad_id = w
        .api
        .call(
            Method::POST,
            "/api/v1/briefings/not-a-uuid/cancel",
            Some(&w.organiser),
            None,
        )
        .await;
    assert_eq!(bad_id.fields(), ["id"]);
    assert_eq!(w.api.audit_len().await, before_changes);
    assert_eq!(
        before_changes,
        before + 2,
        "only the scheduled briefing and its room"
    );
}

/// Posts a sign-in for `login` from a client at `address`.
async fn sign_in_from(api: &Api, login: &str, password: &str, address: [u8; 4]) -> Reply {
    sign_in_via(api, login, password, address, None).await
}

/// Posts a sign-in for `login` from the TCP peer `address`, with an `X-Forwarded-For`
/// header when `forwarded_for` is given.
async fn sign_in_via(
    api: &Api,
    login: &str,
    password: &str,
    address: [u8; 4],
    forwarded_for: Option<&str>,
) -> Reply {
    let body = json!({"login": login, "password": password});
    let peer = std::net::SocketAddr::from((address, 40_000));
    let mut request = Request::post("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json")
        .extension(axum::extract::ConnectInfo(peer));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    api.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

/// Starts a second server on the world's database that trusts the proxy at 127.0.0.1.
async fn behind_proxy(w: &World) -> Api {
    let mut config = (*w.api.state.config).clone();
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    Api::with_restored_limits(&w.api.url, config).await
}

/// Sends failed sign-ins, each for another login, until the address limit must be used up.
async fn fail_sign_ins(api: &Api, peer: [u8; 4], forwarded_for: impl Fn(usize) -> String) {
    for index in 0..20 {
        let login = format!("guess{index}");
        let header = forwarded_for(index);
        let reply = sign_in_via(api, &login, "wrong password", peer, Some(&header)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{login} via {header}"
        );
    }
}

async fn sign_in_limit_counts_clients_behind_proxy(w: World) {
    let proxy = [127, 0, 0, 1];
    let api = behind_proxy(&w).await;
    // The edge proxy appends the client's address to what the client sent.
    fail_sign_ins(&api, proxy, |_| "192.0.2.66, 198.51.100.1".to_owned()).await;
    let blocked = sign_in_via(&api, "someone", "wrong", proxy, Some("198.51.100.1")).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let forged = sign_in_via(
        &api,
        "someone",
        "wrong",
        proxy,
        Some("203.0.113.4, 198.51.100.1"),
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged entry left of the client changes nothing"
    );
    let other = sign_in_via(&api, "someone", "wrong", proxy, Some("198.51.100.2")).await;
    assert_eq!(
        other.status,
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy"
    );
    let direct = sign_in_via(&api, "someone", "wrong", proxy, None).await;
    assert_eq!(direct.status, StatusCode::UNAUTHORIZED, "the proxy itself");
}

async fn sign_in_limit_ignores_untrusted_forwarding(w: World) {
    // Without trusted proxies, every client behind one proxy shares its address.
    let proxy = [127, 0, 0, 1];
    fail_sign_ins(&w.api, proxy, |index| format!("198.51.100.{index}")).await;
    let shared = sign_in_via(&w.api, "someone", "wrong", proxy, Some("198.51.100.200")).await;
    assert_eq!(shared.status, StatusCode::TOO_MANY_REQUESTS);

    // A client that is not a trusted proxy cannot escape its limit with a header.
    let api = behind_proxy(&w).await;
    let client = [203, 0, 113, 9];
    fail_sign_ins(&api, client, |index| format!("198.51.100.{index}")).await;
    let spoofed = sign_in_via(&api, "someone", "wrong", client, Some("198.51.100.201")).await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
    let proxied = sign_in_via(&api, "someone", "wrong", proxy, Some("203.0.113.9")).await;
    assert_eq!(
        proxied.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same client through the proxy"
    );
}

async fn configured_lifetimes_apply(w: World) {
    let mut config = (*w.api.state.config).clone();
    config.auth.session_ttl_secs = 900;
    config.auth.invite_ttl_hours = 5;
    let api = Api::with_restored_limits(&w.api.url, config).await;

    let (organiser, reply) = api.sign_in().await;
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let max_age: i64 = cookie
        .split("; ")
        .find_map(|part| part.strip_prefix("Max-Age="))
        .expect("cookie has Max-Age")
        .parse()
        .unwrap();
    assert!((898..=900).contains(&max_age), "{cookie}");
    let expires_at = reply.json()["expires_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let left = expires_at - now;
    assert!(
        (895_000..=900_000).contains(&left),
        "session expires in {left} ms"
    );

    let path = format!("/api/v1/people/{}/invites", w.spare_id);
    let invite = api.post_json(&path, &organiser, json!({})).await;
    assert_eq!(invite.status, StatusCode::CREATED);
    let record = &invite.json()["invite"];
    let lifetime = record["expires_at"].as_i64().unwrap() - record["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 5 * 60 * 60 * 1000, "the configured default");
    let chosen = api
        .post_json(&path, &organiser, json!({"valid_hours": 2}))
        .await;
    let record = &chosen.json()["invite"];
    let lifetime = record["expires_at"].as_i64().unwrap() - record["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 2 * 60 * 60 * 1000, "the organiser's choice");

    let token = invite.json()["token"].as_str().unwrap().to_owned();
    let accepted = api.accept(&token).await;
    assert_eq!(accepted.status, StatusCode::OK);
    let left = accepted.json()["expires_at"].as_i64().unwrap() - now;
    assert!(
        (895_000..=905_000).contains(&left),
        "invite session expires in {left} ms"
    );

    // The first server still gives the default lifetime.
    let (_, reply) = w.api.sign_in().await;
    let left = reply.json()["expires_at"].as_i64().unwrap() - now;
    assert!(
        left > 11 * 60 * 60 * 1000,
        "default session expires in {left} ms"
    );
}

async fn sign_ins_are_rate_limited(w: World) {
    let office = [192, 0, 2, 10];
    for attempt in 0..5 {
        let reply = sign_in_from(&w.api, "chief", "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let limited = sign_in_from(&w.api, "CHIEF", PASSWORD, [198, 51, 100, 7]).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );
    assert_eq!(limited.code(), "too_many_attempts");
    let message = limited.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("try again in"), "{message}");
    let retry: u64 = limited.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");

    // Twenty failures from one address, over different logins, close that address only.
    for index in 0..15 {
        let login = format!("guess{index}");
        let reply = sign_in_from(&w.api, &login, "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{login}");
    }
    let blocked = sign_in_from(&w.api, "someone", "wrong password", office).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = sign_in_from(&w.api, "someone", "wrong password", [203, 0, 113, 1]).await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
}

/// Serves the world's database from a new server, as after a restart.
async fn restarted(w: &World) -> Api {
    Api::with_restored_limits(&w.api.url, (*w.api.state.config).clone()).await
}

async fn sign_in_limit_survives_restart(w: World) {
    let office = [192, 0, 2, 20];
    for attempt in 0..5 {
        let reply = sign_in_from(&w.api, "chief", "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let api = restarted(&w).await;
    let limited = sign_in_from(&api, "Chief", PASSWORD, [198, 51, 100, 20]).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the login stays locked out after a restart"
    );
    assert_eq!(limited.code(), "too_many_attempts");
    let other = sign_in_from(&api, "someone", "wrong password", [198, 51, 100, 21]).await;
    assert_eq!(
        other.status,
        StatusCode::UNAUTHORIZED,
        "other logins are open"
    );

    // The address's five failures survive the restart too: fifteen more close it.
    for index in 0..15 {
        let login = format!("guess{index}");
        let reply = sign_in_from(&api, &login, "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{login}");
    }
    let blocked = sign_in_from(&api, "fresh", "wrong password", office).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn success_clears_failures_across_restart(w: World) {
    let office = [192, 0, 2, 30];
    for attempt in 0..4 {
        let reply = sign_in_from(&w.api, "chief", "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let api = restarted(&w).await;
    let reply = sign_in_from(&api, "chief", PASSWORD, office).await;
    assert_eq!(reply.status, StatusCode::OK, "four failures leave one try");

    // Without the success, four restored failures and these would lock the login out.
    let api = restarted(&w).await;
    for attempt in 0..4 {
        let reply = sign_in_from(&api, "CHIEF", "wrong password", office).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let api = restarted(&w).await;
    let reply = sign_in_from(&api, "chief", PASSWORD, office).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the success cleared the old failures"
    );
}

/// Posts an empty application form from a client at `address`, which takes a token from
/// the address's bucket like any attempt, and returns the status.
async fn submit_from(api: &Api, address: [u8; 4]) -> StatusCode {
    let peer = std::net::SocketAddr::from((address, 40_000));
    let request = Request::post("/api/v1/applications")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .extension(axum::extract::ConnectInfo(peer))
        .body(Body::from("--x--\r\n"))
        .unwrap();
    api.send(request).await.status
}

async fn submission_limit_survives_restart(w: World) {
    let client = [192, 0, 2, 40];
    for attempt in 0..10 {
        let status = submit_from(&w.api, client).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}"
        );
    }
    let api = restarted(&w).await;
    assert_eq!(
        submit_from(&api, client).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the address's bucket stays empty after a restart"
    );
    assert_eq!(
        submit_from(&api, [192, 0, 2, 41]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "other addresses keep their buckets"
    );
}

async fn old_limiter_events_are_pruned(w: World) {
    let contest = &w.api.state.contest;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let window_ms = 15 * 60 * 1000;
    let old = LimiterEvent {
        kind: LimiterKind::SignInLogin,
        key: "stale".to_owned(),
        at_ms: now_ms - window_ms - 1,
    };
    contest.record_limiter_event(&old).await.unwrap();
    let since = now_ms - 2 * window_ms;
    let stored = contest
        .limiter_events_since(LimiterKind::SignInLogin, since)
        .await
        .unwrap();
    assert!(stored.contains(&old), "the old event was stored");

    // A failure stores its own event and deletes those older than the window.
    let reply = sign_in_from(&w.api, "fresh", "wrong password", [192, 0, 2, 50]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let stored = contest
        .limiter_events_since(LimiterKind::SignInLogin, since)
        .await
        .unwrap();
    let keys: Vec<&str> = stored.iter().map(|event| event.key.as_str()).collect();
    assert_eq!(keys, ["fresh"], "only the new failure is left");

    // A restart deletes what is older than the window as well.
    contest.record_limiter_event(&old).await.unwrap();
    restarted(&w).await;
    let stored = contest
        .limiter_events_since(LimiterKind::SignInLogin, since)
        .await
        .unwrap();
    assert!(!stored.contains(&old), "the restart pruned the old event");
    let removed = contest
        .prune_limiter_events(LimiterKind::SignInLogin, now_ms + 60_000)
        .await
        .unwrap();
    assert_eq!(removed, 1, "pruning by time removes the new failure");
}

/// Creates a record as the organiser and returns its id.
async fn created_id(w: &World, path: &str, body: Value) -> String {
    let reply = w.api.post_json(path, &w.organiser, body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "POST {path}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["id"].as_str().unwrap().to_owned()
}

async fn records_are_corrected(w: World) {
    let put = |path: String, body: Value| {
        let w = &w;
        async move {
            w.api
                .call(Method::PUT, &path, Some(&w.organiser), Some(body))
                .await
        }
    };
    let delete = |path: String| {
        let w = &w;
        async move {
            w.api
                .call(Method::DELETE, &path, Some(&w.organiser), None)
                .await
        }
    };

    let renamed = put(
        format!("/api/v1/rooms/{}", w.room),
        json!({"title": "Сварочный пост 2"}),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(renamed.json()["title"], "Сварочный пост 2");
    let rooms = w
        .api
        .get(&format!("/api/v1/parts/{}/rooms", w.part), &w.organiser)
        .await;
    assert_eq!(rooms.json()["items"][0]["title"], "Сварочный пост 2");

    // Invalid changes name the field and save nothing.
    let before = w.api.audit_len().await;
    let empty = put(
        format!("/api/v1/contests/{}", w.contest),
        json!({"name": ""}),
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.fields(), ["name"]);
    let backwards = put(
        format!("/api/v1/stages/{}", w.stage),
        json!({"region": "Тверская область", "starts_at": 10, "ends_at": 5}),
    )
    .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(backwards.fields(), ["ends_at"]);
    let unknown = put(
        format!("/api/v1/rooms/{}", uuid::Uuid::new_v4()),
        json!({"title": "Нигде"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad_id = delete("/api/v1/rooms/not-a-uuid".into()).await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(w.api.audit_len().await, before);

    // Referenced records stay, with a 409 that says what refers to them.
    for path in [
        format!("/api/v1/contests/{}", w.contest),
        format!("/api/v1/stages/{}", w.stage),
        format!("/api/v1/nominations/{}", w.nomination),
        format!("/api/v1/parts/{}", w.part),
        format!("/api/v1/rooms/{}", w.room),
        format!("/api/v1/people/{}", w.participant_id),
    ] {
        let reply = delete(path.clone()).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "DELETE {path}");
        assert_eq!(reply.code(), "conflict", "DELETE {path}");
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("first"), "DELETE {path}: {message}");
    }
    assert_eq!(w.api.audit_len().await, before);

    // An unreferenced room goes, and its deletion is audited.
    let spare_room = created_id(
        &w,
        &format!("/api/v1/parts/{}/rooms", w.part),
        json!({"title": "Запасная комната"}),
    )
    .await;
    let deleted = delete(format!("/api/v1/rooms/{spare_room}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = delete(format!("/api/v1/rooms/{spare_room}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let log = w
        .api
        .get("/api/v1/audit-log?limit=1", &w.organiser)
        .await
        .json();
    assert_eq!(log["items"][0]["action"], "room.delete");
    assert_eq!(log["items"][0]["target_id"], spare_room.as_str());

    // A person nothing refers to goes, with their invite links.
    let spare = delete(format!("/api/v1/people/{}", w.spare_id)).await;
    assert_eq!(spare.status, StatusCode::NO_CONTENT);
    let path = format!("/api/v1/people/{}", w.spare_id);
    let gone = w.api.get(&path, &w.organiser).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

scenarios!(
    every_endpoint_checks_role,
    csrf_token_is_required,
    bad_input_saves_nothing,
    unicode_names_round_trip,
    invite_links_work_once,
    sessions_sign_in_and_out,
    media_token_names_person_and_room,
    lists_are_paged,
    audit_log_records_reads,
    openapi_lists_endpoints,
    briefings_are_scheduled_and_joined,
    bad_briefings_save_nothing,
    sign_ins_are_rate_limited,
    sign_in_limit_counts_clients_behind_proxy,
    sign_in_limit_ignores_untrusted_forwarding,
    configured_lifetimes_apply,
    records_are_corrected,
    sign_in_limit_survives_restart,
    success_clears_failures_across_restart,
    submission_limit_survives_restart,
    old_limiter_events_are_pruned,
);
