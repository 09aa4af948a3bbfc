//! Assessment sheets: one expert's marks for one participant of one stage part.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use super::{criteria_of, group_of_expert, part_context, Criterion, CriterionKind};
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{Error, FieldError};
use crate::ids::{CriterionId, ExpertGroupId, PersonId, SheetId, StagePartId};
use crate::validate::{Checks, MAX_DESCRIPTION_CHARS};

/// Maximum length of a reason to reopen a sheet, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// One mark of a sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mark {
    /// The criterion.
    pub criterion_id: CriterionId,
    /// Whole points; for a yes/no criterion, its maximum for yes and 0 for no.
    pub points: i64,
}

/// An expert's assessment sheet for one participant of one stage part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sheet {
    /// Its id.
    pub id: SheetId,
    /// The stage part assessed.
    pub stage_part_id: StagePartId,
    /// The expert group of the expert.
    pub group_id: ExpertGroupId,
    /// The expert who fills it.
    pub expert_id: PersonId,
    /// The participant assessed.
    pub participant_id: PersonId,
    /// The marks given so far, in the order of the criteria.
    pub marks: Vec<Mark>,
    /// The expert's comment; may be empty.
    pub comment: String,
    /// When the expert locked it, in Unix milliseconds; `None` while it can be edited.
    pub locked_at: Option<i64>,
    /// Last change, in Unix milliseconds.
    pub updated_at: i64,
}

/// A sheet with what a printed sheet shows beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetView {
    /// The sheet.
    pub sheet: Sheet,
    /// The criteria of its stage part, in order.
    pub criteria: Vec<Criterion>,
    /// The stage part's title.
    pub part_title: String,
    /// The expert's full name.
    pub expert_name: String,
    /// The participant's full name.
    pub participant_name: String,
}

/// A mark as sent: whole points for a `points` criterion, `true` or `false` for a `yes_no`
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MarkValue {
    /// Yes or no.
    YesNo(bool),
    /// Whole points.
    Points(i64),
}

/// One mark to save; a `value` of `null` removes the mark.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    /// The criterion.
    pub criterion_id: CriterionId,
    /// The mark, or `null` to remove it.
    pub value: Option<MarkValue>,
}

/// Changes to a sheet. Marks not listed and a missing comment stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct SheetInput {
    /// Marks to set or remove, at most one per criterion.
    pub marks: Vec<MarkInput>,
    /// The new comment, up to 4000 characters.
    pub comment: Option<String>,
}

