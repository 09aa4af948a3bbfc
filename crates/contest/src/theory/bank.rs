//! The question bank of a nomination: single choice, multiple choice and short answer
//! questions, each with its points. Questions are added one by one or imported in bulk
//! ([`super::formats`]), and edited or removed while no attempt has drawn them. A drawn
//! question never changes, so a score always refers to the question the participant saw.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use super::formats::{parse_bank, write_csv, write_json, BankFormat};
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{NominationId, QuestionId};
use crate::structure::require;
use crate::validate::is_display_text;

/// Maximum length of a question's text, in characters.
pub const MAX_QUESTION_CHARS: usize = 4000;
/// Maximum length of an option or accepted answer, in characters.
pub const MAX_OPTION_CHARS: usize = 1000;
/// Options of a choice question: from 2 to this many.
pub const MAX_OPTIONS: usize = 20;
/// Accepted answers of a short answer question: from 1 to this many.
pub const MAX_ACCEPTED: usize = 20;
/// Points of one question: from 1 to this many.
pub const MAX_POINTS: i64 = 100;
/// Questions in one nomination's bank.
pub const MAX_BANK_QUESTIONS: i64 = 5000;

/// The kind of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one option is correct; the participant selects one.
    Single,
    /// One or more options are correct; the participant selects any number.
    Multiple,
    /// The participant types a short answer, compared with the accepted answers.
    Short,
}

impl QuestionKind {
    /// Every kind.
    pub const ALL: [QuestionKind; 3] = [Self::Single, Self::Multiple, Self::Short];

    /// Returns the kind's name as stored, sent and written in import files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Multiple => "multiple",
            Self::Short => "short",
        }
    }

    /// Returns the kind named `value`, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        Self::parse(&value).ok_or_else(|| format!("unknown question kind {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(QuestionKind);

/// A question to add to a bank, as sent in JSON and in import files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewQuestion {
    /// Single choice, multiple choice or short answer.
    pub kind: QuestionKind,
    /// The question, 1 to 4000 characters; line breaks allowed.
    pub text: String,
    /// The options of a choice question, 2 to 20, each 1 to 1000 characters without `|`;
    /// empty for a short answer.
    #[serde(default)]
    pub options: Vec<String>,
    /// The numbers of the correct options, counted from 1: exactly one for single choice,
    /// at least one for multiple choice, none for a short answer.
    #[serde(default)]
    pub correct: Vec<usize>,
    /// The accepted answers of a short answer question, 1 to 20, each 1 to 1000 characters
    /// without `|`; empty for a choice question.
    #[serde(default)]
    pub accepted: Vec<String>,
    /// Points for a fully right answer, 1 to 100.
    pub points: i64,
}

/// A question of a bank, with its correct answers, as organisers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Question {
    /// The question.
    pub id: QuestionId,
    /// The nomination whose bank contains it.
    pub nomination_id: NominationId,
    /// Single choice, multiple choice or short answer.
    pub kind: QuestionKind,
    /// The question's text.
    pub text: String,
    /// The options of a choice question.
    pub options: Vec<String>,
    /// The numbers of the correct options, counted from 1.
    pub correct: Vec<usize>,
    /// The accepted answers of a short answer question.
    pub accepted: Vec<String>,
    /// Points for a fully right answer.
    pub points: i64,
    /// Place in the bank, from 1.
    pub position: i64,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

impl Question {
    /// Returns the question as written in import and export files.
    pub fn to_new(&self) -> NewQuestion {
        NewQuestion {
            kind: self.kind,
            text: self.text.clone(),
            options: self.options.clone(),
            correct: self.correct.clone(),
            accepted: self.accepted.clone(),
            points: self.points,
        }
    }
}

pub(crate) const QUESTION_COLUMNS: &str =
    "q.id, q.nomination_id, q.kind, q.text, q.options, q.correct, q.accepted, q.points, \
     q.position, q.created_at";

/// A row of `theory_questions`, with its lists still in JSON.
#[derive(sqlx::FromRow)]
pub(crate) struct QuestionRow {
    id: QuestionId,
    nomination_id: NominationId,
    kind: QuestionKind,
    text: String,
    options: String,
    correct: String,
    accepted: String,
    points: i64,
    position: i64,
    created_at: i64,
}

impl QuestionRow {
    pub(crate) fn into_question(self) -> Result<Question, Error> {
        let broken = |error: serde_json::Error| {
            Error::Database(sqlx::Error::Decode(
                format!("theory question {}: {error}", self.id).into(),
            ))
        };
        Ok(Question {
            options: serde_json::from_str(&self.options).map_err(broken)?,
            correct: serde_json::from_str(&self.correct).map_err(broken)?,
            accepted: serde_json::from_str(&self.accepted).map_err(broken)?,
            id: self.id,
            nomination_id: self.nomination_id,
            kind: self.kind,
            text: self.text,
            points: self.points,
            position: self.position,
            created_at: self.created_at,
        })
    }
}

