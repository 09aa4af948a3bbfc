//! The contest domain against real SQLite and PostgreSQL databases: permissions, invites,
//! sessions, and the audit log written with each change.

use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, AuditFilter, Database, Error, NewContest, NewExpertGroup, NewInvite, NewNomination,
    NewPerson, NewRoom, NewStage, NewStagePart, Page, PartKind, Role,
};

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    db: Database,
    url: String,
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
        url,
    }
}

fn page() -> Page {
    Page::new(None, None).unwrap()
}

async fn audit_count(fx: &Fixture) -> usize {
    let all = Page::new(None, Some(Page::MAX_LIMIT)).unwrap();
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), all)
        .await
        .unwrap();
    log.items.len()
}

async fn person(fx: &Fixture, role: Role, name: &str) -> profstage_contest::Person {
    let new = NewPerson {
        role: Some(role),
        full_name: name.to_owned(),
        ..NewPerson::default()
    };
    fx.db
        .create_person(&fx.organiser, &new)
        .await
        .expect("person created")
}

async fn room(fx: &Fixture) -> profstage_contest::Room {
    let db = &fx.db;
    let actor = &fx.organiser;
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
    db.create_room(actor, &part.id, &room).await.unwrap()
}

async fn structure_is_audited(fx: Fixture) {
    let before = audit_count(&fx).await;
    room(&fx).await;
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), page())
        .await
        .unwrap();
    let actions: Vec<&str> = log
        .items
        .iter()
        .take(5)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "room.create",
            "stage_part.create",
            "nomination.create",
            "stage.create",
            "contest.create"
        ]
    );
    assert_eq!(audit_count(&fx).await, before + 5);
    let entry = &log.items[0];
    assert_eq!(
        entry.actor_id.as_deref(),
        fx.organiser.person.as_ref().map(|p| p.as_str())
    );
    assert_eq!(
        entry.session_id.as_deref(),
        fx.organiser.session.as_ref().map(|s| s.as_str())
    );
}

async fn invalid_input_saves_nothing(fx: Fixture) {
    let before = audit_count(&fx).await;
    let long = "Я".repeat(201);
    let bad = [
        NewContest {
            name: String::new(),
            description: String::new(),
            recording_retention_days: None,
        },
        NewContest {
            name: long.clone(),
            description: String::new(),
            recording_retention_days: None,
        },
        NewContest {
            name: "a\u{202E}b".into(),
            description: String::new(),
            recording_retention_days: None,
        },
    ];
    for new in &bad {
        let error = fx.db.create_contest(&fx.organiser, new).await.unwrap_err();
        assert!(
            matches!(&error, Error::Invalid(f) if f[0].field == "name"),
            "{error:?}"
        );
    }
    for days in [0, -1, 36_501] {
        let new = NewContest {
            name: "Конкурс".into(),
            description: String::new(),
            recording_retention_days: Some(days),
        };
        let error = fx.db.create_contest(&fx.organiser, &new).await.unwrap_err();
        assert!(
            matches!(&error, Error::Invalid(f) if f[0].field == "recording_retention_days"),
            "{days} days: {error:?}"
        );
    }
    let reversed = NewStage {
        region: "Омск".into(),
        starts_at: Some(10),
        ends_at: Some(5),
    };
    let contest = fx
        .db
        .create_contest(
            &fx.organiser,
            &NewContest {
                name: "К".into(),
                description: String::new(),
                recording_retention_days: None,
            },
        )
        .await
        .unwrap();
    let error = fx
        .db
        .create_stage(&fx.organiser, &contest.id, &reversed)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(f) if f[0].field == "ends_at"),
        "{error:?}"
    );
    let listing = fx.db.contests(&fx.organiser, page()).await.unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(audit_count(&fx).await, before + 1);
}

async fn contest_sets_recording_retention(fx: Fixture) {
    let room = room(&fx).await;
    let days = fx.db.recording_retention_days(&room.id).await.unwrap();
    assert_eq!(days, None, "a new contest keeps the server's default");

    let contests = fx.db.contests(&fx.organiser, page()).await.unwrap();
    let contest_id = contests.items[0].id.clone();
    let change = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: Some(90),
    };
    let contest = fx.db.update_contest(&fx.organiser, &contest_id, &change);
    let contest = contest.await.unwrap();
    assert_eq!(contest.recording_retention_days, Some(90));
    let days = fx.db.recording_retention_days(&room.id).await.unwrap();
    assert_eq!(days, Some(90));
    let read = fx.db.contest(&fx.organiser, &contest_id).await.unwrap();
    assert_eq!(read.recording_retention_days, Some(90));

    let unknown = profstage_contest::RoomId::generate();
    let days = fx.db.recording_retention_days(&unknown).await.unwrap();
    assert_eq!(days, None, "an unknown room");
}