/// Checks each mark against its criterion and returns the points to store, `None` to
/// remove. The errors name `marks[i]`.
fn check_marks(
    criteria: &[Criterion],
    marks: &[MarkInput],
) -> Result<Vec<(CriterionId, Option<i64>)>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out: Vec<(CriterionId, Option<i64>)> = Vec::new();
    for (index, mark) in marks.iter().enumerate() {
        let mut fail = |code: &str, message: String| {
            errors.push(FieldError::new(&format!("marks[{index}]"), code, message))
        };
        let Some(criterion) = criteria.iter().find(|c| c.id == mark.criterion_id) else {
            fail(
                "unknown_criterion",
                format!(
                    "criterion {} is not one of this stage part",
                    mark.criterion_id
                ),
            );
            continue;
        };
        if out.iter().any(|(id, _)| *id == criterion.id) {
            fail(
                "repeated_criterion",
                format!("criterion {} is listed twice", criterion.id),
            );
            continue;
        }
        let points = match (criterion.kind, mark.value) {
            (_, None) => None,
            (CriterionKind::YesNo, Some(MarkValue::YesNo(yes))) => {
                Some(if yes { criterion.max_points } else { 0 })
            }
            (CriterionKind::YesNo, Some(MarkValue::Points(_))) => {
                fail(
                    "not_a_boolean",
                    "must be true or false for a yes/no criterion".to_owned(),
                );
                continue;
            }
            (CriterionKind::Points, Some(value)) => match value {
                MarkValue::Points(points) if (0..=criterion.max_points).contains(&points) => {
                    Some(points)
                }
                _ => {
                    let max = criterion.max_points;
                    let message = format!("must be whole points from 0 to {max}");
                    let field = format!("marks[{index}]");
                    errors.push(FieldError::out_of_range(&field, 0, max, message));
                    continue;
                }
            },
        };
        out.push((criterion.id.clone(), points));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

type SheetRow = (
    SheetId,
    StagePartId,
    ExpertGroupId,
    PersonId,
    PersonId,
    String,
    Option<i64>,
    i64,
);

const SHEET_COLUMNS: &str =
    "id, stage_part_id, group_id, expert_id, participant_id, comment, locked_at, updated_at";

pub(crate) async fn load_sheet(
    tx: &mut Transaction<'static, Any>,
    id: &SheetId,
) -> Result<Option<Sheet>, sqlx::Error> {
    let sql = format!("SELECT {SHEET_COLUMNS} FROM assessment_sheets WHERE id = $1");
    let row: Option<SheetRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let marks = sqlx::query_as(
        "SELECT m.criterion_id, m.points FROM sheet_marks m JOIN criteria c ON c.id = m.criterion_id
         WHERE m.sheet_id = $1 ORDER BY c.position, c.id",
    )
    .bind(id.clone())
    .fetch_all(&mut **tx)
    .await?;
    let (id, stage_part_id, group_id, expert_id, participant_id, comment, locked_at, updated_at) =
        row;
    Ok(Some(Sheet {
        id,
        stage_part_id,
        group_id,
        expert_id,
        participant_id,
        marks,
        comment,
        locked_at,
        updated_at,
    }))
}

/// Returns whether `person` is a participant assigned to a room of the stage part.
pub(crate) async fn is_participant_of(
    tx: &mut Transaction<'static, Any>,
    part: &StagePartId,
    person: &PersonId,
) -> Result<bool, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM room_assignments a JOIN rooms r ON r.id = a.room_id
         JOIN people p ON p.id = a.person_id
         WHERE r.stage_part_id = $1 AND a.person_id = $2 AND p.role = 'participant'",
    )
    .bind(part.clone())
    .bind(person.clone())
    .fetch_one(&mut **tx)
    .await?;
    Ok(count > 0)
}

/// Fails unless the group's protocol is still with the group.
pub(crate) async fn require_not_handed_over(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
) -> Result<(), Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM protocols WHERE group_id = $1 AND handed_over_at IS NOT NULL",
    )
    .bind(group.clone())
    .fetch_one(&mut **tx)
    .await?;
    if count > 0 {
        let message = "the group's protocol is already handed over to the commission";
        return Err(Error::conflict("protocol_handed_over", message));
    }
    Ok(())
}

async fn person_name(
    tx: &mut Transaction<'static, Any>,
    person: &PersonId,
) -> Result<String, Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT full_name FROM people WHERE id = $1")
        .bind(person.clone())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.ok_or(Error::NotFound("person"))?.0)
}

