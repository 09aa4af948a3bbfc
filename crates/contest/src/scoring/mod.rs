//! Scoring: assessment criteria of stage parts, experts' assessment sheets, the summary
//! sheet computed from locked sheets, and protocols that members approve with one-time
//! codes. `docs/scoring.md` describes the rules.

pub mod arithmetic;
mod criteria;
mod mine;
mod protocols;
mod sheets;
mod summary;
mod workspace;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{Error, FieldError};
use crate::ids::{CriterionId, ExpertGroupId, NominationId, PersonId, StageId, StagePartId};
use crate::structure::require;
use crate::validate::Checks;
use arithmetic::{Aggregation, Weights};

pub use criteria::CriterionMove;
pub use mine::MyProtocol;
pub use protocols::{
    Approval, CodeChannel, IssuedCode, Protocol, ProtocolKind, APPROVAL_CODE_LIFETIME_MS,
};
pub use sheets::{Mark, MarkInput, MarkValue, Sheet, SheetInput, SheetView};
pub use summary::{GroupMember, PartColumns, PartScore, Summary, SummaryRow};
pub use workspace::{
    SheetStatus, Workspace, WorkspaceGroup, WorkspacePart, WorkspaceParticipant,
    WorkspaceTheoryTest,
};

/// Largest number of criteria of one stage part.
pub const MAX_CRITERIA_PER_PART: i64 = 100;
/// Largest maximum of one criterion, in points.
pub const MAX_CRITERION_POINTS: i64 = 1000;
/// Largest weight of the theory or practice part in a stage's scoring rule, in percent.
const MAX_WEIGHT: i64 = 1000;

/// The marking kind of a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    /// Whole points from 0 to the maximum.
    Points,
    /// Yes or no; yes counts as the maximum and no as 0.
    YesNo,
}

impl CriterionKind {
    fn as_str(self) -> &'static str {
        match self {
            CriterionKind::Points => "points",
            CriterionKind::YesNo => "yes_no",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        match value.as_str() {
            "points" => Ok(Self::Points),
            "yes_no" => Ok(Self::YesNo),
            _ => Err(format!("unknown criterion kind {value:?}").into()),
        }
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(CriterionKind);

/// An assessment criterion of a stage part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criterion {
    /// Its id.
    pub id: CriterionId,
    /// The stage part it assesses.
    pub stage_part_id: StagePartId,
    /// Order within the part, from 1.
    pub position: i64,
    /// Its name.
    pub name: String,
    /// What the experts look at; may be empty.
    pub description: String,
    /// Maximum points, 1 to 1000.
    pub max_points: i64,
    /// Points or yes/no.
    pub kind: CriterionKind,
}

/// The fields of a new criterion.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewCriterion {
    /// 1 to 200 characters.
    pub name: String,
    /// Up to 4000 characters.
    pub description: String,
    /// Whole points, 1 to 1000.
    pub max_points: Option<i64>,
    /// `points` or `yes_no`.
    pub kind: Option<CriterionKind>,
}

/// A stage's rule for aggregating and combining marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoringRule {
    /// The stage.
    pub stage_id: StageId,
    /// The rule that turns the experts' marks of one criterion into one mark.
    pub aggregation: Aggregation,
    /// Weights of theory and practice in the combined total.
    pub weights: Weights,
}

/// The fields of a stage's scoring rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewScoringRule {
    /// `mean` (when missing), `median` or `trimmed_mean`.
    pub aggregation: Option<Aggregation>,
    /// Percent of the theory total counted, 0 to 1000; 100 when missing.
    pub theory_weight: Option<i64>,
    /// Percent of the practice total counted, 0 to 1000; 100 when missing.
    pub practice_weight: Option<i64>,
}

const CRITERION_COLUMNS: &str = "id, stage_part_id, position, name, description, max_points, kind";

/// The nomination of a stage part, and its title.
pub(crate) struct PartContext {
    pub nomination: NominationId,
    pub title: String,
}

pub(crate) async fn part_context(
    tx: &mut Transaction<'static, Any>,
    part: &StagePartId,
) -> Result<PartContext, Error> {
    let row: Option<(NominationId, String)> =
        sqlx::query_as("SELECT nomination_id, title FROM stage_parts WHERE id = $1")
            .bind(part.clone())
            .fetch_optional(&mut **tx)
            .await?;
    let (nomination, title) = row.ok_or(Error::NotFound("stage part"))?;
    Ok(PartContext { nomination, title })
}

pub(crate) async fn criteria_of(
    tx: &mut Transaction<'static, Any>,
    part: &StagePartId,
) -> Result<Vec<Criterion>, sqlx::Error> {
    let sql = format!(
        "SELECT {CRITERION_COLUMNS} FROM criteria WHERE stage_part_id = $1 ORDER BY position, id"
    );
    sqlx::query_as(&sql)
        .bind(part.clone())
        .fetch_all(&mut **tx)
        .await
}

/// Returns the expert group of a nomination that `person` belongs to, if any.
pub(crate) async fn group_of_expert(
    tx: &mut Transaction<'static, Any>,
    nomination: &NominationId,
    person: &PersonId,
) -> Result<Option<ExpertGroupId>, sqlx::Error> {
    let row: Option<(ExpertGroupId,)> = sqlx::query_as(
        "SELECT g.id FROM expert_groups g JOIN expert_group_members m ON m.group_id = g.id
         WHERE g.nomination_id = $1 AND m.person_id = $2 ORDER BY g.created_at, g.id LIMIT 1",
    )
    .bind(nomination.clone())
    .bind(person.clone())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(id,)| id))
}

