//! The theory stage: a question bank per nomination, theory tests that draw from it, the
//! participants' attempts with automatic scoring, results (also imported from an external
//! exam platform) and the identity check before a test.
//!
//! A theory test is a task of kind [`TaskKind::Theory`]: it has the task's start, time
//! limit, limit mode and publication, and its openings are the task's openings, so the
//! deadline rules of [`crate::tasks`] apply unchanged. `docs/theory.md` describes it.

mod attempt;
pub mod bank;
pub mod formats;
mod identity;
mod import;
mod results;
pub mod scoring;
mod shuffle;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{NominationId, StagePartId, TaskId};
use crate::structure::PartKind;
use crate::tasks::{
    check_task, insert_task, replace_task, select_task, LimitMode, NewTask, Task, TaskKind,
};

pub use attempt::{OpenedTheoryTest, SavedAnswer, TheoryOption, TheoryQuestion};
pub use bank::{NewQuestion, Question, QuestionKind};
pub use formats::BankFormat;
pub use identity::{
    IdentityCheck, IdentityDecision, IdentityReview, IdentityStatus, TheoryTestIntro,
    MAX_SNAPSHOT_BYTES,
};
pub use import::ImportedResults;
pub use results::{ResultSource, TheoryResult};
pub use scoring::Answer;

/// The fields of a new theory test, or of its replacement before it starts.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTheoryTest {
    /// 1 to 200 characters.
    pub title: String,
    /// Instructions shown above the questions, as Markdown; may be empty.
    #[serde(default)]
    pub text: String,
    /// When the test becomes visible to participants, in Unix milliseconds.
    pub starts_at: i64,
    /// The time limit, from 1 second to 7 days, in seconds.
    pub time_limit_secs: i64,
    /// The start of the time limit: common or first opening.
    pub limit_mode: LimitMode,
    /// Questions each participant draws at random from the bank; all of them when missing.
    #[serde(default)]
    pub question_count: Option<i64>,
    /// The latest first opening, in Unix milliseconds, as for a task: only with the
    /// `first_opening` limit mode, after `starts_at`. A participant who has not opened the
    /// test by then can no longer open it. Missing means no such bound.
    #[serde(default)]
    pub opens_until: Option<i64>,
}

impl NewTheoryTest {
    fn task(&self) -> NewTask {
        NewTask {
            title: self.title.clone(),
            text: self.text.clone(),
            starts_at: self.starts_at,
            time_limit_secs: self.time_limit_secs,
            limit_mode: self.limit_mode,
            opens_until: self.opens_until,
        }
    }
}

/// A theory test as organisers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TheoryTest {
    /// The task that carries the test's title, times and publication.
    #[serde(flatten)]
    pub task: Task,
    /// The nomination whose bank the questions come from.
    pub nomination_id: NominationId,
    /// Questions each participant draws; `None` for all of them.
    pub question_count: Option<i64>,
    /// Questions in the nomination's bank now.
    pub bank_size: i64,
}

/// Maximum questions one participant draws.
const MAX_QUESTION_COUNT: i64 = 1000;

fn check_count(count: Option<i64>) -> Result<(), Error> {
    match count {
        Some(count) if !(1..=MAX_QUESTION_COUNT).contains(&count) => {
            let message = format!("must be from 1 to {MAX_QUESTION_COUNT}, or left out for all");
            let error = FieldError::out_of_range("question_count", 1, MAX_QUESTION_COUNT, message);
            Err(error.into())
        }
        _ => Ok(()),
    }
}

