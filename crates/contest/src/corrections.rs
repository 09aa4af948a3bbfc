//! Corrections of what organisers entered: changing contests, stages, nominations, stage
//! parts, rooms and people, and deleting those that no other record refers to.
//!
//! A change replaces every editable field, with the same checks as creation. A deletion
//! that other records still refer to is rejected with [`Error::Conflict`] and deletes
//! nothing: the database's foreign keys decide, so records added by later features count
//! too. Every change and deletion is audited.

use sqlx::{Any, Transaction};

use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::Database;
use crate::error::{conflict_on_unique, Error};
use crate::ids::{ContestId, NominationId, PersonId, RoomId, StageId, StagePartId};
use crate::people::{check_person, require_person_stage, NewPerson, Person, PERSON_COLUMNS};
use crate::structure::{
    check_contest, check_stage, check_stage_part, require, Contest, NewContest, NewNomination,
    NewRoom, NewStage, NewStagePart, Nomination, Room, Stage, StagePart, CONTEST_COLUMNS,
};
use crate::validate::{Checks, MAX_NAME_CHARS};

/// A table whose rows organisers may delete, with the words of its conflict message.
struct Deletable {
    table: &'static str,
    /// The record's name in [`Error::NotFound`].
    kind: &'static str,
    /// The record's name in audit entries, such as `stage_part`.
    audit_kind: &'static str,
    /// The conflict code when other records still refer to the row.
    referenced_code: &'static str,
    /// The conflict message when other records still refer to the row.
    referenced: &'static str,
}

const CONTESTS: Deletable = Deletable {
    table: "contests",
    kind: "contest",
    audit_kind: "contest",
    referenced_code: "contest_has_dependents",
    referenced: "the contest still has stages; delete them first",
};
const STAGES: Deletable = Deletable {
    table: "stages",
    kind: "stage",
    audit_kind: "stage",
    referenced_code: "stage_has_dependents",
    referenced: "the stage still has nominations, rooms, briefings or applications; \
                 delete them first",
};
const NOMINATIONS: Deletable = Deletable {
    table: "nominations",
    kind: "nomination",
    audit_kind: "nomination",
    referenced_code: "nomination_has_dependents",
    referenced: "the nomination still has stage parts, expert groups or applications; \
                 delete them first",
};
const STAGE_PARTS: Deletable = Deletable {
    table: "stage_parts",
    kind: "stage part",
    audit_kind: "stage_part",
    referenced_code: "stage_part_has_dependents",
    referenced: "the stage part still has rooms or tasks; delete them first",
};
const ROOMS: Deletable = Deletable {
    table: "rooms",
    kind: "room",
    audit_kind: "room",
    referenced_code: "room_has_dependents",
    referenced: "the room still has assigned people or recorded work; remove them first",
};
const PEOPLE: Deletable = Deletable {
    table: "people",
    kind: "person",
    audit_kind: "person",
    referenced_code: "person_has_dependents",
    referenced: "the person still has room assignments, expert groups, an application, \
                 a sign-in account or invites they created; remove them first",
};

/// Maps a foreign-key violation to [`Error::Conflict`] with the target's code and message.
fn conflict_on_reference(target: &Deletable) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            Error::conflict(target.referenced_code, target.referenced)
        }
        _ => Error::Database(error),
    }
}

/// Deletes one row, audited as `<audit_kind>.delete`.
async fn delete_row(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    target: &Deletable,
    id: &str,
) -> Result<(), Error> {
    require(tx, target.table, target.kind, id).await?;
    let sql = format!("DELETE FROM {} WHERE id = $1", target.table);
    sqlx::query(&sql)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(conflict_on_reference(target))?;
    let action = format!("{}.delete", target.audit_kind);
    record(tx, actor, &action, target.audit_kind, Some(id), "").await?;
    Ok(())
}

