//! An expert's workspace: the participants their expert groups assess, each with the room
//! to watch and the expert's own sheet, and the list of a group's sheets for its chair.

use serde::Serialize;
use sqlx::{Any, Transaction};

use super::summary::require_reader;
use super::{criteria_of, Criterion};
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::Database;
use crate::error::Error;
use crate::ids::{
    ExpertGroupId, NominationId, PersonId, RoomId, SheetId, StageId, StagePartId, TaskId,
};
use crate::structure::PartKind;

/// The state of one sheet, without its marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetStatus {
    /// The sheet.
    pub id: SheetId,
    /// The stage part assessed.
    pub stage_part_id: StagePartId,
    /// The expert who fills it.
    pub expert_id: PersonId,
    /// The expert's full name.
    pub expert_name: String,
    /// The participant assessed.
    pub participant_id: PersonId,
    /// The participant's full name.
    pub participant_name: String,
    /// Marks given so far.
    pub marks: i64,
    /// When the expert locked it, in Unix milliseconds; `None` while it can be edited.
    pub locked_at: Option<i64>,
    /// Last change, in Unix milliseconds.
    pub updated_at: i64,
}

/// A participant of a stage part as the expert sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceParticipant {
    /// The participant.
    pub person_id: PersonId,
    /// Full name.
    pub full_name: String,
    /// The room of the stage part the participant is assigned to.
    pub room_id: RoomId,
    /// The room's title.
    pub room_title: String,
    /// The expert's own sheet for this participant; `None` before the first save.
    pub sheet: Option<SheetStatus>,
}

/// A published theory test of a stage part, whose identity snapshots the expert reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceTheoryTest {
    /// The test, a task of kind theory.
    pub id: TaskId,
    /// Its title.
    pub title: String,
    /// Its start, in Unix milliseconds.
    pub starts_at: i64,
}

/// A stage part with its criteria and participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspacePart {
    /// The stage part.
    pub id: StagePartId,
    /// Its title.
    pub title: String,
    /// Theory or practice.
    pub kind: PartKind,
    /// Its criteria, in order.
    pub criteria: Vec<Criterion>,
    /// Its participants, by name.
    pub participants: Vec<WorkspaceParticipant>,
    /// Its published theory tests, by start. A practice part has none.
    pub theory_tests: Vec<WorkspaceTheoryTest>,
}

/// An expert group the expert belongs to, with what it assesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceGroup {
    /// The expert group.
    pub id: ExpertGroupId,
    /// Its name.
    pub name: String,
    /// Whether the expert chairs it.
    pub chair: bool,
    /// The nomination it assesses.
    pub nomination_id: NominationId,
    /// The nomination's profession.
    pub profession: String,
    /// The regional stage.
    pub stage_id: StageId,
    /// The stage's region.
    pub region: String,
    /// The nomination's stage parts, in order of creation.
    pub parts: Vec<WorkspacePart>,
}

/// The signed-in expert's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    /// The expert groups the expert belongs to.
    pub groups: Vec<WorkspaceGroup>,
}

const STATUS_SELECT: &str = "SELECT s.id, s.stage_part_id, s.expert_id, e.full_name,
     s.participant_id, p.full_name, (SELECT COUNT(*) FROM sheet_marks m WHERE m.sheet_id = s.id),
     s.locked_at, s.updated_at
     FROM assessment_sheets s JOIN people e ON e.id = s.expert_id
     JOIN people p ON p.id = s.participant_id";

type StatusRow = (
    SheetId,
    StagePartId,
    PersonId,
    String,
    PersonId,
    String,
    i64,
    Option<i64>,
    i64,
);

fn status_of(row: StatusRow) -> SheetStatus {
    let (id, stage_part_id, expert_id, expert_name, participant_id, participant_name, marks) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6);
    SheetStatus {
        id,
        stage_part_id,
        expert_id,
        expert_name,
        participant_id,
        participant_name,
        marks,
        locked_at: row.7,
        updated_at: row.8,
    }
}

type GroupRow = (
    ExpertGroupId,
    String,
    PersonId,
    NominationId,
    String,
    StageId,
    String,
);

