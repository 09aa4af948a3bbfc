//! Applications to take part in a nomination: public submission with attachments and
//! consent, a private status link, and the organisers' workflow from submission to
//! participant.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor, Role};
use crate::accounts::{hash_secret, new_secret};
use crate::audit::{csv_field, record};
use crate::db::{now_ms, Database};
use crate::error::{Error, FieldError};
use crate::ids::{ApplicationId, AttachmentId, NominationId, PersonId, StageId};
use crate::people::{insert_person, Person, MAX_FULL_NAME_CHARS};
use crate::validate::{Checks, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};
use crate::{Listing, Page};

/// Most attachments one application may carry.
pub const MAX_ATTACHMENTS: usize = 5;
/// Largest attachment, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 5 * 1024 * 1024;
/// Largest total of one application's attachments, in bytes.
pub const MAX_TOTAL_ATTACHMENT_BYTES: usize = 15 * 1024 * 1024;
/// Most years of experience accepted.
const MAX_EXPERIENCE_YEARS: i64 = 80;
/// Youngest and oldest applicant, in years, counted by the year of birth alone.
const MIN_AGE_YEARS: i64 = 14;
const MAX_AGE_YEARS: i64 = 100;

/// The workflow state of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Sent by the applicant, not yet looked at.
    Submitted,
    /// Given a registration number.
    Registered,
    /// Being reviewed by the organisers.
    UnderReview,
    /// Accepted: the applicant is a participant.
    Accepted,
    /// Rejected, with a reason.
    Rejected,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 5] = [
        Status::Submitted,
        Status::Registered,
        Status::UnderReview,
        Status::Accepted,
        Status::Rejected,
    ];

    /// Returns the status's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Registered => "registered",
            Status::UnderReview => "under_review",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| format!("unknown status {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(Status);

/// A file type accepted as an attachment, detected from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// `%PDF-`.
    Pdf,
    /// `FF D8 FF`.
    Jpeg,
    /// The eight-byte PNG signature.
    Png,
}

impl AttachmentKind {
    /// Returns the kind whose signature `content` starts with, or `None`.
    pub fn detect(content: &[u8]) -> Option<Self> {
        if content.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }

    /// Returns the kind's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpeg",
            Self::Png => "png",
        }
    }

    /// Returns the media type to serve the file with.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        [Self::Pdf, Self::Jpeg, Self::Png]
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown attachment kind {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(AttachmentKind);

/// A version of the consent text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentText {
    /// Its version, such as `2027-01`.
    pub version: String,
    /// The text shown to the applicant.
    pub body: String,
    /// SHA-256 of the body's UTF-8 bytes, in hex.
    pub sha256: String,
    /// Creation time, in Unix milliseconds.
    pub created_at: i64,
}

/// The fields of an application, as the applicant sends them.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct NewApplication {
    /// The nomination applied for; its stage follows from it.
    pub nomination_id: String,
    /// 1 to 100 characters.
    pub full_name: String,
    /// `YYYY-MM-DD`; the applicant is 14 to 100 years old.
    pub birth_date: String,
    /// 1 to 200 characters.
    pub employer: String,
    /// 1 to 200 characters.
    pub position: String,
    /// 0 to 80.
    pub experience_years: Option<i64>,
    /// An e-mail address, up to 254 characters.
    pub email: String,
    /// Digits, spaces and `+ - ( )`, up to 32 characters.
    pub phone: String,
    /// The version of the consent text shown; must be the current one.
    pub consent_version: String,
    /// Must be `true`.
    pub consent: bool,
}

/// One file to attach.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// The file's bytes; the name and declared type are not trusted.
    pub content: Vec<u8>,
}

/// The result of a submission, returned once: the application and its secret status token.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Submitted {
    /// The application's id.
    pub id: ApplicationId,
    /// 64 hex digits, shown only this once; the database keeps its SHA-256.
    pub status_token: String,
}

