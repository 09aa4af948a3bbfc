//! Tasks against real SQLite and PostgreSQL databases: visibility, openings, deadlines in
//! both limit modes, the latest first opening, a deadline that passes while the database is
//! closed, permissions, bad input and the audit log. The clock is passed in, so every time
//! here is exact.

use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, AuditFilter, Database, Error, LimitMode, NewAnswer, NewExpertGroup, NewNomination,
    NewPerson, NewRoom, NewStage, NewStagePart, NewTask, Page, PartKind, PersonId, Role,
    StagePartId, SubmissionKind, Task, TaskState,
};

const PASSWORD: &str = "correct horse battery staple";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF";
/// Start of every task here, in Unix milliseconds.
const START: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

struct Fixture {
    url: String,
    db: Database,
    organiser: Actor,
    part: StagePartId,
    room: profstage_contest::RoomId,
    participant: Actor,
    outsider: Actor,
    expert: Actor,
    other_expert: Actor,
}

fn actor(id: PersonId, role: Role) -> Actor {
    Actor {
        person: Some(id),
        role,
        session: None,
    }
}

async fn person(db: &Database, organiser: &Actor, role: Role, name: &str) -> Actor {
    let new = NewPerson {
        role: Some(role),
        full_name: name.into(),
        ..NewPerson::default()
    };
    let person = db.create_person(organiser, &new).await.unwrap();
    actor(person.id, role)
}

async fn fixture(url: String) -> Fixture {
    let db = Database::connect(&url).await.expect("database opens");
    db.create_organiser("chief", "Главный Организатор", PASSWORD)
        .await
        .unwrap();
    let organiser = db.sign_in("chief", PASSWORD).await.unwrap().info.actor();
    let contest = profstage_contest::NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(&organiser, &contest).await.unwrap();
    let stage = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(START),
        ends_at: Some(START + 86_400_000),
    };
    let stage = db
        .create_stage(&organiser, &contest.id, &stage)
        .await
        .unwrap();
    let mut nominations = Vec::new();
    for profession in ["Сварщик", "Токарь"] {
        let new = NewNomination {
            profession: profession.into(),
        };
        let nomination = db.create_nomination(&organiser, &stage.id, &new).await;
        nominations.push(nomination.unwrap());
    }
    let part = NewStagePart {
        kind: Some(PartKind::Theory),
        title: "Теория".into(),
    };
    let part = db
        .create_stage_part(&organiser, &nominations[0].id, &part)
        .await
        .unwrap();
    let room = NewRoom {
        title: "Комната 1".into(),
    };
    let room = db.create_room(&organiser, &part.id, &room).await.unwrap();

    let participant = person(&db, &organiser, Role::Participant, "Иванов Иван").await;
    let outsider = person(&db, &organiser, Role::Participant, "Петров Пётр").await;
    let person_id = participant.person.clone().unwrap();
    db.assign(&organiser, &room.id, &person_id).await.unwrap();

    let expert = person(&db, &organiser, Role::Expert, "Сидорова Анна").await;
    let other_expert = person(&db, &organiser, Role::Expert, "Кузнецов Олег").await;
    for (nomination, member) in nominations.iter().zip([&expert, &other_expert]) {
        let group = NewExpertGroup {
            name: "Группа".into(),
            chair_id: member.person.clone(),
            member_ids: vec![member.person.clone().unwrap()],
        };
        db.create_expert_group(&organiser, &nomination.id, &group)
            .await
            .unwrap();
    }
    Fixture {
        url,
        db,
        organiser,
        part: part.id,
        room: room.id,
        participant,
        outsider,
        expert,
        other_expert,
    }
}

fn new_task(mode: LimitMode, limit_secs: i64) -> NewTask {
    NewTask {
        title: "Задание 1".into(),
        text: "# Задание\n\nОпишите порядок сварки.".into(),
        starts_at: START,
        time_limit_secs: limit_secs,
        limit_mode: mode,
        opens_until: None,
    }
}

async fn published(fx: &Fixture, mode: LimitMode, limit_secs: i64) -> Task {
    let new = new_task(mode, limit_secs);
    let task = fx
        .db
        .create_task(&fx.organiser, &fx.part, &new, START - MINUTE);
    let task = task.await.unwrap();
    let task = fx.db.publish_task(&fx.organiser, &task.id, START - MINUTE);
    task.await.unwrap()
}

