//! A participant's work on a task: opening it, answering and uploading files before the
//! deadline; and what organisers and experts read of it.
//!
//! The first opening is stored once (`task_starts`), every opening is stored
//! (`task_openings`), and the deadline is computed from those rows and the task on every
//! request. Nothing waits on a timer, so a restart cannot move a deadline.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor, Role};
use crate::applications::AttachmentKind;
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{PersonId, RoomId, SubmissionId, TaskId};
use crate::tasks::{select_task, LimitMode, Task, TaskKind, TASK_COLUMNS};
use crate::validate::Checks;
use crate::{Listing, Page};

/// Maximum length of a text answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 50_000;
/// Maximum size of one uploaded file, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Maximum files a participant may upload for one task.
pub const MAX_UPLOADS: i64 = 20;

/// A participant's state in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Started, but the participant has not opened it yet.
    NotOpened,
    /// Opened, and the deadline has not passed: answers are accepted.
    Open,
    /// The deadline has passed, or the participant did not open the task by its
    /// `opens_until`: answers are rejected.
    Closed,
}

/// A task as its participant sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyTask {
    /// The task.
    pub id: TaskId,
    /// A text task (`task.html`) or a theory test (`theory.html`).
    pub kind: TaskKind,
    /// The title.
    pub title: String,
    /// The room through which the participant takes the task.
    pub room_id: RoomId,
    /// Start, in Unix milliseconds.
    pub starts_at: i64,
    /// The time limit, in seconds.
    pub time_limit_secs: i64,
    /// The moment the limit runs from.
    pub limit_mode: LimitMode,
    /// The latest first opening, in Unix milliseconds, or `None` without such a bound.
    pub opens_until: Option<i64>,
    /// The participant's first opening, or `None`.
    pub first_opened_at: Option<i64>,
    /// The participant's deadline, or `None` while a limit that runs from the first
    /// opening has not begun, or never will because `opens_until` has passed. Answers are
    /// accepted while the server clock is before it.
    pub deadline: Option<i64>,
    /// The state at `now`.
    pub state: TaskState,
    /// The server clock when this was computed, in Unix milliseconds; clients count down
    /// with it, not with their own clock.
    pub now: i64,
}

/// An opened task: its text and what the participant has sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenedTask {
    /// The task, its deadline and the server clock.
    #[serde(flatten)]
    pub task: MyTask,
    /// The Markdown text; may be empty when the task has a PDF.
    pub text: String,
    /// Whether the task has a PDF, served at `/api/v1/tasks/{id}/pdf`.
    pub has_pdf: bool,
    /// The newest text answer, or `None`.
    pub answer: Option<String>,
    /// The files sent, oldest first.
    pub uploads: Vec<Submission>,
}

/// The body of a participant's text answer.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAnswer {
    /// The answer, up to 50,000 characters; it replaces the previous one.
    pub text: String,
}

/// Kind of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubmissionKind {
    /// A text answer.
    Text,
    /// A PDF file.
    Pdf,
    /// A JPEG image.
    Jpeg,
    /// A PNG image.
    Png,
}

impl SubmissionKind {
    /// Returns the kind's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Pdf => "pdf",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
        }
    }

    /// Returns the media type to serve an uploaded file with.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain; charset=utf-8",
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    fn from_file(kind: AttachmentKind) -> Self {
        match kind {
            AttachmentKind::Pdf => Self::Pdf,
            AttachmentKind::Jpeg => Self::Jpeg,
            AttachmentKind::Png => Self::Png,
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        [Self::Text, Self::Pdf, Self::Jpeg, Self::Png]
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown submission kind {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(SubmissionKind);

/// One text answer or file sent for a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Submission {
    /// The submission.
    pub id: SubmissionId,
    /// The task.
    pub task_id: TaskId,
    /// The participant.
    pub person_id: PersonId,
    /// Text, PDF, JPEG or PNG.
    pub kind: SubmissionKind,
    /// Size in bytes (of the UTF-8 text for an answer).
    pub size: i64,
    /// SHA-256 of the content, in hex.
    pub sha256: String,
    /// Server time of receipt, in Unix milliseconds; always before the deadline.
    pub submitted_at: i64,
}

/// One opening of a task, as organisers and experts see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Opening {
    /// The participant.
    pub person_id: PersonId,
    /// The participant's full name.
    pub full_name: String,
    /// The room through which it was opened.
    pub room_id: RoomId,
    /// Server time of the opening, in Unix milliseconds.
    pub opened_at: i64,
    /// Whether this is the participant's first opening.
    pub first: bool,
}

/// A downloaded file of a submission.
#[derive(Debug, Clone)]
pub struct SubmissionFile {
    /// The file's description.
    pub submission: Submission,
    /// The bytes.
    pub content: Vec<u8>,
}

/// An event of a participant's work on tasks in a room, for recording timelines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskEvent {
    /// Server time, in Unix milliseconds.
    pub at: i64,
    /// `task_opened`, `task_answer`, `task_upload` or `task_time_up`.
    pub kind: &'static str,
    /// The task and, for a submission, its id and kind.
    pub detail: String,
}

