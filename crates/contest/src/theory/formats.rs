//! The CSV and JSON files of a question bank; `docs/theory.md` describes both with
//! examples.
//!
//! CSV: UTF-8, an optional byte order mark, `;` between fields, a header row
//! `kind;text;points;options;correct;accepted`, and `|` between the entries of a list.
//! JSON: `{"questions": [NewQuestion, ...]}`. Parsing checks every question and reports each
//! problem with its line, so one reply lists everything to fix.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::bank::{check_question, NewQuestion, QuestionKind};
use crate::audit::csv_field;
use crate::error::FieldError;

/// Columns of a bank's CSV file, in order.
pub const CSV_COLUMNS: [&str; 6] = ["kind", "text", "points", "options", "correct", "accepted"];
/// Maximum problems listed in one reply; the rest are counted in a last entry.
const MAX_PROBLEMS: usize = 100;

/// A file format of the question bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BankFormat {
    /// `;`-separated values with a header row.
    Csv,
    /// `{"questions": [...]}`.
    Json,
}

/// Parses a bank file into checked questions, or returns every problem found.
pub fn parse_bank(format: BankFormat, content: &[u8]) -> Result<Vec<NewQuestion>, Vec<FieldError>> {
    let Ok(text) = std::str::from_utf8(content) else {
        return Err(vec![problem(None, "file", "must be UTF-8 text")]);
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let parsed = match format {
        BankFormat::Csv => parse_csv(text),
        BankFormat::Json => parse_json(text),
    };
    match parsed {
        Ok(questions) if questions.is_empty() => {
            Err(vec![problem(None, "file", "holds no questions")])
        }
        Ok(questions) => Ok(questions),
        Err(mut problems) => {
            if problems.len() > MAX_PROBLEMS {
                let more = problems.len() - MAX_PROBLEMS;
                problems.truncate(MAX_PROBLEMS);
                problems.push(problem(None, "file", &format!("and {more} more problems")));
            }
            Err(problems)
        }
    }
}

/// Builds a problem named `line N: field`, or `field` when no line applies. Its message
/// is in English only.
fn problem(line: Option<u64>, field: &str, message: &str) -> FieldError {
    let field = match line {
        Some(line) => format!("line {line}: {field}"),
        None => field.to_owned(),
    };
    FieldError::new(&field, "invalid_file", message)
}

fn parse_csv(text: &str) -> Result<Vec<NewQuestion>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| vec![csv_problem(&e)])?;
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if names != CSV_COLUMNS {
        let message = format!(
            "the header must be {}; found {}",
            CSV_COLUMNS.join(";"),
            names.join(";")
        );
        return Err(vec![problem(Some(1), "header", &message)]);
    }

    let mut questions = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(csv_problem(&error));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let prefix = format!("line {line}: ");
        match csv_question(&record, line) {
            Ok(new) => match check_question(&new, &prefix) {
                Ok(question) => questions.push(question),
                Err(found) => problems.extend(found),
            },
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(questions)
    } else {
        Err(problems)
    }
}

fn csv_problem(error: &csv::Error) -> FieldError {
    let line = error.position().map(|p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("has {len} fields; every row needs {expected_len}, separated by ;")
        }
        csv::ErrorKind::Utf8 { .. } => "must be UTF-8 text".to_owned(),
        _ => format!("is not valid CSV: {error}"),
    };
    problem(line, "row", &message)
}

/// Reads one CSV row into a question, before the question's own checks.
fn csv_question(record: &csv::StringRecord, line: u64) -> Result<NewQuestion, Vec<FieldError>> {
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let mut problems = Vec::new();
    let kind = QuestionKind::parse(&field(0).to_lowercase());
    if kind.is_none() {
        problems.push(problem(
            Some(line),
            "kind",
            "must be single, multiple or short",
        ));
    }
    let points = field(2).parse::<i64>();
    if points.is_err() {
        problems.push(problem(Some(line), "points", "must be a whole number"));
    }
    let mut correct = Vec::new();
    for number in split_list(field(4)) {
        match number.parse::<usize>() {
            Ok(number) => correct.push(number),
            Err(_) => {
                let message = format!("{number:?} is not an option number; write them as 1|3");
                problems.push(problem(Some(line), "correct", &message));
            }
        }
    }
    match (kind, points) {
        (Some(kind), Ok(points)) if problems.is_empty() => Ok(NewQuestion {
            kind,
            text: undo_formula_guard(field(1)),
            options: split_list(field(3)).map(undo_formula_guard).collect(),
            correct,
            accepted: split_list(field(5)).map(undo_formula_guard).collect(),
            points,
        }),
        _ => Err(problems),
    }
}

fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split('|').map(str::trim).filter(|e| !e.is_empty())
}

/// Drops the `'` that the export puts before a leading `= + - @`, so that an exported
/// file imports as it was.
fn undo_formula_guard(value: &str) -> String {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
        _ => value.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBank<'a> {
    #[serde(borrow)]
    questions: Vec<&'a RawValue>,
}

