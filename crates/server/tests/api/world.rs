//! The contest data that the API tests build their worlds on, created in the database
//! directly rather than through the API under test.

use profstage_contest::{
    Actor, Database, NewContest, NewExpertGroup, NewInvite, NewNomination, NewPerson, NewRoom,
    NewStage, NewStagePart, Nomination, PartKind, Person, PersonId, Role, Room, Stage, StagePart,
};

use super::Session;

/// The sender of a request: anonymous, or a signed-in person of one role.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Who {
    Anonymous,
    Organiser,
    Participant,
    Expert,
    Commission,
    Support,
}

impl Who {
    /// Every sender, in the order of the columns of the role tables.
    pub const EVERYONE: &[Who] = &[
        Who::Anonymous,
        Who::Organiser,
        Who::Participant,
        Who::Expert,
        Who::Commission,
        Who::Support,
    ];

    /// Every sender but the anonymous one.
    pub const SIGNED_IN: &[Who] = &[
        Who::Organiser,
        Who::Participant,
        Who::Expert,
        Who::Commission,
        Who::Support,
    ];

    /// The people other than the organiser that a world signs in, with their roles.
    pub const PEOPLE: [(Who, Role); 4] = [
        (Who::Participant, Role::Participant),
        (Who::Expert, Role::Expert),
        (Who::Commission, Role::CommissionMember),
        (Who::Support, Role::Support),
    ];
}

/// The login of the organiser that [`organiser`] creates.
pub const ORGANISER: &str = "chief";

/// The password of that organiser.
pub const PASSWORD: &str = "organiser password 2027";

/// Creates the organiser [`ORGANISER`] and signs them in.
pub async fn organiser(db: &Database) -> (Actor, Session) {
    db.create_organiser(ORGANISER, "Главный организатор", PASSWORD)
        .await
        .expect("organiser created");
    let signed_in = db.sign_in(ORGANISER, PASSWORD).await.unwrap();
    (signed_in.info.actor(), Session::from(signed_in))
}

/// Creates a contest with one stage and one nomination in it.
pub async fn nomination(db: &Database, actor: &Actor) -> (Stage, Nomination) {
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
    let nomination = db.create_nomination(actor, &stage.id, &nomination);
    let nomination = nomination.await.unwrap();
    (stage, nomination)
}

/// Creates a theory part with one room in `nomination`.
pub async fn theory_room(
    db: &Database,
    actor: &Actor,
    nomination: &Nomination,
) -> (StagePart, Room) {
    let part = NewStagePart {
        kind: Some(PartKind::Theory),
        title: "Теория".into(),
    };
    let part = db.create_stage_part(actor, &nomination.id, &part).await;
    let part = part.unwrap();
    let room = NewRoom {
        title: "Комната 1".into(),
    };
    let room = db.create_room(actor, &part.id, &room).await.unwrap();
    (part, room)
}

/// Returns a person of `role` named after it. A commission member belongs to `stage`.
pub fn person(role: Role, stage: &Stage) -> NewPerson {
    NewPerson {
        role: Some(role),
        full_name: format!("Человек {}", role.as_str()),
        stage_id: (role == Role::CommissionMember).then(|| stage.id.clone()),
        ..NewPerson::default()
    }
}

/// Creates a person assigned to `room`. An expert also becomes the chair and only member
/// of a new expert group of `nomination`.
pub async fn seated(
    db: &Database,
    actor: &Actor,
    nomination: &Nomination,
    room: &Room,
    new: &NewPerson,
) -> Person {
    let person = db.create_person(actor, new).await.unwrap();
    db.assign(actor, &room.id, &person.id).await.unwrap();
    if new.role == Some(Role::Expert) {
        let group = NewExpertGroup {
            name: "Эксперты".into(),
            chair_id: Some(person.id.clone()),
            member_ids: vec![person.id.clone()],
        };
        let group = db.create_expert_group(actor, &nomination.id, &group);
        group.await.unwrap();
    }
    person
}

/// Invites `person` and accepts the invite, returning the session it opens.
pub async fn invited(db: &Database, actor: &Actor, person: &PersonId) -> Session {
    let invite = NewInvite::default();
    let link = db.create_invite(actor, person, &invite).await.unwrap();
    let session = db.accept_invite(&link.token).await.unwrap();
    Session::from(session)
}