/// An application, as organisers see it. Everything but ids, status and times is personal
/// data, and every read is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    /// Its id.
    pub id: ApplicationId,
    /// The stage.
    pub stage_id: StageId,
    /// The nomination.
    pub nomination_id: NominationId,
    /// Position in the workflow.
    pub status: Status,
    /// Registration number, unique in the stage, such as `ЛПП-2027-0001`.
    pub number: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: String,
    /// Employer.
    pub employer: String,
    /// Position.
    pub position: String,
    /// Years of experience.
    pub experience_years: i64,
    /// E-mail address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// The consent text version agreed to.
    pub consent_version: String,
    /// SHA-256 of that text.
    pub consent_sha256: String,
    /// Server time of the consent, in Unix milliseconds.
    pub consented_at: i64,
    /// An earlier application of the same person to the same nomination.
    pub duplicate_of: Option<ApplicationId>,
    /// Reason for the rejection.
    pub rejection_reason: Option<String>,
    /// The participant created on acceptance.
    pub person_id: Option<PersonId>,
    /// Submission time, in Unix milliseconds.
    pub submitted_at: i64,
    /// Time of the last change, in Unix milliseconds.
    pub updated_at: i64,
}

/// The view behind the status link, with no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationStatus {
    /// Position in the workflow.
    pub status: Status,
    /// Registration number, once registered.
    pub number: Option<String>,
    /// Reason for the rejection.
    pub rejection_reason: Option<String>,
    /// Submission time, in Unix milliseconds.
    pub submitted_at: i64,
    /// Time of the last change, in Unix milliseconds.
    pub updated_at: i64,
}

/// What the public application form shows for one nomination: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationForm {
    /// The contest's name.
    pub contest_name: String,
    /// The stage.
    pub stage_id: StageId,
    /// The region that runs the stage.
    pub region: String,
    /// Start of the stage, in Unix milliseconds.
    pub starts_at: i64,
    /// End of the stage, in Unix milliseconds.
    pub ends_at: i64,
    /// The nomination.
    pub nomination_id: NominationId,
    /// The nomination's profession.
    pub profession: String,
    /// The consent text to show; the application names its version.
    pub consent: ConsentText,
}

/// An attachment's description, without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// Its application.
    pub application_id: ApplicationId,
    /// Its type.
    pub kind: AttachmentKind,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content, in hex.
    pub sha256: String,
}

/// A filter of the organisers' list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationFilter {
    /// Only this stage.
    pub stage_id: Option<StageId>,
    /// Only this nomination.
    pub nomination_id: Option<NominationId>,
    /// Only this status.
    pub status: Option<Status>,
    /// Only names containing this text, compared as duplicates are.
    pub name: Option<String>,
}

/// A change of status that organisers make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// submitted → registered, with the next number of the stage.
    Register,
    /// registered → under review.
    StartReview,
    /// under review → accepted; creates the participant.
    Accept,
    /// under review → rejected, with a reason.
    Reject(String),
}

impl Transition {
    fn required_status(&self) -> Status {
        match self {
            Self::Register => Status::Submitted,
            Self::StartReview => Status::Registered,
            Self::Accept | Self::Reject(_) => Status::UnderReview,
        }
    }

    fn target_status(&self) -> Status {
        match self {
            Self::Register => Status::Registered,
            Self::StartReview => Status::UnderReview,
            Self::Accept => Status::Accepted,
            Self::Reject(_) => Status::Rejected,
        }
    }

    fn audit_action(&self) -> &'static str {
        match self {
            Self::Register => "application.register",
            Self::StartReview => "application.start_review",
            Self::Accept => "application.accept",
            Self::Reject(_) => "application.reject",
        }
    }
}

/// An application's id and what its status link shows.
type StatusRow = (
    ApplicationId,
    Status,
    Option<String>,
    Option<String>,
    i64,
    i64,
);
/// A stage and nomination as the public form shows them.
type FormRow = (String, StageId, String, i64, i64, NominationId, String);
/// An attachment's description and content.
type AttachmentRow = (
    AttachmentId,
    ApplicationId,
    AttachmentKind,
    i64,
    String,
    Vec<u8>,
);

const COLUMNS: &str = "id, stage_id, nomination_id, status, number, full_name, birth_date, \
     employer, position, experience_years, email, phone, consent_version, consent_sha256, \
     consented_at, duplicate_of, rejection_reason, person_id, submitted_at, updated_at";

