//! Results of a theory test taken on an external exam platform, imported from CSV: a header
//! row `participant;score;max_score` (or with `,` between fields) and one row per
//! participant, named by person id or application number. The import checks every row
//! and stores all of them or none.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::select_theory_test;
use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{PersonId, TaskId};

/// Rows in one results file.
const MAX_RESULT_ROWS: usize = 10_000;
/// Largest score or maximum score accepted, in points.
const MAX_POINTS_TOTAL: i64 = 1_000_000;

/// The reply to an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedResults {
    /// Results stored; a participant's earlier imported result is replaced.
    pub imported: usize,
}

/// One parsed row.
#[derive(Debug)]
struct Row {
    line: u64,
    participant: String,
    score: i64,
    max_score: i64,
}

impl Database {
    /// Imports the results of a theory test from CSV, all rows or none.
    pub async fn import_theory_results(
        &self,
        actor: &Actor,
        id: &TaskId,
        content: &[u8],
        now: i64,
    ) -> Result<ImportedResults, Error> {
        actor.check(Action::ManageTheory)?;
        let rows = parse_results(content).map_err(Error::Invalid)?;
        let mut tx = self.begin().await?;
        let test = select_theory_test(&mut tx, id).await?;

        let mut problems = Vec::new();
        let mut resolved: Vec<(PersonId, &Row)> = Vec::new();
        for row in &rows {
            match resolve(
                &mut tx,
                id,
                &test.task.stage_part_id,
                &test.nomination_id,
                row,
            )
            .await?
            {
                Ok(person) if resolved.iter().any(|(p, _)| *p == person) => {
                    problems.push(problem(
                        row.line,
                        "participant",
                        "appears twice in the file",
                    ));
                }
                Ok(person) => resolved.push((person, row)),
                Err(message) => problems.push(problem(row.line, "participant", &message)),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }

        for (person, row) in &resolved {
            sqlx::query(
                "INSERT INTO theory_imported_results (task_id, person_id, score_hundredths,
                 max_score_hundredths, imported_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (task_id, person_id) DO UPDATE SET
                 score_hundredths = excluded.score_hundredths,
                 max_score_hundredths = excluded.max_score_hundredths,
                 imported_at = excluded.imported_at",
            )
            .bind(id.clone())
            .bind(person.clone())
            .bind(row.score)
            .bind(row.max_score)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let detail = format!("count={}", resolved.len());
        record(
            &mut tx,
            actor,
            "theory.import_results",
            "task",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(ImportedResults {
            imported: resolved.len(),
        })
    }
}

/// Finds the participant a row names, or returns why it cannot be taken.
async fn resolve(
    tx: &mut Transaction<'static, Any>,
    task: &TaskId,
    part: &crate::ids::StagePartId,
    nomination: &crate::ids::NominationId,
    row: &Row,
) -> Result<Result<PersonId, String>, Error> {
    let person: Option<PersonId> = match row.participant.parse::<PersonId>() {
        Ok(id) => {
            sqlx::query_as::<_, (PersonId,)>("SELECT id FROM people WHERE id = $1 AND role = $2")
                .bind(id)
                .bind(Role::Participant)
                .fetch_optional(&mut **tx)
                .await?
                .map(|(id,)| id)
        }
        // Numbers are unique per stage only, so the test's nomination narrows them.
        Err(_) => sqlx::query_as::<_, (PersonId,)>(
            "SELECT person_id FROM applications WHERE number = $1 AND nomination_id = $2
             AND status = 'accepted' AND person_id IS NOT NULL",
        )
        .bind(&row.participant)
        .bind(nomination.clone())
        .fetch_optional(&mut **tx)
        .await?
        .map(|(id,)| id),
    };
    let Some(person) = person else {
        let message = format!(
            "{:?} is neither the id of a participant nor the number of an accepted application \
             to this nomination",
            row.participant
        );
        return Ok(Err(message));
    };
    let (eligible,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM rooms r JOIN room_assignments a ON a.room_id = r.id
                 WHERE r.stage_part_id = $1 AND a.person_id = $3)
              + (SELECT COUNT(*) FROM applications
                 WHERE nomination_id = $2 AND person_id = $3 AND status = 'accepted')",
    )
    .bind(part.clone())
    .bind(nomination.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    if eligible == 0 {
        let message = format!(
            "{:?} takes no part in this test's nomination",
            row.participant
        );
        return Ok(Err(message));
    }
    let (attempts,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM theory_attempts WHERE task_id = $1 AND person_id = $2",
    )
    .bind(task.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    if attempts > 0 {
        let message = format!(
            "{:?} took this test here; that result stays",
            row.participant
        );
        return Ok(Err(message));
    }
    Ok(Ok(person))
}

/// Builds a problem of one line of a results file. Its message is in English only.
fn problem(line: u64, field: &str, message: &str) -> FieldError {
    FieldError::new(&format!("line {line}: {field}"), "invalid_file", message)
}

/// Parses a results file, or returns every problem found.
fn parse_results(content: &[u8]) -> Result<Vec<Row>, Vec<FieldError>> {
    let file_problem = |message: &str| vec![FieldError::new("file", "invalid_file", message)];
    let Ok(text) = std::str::from_utf8(content) else {
        return Err(file_problem("must be UTF-8 text"));
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let names: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|h| h.trim().to_lowercase()).collect(),
        Err(error) => return Err(file_problem(&format!("is not valid CSV: {error}"))),
    };
    if names != ["participant", "score", "max_score"] {
        let message = format!(
            "must be participant;score;max_score; found {}",
            names.join(";")
        );
        return Err(vec![problem(1, "header", &message)]);
    }

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                problems.push(problem(line, "row", &format!("is not valid CSV: {error}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let participant = record.get(0).unwrap_or("").trim().to_owned();
        if participant.is_empty() {
            problems.push(problem(line, "participant", "must not be empty"));
        }
        let score = parse_points(record.get(1).unwrap_or(""), delimiter);
        let max_score = parse_points(record.get(2).unwrap_or(""), delimiter);
        match (score, max_score) {
            (Ok(_), Ok(0)) => {
                problems.push(problem(line, "max_score", "must be above 0"));
            }
            (Ok(score), Ok(max_score)) if score > max_score => {
                problems.push(problem(line, "score", "must not exceed max_score"));
            }
            (Ok(score), Ok(max_score)) => rows.push(Row {
                line,
                participant,
                score,
                max_score,
            }),
            (score, max_score) => {
                for (field, result) in [("score", score), ("max_score", max_score)] {
                    if let Err(message) = result {
                        problems.push(problem(line, field, &message));
                    }
                }
            }
        }
    }
    if rows.len() + problems.len() > MAX_RESULT_ROWS {
        return Err(file_problem(&format!(
            "must have at most {MAX_RESULT_ROWS} rows"
        )));
    }
    if !problems.is_empty() {
        problems.truncate(100);
        return Err(problems);
    }
    if rows.is_empty() {
        return Err(file_problem("holds no results"));
    }
    Ok(rows)
}

/// Parses points such as `12`, `12.5` or `12,75` (the comma only when fields are separated
/// by `;`) into hundredths.
fn parse_points(value: &str, delimiter: u8) -> Result<i64, String> {
    let value = value.trim();
    let invalid = || format!("{value:?} is not a number of points such as 12 or 12.5");
    let separators: &[char] = if delimiter == b';' {
        &['.', ',']
    } else {
        &['.']
    };
    let (whole, fraction) = match value.split_once(separators) {
        Some((whole, fraction)) => (whole, fraction),
        None => (value, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 2 {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    if whole > MAX_POINTS_TOTAL {
        return Err(format!("must be at most {MAX_POINTS_TOTAL}"));
    }
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    Ok(whole * 100 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_to_hundredths() {
        assert_eq!(parse_points("12", b';'), Ok(1200));
        assert_eq!(parse_points("12.5", b','), Ok(1250));
        assert_eq!(parse_points("12,75", b';'), Ok(1275));
        assert!(parse_points("12,75", b',').is_err());
        assert!(parse_points("-1", b';').is_err());
        assert!(parse_points("1.234", b';').is_err());
        assert!(parse_points("", b';').is_err());
    }

    #[test]
    fn results_file_problems_name_lines() {
        let file = "participant;score;max_score\nЛПП-2027-0001;10;20\nЛПП-2027-0002;30;20\n;x;20\n";
        let problems = parse_results(file.as_bytes()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["line 3: score", "line 4: participant", "line 4: score"]
        );
    }
}