const SUBMISSION_COLUMNS: &str = "id, task_id, person_id, kind, size, sha256, submitted_at";

/// A participant's task with their room and first opening, read inside a transaction.
pub(crate) struct Taking {
    pub task: Task,
    pub room: RoomId,
    pub first_opened_at: Option<i64>,
}

impl Taking {
    pub fn view(&self, now: i64) -> MyTask {
        let deadline = self.task.deadline(self.first_opened_at);
        let state = match (self.first_opened_at, deadline) {
            (_, Some(deadline)) if now >= deadline => TaskState::Closed,
            (None, _) if !self.task.accepts_first_opening(now) => TaskState::Closed,
            (None, _) => TaskState::NotOpened,
            (Some(_), _) => TaskState::Open,
        };
        MyTask {
            id: self.task.id.clone(),
            kind: self.task.kind,
            title: self.task.title.clone(),
            room_id: self.room.clone(),
            starts_at: self.task.starts_at,
            time_limit_secs: self.task.time_limit_secs,
            limit_mode: self.task.limit_mode,
            opens_until: self.task.opens_until,
            first_opened_at: self.first_opened_at,
            deadline,
            state,
            now,
        }
    }

    /// Returns an error unless answers are accepted at `now`.
    pub fn require_open(&self, now: i64) -> Result<(), Error> {
        match self.task.deadline(self.first_opened_at) {
            _ if self.first_opened_at.is_none() => Err(Error::conflict(
                "task_not_opened",
                "open the task before sending answers",
            )),
            Some(deadline) if now >= deadline => Err(Error::TimeUp { deadline }),
            _ => Ok(()),
        }
    }
}

/// Finds the task of `kind`, the room that assigns the actor to its stage part, and the
/// first opening. A task that is not visible yet, or of another kind, is "not found", so
/// its existence stays hidden.
pub(crate) async fn taking(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
    kind: TaskKind,
    now: i64,
) -> Result<Taking, Error> {
    actor.check(Action::TakeTasks)?;
    let person = actor.person.as_ref().ok_or(Error::Forbidden)?;
    let task = match select_task(tx, id).await {
        Ok(task) if task.is_visible(now) && task.kind == kind => task,
        Ok(_) | Err(Error::NotFound(_)) => return Err(Error::NotFound("task")),
        Err(error) => return Err(error),
    };
    let room: Option<(RoomId,)> = sqlx::query_as(
        "SELECT r.id FROM rooms r JOIN room_assignments a ON a.room_id = r.id
         WHERE r.stage_part_id = $1 AND a.person_id = $2 ORDER BY r.id LIMIT 1",
    )
    .bind(task.stage_part_id.clone())
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    let (room,) = room.ok_or(Error::NotFound("task"))?;
    let first: Option<(i64,)> = sqlx::query_as(
        "SELECT first_opened_at FROM task_starts WHERE task_id = $1 AND person_id = $2",
    )
    .bind(id.clone())
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(Taking {
        task,
        room,
        first_opened_at: first.map(|(at,)| at),
    })
}

