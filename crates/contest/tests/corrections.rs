//! Corrections against real SQLite and PostgreSQL databases: changing and deleting contests,
//! stages, nominations, stage parts, rooms and people, with the audit entries they write
//! and the conflicts that keep referenced records.

use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, AuditFilter, Database, Error, NewContest, NewInvite, NewNomination, NewPerson, NewRoom,
    NewStage, NewStagePart, Nomination, Page, PartKind, Person, Role, Room, Stage, StagePart,
};

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    db: Database,
    organiser: Actor,
}

async fn fixture(url: String) -> Fixture {
    let db = Database::connect(&url)
        .await
        .expect("database opens and migrates");
    db.create_organiser("chief", "Главный Организатор", PASSWORD)
        .await
        .expect("organiser created");
    let session = db.sign_in("chief", PASSWORD).await.expect("sign-in works");
    Fixture {
        organiser: session.info.actor(),
        db,
    }
}

fn page() -> Page {
    Page::new(None, None).unwrap()
}

/// Returns the newest audit entries' actions, newest first.
async fn last_actions(fx: &Fixture, count: usize) -> Vec<String> {
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), page())
        .await
        .unwrap();
    log.items
        .into_iter()
        .take(count)
        .map(|entry| entry.action)
        .collect()
}

struct Tree {
    contest: profstage_contest::Contest,
    stage: Stage,
    nomination: Nomination,
    part: StagePart,
    room: Room,
}

async fn tree(fx: &Fixture) -> Tree {
    let (db, actor) = (&fx.db, &fx.organiser);
    let contest = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(actor, &contest).await.unwrap();
    let stage = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(1_800_000_000_000),
        ends_at: Some(1_800_086_400_000),
    };
    let stage = db.create_stage(actor, &contest.id, &stage).await.unwrap();
    let nomination = NewNomination {
        profession: "Сварщик".into(),
    };
    let nomination = db
        .create_nomination(actor, &stage.id, &nomination)
        .await
        .unwrap();
    let part = NewStagePart {
        kind: Some(PartKind::Practice),
        title: "Практика".into(),
    };
    let part = db
        .create_stage_part(actor, &nomination.id, &part)
        .await
        .unwrap();
    let room = NewRoom {
        title: "Комната 1".into(),
    };
    let room = db.create_room(actor, &part.id, &room).await.unwrap();
    Tree {
        contest,
        stage,
        nomination,
        part,
        room,
    }
}

async fn person(fx: &Fixture, role: Role, name: &str) -> Person {
    let new = NewPerson {
        role: Some(role),
        full_name: name.to_owned(),
        ..NewPerson::default()
    };
    fx.db.create_person(&fx.organiser, &new).await.unwrap()
}

fn is_conflict<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Conflict { message, .. }) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn structure_edits_are_saved(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;

    let contest = NewContest {
        name: "Лучший по профессии 2028".into(),
        description: "Перенесён на год".into(),
        recording_retention_days: None,
    };
    let contest = db
        .update_contest(actor, &t.contest.id, &contest)
        .await
        .unwrap();
    assert_eq!(contest.name, "Лучший по профессии 2028");
    assert_eq!(contest.created_at, t.contest.created_at);
    let stored = db.contest(actor, &t.contest.id).await.unwrap();
    assert_eq!(stored, contest);

    let stage = NewStage {
        region: "Тверская обл.".into(),
        starts_at: Some(1_800_000_000_000),
        ends_at: Some(1_800_172_800_000),
    };
    let stage = db.update_stage(actor, &t.stage.id, &stage).await.unwrap();
    assert_eq!(stage.region, "Тверская обл.");
    assert_eq!(stage.ends_at, 1_800_172_800_000);
    assert_eq!(stage.contest_id, t.contest.id);

    let nomination = NewNomination {
        profession: "Электрогазосварщик".into(),
    };
    let nomination = db
        .update_nomination(actor, &t.nomination.id, &nomination)
        .await
        .unwrap();
    assert_eq!(nomination.profession, "Электрогазосварщик");

    let part = NewStagePart {
        kind: Some(PartKind::Theory),
        title: "Теория".into(),
    };
    let part = db
        .update_stage_part(actor, &t.part.id, &part)
        .await
        .unwrap();
    assert_eq!(part.kind, PartKind::Theory);
    assert_eq!(part.title, "Теория");

    let room = NewRoom {
        title: "Сварочный пост 2".into(),
    };
    let room = db.update_room(actor, &t.room.id, &room).await.unwrap();
    assert_eq!(room.title, "Сварочный пост 2");
    let rooms = db.rooms(actor, &t.part.id, page()).await.unwrap();
    assert_eq!(rooms.items, [room]);

    assert_eq!(
        last_actions(&fx, 5).await,
        [
            "room.update",
            "stage_part.update",
            "nomination.update",
            "stage.update",
            "contest.update"
        ]
    );
}

