//! A participant's attempt at a theory test: opening it (which draws the questions once and
//! starts the clock like any task), saving answers one at a time, and handing it in. The
//! attempt closes at the deadline of the task's time rules; the server records the
//! deadline itself as the closing time, whenever it first notices, so a restart does not
//! move it.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::bank::{bank_of, QuestionKind, QuestionRow, QUESTION_COLUMNS};
use super::identity::{newest_check, IdentityStatus};
use super::scoring::Answer;
use super::select_theory_test;
use super::shuffle::{draw_questions, option_order};
use crate::access::Actor;
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{PersonId, QuestionId, TaskId};
use crate::task_work::{record_opening, taking, MyTask, Taking};
use crate::tasks::TaskKind;
use crate::validate::is_display_text;

/// Maximum length of a short answer, in characters.
pub const MAX_SHORT_ANSWER_CHARS: usize = 1000;

/// An option of a question, as the participant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TheoryOption {
    /// The option's number in the bank, from 1; answers name options by it.
    pub number: usize,
    /// The option's text.
    pub text: String,
}

/// A question of an attempt, without its correct answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TheoryQuestion {
    /// The question.
    pub id: QuestionId,
    /// Single choice, multiple choice or short answer.
    pub kind: QuestionKind,
    /// The question's text.
    pub text: String,
    /// Points for a fully right answer.
    pub points: i64,
    /// The options in this participant's order; empty for a short answer.
    pub options: Vec<TheoryOption>,
    /// The saved answer, or `None`.
    pub answer: Option<Answer>,
}

/// An opened theory test: the questions in the participant's order and the saved answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenedTheoryTest {
    /// The test, its deadline, its state and the server clock.
    #[serde(flatten)]
    pub task: MyTask,
    /// The instructions, as Markdown; may be empty.
    pub text: String,
    /// When the participant handed the test in, or `None`.
    pub finished_at: Option<i64>,
    /// When the attempt closed (the hand-in or the deadline), or `None` while open.
    pub closed_at: Option<i64>,
    /// The drawn questions in the participant's order.
    pub questions: Vec<TheoryQuestion>,
}

/// The reply to a saved answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedAnswer {
    /// The question answered.
    pub question_id: QuestionId,
    /// Server time of the save, in Unix milliseconds.
    pub saved_at: i64,
}

/// The stored state of an attempt.
pub(crate) struct Attempt {
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub closed_at: Option<i64>,
}

pub(crate) async fn select_attempt(
    tx: &mut Transaction<'static, Any>,
    task: &TaskId,
    person: &PersonId,
) -> Result<Option<Attempt>, Error> {
    let row: Option<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT started_at, finished_at, closed_at FROM theory_attempts
         WHERE task_id = $1 AND person_id = $2",
    )
    .bind(task.clone())
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(started_at, finished_at, closed_at)| Attempt {
        started_at,
        finished_at,
        closed_at,
    }))
}

/// Records the deadline as the closing time of an attempt whose deadline has passed at
/// `now` and that has none yet, and returns the closing time.
pub(crate) async fn close_if_expired(
    tx: &mut Transaction<'static, Any>,
    task: &TaskId,
    person: &PersonId,
    attempt: &Attempt,
    deadline: Option<i64>,
    now: i64,
) -> Result<Option<i64>, Error> {
    if attempt.closed_at.is_some() {
        return Ok(attempt.closed_at);
    }
    let Some(deadline) = deadline.filter(|deadline| now >= *deadline) else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE theory_attempts SET closed_at = $1
         WHERE task_id = $2 AND person_id = $3 AND closed_at IS NULL",
    )
    .bind(deadline)
    .bind(task.clone())
    .bind(person.clone())
    .execute(&mut **tx)
    .await?;
    Ok(Some(deadline))
}

