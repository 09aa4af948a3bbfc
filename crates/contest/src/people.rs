//! People, expert groups and who is assigned to which room.

use serde::{Deserialize, Serialize};

use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{conflict_on_unique, Error};
use crate::ids::{ExpertGroupId, InviteId, NominationId, PersonId, RoomId};
use crate::structure::require;
use crate::validate::{Checks, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// Maximum length of an e-mail address, in characters (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// Maximum length of a phone number, in characters.
const MAX_PHONE_CHARS: usize = 32;
/// Maximum length of a full name, in characters: the limit of a name in media tokens.
pub const MAX_FULL_NAME_CHARS: usize = 100;
/// Maximum number of members of one expert group.
pub const MAX_GROUP_MEMBERS: usize = 50;

/// A person's record. Everything but `id` and `role` is personal data, and every read of it
/// is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// Its id.
    pub id: PersonId,
    /// The person's role.
    pub role: Role,
    /// Full name, as shown to others in rooms.
    pub full_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Region the person comes from.
    pub region: Option<String>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new person.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewPerson {
    /// Any role but organiser: organisers are created with `profstage create-organiser`.
    pub role: Option<Role>,
    /// 1 to 100 characters.
    pub full_name: String,
    /// An e-mail address, up to 254 characters.
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( )`, up to 32 characters.
    pub phone: Option<String>,
    /// Up to 200 characters.
    pub region: Option<String>,
}

/// An expert group of a nomination, with exactly one chair among its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpertGroup {
    /// Its id.
    pub id: ExpertGroupId,
    /// The nomination it assesses.
    pub nomination_id: NominationId,
    /// Its name.
    pub name: String,
    /// The chair, one of the members.
    pub chair_id: PersonId,
    /// Every member, the chair included, by id.
    pub member_ids: Vec<PersonId>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new expert group.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewExpertGroup {
    /// 1 to 200 characters.
    pub name: String,
    /// The chair: an expert, added to the members when missing.
    pub chair_id: Option<PersonId>,
    /// Experts, at most 50.
    pub member_ids: Vec<PersonId>,
}

/// A person assigned to a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    /// The room.
    pub room_id: RoomId,
    /// The person.
    pub person_id: PersonId,
    /// The person's role.
    pub role: Role,
    /// Assignment time, in Unix milliseconds.
    pub assigned_at: i64,
}

/// The person, name and role that a media token for a room carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomAccess {
    /// The room.
    pub room_id: RoomId,
    /// The person.
    pub person_id: PersonId,
    /// The person's full name, shown to others in the room.
    pub full_name: String,
    /// The person's role.
    pub role: Role,
}

/// An invite link's record, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// Its id.
    pub id: InviteId,
    /// The person it signs in.
    pub person_id: PersonId,
    /// The organiser who created it.
    pub created_by: PersonId,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
    /// Expiry, in Unix milliseconds.
    pub expires_at: i64,
    /// When it was opened, if it was.
    pub used_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

const PERSON_COLUMNS: &str = "id, role, full_name, email, phone, region, created_at";

/// Checks the fields of a new person and builds its record.
fn check_person(new: &NewPerson) -> Result<Person, Error> {
    let mut checks = Checks::default();
    let role = match new.role {
        None => {
            checks.fail(
                "role",
                "must be participant, expert, commission_member or support",
            );
            Role::Participant
        }
        Some(Role::Organiser) => {
            checks.fail(
                "role",
                "organisers are created with `profstage create-organiser`",
            );
            Role::Organiser
        }
        Some(role) => role,
    };
    let full_name = checks.text("full_name", &new.full_name, MAX_FULL_NAME_CHARS);
    let email = checks.optional_text("email", new.email.as_deref(), MAX_EMAIL_CHARS);
    if let Some(email) = &email {
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.contains(char::is_whitespace);
        if !valid {
            checks.fail(
                "email",
                "must be an e-mail address such as name@example.org",
            );
        }
    }
    let phone = checks.optional_text("phone", new.phone.as_deref(), MAX_PHONE_CHARS);
    if let Some(phone) = &phone {
        let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
        if !phone.chars().all(allowed) || !phone.chars().any(|c| c.is_ascii_digit()) {
            checks.fail("phone", "must contain only digits, spaces and + - ( )");
        }
    }
    let region = checks.optional_text("region", new.region.as_deref(), MAX_NAME_CHARS);
    checks.finish()?;
    Ok(Person {
        id: PersonId::generate(),
        role,
        full_name,
        email,
        phone,
        region,
        created_at: now_ms(),
    })
}

impl Database {
    /// Creates a person who is not an organiser.
    pub async fn create_person(&self, actor: &Actor, new: &NewPerson) -> Result<Person, Error> {
        actor.check(Action::ManagePeople)?;
        let person = check_person(new)?;
        let mut tx = self.begin().await?;
        insert_person(&mut tx, &person).await?;
        let detail = format!("role={}", person.role.as_str());
        record(
            &mut tx,
            actor,
            "person.create",
            "person",
            Some(person.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Returns a person's record and audits the read. A person may read their own record;
    /// other records need [`Action::ReadPeople`].
    pub async fn person(&self, actor: &Actor, id: &PersonId) -> Result<Person, Error> {
        if actor.person.as_ref() == Some(id) {
            actor.check(Action::ReadOwnRecord)?;
        } else {
            actor.check(Action::ReadPeople)?;
        }
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        let person: Person = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("person"))?;
        record(
            &mut tx,
            actor,
            "person.read",
            "person",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Lists people, by name, optionally of one role, and audits which records were read.
    pub async fn people(
        &self,
        actor: &Actor,
        role: Option<Role>,
        page: Page,
    ) -> Result<Listing<Person>, Error> {
        actor.check(Action::ReadPeople)?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE ($1 IS NULL OR role = $1)
             ORDER BY full_name, id {}",
            page.sql()
        );
        let rows: Vec<Person> = sqlx::query_as(&sql)
            .bind(role.map(|r| r.as_str()))
            .fetch_all(&mut *tx)
            .await?;
        let listing = page.finish(rows);
        if !listing.items.is_empty() {
            let ids: Vec<&str> = listing.items.iter().map(|p| p.id.as_str()).collect();
            let detail = format!("ids={}", ids.join(" "));
            record(&mut tx, actor, "person.list", "person", None, &detail).await?;
        }
        tx.commit().await?;
        Ok(listing)
    }

    /// Creates an expert group of a nomination. Every member must be an expert.
    pub async fn create_expert_group(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        new: &NewExpertGroup,
    ) -> Result<ExpertGroup, Error> {
        actor.check(Action::ManagePeople)?;
        let mut checks = Checks::default();
        let name = checks.text("name", &new.name, MAX_NAME_CHARS);
        if new.chair_id.is_none() {
            checks.fail("chair_id", "must name the chair, an expert");
        }
        if new.member_ids.len() > MAX_GROUP_MEMBERS {
            checks.fail(
                "member_ids",
                format!("must have at most {MAX_GROUP_MEMBERS} entries"),
            );
        }
        checks.finish()?;

        let chair = new.chair_id.clone().ok_or(Error::NotFound("chair"))?;
        let mut members = vec![chair.clone()];
        for member in &new.member_ids {
            if !members.contains(member) {
                members.push(member.clone());
            }
        }
        let group = ExpertGroup {
            id: ExpertGroupId::generate(),
            nomination_id: nomination.clone(),
            name,
            chair_id: chair,
            member_ids: members,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        check_experts(&mut tx, &group).await?;

        sqlx::query(
            "INSERT INTO expert_groups (id, nomination_id, name, chair_id, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group.id.clone())
        .bind(group.nomination_id.clone())
        .bind(&group.name)
        .bind(group.chair_id.clone())
        .bind(group.created_at)
        .execute(&mut *tx)
        .await?;
        for member in &group.member_ids {
            sqlx::query("INSERT INTO expert_group_members (group_id, person_id) VALUES ($1, $2)")
                .bind(group.id.clone())
                .bind(member.clone())
                .execute(&mut *tx)
                .await?;
        }
        let detail = format!(
            "chair={} members={}",
            group.chair_id,
            group.member_ids.len()
        );
        record(
            &mut tx,
            actor,
            "expert_group.create",
            "expert_group",
            Some(group.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Lists the expert groups of a nomination, by name.
    pub async fn expert_groups(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        page: Page,
    ) -> Result<Listing<ExpertGroup>, Error> {
        actor.check(Action::ReadStructure)?;
        self.require_exists("nominations", "nomination", nomination.as_str())
            .await?;
        let sql = format!(
            "SELECT id, nomination_id, name, chair_id, created_at FROM expert_groups
             WHERE nomination_id = $1 ORDER BY name, id {}",
            page.sql()
        );
        let rows: Vec<(ExpertGroupId, NominationId, String, PersonId, i64)> = sqlx::query_as(&sql)
            .bind(nomination.clone())
            .fetch_all(&self.pool)
            .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for (id, nomination_id, name, chair_id, created_at) in rows {
            let members: Vec<(PersonId,)> = sqlx::query_as(
                "SELECT person_id FROM expert_group_members WHERE group_id = $1 ORDER BY person_id",
            )
            .bind(id.clone())
            .fetch_all(&self.pool)
            .await?;
            groups.push(ExpertGroup {
                id,
                nomination_id,
                name,
                chair_id,
                member_ids: members.into_iter().map(|(m,)| m).collect(),
                created_at,
            });
        }
        Ok(page.finish(groups))
    }

    /// Assigns a person to a room.
    pub async fn assign(
        &self,
        actor: &Actor,
        room: &RoomId,
        person: &PersonId,
    ) -> Result<Assignment, Error> {
        actor.check(Action::ManageAssignments)?;

        let mut tx = self.begin().await?;
        require(&mut tx, "rooms", "room", room.as_str()).await?;
        let role: Option<(Role,)> = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(person.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let (role,) = role.ok_or(Error::NotFound("person"))?;

        let assignment = Assignment {
            room_id: room.clone(),
            person_id: person.clone(),
            role,
            assigned_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO room_assignments (room_id, person_id, assigned_at) VALUES ($1, $2, $3)",
        )
        .bind(room.clone())
        .bind(person.clone())
        .bind(assignment.assigned_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique(
            "this person is already assigned to this room",
        ))?;

        let detail = format!("person={person}");
        record(
            &mut tx,
            actor,
            "room.assign",
            "room",
            Some(room.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(assignment)
    }

    /// Removes a person from a room.
    pub async fn unassign(
        &self,
        actor: &Actor,
        room: &RoomId,
        person: &PersonId,
    ) -> Result<(), Error> {
        actor.check(Action::ManageAssignments)?;
        let mut tx = self.begin().await?;
        let removed =
            sqlx::query("DELETE FROM room_assignments WHERE room_id = $1 AND person_id = $2")
                .bind(room.clone())
                .bind(person.clone())
                .execute(&mut *tx)
                .await?;
        if removed.rows_affected() == 0 {
            return Err(Error::NotFound("assignment"));
        }
        let detail = format!("person={person}");
        record(
            &mut tx,
            actor,
            "room.unassign",
            "room",
            Some(room.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists who is assigned to a room.
    pub async fn assignments(
        &self,
        actor: &Actor,
        room: &RoomId,
        page: Page,
    ) -> Result<Listing<Assignment>, Error> {
        actor.check(Action::ReadAssignments)?;
        self.require_exists("rooms", "room", room.as_str()).await?;
        let sql = format!(
            "SELECT a.room_id, a.person_id, p.role, a.assigned_at
             FROM room_assignments a JOIN people p ON p.id = a.person_id
             WHERE a.room_id = $1 ORDER BY a.assigned_at, a.person_id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(room.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Lists the rooms the actor is assigned to.
    pub async fn my_rooms(&self, actor: &Actor) -> Result<Vec<crate::Room>, Error> {
        actor.check(Action::ReadOwnRecord)?;
        let Some(person) = &actor.person else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query_as(
            "SELECT r.id, r.stage_id, r.stage_part_id, r.title, r.created_at
             FROM rooms r JOIN room_assignments a ON a.room_id = r.id
             WHERE a.person_id = $1 ORDER BY r.created_at, r.id",
        )
        .bind(person.clone())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Checks that the actor is assigned to the room and returns what a media token needs.
    /// Audits the grant in the same transaction.
    pub async fn room_access(&self, actor: &Actor, room: &RoomId) -> Result<RoomAccess, Error> {
        actor.check(Action::JoinAssignedRoom)?;
        let person = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "rooms", "room", room.as_str()).await?;
        let row: Option<(String, Role)> = sqlx::query_as(
            "SELECT p.full_name, p.role FROM room_assignments a JOIN people p ON p.id = a.person_id
             WHERE a.room_id = $1 AND a.person_id = $2",
        )
        .bind(room.clone())
        .bind(person.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let (full_name, role) = row.ok_or(Error::Forbidden)?;
        record(
            &mut tx,
            actor,
            "room.media_token",
            "room",
            Some(room.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(RoomAccess {
            room_id: room.clone(),
            person_id: person,
            full_name,
            role,
        })
    }
}

/// Checks that every member of a new group, the chair included, is an expert.
async fn check_experts(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    group: &ExpertGroup,
) -> Result<(), Error> {
    for member in &group.member_ids {
        let field = if *member == group.chair_id {
            "chair_id"
        } else {
            "member_ids"
        };
        let role: Option<(Role,)> = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(member.clone())
            .fetch_optional(&mut **tx)
            .await?;
        match role {
            Some((Role::Expert,)) => {}
            Some(_) => {
                return Err(Error::invalid(
                    field,
                    format!("person {member} is not an expert"),
                ))
            }
            None => return Err(Error::invalid(field, format!("person {member} not found"))),
        }
    }
    Ok(())
}

pub(crate) async fn insert_person(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person: &Person,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO people (id, role, full_name, email, phone, region, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(person.id.clone())
    .bind(person.role)
    .bind(&person.full_name)
    .bind(person.email.clone())
    .bind(person.phone.clone())
    .bind(person.region.clone())
    .bind(person.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