async fn roles_are_enforced(fx: Fixture) {
    let participant = person(&fx, Role::Participant, "Участник").await;
    let link = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &NewInvite::default())
        .await
        .unwrap();
    let session = fx.db.accept_invite(&link.token).await.unwrap();
    let actor = session.info.actor();
    assert_eq!(actor.role, Role::Participant);
    let new = NewContest {
        name: "Чужой".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    assert!(matches!(
        fx.db.create_contest(&actor, &new).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        fx.db.contests(&actor, page()).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        fx.db.people(&actor, None, page()).await,
        Err(Error::Forbidden)
    ));
    let filter = AuditFilter::default();
    assert!(matches!(
        fx.db.audit_log(&actor, &filter, page()).await,
        Err(Error::Forbidden)
    ));
    let own = fx.db.person(&actor, &participant.id).await.unwrap();
    assert_eq!(own.full_name, "Участник");
    let other = fx.organiser.person.clone().unwrap();
    assert!(matches!(
        fx.db.person(&actor, &other).await,
        Err(Error::Forbidden)
    ));
}

async fn media_access_needs_assignment(fx: Fixture) {
    let room = room(&fx).await;
    let expert = person(&fx, Role::Expert, "Эксперт").await;
    let link = fx
        .db
        .create_invite(&fx.organiser, &expert.id, &NewInvite::default())
        .await
        .unwrap();
    let actor = fx.db.accept_invite(&link.token).await.unwrap().info.actor();
    assert!(matches!(
        fx.db.room_access(&actor, &room.id).await,
        Err(Error::Forbidden)
    ));
    fx.db
        .assign(&fx.organiser, &room.id, &expert.id)
        .await
        .unwrap();
    let access = fx.db.room_access(&actor, &room.id).await.unwrap();
    assert_eq!(access.full_name, "Эксперт");
    assert_eq!(access.role, Role::Expert);
    let again = fx.db.assign(&fx.organiser, &room.id, &expert.id).await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
    fx.db
        .unassign(&fx.organiser, &room.id, &expert.id)
        .await
        .unwrap();
    assert!(matches!(
        fx.db.room_access(&actor, &room.id).await,
        Err(Error::Forbidden)
    ));
}

async fn invites_work_once(fx: Fixture) {
    let participant = person(&fx, Role::Participant, "Пётр").await;
    let new = NewInvite::default();
    let link = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &new)
        .await
        .unwrap();
    fx.db
        .accept_invite(&link.token)
        .await
        .expect("first use works");
    let reused = fx.db.accept_invite(&link.token).await;
    assert!(matches!(reused, Err(Error::InvalidInvite)), "{reused:?}");

    let revoked = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &new)
        .await
        .unwrap();
    fx.db
        .revoke_invite(&fx.organiser, &revoked.invite.id)
        .await
        .unwrap();
    let opened = fx.db.accept_invite(&revoked.token).await;
    assert!(matches!(opened, Err(Error::InvalidInvite)), "{opened:?}");

    let expired = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &new)
        .await
        .unwrap();
    let pool = sqlx::AnyPool::connect(&fx.url).await.unwrap();
    sqlx::query("UPDATE invites SET expires_at = $1 WHERE id = $2")
        .bind(expired.invite.created_at)
        .bind(expired.invite.id.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let opened = fx.db.accept_invite(&expired.token).await;
    assert!(matches!(opened, Err(Error::InvalidInvite)), "{opened:?}");

    let unknown = "0".repeat(64);
    assert!(matches!(
        fx.db.accept_invite(&unknown).await,
        Err(Error::InvalidInvite)
    ));
    assert!(matches!(
        fx.db.accept_invite("short").await,
        Err(Error::InvalidInvite)
    ));

    let invites = fx.db.invites(&fx.organiser, &participant.id).await.unwrap();
    assert_eq!(invites.len(), 3);
    let too_long = NewInvite {
        valid_hours: Some(10_000),
    };
    let error = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &too_long)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(f) if f[0].field == "valid_hours"),
        "{error:?}"
    );
}

