//! The identity check before a theory test: the participant shows an identity document to
//! the camera, the page sends a JPEG snapshot, and an expert of the nomination or an
//! organiser confirms or rejects it by hand, with a reason. Nothing compares faces
//! automatically. Snapshots are personal data: every read is an audit entry.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::applications::AttachmentKind;
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{IdentityCheckId, PersonId, TaskId};
use crate::task_work::require_nomination_reader;
use crate::tasks::{select_task, LimitMode, TaskKind};
use crate::validate::Checks;

/// Maximum size of a snapshot, in bytes. A 1280×720 JPEG from a canvas at quality 0.85 is
/// usually 100 to 300 KiB.
pub const MAX_SNAPSHOT_BYTES: usize = 2 * 1024 * 1024;
/// Maximum length of a rejection reason, in characters.
const MAX_REASON_CHARS: usize = 500;

/// The review status of an identity snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    /// Sent, not yet reviewed; the participant may start the test.
    Pending,
    /// An expert confirmed the document matches the participant.
    Confirmed,
    /// An expert rejected it; the participant must send a new snapshot before starting.
    Rejected,
}

impl IdentityStatus {
    /// Returns the status's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        [Self::Pending, Self::Confirmed, Self::Rejected]
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| format!("unknown identity status {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(IdentityStatus);

/// An identity snapshot and its review, without the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityCheck {
    /// The check.
    pub id: IdentityCheckId,
    /// The theory test.
    pub task_id: TaskId,
    /// The participant.
    pub person_id: PersonId,
    /// The participant's full name.
    pub full_name: String,
    /// Size of the JPEG, in bytes.
    pub size: i64,
    /// Server time of the upload, in Unix milliseconds.
    pub uploaded_at: i64,
    /// Pending, confirmed or rejected.
    pub status: IdentityStatus,
    /// The reason of a rejection.
    pub reason: Option<String>,
    /// The reviewer.
    pub reviewed_by: Option<PersonId>,
    /// Server time of the review.
    pub reviewed_at: Option<i64>,
}

/// A reviewer's decision on an identity snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IdentityDecision {
    /// The document matches the participant.
    Confirm,
    /// It does not, or cannot be read; needs a reason.
    Reject,
}

/// The body of a review.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityReview {
    /// Confirm or reject.
    pub decision: IdentityDecision,
    /// Required with `reject`, 1 to 500 characters, shown to the participant; rejected with
    /// `confirm`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A participant's view of a published theory test, before and after its start: its times
/// and the newest identity snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TheoryTestIntro {
    /// The test.
    pub task_id: TaskId,
    /// The test's title.
    pub title: String,
    /// Start, in Unix milliseconds.
    pub starts_at: i64,
    /// The time limit, in seconds.
    pub time_limit_secs: i64,
    /// The start of the time limit: common or first opening.
    pub limit_mode: LimitMode,
    /// The newest snapshot and its review, or `None`.
    pub check: Option<IdentityCheck>,
    /// The server clock, in Unix milliseconds.
    pub now: i64,
}

const CHECK_COLUMNS: &str = "c.id, c.task_id, c.person_id, p.full_name, c.size, c.uploaded_at, \
    c.status, c.reason, c.reviewed_by, c.reviewed_at";

/// Returns the participant's newest identity check for a test.
pub(crate) async fn newest_check(
    tx: &mut Transaction<'static, Any>,
    task: &TaskId,
    person: &PersonId,
) -> Result<Option<IdentityCheck>, Error> {
    let sql = format!(
        "SELECT {CHECK_COLUMNS} FROM theory_identity_checks c JOIN people p ON p.id = c.person_id
         WHERE c.task_id = $1 AND c.person_id = $2 ORDER BY c.uploaded_at DESC, c.id LIMIT 1"
    );
    let check = sqlx::query_as(&sql)
        .bind(task.clone())
        .bind(person.clone())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(check)
}