async fn invalid_edits_change_nothing(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;
    let before = last_actions(&fx, 1).await;

    let empty = NewContest::default();
    let result = db.update_contest(actor, &t.contest.id, &empty).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "name"));
    let backwards = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(1_800_086_400_000),
        ends_at: Some(1_800_000_000_000),
    };
    let result = db.update_stage(actor, &t.stage.id, &backwards).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "ends_at"));
    let no_kind = NewStagePart {
        kind: None,
        title: "Теория".into(),
    };
    let result = db.update_stage_part(actor, &t.part.id, &no_kind).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "kind"));

    // A profession already taken in the stage is a conflict.
    let other = NewNomination {
        profession: "Токарь".into(),
    };
    db.create_nomination(actor, &t.stage.id, &other)
        .await
        .unwrap();
    let result = db.update_nomination(actor, &t.nomination.id, &other).await;
    assert!(is_conflict(result).contains("already has a nomination"));

    let missing = profstage_contest::RoomId::generate();
    let title = NewRoom {
        title: "Нигде".into(),
    };
    let result = db.update_room(actor, &missing, &title).await;
    assert!(matches!(result, Err(Error::NotFound("room"))));
    let result = db.delete_room(actor, &missing).await;
    assert!(matches!(result, Err(Error::NotFound("room"))));

    let stored = db.contest(actor, &t.contest.id).await.unwrap();
    assert_eq!(stored, t.contest);
    let nominations = db.nominations(actor, &t.stage.id, page()).await.unwrap();
    assert!(nominations.items.iter().any(|n| n.profession == "Сварщик"));
    assert_eq!(
        last_actions(&fx, 2).await[1],
        before[0],
        "one audit entry: the create"
    );
}

async fn referenced_records_are_kept(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;
    let participant = person(&fx, Role::Participant, "Иванов Иван").await;
    db.assign(actor, &t.room.id, &participant.id).await.unwrap();

    let message = is_conflict(db.delete_contest(actor, &t.contest.id).await);
    assert!(message.contains("stages"), "{message}");
    let message = is_conflict(db.delete_stage(actor, &t.stage.id).await);
    assert!(message.contains("nominations"), "{message}");
    is_conflict(db.delete_nomination(actor, &t.nomination.id).await);
    is_conflict(db.delete_stage_part(actor, &t.part.id).await);
    let message = is_conflict(db.delete_room(actor, &t.room.id).await);
    assert!(message.contains("assigned"), "{message}");
    let message = is_conflict(db.delete_person(actor, &participant.id).await);
    assert!(message.contains("room assignments"), "{message}");
    assert_eq!(db.contest(actor, &t.contest.id).await.unwrap(), t.contest);
    assert_eq!(last_actions(&fx, 1).await, ["room.assign"]);

    // Removed from the bottom up, everything goes.
    db.unassign(actor, &t.room.id, &participant.id)
        .await
        .unwrap();
    db.delete_room(actor, &t.room.id).await.unwrap();
    db.delete_stage_part(actor, &t.part.id).await.unwrap();
    db.delete_nomination(actor, &t.nomination.id).await.unwrap();
    db.delete_stage(actor, &t.stage.id).await.unwrap();
    db.delete_contest(actor, &t.contest.id).await.unwrap();
    assert_eq!(
        last_actions(&fx, 5).await,
        [
            "contest.delete",
            "stage.delete",
            "nomination.delete",
            "stage_part.delete",
            "room.delete"
        ]
    );
    let gone = db.contest(actor, &t.contest.id).await;
    assert!(matches!(gone, Err(Error::NotFound("contest"))));
    let again = db.delete_contest(actor, &t.contest.id).await;
    assert!(matches!(again, Err(Error::NotFound("contest"))));
}

async fn people_are_corrected_and_deleted(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;
    let expert = person(&fx, Role::Expert, "Петров Пётр").await;
    let change = NewPerson {
        role: Some(Role::CommissionMember),
        full_name: "Петров Пётр Петрович".into(),
        email: Some("petrov@example.org".into()),
        stage_id: Some(t.stage.id.clone()),
        ..NewPerson::default()
    };
    let changed = db.update_person(actor, &expert.id, &change).await.unwrap();
    assert_eq!(changed.role, Role::CommissionMember);
    assert_eq!(changed.stage_id.as_ref(), Some(&t.stage.id));
    assert_eq!(changed.full_name, "Петров Пётр Петрович");
    assert_eq!(changed.email.as_deref(), Some("petrov@example.org"));
    assert_eq!(changed.created_at, expert.created_at);

    let bad = NewPerson {
        email: Some("not an address".into()),
        ..change.clone()
    };
    let result = db.update_person(actor, &expert.id, &bad).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "email"));
    let promote = NewPerson {
        role: Some(Role::Organiser),
        stage_id: None,
        ..change.clone()
    };
    let result = db.update_person(actor, &expert.id, &promote).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "role"));

    // An organiser may fix their own name but keeps the role.
    let me = actor.person.clone().unwrap();
    let rename = NewPerson {
        role: None,
        full_name: "Главный Организатор Конкурса".into(),
        ..NewPerson::default()
    };
    let renamed = db.update_person(actor, &me, &rename).await.unwrap();
    assert_eq!(renamed.role, Role::Organiser);
    let demote = NewPerson {
        role: Some(Role::Support),
        ..rename
    };
    let result = db.update_person(actor, &me, &demote).await;
    assert!(matches!(result, Err(Error::Invalid(ref f)) if f[0].field == "role"));
    let message = is_conflict(db.delete_person(actor, &me).await);
    assert!(message.contains("yourself"), "{message}");

    // A person who signed in with an invite goes with the session and the link.
    let link = db
        .create_invite(actor, &expert.id, &NewInvite::default())
        .await
        .unwrap();
    let session = db.accept_invite(&link.token).await.unwrap();
    db.delete_person(actor, &expert.id).await.unwrap();
    let gone = db.person(actor, &expert.id).await;
    assert!(matches!(gone, Err(Error::NotFound("person"))));
    let signed_in = db.session(&session.cookie_token).await.unwrap();
    assert!(signed_in.is_none(), "the deleted person's session ended");
    assert_eq!(last_actions(&fx, 1).await, ["person.delete"]);
}

