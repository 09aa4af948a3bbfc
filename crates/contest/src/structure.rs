//! The contest's structure: contest, regional stage, nomination, stage part and media room.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{conflict_on_unique, Error, FieldError};
use crate::ids::{ContestId, NominationId, RoomId, StageId, StagePartId};
use crate::validate::{Checks, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// A contest, such as «Лучший по профессии 2027».
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contest {
    /// Its id.
    pub id: ContestId,
    /// Its name.
    pub name: String,
    /// Free text about it; may be empty.
    pub description: String,
    /// Days its recordings are kept after they end; null for the server's default.
    pub recording_retention_days: Option<i64>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new contest.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewContest {
    /// 1 to 200 characters.
    pub name: String,
    /// Up to 4000 characters; line breaks allowed.
    pub description: String,
    /// Days its recordings are kept after they end, 1 to 36500; absent or null for the
    /// server's `recording.retention_days`.
    pub recording_retention_days: Option<i64>,
}

/// The maximum retention a contest may set, in days: a hundred years.
const MAX_RETENTION_DAYS: i64 = 36_500;

/// The columns of `contests`, in the order of [`Contest`]'s fields.
pub(crate) const CONTEST_COLUMNS: &str =
    "id, name, description, recording_retention_days, created_at";

/// A contest's checked fields.
pub(crate) struct ContestFields {
    pub name: String,
    pub description: String,
    pub recording_retention_days: Option<i64>,
}

/// A regional stage of a contest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    /// Its id.
    pub id: StageId,
    /// The contest it belongs to.
    pub contest_id: ContestId,
    /// The region that runs it.
    pub region: String,
    /// Start, in Unix milliseconds.
    pub starts_at: i64,
    /// End, in Unix milliseconds; not before the start.
    pub ends_at: i64,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new regional stage.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewStage {
    /// 1 to 200 characters.
    pub region: String,
    /// Start, in Unix milliseconds.
    pub starts_at: Option<i64>,
    /// End, in Unix milliseconds; not before the start.
    pub ends_at: Option<i64>,
}

/// A nomination: one profession contested within a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nomination {
    /// Its id.
    pub id: NominationId,
    /// The stage it belongs to.
    pub stage_id: StageId,
    /// The profession, unique within the stage.
    pub profession: String,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new nomination.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewNomination {
    /// 1 to 200 characters, unique within the stage.
    pub profession: String,
}

/// The kind of a stage part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// The theory test.
    Theory,
    /// The practical task.
    Practice,
}

impl PartKind {
    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        match value.as_str() {
            "theory" => Ok(Self::Theory),
            "practice" => Ok(Self::Practice),
            _ => Err(format!("unknown stage part kind {value:?}").into()),
        }
    }

    fn column_text(&self) -> String {
        match self {
            Self::Theory => "theory".to_owned(),
            Self::Practice => "practice".to_owned(),
        }
    }
}

crate::ids::text_column!(PartKind);

/// A theory or practice part of a nomination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StagePart {
    /// Its id.
    pub id: StagePartId,
    /// The nomination it belongs to.
    pub nomination_id: NominationId,
    /// Theory or practice.
    pub kind: PartKind,
    /// Its title.
    pub title: String,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new stage part.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewStagePart {
    /// Theory or practice.
    pub kind: Option<PartKind>,
    /// 1 to 200 characters.
    pub title: String,
}

/// A media room of a stage part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Room {
    /// Its id, also the room id in media tokens and signalling.
    pub id: RoomId,
    /// The stage it belongs to.
    pub stage_id: StageId,
    /// The stage part it belongs to.
    pub stage_part_id: Option<StagePartId>,
    /// Its title, shown to people in the room.
    pub title: String,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new room.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewRoom {
    /// 1 to 200 characters.
    pub title: String,
}

/// Returns [`Error::NotFound`] unless `table` has a row with this id.
pub(crate) async fn require(
    tx: &mut Transaction<'static, Any>,
    table: &'static str,
    kind: &'static str,
    id: &str,
) -> Result<(), Error> {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
    let (count,): (i64,) = sqlx::query_as(&sql).bind(id).fetch_one(&mut **tx).await?;
    if count == 0 {
        return Err(Error::NotFound(kind));
    }
    Ok(())
}

/// Checks a contest's fields.
pub(crate) fn check_contest(new: &NewContest) -> Result<ContestFields, Error> {
    let mut checks = Checks::default();
    let name = checks.text("name", &new.name, MAX_NAME_CHARS);
    let description = checks.long_text("description", &new.description, MAX_DESCRIPTION_CHARS);
    if new
        .recording_retention_days
        .is_some_and(|days| !(1..=MAX_RETENTION_DAYS).contains(&days))
    {
        let error = FieldError::new(
            "recording_retention_days",
            "out_of_range",
            "must be a whole number of days from 1 to 36500, or null for the server's default",
        );
        checks.push(error.with("min", 1).with("max", MAX_RETENTION_DAYS));
    }
    checks.finish()?;
    Ok(ContestFields {
        name,
        description,
        recording_retention_days: new.recording_retention_days,
    })
}

