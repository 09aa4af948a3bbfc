//! The summary sheet of an expert group, computed from locked sheets only.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::arithmetic::{self, Aggregation, Weights};
use super::{criteria_of, scoring_rule_of, Criterion};
use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::Database;
use crate::error::Error;
use crate::ids::{CriterionId, ExpertGroupId, NominationId, PersonId, StageId, StagePartId};
use crate::structure::PartKind;

/// A member of an expert group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMember {
    /// The expert.
    pub id: PersonId,
    /// Full name.
    pub full_name: String,
    /// Whether the expert chairs the group.
    pub chair: bool,
}

/// A stage part and its criteria, as columns of the summary sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartColumns {
    /// The stage part.
    pub id: StagePartId,
    /// Its title.
    pub title: String,
    /// Theory or practice.
    pub kind: PartKind,
    /// Its criteria, in order.
    pub criteria: Vec<Criterion>,
}

/// One participant's scores in one stage part. Scores are in hundredths of a point;
/// `None` is a missing mark, not zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartScore {
    /// The stage part.
    pub part_id: StagePartId,
    /// The aggregated mark of each criterion, in the order of the part's criteria.
    pub criteria: Vec<Option<i64>>,
    /// The sum of the criteria, or `None` when one is missing.
    pub total: Option<i64>,
    /// Sheets of the group's experts that are locked.
    pub locked_sheets: u32,
    /// Sheets expected: one per member when the participant takes part, else 0.
    pub expected_sheets: u32,
}

/// One participant's row of the summary sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryRow {
    /// The participant.
    pub participant_id: PersonId,
    /// Full name.
    pub full_name: String,
    /// Scores per stage part, in the order of `Summary::parts`.
    pub parts: Vec<PartScore>,
    /// The combined total by the stage's rule, in hundredths, or `None` when a part total
    /// is missing.
    pub total: Option<i64>,
    /// Rank by total, 1 for the highest; equal totals share a rank.
    pub rank: Option<u32>,
    /// Whether another participant has the same total.
    pub tied: bool,
}

/// The summary sheet of an expert group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    /// The expert group.
    pub group_id: ExpertGroupId,
    /// Its name.
    pub group_name: String,
    /// The nomination assessed.
    pub nomination_id: NominationId,
    /// The nomination's profession.
    pub profession: String,
    /// The regional stage.
    pub stage_id: StageId,
    /// The stage's region.
    pub region: String,
    /// How the experts' marks were aggregated.
    pub aggregation: Aggregation,
    /// Weights of theory and practice in the total.
    pub weights: Weights,
    /// The group's members, by name.
    pub members: Vec<GroupMember>,
    /// The stage parts, in order of creation.
    pub parts: Vec<PartColumns>,
    /// One row per participant, by name.
    pub rows: Vec<SummaryRow>,
    /// Locked sheets of the group.
    pub locked_sheets: u32,
    /// Sheets expected of the group.
    pub expected_sheets: u32,
    /// Whether every expected sheet is locked, and at least one is expected.
    pub complete: bool,
}