pub(crate) async fn scoring_rule_of(
    tx: &mut Transaction<'static, Any>,
    stage: &StageId,
) -> Result<ScoringRule, Error> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT aggregation, theory_weight, practice_weight FROM scoring_rules WHERE stage_id = $1",
    )
    .bind(stage.clone())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((aggregation, theory, practice)) = row else {
        return Ok(ScoringRule {
            stage_id: stage.clone(),
            aggregation: Aggregation::default(),
            weights: Weights::default(),
        });
    };
    let aggregation = Aggregation::parse(&aggregation).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown aggregation {aggregation:?}").into())
    })?;
    Ok(ScoringRule {
        stage_id: stage.clone(),
        aggregation,
        weights: Weights { theory, practice },
    })
}

impl Database {
    /// Adds a criterion at the end of a stage part's list.
    pub async fn create_criterion(
        &self,
        actor: &Actor,
        part: &StagePartId,
        new: &NewCriterion,
    ) -> Result<Criterion, Error> {
        actor.check(Action::ManageScoring)?;
        let checked = criteria::check_criterion(new)?;

        let mut tx = self.begin().await?;
        require(&mut tx, "stage_parts", "stage part", part.as_str()).await?;
        criteria::require_criteria_open(&mut tx, part).await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM criteria WHERE stage_part_id = $1")
                .bind(part.clone())
                .fetch_one(&mut *tx)
                .await?;
        if count >= MAX_CRITERIA_PER_PART {
            let message = format!("a stage part has at most {MAX_CRITERIA_PER_PART} criteria");
            return Err(Error::conflict("too_many_criteria", message));
        }
        let criterion = Criterion {
            id: CriterionId::generate(),
            stage_part_id: part.clone(),
            position: count + 1,
            name: checked.name,
            description: checked.description,
            max_points: checked.max_points,
            kind: checked.kind,
        };
        sqlx::query(
            "INSERT INTO criteria (id, stage_part_id, position, name, description, max_points,
             kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(criterion.id.clone())
        .bind(part.clone())
        .bind(criterion.position)
        .bind(&criterion.name)
        .bind(&criterion.description)
        .bind(criterion.max_points)
        .bind(criterion.kind)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "part={part} max_points={} kind={}",
            criterion.max_points,
            criterion.kind.as_str()
        );
        record(
            &mut tx,
            actor,
            "criterion.create",
            "criterion",
            Some(criterion.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(criterion)
    }

    /// Lists the criteria of a stage part in order.
    pub async fn criteria(
        &self,
        actor: &Actor,
        part: &StagePartId,
    ) -> Result<Vec<Criterion>, Error> {
        actor.check(Action::ReadStructure)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "stage_parts", "stage part", part.as_str()).await?;
        let criteria = criteria_of(&mut tx, part).await?;
        tx.commit().await?;
        Ok(criteria)
    }

    /// Returns a stage's scoring rule; the default when none was set.
    pub async fn scoring_rule(&self, actor: &Actor, stage: &StageId) -> Result<ScoringRule, Error> {
        actor.check(Action::ReadStructure)?;
        let mut tx = self.begin().await?;
        require(&mut tx, "stages", "stage", stage.as_str()).await?;
        let rule = scoring_rule_of(&mut tx, stage).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Sets a stage's scoring rule, replacing the one before.
    pub async fn set_scoring_rule(
        &self,
        actor: &Actor,
        stage: &StageId,
        new: &NewScoringRule,
    ) -> Result<ScoringRule, Error> {
        actor.check(Action::ManageScoring)?;
        let mut checks = Checks::default();
        let theory = new.theory_weight.unwrap_or(100);
        let practice = new.practice_weight.unwrap_or(100);
        for (field, weight) in [("theory_weight", theory), ("practice_weight", practice)] {
            if !(0..=MAX_WEIGHT).contains(&weight) {
                let message = format!("must be a percentage from 0 to {MAX_WEIGHT}");
                let error = FieldError::new(field, "invalid_percentage", message);
                checks.push(error.with("min", 0).with("max", MAX_WEIGHT));
            }
        }
        checks.finish()?;
        let rule = ScoringRule {
            stage_id: stage.clone(),
            aggregation: new.aggregation.unwrap_or_default(),
            weights: Weights { theory, practice },
        };

        let mut tx = self.begin().await?;
        require(&mut tx, "stages", "stage", stage.as_str()).await?;
        criteria::require_rule_open(&mut tx, stage).await?;
        sqlx::query("DELETE FROM scoring_rules WHERE stage_id = $1")
            .bind(stage.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO scoring_rules (stage_id, aggregation, theory_weight, practice_weight,
             updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stage.clone())
        .bind(rule.aggregation.as_str())
        .bind(theory)
        .bind(practice)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "aggregation={} theory_weight={theory} practice_weight={practice}",
            rule.aggregation.as_str()
        );
        record(
            &mut tx,
            actor,
            "scoring_rule.set",
            "stage",
            Some(stage.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(rule)
    }
}