impl Database {
    /// Saves marks and the comment of the actor's sheet for a participant of a stage part,
    /// creating the sheet on first use. Saving the same input again changes nothing, so
    /// that a page may save as the expert types.
    pub async fn save_sheet(
        &self,
        actor: &Actor,
        part: &StagePartId,
        participant: &PersonId,
        input: &SheetInput,
    ) -> Result<Sheet, Error> {
        actor.check(Action::AssessParticipants)?;
        let expert = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut checks = Checks::default();
        let comment = input
            .comment
            .as_deref()
            .map(|c| checks.long_text("comment", c, MAX_DESCRIPTION_CHARS));
        checks.finish()?;

        let mut tx = self.begin().await?;
        let context = part_context(&mut tx, part).await?;
        let group = group_of_expert(&mut tx, &context.nomination, &expert)
            .await?
            .ok_or(Error::Forbidden)?;
        if !is_participant_of(&mut tx, part, participant).await? {
            return Err(Error::NotFound("participant of the stage part"));
        }
        let criteria = criteria_of(&mut tx, part).await?;
        let marks = check_marks(&criteria, &input.marks).map_err(Error::Invalid)?;
        let now = now_ms();

        let existing: Option<(SheetId, Option<i64>)> = sqlx::query_as(
            "SELECT id, locked_at FROM assessment_sheets
             WHERE stage_part_id = $1 AND expert_id = $2 AND participant_id = $3",
        )
        .bind(part.clone())
        .bind(expert.clone())
        .bind(participant.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let id = match existing {
            Some((_, Some(_))) => {
                let message = "the sheet is locked; only the group's chair can reopen it";
                return Err(Error::conflict("sheet_locked", message));
            }
            Some((id, None)) => id,
            None => {
                let id = SheetId::generate();
                sqlx::query(
                    "INSERT INTO assessment_sheets (id, stage_part_id, group_id, expert_id,
                     participant_id, comment, locked_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, '', NULL, $6)",
                )
                .bind(id.clone())
                .bind(part.clone())
                .bind(group.clone())
                .bind(expert.clone())
                .bind(participant.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                id
            }
        };

        for (criterion, points) in &marks {
            sqlx::query("DELETE FROM sheet_marks WHERE sheet_id = $1 AND criterion_id = $2")
                .bind(id.clone())
                .bind(criterion.clone())
                .execute(&mut *tx)
                .await?;
            if let Some(points) = points {
                sqlx::query(
                    "INSERT INTO sheet_marks (sheet_id, criterion_id, points) VALUES ($1, $2, $3)",
                )
                .bind(id.clone())
                .bind(criterion.clone())
                .bind(*points)
                .execute(&mut *tx)
                .await?;
            }
        }
        if let Some(comment) = &comment {
            sqlx::query("UPDATE assessment_sheets SET comment = $1 WHERE id = $2")
                .bind(comment)
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE assessment_sheets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let detail = format!("participant={participant} marks={}", marks.len());
        record(
            &mut tx,
            actor,
            "sheet.save",
            "sheet",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let sheet = load_sheet(&mut tx, &id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        tx.commit().await?;
        Ok(sheet)
    }

    /// Returns the actor's sheet for a participant of a stage part, or `None` before the
    /// first save.
    pub async fn my_sheet(
        &self,
        actor: &Actor,
        part: &StagePartId,
        participant: &PersonId,
    ) -> Result<Option<Sheet>, Error> {
        actor.check(Action::AssessParticipants)?;
        let expert = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        let context = part_context(&mut tx, part).await?;
        if group_of_expert(&mut tx, &context.nomination, &expert)
            .await?
            .is_none()
        {
            return Err(Error::Forbidden);
        }
        let id: Option<(SheetId,)> = sqlx::query_as(
            "SELECT id FROM assessment_sheets
             WHERE stage_part_id = $1 AND expert_id = $2 AND participant_id = $3",
        )
        .bind(part.clone())
        .bind(expert)
        .bind(participant.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let sheet = match id {
            Some((id,)) => load_sheet(&mut tx, &id).await?,
            None => None,
        };
        tx.commit().await?;
        Ok(sheet)
    }

    /// Locks the actor's sheet once every criterion of its part is marked. A locked sheet
    /// cannot change until the group's chair reopens it.
    pub async fn lock_sheet(&self, actor: &Actor, id: &SheetId) -> Result<Sheet, Error> {
        actor.check(Action::AssessParticipants)?;
        let mut tx = self.begin().await?;
        let sheet = load_sheet(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        if actor.person.as_ref() != Some(&sheet.expert_id) {
            return Err(Error::Forbidden);
        }
        if sheet.locked_at.is_some() {
            return Err(Error::conflict(
                "sheet_locked",
                "the sheet is already locked",
            ));
        }
        let criteria = criteria_of(&mut tx, &sheet.stage_part_id).await?;
        let unmarked: Vec<FieldError> = criteria
            .iter()
            .filter(|c| !sheet.marks.iter().any(|m| m.criterion_id == c.id))
            .map(|c| {
                let message = format!("criterion \u{ab}{}\u{bb} has no mark", c.name);
                FieldError::new(&format!("marks.{}", c.id), "mark_missing", message)
                    .with("criterion", &c.name)
            })
            .collect();
        if criteria.is_empty() || !unmarked.is_empty() {
            let mut errors = unmarked;
            if errors.is_empty() {
                errors.push(FieldError::new(
                    "marks",
                    "no_criteria",
                    "the stage part has no criteria to mark",
                ));
            }
            return Err(Error::Invalid(errors));
        }
        sqlx::query("UPDATE assessment_sheets SET locked_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let detail = format!("marks={}", sheet.marks.len());
        record(
            &mut tx,
            actor,
            "sheet.lock",
            "sheet",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let sheet = load_sheet(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        tx.commit().await?;
        Ok(sheet)
    }

    /// Reopens a locked sheet so that its expert can change it. Only the chair of the
    /// sheet's expert group may, with a reason, which the audit entry keeps.
    pub async fn reopen_sheet(
        &self,
        actor: &Actor,
        id: &SheetId,
        reason: &str,
    ) -> Result<Sheet, Error> {
        actor.check(Action::AssessParticipants)?;
        let mut checks = Checks::default();
        let reason = checks.long_text("reason", reason, MAX_REASON_CHARS);
        if reason.is_empty() {
            checks.fail(
                "reason",
                "required",
                "must not be empty: say why the sheet is reopened",
            );
        }
        checks.finish()?;

        let mut tx = self.begin().await?;
        let sheet = load_sheet(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        let (chair,): (PersonId,) =
            sqlx::query_as("SELECT chair_id FROM expert_groups WHERE id = $1")
                .bind(sheet.group_id.clone())
                .fetch_one(&mut *tx)
                .await?;
        if actor.person.as_ref() != Some(&chair) {
            return Err(Error::Forbidden);
        }
        if sheet.locked_at.is_none() {
            return Err(Error::conflict(
                "sheet_not_locked",
                "the sheet is not locked",
            ));
        }
        require_not_handed_over(&mut tx, &sheet.group_id).await?;
        sqlx::query("UPDATE assessment_sheets SET locked_at = NULL, updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let detail = format!("reason={reason}");
        record(
            &mut tx,
            actor,
            "sheet.reopen",
            "sheet",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let sheet = load_sheet(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        tx.commit().await?;
        Ok(sheet)
    }

    /// Returns a sheet with its criteria and names, for printing. Its expert, the members
    /// of its group, organisers and commission members may read it; the read is audited.
    pub async fn sheet_view(&self, actor: &Actor, id: &SheetId) -> Result<SheetView, Error> {
        actor.check(Action::ReadScores)?;
        let mut tx = self.begin().await?;
        let sheet = load_sheet(&mut tx, id)
            .await?
            .ok_or(Error::NotFound("sheet"))?;
        super::summary::require_reader(&mut tx, actor, &sheet.group_id).await?;
        let context = part_context(&mut tx, &sheet.stage_part_id).await?;
        let criteria = criteria_of(&mut tx, &sheet.stage_part_id).await?;
        let expert_name = person_name(&mut tx, &sheet.expert_id).await?;
        let participant_name = person_name(&mut tx, &sheet.participant_id).await?;
        record(&mut tx, actor, "sheet.read", "sheet", Some(id.as_str()), "").await?;
        tx.commit().await?;
        Ok(SheetView {
            sheet,
            criteria,
            part_title: context.title,
            expert_name,
            participant_name,
        })
    }
}
