//! The protocols that the signed-in person must approve: the protocols of the expert groups
//! they belong to, and for a commission member the commission's protocols of their region.

use serde::Serialize;

use super::protocols::{assemble, load_row};
use super::ProtocolKind;
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::Database;
use crate::error::Error;
use crate::ids::{ExpertGroupId, ProtocolId};

/// A protocol that the signed-in person approves, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyProtocol {
    /// The protocol.
    pub id: ProtocolId,
    /// The expert group's or the commission's.
    pub kind: ProtocolKind,
    /// The expert group whose results it records.
    pub group_id: ExpertGroupId,
    /// The group's name.
    pub group_name: String,
    /// The nomination's profession.
    pub profession: String,
    /// The stage's region.
    pub region: String,
    /// When it was generated, in Unix milliseconds.
    pub generated_at: i64,
    /// When the group's protocol was handed over to the commission.
    pub handed_over_at: Option<i64>,
    /// When the signed-in person approved the current content, or `None`.
    pub my_approval_at: Option<i64>,
    /// Whether every approver approved the current content.
    pub approved: bool,
    /// Whether it waits for the signed-in person: the content is current, they have not
    /// approved it, and a group's protocol is not yet handed over.
    pub waiting: bool,
}

type Candidate = (ProtocolId, String, String, String);

/// Protocols of kind expert group whose group has the person as a member, and commission
/// protocols of the stages in the region of a commission member.
const CANDIDATES: &str = "SELECT p.id, g.name, n.profession, s.region FROM protocols p
     JOIN expert_groups g ON g.id = p.group_id JOIN nominations n ON n.id = g.nomination_id
     JOIN stages s ON s.id = n.stage_id
     WHERE (p.kind = 'expert_group' AND EXISTS (SELECT 1 FROM expert_group_members m
                WHERE m.group_id = p.group_id AND m.person_id = $1))
        OR (p.kind = 'commission' AND EXISTS (SELECT 1 FROM people c
                WHERE c.id = $1 AND c.role = 'commission_member' AND c.region = s.region))
     ORDER BY p.generated_at DESC, p.id";

impl Database {
    /// Lists the protocols the actor must approve, those waiting for them first and the
    /// newest first within each. The read is audited.
    pub async fn my_protocols(&self, actor: &Actor) -> Result<Vec<MyProtocol>, Error> {
        actor.check(Action::ApproveProtocols)?;
        let person = actor.person.clone().ok_or(Error::Forbidden)?;

        let mut tx = self.begin().await?;
        let candidates: Vec<Candidate> = sqlx::query_as(CANDIDATES)
            .bind(person.clone())
            .fetch_all(&mut *tx)
            .await?;

        let mut list = Vec::with_capacity(candidates.len());
        for (id, group_name, profession, region) in candidates {
            let row = load_row(&mut tx, &id).await?;
            let protocol = assemble(&mut tx, row).await?;
            let mine = protocol.approvals.iter().find(|a| a.person_id == person);
            let my_approval_at = mine.and_then(|a| a.approved_at);
            let open =
                protocol.kind == ProtocolKind::Commission || protocol.handed_over_at.is_none();
            list.push(MyProtocol {
                waiting: protocol.current && open && mine.is_some() && my_approval_at.is_none(),
                id: protocol.id,
                kind: protocol.kind,
                group_id: protocol.group_id,
                group_name,
                profession,
                region,
                generated_at: protocol.generated_at,
                handed_over_at: protocol.handed_over_at,
                my_approval_at,
                approved: protocol.approved,
            });
        }

        // A stable sort keeps the newest first within each half.
        list.sort_by_key(|p| !p.waiting);

        let waiting = list.iter().filter(|p| p.waiting).count();
        let detail = format!("protocols={} waiting={waiting}", list.len());
        let target = Some(person.as_str());
        record(
            &mut tx,
            actor,
            "protocol.list_mine",
            "person",
            target,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }
}
