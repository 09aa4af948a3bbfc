//! Printed assessment sheets, summary sheets and protocols, as PDF.
//!
//! The summary sheet and both protocols print from the same JSON: a protocol prints the
//! summary stored in its canonical content, so the paper shows exactly what was approved.

use profstage_contest::scoring::arithmetic::format_points;
use profstage_contest::scoring::{SheetView, Summary};
use profstage_contest::{CriterionKind, Protocol, ProtocolKind};
use serde_json::Value;

use crate::pdf::{Document, PdfError};

/// Formats Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(unix_ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix_ms.to_string(),
    }
}

/// Formats hundredths of a point, or a dash with a note when the score is missing.
fn score(value: &Value) -> String {
    value
        .as_i64()
        .map(format_points)
        .unwrap_or_else(|| "— нет оценки".to_owned())
}

/// Prints one expert's assessment sheet.
pub fn sheet_pdf(font: &[u8], view: &SheetView) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::new(font, "Оценочный лист")?;
    doc.heading("Оценочный лист");
    doc.paragraph(&format!("Участник: {}", view.participant_name));
    doc.paragraph(&format!("Эксперт: {}", view.expert_name));
    doc.paragraph(&format!("Часть этапа: {}", view.part_title));
    let status = match view.sheet.locked_at {
        Some(at) => format!("Статус: заблокирован {}", utc(at)),
        None => "Статус: не заблокирован, оценки могут измениться".to_owned(),
    };
    doc.paragraph(&status);
    doc.rule();
    let columns = [0.0, 24.0, 330.0, 400.0];
    doc.row(&columns, &["№", "Критерий", "Максимум", "Оценка"]);
    let mut total = 0;
    let mut missing = 0;
    for criterion in &view.criteria {
        let mark = view
            .sheet
            .marks
            .iter()
            .find(|m| m.criterion_id == criterion.id);
        let shown = match (mark, criterion.kind) {
            (None, _) => {
                missing += 1;
                "— нет оценки".to_owned()
            }
            (Some(m), CriterionKind::YesNo) => {
                total += m.points;
                let word = if m.points > 0 { "да" } else { "нет" };
                format!("{word} ({})", m.points)
            }
            (Some(m), CriterionKind::Points) => {
                total += m.points;
                m.points.to_string()
            }
        };
        let max = criterion.max_points.to_string();
        let position = criterion.position.to_string();
        doc.row(&columns, &[&position, &criterion.name, &max, &shown]);
    }
    doc.rule();
    let maximum: i64 = view.criteria.iter().map(|c| c.max_points).sum();
    let mut line = format!("Итого: {total} из {maximum}");
    if missing > 0 {
        line.push_str(&format!(" (без оценки: {missing})"));
    }
    doc.paragraph(&line);
    if !view.sheet.comment.is_empty() {
        doc.space();
        doc.paragraph(&format!("Комментарий: {}", view.sheet.comment));
    }
    doc.finish()
}

/// Prints a summary sheet computed now.
pub fn summary_pdf(font: &[u8], summary: &Summary) -> Result<Vec<u8>, PdfError> {
    let value = serde_json::to_value(summary).unwrap_or(Value::Null);
    let mut doc = Document::new(font, "Сводная ведомость")?;
    doc.heading("Сводная ведомость");
    write_summary(&mut doc, &value);
    doc.finish()
}

/// Prints a protocol from its stored content, with its approvals and content hash.
pub fn protocol_pdf(font: &[u8], protocol: &Protocol) -> Result<Vec<u8>, PdfError> {
    let title = match protocol.kind {
        ProtocolKind::ExpertGroup => "Протокол экспертной группы",
        ProtocolKind::Commission => "Протокол региональной комиссии",
    };
    let content: Value = serde_json::from_str(&protocol.content).unwrap_or(Value::Null);
    let mut doc = Document::new(font, title)?;
    doc.heading(title);
    doc.paragraph(&format!("Сформирован: {}", utc(protocol.generated_at)));
    if let Some(hash) = content["expert_group_protocol_hash"].as_str() {
        doc.paragraph(&format!("SHA-256 протокола экспертной группы: {hash}"));
    }
    write_summary(&mut doc, &content["summary"]);

    doc.space();
    doc.heading("Подтверждения");
    let columns = [0.0, 200.0, 330.0];
    doc.row(&columns, &["Кто", "Когда", "Сессия"]);
    for approval in &protocol.approvals {
        let when = approval
            .approved_at
            .map(utc)
            .unwrap_or_else(|| "не подтверждено".to_owned());
        let session = approval
            .session_id
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        doc.row(&columns, &[&approval.full_name, &when, &session]);
    }
    if !protocol.current {
        doc.paragraph("Внимание: оценки изменились после формирования протокола.");
    }
    doc.space();
    doc.paragraph(&format!("SHA-256 содержания: {}", protocol.content_hash));
    doc.finish()
}

