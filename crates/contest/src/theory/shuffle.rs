//! Deterministic draws and orders for one participant: the same participant gets the same
//! questions in the same order, with the same option order, on every opening; another
//! participant gets another order.
//!
//! The random numbers are SHA-256 in counter mode over the task, the participant and a
//! purpose, so they depend on nothing but those ids and stay the same across versions of
//! any random-number crate.

use sha2::{Digest, Sha256};

use crate::ids::{PersonId, QuestionId, TaskId};

/// A stream of pseudo-random numbers derived from a seed.
struct Stream {
    seed: [u8; 32],
    counter: u64,
}

impl Stream {
    fn new(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        Self {
            seed: hasher.finalize().into(),
            counter: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut hasher = Sha256::new();
        hasher.update(self.seed);
        hasher.update(self.counter.to_be_bytes());
        self.counter += 1;
        let digest = hasher.finalize();
        u64::from_be_bytes(digest[..8].try_into().expect("a digest has 32 bytes"))
    }

    /// Shuffles `items` with Fisher–Yates. The modulo bias is below 2^-40 for lists of up
    /// to a million items, far below anything a participant could notice.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Draws `count` questions (all when `None` or larger than the bank) from `bank` in the
/// participant's order. `bank` must be in a stable order, such as the bank's positions.
pub(crate) fn draw_questions(
    task: &TaskId,
    person: &PersonId,
    bank: &[QuestionId],
    count: Option<usize>,
) -> Vec<QuestionId> {
    let mut drawn = bank.to_vec();
    Stream::new(&["questions", task.as_str(), person.as_str()]).shuffle(&mut drawn);
    drawn.truncate(count.unwrap_or(drawn.len()));
    drawn
}

/// Returns the option numbers (1 to `options`) of a question in the participant's order.
pub(crate) fn option_order(
    task: &TaskId,
    person: &PersonId,
    question: &QuestionId,
    options: usize,
) -> Vec<usize> {
    let mut order: Vec<usize> = (1..=options).collect();
    let parts = ["options", task.as_str(), person.as_str(), question.as_str()];
    Stream::new(&parts).shuffle(&mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bank(size: usize) -> Vec<QuestionId> {
        (0..size).map(|_| QuestionId::generate()).collect()
    }

    #[test]
    fn draw_is_stable_per_participant() {
        let (task, person, bank) = (TaskId::generate(), PersonId::generate(), bank(30));
        let first = draw_questions(&task, &person, &bank, Some(10));
        assert_eq!(first.len(), 10);
        assert_eq!(first, draw_questions(&task, &person, &bank, Some(10)));
    }

    #[test]
    fn draw_differs_between_participants() {
        let (task, bank) = (TaskId::generate(), bank(30));
        let one = draw_questions(&task, &PersonId::generate(), &bank, None);
        let two = draw_questions(&task, &PersonId::generate(), &bank, None);
        assert_ne!(one, two);
        let mut sorted = one.clone();
        sorted.sort();
        let mut all = bank.clone();
        all.sort();
        assert_eq!(sorted, all, "a full draw holds every question once");
    }

    #[test]
    fn option_order_is_a_permutation() {
        let (task, person, question) = (
            TaskId::generate(),
            PersonId::generate(),
            QuestionId::generate(),
        );
        let mut order = option_order(&task, &person, &question, 6);
        assert_eq!(order, option_order(&task, &person, &question, 6));
        order.sort();
        assert_eq!(order, [1, 2, 3, 4, 5, 6]);
    }
}