/// Returns the code of each field error, or panics when the result is not invalid input.
fn field_codes<T: std::fmt::Debug>(result: Result<T, Error>) -> Vec<(String, String)> {
    match result {
        Err(Error::Invalid(fields)) => fields.into_iter().map(|f| (f.field, f.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

async fn commission_members_belong_to_a_stage(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;
    let member = |stage_id| NewPerson {
        role: Some(Role::CommissionMember),
        full_name: "Сидоров Сидор".into(),
        stage_id,
        ..NewPerson::default()
    };
    let pair = |code: &str| vec![("stage_id".to_owned(), code.to_owned())];

    let without = db.create_person(actor, &member(None)).await;
    assert_eq!(field_codes(without), pair("stage_required"));
    let unknown = Some(profstage_contest::StageId::generate());
    let nowhere = db.create_person(actor, &member(unknown)).await;
    assert_eq!(field_codes(nowhere), pair("stage_not_found"));
    let expert = NewPerson {
        role: Some(Role::Expert),
        ..member(Some(t.stage.id.clone()))
    };
    let staged_expert = db.create_person(actor, &expert).await;
    assert_eq!(field_codes(staged_expert), pair("stage_not_allowed"));

    let created = db
        .create_person(actor, &member(Some(t.stage.id.clone())))
        .await
        .unwrap();
    assert_eq!(created.stage_id.as_ref(), Some(&t.stage.id));
    let read = db.person(actor, &created.id).await.unwrap();
    assert_eq!(read.stage_id.as_ref(), Some(&t.stage.id));

    // A stage of its own, with nothing but the member: the member keeps it.
    let lone = NewStage {
        region: "Омская область".into(),
        starts_at: Some(1_800_000_000_000),
        ends_at: Some(1_800_086_400_000),
    };
    let lone = db.create_stage(actor, &t.contest.id, &lone).await.unwrap();
    let moved = db
        .update_person(actor, &created.id, &member(Some(lone.id.clone())))
        .await
        .unwrap();
    assert_eq!(moved.stage_id.as_ref(), Some(&lone.id));
    match db.delete_stage(actor, &lone.id).await {
        Err(Error::Conflict { code, .. }) => assert_eq!(code, "stage_has_dependents"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let cleared = db.update_person(actor, &created.id, &member(None)).await;
    assert_eq!(field_codes(cleared), pair("stage_required"));
    db.delete_person(actor, &created.id).await.unwrap();
    db.delete_stage(actor, &lone.id).await.unwrap();
}

async fn corrections_need_organisers(fx: Fixture) {
    let (db, actor) = (&fx.db, &fx.organiser);
    let t = tree(&fx).await;
    let support = person(&fx, Role::Support, "Сидоров Сидор").await;
    let link = db
        .create_invite(actor, &support.id, &NewInvite::default())
        .await
        .unwrap();
    let helper = db.accept_invite(&link.token).await.unwrap().info.actor();

    let rename = NewRoom {
        title: "Чужая".into(),
    };
    let result = db.update_room(&helper, &t.room.id, &rename).await;
    assert!(matches!(result, Err(Error::Forbidden)));
    let result = db.delete_contest(&helper, &t.contest.id).await;
    assert!(matches!(result, Err(Error::Forbidden)));
    let result = db.delete_person(&helper, &support.id).await;
    assert!(matches!(result, Err(Error::Forbidden)));
    assert_eq!(
        db.rooms(actor, &t.part.id, page()).await.unwrap().items,
        [t.room]
    );
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
    structure_edits_are_saved,
    invalid_edits_change_nothing,
    referenced_records_are_kept,
    people_are_corrected_and_deleted,
    commission_members_belong_to_a_stage,
    corrections_need_organisers,
);