impl Database {
    /// Opens a theory test for its participant at `now`. The first opening needs an
    /// identity snapshot that has not been rejected; it draws the questions and starts the
    /// time limit. Every opening is recorded like a task's.
    pub async fn open_theory_test(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<OpenedTheoryTest, Error> {
        let mut tx = self.begin().await?;
        let mut taking = taking(&mut tx, actor, id, TaskKind::Theory, now).await?;
        let person = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut attempt = select_attempt(&mut tx, id, &person).await?;
        if attempt.is_none() {
            require_identity(&mut tx, id, &person).await?;
            if let Some(deadline) = taking.task.deadline(None).filter(|d| now >= *d) {
                return Err(Error::TimeUp { deadline });
            }
        }
        record_opening(&mut tx, actor, &mut taking, now).await?;
        if attempt.is_none() {
            let started_at = taking.first_opened_at.unwrap_or(now);
            start_attempt(&mut tx, id, &person, started_at).await?;
            attempt = select_attempt(&mut tx, id, &person).await?;
        }
        let attempt = attempt.expect("the attempt exists or was just created");
        let deadline = taking.task.deadline(taking.first_opened_at);
        let closed_at = close_if_expired(&mut tx, id, &person, &attempt, deadline, now).await?;
        let questions = attempt_questions(&mut tx, id, &person).await?;
        tx.commit().await?;
        Ok(OpenedTheoryTest {
            task: view(&taking, closed_at, now),
            text: taking.task.text.clone(),
            finished_at: attempt.finished_at,
            closed_at,
            questions,
        })
    }

    /// Saves the answer to one question of the participant's attempt, replacing the
    /// previous one, while the attempt is open at `now`.
    pub async fn save_theory_answer(
        &self,
        actor: &Actor,
        id: &TaskId,
        question: &QuestionId,
        answer: &Answer,
        now: i64,
    ) -> Result<SavedAnswer, Error> {
        let mut tx = self.begin().await?;
        let (taking, person) = open_attempt(&mut tx, actor, id, now).await?;
        let sql = format!(
            "SELECT {QUESTION_COLUMNS} FROM theory_attempt_questions aq
             JOIN theory_questions q ON q.id = aq.question_id
             WHERE aq.task_id = $1 AND aq.person_id = $2 AND aq.question_id = $3"
        );
        let row: Option<QuestionRow> = sqlx::query_as(&sql)
            .bind(id.clone())
            .bind(person.clone())
            .bind(question.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let question_row = row.ok_or(Error::NotFound("question of this attempt"))?;
        let stored = question_row.into_question()?;
        let answer = check_answer(stored.kind, stored.options.len(), answer)?;

        sqlx::query(
            "INSERT INTO theory_answers (task_id, person_id, question_id, answer, saved_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (task_id, person_id, question_id)
             DO UPDATE SET answer = excluded.answer, saved_at = excluded.saved_at",
        )
        .bind(id.clone())
        .bind(person.clone())
        .bind(question.clone())
        .bind(serde_json::to_string(&answer).expect("an answer serialises"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let detail = format!("question={question}");
        let target = Some(taking.task.id.as_str());
        record(&mut tx, actor, "theory.answer", "task", target, &detail).await?;
        tx.commit().await?;
        Ok(SavedAnswer {
            question_id: question.clone(),
            saved_at: now,
        })
    }

    /// Hands the participant's attempt in at `now`, which becomes its closing time; later
    /// answers are rejected.
    pub async fn finish_theory_test(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<i64, Error> {
        let mut tx = self.begin().await?;
        let (_, person) = open_attempt(&mut tx, actor, id, now).await?;
        sqlx::query(
            "UPDATE theory_attempts SET finished_at = $1, closed_at = $1
             WHERE task_id = $2 AND person_id = $3",
        )
        .bind(now)
        .bind(id.clone())
        .bind(person.clone())
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "theory.finish",
            "task",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(now)
    }
}

/// Returns the participant's taking of the test and their id, or an error unless their
/// attempt is open at `now`: started, not handed in, and before the deadline.
async fn open_attempt(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
    now: i64,
) -> Result<(Taking, PersonId), Error> {
    let taking = taking(tx, actor, id, TaskKind::Theory, now).await?;
    let person = actor.person.clone().ok_or(Error::Forbidden)?;
    taking.require_open(now)?;
    let attempt = select_attempt(tx, id, &person).await?;
    let attempt =
        attempt.ok_or_else(|| Error::conflict("test_not_opened", "open the test first"))?;
    if let Some(finished_at) = attempt.finished_at {
        return Err(Error::conflict(
            "test_finished",
            format!(
                "the test was handed in at {finished_at} (Unix ms); answers are no longer accepted"
            ),
        ));
    }
    Ok((taking, person))
}

/// Returns an error unless the participant's newest identity snapshot for the test exists
/// and has not been rejected.
async fn require_identity(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
    person: &PersonId,
) -> Result<(), Error> {
    match newest_check(tx, id, person).await? {
        None => Err(Error::conflict(
            "identity_snapshot_missing",
            "show your identity document to the camera and send the snapshot first",
        )),
        Some(check) if check.status == IdentityStatus::Rejected => Err(Error::conflict(
            "identity_rejected",
            format!(
                "the identity snapshot was rejected: {}; send a new one",
                check.reason.unwrap_or_default()
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Creates the attempt and draws its questions in the participant's order.
async fn start_attempt(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
    person: &PersonId,
    started_at: i64,
) -> Result<(), Error> {
    let test = select_theory_test(tx, id).await?;
    let bank: Vec<QuestionId> = bank_of(tx, &test.nomination_id)
        .await?
        .into_iter()
        .map(|q| q.id)
        .collect();
    if bank.is_empty() {
        return Err(Error::conflict(
            "bank_empty",
            "the question bank of this nomination is empty; tell the organisers",
        ));
    }
    let count = test.question_count.map(|n| n as usize);
    let drawn = draw_questions(id, person, &bank, count);
    sqlx::query("INSERT INTO theory_attempts (task_id, person_id, started_at) VALUES ($1, $2, $3)")
        .bind(id.clone())
        .bind(person.clone())
        .bind(started_at)
        .execute(&mut **tx)
        .await?;
    for (position, question) in drawn.iter().enumerate() {
        sqlx::query(
            "INSERT INTO theory_attempt_questions (task_id, person_id, question_id, position)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id.clone())
        .bind(person.clone())
        .bind(question.clone())
        .bind(position as i64 + 1)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Reads the attempt's questions in order, with options in the participant's order and
/// the saved answers.
async fn attempt_questions(
    tx: &mut Transaction<'static, Any>,
    id: &TaskId,
    person: &PersonId,
) -> Result<Vec<TheoryQuestion>, Error> {
    let sql = format!(
        "SELECT {QUESTION_COLUMNS} FROM theory_attempt_questions aq
         JOIN theory_questions q ON q.id = aq.question_id
         WHERE aq.task_id = $1 AND aq.person_id = $2 ORDER BY aq.position"
    );
    let rows: Vec<QuestionRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .bind(person.clone())
        .fetch_all(&mut **tx)
        .await?;
    let answers: Vec<(QuestionId, String)> = sqlx::query_as(
        "SELECT question_id, answer FROM theory_answers WHERE task_id = $1 AND person_id = $2",
    )
    .bind(id.clone())
    .bind(person.clone())
    .fetch_all(&mut **tx)
    .await?;

    let mut questions = Vec::with_capacity(rows.len());
    for row in rows {
        let question = row.into_question()?;
        let order = option_order(id, person, &question.id, question.options.len());
        let options = order
            .into_iter()
            .map(|number| TheoryOption {
                number,
                text: question.options[number - 1].clone(),
            })
            .collect();
        let answer = answers
            .iter()
            .find(|(q, _)| *q == question.id)
            .and_then(|(_, json)| serde_json::from_str(json).ok());
        questions.push(TheoryQuestion {
            id: question.id,
            kind: question.kind,
            text: question.text,
            points: question.points,
            options,
            answer,
        });
    }
    Ok(questions)
}

/// Returns the task's view with the state closed once the attempt has closed.
fn view(taking: &Taking, closed_at: Option<i64>, now: i64) -> MyTask {
    let mut view = taking.view(now);
    if closed_at.is_some() {
        view.state = crate::task_work::TaskState::Closed;
    }
    view
}

/// Checks an answer against the question's kind and options, and returns it normalised:
/// option numbers sorted, text trimmed.
fn check_answer(kind: QuestionKind, options: usize, answer: &Answer) -> Result<Answer, Error> {
    match (kind, answer) {
        (QuestionKind::Single | QuestionKind::Multiple, Answer::Selected(selected)) => {
            let mut sorted = selected.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != selected.len() {
                return Err(Error::invalid(
                    "selected",
                    "repeated_option",
                    "must not repeat an option",
                ));
            }
            if let Some(n) = sorted.iter().find(|n| **n == 0 || **n > options) {
                let message = format!("option {n} does not exist; options are 1 to {options}");
                return Err(Error::invalid("selected", "no_such_option", message));
            }
            if kind == QuestionKind::Single && sorted.len() > 1 {
                return Err(Error::invalid(
                    "selected",
                    "one_option_only",
                    "must name at most one option",
                ));
            }
            Ok(Answer::Selected(sorted))
        }
        (QuestionKind::Short, Answer::Text(text)) => {
            let text = text.trim();
            if text.chars().count() > MAX_SHORT_ANSWER_CHARS {
                let message = format!("must have at most {MAX_SHORT_ANSWER_CHARS} characters");
                let error = FieldError::new("text", "too_long", message);
                return Err(error.with("max", MAX_SHORT_ANSWER_CHARS).into());
            }
            if !is_display_text(text) {
                let message = "must not contain control or invisible formatting characters";
                return Err(Error::invalid("text", "invisible_characters", message));
            }
            Ok(Answer::Text(text.to_owned()))
        }
        (QuestionKind::Short, Answer::Selected(_)) => Err(Error::invalid(
            "selected",
            "text_expected",
            "this is a short answer question; send text",
        )),
        (_, Answer::Text(_)) => Err(Error::invalid(
            "text",
            "selection_expected",
            "this is a choice question; send selected option numbers",
        )),
    }
}