/// Lowercases a full name, writes ё as е and keeps single spaces, so that two spellings of
/// one name compare equal.
pub fn name_key(full_name: &str) -> String {
    let lower = full_name.to_lowercase().replace('ё', "е");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Returns the Gregorian (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn year_of_ms(ms: i64) -> i64 {
    civil_from_days(ms.div_euclid(86_400_000)).0
}

/// Parses `YYYY-MM-DD` into (year, month, day) when it is a real date.
fn parse_date(text: &str) -> Option<(i64, i64, i64)> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &text[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((year, month, day))
}

/// A checked application, ready to insert.
struct Checked {
    nomination_id: NominationId,
    full_name: String,
    birth_date: String,
    employer: String,
    position: String,
    experience_years: i64,
    email: String,
    phone: String,
    attachments: Vec<(AttachmentKind, Vec<u8>)>,
}

fn check_application(
    new: &NewApplication,
    attachments: Vec<NewAttachment>,
) -> Result<Checked, Error> {
    let mut checks = Checks::default();
    let nomination_id = new
        .nomination_id
        .parse::<NominationId>()
        .unwrap_or_else(|_| {
            checks.fail("nomination_id", "invalid_id", "must be a nomination id");
            NominationId::generate()
        });
    let full_name = checks.text("full_name", &new.full_name, MAX_FULL_NAME_CHARS);
    let birth_date = new.birth_date.trim().to_owned();
    check_birth_date(&mut checks, &birth_date);
    let employer = checks.text("employer", &new.employer, MAX_NAME_CHARS);
    let position = checks.text("position", &new.position, MAX_NAME_CHARS);
    let experience_years = new.experience_years.unwrap_or(-1);
    if !(0..=MAX_EXPERIENCE_YEARS).contains(&experience_years) {
        let message = format!("must be a whole number from 0 to {MAX_EXPERIENCE_YEARS}");
        let error = FieldError::out_of_range("experience_years", 0, MAX_EXPERIENCE_YEARS, message);
        checks.push(error);
    }
    let email = checks.text("email", &new.email, crate::people::MAX_EMAIL_CHARS);
    if !email.is_empty() && !crate::people::is_email(&email) {
        checks.fail(
            "email",
            "invalid_email",
            "must be an e-mail address such as name@example.org",
        );
    }
    let phone = checks.text("phone", &new.phone, crate::people::MAX_PHONE_CHARS);
    if !phone.is_empty() && !crate::people::is_phone(&phone) {
        checks.fail(
            "phone",
            "invalid_phone",
            "must contain only digits, spaces and + - ( )",
        );
    }
    if !new.consent {
        checks.fail(
            "consent",
            "consent_required",
            "must be true: consent to the processing of personal data is required",
        );
    }
    if new.consent_version.trim().is_empty() {
        checks.fail("consent_version", "required", "must not be empty");
    }
    let attachments = check_attachments(&mut checks, attachments);
    checks.finish()?;
    Ok(Checked {
        nomination_id,
        full_name,
        birth_date,
        employer,
        position,
        experience_years,
        email: email.to_lowercase(),
        phone,
        attachments,
    })
}

fn check_birth_date(checks: &mut Checks, birth_date: &str) {
    let this_year = year_of_ms(now_ms());
    match parse_date(birth_date) {
        None => checks.fail(
            "birth_date",
            "invalid_date",
            "must be a date written YYYY-MM-DD",
        ),
        Some((year, _, _))
            if !(this_year - MAX_AGE_YEARS..=this_year - MIN_AGE_YEARS).contains(&year) =>
        {
            let message =
                format!("the applicant must be {MIN_AGE_YEARS} to {MAX_AGE_YEARS} years old");
            let error = FieldError::new("birth_date", "age_out_of_range", message);
            checks.push(error.with("min", MIN_AGE_YEARS).with("max", MAX_AGE_YEARS));
        }
        Some(_) => {}
    }
}

fn check_attachments(
    checks: &mut Checks,
    attachments: Vec<NewAttachment>,
) -> Vec<(AttachmentKind, Vec<u8>)> {
    if attachments.len() > MAX_ATTACHMENTS {
        let message = format!("at most {MAX_ATTACHMENTS} files may be attached");
        let error = FieldError::new("attachments", "too_many_files", message);
        checks.push(error.with("max", MAX_ATTACHMENTS));
    }
    let total: usize = attachments.iter().map(|a| a.content.len()).sum();
    if total > MAX_TOTAL_ATTACHMENT_BYTES {
        let mib = MAX_TOTAL_ATTACHMENT_BYTES >> 20;
        let message = format!("must total at most {mib} MiB");
        let error = FieldError::new("attachments", "files_too_large", message);
        checks.push(error.with("max", mib));
    }
    let mut kept = Vec::new();
    for (index, attachment) in attachments.into_iter().enumerate() {
        let field = format!("attachments[{index}]");
        if attachment.content.len() > MAX_ATTACHMENT_BYTES {
            checks.push(FieldError::file_too_large(&field, MAX_ATTACHMENT_BYTES));
            continue;
        }
        match AttachmentKind::detect(&attachment.content) {
            Some(kind) => kept.push((kind, attachment.content)),
            None => checks.fail(
                &field,
                "unsupported_file_type",
                "must be a PDF, JPEG or PNG file; its content is none of these",
            ),
        }
    }
    kept
}

/// The performer of a public submission or a status look-up: nobody signed in.
fn anonymous() -> Actor {
    Actor {
        person: None,
        role: Role::Participant,
        session: None,
    }
}

impl Database {
    /// Stores a new version of the consent text; applications must agree to the newest.
    pub async fn create_consent_text(
        &self,
        actor: &Actor,
        version: &str,
        body: &str,
    ) -> Result<ConsentText, Error> {
        actor.check(Action::ManageStructure)?;
        let mut checks = Checks::default();
        let version = checks.text("version", version, 50);
        let body = checks.long_text("body", body, MAX_DESCRIPTION_CHARS);
        if body.is_empty() {
            checks.fail("body", "required", "must not be empty");
        }
        checks.finish()?;
        let text = ConsentText {
            sha256: hex::encode(Sha256::digest(body.as_bytes())),
            version,
            body,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO consent_texts (version, body, sha256, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&text.version)
        .bind(&text.body)
        .bind(&text.sha256)
        .bind(text.created_at)
        .execute(&mut *tx)
        .await
        .map_err(crate::error::conflict_on_unique(
            "duplicate_consent_version",
            "this consent version exists",
        ))?;
        let detail = format!("version={}", text.version);
        record(&mut tx, actor, "consent.create", "consent", None, &detail).await?;
        tx.commit().await?;
        Ok(text)
    }

    /// Returns the newest consent text, which the public form shows.
    pub async fn current_consent(&self) -> Result<ConsentText, Error> {
        sqlx::query_as(
            "SELECT version, body, sha256, created_at FROM consent_texts
             ORDER BY created_at DESC, version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound("consent text"))
    }

    /// Returns the newest consent text to someone who may publish the next one, so that
    /// they see which version is in force. [`Error::NotFound`] before the first one.
    pub async fn consent_text_in_force(&self, actor: &Actor) -> Result<ConsentText, Error> {
        actor.check(Action::ManageStructure)?;
        self.current_consent().await
    }

    /// Returns what the public form shows for a nomination of a stage. Needs no actor,
    /// because the form is public and holds no personal data. A nomination of another
    /// stage is [`Error::NotFound`], and so is a missing consent text: no applications
    /// are taken before organisers store one.
    pub async fn application_form(
        &self,
        stage: &StageId,
        nomination: &NominationId,
    ) -> Result<ApplicationForm, Error> {
        let row: Option<FormRow> = sqlx::query_as(
            "SELECT c.name, s.id, s.region, s.starts_at, s.ends_at, n.id, n.profession
             FROM nominations n JOIN stages s ON s.id = n.stage_id
             JOIN contests c ON c.id = s.contest_id
             WHERE n.id = $1 AND s.id = $2",
        )
        .bind(nomination.clone())
        .bind(stage.clone())
        .fetch_optional(&self.pool)
        .await?;
        let (contest_name, stage_id, region, starts_at, ends_at, nomination_id, profession) =
            row.ok_or(Error::NotFound("nomination of this stage"))?;
        Ok(ApplicationForm {
            contest_name,
            stage_id,
            region,
            starts_at,
            ends_at,
            nomination_id,
            profession,
            consent: self.current_consent().await?,
        })
    }

    /// Submits an application with its attachments, without signing in. Everything is
    /// checked before anything is saved, and all of it is saved in one transaction. An
    /// application of a person (same normalised name and date of birth, or same e-mail) who
    /// already applied to the same nomination is saved and flagged with `duplicate_of`.
    pub async fn submit_application(
        &self,
        new: &NewApplication,
        attachments: Vec<NewAttachment>,
    ) -> Result<Submitted, Error> {
        let checked = check_application(new, attachments)?;
        let consent = self.current_consent().await?;
        if consent.version != new.consent_version.trim() {
            return Err(Error::invalid(
                "consent_version",
                "outdated_consent",
                format!("must be the current version, {}", consent.version),
            ));
        }
        let mut tx = self.begin().await?;
        let stage: Option<(StageId,)> =
            sqlx::query_as("SELECT stage_id FROM nominations WHERE id = $1")
                .bind(checked.nomination_id.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((stage_id,)) = stage else {
            return Err(Error::invalid(
                "nomination_id",
                "nomination_not_found",
                "no such nomination",
            ));
        };
        let key = name_key(&checked.full_name);
        let duplicate: Option<(ApplicationId,)> = sqlx::query_as(
            "SELECT id FROM applications WHERE nomination_id = $1
             AND ((name_key = $2 AND birth_date = $3) OR email = $4)
             ORDER BY submitted_at, id LIMIT 1",
        )
        .bind(checked.nomination_id.clone())
        .bind(&key)
        .bind(&checked.birth_date)
        .bind(&checked.email)
        .fetch_optional(&mut *tx)
        .await?;
        let id = ApplicationId::generate();
        let token = new_secret();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO applications (id, stage_id, nomination_id, status, full_name, name_key,
             birth_date, employer, position, experience_years, email, phone, consent_version,
             consent_sha256, consented_at, duplicate_of, status_token_hash, submitted_at,
             updated_at)
             VALUES ($1, $2, $3, 'submitted', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
             $15, $16, $14, $14)",
        )
        .bind(id.clone())
        .bind(stage_id)
        .bind(checked.nomination_id.clone())
        .bind(&checked.full_name)
        .bind(&key)
        .bind(&checked.birth_date)
        .bind(&checked.employer)
        .bind(&checked.position)
        .bind(checked.experience_years)
        .bind(&checked.email)
        .bind(&checked.phone)
        .bind(&consent.version)
        .bind(&consent.sha256)
        .bind(now)
        .bind(duplicate.as_ref().map(|(d,)| d.as_str().to_owned()))
        .bind(hash_secret(&token))
        .execute(&mut *tx)
        .await?;
        for (position, (kind, content)) in checked.attachments.iter().enumerate() {
            insert_attachment(&mut tx, &id, position, *kind, content, now).await?;
        }
        let detail = format!(
            "nomination={} attachments={} consent={} duplicate_of={}",
            checked.nomination_id.as_str(),
            checked.attachments.len(),
            consent.version,
            duplicate.as_ref().map_or("", |(d,)| d.as_str()),
        );
        record(
            &mut tx,
            &anonymous(),
            "application.submit",
            "application",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Submitted {
            id,
            status_token: token,
        })
    }

    /// Returns the status that the private link shows. A wrong token is
    /// [`Error::NotFound`], whether or not the application exists.
    pub async fn application_status(&self, token: &str) -> Result<ApplicationStatus, Error> {
        let mut tx = self.begin().await?;
        let row: Option<StatusRow> = sqlx::query_as(
            "SELECT id, status, number, rejection_reason, submitted_at, updated_at
                 FROM applications WHERE status_token_hash = $1",
        )
        .bind(hash_secret(token.trim()))
        .fetch_optional(&mut *tx)
        .await?;
        let (id, status, number, rejection_reason, submitted_at, updated_at) =
            row.ok_or(Error::NotFound("application"))?;
        record(
            &mut tx,
            &anonymous(),
            "application.status_read",
            "application",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(ApplicationStatus {
            status,
            number,
            rejection_reason,
            submitted_at,
            updated_at,
        })
    }

    /// Returns an application and audits the read.
    pub async fn application(
        &self,
        actor: &Actor,
        id: &ApplicationId,
    ) -> Result<Application, Error> {
        actor.check(Action::ReviewApplications)?;
        let mut tx = self.begin().await?;
        let application = select_application(&mut tx, id).await?;
        record(
            &mut tx,
            actor,
            "application.read",
            "application",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(application)
    }

    /// Lists applications, oldest first, and audits which were read.
    pub async fn applications(
        &self,
        actor: &Actor,
        filter: &ApplicationFilter,
        page: Page,
    ) -> Result<Listing<Application>, Error> {
        actor.check(Action::ReviewApplications)?;
        let name = filter
            .name
            .as_deref()
            .map(name_key)
            .filter(|n| !n.is_empty());
        let pattern = name.map(|n| {
            let escaped = n
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM applications
             WHERE ($1 IS NULL OR stage_id = $1) AND ($2 IS NULL OR nomination_id = $2)
             AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR name_key LIKE $4 ESCAPE '\\')
             ORDER BY submitted_at, id {}",
            page.sql()
        );
        let rows: Vec<Application> = sqlx::query_as(&sql)
            .bind(filter.stage_id.as_ref().map(|s| s.as_str().to_owned()))
            .bind(filter.nomination_id.as_ref().map(|n| n.as_str().to_owned()))
            .bind(filter.status.map(Status::as_str))
            .bind(pattern)
            .fetch_all(&mut *tx)
            .await?;
        let listing = page.finish(rows);
        if !listing.items.is_empty() {
            let ids: Vec<&str> = listing.items.iter().map(|a| a.id.as_str()).collect();
            let detail = format!("ids={}", ids.join(" "));
            record(
                &mut tx,
                actor,
                "application.list",
                "application",
                None,
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(listing)
    }

    /// Lists an application's attachments, without content.
    pub async fn attachments(
        &self,
        actor: &Actor,
        id: &ApplicationId,
    ) -> Result<Vec<Attachment>, Error> {
        actor.check(Action::ReviewApplications)?;
        let mut tx = self.begin().await?;
        select_application(&mut tx, id).await?;
        let rows = sqlx::query_as(
            "SELECT id, application_id, kind, size, sha256 FROM application_attachments
             WHERE application_id = $1 ORDER BY position",
        )
        .bind(id.clone())
        .fetch_all(&mut *tx)
        .await?;
        record(
            &mut tx,
            actor,
            "attachment.list",
            "application",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Returns an attachment and its content, and audits the read.
    pub async fn attachment(
        &self,
        actor: &Actor,
        id: &AttachmentId,
    ) -> Result<(Attachment, Vec<u8>), Error> {
        actor.check(Action::ReviewApplications)?;
        let mut tx = self.begin().await?;
        let row: Option<AttachmentRow> = sqlx::query_as(
            "SELECT id, application_id, kind, size, sha256, content
                 FROM application_attachments WHERE id = $1",
        )
        .bind(id.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let (id, application_id, kind, size, sha256, content) =
            row.ok_or(Error::NotFound("attachment"))?;
        record(
            &mut tx,
            actor,
            "attachment.read",
            "attachment",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        let attachment = Attachment {
            id,
            application_id,
            kind,
            size,
            sha256,
        };
        Ok((attachment, content))
    }

    /// Moves every listed application through `transition` in one transaction: either all
    /// of them change or, when one cannot, none does.
    pub async fn transition_applications(
        &self,
        actor: &Actor,
        ids: &[ApplicationId],
        transition: &Transition,
    ) -> Result<Vec<Application>, Error> {
        actor.check(Action::ReviewApplications)?;
        if ids.is_empty() || ids.len() > Page::MAX_LIMIT as usize {
            let message = format!("must list 1 to {} applications", Page::MAX_LIMIT);
            return Err(FieldError::out_of_range("ids", 1, Page::MAX_LIMIT, message).into());
        }
        if let Transition::Reject(reason) = transition {
            let mut checks = Checks::default();
            let reason = checks.long_text("reason", reason, MAX_DESCRIPTION_CHARS);
            if reason.is_empty() {
                checks.fail(
                    "reason",
                    "required",
                    "must not be empty: a rejection needs a reason",
                );
            }
            checks.finish()?;
        }
        let mut tx = self.begin().await?;
        let mut changed = Vec::with_capacity(ids.len());
        for id in ids {
            changed.push(apply(&mut tx, actor, id, transition).await?);
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Returns the heading of a stage's participant list, "Участники: contest — region".
    /// Checks the same permission as the export, and a missing stage is
    /// [`Error::NotFound`].
    pub async fn participants_title(
        &self,
        actor: &Actor,
        stage: &StageId,
    ) -> Result<String, Error> {
        actor.check(Action::ReviewApplications)?;
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT c.name, s.region FROM stages s JOIN contests c ON c.id = s.contest_id
             WHERE s.id = $1",
        )
        .bind(stage.clone())
        .fetch_optional(&self.pool)
        .await?;
        let (contest, region) = row.ok_or(Error::NotFound("stage"))?;
        Ok(format!("Участники: {contest} — {region}"))
    }

    /// Lists the participants created from accepted applications of a stage, by number.
    /// The read is audited.
    pub async fn accepted_applications(
        &self,
        actor: &Actor,
        stage: &StageId,
    ) -> Result<Vec<Application>, Error> {
        actor.check(Action::ReviewApplications)?;
        let mut tx = self.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM applications WHERE stage_id = $1 AND status = 'accepted'
             ORDER BY number, id"
        );
        let rows: Vec<Application> = sqlx::query_as(&sql)
            .bind(stage.clone())
            .fetch_all(&mut *tx)
            .await?;
        let detail = format!("count={}", rows.len());
        record(
            &mut tx,
            actor,
            "application.export",
            "stage",
            Some(stage.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(rows)
    }
}

async fn select_application(
    tx: &mut Transaction<'static, Any>,
    id: &ApplicationId,
) -> Result<Application, Error> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("application"))
}

async fn insert_attachment(
    tx: &mut Transaction<'static, Any>,
    application: &ApplicationId,
    position: usize,
    kind: AttachmentKind,
    content: &[u8],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO application_attachments
         (id, application_id, position, kind, size, sha256, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(AttachmentId::generate())
    .bind(application.clone())
    .bind(position as i64)
    .bind(kind)
    .bind(content.len() as i64)
    .bind(hex::encode(Sha256::digest(content)))
    .bind(content.to_vec())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies one transition inside `tx`, with its audit entry.
async fn apply(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    id: &ApplicationId,
    transition: &Transition,
) -> Result<Application, Error> {
    let mut application = select_application(tx, id).await?;
    if application.status != transition.required_status() {
        return Err(Error::conflict(
            "invalid_transition",
            format!(
                "application {} is {}; only a {} application can become {}",
                id.as_str(),
                application.status.as_str(),
                transition.required_status().as_str(),
                transition.target_status().as_str(),
            ),
        ));
    }
    let now = now_ms();
    match transition {
        Transition::Register => {
            application.number = Some(next_number(tx, &application.stage_id).await?);
        }
        Transition::Accept => {
            application.person_id = Some(create_participant(tx, &application, now).await?);
        }
        Transition::Reject(reason) => application.rejection_reason = Some(reason.trim().into()),
        Transition::StartReview => {}
    }
    application.status = transition.target_status();
    application.updated_at = now;
    sqlx::query(
        "UPDATE applications SET status = $1, number = $2, person_id = $3,
         rejection_reason = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(application.status)
    .bind(application.number.clone())
    .bind(
        application
            .person_id
            .as_ref()
            .map(|p| p.as_str().to_owned()),
    )
    .bind(application.rejection_reason.clone())
    .bind(now)
    .bind(id.clone())
    .execute(&mut **tx)
    .await?;
    let detail = format!("status={}", application.status.as_str());
    record(
        tx,
        actor,
        transition.audit_action(),
        "application",
        Some(id.as_str()),
        &detail,
    )
    .await?;
    Ok(application)
}

/// Takes the stage's next registration number, `ЛПП-YYYY-NNNN` with the stage's start year.
async fn next_number(tx: &mut Transaction<'static, Any>, stage: &StageId) -> Result<String, Error> {
    sqlx::query(
        "INSERT INTO application_counters (stage_id, last_number) VALUES ($1, 0)
         ON CONFLICT (stage_id) DO NOTHING",
    )
    .bind(stage.clone())
    .execute(&mut **tx)
    .await?;
    let (last,): (i64,) = sqlx::query_as(
        "UPDATE application_counters SET last_number = last_number + 1 WHERE stage_id = $1
         RETURNING last_number",
    )
    .bind(stage.clone())
    .fetch_one(&mut **tx)
    .await?;
    let (starts_at,): (i64,) = sqlx::query_as("SELECT starts_at FROM stages WHERE id = $1")
        .bind(stage.clone())
        .fetch_one(&mut **tx)
        .await?;
    Ok(format!("ЛПП-{}-{last:04}", year_of_ms(starts_at)))
}

/// Creates the participant of an accepted application.
async fn create_participant(
    tx: &mut Transaction<'static, Any>,
    application: &Application,
    now: i64,
) -> Result<PersonId, Error> {
    let person = Person {
        id: PersonId::generate(),
        role: Role::Participant,
        full_name: application.full_name.clone(),
        email: Some(application.email.clone()),
        phone: Some(application.phone.clone()),
        region: None,
        stage_id: None,
        created_at: now,
    };
    insert_person(tx, &person).await?;
    Ok(person.id)
}

/// Writes accepted applications as CSV for spreadsheets: UTF-8 with a byte order mark, so
/// that Excel reads Cyrillic, and `;` between fields, as Excel expects in Russian locales.
/// Fields are quoted and defused as in the audit log export.
pub fn participants_csv(rows: &[Application]) -> String {
    let mut out = String::from("\u{FEFF}");
    out.push_str("number;full_name;birth_date;employer;position;experience_years;email;phone\r\n");
    for row in rows {
        let fields = [
            row.number.clone().unwrap_or_default(),
            row.full_name.clone(),
            row.birth_date.clone(),
            row.employer.clone(),
            row.position.clone(),
            row.experience_years.to_string(),
            row.email.clone(),
            row.phone.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// Writes accepted applications as a printable HTML page with one table row each. Every
/// value is escaped, so a name cannot add markup.
pub fn participants_html(title: &str, rows: &[Application]) -> String {
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n");
    out.push_str("<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape_html(title)));
    out.push_str(
        "<style>table{border-collapse:collapse}td,th{border:1px solid #000;padding:4px}</style>\n",
    );
    out.push_str(&format!(
        "</head>\n<body>\n<h1>{}</h1>\n<table>\n",
        escape_html(title)
    ));
    out.push_str("<tr><th>№</th><th>ФИО</th><th>Дата рождения</th><th>Организация</th>");
    out.push_str("<th>Должность</th><th>Стаж, лет</th></tr>\n");
    for row in rows {
        let cells = [
            row.number.clone().unwrap_or_default(),
            row.full_name.clone(),
            row.birth_date.clone(),
            row.employer.clone(),
            row.position.clone(),
            row.experience_years.to_string(),
        ];
        out.push_str("<tr>");
        for cell in cells {
            out.push_str(&format!("<td>{}</td>", escape_html(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body>\n</html>\n");
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_content() {
        assert_eq!(
            AttachmentKind::detect(b"%PDF-1.7\n"),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::detect(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(AttachmentKind::Jpeg)
        );
        assert_eq!(
            AttachmentKind::detect(b"\x89PNG\r\n\x1a\n...."),
            Some(AttachmentKind::Png)
        );
        assert_eq!(AttachmentKind::detect(b"just text, named cv.pdf"), None);
        assert_eq!(AttachmentKind::detect(b""), None);
    }

    #[test]
    fn names_compare_without_case_spacing_or_yo() {
        assert_eq!(
            name_key("  Семёнов   Пётр  Ильич "),
            name_key("семенов петр ильич")
        );
        assert_ne!(name_key("Семёнов Пётр"), name_key("Семёнова Пётр"));
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(parse_date("1990-02-28"), Some((1990, 2, 28)));
        assert_eq!(parse_date("2000-02-29"), Some((2000, 2, 29)));
        for bad in [
            "1990-02-30",
            "1900-02-29",
            "1990-13-01",
            "90-01-01",
            "1990-1-01",
            "+990-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(year_of_ms(1_800_000_000_000), 2027);
        assert_eq!(year_of_ms(0), 1970);
    }

    #[test]
    fn csv_has_bom_and_quotes_separators() {
        let csv = participants_csv(&[]);
        assert!(csv.starts_with('\u{FEFF}'));
        assert_eq!(csv_field("ООО «Сварка; Резка»"), "\"ООО «Сварка; Резка»\"");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            escape_html("<b a='x'>&\""),
            "&lt;b a=&#39;x&#39;&gt;&amp;&quot;"
        );
        let page = participants_html("Список <участников>", &[]);
        assert!(page.contains("<h1>Список &lt;участников&gt;</h1>"));
    }
}
