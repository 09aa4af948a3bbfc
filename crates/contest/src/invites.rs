//! Personal invite links: one-time, expiring and revocable, stored only as a hash, and
//! turned into a session when opened.

use serde::{Deserialize, Serialize};

use crate::access::{Action, Actor, Role};
use crate::accounts::{hash_secret, new_secret, open_session, NewSession};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{Error, FieldError};
use crate::ids::{InviteId, PersonId};

/// Default lifetime of an invite created without `valid_hours`, in hours.
pub const DEFAULT_INVITE_HOURS: u32 = 72;
/// Maximum invite lifetime, in hours (30 days).
pub const MAX_INVITE_HOURS: u32 = 30 * 24;

/// A new invite link. The token is shown once; only its hash is stored.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteLink {
    /// The invite's record.
    pub invite: Invite,
    /// The secret to put in the link.
    pub token: String,
}

/// The fields of a new invite.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewInvite {
    /// Hours until the link expires, from 1 to 720; when missing, the server's default
    /// (72 unless configured otherwise).
    pub valid_hours: Option<u32>,
}

/// An invite link's record, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// Its id.
    pub id: InviteId,
    /// The person it signs in.
    pub person_id: PersonId,
    /// The organiser who created it.
    pub created_by: PersonId,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
    /// Expiry, in Unix milliseconds.
    pub expires_at: i64,
    /// When it was opened, if it was.
    pub used_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl Database {
    /// Creates a one-time invite link for a person who is not an organiser.
    pub async fn create_invite(
        &self,
        actor: &Actor,
        person: &PersonId,
        new: &NewInvite,
    ) -> Result<InviteLink, Error> {
        actor.check(Action::ManageInvites)?;
        let creator = actor.person.clone().ok_or(Error::Forbidden)?;
        let hours = new
            .valid_hours
            .unwrap_or(self.lifetimes.default_invite_hours);
        if !(1..=MAX_INVITE_HOURS).contains(&hours) {
            let message = format!("must be from 1 to {MAX_INVITE_HOURS} hours");
            let error = FieldError::out_of_range("valid_hours", 1, MAX_INVITE_HOURS, message);
            return Err(error.into());
        }

        let mut tx = self.begin().await?;
        let role: Option<(Role,)> = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(person.clone())
            .fetch_optional(&mut *tx)
            .await?;
        match role {
            None => return Err(Error::NotFound("person")),
            Some((Role::Organiser,)) => {
                return Err(Error::invalid(
                    "person_id",
                    "organiser_no_invite",
                    "organisers sign in with a password, not an invite",
                ))
            }
            Some(_) => {}
        }
        let token = new_secret();
        let now = now_ms();
        let invite = Invite {
            id: InviteId::generate(),
            person_id: person.clone(),
            created_by: creator,
            created_at: now,
            expires_at: now + i64::from(hours) * 60 * 60 * 1000,
            used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO invites (id, person_id, token_hash, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(invite.id.clone())
        .bind(invite.person_id.clone())
        .bind(hash_secret(&token))
        .bind(invite.created_by.clone())
        .bind(invite.created_at)
        .bind(invite.expires_at)
        .execute(&mut *tx)
        .await?;
        let detail = format!("person={person} valid_hours={hours}");
        record(
            &mut tx,
            actor,
            "invite.create",
            "invite",
            Some(invite.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(InviteLink { invite, token })
    }

    /// Lists a person's invites, newest first.
    pub async fn invites(&self, actor: &Actor, person: &PersonId) -> Result<Vec<Invite>, Error> {
        actor.check(Action::ManageInvites)?;
        self.require_exists("people", "person", person.as_str())
            .await?;
        let rows = sqlx::query_as(
            "SELECT id, person_id, created_by, created_at, expires_at, used_at, revoked_at
             FROM invites WHERE person_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(person.clone())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// Revokes an invite that has not been opened yet.
    pub async fn revoke_invite(&self, actor: &Actor, invite: &InviteId) -> Result<(), Error> {
        actor.check(Action::ManageInvites)?;
        let mut tx = self.begin().await?;
        require_invite(&mut tx, invite).await?;
        let changed = sqlx::query(
            "UPDATE invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(invite.clone())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(Error::conflict(
                "invite_closed",
                "the invite is already used or revoked",
            ));
        }
        record(
            &mut tx,
            actor,
            "invite.revoke",
            "invite",
            Some(invite.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens an invite link: marks it used and opens a session for its person. A link works
    /// once, before it expires and unless it was revoked.
    pub async fn accept_invite(&self, token: &str) -> Result<NewSession, Error> {
        let looks_valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !looks_valid {
            return Err(Error::InvalidInvite);
        }

        let now = now_ms();
        let mut tx = self.begin().await?;
        // The UPDATE claims the link, so two requests racing for it cannot both succeed.
        let claimed: Option<(InviteId, PersonId)> = sqlx::query_as(
            "UPDATE invites SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
             RETURNING id, person_id",
        )
        .bind(now)
        .bind(hash_secret(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((invite, person)) = claimed else {
            return Err(Error::InvalidInvite);
        };

        let (role,): (Role,) = sqlx::query_as("SELECT role FROM people WHERE id = $1")
            .bind(person.clone())
            .fetch_one(&mut *tx)
            .await?;

        let session =
            open_session(&mut tx, &person, role, "invite", self.lifetimes.session_ms).await?;
        let actor = session.info.actor();
        record(
            &mut tx,
            &actor,
            "invite.accept",
            "invite",
            Some(invite.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }
}

async fn require_invite(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    invite: &InviteId,
) -> Result<(), Error> {
    crate::structure::require(tx, "invites", "invite", invite.as_str()).await
}