fn parse_json(text: &str) -> Result<Vec<NewQuestion>, Vec<FieldError>> {
    let bank: JsonBank = serde_json::from_str(text).map_err(|error| {
        let message = format!("is not a bank file: {error}");
        vec![problem(Some(error.line() as u64), "file", &message)]
    })?;
    let mut questions = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in bank.questions.iter().enumerate() {
        // A borrowed RawValue is a slice of `text`, so its offset gives its line.
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let line = text[..offset].matches('\n').count() as u64 + 1;
        let prefix = format!("line {line}: questions[{i}].");
        match serde_json::from_str::<NewQuestion>(raw.get()) {
            Ok(new) => match check_question(&new, &prefix) {
                Ok(question) => questions.push(question),
                Err(found) => problems.extend(found),
            },
            Err(error) => {
                let field = format!("questions[{i}]");
                problems.push(problem(Some(line), &field, &error.to_string()));
            }
        }
    }
    if problems.is_empty() {
        Ok(questions)
    } else {
        Err(problems)
    }
}

/// Writes questions as a CSV file: a byte order mark, the header and one row each. A field
/// that starts with `= + - @` gets a leading `'`, so that a spreadsheet runs no formula;
/// the import drops it again.
pub fn write_csv(questions: &[NewQuestion]) -> String {
    let mut out = String::from("\u{FEFF}");
    out.push_str(&CSV_COLUMNS.join(";"));
    out.push_str("\r\n");
    for q in questions {
        let correct: Vec<String> = q.correct.iter().map(usize::to_string).collect();
        let fields = [
            q.kind.as_str(),
            &q.text,
            &q.points.to_string(),
            &q.options.join("|"),
            &correct.join("|"),
            &q.accepted.join("|"),
        ];
        let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// Writes questions as a JSON bank file.
pub fn write_json(questions: &[NewQuestion]) -> String {
    let bank = serde_json::json!({ "questions": questions });
    serde_json::to_string_pretty(&bank).expect("questions serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\u{FEFF}kind;text;points;options;correct;accepted\r\n\
        single;Какой газ защищает шов?;1;Аргон|Кислород|Азот;1;\r\n\
        multiple;\"Выберите; что нужно\";2;Маска|Перчатки|Сандалии;1|2;\r\n\
        short;Символ железа?;1;;;Fe|железо\r\n";

    #[test]
    fn csv_round_trips() {
        let questions = parse_bank(BankFormat::Csv, CSV.as_bytes()).unwrap();
        assert_eq!(questions.len(), 3);
        assert_eq!(questions[1].text, "Выберите; что нужно");
        assert_eq!(questions[1].correct, [1, 2]);
        assert_eq!(questions[2].accepted, ["Fe", "железо"]);
        let written = write_csv(&questions);
        assert_eq!(
            parse_bank(BankFormat::Csv, written.as_bytes()).unwrap(),
            questions
        );
    }

    #[test]
    fn formula_texts_round_trip() {
        let mut questions = parse_bank(BankFormat::Csv, CSV.as_bytes()).unwrap();
        questions[0].text = "=1+1; сколько?".into();
        questions[0].options[0] = "-5 °C".into();
        let written = write_csv(&questions);
        assert!(written.contains("\"'=1+1; сколько?\""), "{written}");
        assert_eq!(
            parse_bank(BankFormat::Csv, written.as_bytes()).unwrap(),
            questions
        );
    }

    #[test]
    fn json_round_trips() {
        let questions = parse_bank(BankFormat::Csv, CSV.as_bytes()).unwrap();
        let written = write_json(&questions);
        assert_eq!(
            parse_bank(BankFormat::Json, written.as_bytes()).unwrap(),
            questions
        );
    }

    #[test]
    fn csv_problems_name_lines() {
        let bad = "kind;text;points;options;correct;accepted\n\
            single;Вопрос;1;А|Б;1;\n\
            single;Вопрос;x;А|Б;1;\n\
            multiple;Вопрос;1;А|Б;3;\n\
            short;Вопрос;1\n";
        let problems = parse_bank(BankFormat::Csv, bad.as_bytes()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["line 3: points", "line 4: correct", "line 5: row"]);
    }

    #[test]
    fn json_problems_name_lines() {
        let bad = "{\"questions\": [\n\
            {\"kind\": \"single\", \"text\": \"a\", \"options\": [\"x\", \"y\"], \"correct\": [1], \"points\": 1},\n\
            {\"kind\": \"single\", \"text\": \"a\", \"options\": [\"x\"], \"correct\": [1], \"points\": 1},\n\
            {\"kind\": \"essay\", \"text\": \"a\", \"points\": 1}\n]}";
        let problems = parse_bank(BankFormat::Json, bad.as_bytes()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["line 3: questions[1].options", "line 4: questions[2]"]
        );
        let broken = parse_bank(BankFormat::Json, b"{\"questions\": [\n}").unwrap_err();
        assert_eq!(broken[0].field, "line 2: file");
    }

    #[test]
    fn wrong_header_and_empty_file_are_rejected() {
        let problems = parse_bank(BankFormat::Csv, b"kind;text\nsingle;a\n").unwrap_err();
        assert_eq!(problems[0].field, "line 1: header");
        let problems = parse_bank(BankFormat::Csv, CSV.lines().next().unwrap().as_bytes());
        assert_eq!(problems.unwrap_err()[0].field, "file");
        let problems = parse_bank(BankFormat::Json, b"\xff\xfe").unwrap_err();
        assert_eq!(problems[0].field, "file");
    }
}