/// Fails unless the actor may read the group's scores: organisers may read every group's,
/// commission members those of their stage's groups, and experts only their own group's.
pub(crate) async fn require_reader(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    group: &ExpertGroupId,
) -> Result<(), Error> {
    actor.check(Action::ReadScores)?;
    let allowed = match actor.role {
        Role::Expert => {
            let person = actor.person.clone().ok_or(Error::Forbidden)?;
            is_member(tx, group, &person).await?
        }
        Role::CommissionMember => {
            let person = actor.person.clone().ok_or(Error::Forbidden)?;
            oversees(tx, group, &person).await?
        }
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Returns whether `person` is a commission member of the stage the group belongs to.
async fn oversees(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
    person: &PersonId,
) -> Result<bool, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM expert_groups g JOIN nominations n ON n.id = g.nomination_id
         JOIN people p ON p.stage_id = n.stage_id
         WHERE g.id = $1 AND p.id = $2 AND p.role = 'commission_member'",
    )
    .bind(group.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

pub(crate) async fn is_member(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
    person: &PersonId,
) -> Result<bool, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM expert_group_members WHERE group_id = $1 AND person_id = $2",
    )
    .bind(group.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

type GroupRow = (String, NominationId, PersonId, String, StageId, String);

/// Computes the summary sheet of a group. Checks no permission.
pub(crate) async fn build_summary(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
) -> Result<Summary, Error> {
    let row: Option<GroupRow> = sqlx::query_as(
        "SELECT g.name, g.nomination_id, g.chair_id, n.profession, n.stage_id, s.region
         FROM expert_groups g JOIN nominations n ON n.id = g.nomination_id
         JOIN stages s ON s.id = n.stage_id WHERE g.id = $1",
    )
    .bind(group.clone())
    .fetch_optional(&mut **tx)
    .await?;
    let (group_name, nomination_id, chair, profession, stage_id, region) =
        row.ok_or(Error::NotFound("expert group"))?;
    let rule = scoring_rule_of(tx, &stage_id).await?;

    let members: Vec<(PersonId, String)> = sqlx::query_as(
        "SELECT p.id, p.full_name FROM expert_group_members m JOIN people p ON p.id = m.person_id
         WHERE m.group_id = $1 ORDER BY p.full_name, p.id",
    )
    .bind(group.clone())
    .fetch_all(&mut **tx)
    .await?;
    let members: Vec<GroupMember> = members
        .into_iter()
        .map(|(id, full_name)| GroupMember {
            chair: id == chair,
            id,
            full_name,
        })
        .collect();

    let parts = load_parts(tx, &nomination_id).await?;
    let mut takes_part: Vec<(StagePartId, PersonId)> = Vec::new();
    let mut participants: Vec<(PersonId, String)> = Vec::new();
    for part in &parts {
        let rows: Vec<(PersonId, String)> = sqlx::query_as(
            "SELECT DISTINCT p.id, p.full_name FROM room_assignments a
             JOIN rooms r ON r.id = a.room_id JOIN people p ON p.id = a.person_id
             WHERE r.stage_part_id = $1 AND p.role = 'participant'",
        )
        .bind(part.id.clone())
        .fetch_all(&mut **tx)
        .await?;
        for (id, name) in rows {
            takes_part.push((part.id.clone(), id.clone()));
            if !participants.iter().any(|(p, _)| *p == id) {
                participants.push((id, name));
            }
        }
    }
    participants.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));

    let sheets = load_sheets(tx, group, &members).await?;
    let rows = score_rows(
        &rule_inputs(&rule),
        &parts,
        &participants,
        &takes_part,
        &sheets,
        members.len(),
    );
    let locked_sheets = rows
        .iter()
        .flat_map(|r| &r.parts)
        .map(|p| p.locked_sheets)
        .sum();
    let expected_sheets = rows
        .iter()
        .flat_map(|r| &r.parts)
        .map(|p| p.expected_sheets)
        .sum();
    Ok(Summary {
        group_id: group.clone(),
        group_name,
        nomination_id,
        profession,
        stage_id,
        region,
        aggregation: rule.aggregation,
        weights: rule.weights,
        members,
        parts,
        rows,
        locked_sheets,
        expected_sheets,
        complete: expected_sheets > 0 && locked_sheets == expected_sheets,
    })
}

fn rule_inputs(rule: &super::ScoringRule) -> (Aggregation, Weights) {
    (rule.aggregation, rule.weights)
}

async fn load_parts(
    tx: &mut Transaction<'static, Any>,
    nomination: &NominationId,
) -> Result<Vec<PartColumns>, Error> {
    let rows: Vec<(StagePartId, String, PartKind)> = sqlx::query_as(
        "SELECT id, title, kind FROM stage_parts WHERE nomination_id = $1 ORDER BY created_at, id",
    )
    .bind(nomination.clone())
    .fetch_all(&mut **tx)
    .await?;
    let mut parts = Vec::with_capacity(rows.len());
    for (id, title, kind) in rows {
        let criteria = criteria_of(tx, &id).await?;
        parts.push(PartColumns {
            id,
            title,
            kind,
            criteria,
        });
    }
    Ok(parts)
}

/// The sheets of a group's current members: which are locked, and the marks of those.
#[derive(Default)]
struct GroupSheets {
    /// Locked sheets per (part, participant).
    locked: HashMap<(StagePartId, PersonId), u32>,
    /// Marks of locked sheets per (criterion, participant).
    marks: HashMap<(CriterionId, PersonId), Vec<i64>>,
}

