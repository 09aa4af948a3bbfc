//! Briefings: scheduled sessions in which organisers instruct the participants of a regional
//! stage, each in a media room of its own.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::Error;
use crate::ids::{BriefingId, PersonId, RoomId, StageId};
use crate::structure::require;
use crate::validate::{Checks, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// How far in the past a new start time may lie, in milliseconds, so that a browser clock a
/// little behind the server's can still schedule a briefing "now".
const START_SLACK_MS: i64 = 5 * 60 * 1000;
/// How long after its start a briefing stays in a person's own list, in milliseconds.
const LISTED_AFTER_START_MS: i64 = 24 * 60 * 60 * 1000;
/// The last millisecond of the year 9999, where four-digit years end. JavaScript's `Date`
/// holds no time past 8.64e15 ms at all, and the pages could not show one.
const LATEST_START_MS: i64 = 253_402_300_799_999;
/// Most briefings returned by [`Database::my_briefings`].
const MY_BRIEFINGS_MAX: usize = 200;

/// A scheduled briefing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Briefing {
    /// Its id.
    pub id: BriefingId,
    /// The regional stage whose participants it instructs.
    pub stage_id: StageId,
    /// Its media room, created with it.
    pub room_id: RoomId,
    /// Its title, also the title of its room.
    pub title: String,
    /// Start, in Unix milliseconds.
    pub starts_at: i64,
    /// The topics it covers, possibly empty, with line breaks allowed.
    pub agenda: String,
    /// The organiser who scheduled it, or `None` for the command line.
    pub created_by: Option<PersonId>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
    /// Time of the last change, in Unix milliseconds.
    pub updated_at: i64,
    /// Cancellation time, in Unix milliseconds, or `None` while it is on.
    pub cancelled_at: Option<i64>,
}

/// The fields of a new briefing.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewBriefing {
    /// 1 to 200 characters.
    pub title: String,
    /// Start, in Unix milliseconds; not more than 5 minutes in the past, before the year
    /// 10000.
    pub starts_at: Option<i64>,
    /// Up to 4000 characters; line breaks allowed.
    pub agenda: String,
}

/// A change of a briefing. Missing fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct BriefingChange {
    /// 1 to 200 characters; renames the room as well.
    pub title: Option<String>,
    /// Start, in Unix milliseconds; not more than 5 minutes in the past.
    pub starts_at: Option<i64>,
    /// Up to 4000 characters; line breaks allowed.
    pub agenda: Option<String>,
}

const COLUMNS: &str = "id, stage_id, room_id, title, starts_at, agenda, created_by, \
    created_at, updated_at, cancelled_at";

/// Whether a person may join a briefing, by the rule in `docs/contest.md`: organisers
/// always, participants of the briefing's stage, and anyone assigned to its room.
const MAY_JOIN_SQL: &str = "(
    p.role = 'organiser'
    OR EXISTS (SELECT 1 FROM room_assignments a
               WHERE a.room_id = b.room_id AND a.person_id = p.id)
    OR (p.role = 'participant' AND (
        EXISTS (SELECT 1 FROM room_assignments a JOIN rooms r ON r.id = a.room_id
                WHERE a.person_id = p.id AND r.stage_id = b.stage_id)
        OR EXISTS (SELECT 1 FROM applications ap JOIN nominations n ON n.id = ap.nomination_id
                   WHERE ap.person_id = p.id AND ap.status = 'accepted'
                     AND n.stage_id = b.stage_id))))";

/// Checks a start time against the server clock.
fn check_start(checks: &mut Checks, starts_at: Option<i64>, now: i64) {
    match starts_at {
        None => checks.fail(
            "starts_at",
            "invalid_time",
            "must be a time in Unix milliseconds",
        ),
        Some(start) if start < now - START_SLACK_MS => {
            checks.fail("starts_at", "in_the_past", "must not be in the past")
        }
        Some(start) if start > LATEST_START_MS => {
            checks.fail("starts_at", "too_late", "must be before the year 10000")
        }
        Some(_) => {}
    }
}

