//! The CSV and JSON files of a question bank; `docs/theory.md` describes both with
//! examples.
//!
//! CSV: UTF-8, an optional byte order mark, `;` between fields, a header row
//! `kind;text;points;options;correct;accepted`, and `|` between the entries of a list.
//! JSON: `{"questions": [NewQuestion, ...]}`. Parsing checks every question and reports each
//! problem with its line, so one reply lists everything to fix. A problem of one line is
//! named `questions`, with the line and the column or JSON path in its `line` and `field`
//! parameters. A problem of the whole file is named `file`.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::bank::{check_question, NewQuestion, QuestionKind};
use crate::audit::csv_field;
use crate::error::FieldError;

/// Columns of a bank's CSV file, in order.
pub const CSV_COLUMNS: [&str; 6] = ["kind", "text", "points", "options", "correct", "accepted"];
/// Maximum problems listed in one reply; the rest are counted in a last entry.
const MAX_PROBLEMS: usize = 100;
/// The field that names a problem of one line of a bank file.
const LINE_FIELD: &str = "questions";

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
        return Err(vec![FieldError::new(
            "file",
            "not_utf8",
            "must be UTF-8 text",
        )]);
    };
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let parsed = match format {
        BankFormat::Csv => parse_csv(text),
        BankFormat::Json => parse_json(text),
    };
    match parsed {
        Ok(questions) if questions.is_empty() => Err(vec![FieldError::new(
            "file",
            "no_questions",
            "holds no questions",
        )]),
        Ok(questions) => Ok(questions),
        Err(mut problems) => {
            if problems.len() > MAX_PROBLEMS {
                let more = problems.len() - MAX_PROBLEMS;
                problems.truncate(MAX_PROBLEMS);
                let message = format!("and {more} more problems");
                let rest = FieldError::new("file", "more_problems", message).with("count", more);
                problems.push(rest);
            }
            Err(problems)
        }
    }
}

/// Builds a problem of `field` on line `line` of the file.
fn line_problem(line: u64, field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message).on_line(LINE_FIELD, line)
}

