//! Expert groups: the experts who assess one nomination, with exactly one chair.

use serde::{Deserialize, Serialize};

use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{Error, FieldError};
use crate::ids::{ExpertGroupId, NominationId, PersonId};
use crate::structure::require;
use crate::validate::{Checks, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// Maximum number of members of one expert group.
pub const MAX_GROUP_MEMBERS: usize = 50;

/// An expert group of a nomination, with exactly one chair among its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpertGroup {
    /// Its id.
    pub id: ExpertGroupId,
    /// The nomination it assesses.
    pub nomination_id: NominationId,
    /// Its name.
    pub name: String,
    /// The chair, one of the members.
    pub chair_id: PersonId,
    /// Every member, the chair included, by id.
    pub member_ids: Vec<PersonId>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new expert group.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewExpertGroup {
    /// 1 to 200 characters.
    pub name: String,
    /// The chair: an expert, added to the members when missing.
    pub chair_id: Option<PersonId>,
    /// Experts, at most 50.
    pub member_ids: Vec<PersonId>,
}

impl Database {
    /// Creates an expert group of a nomination. Every member must be an expert.
    pub async fn create_expert_group(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        new: &NewExpertGroup,
    ) -> Result<ExpertGroup, Error> {
        actor.check(Action::ManagePeople)?;
        let mut checks = Checks::default();
        let name = checks.text("name", &new.name, MAX_NAME_CHARS);
        if new.chair_id.is_none() {
            checks.fail(
                "chair_id",
                "chair_required",
                "must name the chair, an expert",
            );
        }
        if new.member_ids.len() > MAX_GROUP_MEMBERS {
            let message = format!("must have at most {MAX_GROUP_MEMBERS} entries");
            let error = FieldError::new("member_ids", "too_many_entries", message);
            checks.push(error.with("max", MAX_GROUP_MEMBERS));
        }
        checks.finish()?;

        let chair = new.chair_id.clone().ok_or(Error::NotFound("chair"))?;
        let mut members = vec![chair.clone()];
        for member in &new.member_ids {
            if !members.contains(member) {
                members.push(member.clone());
            }
        }
        let group = ExpertGroup {
            id: ExpertGroupId::generate(),
            nomination_id: nomination.clone(),
            name,
            chair_id: chair,
            member_ids: members,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        require(&mut tx, "nominations", "nomination", nomination.as_str()).await?;
        check_experts(&mut tx, &group).await?;

        sqlx::query(
            "INSERT INTO expert_groups (id, nomination_id, name, chair_id, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group.id.clone())
        .bind(group.nomination_id.clone())
        .bind(&group.name)
        .bind(group.chair_id.clone())
        .bind(group.created_at)
        .execute(&mut *tx)
        .await?;
        for member in &group.member_ids {
            sqlx::query("INSERT INTO expert_group_members (group_id, person_id) VALUES ($1, $2)")
                .bind(group.id.clone())
                .bind(member.clone())
                .execute(&mut *tx)
                .await?;
        }
        let detail = format!(
            "chair={} members={}",
            group.chair_id,
            group.member_ids.len()
        );
        record(
            &mut tx,
            actor,
            "expert_group.create",
            "expert_group",
            Some(group.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Lists the expert groups of a nomination, by name.
    pub async fn expert_groups(
        &self,
        actor: &Actor,
        nomination: &NominationId,
        page: Page,
    ) -> Result<Listing<ExpertGroup>, Error> {
        actor.check(Action::ReadStructure)?;
        self.require_exists("nominations", "nomination", nomination.as_str())
            .await?;
        let sql = format!(
            "SELECT id, nomination_id, name, chair_id, created_at FROM expert_groups
             WHERE nomination_id = $1 ORDER BY name, id {}",
            page.sql()
        );
        let rows: Vec<(ExpertGroupId, NominationId, String, PersonId, i64)> = sqlx::query_as(&sql)
            .bind(nomination.clone())
            .fetch_all(&self.pool)
            .await?;
        let mut groups = Vec::with_capacity(rows.len());
        for (id, nomination_id, name, chair_id, created_at) in rows {
            let members: Vec<(PersonId,)> = sqlx::query_as(
                "SELECT person_id FROM expert_group_members WHERE group_id = $1 ORDER BY person_id",
            )
            .bind(id.clone())
            .fetch_all(&self.pool)
            .await?;
            groups.push(ExpertGroup {
                id,
                nomination_id,
                name,
                chair_id,
                member_ids: members.into_iter().map(|(m,)| m).collect(),
                created_at,
            });
        }
        Ok(page.finish(groups))
    }
}

/// Checks that every member of a new group, the chair included, is an expert.
async fn check_experts(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    group: &ExpertGroup,
) -> Result<(), Error> {
    for member in &group.member_ids {
        let field = if *member == group.chair_id {
            "chair_id"
        } else {
            "member_ids"
        };
        let role: Option<(Role,)> = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(member.clone())
            .fetch_optional(&mut **tx)
            .await?;
        match role {
            Some((Role::Expert,)) => {}
            Some(_) => {
                return Err(Error::invalid(
                    field,
                    "not_expert",
                    format!("person {member} is not an expert"),
                ))
            }
            None => {
                return Err(Error::invalid(
                    field,
                    "person_not_found",
                    format!("person {member} not found"),
                ))
            }
        }
    }
    Ok(())
}