/// Returns the briefing that names `room`, if any, inside `tx`.
pub(crate) async fn briefing_of_room(
    tx: &mut Transaction<'static, Any>,
    room: &RoomId,
) -> Result<Option<Briefing>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM briefings WHERE room_id = $1");
    sqlx::query_as(&sql)
        .bind(room.clone())
        .fetch_optional(&mut **tx)
        .await
}

/// Returns whether `person` may join `briefing`, inside `tx`.
pub(crate) async fn may_join(
    tx: &mut Transaction<'static, Any>,
    briefing: &BriefingId,
    person: &PersonId,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "SELECT COUNT(*) FROM briefings b, people p
         WHERE b.id = $1 AND p.id = $2 AND {MAY_JOIN_SQL}"
    );
    let (count,): (i64,) = sqlx::query_as(&sql)
        .bind(briefing.clone())
        .bind(person.clone())
        .fetch_one(&mut **tx)
        .await?;
    Ok(count > 0)
}

impl Database {
    /// Schedules a briefing for a stage and creates its room.
    pub async fn create_briefing(
        &self,
        actor: &Actor,
        stage: &StageId,
        new: &NewBriefing,
    ) -> Result<Briefing, Error> {
        actor.check(Action::ManageBriefings)?;
        let now = now_ms();
        let mut checks = Checks::default();
        let title = checks.text("title", &new.title, MAX_NAME_CHARS);
        let agenda = checks.long_text("agenda", &new.agenda, MAX_DESCRIPTION_CHARS);
        check_start(&mut checks, new.starts_at, now);
        checks.finish()?;

        let briefing = Briefing {
            id: BriefingId::generate(),
            stage_id: stage.clone(),
            room_id: RoomId::generate(),
            title,
            starts_at: new.starts_at.unwrap_or_default(),
            agenda,
            created_by: actor.person.clone(),
            created_at: now,
            updated_at: now,
            cancelled_at: None,
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "stages", "stage", stage.as_str()).await?;
        sqlx::query(
            "INSERT INTO rooms (id, stage_id, stage_part_id, title, created_at)
             VALUES ($1, $2, NULL, $3, $4)",
        )
        .bind(briefing.room_id.clone())
        .bind(stage.clone())
        .bind(&briefing.title)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert(&mut tx, &briefing).await?;

        let room = Some(briefing.room_id.as_str());
        let detail = format!("briefing={}", briefing.id);
        record(&mut tx, actor, "room.create", "room", room, &detail).await?;
        let id = Some(briefing.id.as_str());
        let detail = format!("stage={stage} room={}", briefing.room_id);
        record(&mut tx, actor, "briefing.create", "briefing", id, &detail).await?;
        tx.commit().await?;
        Ok(briefing)
    }