impl Database {
    /// Lists the visible tasks of the stage parts whose rooms the actor is assigned to,
    /// with their state and deadline at `now`.
    pub async fn my_tasks(&self, actor: &Actor, now: i64) -> Result<Vec<MyTask>, Error> {
        actor.check(Action::TakeTasks)?;
        let Some(person) = &actor.person else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT DISTINCT {TASK_COLUMNS} FROM tasks t
             JOIN rooms r ON r.stage_part_id = t.stage_part_id
             JOIN room_assignments a ON a.room_id = r.id
             WHERE a.person_id = $1 AND t.published_at IS NOT NULL AND t.starts_at <= $2
             ORDER BY t.starts_at, t.id"
        );
        let tasks: Vec<Task> = sqlx::query_as(&sql)
            .bind(person.clone())
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        let mut tx = self.begin().await?;
        let mut views = Vec::with_capacity(tasks.len());
        for task in tasks {
            let taking = taking(&mut tx, actor, &task.id, task.kind, now).await?;
            views.push(taking.view(now));
        }
        tx.commit().await?;
        Ok(views)
    }

    /// Opens a task for its participant at `now`: stores the opening, and the first
    /// opening once, with their audit entries, and returns the text and the deadline.
    pub async fn open_task(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<OpenedTask, Error> {
        let mut tx = self.begin().await?;
        let mut taking = taking(&mut tx, actor, id, TaskKind::Text, now).await?;
        let person = actor.person.clone().ok_or(Error::Forbidden)?;

        record_opening(&mut tx, actor, &mut taking, now).await?;

        let answer = latest_answer(&mut tx, id, &person).await?;
        let uploads = uploads_of(&mut tx, id, &person).await?;
        let has_pdf = taking.task.pdf_size.is_some();
        tx.commit().await?;
        Ok(OpenedTask {
            task: taking.view(now),
            text: taking.task.text.clone(),
            has_pdf,
            answer,
            uploads,
        })
    }

    /// Returns a task's PDF to a participant who has opened it, or to an organiser or an
    /// expert who may read the task's work.
    pub async fn task_pdf(&self, actor: &Actor, id: &TaskId, now: i64) -> Result<Vec<u8>, Error> {
        let mut tx = self.begin().await?;
        if actor.role == Role::Participant {
            let taking = taking(&mut tx, actor, id, TaskKind::Text, now).await?;
            if taking.first_opened_at.is_none() {
                return Err(Error::conflict("task_not_opened", "open the task first"));
            }
        } else {
            require_reader(&mut tx, actor, id).await?;
        }
        let content: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT content FROM task_files WHERE task_id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        content.map(|(c,)| c).ok_or(Error::NotFound("task PDF"))
    }

    /// Stores a text answer, which replaces the previous one, if the deadline has not
    /// passed at `now`.
    pub async fn submit_answer(
        &self,
        actor: &Actor,
        id: &TaskId,
        answer: &NewAnswer,
        now: i64,
    ) -> Result<Submission, Error> {
        let mut checks = Checks::default();
        let text = checks.long_text("text", &answer.text, MAX_ANSWER_CHARS);
        checks.finish()?;
        let mut tx = self.begin().await?;
        let taking = taking(&mut tx, actor, id, TaskKind::Text, now).await?;
        taking.require_open(now)?;
        let stored = Stored {
            kind: SubmissionKind::Text,
            answer: Some(&text),
            content: None,
            bytes: text.as_bytes(),
        };
        let submission = insert_submission(&mut tx, actor, &taking, stored, now).await?;
        tx.commit().await?;
        Ok(submission)
    }

    /// Stores an uploaded file if the deadline has not passed at `now`. The kind comes from
    /// the content; when `declared` names a PDF, JPEG or PNG, the content must be that.
    pub async fn upload_task_file(
        &self,
        actor: &Actor,
        id: &TaskId,
        content: &[u8],
        declared: Option<&str>,
        now: i64,
    ) -> Result<Submission, Error> {
        let kind = check_upload(content, declared)?;
        let mut tx = self.begin().await?;
        let taking = taking(&mut tx, actor, id, TaskKind::Text, now).await?;
        taking.require_open(now)?;
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM task_submissions
             WHERE task_id = $1 AND person_id = $2 AND kind <> 'text'",
        )
        .bind(id.clone())
        .bind(actor.person.clone())
        .fetch_one(&mut *tx)
        .await?;
        if count >= MAX_UPLOADS {
            let message = format!("at most {MAX_UPLOADS} files may be uploaded for a task");
            let error = FieldError::new("file", "too_many_files", message);
            return Err(error.with("max", MAX_UPLOADS).into());
        }
        let stored = Stored {
            kind,
            answer: None,
            content: Some(content),
            bytes: content,
        };
        let submission = insert_submission(&mut tx, actor, &taking, stored, now).await?;
        tx.commit().await?;
        Ok(submission)
    }

    /// Lists every opening of a task, oldest first, and audits the read, because it names
    /// participants.
    pub async fn task_openings(
        &self,
        actor: &Actor,
        id: &TaskId,
        page: Page,
    ) -> Result<Listing<Opening>, Error> {
        let mut tx = self.begin().await?;
        require_reader(&mut tx, actor, id).await?;
        let sql = format!(
            "SELECT o.person_id, p.full_name, o.room_id, o.opened_at,
             CAST(CASE WHEN o.opened_at = s.first_opened_at THEN 1 ELSE 0 END AS BIGINT) AS first
             FROM task_openings o JOIN people p ON p.id = o.person_id
             JOIN task_starts s ON s.task_id = o.task_id AND s.person_id = o.person_id
             WHERE o.task_id = $1 ORDER BY o.opened_at, o.person_id {}",
            page.sql()
        );
        let rows: Vec<OpeningRow> = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_all(&mut *tx)
            .await?;
        let detail = format!("offset={}", page.offset);
        record(
            &mut tx,
            actor,
            "task.read_openings",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        let rows = rows.into_iter().map(OpeningRow::into_opening).collect();
        Ok(page.finish(rows))
    }

    /// Lists every submission of a task, oldest first, and audits the read.
    pub async fn task_submissions(
        &self,
        actor: &Actor,
        id: &TaskId,
        page: Page,
    ) -> Result<Listing<Submission>, Error> {
        let mut tx = self.begin().await?;
        require_reader(&mut tx, actor, id).await?;
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM task_submissions WHERE task_id = $1
             ORDER BY submitted_at, id {}",
            page.sql()
        );
        let rows = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_all(&mut *tx)
            .await?;
        let detail = format!("offset={}", page.offset);
        let action = "task.read_submissions";
        record(&mut tx, actor, action, "task", Some(id.as_str()), &detail).await?;
        tx.commit().await?;
        Ok(page.finish(rows))
    }

    /// Returns one submission with its content (the answer's text as UTF-8), and audits
    /// the read.
    pub async fn task_submission(
        &self,
        actor: &Actor,
        id: &SubmissionId,
    ) -> Result<SubmissionFile, Error> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS}, answer, content FROM task_submissions WHERE id = $1"
        );
        let row: Option<SubmissionRow> = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let row = row.ok_or(Error::NotFound("submission"))?;
        require_reader(&mut tx, actor, &row.submission.task_id).await?;
        record(
            &mut tx,
            actor,
            "task.read_submission",
            "submission",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(row.into_file())
    }

    /// Lists a participant's task events in a room, oldest first: openings, answers,
    /// uploads, and the time-up of every task whose deadline has passed at `now`. The
    /// recording API merges them into the timelines of that participant's recordings.
    pub async fn task_events(
        &self,
        room: &RoomId,
        person: &PersonId,
        now: i64,
    ) -> Result<Vec<TaskEvent>, Error> {
        let openings: Vec<(TaskId, i64)> = sqlx::query_as(
            "SELECT task_id, opened_at FROM task_openings WHERE room_id = $1 AND person_id = $2",
        )
        .bind(room.clone())
        .bind(person.clone())
        .fetch_all(&self.pool)
        .await?;
        let submissions: Vec<(TaskId, SubmissionId, SubmissionKind, i64)> = sqlx::query_as(
            "SELECT task_id, id, kind, submitted_at FROM task_submissions
             WHERE room_id = $1 AND person_id = $2",
        )
        .bind(room.clone())
        .bind(person.clone())
        .fetch_all(&self.pool)
        .await?;
        let sql = format!(
            "SELECT {TASK_COLUMNS}, s.first_opened_at FROM tasks t
             JOIN task_starts s ON s.task_id = t.id WHERE s.room_id = $1 AND s.person_id = $2"
        );
        let started: Vec<StartedRow> = sqlx::query_as(&sql)
            .bind(room.clone())
            .bind(person.clone())
            .fetch_all(&self.pool)
            .await?;

        let mut events: Vec<TaskEvent> = openings
            .into_iter()
            .map(|(task, at)| TaskEvent {
                at,
                kind: "task_opened",
                detail: format!("task={task}"),
            })
            .collect();
        events.extend(
            submissions
                .into_iter()
                .map(|(task, id, kind, at)| TaskEvent {
                    at,
                    kind: if kind == SubmissionKind::Text {
                        "task_answer"
                    } else {
                        "task_upload"
                    },
                    detail: format!("task={task} submission={id} kind={}", kind.as_str()),
                }),
        );
        for row in started {
            let deadline = row.task.deadline(Some(row.first_opened_at));
            if let Some(deadline) = deadline.filter(|deadline| *deadline <= now) {
                events.push(TaskEvent {
                    at: deadline,
                    kind: "task_time_up",
                    detail: format!("task={}", row.task.id),
                });
            }
        }
        events.sort_by(|a, b| (a.at, a.kind).cmp(&(b.at, b.kind)));
        Ok(events)
    }
}