async fn workspace_part(
    tx: &mut Transaction<'static, Any>,
    expert: &PersonId,
    (id, title, kind): (StagePartId, String, PartKind),
) -> Result<WorkspacePart, Error> {
    let criteria = criteria_of(tx, &id).await?;
    let rows: Vec<(PersonId, String, RoomId, String)> = sqlx::query_as(
        "SELECT p.id, p.full_name, r.id, r.title FROM room_assignments a
         JOIN rooms r ON r.id = a.room_id JOIN people p ON p.id = a.person_id
         WHERE r.stage_part_id = $1 AND p.role = 'participant'
         ORDER BY p.full_name, p.id, r.title, r.id",
    )
    .bind(id.clone())
    .fetch_all(&mut **tx)
    .await?;
    let sql =
        format!("{STATUS_SELECT} WHERE s.stage_part_id = $1 AND s.expert_id = $2 ORDER BY s.id");
    let sheets: Vec<StatusRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .bind(expert.clone())
        .fetch_all(&mut **tx)
        .await?;
    let sheets: Vec<SheetStatus> = sheets.into_iter().map(status_of).collect();

    let mut participants: Vec<WorkspaceParticipant> = Vec::new();
    for (person_id, full_name, room_id, room_title) in rows {
        // A participant in two rooms of one part is listed once, with the first room.
        if participants.iter().any(|p| p.person_id == person_id) {
            continue;
        }
        let sheet = sheets
            .iter()
            .find(|s| s.participant_id == person_id)
            .cloned();
        participants.push(WorkspaceParticipant {
            person_id,
            full_name,
            room_id,
            room_title,
            sheet,
        });
    }
    let tests: Vec<(TaskId, String, i64)> = sqlx::query_as(
        "SELECT id, title, starts_at FROM tasks
         WHERE stage_part_id = $1 AND kind = 'theory' AND published_at IS NOT NULL
         ORDER BY starts_at, id",
    )
    .bind(id.clone())
    .fetch_all(&mut **tx)
    .await?;
    let theory_tests = tests
        .into_iter()
        .map(|(id, title, starts_at)| WorkspaceTheoryTest {
            id,
            title,
            starts_at,
        })
        .collect();
    Ok(WorkspacePart {
        id,
        title,
        kind,
        criteria,
        participants,
        theory_tests,
    })
}

impl Database {
    /// Returns the actor's workspace: every expert group they belong to, with its stage
    /// parts, criteria, participants, rooms and the actor's own sheets. The read is
    /// audited because it lists participants' names.
    pub async fn scoring_workspace(&self, actor: &Actor) -> Result<Workspace, Error> {
        actor.check(Action::AssessParticipants)?;
        let expert = actor.person.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        let rows: Vec<GroupRow> = sqlx::query_as(
            "SELECT g.id, g.name, g.chair_id, g.nomination_id, n.profession, n.stage_id, s.region
             FROM expert_groups g JOIN expert_group_members m ON m.group_id = g.id
             JOIN nominations n ON n.id = g.nomination_id JOIN stages s ON s.id = n.stage_id
             WHERE m.person_id = $1 ORDER BY g.created_at, g.id",
        )
        .bind(expert.clone())
        .fetch_all(&mut *tx)
        .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for (id, name, chair, nomination_id, profession, stage_id, region) in rows {
            let parts: Vec<(StagePartId, String, PartKind)> = sqlx::query_as(
                "SELECT id, title, kind FROM stage_parts WHERE nomination_id = $1
                 ORDER BY created_at, id",
            )
            .bind(nomination_id.clone())
            .fetch_all(&mut *tx)
            .await?;
            let mut workspace_parts = Vec::with_capacity(parts.len());
            for part in parts {
                workspace_parts.push(workspace_part(&mut tx, &expert, part).await?);
            }
            groups.push(WorkspaceGroup {
                id,
                name,
                chair: chair == expert,
                nomination_id,
                profession,
                stage_id,
                region,
                parts: workspace_parts,
            });
        }
        let detail = format!("groups={}", groups.len());
        record(
            &mut tx,
            actor,
            "scoring.workspace",
            "person",
            Some(expert.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Workspace { groups })
    }

    /// Lists every sheet of an expert group, open and locked, by participant and expert.
    /// Readers of the group's scores may list them; the read is audited.
    pub async fn group_sheets(
        &self,
        actor: &Actor,
        group: &ExpertGroupId,
    ) -> Result<Vec<SheetStatus>, Error> {
        let mut tx = self.begin().await?;
        crate::structure::require(&mut tx, "expert_groups", "expert group", group.as_str()).await?;
        require_reader(&mut tx, actor, group).await?;
        let sql = format!(
            "{STATUS_SELECT} WHERE s.group_id = $1 ORDER BY p.full_name, s.participant_id,
             s.stage_part_id, e.full_name, s.id"
        );
        let rows: Vec<StatusRow> = sqlx::query_as(&sql)
            .bind(group.clone())
            .fetch_all(&mut *tx)
            .await?;
        let sheets: Vec<SheetStatus> = rows.into_iter().map(status_of).collect();
        let detail = format!("sheets={}", sheets.len());
        record(
            &mut tx,
            actor,
            "sheet.list",
            "expert_group",
            Some(group.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(sheets)
    }
}