async fn send(
    db: &Database,
    actor: &Actor,
    task: &profstage_contest::TaskId,
    text: &str,
    now: i64,
) -> Result<profstage_contest::Submission, Error> {
    let answer = NewAnswer { text: text.into() };
    db.submit_answer(actor, task, &answer, now).await
}

fn all() -> Page {
    Page::new(None, Some(Page::MAX_LIMIT)).unwrap()
}

async fn audit_actions(fx: &Fixture, target: &str) -> Vec<String> {
    let filter = AuditFilter {
        target_id: Some(target.to_owned()),
        actor_id: None,
    };
    let log = fx
        .db
        .audit_log(&fx.organiser, &filter, all())
        .await
        .unwrap();
    log.items.into_iter().rev().map(|e| e.action).collect()
}

async fn hidden_before_start(fx: Fixture) {
    let db = &fx.db;
    let draft = new_task(LimitMode::CommonStart, 600);
    let task = db.create_task(&fx.organiser, &fx.part, &draft, START - MINUTE);
    let task = task.await.unwrap();

    // A draft stays hidden after its start.
    let mine = db.my_tasks(&fx.participant, START + 1).await.unwrap();
    assert!(mine.is_empty(), "{mine:?}");
    let open = db.open_task(&fx.participant, &task.id, START + 1).await;
    assert!(matches!(open, Err(Error::NotFound("task"))), "{open:?}");

    db.publish_task(&fx.organiser, &task.id, START - MINUTE)
        .await
        .unwrap();
    let mine = db.my_tasks(&fx.participant, START - 1).await.unwrap();
    assert!(mine.is_empty(), "visible before start: {mine:?}");
    let open = db.open_task(&fx.participant, &task.id, START - 1).await;
    assert!(matches!(open, Err(Error::NotFound("task"))), "{open:?}");
    let pdf = db.task_pdf(&fx.participant, &task.id, START - 1).await;
    assert!(matches!(pdf, Err(Error::NotFound("task"))), "{pdf:?}");

    let mine = db.my_tasks(&fx.participant, START).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, TaskState::NotOpened);
    assert_eq!(mine[0].now, START);

    // A participant of no room of the part never sees it.
    let theirs = db.my_tasks(&fx.outsider, START).await.unwrap();
    assert!(theirs.is_empty());
    let open = db.open_task(&fx.outsider, &task.id, START).await;
    assert!(matches!(open, Err(Error::NotFound("task"))), "{open:?}");
}

async fn first_opening_recorded_once(fx: Fixture) {
    let db = &fx.db;
    let task = published(&fx, LimitMode::FirstOpening, 600).await;
    let times = [START + MINUTE, START + 2 * MINUTE, START + 5 * MINUTE];
    let mut deadlines = Vec::new();
    for at in times {
        let opened = db.open_task(&fx.participant, &task.id, at).await.unwrap();
        assert_eq!(opened.task.first_opened_at, Some(times[0]));
        assert_eq!(opened.task.now, at);
        assert_eq!(opened.task.state, TaskState::Open);
        assert!(opened.text.contains("порядок сварки"));
        deadlines.push(opened.task.deadline);
    }
    assert_eq!(deadlines, vec![Some(times[0] + 600_000); 3]);

    let openings = db.task_openings(&fx.organiser, &task.id, all()).await;
    let openings = openings.unwrap().items;
    let at: Vec<i64> = openings.iter().map(|o| o.opened_at).collect();
    assert_eq!(at, times);
    let first: Vec<bool> = openings.iter().map(|o| o.first).collect();
    assert_eq!(first, [true, false, false]);
    assert_eq!(openings[0].full_name, "Иванов Иван");
    assert_eq!(openings[0].room_id, fx.room);

    let actions = audit_actions(&fx, task.id.as_str()).await;
    let opens = actions.iter().filter(|a| *a == "task.open").count();
    assert_eq!(opens, 3, "{actions:?}");
    assert!(actions.contains(&"task.read_openings".to_owned()));
}

