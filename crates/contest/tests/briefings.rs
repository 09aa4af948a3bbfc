//! Who may join a scheduled briefing, against real SQLite and PostgreSQL databases. An
//! applicant accepted into a nomination of the stage may join. A participant with no tie to
//! the stage may not, and no participant may once the briefing is cancelled, not even with
//! a token issued before.

use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, ApplicationId, Briefing, Database, Error, NewApplication, NewBriefing, NewContest,
    NewInvite, NewNomination, NewStage, Nomination, Role, RoomKind, Stage, Transition,
};

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    db: Database,
    organiser: Actor,
    stage: Stage,
    nomination: Nomination,
}

async fn fixture(url: String) -> Fixture {
    let db = Database::connect(&url).await.expect("database opens");
    db.create_organiser("chief", "Главный Организатор", PASSWORD)
        .await
        .expect("organiser created");
    let organiser = db.sign_in("chief", PASSWORD).await.unwrap().info.actor();

    let contest = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(&organiser, &contest).await.unwrap();
    let stage = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(1_800_000_000_000),
        ends_at: Some(1_800_086_400_000),
    };
    let stage = db.create_stage(&organiser, &contest.id, &stage).await;
    let stage = stage.unwrap();
    let profession = NewNomination {
        profession: "Сварщик".into(),
    };
    let nomination = db
        .create_nomination(&organiser, &stage.id, &profession)
        .await;
    db.create_consent_text(&organiser, "2027-01", "Я согласен на обработку данных.")
        .await
        .unwrap();
    Fixture {
        db,
        organiser,
        stage,
        nomination: nomination.unwrap(),
    }
}

/// Submits an application and moves it through `steps`; returns its id.
async fn apply(fx: &Fixture, email: &str, steps: &[Transition]) -> ApplicationId {
    let form = NewApplication {
        nomination_id: fx.nomination.id.to_string(),
        full_name: format!("Заявитель {email}"),
        birth_date: "1990-05-17".into(),
        employer: "ООО «Сварка»".into(),
        position: "Сварщик".into(),
        experience_years: Some(12),
        email: email.into(),
        phone: "+7 900 123-45-67".into(),
        consent_version: "2027-01".into(),
        consent: true,
    };
    let sent = fx.db.submit_application(&form, Vec::new()).await.unwrap();
    let ids = [sent.id.clone()];
    for step in steps {
        let moved = fx
            .db
            .transition_applications(&fx.organiser, &ids, step)
            .await;
        moved.unwrap();
    }
    sent.id
}

/// Signs in the person an accepted application created, through an invite link.
async fn sign_in_applicant(fx: &Fixture, id: &ApplicationId) -> Actor {
    let application = fx.db.application(&fx.organiser, id).await.unwrap();
    let person = application
        .person_id
        .expect("an accepted application has a person");
    let link = fx
        .db
        .create_invite(&fx.organiser, &person, &NewInvite::default())
        .await
        .unwrap();
    fx.db.accept_invite(&link.token).await.unwrap().info.actor()
}

async fn schedule(fx: &Fixture) -> Briefing {
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 3_600_000;
    let new = NewBriefing {
        title: "Инструктаж".into(),
        starts_at: Some(in_an_hour),
        agenda: String::new(),
    };
    fx.db
        .create_briefing(&fx.organiser, &fx.stage.id, &new)
        .await
        .unwrap()
}

async fn accepted_applicant_joins(fx: Fixture) {
    let all = [
        Transition::Register,
        Transition::StartReview,
        Transition::Accept,
    ];
    let accepted = apply(&fx, "accepted@example.org", &all).await;
    let applicant = sign_in_applicant(&fx, &accepted).await;
    assert_eq!(applicant.role, Role::Participant);
    let briefing = schedule(&fx).await;

    let mine = fx.db.my_briefings(&applicant).await.unwrap();
    assert_eq!(mine, std::slice::from_ref(&briefing));
    let access = fx
        .db
        .room_access(&applicant, &briefing.room_id)
        .await
        .unwrap();
    assert_eq!(access.kind, RoomKind::Briefing);
    assert_eq!(access.role, Role::Participant);
    assert_eq!(access.full_name, "Заявитель accepted@example.org");

    let organiser = fx.db.room_access(&fx.organiser, &briefing.room_id).await;
    assert_eq!(
        organiser.unwrap().kind,
        RoomKind::Briefing,
        "organisers need no assignment"
    );

    let room = briefing.room_id.as_str();
    let title = fx.db.room_title(room).await.unwrap();
    assert_eq!(title.as_deref(), Some("Инструктаж"));
    fx.db
        .cancel_briefing(&fx.organiser, &briefing.id)
        .await
        .unwrap();
    let title = fx.db.room_title(room).await.unwrap();
    assert_eq!(title, None, "signalling no longer finds the room");
    let closed = fx.db.room_access(&applicant, &briefing.room_id).await;
    assert!(matches!(closed, Err(Error::Conflict { .. })), "{closed:?}");
    assert!(fx.db.my_briefings(&applicant).await.unwrap().is_empty());
}

async fn participant_outside_stage_stays_out(fx: Fixture) {
    let briefing = schedule(&fx).await;
    // A participant created by hand, with no room of the stage and no application.
    let outsider = profstage_contest::NewPerson {
        role: Some(Role::Participant),
        full_name: "Посторонний участник".into(),
        ..Default::default()
    };
    let outsider = fx.db.create_person(&fx.organiser, &outsider).await.unwrap();
    let link = fx
        .db
        .create_invite(&fx.organiser, &outsider.id, &NewInvite::default())
        .await
        .unwrap();
    let outsider = fx.db.accept_invite(&link.token).await.unwrap().info.actor();

    let refused = fx.db.room_access(&outsider, &briefing.room_id).await;
    assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
    assert!(fx.db.my_briefings(&outsider).await.unwrap().is_empty());
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
    accepted_applicant_joins,
    participant_outside_stage_stays_out
);