impl Database {
    async fn delete_one(&self, actor: &Actor, target: &Deletable, id: &str) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        delete_row(&mut tx, actor, target, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a contest's name, description or recording retention.
    pub async fn update_contest(
        &self,
        actor: &Actor,
        id: &ContestId,
        change: &NewContest,
    ) -> Result<Contest, Error> {
        actor.check(Action::ManageStructure)?;
        let fields = check_contest(change)?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE contests SET name = $2, description = $3, recording_retention_days = $4
             WHERE id = $1 RETURNING {CONTEST_COLUMNS}"
        );
        let contest: Contest = sqlx::query_as(&sql)
            .bind(id.clone())
            .bind(fields.name)
            .bind(fields.description)
            .bind(fields.recording_retention_days)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("contest"))?;
        record(
            &mut tx,
            actor,
            "contest.update",
            "contest",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(contest)
    }

    /// Deletes a contest that has no stages.
    pub async fn delete_contest(&self, actor: &Actor, id: &ContestId) -> Result<(), Error> {
        actor.check(Action::ManageStructure)?;
        self.delete_one(actor, &CONTESTS, id.as_str()).await
    }

    /// Changes a stage's region and dates.
    pub async fn update_stage(
        &self,
        actor: &Actor,
        id: &StageId,
        change: &NewStage,
    ) -> Result<Stage, Error> {
        actor.check(Action::ManageStructure)?;
        let (region, starts_at, ends_at) = check_stage(change)?;
        let mut tx = self.begin().await?;
        let stage: Stage = sqlx::query_as(
            "UPDATE stages SET region = $2, starts_at = $3, ends_at = $4 WHERE id = $1
             RETURNING id, contest_id, region, starts_at, ends_at, created_at",
        )
        .bind(id.clone())
        .bind(region)
        .bind(starts_at)
        .bind(ends_at)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("stage"))?;
        record(
            &mut tx,
            actor,
            "stage.update",
            "stage",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(stage)
    }

    /// Deletes a stage that nothing refers to.
    pub async fn delete_stage(&self, actor: &Actor, id: &StageId) -> Result<(), Error> {
        actor.check(Action::ManageStructure)?;
        self.delete_one(actor, &STAGES, id.as_str()).await
    }

    /// Renames a nomination's profession, which stays unique within the stage.
    pub async fn update_nomination(
        &self,
        actor: &Actor,
        id: &NominationId,
        change: &NewNomination,
    ) -> Result<Nomination, Error> {
        actor.check(Action::ManageStructure)?;
        let mut checks = Checks::default();
        let profession = checks.text("profession", &change.profession, MAX_NAME_CHARS);
        checks.finish()?;
        let mut tx = self.begin().await?;
        let nomination: Nomination = sqlx::query_as(
            "UPDATE nominations SET profession = $2 WHERE id = $1
             RETURNING id, stage_id, profession, created_at",
        )
        .bind(id.clone())
        .bind(profession)
        .fetch_optional(&mut *tx)
        .await
        .map_err(conflict_on_unique(
            "duplicate_profession",
            "this stage already has a nomination for this profession",
        ))?
        .ok_or(Error::NotFound("nomination"))?;
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "nomination.update",
            "nomination",
            target,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(nomination)
    }

    /// Deletes a nomination that nothing refers to.
    pub async fn delete_nomination(&self, actor: &Actor, id: &NominationId) -> Result<(), Error> {
        actor.check(Action::ManageStructure)?;
        self.delete_one(actor, &NOMINATIONS, id.as_str()).await
    }