/// Checks a stage's fields and returns its region, start and end.
pub(crate) fn check_stage(new: &NewStage) -> Result<(String, i64, i64), Error> {
    let mut checks = Checks::default();
    let region = checks.text("region", &new.region, MAX_NAME_CHARS);
    if new.starts_at.is_none_or(|t| t < 0) {
        checks.fail(
            "starts_at",
            "invalid_time",
            "must be a time in Unix milliseconds, not negative",
        );
    }
    if new.ends_at.is_none_or(|t| t < 0) {
        checks.fail(
            "ends_at",
            "invalid_time",
            "must be a time in Unix milliseconds, not negative",
        );
    }
    if let (Some(start), Some(end)) = (new.starts_at, new.ends_at) {
        if end < start {
            checks.fail(
                "ends_at",
                "ends_before_start",
                "must not be before starts_at",
            );
        }
    }
    checks.finish()?;

    Ok((
        region,
        new.starts_at.unwrap_or_default(),
        new.ends_at.unwrap_or_default(),
    ))
}

/// Checks a stage part's fields and returns its kind and title.
pub(crate) fn check_stage_part(new: &NewStagePart) -> Result<(PartKind, String), Error> {
    let mut checks = Checks::default();
    let title = checks.text("title", &new.title, MAX_NAME_CHARS);
    if new.kind.is_none() {
        checks.fail("kind", "invalid_part_kind", "must be theory or practice");
    }
    checks.finish()?;
    Ok((new.kind.unwrap_or(PartKind::Theory), title))
}