fn parse_csv(text: &str) -> Result<Vec<NewQuestion>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| vec![csv_problem(&e)])?;
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if names != CSV_COLUMNS {
        let problem = header_problem(LINE_FIELD, "the header must be", &CSV_COLUMNS, &names);
        return Err(vec![problem]);
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
        match csv_question(&record, line) {
            Ok(new) => match check_question(&new) {
                Ok(question) => questions.push(question),
                Err(found) => {
                    problems.extend(found.into_iter().map(|p| p.on_line(LINE_FIELD, line)));
                }
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

/// Builds the `invalid_header` problem of a CSV file whose header row has the columns
/// `found` in place of `expected`. Its English message starts with `lead`.
pub(super) fn header_problem(
    line_field: &str,
    lead: &str,
    expected: &[&str],
    found: &[String],
) -> FieldError {
    let expected = expected.join(";");
    let found = found.join(";");
    let message = format!("{lead} {expected}; found {found}");
    FieldError::new("header", "invalid_header", message)
        .on_line(line_field, 1)
        .with("expected", expected)
        .with("found", found)
}

/// Builds the problem of a row that the CSV reader rejected, named `file` when the reader
/// gives no line.
fn csv_problem(error: &csv::Error) -> FieldError {
    let problem = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            let message =
                format!("has {len} fields; every row needs {expected_len}, separated by ;");
            FieldError::new("row", "wrong_field_count", message)
                .with("count", len)
                .with("expected", expected_len)
        }
        csv::ErrorKind::Utf8 { .. } => FieldError::new("row", "not_utf8", "must be UTF-8 text"),
        _ => FieldError::new("row", "invalid_csv", format!("is not valid CSV: {error}")),
    };
    match error.position() {
        Some(position) => problem.on_line(LINE_FIELD, position.line()),
        None => FieldError {
            field: "file".into(),
            ..problem
        },
    }
}

/// Reads one CSV row into a question, before the question's own checks.
fn csv_question(record: &csv::StringRecord, line: u64) -> Result<NewQuestion, Vec<FieldError>> {
    let field = |i: usize| record.get(i).unwrap_or("").trim();
    let mut problems = Vec::new();
    let kind = QuestionKind::parse(&field(0).to_lowercase());
    if kind.is_none() {
        let message = "must be single, multiple or short";
        problems.push(line_problem(line, "kind", "invalid_question_kind", message));
    }
    let points = field(2).parse::<i64>();
    if points.is_err() {
        let message = "must be a whole number";
        problems.push(line_problem(line, "points", "not_a_number", message));
    }
    let mut correct = Vec::new();
    for number in split_list(field(4)) {
        match number.parse::<usize>() {
            Ok(number) => correct.push(number),
            Err(_) => {
                let message = format!("{number:?} is not an option number; write them as 1|3");
                let problem = line_problem(line, "correct", "invalid_option_number", message);
                problems.push(problem.with("value", number));
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
        let problem = FieldError::new("file", "not_a_bank_file", message)
            .with("line", error.line())
            .with("detail", error);
        vec![problem]
    })?;
    let mut questions = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in bank.questions.iter().enumerate() {
        // A borrowed RawValue is a slice of `text`, so its offset gives its line.
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let line = text[..offset].matches('\n').count() as u64 + 1;
        let path = format!("questions[{i}]");
        match serde_json::from_str::<NewQuestion>(raw.get()) {
            Ok(new) => match check_question(&new) {
                Ok(question) => questions.push(question),
                Err(found) => problems.extend(found.into_iter().map(|problem| {
                    let field = format!("{path}.{}", problem.field);
                    FieldError { field, ..problem }.on_line(LINE_FIELD, line)
                })),
            },
            Err(error) => {
                let problem = line_problem(line, &path, "invalid_question", error.to_string());
                problems.push(problem.with("detail", error));
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
    use crate::theory::bank::{MAX_OPTIONS, MAX_OPTION_CHARS};

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

    /// Returns each problem as `line field code`, after checking that it is named by the
    /// field of line problems.
    fn lines(problems: &[FieldError]) -> Vec<String> {
        let line = |p: &FieldError| {
            assert_eq!(p.field, LINE_FIELD, "{p:?}");
            format!("{} {} {}", p.params["line"], p.params["field"], p.code)
        };
        problems.iter().map(line).collect()
    }

    #[test]
    fn csv_problems_name_lines() {
        let bad = "kind;text;points;options;correct;accepted\n\
            single;Вопрос;1;А|Б;1;\n\
            single;Вопрос;x;А|Б;1;\n\
            multiple;Вопрос;1;А|Б;3;\n\
            short;Вопрос;1\n\
            essay;Вопрос;1;А|Б;1|x;\n";
        let problems = parse_bank(BankFormat::Csv, bad.as_bytes()).unwrap_err();
        assert_eq!(
            lines(&problems),
            [
                "3 points not_a_number",
                "4 correct no_such_option",
                "5 row wrong_field_count",
                "6 kind invalid_question_kind",
                "6 correct invalid_option_number",
            ]
        );
        assert_eq!(problems[2].params["count"], "3");
        assert_eq!(problems[2].params["expected"], "6");
        assert_eq!(problems[4].params["value"], "x");
        assert_eq!(problems[0].message, "must be a whole number");
    }

    #[test]
    fn json_problems_name_lines() {
        let bad = "{\"questions\": [\n\
            {\"kind\": \"single\", \"text\": \"a\", \"options\": [\"x\", \"y\"], \"correct\": [1], \"points\": 1},\n\
            {\"kind\": \"single\", \"text\": \"a\", \"options\": [\"x\"], \"correct\": [1], \"points\": 1},\n\
            {\"kind\": \"essay\", \"text\": \"a\", \"points\": 1}\n]}";
        let problems = parse_bank(BankFormat::Json, bad.as_bytes()).unwrap_err();
        assert_eq!(
            lines(&problems),
            [
                "3 questions[1].options out_of_range",
                "4 questions[2] invalid_question"
            ]
        );
        assert_eq!(problems[0].params["min"], "2");
        assert_eq!(problems[0].params["max"], MAX_OPTIONS.to_string());
        assert!(problems[1].params["detail"].contains("essay"));

        let broken = parse_bank(BankFormat::Json, b"{\"questions\": [\n}").unwrap_err();
        assert_eq!(broken[0].field, "file");
        assert_eq!(broken[0].code, "not_a_bank_file");
        assert_eq!(broken[0].params["line"], "2");
    }

    #[test]
    fn long_entries_name_number_and_limit() {
        let long = "я".repeat(MAX_OPTION_CHARS + 1);
        let bad =
            format!("kind;text;points;options;correct;accepted\nsingle;Вопрос;1;А|{long};1;\n");
        let problems = parse_bank(BankFormat::Csv, bad.as_bytes()).unwrap_err();
        assert_eq!(lines(&problems), ["2 options too_long"]);
        assert_eq!(problems[0].params["entry"], "2");
        assert_eq!(problems[0].params["max"], MAX_OPTION_CHARS.to_string());
    }

    #[test]
    fn wrong_header_and_empty_file_are_rejected() {
        let problems = parse_bank(BankFormat::Csv, b"kind;text\nsingle;a\n").unwrap_err();
        assert_eq!(lines(&problems), ["1 header invalid_header"]);
        assert_eq!(problems[0].params["found"], "kind;text");
        assert_eq!(problems[0].params["expected"], CSV_COLUMNS.join(";"));
        let problems = parse_bank(BankFormat::Csv, CSV.lines().next().unwrap().as_bytes());
        let problems = problems.unwrap_err();
        assert_eq!(problems[0].field, "file");
        assert_eq!(problems[0].code, "no_questions");
        let problems = parse_bank(BankFormat::Json, b"\xff\xfe").unwrap_err();
        assert_eq!(problems[0].field, "file");
        assert_eq!(problems[0].code, "not_utf8");
    }

    #[test]
    fn problems_beyond_limit_are_counted() {
        let mut bad = String::from("kind;text;points;options;correct;accepted\n");
        for _ in 0..MAX_PROBLEMS + 5 {
            bad.push_str("single;Вопрос;x;А|Б;1;\n");
        }
        let problems = parse_bank(BankFormat::Csv, bad.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), MAX_PROBLEMS + 1);
        let last = problems.last().unwrap();
        assert_eq!(last.code, "more_problems");
        assert_eq!(last.params["count"], "5");
    }
}