    /// Changes a stage part's kind and title.
    pub async fn update_stage_part(
        &self,
        actor: &Actor,
        id: &StagePartId,
        change: &NewStagePart,
    ) -> Result<StagePart, Error> {
        actor.check(Action::ManageStructure)?;
        let (kind, title) = check_stage_part(change)?;
        let mut tx = self.begin().await?;
        let part: StagePart = sqlx::query_as(
            "UPDATE stage_parts SET kind = $2, title = $3 WHERE id = $1
             RETURNING id, nomination_id, kind, title, created_at",
        )
        .bind(id.clone())
        .bind(kind)
        .bind(title)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("stage part"))?;
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "stage_part.update",
            "stage_part",
            target,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(part)
    }

    /// Deletes a stage part that nothing refers to.
    pub async fn delete_stage_part(&self, actor: &Actor, id: &StagePartId) -> Result<(), Error> {
        actor.check(Action::ManageStructure)?;
        self.delete_one(actor, &STAGE_PARTS, id.as_str()).await
    }

    /// Renames a room of a stage part. Briefing rooms take their briefing's title and are
    /// not found here.
    pub async fn update_room(
        &self,
        actor: &Actor,
        id: &RoomId,
        change: &NewRoom,
    ) -> Result<Room, Error> {
        actor.check(Action::ManageStructure)?;
        let mut checks = Checks::default();
        let title = checks.text("title", &change.title, MAX_NAME_CHARS);
        checks.finish()?;
        let mut tx = self.begin().await?;
        let room: Room = sqlx::query_as(
            "UPDATE rooms SET title = $2 WHERE id = $1 AND stage_part_id IS NOT NULL
             RETURNING id, stage_id, stage_part_id, title, created_at",
        )
        .bind(id.clone())
        .bind(title)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound("room"))?;
        record(&mut tx, actor, "room.update", "room", Some(id.as_str()), "").await?;
        tx.commit().await?;
        Ok(room)
    }

    /// Deletes a room of a stage part that no assignment or other record refers to.
    /// Briefing rooms belong to their briefing and are not found here.
    pub async fn delete_room(&self, actor: &Actor, id: &RoomId) -> Result<(), Error> {
        actor.check(Action::ManageStructure)?;
        let mut tx = self.begin().await?;
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM rooms WHERE id = $1 AND stage_part_id IS NOT NULL",
        )
        .bind(id.clone())
        .fetch_one(&mut *tx)
        .await?;
        if count == 0 {
            return Err(Error::NotFound("room"));
        }
        delete_row(&mut tx, actor, &ROOMS, id.as_str()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a person's record. Organisers keep their role, and nobody becomes one here.
    pub async fn update_person(
        &self,
        actor: &Actor,
        id: &PersonId,
        change: &NewPerson,
    ) -> Result<Person, Error> {
        actor.check(Action::ManagePeople)?;
        let mut tx = self.begin().await?;
        let stored: Option<(Role,)> = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let (role,) = stored.ok_or(Error::NotFound("person"))?;
        let checked = if role == Role::Organiser {
            check_organiser(change)?
        } else {
            check_person(change)?
        };
        require_person_stage(&mut tx, &checked).await?;

        let sql = format!(
            "UPDATE people SET role = $2, full_name = $3, email = $4, phone = $5, region = $6,
             stage_id = $7 WHERE id = $1 RETURNING {PERSON_COLUMNS}"
        );
        let person: Person = sqlx::query_as(&sql)
            .bind(id.clone())
            .bind(checked.role)
            .bind(checked.full_name)
            .bind(checked.email)
            .bind(checked.phone)
            .bind(checked.region)
            .bind(checked.stage_id)
            .fetch_one(&mut *tx)
            .await?;
        let detail = format!("role={}", person.role.as_str());
        record(
            &mut tx,
            actor,
            "person.update",
            "person",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Deletes a person whom no record refers to, with their sessions and the invite links
    /// issued to them. Organisers cannot delete themselves.
    pub async fn delete_person(&self, actor: &Actor, id: &PersonId) -> Result<(), Error> {
        actor.check(Action::ManagePeople)?;
        if actor.person.as_ref() == Some(id) {
            return Err(Error::conflict("self_delete", "you cannot delete yourself"));
        }
        let mut tx = self.begin().await?;
        require(&mut tx, "people", "person", id.as_str()).await?;
        for table in ["sessions", "invites"] {
            let sql = format!("DELETE FROM {table} WHERE person_id = $1");
            sqlx::query(&sql).bind(id.clone()).execute(&mut *tx).await?;
        }
        delete_row(&mut tx, actor, &PEOPLE, id.as_str()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks a change of an organiser's record: the role must stay organiser or be left out.
fn check_organiser(change: &NewPerson) -> Result<Person, Error> {
    if change.role.is_some_and(|role| role != Role::Organiser) {
        return Err(Error::invalid(
            "role",
            "organiser_role_fixed",
            "an organiser's role cannot change, because the account signs in with a password",
        ));
    }
    let as_other = NewPerson {
        role: Some(Role::Participant),
        ..change.clone()
    };
    let mut person = check_person(&as_other)?;
    person.role = Role::Organiser;
    Ok(person)
}
