//! People: their roles and personal records.

use serde::{Deserialize, Serialize};

use crate::access::{Action, Actor, Role};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::Error;
use crate::ids::{PersonId, StageId};
use crate::validate::{Checks, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// Maximum length of an e-mail address, in characters (RFC 5321 path limit).
pub(crate) const MAX_EMAIL_CHARS: usize = 254;
/// Maximum length of a phone number, in characters.
pub(crate) const MAX_PHONE_CHARS: usize = 32;
/// Maximum length of a full name, in characters: the limit of a name in media tokens.
pub const MAX_FULL_NAME_CHARS: usize = 100;

/// A person's record. Everything but `id` and `role` is personal data, and every read of it
/// is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// Its id.
    pub id: PersonId,
    /// The person's role.
    pub role: Role,
    /// Full name, as shown to others in rooms.
    pub full_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Region the person comes from.
    pub region: Option<String>,
    /// The regional stage a commission member oversees; `None` for every other role.
    pub stage_id: Option<StageId>,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of a new person.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewPerson {
    /// Any role but organiser: organisers are created with `profstage create-organiser`.
    pub role: Option<Role>,
    /// 1 to 100 characters.
    pub full_name: String,
    /// An e-mail address, up to 254 characters.
    pub email: Option<String>,
    /// Digits, spaces and `+ - ( )`, up to 32 characters.
    pub phone: Option<String>,
    /// Up to 200 characters.
    pub region: Option<String>,
    /// The regional stage a commission member oversees: required for that role and
    /// rejected for every other.
    pub stage_id: Option<StageId>,
}

pub(crate) const PERSON_COLUMNS: &str =
    "id, role, full_name, email, phone, region, stage_id, created_at";

/// Returns whether `email` looks like an e-mail address.
pub(crate) fn is_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(char::is_whitespace)
}

/// Returns whether `phone` has digits and only digits, spaces and `+ - ( )`.
pub(crate) fn is_phone(phone: &str) -> bool {
    let allowed = |c: char| c.is_ascii_digit() || " +-()".contains(c);
    phone.chars().all(allowed) && phone.chars().any(|c| c.is_ascii_digit())
}

/// Checks the fields of a new person and builds its record.
pub(crate) fn check_person(new: &NewPerson) -> Result<Person, Error> {
    let mut checks = Checks::default();
    let role = match new.role {
        None => {
            checks.fail(
                "role",
                "invalid_role",
                "must be participant, expert, commission_member or support",
            );
            Role::Participant
        }
        Some(Role::Organiser) => {
            checks.fail(
                "role",
                "organiser_not_allowed",
                "organisers are created with `profstage create-organiser`",
            );
            Role::Organiser
        }
        Some(role) => role,
    };
    let full_name = checks.text("full_name", &new.full_name, MAX_FULL_NAME_CHARS);
    let email = checks.optional_text("email", new.email.as_deref(), MAX_EMAIL_CHARS);
    if let Some(email) = &email {
        if !is_email(email) {
            checks.fail(
                "email",
                "invalid_email",
                "must be an e-mail address such as name@example.org",
            );
        }
    }
    let phone = checks.optional_text("phone", new.phone.as_deref(), MAX_PHONE_CHARS);
    if let Some(phone) = &phone {
        if !is_phone(phone) {
            checks.fail(
                "phone",
                "invalid_phone",
                "must contain only digits, spaces and + - ( )",
            );
        }
    }
    let region = checks.optional_text("region", new.region.as_deref(), MAX_NAME_CHARS);
    check_stage_of_role(&mut checks, role, new.stage_id.as_ref());
    checks.finish()?;
    Ok(Person {
        id: PersonId::generate(),
        role,
        full_name,
        email,
        phone,
        region,
        stage_id: new.stage_id.clone(),
        created_at: now_ms(),
    })
}

/// Checks that a commission member names a stage and nobody else does.
fn check_stage_of_role(checks: &mut Checks, role: Role, stage: Option<&StageId>) {
    match (role, stage) {
        (Role::CommissionMember, None) => checks.fail(
            "stage_id",
            "stage_required",
            "must name the regional stage the commission member oversees",
        ),
        (Role::CommissionMember, Some(_)) | (_, None) => {}
        (_, Some(_)) => checks.fail(
            "stage_id",
            "stage_not_allowed",
            "must be left out: only commission members belong to a stage",
        ),
    }
}

/// Fails with a field error on `stage_id` unless the stage a person names exists.
pub(crate) async fn require_person_stage(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person: &Person,
) -> Result<(), Error> {
    let Some(stage) = &person.stage_id else {
        return Ok(());
    };
    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM stages WHERE id = $1")
        .bind(stage.clone())
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Error::invalid(
            "stage_id",
            "stage_not_found",
            format!("no stage has the id {stage}"),
        )),
    }
}

impl Database {
    /// Creates a person who is not an organiser.
    pub async fn create_person(&self, actor: &Actor, new: &NewPerson) -> Result<Person, Error> {
        actor.check(Action::ManagePeople)?;
        let person = check_person(new)?;
        let mut tx = self.begin().await?;
        require_person_stage(&mut tx, &person).await?;
        insert_person(&mut tx, &person).await?;
        let detail = format!("role={}", person.role.as_str());
        record(
            &mut tx,
            actor,
            "person.create",
            "person",
            Some(person.id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Returns a person's record and audits the read. A person may read their own record;
    /// other records need [`Action::ReadPeople`].
    pub async fn person(&self, actor: &Actor, id: &PersonId) -> Result<Person, Error> {
        if actor.person.as_ref() == Some(id) {
            actor.check(Action::ReadOwnRecord)?;
        } else {
            actor.check(Action::ReadPeople)?;
        }
        let mut tx = self.begin().await?;
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        let person: Person = sqlx::query_as(&sql)
            .bind(id.clone())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound("person"))?;
        record(
            &mut tx,
            actor,
            "person.read",
            "person",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Lists people, by name, optionally of one role, and audits which records were read.
    pub async fn people(
        &self,
        actor: &Actor,
        role: Option<Role>,
        page: Page,
    ) -> Result<Listing<Person>, Error> {
        actor.check(Action::ReadPeople)?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE ($1 IS NULL OR role = $1)
             ORDER BY full_name, id {}",
            page.sql()
        );
        let rows: Vec<Person> = sqlx::query_as(&sql)
            .bind(role.map(|r| r.as_str()))
            .fetch_all(&mut *tx)
            .await?;
        let listing = page.finish(rows);
        if !listing.items.is_empty() {
            let ids: Vec<&str> = listing.items.iter().map(|p| p.id.as_str()).collect();
            let detail = format!("ids={}", ids.join(" "));
            record(&mut tx, actor, "person.list", "person", None, &detail).await?;
        }
        tx.commit().await?;
        Ok(listing)
    }
}

pub(crate) async fn insert_person(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person: &Person,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO people (id, role, full_name, email, phone, region, stage_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(person.id.clone())
    .bind(person.role)
    .bind(&person.full_name)
    .bind(person.email.clone())
    .bind(person.phone.clone())
    .bind(person.region.clone())
    .bind(person.stage_id.clone())
    .bind(person.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
