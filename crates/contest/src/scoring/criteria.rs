//! Changes to the criteria of a stage part: editing, moving and deleting one. A criterion
//! that experts have marked keeps its maximum and kind and cannot be deleted, because the
//! stored marks were given against them. Once an expert group of the part's nomination has
//! handed its protocol over to the commission, no criterion of the part changes and none is
//! added, because the commission's protocol was made from them. The same holds for the
//! stage's scoring rule.

use serde::Deserialize;
use sqlx::{Any, Transaction};

use super::{Criterion, CriterionKind, NewCriterion, CRITERION_COLUMNS, MAX_CRITERION_POINTS};
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::Database;
use crate::error::{Error, FieldError};
use crate::ids::{CriterionId, StageId, StagePartId};
use crate::validate::{Checks, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};

/// A criterion's new place in its stage part.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CriterionMove {
    /// The new position, from 1 to the number of criteria of the part.
    pub position: Option<i64>,
}

/// The checked fields of a criterion.
pub(crate) struct CheckedCriterion {
    pub name: String,
    pub description: String,
    pub max_points: i64,
    pub kind: CriterionKind,
}

/// Checks the fields of a new or changed criterion and returns them trimmed.
pub(crate) fn check_criterion(new: &NewCriterion) -> Result<CheckedCriterion, Error> {
    let mut checks = Checks::default();
    let name = checks.text("name", &new.name, MAX_NAME_CHARS);
    let description = checks.long_text("description", &new.description, MAX_DESCRIPTION_CHARS);
    let max_points = new.max_points.unwrap_or(0);
    if !(1..=MAX_CRITERION_POINTS).contains(&max_points) {
        let message = format!("must be whole points from 1 to {MAX_CRITERION_POINTS}");
        let error = FieldError::out_of_range("max_points", 1, MAX_CRITERION_POINTS, message);
        checks.push(error);
    }
    if new.kind.is_none() {
        checks.fail("kind", "invalid_criterion_kind", "must be points or yes_no");
    }
    checks.finish()?;
    Ok(CheckedCriterion {
        name,
        description,
        max_points,
        kind: new.kind.unwrap_or(CriterionKind::Points),
    })
}

async fn select_criterion(
    tx: &mut Transaction<'static, Any>,
    id: &CriterionId,
) -> Result<Criterion, Error> {
    let sql = format!("SELECT {CRITERION_COLUMNS} FROM criteria WHERE id = $1");
    let row: Option<Criterion> = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(Error::NotFound("criterion"))
}

/// Audits a change to a criterion, commits it and returns the criterion as stored.
async fn commit_change(
    mut tx: Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    id: &CriterionId,
    detail: &str,
) -> Result<Criterion, Error> {
    let target = Some(id.as_str());
    record(&mut tx, actor, action, "criterion", target, detail).await?;
    let criterion = select_criterion(&mut tx, id).await?;
    tx.commit().await?;
    Ok(criterion)
}

/// Counts the protocols handed over by expert groups of the nomination of `part`, or of the
/// stage `stage`, whichever is given.
async fn handed_over_protocols(
    tx: &mut Transaction<'static, Any>,
    part: Option<&StagePartId>,
    stage: Option<&StageId>,
) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM protocols p
         JOIN expert_groups g ON g.id = p.group_id
         JOIN nominations n ON n.id = g.nomination_id
         WHERE p.kind = 'expert_group' AND p.handed_over_at IS NOT NULL
         AND (n.id = (SELECT nomination_id FROM stage_parts WHERE id = $1) OR n.stage_id = $2)",
    )
    .bind(part.map(|id| id.as_str().to_owned()))
    .bind(stage.map(|id| id.as_str().to_owned()))
    .fetch_one(&mut **tx)
    .await?;
    Ok(count)
}

/// Fails once an expert group of the part's nomination has handed its protocol over.
pub(crate) async fn require_criteria_open(
    tx: &mut Transaction<'static, Any>,
    part: &StagePartId,
) -> Result<(), Error> {
    if handed_over_protocols(tx, Some(part), None).await? > 0 {
        let message = "an expert group of this nomination has handed its protocol over to the \
                       commission, so the criteria of its parts stay as they are";
        return Err(Error::conflict("criteria_handed_over", message));
    }
    Ok(())
}

/// Fails once an expert group of the stage has handed its protocol over, because the
/// commission's protocol was made with the stage's rule.
pub(crate) async fn require_rule_open(
    tx: &mut Transaction<'static, Any>,
    stage: &StageId,
) -> Result<(), Error> {
    if handed_over_protocols(tx, None, Some(stage)).await? > 0 {
        let message = "an expert group of this stage has handed its protocol over to the \
                       commission, so the stage's scoring rule stays as it is";
        return Err(Error::conflict("rule_handed_over", message));
    }
    Ok(())
}