async fn answers_rejected_after_common_deadline(fx: Fixture) {
    let db = &fx.db;
    let task = published(&fx, LimitMode::CommonStart, 600).await;
    let deadline = START + 600_000;

    // Opening late does not extend a common limit.
    let opened = db.open_task(&fx.participant, &task.id, START + 9 * MINUTE);
    let opened = opened.await.unwrap();
    assert_eq!(opened.task.deadline, Some(deadline));

    let last_ms = deadline - 1;
    let sent = send(db, &fx.participant, &task.id, "ответ", last_ms);
    assert_eq!(sent.await.unwrap().submitted_at, last_ms);
    let late = send(db, &fx.participant, &task.id, "поздно", deadline).await;
    assert!(
        matches!(late, Err(Error::TimeUp { deadline: d }) if d == deadline),
        "{late:?}"
    );
    let late = db.upload_task_file(&fx.participant, &task.id, PNG, None, deadline + 1);
    assert!(matches!(late.await, Err(Error::TimeUp { .. })));

    let reopened = db.open_task(&fx.participant, &task.id, deadline + MINUTE);
    let reopened = reopened.await.unwrap();
    assert_eq!(reopened.task.state, TaskState::Closed);
    assert_eq!(reopened.answer.as_deref(), Some("ответ"));
    assert!(reopened.uploads.is_empty());
}

async fn answers_rejected_after_own_deadline(fx: Fixture) {
    let db = &fx.db;
    let task = published(&fx, LimitMode::FirstOpening, 300).await;

    // Nothing is accepted before the first opening starts the limit.
    let early = send(db, &fx.participant, &task.id, "a", START + 1);
    assert!(matches!(early.await, Err(Error::Conflict { .. })));

    let first = START + 30 * MINUTE;
    db.open_task(&fx.participant, &task.id, first)
        .await
        .unwrap();
    let deadline = first + 300_000;
    let upload = db.upload_task_file(&fx.participant, &task.id, JPEG, Some("image/jpeg"), first);
    assert_eq!(upload.await.unwrap().kind, SubmissionKind::Jpeg);
    let upload = db.upload_task_file(&fx.participant, &task.id, PDF, None, deadline - 1);
    assert_eq!(upload.await.unwrap().kind, SubmissionKind::Pdf);

    let late = db.upload_task_file(&fx.participant, &task.id, PNG, None, deadline);
    assert!(matches!(late.await, Err(Error::TimeUp { deadline: d }) if d == deadline));
    let late = send(db, &fx.participant, &task.id, "b", deadline + 5);
    assert!(matches!(late.await, Err(Error::TimeUp { .. })));

    let mine = db.my_tasks(&fx.participant, deadline).await.unwrap();
    assert_eq!(mine[0].state, TaskState::Closed);
    assert_eq!(mine[0].deadline, Some(deadline));
    let subs = db.task_submissions(&fx.expert, &task.id, all()).await;
    let kinds: Vec<SubmissionKind> = subs.unwrap().items.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [SubmissionKind::Jpeg, SubmissionKind::Pdf]);
}

/// The deadline passes while the database is closed; after it opens again, the task is
/// closed at exactly the deadline stored before, and a late answer is rejected.
async fn deadline_holds_across_restart(fx: Fixture) {
    let task = published(&fx, LimitMode::FirstOpening, 120).await;
    let first = START + MINUTE;
    let opened = fx.db.open_task(&fx.participant, &task.id, first).await;
    let deadline = opened.unwrap().task.deadline.unwrap();
    assert_eq!(deadline, first + 120_000);
    fx.db.close().await;

    let db = &Database::connect(&fx.url).await.expect("database reopens");
    let after = deadline + 10 * MINUTE;
    let mine = db.my_tasks(&fx.participant, after).await.unwrap();
    assert_eq!(mine[0].state, TaskState::Closed);
    assert_eq!(mine[0].deadline, Some(deadline));
    assert_eq!(mine[0].first_opened_at, Some(first));
    let late = send(db, &fx.participant, &task.id, "x", after);
    assert!(matches!(late.await, Err(Error::TimeUp { deadline: d }) if d == deadline));

    let events = db.task_events(&fx.room, fx.participant.person.as_ref().unwrap(), after);
    let events = events.await.unwrap();
    let kinds: Vec<(&str, i64)> = events.iter().map(|e| (e.kind, e.at)).collect();
    assert_eq!(kinds, [("task_opened", first), ("task_time_up", deadline)]);
}