impl Database {
    /// Creates a draft theory test for a theory stage part.
    pub async fn create_theory_test(
        &self,
        actor: &Actor,
        part: &StagePartId,
        new: &NewTheoryTest,
        now: i64,
    ) -> Result<TheoryTest, Error> {
        actor.check(Action::ManageTheory)?;
        let task = new.task();
        let checked = check_task(&task)?;
        check_count(new.question_count)?;
        let mut tx = self.begin().await?;
        let kind: Option<(PartKind,)> =
            sqlx::query_as("SELECT kind FROM stage_parts WHERE id = $1")
                .bind(part.clone())
                .fetch_optional(&mut *tx)
                .await?;
        match kind {
            None => return Err(Error::NotFound("stage part")),
            Some((PartKind::Practice,)) => {
                return Err(Error::conflict(
                    "not_theory_part",
                    "a theory test belongs to a theory stage part; this one is practice",
                ))
            }
            Some((PartKind::Theory,)) => {}
        }
        let id = insert_task(&mut tx, actor, part, TaskKind::Theory, &task, &checked, now).await?;
        sqlx::query("INSERT INTO theory_tests (task_id, question_count) VALUES ($1, $2)")
            .bind(id.clone())
            .bind(new.question_count)
            .execute(&mut *tx)
            .await?;
        let test = select_theory_test(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(test)
    }

    /// Replaces a theory test's fields, until it starts.
    pub async fn update_theory_test(
        &self,
        actor: &Actor,
        id: &TaskId,
        new: &NewTheoryTest,
        now: i64,
    ) -> Result<TheoryTest, Error> {
        actor.check(Action::ManageTheory)?;
        let task = new.task();
        let checked = check_task(&task)?;
        check_count(new.question_count)?;
        let mut tx = self.begin().await?;
        let test = select_theory_test(&mut tx, id).await?;
        replace_task(&mut tx, actor, &test.task, &task, &checked, now).await?;
        sqlx::query("UPDATE theory_tests SET question_count = $1 WHERE task_id = $2")
            .bind(new.question_count)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let test = select_theory_test(&mut tx, id).await?;
        tx.commit().await?;
        Ok(test)
    }

    /// Returns a theory test as organisers see it.
    pub async fn theory_test(&self, actor: &Actor, id: &TaskId) -> Result<TheoryTest, Error> {
        actor.check(Action::ManageTheory)?;
        let mut tx = self.begin().await?;
        let test = select_theory_test(&mut tx, id).await?;
        tx.commit().await?;
        Ok(test)
    }
}

/// Reads a theory test inside `tx`; a task of another kind is "not found".
pub(crate) async fn select_theory_test(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
) -> Result<TheoryTest, Error> {
    let task = select_task(tx, id).await?;
    if task.kind != TaskKind::Theory {
        return Err(Error::NotFound("theory test"));
    }
    let (nomination, count): (NominationId, Option<i64>) = sqlx::query_as(
        "SELECT sp.nomination_id, t.question_count FROM theory_tests t
         JOIN tasks k ON k.id = t.task_id JOIN stage_parts sp ON sp.id = k.stage_part_id
         WHERE t.task_id = $1",
    )
    .bind(id.clone())
    .fetch_one(&mut **tx)
    .await?;
    let (bank_size,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM theory_questions WHERE nomination_id = $1")
            .bind(nomination.clone())
            .fetch_one(&mut **tx)
            .await?;
    Ok(TheoryTest {
        task,
        nomination_id: nomination,
        question_count: count,
        bank_size,
    })
}

/// Returns an error unless a theory test may be published: its bank must hold at least
/// one question, and at least as many as each participant draws.
pub(crate) async fn require_publishable(
    tx: &mut Transaction<'static, Any>,
    task: &Task,
) -> Result<(), Error> {
    let test = select_theory_test(tx, &task.id).await?;
    let needed = test.question_count.unwrap_or(1);
    if test.bank_size < needed {
        let message = format!(
            "the nomination's question bank holds {} questions; the test needs at least {needed}",
            test.bank_size
        );
        let error = FieldError::new("question_count", "bank_too_small", message)
            .with("size", test.bank_size)
            .with("needed", needed);
        return Err(error.into());
    }
    Ok(())
}