/// Stores an opening of a task, and the first opening once, with the audit entry. A first
/// opening after the task's `opens_until` is rejected, and nothing is stored.
pub(crate) async fn record_opening(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    taking: &mut Taking,
    now: i64,
) -> Result<(), Error> {
    let person = actor.person.clone().ok_or(Error::Forbidden)?;
    let id = taking.task.id.clone();
    if taking.first_opened_at.is_none() {
        require_first_opening(&taking.task, now)?;
        sqlx::query(
            "INSERT INTO task_starts (task_id, person_id, room_id, first_opened_at)
                 VALUES ($1, $2, $3, $4)",
        )
        .bind(id.clone())
        .bind(person.clone())
        .bind(taking.room.clone())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        taking.first_opened_at = Some(now);
    }
    sqlx::query(
        "INSERT INTO task_openings (task_id, person_id, room_id, opened_at)
             VALUES ($1, $2, $3, $4)",
    )
    .bind(id.clone())
    .bind(person.clone())
    .bind(taking.room.clone())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let detail = format!("room={} opened_at={now}", taking.room);
    record(tx, actor, "task.open", "task", Some(id.as_str()), &detail).await?;

    Ok(())
}

/// Returns an error unless a participant may open `task` for the first time at `now`.
fn require_first_opening(task: &Task, now: i64) -> Result<(), Error> {
    match task.opens_until {
        Some(until) if !task.accepts_first_opening(now) => Err(Error::conflict(
            "opening_closed",
            format!(
                "the time to start this task ended at {until} (Unix ms on the server clock); \
                 a participant who has not opened it can no longer do so"
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks an upload's size and kind; a declared PDF, JPEG or PNG type must match the content.
fn check_upload(content: &[u8], declared: Option<&str>) -> Result<SubmissionKind, Error> {
    if content.is_empty() {
        return Err(Error::invalid("file", "required", "must not be empty"));
    }
    if content.len() > MAX_UPLOAD_BYTES {
        return Err(FieldError::file_too_large("file", MAX_UPLOAD_BYTES).into());
    }
    let Some(kind) = AttachmentKind::detect(content) else {
        return Err(Error::invalid(
            "file",
            "unsupported_file_type",
            "must be a PDF, JPEG or PNG file; its content is none of these",
        ));
    };
    let declared = declared.map(|value| value.split(';').next().unwrap_or("").trim());
    let claims_known = |value: &str| {
        ["application/pdf", "image/jpeg", "image/png"]
            .iter()
            .any(|known| value.eq_ignore_ascii_case(known))
    };
    if let Some(declared) = declared.filter(|value| claims_known(value)) {
        if !declared.eq_ignore_ascii_case(kind.media_type()) {
            let message = format!(
                "is declared as {declared} but its content is {}",
                kind.media_type()
            );
            return Err(Error::invalid("file", "wrong_media_type", message));
        }
    }
    Ok(SubmissionKind::from_file(kind))
}

/// Returns an error unless the actor may read the task's openings and submissions: an
/// organiser, or an expert in an expert group of the task's nomination.
async fn require_reader(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
) -> Result<(), Error> {
    require_nomination_reader(tx, actor, id, Action::ReadTaskWork)
        .await
        .map(drop)
}

/// Returns the task if the actor's role allows `action` and, for an expert, the expert is
/// a member of an expert group of the task's nomination.
pub(crate) async fn require_nomination_reader(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
    action: Action,
) -> Result<Task, Error> {
    actor.check(action)?;
    let task = select_task(tx, id).await?;
    if actor.role != Role::Expert {
        return Ok(task);
    }
    let person = actor.person.as_ref().ok_or(Error::Forbidden)?;
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM expert_group_members m
         JOIN expert_groups g ON g.id = m.group_id
         JOIN stage_parts sp ON sp.nomination_id = g.nomination_id
         WHERE m.person_id = $1 AND sp.id = $2",
    )
    .bind(person.clone())
    .bind(task.stage_part_id.clone())
    .fetch_one(&mut **tx)
    .await?;
    if count == 0 {
        return Err(Error::Forbidden);
    }
    Ok(task)
}

/// A submission to store.
struct Stored<'a> {
    kind: SubmissionKind,
    answer: Option<&'a str>,
    content: Option<&'a [u8]>,
    /// The bytes the size and hash are computed over.
    bytes: &'a [u8],
}

async fn insert_submission(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    taking: &Taking,
    stored: Stored<'_>,
    now: i64,
) -> Result<Submission, Error> {
    let person = actor.person.clone().ok_or(Error::Forbidden)?;
    let submission = Submission {
        id: SubmissionId::generate(),
        task_id: taking.task.id.clone(),
        person_id: person,
        kind: stored.kind,
        size: stored.bytes.len() as i64,
        sha256: hex::encode(Sha256::digest(stored.bytes)),
        submitted_at: now,
    };
    sqlx::query(
        "INSERT INTO task_submissions
         (id, task_id, person_id, room_id, kind, answer, content, size, sha256, submitted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(submission.id.clone())
    .bind(submission.task_id.clone())
    .bind(submission.person_id.clone())
    .bind(taking.room.clone())
    .bind(submission.kind)
    .bind(stored.answer)
    .bind(stored.content.map(<[u8]>::to_vec))
    .bind(submission.size)
    .bind(&submission.sha256)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let detail = format!(
        "submission={} kind={} size={}",
        submission.id,
        submission.kind.as_str(),
        submission.size
    );
    let task = submission.task_id.as_str();
    record(tx, actor, "task.submit", "task", Some(task), &detail).await?;
    Ok(submission)
}

async fn latest_answer(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
    person: &PersonId,
) -> Result<Option<String>, Error> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT answer FROM task_submissions
         WHERE task_id = $1 AND person_id = $2 AND kind = 'text'
         ORDER BY submitted_at DESC, id DESC LIMIT 1",
    )
    .bind(id.clone())
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|(answer,)| answer))
}

async fn uploads_of(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
    person: &PersonId,
) -> Result<Vec<Submission>, Error> {
    let sql = format!(
        "SELECT {SUBMISSION_COLUMNS} FROM task_submissions
         WHERE task_id = $1 AND person_id = $2 AND kind <> 'text' ORDER BY submitted_at, id"
    );
    let rows = sqlx::query_as(&sql)
        .bind(id.clone())
        .bind(person.clone())
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows)
}