async fn timeline_lists_task_events(fx: Fixture) {
    let db = &fx.db;
    let task = published(&fx, LimitMode::CommonStart, 600).await;
    let person = fx.participant.person.clone().unwrap();
    db.open_task(&fx.participant, &task.id, START + 1000)
        .await
        .unwrap();
    send(db, &fx.participant, &task.id, "ответ", START + 2000)
        .await
        .unwrap();
    db.upload_task_file(&fx.participant, &task.id, PNG, None, START + 3000)
        .await
        .unwrap();

    let before_end = db
        .task_events(&fx.room, &person, START + 4000)
        .await
        .unwrap();
    let kinds: Vec<&str> = before_end.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["task_opened", "task_answer", "task_upload"]);
    assert!(before_end[2].detail.contains("kind=png"));

    let after_end = db
        .task_events(&fx.room, &person, START + 600_000)
        .await
        .unwrap();
    assert_eq!(after_end.len(), 4);
    assert_eq!(after_end[3].kind, "task_time_up");
    assert_eq!(after_end[3].at, START + 600_000);
}

async fn roles_are_enforced(fx: Fixture) {
    let db = &fx.db;
    let new = new_task(LimitMode::CommonStart, 600);
    for actor in [&fx.participant, &fx.expert] {
        let created = db.create_task(actor, &fx.part, &new, START).await;
        assert!(matches!(created, Err(Error::Forbidden)), "{created:?}");
        let listed = db.tasks(actor, &fx.part, all()).await;
        assert!(matches!(listed, Err(Error::Forbidden)), "{listed:?}");
    }
    let task = published(&fx, LimitMode::CommonStart, 600).await;

    // Experts read the work of their own nomination only; participants none.
    assert!(db.task_openings(&fx.expert, &task.id, all()).await.is_ok());
    let other = db.task_openings(&fx.other_expert, &task.id, all()).await;
    assert!(matches!(other, Err(Error::Forbidden)), "{other:?}");
    let other = db.task_submissions(&fx.other_expert, &task.id, all()).await;
    assert!(matches!(other, Err(Error::Forbidden)), "{other:?}");
    let theirs = db.task_submissions(&fx.participant, &task.id, all()).await;
    assert!(matches!(theirs, Err(Error::Forbidden)), "{theirs:?}");

    // Experts and organisers do not take tasks.
    let open = db.open_task(&fx.expert, &task.id, START).await;
    assert!(matches!(open, Err(Error::Forbidden)), "{open:?}");

    let sent = db.open_task(&fx.participant, &task.id, START).await;
    sent.unwrap();
    let sent = db.upload_task_file(&fx.participant, &task.id, PDF, None, START + 1);
    let sent = sent.await.unwrap();
    let file = db.task_submission(&fx.expert, &sent.id).await.unwrap();
    assert_eq!(file.content, PDF);
    let other = db.task_submission(&fx.other_expert, &sent.id).await;
    assert!(matches!(other, Err(Error::Forbidden)), "{other:?}");
    let actions = audit_actions(&fx, sent.id.as_str()).await;
    assert_eq!(actions, ["task.read_submission"]);
}

async fn changes_stop_at_start(fx: Fixture) {
    let db = &fx.db;
    let task = published(&fx, LimitMode::CommonStart, 600).await;
    let mut changed = new_task(LimitMode::FirstOpening, 900);
    changed.title = "Задание 1 (исправлено)".into();
    let before = db.update_task(&fx.organiser, &task.id, &changed, START - 1);
    let before = before.await.unwrap();
    assert_eq!(before.limit_mode, LimitMode::FirstOpening);
    assert_eq!(before.time_limit_secs, 900);

    let after = db
        .update_task(&fx.organiser, &task.id, &changed, START)
        .await;
    assert!(matches!(after, Err(Error::Conflict { .. })), "{after:?}");
    let pdf = db
        .upload_task_pdf(&fx.organiser, &task.id, PDF, START)
        .await;
    assert!(matches!(pdf, Err(Error::Conflict { .. })), "{pdf:?}");
    let again = db.publish_task(&fx.organiser, &task.id, START).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
}

