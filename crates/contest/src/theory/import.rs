//! Results of a theory test taken on an external exam platform, imported from CSV: a header
//! row `participant;score;max_score` (or with `,` between fields) and one row per
//! participant, named by person id or application number. The import checks every row
//! and stores all of them or none. A problem of one row is named `results`, with the line
//! and the column in its `line` and `field` parameters. A problem of the whole file is
//! named `file`.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::formats::header_problem;
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
/// The field that names a problem of one row of a results file.
const LINE_FIELD: &str = "results";
/// The columns of a results file, in order.
const COLUMNS: [&str; 3] = ["participant", "score", "max_score"];

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
                    let message = "appears twice in the file";
                    let problem = FieldError::new("participant", "repeated_participant", message);
                    problems.push(problem.on_line(LINE_FIELD, row.line));
                }
                Ok(person) => resolved.push((person, row)),
                Err(problem) => problems.push(problem.on_line(LINE_FIELD, row.line)),
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

/// Finds the participant a row names, or returns the problem of its `participant` column.
async fn resolve(
    tx: &mut Transaction<'static, Any>,
    task: &TaskId,
    part: &crate::ids::StagePartId,
    nomination: &crate::ids::NominationId,
    row: &Row,
) -> Result<Result<PersonId, FieldError>, Error> {
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
    let problem = |code: &str, message: String| {
        let problem = FieldError::new("participant", code, message);
        Ok(Err(problem.with("value", &row.participant)))
    };
    let Some(person) = person else {
        let message = format!(
            "{:?} is neither the id of a participant nor the number of an accepted application \
             to this nomination",
            row.participant
        );
        return problem("participant_not_found", message);
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
        return problem("not_in_nomination", message);
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
        return problem("test_taken_here", message);
    }
    Ok(Ok(person))
}

/// Builds a problem of `field` on line `line` of the file.
fn line_problem(line: u64, field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message).on_line(LINE_FIELD, line)
}

/// Parses a results file, or returns every problem found.
fn parse_results(content: &[u8]) -> Result<Vec<Row>, Vec<FieldError>> {
    let file_problem = |code: &str, message: &str| vec![FieldError::new("file", code, message)];
    let Ok(text) = std::str::from_utf8(content) else {
        return Err(file_problem("not_utf8", "must be UTF-8 text"));
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let names: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|h| h.trim().to_lowercase()).collect(),
        Err(error) => {
            let message = format!("is not valid CSV: {error}");
            return Err(file_problem("invalid_csv", &message));
        }
    };
    if names != COLUMNS {
        return Err(vec![header_problem(
            LINE_FIELD, "must be", &COLUMNS, &names,
        )]);
    }

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                let message = format!("is not valid CSV: {error}");
                problems.push(line_problem(line, "row", "invalid_csv", message));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let participant = record.get(0).unwrap_or("").trim().to_owned();
        if participant.is_empty() {
            problems.push(line_problem(
                line,
                "participant",
                "required",
                "must not be empty",
            ));
        }
        let score = parse_points("score", record.get(1).unwrap_or(""), delimiter);
        let max_score = parse_points("max_score", record.get(2).unwrap_or(""), delimiter);
        match (score, max_score) {
            (Ok(_), Ok(0)) => {
                let message = "must be above 0";
                problems.push(line_problem(line, "max_score", "not_positive", message));
            }
            (Ok(score), Ok(max_score)) if score > max_score => {
                let message = "must not exceed max_score";
                problems.push(line_problem(line, "score", "score_above_max", message));
            }
            (Ok(score), Ok(max_score)) => rows.push(Row {
                line,
                participant,
                score,
                max_score,
            }),
            (score, max_score) => {
                for result in [score, max_score] {
                    if let Err(problem) = result {
                        problems.push(problem.on_line(LINE_FIELD, line));
                    }
                }
            }
        }
    }
    if rows.len() + problems.len() > MAX_RESULT_ROWS {
        let message = format!("must have at most {MAX_RESULT_ROWS} rows");
        let problem = FieldError::new("file", "too_many_rows", message);
        return Err(vec![problem.with("max", MAX_RESULT_ROWS)]);
    }
    if !problems.is_empty() {
        problems.truncate(100);
        return Err(problems);
    }
    if rows.is_empty() {
        return Err(file_problem("no_results", "holds no results"));
    }
    Ok(rows)
}

/// Parses points such as `12`, `12.5` or `12,75` (the comma only when fields are separated
/// by `;`) into hundredths, or returns the problem of column `field`.
fn parse_points(field: &str, value: &str, delimiter: u8) -> Result<i64, FieldError> {
    let value = value.trim();
    let invalid = || {
        let message = format!("{value:?} is not a number of points such as 12 or 12.5");
        FieldError::new(field, "invalid_points", message).with("value", value)
    };
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
        let message = format!("must be at most {MAX_POINTS_TOTAL}");
        return Err(FieldError::out_of_range(
            field,
            0,
            MAX_POINTS_TOTAL,
            message,
        ));
    }
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    Ok(whole * 100 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_to_hundredths() {
        assert_eq!(parse_points("score", "12", b';'), Ok(1200));
        assert_eq!(parse_points("score", "12.5", b','), Ok(1250));
        assert_eq!(parse_points("score", "12,75", b';'), Ok(1275));
        for (value, delimiter) in [("12,75", b','), ("-1", b';'), ("1.234", b';'), ("", b';')] {
            let problem = parse_points("score", value, delimiter).unwrap_err();
            assert_eq!(problem.code, "invalid_points", "{value:?}");
            assert_eq!(problem.params["value"], value);
        }
        let problem = parse_points("max_score", "1000001", b';').unwrap_err();
        assert_eq!(problem.field, "max_score");
        assert_eq!(problem.code, "out_of_range");
        assert_eq!(problem.params["max"], MAX_POINTS_TOTAL.to_string());
    }

    #[test]
    fn results_file_problems_name_lines() {
        let file = "participant;score;max_score\nЛПП-2027-0001;10;20\nЛПП-2027-0002;30;20\n;x;20\n\
            ЛПП-2027-0003;1;0\n";
        let problems = parse_results(file.as_bytes()).unwrap_err();
        let places: Vec<String> = problems
            .iter()
            .map(|p| {
                assert_eq!(p.field, LINE_FIELD, "{p:?}");
                format!("{} {} {}", p.params["line"], p.params["field"], p.code)
            })
            .collect();
        assert_eq!(
            places,
            [
                "3 score score_above_max",
                "4 participant required",
                "4 score invalid_points",
                "5 max_score not_positive",
            ]
        );
        assert_eq!(problems[0].message, "must not exceed max_score");
    }

    #[test]
    fn results_file_problems_of_whole_file() {
        let header = parse_results(b"person;points\nx;1\n").unwrap_err();
        assert_eq!(header[0].field, LINE_FIELD);
        assert_eq!(header[0].code, "invalid_header");
        assert_eq!(header[0].params["found"], "person;points");
        let empty = parse_results(b"participant;score;max_score\n").unwrap_err();
        assert_eq!(
            (empty[0].field.as_str(), empty[0].code.as_str()),
            ("file", "no_results")
        );
        let binary = parse_results(b"\xff\xfe").unwrap_err();
        assert_eq!(
            (binary[0].field.as_str(), binary[0].code.as_str()),
            ("file", "not_utf8")
        );
    }
}