#[derive(sqlx::FromRow)]
struct OpeningRow {
    person_id: PersonId,
    full_name: String,
    room_id: RoomId,
    opened_at: i64,
    first: i64,
}

impl OpeningRow {
    fn into_opening(self) -> Opening {
        Opening {
            person_id: self.person_id,
            full_name: self.full_name,
            room_id: self.room_id,
            opened_at: self.opened_at,
            first: self.first == 1,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SubmissionRow {
    #[sqlx(flatten)]
    submission: Submission,
    answer: Option<String>,
    content: Option<Vec<u8>>,
}

impl SubmissionRow {
    fn into_file(self) -> SubmissionFile {
        let content = match (self.content, self.answer) {
            (Some(content), _) => content,
            (None, answer) => answer.unwrap_or_default().into_bytes(),
        };
        SubmissionFile {
            submission: self.submission,
            content,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StartedRow {
    #[sqlx(flatten)]
    task: Task,
    first_opened_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn upload_kind_comes_from_content() {
        let kind = check_upload(PNG, None).unwrap();
        assert_eq!(kind, SubmissionKind::Png);
        let kind = check_upload(PNG, Some("application/octet-stream")).unwrap();
        assert_eq!(kind, SubmissionKind::Png);
        let kind = check_upload(b"%PDF-1.4", Some("application/pdf; x=1")).unwrap();
        assert_eq!(kind, SubmissionKind::Pdf);
    }

    #[test]
    fn mislabelled_upload_is_rejected() {
        assert!(check_upload(PNG, Some("application/pdf")).is_err());
        assert!(check_upload(b"hello", Some("text/plain")).is_err());
        assert!(check_upload(b"", None).is_err());
    }
}