async fn pdf_task_is_served(fx: Fixture) {
    let db = &fx.db;
    let mut new = new_task(LimitMode::CommonStart, 600);
    new.text = String::new();
    let task = db.create_task(&fx.organiser, &fx.part, &new, START - MINUTE);
    let task = task.await.unwrap();
    let empty = db
        .publish_task(&fx.organiser, &task.id, START - MINUTE)
        .await;
    assert!(matches!(empty, Err(Error::Invalid(_))), "{empty:?}");

    let wrong = db
        .upload_task_pdf(&fx.organiser, &task.id, PNG, START - MINUTE)
        .await;
    assert!(matches!(wrong, Err(Error::Invalid(_))), "{wrong:?}");
    let with_pdf = db.upload_task_pdf(&fx.organiser, &task.id, PDF, START - MINUTE);
    assert_eq!(with_pdf.await.unwrap().pdf_size, Some(PDF.len() as i64));
    db.publish_task(&fx.organiser, &task.id, START - MINUTE)
        .await
        .unwrap();

    // Participants get the PDF only after opening the task.
    let unopened = db.task_pdf(&fx.participant, &task.id, START).await;
    assert!(
        matches!(unopened, Err(Error::Conflict { .. })),
        "{unopened:?}"
    );
    let opened = db
        .open_task(&fx.participant, &task.id, START)
        .await
        .unwrap();
    assert!(opened.has_pdf);
    let pdf = db.task_pdf(&fx.participant, &task.id, START + 1).await;
    assert_eq!(pdf.unwrap(), PDF);
}

async fn bad_input_saves_nothing(fx: Fixture) {
    let db = &fx.db;
    let bad = NewTask {
        title: " ".into(),
        text: "a\u{202E}b".into(),
        starts_at: -5,
        time_limit_secs: 0,
        limit_mode: LimitMode::CommonStart,
        opens_until: None,
    };
    let error = db.create_task(&fx.organiser, &fx.part, &bad, START).await;
    let Err(Error::Invalid(fields)) = error else {
        panic!("expected invalid input, got {error:?}");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["title", "text", "time_limit_secs", "starts_at"]);
    let listed = db.tasks(&fx.organiser, &fx.part, all()).await.unwrap();
    assert!(listed.items.is_empty());

    let task = published(&fx, LimitMode::CommonStart, 600).await;
    db.open_task(&fx.participant, &task.id, START)
        .await
        .unwrap();
    let cases: [(&[u8], Option<&str>); 4] = [
        (PNG, Some("application/pdf")),
        (PDF, Some("image/png")),
        (b"<html><script>alert(1)</script>", Some("text/html")),
        (b"", None),
    ];
    for (content, declared) in cases {
        let sent = db.upload_task_file(&fx.participant, &task.id, content, declared, START + 1);
        assert!(matches!(sent.await, Err(Error::Invalid(_))), "{declared:?}");
    }
    let long = "ж".repeat(profstage_contest::task_work::MAX_ANSWER_CHARS + 1);
    let sent = send(db, &fx.participant, &task.id, &long, START + 1);
    assert!(matches!(sent.await, Err(Error::Invalid(_))));
    let subs = db.task_submissions(&fx.organiser, &task.id, all()).await;
    assert!(subs.unwrap().items.is_empty());
}