async fn sessions_end_and_passwords_check(fx: Fixture) {
    assert!(matches!(
        fx.db.sign_in("chief", "wrong password!").await,
        Err(Error::WrongCredentials)
    ));
    assert!(matches!(
        fx.db.sign_in("nobody", PASSWORD).await,
        Err(Error::WrongCredentials)
    ));
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), page())
        .await
        .unwrap();
    let failures: Vec<_> = log
        .items
        .iter()
        .filter(|entry| entry.action == "session.sign_in_failed")
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].target_id, None, "an unknown login names no one");
    let chief = fx.organiser.person.as_ref().map(|p| p.to_string());
    assert_eq!(failures[1].target_id, chief);
    assert_eq!(failures[1].actor_id, None);
    let duplicate = fx.db.create_organiser("Chief", "Другой", PASSWORD).await;
    assert!(
        matches!(duplicate, Err(Error::Conflict { .. })),
        "{duplicate:?}"
    );
    let short = fx
        .db
        .create_organiser("second", "Второй", "short")
        .await
        .unwrap_err();
    assert!(
        matches!(&short, Error::Invalid(f) if f[0].field == "password"),
        "{short:?}"
    );

    let session = fx.db.sign_in("CHIEF", PASSWORD).await.unwrap();
    let found = fx
        .db
        .session(&session.cookie_token)
        .await
        .unwrap()
        .expect("live session");
    assert!(found.csrf_matches(&session.csrf_token));
    assert!(!found.csrf_matches(&session.cookie_token));
    fx.db.sign_out(&found).await.unwrap();
    assert!(fx
        .db
        .session(&session.cookie_token)
        .await
        .unwrap()
        .is_none());
}

async fn reads_of_people_are_audited(fx: Fixture) {
    let person = person(&fx, Role::Support, "Служба поддержки").await;
    fx.db.person(&fx.organiser, &person.id).await.unwrap();
    let filter = AuditFilter {
        target_id: Some(person.id.to_string()),
        actor_id: None,
    };
    let log = fx
        .db
        .audit_log(&fx.organiser, &filter, page())
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["person.read", "person.create"]);

    fx.db.people(&fx.organiser, None, page()).await.unwrap();
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), page())
        .await
        .unwrap();
    assert_eq!(log.items[0].action, "person.list");
    assert!(
        log.items[0].detail.contains(person.id.as_str()),
        "{}",
        log.items[0].detail
    );
}

async fn expert_group_has_one_chair(fx: Fixture) {
    let room = room(&fx).await;
    let _ = room;
    let contest = fx
        .db
        .contests(&fx.organiser, page())
        .await
        .unwrap()
        .items
        .remove(0);
    let stage = fx
        .db
        .stages(&fx.organiser, &contest.id, page())
        .await
        .unwrap()
        .items
        .remove(0);
    let nomination = fx
        .db
        .nominations(&fx.organiser, &stage.id, page())
        .await
        .unwrap()
        .items
        .remove(0);
    let chair = person(&fx, Role::Expert, "Председатель").await;
    let member = person(&fx, Role::Expert, "Член группы").await;
    let participant = person(&fx, Role::Participant, "Участник").await;
    let new = NewExpertGroup {
        name: "Группа 1".into(),
        chair_id: Some(chair.id.clone()),
        member_ids: vec![member.id.clone()],
    };
    let group = fx
        .db
        .create_expert_group(&fx.organiser, &nomination.id, &new)
        .await
        .unwrap();
    assert_eq!(group.chair_id, chair.id);
    assert_eq!(group.member_ids.len(), 2);
    let participant_chair = NewExpertGroup {
        chair_id: Some(participant.id.clone()),
        ..new.clone()
    };
    let error = fx
        .db
        .create_expert_group(&fx.organiser, &nomination.id, &participant_chair)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(f) if f[0].field == "chair_id"),
        "{error:?}"
    );
    let with_participant = NewExpertGroup {
        member_ids: vec![participant.id.clone()],
        ..new
    };
    let error = fx
        .db
        .create_expert_group(&fx.organiser, &nomination.id, &with_participant)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid(f) if f[0].field == "member_ids"),
        "{error:?}"
    );
    let groups = fx
        .db
        .expert_groups(&fx.organiser, &nomination.id, page())
        .await
        .unwrap();
    assert_eq!(
        groups.items.len(),
        1,
        "the rejected group left nothing behind"
    );
}