/// Returns the published theory test that the participant is assigned to, whether or not
/// it has started; anything else is "not found".
async fn assigned_test(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
) -> Result<(crate::tasks::Task, PersonId), Error> {
    actor.check(Action::TakeTasks)?;
    let person = actor.person.clone().ok_or(Error::Forbidden)?;
    let task = match select_task(tx, id).await {
        Ok(task) if task.kind == TaskKind::Theory && task.published_at.is_some() => task,
        Ok(_) | Err(Error::NotFound(_)) => return Err(Error::NotFound("theory test")),
        Err(error) => return Err(error),
    };
    let (assigned,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM rooms r JOIN room_assignments a ON a.room_id = r.id
         WHERE r.stage_part_id = $1 AND a.person_id = $2",
    )
    .bind(task.stage_part_id.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    if assigned == 0 {
        return Err(Error::NotFound("theory test"));
    }
    Ok((task, person))
}

/// Checks that a snapshot is a JPEG of at most [`MAX_SNAPSHOT_BYTES`], by its content.
fn check_snapshot(content: &[u8]) -> Result<(), Error> {
    if content.len() > MAX_SNAPSHOT_BYTES {
        return Err(FieldError::file_too_large("snapshot", MAX_SNAPSHOT_BYTES).into());
    }
    if AttachmentKind::detect(content) != Some(AttachmentKind::Jpeg) {
        return Err(Error::invalid(
            "snapshot",
            "not_jpeg",
            "must be a JPEG image; its content does not start with FF D8 FF",
        ));
    }
    Ok(())
}

impl Database {
    /// Returns the participant's view of a published theory test they are assigned to,
    /// with their newest identity snapshot, also before the test starts.
    pub async fn theory_test_intro(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<TheoryTestIntro, Error> {
        let mut tx = self.begin().await?;
        let (task, person) = assigned_test(&mut tx, actor, id).await?;
        let check = newest_check(&mut tx, id, &person).await?;
        tx.commit().await?;
        Ok(TheoryTestIntro {
            task_id: task.id,
            title: task.title,
            starts_at: task.starts_at,
            time_limit_secs: task.time_limit_secs,
            limit_mode: task.limit_mode,
            check,
            now,
        })
    }

    /// Lists the published theory tests of the stage parts the participant is assigned to,
    /// by start, also those not started yet, with the newest identity snapshot of each.
    pub async fn my_theory_tests(
        &self,
        actor: &Actor,
        now: i64,
    ) -> Result<Vec<TheoryTestIntro>, Error> {
        actor.check(Action::TakeTasks)?;
        let Some(person) = &actor.person else {
            return Ok(Vec::new());
        };
        let ids: Vec<(TaskId,)> = sqlx::query_as(
            "SELECT DISTINCT t.id, t.starts_at FROM tasks t
             JOIN rooms r ON r.stage_part_id = t.stage_part_id
             JOIN room_assignments a ON a.room_id = r.id
             WHERE a.person_id = $1 AND t.kind = 'theory' AND t.published_at IS NOT NULL
             ORDER BY t.starts_at, t.id",
        )
        .bind(person.clone())
        .fetch_all(&self.pool)
        .await?;
        let mut intros = Vec::with_capacity(ids.len());
        for (id,) in ids {
            intros.push(self.theory_test_intro(actor, &id, now).await?);
        }
        Ok(intros)
    }

    /// Stores a participant's identity snapshot for a test, pending review. Rejected once
    /// the participant has started the test with a snapshot that was not rejected, and
    /// after a common deadline.
    pub async fn upload_identity_snapshot(
        &self,
        actor: &Actor,
        id: &TaskId,
        content: &[u8],
        now: i64,
    ) -> Result<IdentityCheck, Error> {
        check_snapshot(content)?;
        let mut tx = self.begin().await?;
        let (task, person) = assigned_test(&mut tx, actor, id).await?;
        if let Some(deadline) = task.deadline(None).filter(|d| now >= *d) {
            return Err(Error::TimeUp { deadline });
        }
        let newest = newest_check(&mut tx, id, &person).await?;
        if newest.is_some_and(|c| c.status == IdentityStatus::Confirmed) {
            return Err(Error::conflict(
                "identity_confirmed",
                "the identity snapshot is already confirmed",
            ));
        }
        let check_id = IdentityCheckId::generate();
        let sha256 = hex::encode(Sha256::digest(content));
        sqlx::query(
            "INSERT INTO theory_identity_checks (id, task_id, person_id, content, size, sha256,
             uploaded_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
        )
        .bind(check_id.clone())
        .bind(id.clone())
        .bind(person.clone())
        .bind(content.to_vec())
        .bind(content.len() as i64)
        .bind(&sha256)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let detail = format!("task={id} size={} sha256={sha256}", content.len());
        let target = Some(check_id.as_str());
        record(
            &mut tx,
            actor,
            "theory.identity_upload",
            "identity_check",
            target,
            &detail,
        )
        .await?;
        let check = newest_check(&mut tx, id, &person).await?;
        tx.commit().await?;
        Ok(check.expect("the check was just stored"))
    }

    /// Lists a test's identity checks, newest first, to organisers and experts of its
    /// nomination, and audits the read, because it names participants.
    pub async fn identity_checks(
        &self,
        actor: &Actor,
        id: &TaskId,
    ) -> Result<Vec<IdentityCheck>, Error> {
        let mut tx = self.begin().await?;
        require_nomination_reader(&mut tx, actor, id, Action::ReviewIdentity).await?;
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM theory_identity_checks c
             JOIN people p ON p.id = c.person_id
             WHERE c.task_id = $1 ORDER BY c.uploaded_at DESC, c.id"
        );
        let checks: Vec<IdentityCheck> = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_all(&mut *tx)
            .await?;
        let detail = format!("count={}", checks.len());
        record(
            &mut tx,
            actor,
            "theory.identity_list",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(checks)
    }

    /// Returns a snapshot's JPEG to organisers and experts of the test's nomination, and
    /// audits the read.
    pub async fn identity_snapshot(
        &self,
        actor: &Actor,
        id: &IdentityCheckId,
    ) -> Result<Vec<u8>, Error> {
        let mut tx = self.begin().await?;
        let row: Option<(TaskId, Vec<u8>)> =
            sqlx::query_as("SELECT task_id, content FROM theory_identity_checks WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let (task, content) = row.ok_or(Error::NotFound("identity check"))?;
        require_nomination_reader(&mut tx, actor, &task, Action::ReviewIdentity).await?;
        let detail = format!("task={task}");
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "theory.identity_read",
            "identity_check",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(content)
    }

    /// Confirms or rejects a pending identity snapshot.
    pub async fn review_identity(
        &self,
        actor: &Actor,
        id: &IdentityCheckId,
        review: &IdentityReview,
        now: i64,
    ) -> Result<IdentityCheck, Error> {
        let reason = check_review(review)?;
        let mut tx = self.begin().await?;
        let row: Option<(TaskId, IdentityStatus)> =
            sqlx::query_as("SELECT task_id, status FROM theory_identity_checks WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let (task, status) = row.ok_or(Error::NotFound("identity check"))?;
        require_nomination_reader(&mut tx, actor, &task, Action::ReviewIdentity).await?;
        if status != IdentityStatus::Pending {
            return Err(Error::conflict(
                "identity_reviewed",
                format!("the snapshot is already {}", status.as_str()),
            ));
        }
        let status = match review.decision {
            IdentityDecision::Confirm => IdentityStatus::Confirmed,
            IdentityDecision::Reject => IdentityStatus::Rejected,
        };
        sqlx::query(
            "UPDATE theory_identity_checks SET status = $1, reason = $2, reviewed_by = $3,
             reviewed_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(reason)
        .bind(actor.person.clone())
        .bind(now)
        .bind(id.clone())
        .execute(&mut *tx)
        .await?;
        let detail = format!("task={task} status={}", status.as_str());
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "theory.identity_review",
            "identity_check",
            target,
            &detail,
        )
        .await?;
        let sql = format!(
            "SELECT {CHECK_COLUMNS} FROM theory_identity_checks c
             JOIN people p ON p.id = c.person_id WHERE c.id = $1"
        );
        let check = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(check)
    }
}

/// Checks a review: a reason with a rejection, none with a confirmation.
fn check_review(review: &IdentityReview) -> Result<Option<String>, Error> {
    let mut checks = Checks::default();
    let reason = match (review.decision, review.reason.as_deref()) {
        (IdentityDecision::Reject, reason) => {
            Some(checks.text("reason", reason.unwrap_or(""), MAX_REASON_CHARS))
        }
        (IdentityDecision::Confirm, Some(reason)) if !reason.trim().is_empty() => {
            checks.fail("reason", "reason_not_allowed", "is only given with reject");
            None
        }
        (IdentityDecision::Confirm, _) => None,
    };
    checks.finish()?;
    Ok(reason)
}