/// A participant who opened the task by its `opens_until` keeps the whole limit. A first
/// opening after it is rejected, and nothing of the attempt is stored.
async fn first_opening_closes_at_opens_until(fx: Fixture) {
    let db = &fx.db;
    let until = START + 10 * MINUTE;
    let mut new = new_task(LimitMode::FirstOpening, 600);
    new.opens_until = Some(until);
    let task = db.create_task(&fx.organiser, &fx.part, &new, START - MINUTE);
    let task = task.await.unwrap();
    assert_eq!(task.opens_until, Some(until));
    db.publish_task(&fx.organiser, &task.id, START - MINUTE)
        .await
        .unwrap();
    let late = &fx.outsider;
    let late_id = late.person.clone().unwrap();
    db.assign(&fx.organiser, &fx.room, &late_id).await.unwrap();

    let mine = db.my_tasks(late, until).await.unwrap();
    assert_eq!(mine[0].state, TaskState::NotOpened);
    assert_eq!(mine[0].opens_until, Some(until));

    // The last moment to start still gives the whole limit.
    let opened = db
        .open_task(&fx.participant, &task.id, until)
        .await
        .unwrap();
    assert_eq!(opened.task.state, TaskState::Open);
    assert_eq!(opened.task.deadline, Some(until + 600_000));

    let rejected = db.open_task(late, &task.id, until + 1).await;
    assert!(
        matches!(
            rejected,
            Err(Error::Conflict {
                code: "opening_closed",
                ..
            })
        ),
        "{rejected:?}"
    );
    let mine = db.my_tasks(late, until + 1).await.unwrap();
    assert_eq!(mine[0].state, TaskState::Closed);
    assert_eq!(mine[0].deadline, None);
    assert_eq!(mine[0].first_opened_at, None);
    let sent = send(db, late, &task.id, "поздно", until + 2).await;
    assert!(matches!(sent, Err(Error::Conflict { .. })), "{sent:?}");

    // The participant who started in time reopens and answers after `opens_until`.
    let reopened = db.open_task(&fx.participant, &task.id, until + 5 * MINUTE);
    let reopened = reopened.await.unwrap();
    assert_eq!(reopened.task.state, TaskState::Open);
    assert_eq!(reopened.task.deadline, Some(until + 600_000));
    let sent = send(db, &fx.participant, &task.id, "ответ", until + 9 * MINUTE);
    sent.await.unwrap();

    let openings = db.task_openings(&fx.organiser, &task.id, all()).await;
    let people: Vec<PersonId> = openings
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.person_id)
        .collect();
    assert_eq!(people, vec![fx.participant.person.clone().unwrap(); 2]);
    let actions = audit_actions(&fx, task.id.as_str()).await;
    let opens = actions.iter().filter(|a| *a == "task.open").count();
    assert_eq!(opens, 2, "{actions:?}");
    let events = db
        .task_events(&fx.room, &late_id, until + 20 * MINUTE)
        .await;
    assert!(events.unwrap().is_empty());
}

async fn opens_until_checked_and_fixed(fx: Fixture) {
    let db = &fx.db;
    let week = 7 * 24 * 60 * MINUTE;
    let cases = [
        (
            LimitMode::CommonStart,
            START + MINUTE,
            "opens_until_not_allowed",
        ),
        (LimitMode::FirstOpening, START, "not_after_start"),
        (
            LimitMode::FirstOpening,
            START + week + 1,
            "opening_window_too_long",
        ),
    ];
    for (mode, until, code) in cases {
        let mut new = new_task(mode, 600);
        new.opens_until = Some(until);
        let error = db.create_task(&fx.organiser, &fx.part, &new, START).await;
        let Err(Error::Invalid(fields)) = error else {
            panic!("expected {code}, got {error:?}");
        };
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert_eq!(fields[0].field, "opens_until");
        assert_eq!(fields[0].code, code);
    }
    let listed = db.tasks(&fx.organiser, &fx.part, all()).await.unwrap();
    assert!(listed.items.is_empty());

    // The bound changes like the other times: until the task starts.
    let mut new = new_task(LimitMode::FirstOpening, 600);
    new.opens_until = Some(START + week);
    let task = db.create_task(&fx.organiser, &fx.part, &new, START - MINUTE);
    let task = task.await.unwrap();
    db.publish_task(&fx.organiser, &task.id, START - MINUTE)
        .await
        .unwrap();
    new.opens_until = Some(START + MINUTE);
    let changed = db.update_task(&fx.organiser, &task.id, &new, START - 1);
    assert_eq!(changed.await.unwrap().opens_until, Some(START + MINUTE));
    new.opens_until = None;
    let after = db.update_task(&fx.organiser, &task.id, &new, START).await;
    assert!(
        matches!(
            after,
            Err(Error::Conflict {
                code: "task_started",
                ..
            })
        ),
        "{after:?}"
    );
    let stored = db.task(&fx.organiser, &task.id).await.unwrap();
    assert_eq!(stored.opens_until, Some(START + MINUTE));
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let folder = tempfile::tempdir().unwrap();
                    super::$name(fixture(sqlite_url(folder.path())).await).await;
                }
            )*
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn every_scenario_on_postgres() {
            let server = PostgresServer::start();
            $(
                eprintln!("postgres: {}", stringify!($name));
                $name(fixture(server.create_database().await).await).await;
            )*
        }
    };
}

scenarios!(
    hidden_before_start,
    first_opening_recorded_once,
    answers_rejected_after_common_deadline,
    answers_rejected_after_own_deadline,
    deadline_holds_across_restart,
    timeline_lists_task_events,
    roles_are_enforced,
    changes_stop_at_start,
    pdf_task_is_served,
    bad_input_saves_nothing,
    first_opening_closes_at_opens_until,
    opens_until_checked_and_fixed,
);