async fn load_sheets(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
    members: &[GroupMember],
) -> Result<GroupSheets, sqlx::Error> {
    let is_member = |id: &PersonId| members.iter().any(|m| m.id == *id);
    let mut sheets = GroupSheets::default();
    let locked: Vec<(StagePartId, PersonId, PersonId)> = sqlx::query_as(
        "SELECT stage_part_id, participant_id, expert_id FROM assessment_sheets
         WHERE group_id = $1 AND locked_at IS NOT NULL",
    )
    .bind(group.clone())
    .fetch_all(&mut **tx)
    .await?;
    for (part, participant, _) in locked.into_iter().filter(|r| is_member(&r.2)) {
        *sheets.locked.entry((part, participant)).or_default() += 1;
    }
    let marks: Vec<(CriterionId, PersonId, PersonId, i64)> = sqlx::query_as(
        "SELECT m.criterion_id, s.participant_id, s.expert_id, m.points
         FROM assessment_sheets s JOIN sheet_marks m ON m.sheet_id = s.id
         WHERE s.group_id = $1 AND s.locked_at IS NOT NULL",
    )
    .bind(group.clone())
    .fetch_all(&mut **tx)
    .await?;
    for (criterion, participant, _, points) in marks.into_iter().filter(|r| is_member(&r.2)) {
        sheets
            .marks
            .entry((criterion, participant))
            .or_default()
            .push(points);
    }
    Ok(sheets)
}

/// Scores every participant by the rule and ranks them.
fn score_rows(
    (aggregation, weights): &(Aggregation, Weights),
    parts: &[PartColumns],
    participants: &[(PersonId, String)],
    takes_part: &[(StagePartId, PersonId)],
    sheets: &GroupSheets,
    member_count: usize,
) -> Vec<SummaryRow> {
    let mut rows: Vec<SummaryRow> = participants
        .iter()
        .map(|(participant, full_name)| {
            let scores: Vec<PartScore> = parts
                .iter()
                .map(|part| {
                    let criteria: Vec<Option<i64>> = part
                        .criteria
                        .iter()
                        .map(|c| {
                            let key = (c.id.clone(), participant.clone());
                            let marks = sheets.marks.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                            arithmetic::aggregate(*aggregation, marks)
                        })
                        .collect();
                    let assessed = takes_part.contains(&(part.id.clone(), participant.clone()));
                    let key = (part.id.clone(), participant.clone());
                    PartScore {
                        part_id: part.id.clone(),
                        total: arithmetic::part_total(&criteria),
                        criteria,
                        locked_sheets: sheets.locked.get(&key).copied().unwrap_or(0),
                        expected_sheets: if assessed { member_count as u32 } else { 0 },
                    }
                })
                .collect();
            let of_kind = |kind: PartKind| -> Vec<Option<i64>> {
                parts
                    .iter()
                    .zip(&scores)
                    .filter(|(part, _)| part.kind == kind)
                    .map(|(_, score)| score.total)
                    .collect()
            };
            let total = arithmetic::combined_total(
                *weights,
                &of_kind(PartKind::Theory),
                &of_kind(PartKind::Practice),
            );
            SummaryRow {
                participant_id: participant.clone(),
                full_name: full_name.clone(),
                parts: scores,
                total,
                rank: None,
                tied: false,
            }
        })
        .collect();
    let totals: Vec<Option<i64>> = rows.iter().map(|r| r.total).collect();
    for (row, place) in rows.iter_mut().zip(arithmetic::rank(&totals)) {
        row.rank = place.rank;
        row.tied = place.tied;
    }
    rows
}

impl Database {
    /// Computes the summary sheet of an expert group from its locked sheets and audits
    /// the read.
    pub async fn summary(&self, actor: &Actor, group: &ExpertGroupId) -> Result<Summary, Error> {
        let mut tx = self.begin().await?;
        crate::structure::require(&mut tx, "expert_groups", "expert group", group.as_str()).await?;
        require_reader(&mut tx, actor, group).await?;
        let summary = build_summary(&mut tx, group).await?;
        let detail = format!("participants={}", summary.rows.len());
        record(
            &mut tx,
            actor,
            "summary.read",
            "expert_group",
            Some(group.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}
