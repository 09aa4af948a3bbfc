//! The results of a theory test: every attempt scored automatically, and the results
//! imported from an external exam platform, for organisers and the experts of the
//! nomination, as a list or a CSV file.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::attempt::{close_if_expired, Attempt};
use super::bank::QuestionRow;
use super::identity::{newest_check, IdentityStatus};
use super::scoring::{score, Answer};
use crate::access::{Action, Actor};
use crate::audit::{csv_field, record};
use crate::db::Database;
use crate::error::Error;
use crate::ids::{PersonId, TaskId};
use crate::task_work::require_nomination_reader;

/// Where a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResultSource {
    /// An attempt on this server, scored automatically.
    Platform,
    /// Imported from an external exam platform.
    Imported,
}

impl ResultSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Imported => "imported",
        }
    }
}

/// One participant's result of a theory test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TheoryResult {
    /// The participant.
    pub person_id: PersonId,
    /// The participant's full name.
    pub full_name: String,
    /// The registration number of the participant's application, if any.
    pub application_number: Option<String>,
    /// An attempt here, or an imported result.
    pub source: ResultSource,
    /// The score, in points, to hundredths.
    pub score: f64,
    /// The highest score possible, in points.
    pub max_score: f64,
    /// Questions answered; `None` for an imported result.
    pub answered: Option<i64>,
    /// Questions drawn; `None` for an imported result.
    pub questions: Option<i64>,
    /// The first opening, in Unix milliseconds; `None` for an imported result.
    pub started_at: Option<i64>,
    /// When the attempt closed: the hand-in, or the deadline once it passed. `None` while
    /// the attempt is open, and for an imported result.
    pub closed_at: Option<i64>,
    /// The import time of an imported result.
    pub imported_at: Option<i64>,
    /// The status of the newest identity snapshot, or `None` without one.
    pub identity: Option<IdentityStatus>,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    person_id: PersonId,
    full_name: String,
    started_at: i64,
    finished_at: Option<i64>,
    closed_at: Option<i64>,
    first_opened_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct DrawnRow {
    person_id: PersonId,
    #[sqlx(flatten)]
    question: QuestionRow,
    answer: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ImportedRow {
    person_id: PersonId,
    full_name: String,
    score_hundredths: i64,
    max_score_hundredths: i64,
    imported_at: i64,
}

impl Database {
    /// Lists a test's results at `now`, best score first, and audits the read. Attempts
    /// whose deadline has passed get the deadline as their closing time.
    pub async fn theory_results(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<Vec<TheoryResult>, Error> {
        let mut tx = self.begin().await?;
        let results = collect_results(&mut tx, actor, id, now).await?;
        let detail = format!("count={}", results.len());
        record(
            &mut tx,
            actor,
            "theory.read_results",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(results)
    }

    /// Returns a test's results as CSV (UTF-8 with a byte order mark, `;` between fields),
    /// and audits the export.
    pub async fn theory_results_csv(
        &self,
        actor: &Actor,
        id: &TaskId,
        now: i64,
    ) -> Result<String, Error> {
        let mut tx = self.begin().await?;
        let results = collect_results(&mut tx, actor, id, now).await?;
        let detail = format!("count={}", results.len());
        record(
            &mut tx,
            actor,
            "theory.export_results",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(results_csv(&results))
    }
}

async fn collect_results(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &TaskId,
    now: i64,
) -> Result<Vec<TheoryResult>, Error> {
    let task = require_nomination_reader(tx, actor, id, Action::ReadTheoryResults).await?;
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "SELECT a.person_id, p.full_name, a.started_at, a.finished_at, a.closed_at,
         s.first_opened_at
         FROM theory_attempts a JOIN people p ON p.id = a.person_id
         LEFT JOIN task_starts s ON s.task_id = a.task_id AND s.person_id = a.person_id
         WHERE a.task_id = $1",
    )
    .bind(id.clone())
    .fetch_all(&mut **tx)
    .await?;
    let sql = format!(
        "SELECT aq.person_id, {}, ans.answer FROM theory_attempt_questions aq
         JOIN theory_questions q ON q.id = aq.question_id
         LEFT JOIN theory_answers ans ON ans.task_id = aq.task_id
             AND ans.person_id = aq.person_id AND ans.question_id = aq.question_id
         WHERE aq.task_id = $1",
        super::bank::QUESTION_COLUMNS
    );
    let drawn: Vec<DrawnRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_all(&mut **tx)
        .await?;
    let mut scored = Vec::with_capacity(drawn.len());
    for row in drawn {
        let answer: Option<Answer> = row
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok());
        let question = row.question.into_question()?;
        let points = score(&question, answer.as_ref());
        scored.push((
            row.person_id,
            question.points * 100,
            points,
            answer.is_some(),
        ));
    }

    let mut results = Vec::new();
    for row in attempts {
        let attempt = Attempt {
            started_at: row.started_at,
            finished_at: row.finished_at,
            closed_at: row.closed_at,
        };
        let deadline = task.deadline(row.first_opened_at.or(Some(attempt.started_at)));
        let closed_at = close_if_expired(tx, id, &row.person_id, &attempt, deadline, now).await?;
        let mine = scored.iter().filter(|(p, ..)| *p == row.person_id);
        let (mut total, mut max, mut answered, mut questions) = (0, 0, 0, 0);
        for (_, full, points, has_answer) in mine {
            total += points;
            max += full;
            answered += i64::from(*has_answer);
            questions += 1;
        }
        results.push(TheoryResult {
            application_number: application_number(tx, &row.person_id).await?,
            identity: newest_check(tx, id, &row.person_id)
                .await?
                .map(|c| c.status),
            person_id: row.person_id,
            full_name: row.full_name,
            source: ResultSource::Platform,
            score: total as f64 / 100.0,
            max_score: max as f64 / 100.0,
            answered: Some(answered),
            questions: Some(questions),
            started_at: Some(attempt.started_at),
            closed_at,
            imported_at: None,
        });
    }

    let imported: Vec<ImportedRow> = sqlx::query_as(
        "SELECT r.person_id, p.full_name, r.score_hundredths, r.max_score_hundredths,
         r.imported_at FROM theory_imported_results r JOIN people p ON p.id = r.person_id
         WHERE r.task_id = $1",
    )
    .bind(id.clone())
    .fetch_all(&mut **tx)
    .await?;
    for row in imported {
        results.push(TheoryResult {
            application_number: application_number(tx, &row.person_id).await?,
            identity: None,
            person_id: row.person_id,
            full_name: row.full_name,
            source: ResultSource::Imported,
            score: row.score_hundredths as f64 / 100.0,
            max_score: row.max_score_hundredths as f64 / 100.0,
            answered: None,
            questions: None,
            started_at: None,
            closed_at: None,
            imported_at: Some(row.imported_at),
        });
    }
    results.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.full_name.cmp(&b.full_name))
            .then_with(|| a.person_id.cmp(&b.person_id))
    });
    Ok(results)
}

/// Returns the registration number of the participant's accepted application, if any.
pub(crate) async fn application_number(
    tx: &mut Transaction<'static, Any>,
    person: &PersonId,
) -> Result<Option<String>, Error> {
    let row: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT number FROM applications WHERE person_id = $1 AND number IS NOT NULL
         ORDER BY number LIMIT 1",
    )
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|(number,)| number))
}

/// Formats results as CSV with a byte order mark, `;` between fields and a header row.
fn results_csv(results: &[TheoryResult]) -> String {
    let mut out = String::from(
        "\u{FEFF}person_id;application_number;full_name;source;score;max_score;answered;\
         questions;started_at;closed_at;imported_at;identity\r\n",
    );
    let optional = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    for r in results {
        let fields = [
            r.person_id.to_string(),
            r.application_number.clone().unwrap_or_default(),
            r.full_name.clone(),
            r.source.as_str().to_owned(),
            format!("{:.2}", r.score),
            format!("{:.2}", r.max_score),
            optional(r.answered),
            optional(r.questions),
            optional(r.started_at),
            optional(r.closed_at),
            optional(r.imported_at),
            r.identity
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(";"));
        out.push_str("\r\n");
    }
    out
}