/// Writes the heading facts, the ranking and each part's aggregated marks of a summary
/// given as JSON.
fn write_summary(doc: &mut Document<'_>, summary: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    doc.paragraph(&format!("Профессия: {}", text(&summary["profession"])));
    doc.paragraph(&format!("Регион: {}", text(&summary["region"])));
    doc.paragraph(&format!(
        "Экспертная группа: {}",
        text(&summary["group_name"])
    ));
    let experts: Vec<String> = summary["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let chair = if m["chair"].as_bool() == Some(true) {
                " (председатель)"
            } else {
                ""
            };
            format!("{}{chair}", text(&m["full_name"]))
        })
        .collect();
    doc.paragraph(&format!("Эксперты: {}", experts.join(", ")));
    let rule = match summary["aggregation"].as_str() {
        Some("median") => "медиана",
        Some("trimmed_mean") => "среднее без высшей и низшей оценки",
        _ => "среднее арифметическое",
    };
    let weights = &summary["weights"];
    doc.paragraph(&format!(
        "Правило: {rule}; вес теории {}%, вес практики {}%",
        weights["theory"], weights["practice"]
    ));
    doc.paragraph(&format!(
        "Заблокировано листов: {} из {}",
        summary["locked_sheets"], summary["expected_sheets"]
    ));
    doc.rule();

    let parts = summary["parts"].as_array().cloned().unwrap_or_default();
    let rows = summary["rows"].as_array().cloned().unwrap_or_default();
    let mut columns = vec![0.0, 40.0];
    let mut header = vec!["Место".to_owned(), "Участник".to_owned()];
    let part_width = 300.0 / parts.len().max(1) as f32;
    for (index, part) in parts.iter().enumerate() {
        columns.push(200.0 + part_width * index as f32);
        header.push(text(&part["title"]));
    }
    columns.push(440.0);
    header.push("Итого".to_owned());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    doc.row(&columns, &header);
    for row in &rows {
        let place = match (row["rank"].as_i64(), row["tied"].as_bool()) {
            (Some(rank), Some(true)) => format!("{rank} (равенство)"),
            (Some(rank), _) => rank.to_string(),
            (None, _) => "—".to_owned(),
        };
        let mut cells = vec![place, text(&row["full_name"])];
        for part in row["parts"].as_array().into_iter().flatten() {
            cells.push(score(&part["total"]));
        }
        cells.push(score(&row["total"]));
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        doc.row(&columns, &cells);
    }

    for (index, part) in parts.iter().enumerate() {
        doc.space();
        doc.heading(&format!("{}: оценки по критериям", text(&part["title"])));
        let criteria = part["criteria"].as_array().cloned().unwrap_or_default();
        for row in &rows {
            let scores = &row["parts"][index];
            doc.paragraph(&format!(
                "{} (листов заблокировано: {} из {})",
                text(&row["full_name"]),
                scores["locked_sheets"],
                scores["expected_sheets"]
            ));
            let columns = [16.0, 330.0];
            for (position, criterion) in criteria.iter().enumerate() {
                let mark = score(&scores["criteria"][position]);
                let max = criterion["max_points"].as_i64().unwrap_or(0);
                let name = text(&criterion["name"]);
                doc.row(&columns, &[&name, &format!("{mark} из {max}")]);
            }
            doc.row(&columns, &["Итого по части", &score(&scores["total"])]);
        }
    }
}
