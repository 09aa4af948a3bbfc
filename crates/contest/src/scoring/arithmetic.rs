//! The arithmetic of the summary sheet, free of the database: aggregation of experts' marks,
//! part and combined totals, and ranking with ties.
//!
//! Every score here is in hundredths of a point (`i64`), rounded half away from zero, so
//! that equal totals compare equal and the protocol's content does not depend on floating
//! point.

use serde::{Deserialize, Serialize};

/// Hundredths of a point in one point.
pub const HUNDREDTHS: i64 = 100;

/// How the marks of several experts for one criterion become one mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The arithmetic mean.
    #[default]
    Mean,
    /// The median; the mean of the two middle marks when their number is even.
    Median,
    /// The mean without one highest and one lowest mark, with at least 3 marks; with fewer
    /// marks, the plain mean.
    TrimmedMean,
}

impl Aggregation {
    /// Returns the rule's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Mean => "mean",
            Aggregation::Median => "median",
            Aggregation::TrimmedMean => "trimmed_mean",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        [Self::Mean, Self::Median, Self::TrimmedMean]
            .into_iter()
            .find(|rule| rule.as_str() == value)
    }
}

/// Divides `numerator` by `denominator` (positive), rounding half away from zero.
fn divide_rounded(numerator: i64, denominator: i64) -> i64 {
    let half = denominator / 2;
    if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    }
}

/// Aggregates whole-point marks into hundredths, or `None` when there are no marks.
pub fn aggregate(rule: Aggregation, marks: &[i64]) -> Option<i64> {
    if marks.is_empty() {
        return None;
    }
    let mut sorted = marks.to_vec();
    sorted.sort_unstable();
    let kept: &[i64] = match rule {
        Aggregation::TrimmedMean if sorted.len() >= 3 => &sorted[1..sorted.len() - 1],
        Aggregation::Median => {
            let middle = sorted.len() / 2;
            if sorted.len() % 2 == 1 {
                &sorted[middle..=middle]
            } else {
                &sorted[middle - 1..=middle]
            }
        }
        _ => &sorted,
    };
    let sum: i64 = kept.iter().sum();
    Some(divide_rounded(sum * HUNDREDTHS, kept.len() as i64))
}

/// Sums the aggregated marks of a part's criteria, or `None` when one is missing or the
/// part has no criteria.
pub fn part_total(criteria: &[Option<i64>]) -> Option<i64> {
    if criteria.is_empty() {
        return None;
    }
    criteria.iter().copied().sum()
}

/// Weights of theory and practice in the combined total, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Weights {
    /// Percent of the theory total counted, 0 to 1000.
    pub theory: i64,
    /// Percent of the practice total counted, 0 to 1000.
    pub practice: i64,
}

impl Default for Weights {
    /// A plain sum of theory and practice.
    fn default() -> Self {
        Self {
            theory: 100,
            practice: 100,
        }
    }
}

/// Combines the totals of theory parts and practice parts (hundredths) by the weights.
/// A part total of `None` makes the result `None`.
pub fn combined_total(
    weights: Weights,
    theory: &[Option<i64>],
    practice: &[Option<i64>],
) -> Option<i64> {
    let theory: i64 = theory.iter().copied().sum::<Option<i64>>()?;
    let practice: i64 = practice.iter().copied().sum::<Option<i64>>()?;
    let weighted = theory * weights.theory + practice * weights.practice;
    Some(divide_rounded(weighted, 100))
}

/// The place of one row in the ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    /// 1 for the highest total; equal totals share a rank and the next rank skips
    /// (1, 1, 3). `None` when the total is missing.
    pub rank: Option<u32>,
    /// Whether another row has the same total.
    pub tied: bool,
}

/// Ranks totals, highest first. A missing total gets no rank and is never tied.
pub fn rank(totals: &[Option<i64>]) -> Vec<Place> {
    totals
        .iter()
        .map(|total| match total {
            None => Place {
                rank: None,
                tied: false,
            },
            Some(total) => {
                let higher = totals.iter().flatten().filter(|t| *t > total).count();
                let equal = totals.iter().flatten().filter(|t| *t == total).count();
                Place {
                    rank: Some(higher as u32 + 1),
                    tied: equal > 1,
                }
            }
        })
        .collect()
}