async fn count_marks(
    tx: &mut Transaction<'static, Any>,
    id: &CriterionId,
) -> Result<i64, sqlx::Error> {
    let (marks,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sheet_marks WHERE criterion_id = $1")
            .bind(id.clone())
            .fetch_one(&mut **tx)
            .await?;
    Ok(marks)
}

impl Database {
    /// Replaces a criterion's name, description, maximum and kind. Once a sheet contains a
    /// mark for it, only the name and description may change.
    pub async fn update_criterion(
        &self,
        actor: &Actor,
        id: &CriterionId,
        new: &NewCriterion,
    ) -> Result<Criterion, Error> {
        actor.check(Action::ManageScoring)?;
        let checked = check_criterion(new)?;

        let mut tx = self.begin().await?;
        let old = select_criterion(&mut tx, id).await?;
        require_criteria_open(&mut tx, &old.stage_part_id).await?;
        let scale_changed = old.max_points != checked.max_points || old.kind != checked.kind;
        let marks = count_marks(&mut tx, id).await?;
        if scale_changed && marks > 0 {
            let message = format!(
                "sheets hold {marks} mark(s) for this criterion, so its maximum and kind \
                 stay as they are; only the name and description may change"
            );
            return Err(Error::conflict("criterion_scale_marked", message));
        }

        sqlx::query(
            "UPDATE criteria SET name = $1, description = $2, max_points = $3, kind = $4
             WHERE id = $5",
        )
        .bind(&checked.name)
        .bind(&checked.description)
        .bind(checked.max_points)
        .bind(checked.kind)
        .bind(id.clone())
        .execute(&mut *tx)
        .await?;

        let detail = format!(
            "part={} max_points={} kind={}",
            old.stage_part_id,
            checked.max_points,
            checked.kind.as_str()
        );
        commit_change(tx, actor, "criterion.update", id, &detail).await
    }

    /// Moves a criterion to another position of its stage part. The criteria between the
    /// old and the new position shift by one.
    pub async fn move_criterion(
        &self,
        actor: &Actor,
        id: &CriterionId,
        request: &CriterionMove,
    ) -> Result<Criterion, Error> {
        actor.check(Action::ManageScoring)?;
        let mut tx = self.begin().await?;
        let old = select_criterion(&mut tx, id).await?;
        let part = old.stage_part_id.clone();
        require_criteria_open(&mut tx, &part).await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM criteria WHERE stage_part_id = $1")
                .bind(part.clone())
                .fetch_one(&mut *tx)
                .await?;
        let position = request.position.unwrap_or(0);
        if !(1..=count).contains(&position) {
            let message = format!("must be a position from 1 to {count}");
            return Err(FieldError::out_of_range("position", 1, count, message).into());
        }

        let (shift, low, high) = if position < old.position {
            (1, position, old.position - 1)
        } else {
            (-1, old.position + 1, position)
        };
        sqlx::query(
            "UPDATE criteria SET position = position + $1
             WHERE stage_part_id = $2 AND position BETWEEN $3 AND $4",
        )
        .bind(shift)
        .bind(part.clone())
        .bind(low)
        .bind(high)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE criteria SET position = $1 WHERE id = $2")
            .bind(position)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;

        let detail = format!("part={part} from={} to={position}", old.position);
        commit_change(tx, actor, "criterion.move", id, &detail).await
    }

    /// Deletes a criterion that no sheet has marked, and closes the gap in the order.
    pub async fn delete_criterion(&self, actor: &Actor, id: &CriterionId) -> Result<(), Error> {
        actor.check(Action::ManageScoring)?;
        let mut tx = self.begin().await?;
        let old = select_criterion(&mut tx, id).await?;
        require_criteria_open(&mut tx, &old.stage_part_id).await?;
        let marks = count_marks(&mut tx, id).await?;
        if marks > 0 {
            let message =
                format!("sheets hold {marks} mark(s) for this criterion, so it cannot be deleted");
            return Err(Error::conflict("criterion_marked", message));
        }

        sqlx::query("DELETE FROM criteria WHERE id = $1")
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE criteria SET position = position - 1
             WHERE stage_part_id = $1 AND position > $2",
        )
        .bind(old.stage_part_id.clone())
        .bind(old.position)
        .execute(&mut *tx)
        .await?;

        let detail = format!("part={}", old.stage_part_id);
        let target = Some(id.as_str());
        record(
            &mut tx,
            actor,
            "criterion.delete",
            "criterion",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