impl Database {
    /// Creates a contest.
    pub async fn create_contest(&self, actor: &Actor, new: &NewContest) -> Result<Contest, Error> {
        actor.check(Action::ManageStructure)?;
        let fields = check_contest(new)?;

        let contest = Contest {
            id: ContestId::generate(),
            name: fields.name,
            description: fields.description,
            recording_retention_days: fields.recording_retention_days,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        let sql = format!("INSERT INTO contests ({CONTEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
        sqlx::query(&sql)
            .bind(contest.id.clone())
            .bind(&contest.name)
            .bind(&contest.description)
            .bind(contest.recording_retention_days)
            .bind(contest.created_at)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "contest.create",
            "contest",
            Some(contest.id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(contest)
    }

    /// Lists contests, oldest first.
    pub async fn contests(&self, actor: &Actor, page: Page) -> Result<Listing<Contest>, Error> {
        actor.check(Action::ReadStructure)?;
        let sql = format!(
            "SELECT {CONTEST_COLUMNS} FROM contests ORDER BY created_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        Ok(page.finish(rows))
    }

    /// Returns one contest.
    pub async fn contest(&self, actor: &Actor, id: &ContestId) -> Result<Contest, Error> {
        actor.check(Action::ReadStructure)?;
        let sql = format!("SELECT {CONTEST_COLUMNS} FROM contests WHERE id = $1");
        sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound("contest"))
    }

    /// Returns the recording retention, in days, of the contest that `room` belongs to: None
    /// when the room is unknown or its contest keeps the server's default. Used by the
    /// retention job, which acts for the server and not for a person.
    pub async fn recording_retention_days(&self, room: &RoomId) -> Result<Option<i64>, Error> {
        let days: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT contests.recording_retention_days FROM rooms
             JOIN stages ON stages.id = rooms.stage_id
             JOIN contests ON contests.id = stages.contest_id
             WHERE rooms.id = $1",
        )
        .bind(room.clone())
        .fetch_optional(&self.pool)
        .await?;
        Ok(days.flatten())
    }

    /// Creates a regional stage of a contest.
    pub async fn create_stage(
        &self,
        actor: &Actor,
        contest: &ContestId,
        new: &NewStage,
    ) -> Result<Stage, Error> {
        actor.check(Action::ManageStructure)?;
        let (region, starts_at, ends_at) = check_stage(new)?;

        let stage = Stage {
            id: StageId::generate(),
            contest_id: contest.clone(),
            region,
            starts_at,
            ends_at,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "contests", "contest", contest.as_str()).await?;
        sqlx::query(
            "INSERT INTO stages (id, contest_id, region, starts_at, ends_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(stage.id.clone())
        .bind(stage.contest_id.clone())
        .bind(&stage.region)
        .bind(stage.starts_at)
        .bind(stage.ends_at)
        .bind(stage.created_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "stage.create",
            "stage",
            Some(stage.id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(stage)
    }

    /// Lists the stages of a contest, by start time.
    pub async fn stages(
        &self,
        actor: &Actor,
        contest: &ContestId,
        page: Page,
    ) -> Result<Listing<Stage>, Error> {
        actor.check(Action::ReadStructure)?;
        self.contest(actor, contest).await?;
        let sql = format!(
            "SELECT id, contest_id, region, starts_at, ends_at, created_at FROM stages
             WHERE contest_id = $1 ORDER BY starts_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(contest.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Creates a nomination in a stage.
    pub async fn create_nomination(
        &self,
        actor: &Actor,
        stage: &StageId,
        new: &NewNomination,
    ) -> Result<Nomination, Error> {
        actor.check(Action::ManageStructure)?;
        let mut checks = Checks::default();
        let profession = checks.text("profession", &new.profession, MAX_NAME_CHARS);
        checks.finish()?;

        let nomination = Nomination {
            id: NominationId::generate(),
            stage_id: stage.clone(),
            profession,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "stages", "stage", stage.as_str()).await?;
        sqlx::query(
            "INSERT INTO nominations (id, stage_id, profession, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(nomination.id.clone())
        .bind(nomination.stage_id.clone())
        .bind(&nomination.profession)
        .bind(nomination.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique("duplicate_profession", "this stage already has a nomination for this profession"))?;
        let id = Some(nomination.id.as_str());
        record(&mut tx, actor, "nomination.create", "nomination", id, "").await?;
        tx.commit().await?;
        Ok(nomination)
    }

    /// Lists the nominations of a stage, by profession.
    pub async fn nominations(
        &self,
        actor: &Actor,
        stage: &StageId,
        page: Page,
    ) -> Result<Listing<Nomination>, Error> {
        actor.check(Action::ReadStructure)?;
        self.require_exists("stages", "stage", stage.as_str())
            .await?;
        let sql = format!(
            "SELECT id, stage_id, profession, created_at FROM nominations
             WHERE stage_id = $1 ORDER BY profession, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(stage.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Creates a theory or practice part of a nomination.
    pub async fn create_stage_part(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        new: &NewStagePart,
    ) -> Result<StagePart, Error> {
        actor.check(Action::ManageStructure)?;
        let (kind, title) = check_stage_part(new)?;

        let part = StagePart {
            id: StagePartId::generate(),
            nomination_id: nomination.clone(),
            kind,
            title,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        sqlx::query(
            "INSERT INTO stage_parts (id, nomination_id, kind, title, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(part.id.clone())
        .bind(part.nomination_id.clone())
        .bind(part.kind)
        .bind(&part.title)
        .bind(part.created_at)
        .execute(&mut *tx)
        .await?;
        let id = Some(part.id.as_str());
        record(&mut tx, actor, "stage_part.create", "stage_part", id, "").await?;
        tx.commit().await?;
        Ok(part)
    }

    /// Lists the parts of a nomination.
    pub async fn stage_parts(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        page: Page,
    ) -> Result<Listing<StagePart>, Error> {
        actor.check(Action::ReadStructure)?;
        self.require_exists("nominations", "nomination", nomination.as_str())
            .await?;
        let sql = format!(
            "SELECT id, nomination_id, kind, title, created_at FROM stage_parts
             WHERE nomination_id = $1 ORDER BY created_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(nomination.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Creates a media room in a stage part.
    pub async fn create_room(
        &self,
        actor: &Actor,
        part: &StagePartId,
        new: &NewRoom,
    ) -> Result<Room, Error> {
        actor.check(Action::ManageStructure)?;
        let mut checks = Checks::default();
        let title = checks.text("title", &new.title, MAX_NAME_CHARS);
        checks.finish()?;

        let mut tx = self.begin().await?;
        let stage: Option<(StageId,)> = sqlx::query_as(
            "SELECT n.stage_id FROM stage_parts p JOIN nominations n ON n.id = p.nomination_id
             WHERE p.id = $1",
        )
        .bind(part.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let (stage_id,) = stage.ok_or(Error::NotFound("stage part"))?;
        let room = Room {
            id: RoomId::generate(),
            stage_id,
            stage_part_id: Some(part.clone()),
            title,
            created_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO rooms (id, stage_id, stage_part_id, title, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(room.id.clone())
        .bind(room.stage_id.clone())
        .bind(part.clone())
        .bind(&room.title)
        .bind(room.created_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "room.create",
            "room",
            Some(room.id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(room)
    }

    /// Lists the rooms of a stage part.
    pub async fn rooms(
        &self,
        actor: &Actor,
        part: &StagePartId,
        page: Page,
    ) -> Result<Listing<Room>, Error> {
        actor.check(Action::ReadStructure)?;
        self.require_exists("stage_parts", "stage part", part.as_str())
            .await?;
        let sql = format!(
            "SELECT id, stage_id, stage_part_id, title, created_at FROM rooms
             WHERE stage_part_id = $1 ORDER BY created_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(part.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }

    /// Returns a room's title, for signalling, or `None` when no such room exists or it is
    /// the room of a cancelled briefing, so that a token issued before the cancellation
    /// opens nothing. Not audited: the title is no personal data and the caller has checked
    /// a media token.
    pub async fn room_title(&self, id: &str) -> Result<Option<String>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT r.title FROM rooms r WHERE r.id = $1 AND NOT EXISTS (
                 SELECT 1 FROM briefings b WHERE b.room_id = r.id AND b.cancelled_at IS NOT NULL)",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(title,)| title))
    }

    pub(crate) async fn require_exists(
        &self,
        table: &'static str,
        kind: &'static str,
        id: &str,
    ) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        require(&mut tx, table, kind, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
