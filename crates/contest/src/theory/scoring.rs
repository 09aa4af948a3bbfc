//! Automatic scoring of theory answers, in hundredths of a point.
//!
//! - Single choice: all points when the one selected option is the correct one, else 0.
//! - Multiple choice: `points × max(0, right − wrong) / correct`, rounded down to
//!   hundredths, where `right` counts the correct options selected, `wrong` the others
//!   selected, and `correct` the correct options. Selecting every option scores 0 unless
//!   every option is correct.
//! - Short answer: all points when the answer, normalised, equals one of the accepted
//!   answers, normalised; else 0. Normalising trims, lowercases and turns every run of
//!   white space into one space.

use serde::{Deserialize, Serialize};

use super::bank::{Question, QuestionKind};

/// A participant's answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The option numbers selected (1 is the first option as stored in the bank), for
    /// single and multiple choice.
    Selected(Vec<usize>),
    /// The typed answer, for short answer questions.
    Text(String),
}

/// Returns `text` trimmed and lowercased, with every run of white space turned into one space.
pub fn normalise(text: &str) -> String {
    let folded = text.to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Scores an answer, in hundredths of a point. No answer scores 0.
pub(crate) fn score(question: &Question, answer: Option<&Answer>) -> i64 {
    let full = question.points * 100;
    match (question.kind, answer) {
        (QuestionKind::Single, Some(Answer::Selected(selected)))
            if selected.len() == 1 && question.correct.contains(&selected[0]) =>
        {
            full
        }
        (QuestionKind::Multiple, Some(Answer::Selected(selected))) => {
            let right = selected
                .iter()
                .filter(|n| question.correct.contains(n))
                .count() as i64;
            let wrong = selected.len() as i64 - right;
            let correct = question.correct.len().max(1) as i64;
            full * (right - wrong).max(0) / correct
        }
        (QuestionKind::Short, Some(Answer::Text(text))) => {
            let given = normalise(text);
            let accepted = question.accepted.iter().any(|a| normalise(a) == given);
            if accepted && !given.is_empty() {
                full
            } else {
                0
            }
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{NominationId, QuestionId};

    fn question(kind: QuestionKind, correct: &[usize], accepted: &[&str]) -> Question {
        Question {
            id: QuestionId::generate(),
            nomination_id: NominationId::generate(),
            kind,
            text: "Вопрос".into(),
            options: if kind == QuestionKind::Short {
                vec![]
            } else {
                vec!["a".into(), "b".into(), "c".into(), "d".into()]
            },
            correct: correct.to_vec(),
            accepted: accepted.iter().map(|a| a.to_string()).collect(),
            points: 2,
            position: 1,
            created_at: 1,
        }
    }

    #[test]
    fn scoring_cases() {
        let single = question(QuestionKind::Single, &[2], &[]);
        let multiple = question(QuestionKind::Multiple, &[1, 3], &[]);
        let short = question(QuestionKind::Short, &[], &["Аргон", "argon gas"]);
        let sel = |n: &[usize]| Some(Answer::Selected(n.to_vec()));
        let text = |t: &str| Some(Answer::Text(t.into()));
        let cases: Vec<(&str, &Question, Option<Answer>, i64)> = vec![
            ("single right", &single, sel(&[2]), 200),
            ("single wrong", &single, sel(&[1]), 0),
            ("single two picked", &single, sel(&[2, 1]), 0),
            ("single none", &single, None, 0),
            ("multiple all right", &multiple, sel(&[1, 3]), 200),
            ("multiple half", &multiple, sel(&[3]), 100),
            ("multiple half and a wrong", &multiple, sel(&[1, 2]), 0),
            ("multiple all and a wrong", &multiple, sel(&[1, 2, 3]), 100),
            ("multiple every option", &multiple, sel(&[1, 2, 3, 4]), 0),
            ("multiple empty", &multiple, sel(&[]), 0),
            ("short exact", &short, text("Аргон"), 200),
            ("short case and spaces", &short, text("  аРГОН "), 200),
            ("short inner spaces", &short, text("Argon \t  GAS"), 200),
            ("short wrong", &short, text("гелий"), 0),
            ("short empty", &short, text("   "), 0),
            ("short given a selection", &short, sel(&[1]), 0),
        ];
        for (name, question, answer, expected) in cases {
            assert_eq!(score(question, answer.as_ref()), expected, "{name}");
        }
    }

    #[test]
    fn partial_credit_rounds_down() {
        let three = question(QuestionKind::Multiple, &[1, 2, 3], &[]);
        let answer = Answer::Selected(vec![1]);
        assert_eq!(score(&three, Some(&answer)), 66);
    }
}
