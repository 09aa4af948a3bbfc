//! Task texts of a stage part: what organisers create, change, publish and list.
//!
//! Every time is Unix milliseconds on the server clock, passed in as `now` so that tests
//! can move it. A participant's deadline is computed from stored times only
//! ([`Task::deadline`]), so a server restart changes nothing about it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{StagePartId, TaskId};
use crate::structure::require;
use crate::validate::{Checks, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// Maximum length of a task's Markdown text, in characters.
pub const MAX_TASK_TEXT_CHARS: usize = 100_000;
/// Maximum size of a task's PDF, in bytes.
pub const MAX_TASK_PDF_BYTES: usize = 10 * 1024 * 1024;
/// Maximum time limit: seven days, in seconds.
pub const MAX_TIME_LIMIT_SECS: i64 = 7 * 24 * 3600;
/// Maximum time from a task's start to its `opens_until`: seven days, in seconds.
pub const MAX_OPENING_WINDOW_SECS: i64 = 7 * 24 * 3600;

/// The moment a participant's time limit runs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LimitMode {
    /// From the task's start, the same deadline for everyone.
    CommonStart,
    /// From the participant's first opening of the task.
    FirstOpening,
}

impl LimitMode {
    /// Returns the mode's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommonStart => "common_start",
            Self::FirstOpening => "first_opening",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        [Self::CommonStart, Self::FirstOpening]
            .into_iter()
            .find(|mode| mode.as_str() == value)
            .ok_or_else(|| format!("unknown limit mode {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(LimitMode);

/// The kind of work a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A text or PDF to work on, answered with a text and files (`task.html`).
    Text,
    /// A theory test: questions from the nomination's bank, scored by the server
    /// (`theory.html`).
    Theory,
}

impl TaskKind {
    /// Returns the kind's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Theory => "theory",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        [Self::Text, Self::Theory]
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown task kind {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(TaskKind);

/// The fields of a new task, or of a task's replacement before it starts.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// 1 to 200 characters.
    pub title: String,
    /// The task's text as Markdown, up to 100,000 characters; shown as text, never as
    /// HTML. It may be empty when a PDF is uploaded.
    #[serde(default)]
    pub text: String,
    /// When the task becomes visible to participants, in Unix milliseconds.
    pub starts_at: i64,
    /// The time limit, from 1 second to 7 days, in seconds.
    pub time_limit_secs: i64,
    /// The moment the limit runs from.
    pub limit_mode: LimitMode,
    /// The latest moment a participant may open the task for the first time, in Unix
    /// milliseconds: after `starts_at` and at most 7 days after it. It is set only in the
    /// `first_opening` mode, and without it a participant may open the task at any time.
    #[serde(default)]
    pub opens_until: Option<i64>,
}

/// A task, as organisers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    /// The task.
    pub id: TaskId,
    /// The stage part it belongs to.
    pub stage_part_id: StagePartId,
    /// A text task or a theory test.
    pub kind: TaskKind,
    /// The title.
    pub title: String,
    /// The Markdown text; may be empty when the task has a PDF.
    pub text: String,
    /// Size of the task's PDF in bytes, or `None` without one.
    pub pdf_size: Option<i64>,
    /// Start, in Unix milliseconds.
    pub starts_at: i64,
    /// The time limit, in seconds.
    pub time_limit_secs: i64,
    /// The moment the limit runs from.
    pub limit_mode: LimitMode,
    /// The latest first opening, in Unix milliseconds, or `None` without such a bound.
    pub opens_until: Option<i64>,
    /// Publication time, or `None` while it is a draft.
    pub published_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Time of the last change.
    pub updated_at: i64,
}

impl Task {
    /// Returns whether participants may see the task at `now`.
    pub fn is_visible(&self, now: i64) -> bool {
        self.published_at.is_some() && now >= self.starts_at
    }

    /// Returns whether a participant who has not opened the task may open it at `now`: at
    /// `opens_until` or before it.
    pub fn accepts_first_opening(&self, now: i64) -> bool {
        self.opens_until.is_none_or(|until| now <= until)
    }

    /// Returns a participant's deadline: the start plus the limit, or their first opening
    /// plus the limit. `None` when the limit runs from a first opening that has not
    /// happened. A first opening is never later than `opens_until`, so no deadline is later
    /// than `opens_until` plus the limit.
    pub fn deadline(&self, first_opened_at: Option<i64>) -> Option<i64> {
        let limit_ms = self.time_limit_secs.saturating_mul(1000);
        match self.limit_mode {
            LimitMode::CommonStart => Some(self.starts_at.saturating_add(limit_ms)),
            LimitMode::FirstOpening => first_opened_at.map(|at| at.saturating_add(limit_ms)),
        }
    }
}

pub(crate) const TASK_COLUMNS: &str = "t.id, t.stage_part_id, t.kind, t.title, t.text, \
    (SELECT f.size FROM task_files f WHERE f.task_id = t.id) AS pdf_size, \
    t.starts_at, t.time_limit_secs, t.limit_mode, t.opens_until, t.published_at, \
    t.created_at, t.updated_at";

pub(crate) struct CheckedTask {
    title: String,
    text: String,
}

pub(crate) fn check_task(new: &NewTask) -> Result<CheckedTask, Error> {
    let mut checks = Checks::default();
    let title = checks.text("title", &new.title, MAX_NAME_CHARS);
    let text = checks.long_text("text", &new.text, MAX_TASK_TEXT_CHARS);
    if !(1..=MAX_TIME_LIMIT_SECS).contains(&new.time_limit_secs) {
        let message = format!("must be from 1 to {MAX_TIME_LIMIT_SECS} seconds");
        let error = FieldError::out_of_range("time_limit_secs", 1, MAX_TIME_LIMIT_SECS, message);
        checks.push(error);
    }
    if new.starts_at <= 0 {
        checks.fail(
            "starts_at",
            "invalid_time",
            "must be a positive Unix time in milliseconds",
        );
    }
    if let Some(until) = new.opens_until {
        check_opens_until(&mut checks, new, until);
    }
    checks.finish()?;
    Ok(CheckedTask { title, text })
}

/// Checks that `opens_until` belongs to the `first_opening` mode and falls after the start,
/// at most [`MAX_OPENING_WINDOW_SECS`] later.
fn check_opens_until(checks: &mut Checks, new: &NewTask, until: i64) {
    const FIELD: &str = "opens_until";
    let max_days = MAX_OPENING_WINDOW_SECS / (24 * 3600);
    if new.limit_mode != LimitMode::FirstOpening {
        checks.fail(
            FIELD,
            "opens_until_not_allowed",
            "is set only when the limit runs from each participant's first opening",
        );
    } else if until <= new.starts_at {
        checks.fail(FIELD, "not_after_start", "must be after starts_at");
    } else if until.saturating_sub(new.starts_at) > MAX_OPENING_WINDOW_SECS * 1000 {
        let message = format!("must be at most {max_days} days after starts_at");
        let error = FieldError::new(FIELD, "opening_window_too_long", message);
        checks.push(error.with("max", max_days));
    }
}

/// Returns an error unless the task may still change: a draft, or published and not
/// started.
pub(crate) fn require_changeable(task: &Task, now: i64) -> Result<(), Error> {
    if task.is_visible(now) {
        return Err(Error::conflict(
            "task_started",
            "the task has started; its text and times can no longer change",
        ));
    }
    Ok(())
}

impl Database {
    /// Creates a draft task for a stage part.
    pub async fn create_task(
        &self,
        actor: &Actor,
        part: &StagePartId,
        new: &NewTask,
        now: i64,
    ) -> Result<Task, Error> {
        actor.check(Action::ManageTasks)?;
        let checked = check_task(new)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "stage_parts", "stage part", part.as_str()).await?;
        let id = insert_task(&mut tx, actor, part, TaskKind::Text, new, &checked, now).await?;
        tx.commit().await?;
        self.task(actor, &id).await
    }

    /// Replaces a task's title, text and times, until it starts.
    pub async fn update_task(
        &self,
        actor: &Actor,
        id: &TaskId,
        new: &NewTask,
        now: i64,
    ) -> Result<Task, Error> {
        actor.check(Action::ManageTasks)?;
        let checked = check_task(new)?;
        let mut tx = self.begin().await?;
        let task = select_task(&mut tx, id).await?;
        replace_task(&mut tx, actor, &task, new, &checked, now).await?;
        tx.commit().await?;
        self.task(actor, id).await
    }

    /// Stores a task's PDF, replacing the previous one, until the task starts. The content
    /// must start with `%PDF-`.
    pub async fn upload_task_pdf(
        &self,
        actor: &Actor,
        id: &TaskId,
        content: &[u8],
        now: i64,
    ) -> Result<Task, Error> {
        actor.check(Action::ManageTasks)?;
        check_pdf(content)?;
        let mut tx = self.begin().await?;
        let task = select_task(&mut tx, id).await?;
        require_changeable(&task, now)?;

        sqlx::query("DELETE FROM task_files WHERE task_id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let sha256 = hex::encode(Sha256::digest(content));
        sqlx::query(
            "INSERT INTO task_files (task_id, size, sha256, content, uploaded_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.clone())
        .bind(content.len() as i64)
        .bind(&sha256)
        .bind(content.to_vec())
        .bind(now)
        .execute(&mut *tx)
        .await?;

        let detail = format!("size={} sha256={sha256}", content.len());
        record(
            &mut tx,
            actor,
            "task.upload_pdf",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        self.task(actor, id).await
    }

    /// Publishes a draft task, which needs a text or a PDF. Participants see it from its
    /// start on.
    pub async fn publish_task(&self, actor: &Actor, id: &TaskId, now: i64) -> Result<Task, Error> {
        actor.check(Action::ManageTasks)?;
        let mut tx = self.begin().await?;
        let task = select_task(&mut tx, id).await?;
        if task.published_at.is_some() {
            return Err(Error::conflict(
                "task_published",
                "the task is already published",
            ));
        }
        if task.kind == TaskKind::Theory {
            crate::theory::require_publishable(&mut tx, &task).await?;
        } else if task.text.is_empty() && task.pdf_size.is_none() {
            return Err(Error::invalid(
                "text",
                "task_empty",
                "the task has neither a text nor a PDF; add one before publishing",
            ));
        }
        sqlx::query("UPDATE tasks SET published_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor,
            "task.publish",
            "task",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        self.task(actor, id).await
    }

    /// Returns a task as organisers see it.
    pub async fn task(&self, actor: &Actor, id: &TaskId) -> Result<Task, Error> {
        actor.check(Action::ManageTasks)?;
        let mut tx = self.begin().await?;
        let task = select_task(&mut tx, id).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// Lists the tasks of a stage part by start.
    pub async fn tasks(
        &self,
        actor: &Actor,
        part: &StagePartId,
        page: Page,
    ) -> Result<Listing<Task>, Error> {
        actor.check(Action::ManageTasks)?;
        self.require_exists("stage_parts", "stage part", part.as_str())
            .await?;
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks t WHERE t.stage_part_id = $1
             ORDER BY t.starts_at, t.id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(part.clone())
            .fetch_all(&self.pool)
            .await?;
        Ok(page.finish(rows))
    }
}

/// Inserts a draft task of `kind` with its audit entry inside `tx`.
pub(crate) async fn insert_task(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    part: &StagePartId,
    kind: TaskKind,
    new: &NewTask,
    checked: &CheckedTask,
    now: i64,
) -> Result<TaskId, Error> {
    let id = TaskId::generate();
    sqlx::query(
        "INSERT INTO tasks (id, stage_part_id, kind, title, text, starts_at, time_limit_secs,
         limit_mode, opens_until, published_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
    )
    .bind(id.clone())
    .bind(part.clone())
    .bind(kind)
    .bind(&checked.title)
    .bind(&checked.text)
    .bind(new.starts_at)
    .bind(new.time_limit_secs)
    .bind(new.limit_mode)
    .bind(new.opens_until)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let detail = format!("part={part} kind={}", kind.as_str());
    record(tx, actor, "task.create", "task", Some(id.as_str()), &detail).await?;
    Ok(id)
}

/// Replaces a task's title, text and times with its audit entry inside `tx`, until it
/// starts.
pub(crate) async fn replace_task(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    task: &Task,
    new: &NewTask,
    checked: &CheckedTask,
    now: i64,
) -> Result<(), Error> {
    require_changeable(task, now)?;
    sqlx::query(
        "UPDATE tasks SET title = $1, text = $2, starts_at = $3, time_limit_secs = $4,
         limit_mode = $5, opens_until = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&checked.title)
    .bind(&checked.text)
    .bind(new.starts_at)
    .bind(new.time_limit_secs)
    .bind(new.limit_mode)
    .bind(new.opens_until)
    .bind(now)
    .bind(task.id.clone())
    .execute(&mut **tx)
    .await?;
    let id = task.id.as_str();
    record(tx, actor, "task.update", "task", Some(id), "").await?;
    Ok(())
}

/// Checks that `content` is a PDF of at most [`MAX_TASK_PDF_BYTES`].
fn check_pdf(content: &[u8]) -> Result<(), Error> {
    if content.len() > MAX_TASK_PDF_BYTES {
        return Err(FieldError::file_too_large("pdf", MAX_TASK_PDF_BYTES).into());
    }
    if !content.starts_with(b"%PDF-") {
        return Err(Error::invalid(
            "pdf",
            "not_pdf",
            "must be a PDF file; its content does not start with %PDF-",
        ));
    }
    Ok(())
}

/// Reads one task inside `tx`.
pub(crate) async fn select_task(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: &TaskId,
) -> Result<Task, Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks t WHERE t.id = $1");
    let task = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    task.ok_or(Error::NotFound("task"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(mode: LimitMode) -> Task {
        Task {
            id: TaskId::generate(),
            stage_part_id: StagePartId::generate(),
            kind: TaskKind::Text,
            title: "Сварка".into(),
            text: "Текст".into(),
            pdf_size: None,
            starts_at: 1_000_000,
            time_limit_secs: 60,
            limit_mode: mode,
            opens_until: None,
            published_at: Some(1),
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn deadline_from_common_start() {
        let task = task(LimitMode::CommonStart);
        assert_eq!(task.deadline(None), Some(1_060_000));
        assert_eq!(task.deadline(Some(1_030_000)), Some(1_060_000));
    }

    #[test]
    fn deadline_from_first_opening() {
        let task = task(LimitMode::FirstOpening);
        assert_eq!(task.deadline(None), None);
        assert_eq!(task.deadline(Some(1_030_000)), Some(1_090_000));
    }

    #[test]
    fn visible_only_published_and_started() {
        let mut task = task(LimitMode::CommonStart);
        assert!(!task.is_visible(999_999));
        assert!(task.is_visible(1_000_000));
        task.published_at = None;
        assert!(!task.is_visible(2_000_000));
    }

    #[test]
    fn first_opening_accepted_until_bound() {
        let mut task = task(LimitMode::FirstOpening);
        assert!(task.accepts_first_opening(i64::MAX));
        task.opens_until = Some(1_030_000);
        assert!(task.accepts_first_opening(1_030_000));
        assert!(!task.accepts_first_opening(1_030_001));
    }

    #[test]
    fn opens_until_window_names_its_limit() {
        let new = NewTask {
            title: "Сварка".into(),
            text: String::new(),
            starts_at: 1_000_000,
            time_limit_secs: 60,
            limit_mode: LimitMode::FirstOpening,
            opens_until: Some(1_000_000 + MAX_OPENING_WINDOW_SECS * 1000 + 1),
        };
        let Err(Error::Invalid(fields)) = check_task(&new) else {
            panic!("a window over the maximum passed the check");
        };
        assert_eq!(fields[0].code, "opening_window_too_long");
        assert_eq!(fields[0].params["max"], "7");
    }

    #[test]
    fn pdf_is_checked_on_content() {
        assert!(check_pdf(b"%PDF-1.7\n").is_ok());
        assert!(check_pdf(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(check_pdf(b"").is_err());
    }
}