async fn pages_are_bounded(fx: Fixture) {
    for index in 0..5 {
        let new = NewContest {
            name: format!("Конкурс {index}"),
            description: String::new(),
            recording_retention_days: None,
        };
        fx.db.create_contest(&fx.organiser, &new).await.unwrap();
    }
    let first = fx
        .db
        .contests(&fx.organiser, Page::new(None, Some(3)).unwrap())
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.next_offset, Some(3));
    let second = fx
        .db
        .contests(&fx.organiser, Page::new(Some(3), Some(3)).unwrap())
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next_offset, None);
    assert!(Page::new(None, Some(0)).is_err());
    assert!(Page::new(None, Some(Page::MAX_LIMIT + 1)).is_err());
}

async fn audit_log_is_append_only(fx: Fixture) {
    let before = audit_count(&fx).await;
    let pool = sqlx::AnyPool::connect(&fx.url).await.unwrap();
    let update = sqlx::query("UPDATE audit_log SET action = 'forged'")
        .execute(&pool)
        .await;
    assert!(update.is_err(), "an UPDATE of audit_log succeeded");
    let delete = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
    assert!(delete.is_err(), "a DELETE from audit_log succeeded");
    pool.close().await;
    assert_eq!(audit_count(&fx).await, before);

    let csv = fx
        .db
        .export_audit_csv(&fx.organiser, &AuditFilter::default())
        .await
        .unwrap();
    assert!(csv.starts_with("seq,at,actor_id"), "{csv}");
    assert!(csv.contains("organiser.create"), "{csv}");
    let log = fx
        .db
        .audit_log(&fx.organiser, &AuditFilter::default(), page())
        .await
        .unwrap();
    assert_eq!(log.items[0].action, "audit.export");
}

async fn reopening_keeps_data(fx: Fixture) {
    let new = NewContest {
        name: "Сохраняется".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    fx.db.create_contest(&fx.organiser, &new).await.unwrap();
    fx.db.close().await;
    let reopened = Database::connect(&fx.url)
        .await
        .expect("migrations run again cleanly");
    let listing = reopened.contests(&fx.organiser, page()).await.unwrap();
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.items[0].name, "Сохраняется");
    reopened.close().await;
}

async fn concurrent_writes_succeed(fx: Fixture) {
    let mut tasks = Vec::new();
    for index in 0..16 {
        let db = fx.db.clone();
        let actor = fx.organiser.clone();
        tasks.push(tokio::spawn(async move {
            let new = NewContest {
                name: format!("Параллельный {index}"),
                description: String::new(),
                recording_retention_days: None,
            };
            let contest = db.create_contest(&actor, &new).await?;
            let stage = NewStage {
                region: "Регион".into(),
                starts_at: Some(0),
                ends_at: Some(1),
            };
            db.create_stage(&actor, &contest.id, &stage).await?;
            db.people(&actor, None, Page::new(None, None)?)
                .await
                .map(drop)
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("a concurrent write failed");
    }
    let all = Page::new(None, Some(Page::MAX_LIMIT)).unwrap();
    assert_eq!(
        fx.db
            .contests(&fx.organiser, all)
            .await
            .unwrap()
            .items
            .len(),
        16
    );
}

async fn invite_race_has_one_winner(fx: Fixture) {
    let participant = person(&fx, Role::Participant, "Гонщик").await;
    let new = NewInvite::default();
    let link = fx
        .db
        .create_invite(&fx.organiser, &participant.id, &new)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = fx.db.clone();
        let token = link.token.clone();
        tasks.push(tokio::spawn(async move { db.accept_invite(&token).await }));
    }
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => winners += 1,
            Err(Error::InvalidInvite) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners, 1);
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
    structure_is_audited,
    invalid_input_saves_nothing,
    contest_sets_recording_retention,
    roles_are_enforced,
    media_access_needs_assignment,
    invites_work_once,
    sessions_end_and_passwords_check,
    reads_of_people_are_audited,
    expert_group_has_one_chair,
    pages_are_bounded,
    audit_log_is_append_only,
    reopening_keeps_data,
    concurrent_writes_succeed,
    invite_race_has_one_winner,
);
