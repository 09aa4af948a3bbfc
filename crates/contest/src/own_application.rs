//! The application a participant came from, as their own page shows it.

use serde::Serialize;

use crate::access::{Action, Actor};
use crate::applications::Status;
use crate::audit::record;
use crate::db::Database;
use crate::error::Error;
use crate::ids::{ApplicationId, NominationId, StageId};

/// The signed-in person's application: its number, nomination, stage and status, without
/// the personal data in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnApplication {
    /// Its id.
    pub id: ApplicationId,
    /// Registration number, unique in the stage.
    pub number: Option<String>,
    /// Position in the workflow.
    pub status: Status,
    /// The nomination.
    pub nomination_id: NominationId,
    /// The nomination's profession.
    pub profession: String,
    /// The stage.
    pub stage_id: StageId,
    /// The contest's name.
    pub contest_name: String,
    /// The region that runs the stage.
    pub region: String,
    /// Submission time, in Unix milliseconds.
    pub submitted_at: i64,
}

impl Database {
    /// Returns the application whose acceptance created the signed-in person, or `None` for
    /// people added by hand. A found application's read is audited.
    pub async fn own_application(&self, actor: &Actor) -> Result<Option<OwnApplication>, Error> {
        actor.check(Action::ReadOwnRecord)?;
        let Some(person) = &actor.person else {
            return Ok(None);
        };
        let mut tx = self.begin().await?;
        let found: Option<OwnApplication> = sqlx::query_as(
            "SELECT a.id, a.number, a.status, a.nomination_id, n.profession, a.stage_id,
                    c.name AS contest_name, s.region, a.submitted_at
             FROM applications a
             JOIN nominations n ON n.id = a.nomination_id
             JOIN stages s ON s.id = a.stage_id
             JOIN contests c ON c.id = s.contest_id
             WHERE a.person_id = $1
             ORDER BY a.submitted_at DESC, a.id
             LIMIT 1",
        )
        .bind(person.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(application) = &found {
            let id = Some(application.id.as_str());
            record(
                &mut tx,
                actor,
                "application.read_own",
                "application",
                id,
                "",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(found)
    }
}