/// Checks a question and returns it trimmed, or the problems, each named by its field
/// (`options`, `correct`, ...).
pub(crate) fn check_question(new: &NewQuestion) -> Result<NewQuestion, Vec<FieldError>> {
    let mut problems = Vec::new();
    let text = new.text.trim().to_owned();
    let visible = text.replace(['\n', '\t'], " ").replace('\r', "");
    if text.is_empty() {
        problems.push(FieldError::new("text", "required", "must not be empty"));
    } else if text.chars().count() > MAX_QUESTION_CHARS {
        let message = format!("must have at most {MAX_QUESTION_CHARS} characters");
        let problem = FieldError::new("text", "too_long", message);
        problems.push(problem.with("max", MAX_QUESTION_CHARS));
    } else if !is_display_text(&visible) {
        problems.push(FieldError::new(
            "text",
            "invisible_characters",
            "must not contain control or invisible formatting characters",
        ));
    }
    if !(1..=MAX_POINTS).contains(&new.points) {
        let message = format!("must be a whole number from 1 to {MAX_POINTS}");
        problems.push(FieldError::out_of_range("points", 1, MAX_POINTS, message));
    }
    let options = check_entries(&new.options, "options", &mut problems);
    let accepted = check_entries(&new.accepted, "accepted", &mut problems);
    let mut correct = new.correct.clone();
    correct.sort_unstable();
    correct.dedup();
    if correct.len() != new.correct.len() {
        problems.push(FieldError::new(
            "correct",
            "repeated_option",
            "must not repeat an option number",
        ));
    }

    match new.kind {
        QuestionKind::Single | QuestionKind::Multiple => {
            if !(2..=MAX_OPTIONS).contains(&options.len()) {
                let message = format!("must list 2 to {MAX_OPTIONS} options");
                problems.push(FieldError::out_of_range("options", 2, MAX_OPTIONS, message));
            }
            if let Some(n) = correct.iter().find(|n| **n == 0 || **n > options.len()) {
                let message = format!("option {n} does not exist; options are numbered from 1");
                problems.push(FieldError::new("correct", "no_such_option", message));
            }
            if new.kind == QuestionKind::Single && correct.len() != 1 {
                problems.push(FieldError::new(
                    "correct",
                    "one_option_required",
                    "must name exactly one option for single choice",
                ));
            }
            if new.kind == QuestionKind::Multiple && correct.is_empty() {
                problems.push(FieldError::new(
                    "correct",
                    "option_required",
                    "must name at least one option",
                ));
            }
            if !accepted.is_empty() {
                problems.push(FieldError::new(
                    "accepted",
                    "not_allowed",
                    "must be empty for a choice question",
                ));
            }
        }
        QuestionKind::Short => {
            if !(1..=MAX_ACCEPTED).contains(&accepted.len()) {
                let message = format!("must list 1 to {MAX_ACCEPTED} answers");
                problems.push(FieldError::out_of_range(
                    "accepted",
                    1,
                    MAX_ACCEPTED,
                    message,
                ));
            }
            if !options.is_empty() {
                problems.push(FieldError::new(
                    "options",
                    "not_allowed",
                    "must be empty for a short answer",
                ));
            }
            if !correct.is_empty() {
                problems.push(FieldError::new(
                    "correct",
                    "not_allowed",
                    "must be empty for a short answer",
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(NewQuestion {
        kind: new.kind,
        text,
        options,
        correct,
        accepted,
        points: new.points,
    })
}

/// Trims the entries of a list and checks each one. A problem names the entry's number,
/// counted from 1, in its `entry` parameter.
fn check_entries(entries: &[String], field: &str, problems: &mut Vec<FieldError>) -> Vec<String> {
    let trimmed: Vec<String> = entries.iter().map(|e| e.trim().to_owned()).collect();
    for (i, entry) in trimmed.iter().enumerate() {
        let number = i + 1;
        let problem = if entry.is_empty() {
            let message = format!("entry {number} must not be empty");
            FieldError::new(field, "required", message)
        } else if entry.chars().count() > MAX_OPTION_CHARS {
            let message = format!("entry {number} must have at most {MAX_OPTION_CHARS} characters");
            FieldError::new(field, "too_long", message).with("max", MAX_OPTION_CHARS)
        } else if entry.contains('|') {
            let message =
                format!("entry {number} must not contain |, which separates entries in CSV");
            FieldError::new(field, "separator_in_entry", message)
        } else if !is_display_text(entry) {
            let message =
                format!("entry {number} must not contain control or invisible characters");
            FieldError::new(field, "invisible_characters", message)
        } else {
            continue;
        };
        problems.push(problem.with("entry", number));
    }
    trimmed
}

impl Database {
    /// Adds one question at the end of a nomination's bank.
    pub async fn create_question(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        new: &NewQuestion,
        now: i64,
    ) -> Result<Question, Error> {
        actor.check(Action::ManageTheory)?;
        let checked = check_question(new).map_err(Error::Invalid)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        let ids = insert_questions(&mut tx, nomination, &[checked], now).await?;
        let id = ids[0].as_str();
        let detail = format!("nomination={nomination}");
        record(
            &mut tx,
            actor,
            "theory.question_create",
            "theory_question",
            Some(id),
            &detail,
        )
        .await?;
        let question = select_question(&mut tx, &ids[0]).await?;
        tx.commit().await?;
        Ok(question)
    }

    /// Lists a nomination's bank in order, with the correct answers.
    pub async fn questions(
        &self,
        actor: &Actor,
        nomination: &NominationId,
    ) -> Result<Vec<Question>, Error> {
        actor.check(Action::ManageTheory)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        let questions = bank_of(&mut tx, nomination).await?;
        tx.commit().await?;
        Ok(questions)
    }

    /// Imports questions from a bank file and adds them to the end of the bank, all or
    /// none, and returns how many were added.
    pub async fn import_questions(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        format: BankFormat,
        content: &[u8],
        now: i64,
    ) -> Result<usize, Error> {
        actor.check(Action::ManageTheory)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        let questions = parse_bank(format, content).map_err(Error::Invalid)?;
        insert_questions(&mut tx, nomination, &questions, now).await?;
        let detail = format!("count={} format={format:?}", questions.len());
        let target = Some(nomination.as_str());
        record(
            &mut tx,
            actor,
            "theory.import_questions",
            "nomination",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(questions.len())
    }

    /// Writes a nomination's bank as a file in `format`, and audits the export.
    pub async fn export_questions(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        format: BankFormat,
    ) -> Result<String, Error> {
        actor.check(Action::ManageTheory)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        let bank: Vec<NewQuestion> = bank_of(&mut tx, nomination)
            .await?
            .iter()
            .map(Question::to_new)
            .collect();
        let detail = format!("count={} format={format:?}", bank.len());
        let target = Some(nomination.as_str());
        record(
            &mut tx,
            actor,
            "theory.export_questions",
            "nomination",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(match format {
            BankFormat::Csv => write_csv(&bank),
            BankFormat::Json => write_json(&bank),
        })
    }

    /// Replaces a question's kind, text, options, answers and points. Its place in the
    /// bank stays.
    ///
    /// An attempt stores the ids of the questions it drew (`theory_attempt_questions`), not
    /// copies, and scores are computed from the bank whenever results are read. Editing a
    /// drawn question would therefore change what a started attempt shows and how its
    /// answers score, so once any attempt has drawn it the edit is a conflict.
    pub async fn update_question(
        &self,
        actor: &Actor,
        id: &QuestionId,
        new: &NewQuestion,
    ) -> Result<Question, Error> {
        actor.check(Action::ManageTheory)?;
        let checked = check_question(new).map_err(Error::Invalid)?;

        let mut tx = self.begin().await?;
        let question = select_question(&mut tx, id).await?;
        let drawn = count_draws(&mut tx, id).await?;
        if drawn > 0 {
            return Err(Error::conflict(
                "question_drawn",
                format!("{drawn} attempts have drawn this question, so it stays as they saw it"),
            ));
        }

        sqlx::query(
            "UPDATE theory_questions SET kind = $1, text = $2, options = $3, correct = $4,
             accepted = $5, points = $6 WHERE id = $7",
        )
        .bind(checked.kind)
        .bind(&checked.text)
        .bind(to_json(&checked.options))
        .bind(to_json(&checked.correct))
        .bind(to_json(&checked.accepted))
        .bind(checked.points)
        .bind(id.clone())
        .execute(&mut *tx)
        .await?;
        record_question(&mut tx, actor, "theory.question_update", &question).await?;
        let question = select_question(&mut tx, id).await?;
        tx.commit().await?;
        Ok(question)
    }

    /// Removes a question that no attempt has drawn; a drawn one is a conflict, so that
    /// every result keeps its questions.
    pub async fn delete_question(&self, actor: &Actor, id: &QuestionId) -> Result<(), Error> {
        actor.check(Action::ManageTheory)?;
        let mut tx = self.begin().await?;
        let question = select_question(&mut tx, id).await?;
        let drawn = count_draws(&mut tx, id).await?;
        if drawn > 0 {
            return Err(Error::conflict(
                "question_drawn",
                format!("{drawn} attempts have drawn this question, so it stays in the bank"),
            ));
        }
        sqlx::query("DELETE FROM theory_questions WHERE id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        record_question(&mut tx, actor, "theory.question_delete", &question).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Appends checked questions to a bank inside `tx` and returns their ids, in order.
pub(crate) async fn insert_questions(
    tx: &mut Transaction<'static, Any>,
    nomination: &NominationId,
    questions: &[NewQuestion],
    now: i64,
) -> Result<Vec<QuestionId>, Error> {
    let (count, last): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MAX(position) FROM theory_questions WHERE nomination_id = $1",
    )
    .bind(nomination.clone())
    .fetch_one(&mut **tx)
    .await?;
    if count + questions.len() as i64 > MAX_BANK_QUESTIONS {
        let message =
            format!("the bank has {count} questions; it may hold at most {MAX_BANK_QUESTIONS}");
        let error = FieldError::new("questions", "bank_full", message)
            .with("count", count)
            .with("max", MAX_BANK_QUESTIONS);
        return Err(error.into());
    }
    let mut position = last.unwrap_or(0);
    let mut ids = Vec::with_capacity(questions.len());
    for question in questions {
        position += 1;
        let id = QuestionId::generate();
        sqlx::query(
            "INSERT INTO theory_questions (id, nomination_id, kind, text, options, correct,
             accepted, points, position, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.clone())
        .bind(nomination.clone())
        .bind(question.kind)
        .bind(&question.text)
        .bind(to_json(&question.options))
        .bind(to_json(&question.correct))
        .bind(to_json(&question.accepted))
        .bind(question.points)
        .bind(position)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Writes the audit entry of a change to a question of a bank.
async fn record_question(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    question: &Question,
) -> Result<(), Error> {
    let detail = format!("nomination={}", question.nomination_id);
    let target = Some(question.id.as_str());
    record(tx, actor, action, "theory_question", target, &detail).await?;
    Ok(())
}

/// Counts the attempts that drew a question.
async fn count_draws(
    tx: &mut Transaction<'static, Any>,
    id: &QuestionId,
) -> Result<i64, sqlx::Error> {
    let (drawn,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM theory_attempt_questions WHERE question_id = $1")
            .bind(id.clone())
            .fetch_one(&mut **tx)
            .await?;
    Ok(drawn)
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists of strings and numbers serialise")
}

/// Reads a nomination's bank in order inside `tx`.
pub(crate) async fn bank_of(
    tx: &mut Transaction<'static, Any>,
    nomination: &NominationId,
) -> Result<Vec<Question>, Error> {
    let sql = format!(
        "SELECT {QUESTION_COLUMNS} FROM theory_questions q WHERE q.nomination_id = $1
         ORDER BY q.position, q.id"
    );
    let rows: Vec<QuestionRow> = sqlx::query_as(&sql)
        .bind(nomination.clone())
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(QuestionRow::into_question).collect()
}

async fn select_question(
    tx: &mut Transaction<'static, Any>,
    id: &QuestionId,
) -> Result<Question, Error> {
    let sql = format!("SELECT {QUESTION_COLUMNS} FROM theory_questions q WHERE q.id = $1");
    let row: Option<QuestionRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(Error::NotFound("question"))?.into_question()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single() -> NewQuestion {
        NewQuestion {
            kind: QuestionKind::Single,
            text: " Какой газ защищает шов? ".into(),
            options: vec!["Аргон".into(), "Кислород".into()],
            correct: vec![1],
            accepted: vec![],
            points: 1,
        }
    }

    #[test]
    fn valid_question_is_trimmed() {
        let checked = check_question(&single()).unwrap();
        assert_eq!(checked.text, "Какой газ защищает шов?");
    }

    #[test]
    fn invalid_questions_name_each_field() {
        let cases: Vec<(NewQuestion, &str)> = vec![
            (
                NewQuestion {
                    correct: vec![3],
                    ..single()
                },
                "correct",
            ),
            (
                NewQuestion {
                    correct: vec![1, 2],
                    ..single()
                },
                "correct",
            ),
            (
                NewQuestion {
                    correct: vec![0],
                    ..single()
                },
                "correct",
            ),
            (
                NewQuestion {
                    options: vec!["a".into()],
                    ..single()
                },
                "options",
            ),
            (
                NewQuestion {
                    options: vec!["a|b".into(), "c".into()],
                    ..single()
                },
                "options",
            ),
            (
                NewQuestion {
                    points: 0,
                    ..single()
                },
                "points",
            ),
            (
                NewQuestion {
                    text: " ".into(),
                    ..single()
                },
                "text",
            ),
            (
                NewQuestion {
                    accepted: vec!["x".into()],
                    ..single()
                },
                "accepted",
            ),
            (
                NewQuestion {
                    kind: QuestionKind::Short,
                    options: vec![],
                    correct: vec![],
                    ..single()
                },
                "accepted",
            ),
        ];
        for (question, field) in cases {
            let problems = check_question(&question).unwrap_err();
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert!(fields.contains(&field), "{question:?}: {fields:?}");
        }
    }
}
