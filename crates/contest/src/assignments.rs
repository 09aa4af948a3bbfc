//! Room assignments of people, and the media access that follows from them.

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::briefings::{briefing_of_room, may_join};
use crate::db::{now_ms, Database};
use crate::error::{conflict_on_unique, Error};
use crate::ids::{PersonId, RoomId};
use crate::structure::require;
use crate::{Listing, Page};

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
    /// Whether the room is a contest room or a briefing's room.
    pub kind: RoomKind,
}

/// What a room is for: a contest room, or the room of a scheduled briefing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// A room of a stage part, joined by the people assigned to it.
    Contest,
    /// The room of a briefing.
    Briefing,
}

impl RoomKind {
    /// Returns the kind's name, as in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contest => "contest",
            Self::Briefing => "briefing",
        }
    }
}

impl Database {
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
            "already_assigned",
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

    /// Checks that the actor may join the room and returns what a media token needs. A
    /// contest room needs an assignment to it; a briefing room follows the rule of
    /// [`Database::my_briefings`] and is closed once the briefing is cancelled. Audits the
    /// grant in the same transaction.
    pub async fn room_access(&self, actor: &Actor, room: &RoomId) -> Result<RoomAccess, Error> {
        actor.check(Action::JoinAssignedRoom)?;
        let person = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "rooms", "room", room.as_str()).await?;
        let briefing = briefing_of_room(&mut tx, room).await?;
        let allowed = match &briefing {
            Some(briefing) if briefing.cancelled_at.is_some() => {
                return Err(Error::conflict(
                    "briefing_cancelled",
                    "this briefing is cancelled",
                ));
            }
            Some(briefing) => may_join(&mut tx, &briefing.id, &person).await?,
            None => is_assigned(&mut tx, room, &person).await?,
        };
        if !allowed {
            return Err(Error::Forbidden);
        }
        let row: Option<(String, Role)> =
            sqlx::query_as("SELECT full_name, role FROM people WHERE id = $1")
                .bind(person.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let (full_name, role) = row.ok_or(Error::Forbidden)?;

        let kind = match briefing {
            Some(_) => RoomKind::Briefing,
            None => RoomKind::Contest,
        };
        let detail = format!("kind={}", kind.as_str());
        let target = Some(room.as_str());
        record(&mut tx, actor, "room.media_token", "room", target, &detail).await?;
        tx.commit().await?;
        Ok(RoomAccess {
            room_id: room.clone(),
            person_id: person,
            full_name,
            role,
            kind,
        })
    }
}

async fn is_assigned(
    tx: &mut Transaction<'static, Any>,
    room: &RoomId,
    person: &PersonId,
) -> Result<bool, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM room_assignments WHERE room_id = $1 AND person_id = $2",
    )
    .bind(room.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}