/// Formats hundredths as a decimal with two places, such as `7.50`.
pub fn format_points(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let value = hundredths.abs();
    format!("{sign}{}.{:02}", value / HUNDREDTHS, value % HUNDREDTHS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Aggregation::*;

    #[test]
    fn aggregation_table() {
        // Rule, marks, expected hundredths.
        let cases: &[(Aggregation, &[i64], Option<i64>)] = &[
            (Mean, &[], None),
            (Median, &[], None),
            (TrimmedMean, &[], None),
            (Mean, &[7], Some(700)),
            (Mean, &[7, 8], Some(750)),
            (Mean, &[1, 1, 2], Some(133)),
            (Mean, &[1, 2, 2], Some(167)),
            (Median, &[3, 9, 4], Some(400)),
            (Median, &[3, 9, 4, 6], Some(500)),
            (Median, &[1, 2], Some(150)),
            (TrimmedMean, &[0, 5, 6, 10], Some(550)),
            (TrimmedMean, &[10, 2, 4], Some(400)),
            // Fewer than 3 marks: the plain mean.
            (TrimmedMean, &[4, 5], Some(450)),
            (TrimmedMean, &[9], Some(900)),
            // A yes/no criterion of 2 points: yes is 2, no is 0.
            (Mean, &[2, 0, 2], Some(133)),
            (Median, &[2, 0, 2], Some(200)),
            (TrimmedMean, &[2, 0, 2], Some(200)),
        ];
        for (rule, marks, expected) in cases {
            assert_eq!(aggregate(*rule, marks), *expected, "{rule:?} of {marks:?}");
        }
    }

    #[test]
    fn part_total_table() {
        let cases: &[(&[Option<i64>], Option<i64>)] = &[
            (&[], None),
            (&[Some(700)], Some(700)),
            (&[Some(700), Some(133)], Some(833)),
            (&[Some(700), None], None),
            (&[None], None),
        ];
        for (criteria, expected) in cases {
            assert_eq!(part_total(criteria), *expected, "{criteria:?}");
        }
    }

    /// Weights, theory part totals, practice part totals, expected total.
    type CombinedCase = (
        Weights,
        &'static [Option<i64>],
        &'static [Option<i64>],
        Option<i64>,
    );

    #[test]
    fn combined_total_table() {
        let sum = Weights::default();
        let weighted = Weights {
            theory: 30,
            practice: 70,
        };
        let cases: &[CombinedCase] = &[
            (sum, &[Some(1000)], &[Some(2550)], Some(3550)),
            (sum, &[], &[Some(2550)], Some(2550)),
            (sum, &[Some(1000)], &[None], None),
            (sum, &[None], &[Some(100)], None),
            (weighted, &[Some(1000)], &[Some(2000)], Some(1700)),
            (weighted, &[Some(333)], &[Some(0)], Some(100)),
            (
                weighted,
                &[Some(1000), Some(500)],
                &[Some(100), Some(100)],
                Some(590),
            ),
        ];
        for (weights, theory, practice, expected) in cases {
            assert_eq!(
                combined_total(*weights, theory, practice),
                *expected,
                "{weights:?} {theory:?} {practice:?}"
            );
        }
    }

    #[test]
    fn ranking_table() {
        let place = |rank, tied| Place {
            rank: Some(rank),
            tied,
        };
        let missing = Place {
            rank: None,
            tied: false,
        };
        let cases: Vec<(Vec<Option<i64>>, Vec<Place>)> = vec![
            (vec![], vec![]),
            (vec![Some(500)], vec![place(1, false)]),
            (
                vec![Some(500), Some(900), Some(700)],
                vec![place(3, false), place(1, false), place(2, false)],
            ),
            (
                vec![Some(900), Some(700), Some(900), Some(100)],
                vec![
                    place(1, true),
                    place(3, false),
                    place(1, true),
                    place(4, false),
                ],
            ),
            (
                vec![Some(700), None, Some(700), None],
                vec![place(1, true), missing, place(1, true), missing],
            ),
        ];
        for (totals, expected) in cases {
            assert_eq!(rank(&totals), expected, "{totals:?}");
        }
    }

    #[test]
    fn points_format_with_two_places() {
        assert_eq!(format_points(750), "7.50");
        assert_eq!(format_points(5), "0.05");
        assert_eq!(format_points(0), "0.00");
        assert_eq!(format_points(-150), "-1.50");
    }
}