    /// Changes the title, start or agenda of a briefing that is not cancelled.
    pub async fn update_briefing(
        &self,
        actor: &Actor,
        id: &BriefingId,
        change: &BriefingChange,
    ) -> Result<Briefing, Error> {
        actor.check(Action::ManageBriefings)?;
        let now = now_ms();
        let mut checks = Checks::default();
        let title = change
            .title
            .as_deref()
            .map(|title| checks.text("title", title, MAX_NAME_CHARS));
        let agenda = change
            .agenda
            .as_deref()
            .map(|agenda| checks.long_text("agenda", agenda, MAX_DESCRIPTION_CHARS));
        if change.starts_at.is_some() {
            check_start(&mut checks, change.starts_at, now);
        }
        if title.is_none() && agenda.is_none() && change.starts_at.is_none() {
            checks.fail(
                "body",
                "nothing_to_change",
                "must change at least one of title, starts_at, agenda",
            );
        }
        checks.finish()?;

        let mut tx = self.begin().await?;
        let mut briefing = live_briefing(&mut tx, id).await?;
        let mut fields = Vec::new();
        if let Some(title) = title {
            briefing.title = title;
            fields.push("title");
        }
        if let Some(starts_at) = change.starts_at {
            briefing.starts_at = starts_at;
            fields.push("starts_at");
        }
        if let Some(agenda) = agenda {
            briefing.agenda = agenda;
            fields.push("agenda");
        }
        briefing.updated_at = now;
        sqlx::query(
            "UPDATE briefings SET title = $1, starts_at = $2, agenda = $3, updated_at = $4
             WHERE id = $5",
        )
        .bind(&briefing.title)
        .bind(briefing.starts_at)
        .bind(&briefing.agenda)
        .bind(now)
        .bind(id.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE rooms SET title = $1 WHERE id = $2")
            .bind(&briefing.title)
            .bind(briefing.room_id.clone())
            .execute(&mut *tx)
            .await?;

        let detail = format!("fields={}", fields.join(","));
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "briefing.update",
            "briefing",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(briefing)
    }

    /// Cancels a briefing. Its room stays, but nobody gets a media token for it any more.
    pub async fn cancel_briefing(&self, actor: &Actor, id: &BriefingId) -> Result<Briefing, Error> {
        actor.check(Action::ManageBriefings)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut briefing = live_briefing(&mut tx, id).await?;
        sqlx::query("UPDATE briefings SET cancelled_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        briefing.cancelled_at = Some(now);
        briefing.updated_at = now;
        let target = Some(id.as_str());
        record(&mut tx, actor, "briefing.cancel", "briefing", target, "").await?;
        tx.commit().await?;
        Ok(briefing)
    }

    /// Lists the briefings of a stage by start time, cancelled ones included.
    pub async fn briefings(
        &self,
        actor: &Actor,
        stage: &StageId,
        page: Page,
    ) -> Result<Listing<Briefing>, Error> {
        actor.check(Action::ReadBriefings)?;
        self.require_exists("stages", "stage", stage.as_str())
            .await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM briefings WHERE stage_id = $1 ORDER BY starts_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(stage.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Lists the briefings the actor may join that are not cancelled and started less than
    /// a day ago, by start time, at most 200.
    pub async fn my_briefings(&self, actor: &Actor) -> Result<Vec<Briefing>, Error> {
        actor.check(Action::ReadOwnRecord)?;
        let Some(person) = &actor.person else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {} FROM briefings b, people p
             WHERE p.id = $1 AND b.cancelled_at IS NULL AND b.starts_at >= $2
               AND {MAY_JOIN_SQL}
             ORDER BY b.starts_at, b.id LIMIT {MY_BRIEFINGS_MAX}",
            prefixed_columns("b")
        );
        let rows = sqlx::query_as(&sql)
            .bind(person.clone())
            .bind(now_ms() - LISTED_AFTER_START_MS)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }
}

/// Returns a briefing that exists and is not cancelled, inside `tx`.
async fn live_briefing(
    tx: &mut Transaction<'static, Any>,
    id: &BriefingId,
) -> Result<Briefing, Error> {
    let sql = format!("SELECT {COLUMNS} FROM briefings WHERE id = $1");
    let briefing: Briefing = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("briefing"))?;
    if briefing.cancelled_at.is_some() {
        return Err(Error::conflict(
            "briefing_cancelled",
            "this briefing is cancelled",
        ));
    }
    Ok(briefing)
}

async fn insert(tx: &mut Transaction<'static, Any>, briefing: &Briefing) -> Result<(), Error> {
    let sql = format!(
        "INSERT INTO briefings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    );
    sqlx::query(&sql)
        .bind(briefing.id.clone())
        .bind(briefing.stage_id.clone())
        .bind(briefing.room_id.clone())
        .bind(&briefing.title)
        .bind(briefing.starts_at)
        .bind(&briefing.agenda)
        .bind(briefing.created_by.clone())
        .bind(briefing.created_at)
        .bind(briefing.updated_at)
        .bind(briefing.cancelled_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Returns the briefing columns qualified with a table alias.
fn prefixed_columns(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|column| format!("{alias}.{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}
