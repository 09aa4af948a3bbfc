//! Protocols: an expert group's protocol made from its summary sheet, and the regional
//! commission's protocol made from that, each approved by every member with a one-time
//! code.

use rand::rngs::OsRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Any, Transaction};
use subtle::ConstantTimeEq;

use super::summary::{build_summary, require_reader, Summary};
use crate::access::{Action, Actor};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::Error;
use crate::ids::{ExpertGroupId, PersonId, ProtocolId, SessionId};

/// How long an approval code stays valid, in milliseconds.
pub const APPROVAL_CODE_LIFETIME_MS: i64 = 5 * 60 * 1000;
/// Wrong entries of one code after which it is void.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// Whose protocol it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProtocolKind {
    /// The expert group's protocol, approved by its members.
    ExpertGroup,
    /// The regional commission's protocol, approved by the commission members of the
    /// group's stage.
    Commission,
}

impl ProtocolKind {
    fn as_str(self) -> &'static str {
        match self {
            ProtocolKind::ExpertGroup => "expert_group",
            ProtocolKind::Commission => "commission",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        match value.as_str() {
            "expert_group" => Ok(Self::ExpertGroup),
            "commission" => Ok(Self::Commission),
            _ => Err(format!("unknown protocol kind {value:?}").into()),
        }
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(ProtocolKind);

/// A person who must approve a protocol, and their approval if it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// The approver.
    pub person_id: PersonId,
    /// Full name.
    pub full_name: String,
    /// When they approved the current content, in Unix milliseconds; `None` when they have
    /// not, or approved content that has changed since.
    pub approved_at: Option<i64>,
    /// The session the approval came from.
    pub session_id: Option<SessionId>,
    /// The content hash approved.
    pub content_hash: Option<String>,
}

/// A protocol with its approvals.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Protocol {
    /// Its id.
    pub id: ProtocolId,
    /// The expert group whose results it records.
    pub group_id: ExpertGroupId,
    /// The expert group's or the commission's.
    pub kind: ProtocolKind,
    /// The canonical JSON text that is approved: keys sorted, no spaces.
    pub content: String,
    /// SHA-256 of `content`, in hex.
    pub content_hash: String,
    /// The person who generated it, the group's chair.
    pub generated_by: PersonId,
    /// When, in Unix milliseconds.
    pub generated_at: i64,
    /// When the chair handed the group's protocol to the commission.
    pub handed_over_at: Option<i64>,
    /// Whether the content still matches the locked sheets. When it does not, the chair
    /// must generate the protocol again before anyone can approve it.
    pub current: bool,
    /// Everyone who must approve it, with their approval of the current content.
    pub approvals: Vec<Approval>,
    /// Whether every approver approved the current content.
    pub approved: bool,
}

/// How a one-time approval code reaches its person, which decides what their record must
/// contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChannel {
    /// The server's operator forwards it; the person's record needs nothing.
    Operator,
    /// It is e-mailed to the address in the person's record, so a person without one gets
    /// no code.
    Email,
}

impl CodeChannel {
    fn as_str(self) -> &'static str {
        match self {
            CodeChannel::Operator => "operator",
            CodeChannel::Email => "email",
        }
    }
}

/// A one-time approval code, for the server to deliver. It is never stored as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// Six digits.
    pub code: String,
    /// The protocol it approves.
    pub protocol_id: ProtocolId,
    /// The person it is for.
    pub person_id: PersonId,
    /// The person's e-mail address, for [`CodeChannel::Email`]; `None` otherwise.
    pub email: Option<String>,
    /// The person's full name, for an operator who forwards the code.
    pub name: String,
    /// The person's telephone number, if their record has one.
    pub phone: Option<String>,
    /// Expiry, in Unix milliseconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for IssuedCode {
    /// Shows the ids and expiry but neither the code nor the person's contact details.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCode")
            .field("protocol_id", &self.protocol_id)
            .field("person_id", &self.person_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Serialises `value` as canonical JSON: object keys sorted by their UTF-8 bytes, no
/// insignificant whitespace, integers only.
fn canonical_json(value: &impl Serialize) -> Result<String, Error> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(
                    entries.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    let value = serde_json::to_value(value).map_err(|e| {
        Error::conflict(
            "protocol_invalid",
            format!("failed to serialise the protocol: {e}"),
        )
    })?;
    Ok(sorted(value).to_string())
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Serialize)]
struct GroupContent<'a> {
    kind: &'static str,
    summary: &'a Summary,
}

#[derive(Serialize)]
struct CommissionContent<'a> {
    kind: &'static str,
    expert_group_protocol_id: &'a ProtocolId,
    expert_group_protocol_hash: &'a str,
    expert_group_approvals: &'a [Approval],
    summary: serde_json::Value,
}

type ProtocolRow = (
    ProtocolId,
    ExpertGroupId,
    ProtocolKind,
    String,
    String,
    PersonId,
    i64,
    Option<i64>,
);

const PROTOCOL_COLUMNS: &str =
    "id, group_id, kind, content, content_hash, generated_by, generated_at, handed_over_at";

pub(super) async fn load_row(
    tx: &mut Transaction<'static, Any>,
    id: &ProtocolId,
) -> Result<ProtocolRow, Error> {
    let sql = format!("SELECT {PROTOCOL_COLUMNS} FROM protocols WHERE id = $1");
    let row: Option<ProtocolRow> = sqlx::query_as(&sql)
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(Error::NotFound("protocol"))
}

/// The people who must approve: the group's members, or the commission members of the
/// group's stage.
async fn approvers(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
    kind: ProtocolKind,
) -> Result<Vec<(PersonId, String)>, sqlx::Error> {
    let sql = match kind {
        ProtocolKind::ExpertGroup => {
            "SELECT p.id, p.full_name FROM expert_group_members m
             JOIN people p ON p.id = m.person_id WHERE m.group_id = $1
             ORDER BY p.full_name, p.id"
        }
        ProtocolKind::Commission => {
            "SELECT p.id, p.full_name FROM expert_groups g
             JOIN nominations n ON n.id = g.nomination_id
             JOIN people p ON p.stage_id = n.stage_id AND p.role = 'commission_member'
             WHERE g.id = $1 ORDER BY p.full_name, p.id"
        }
    };
    sqlx::query_as(sql)
        .bind(group.clone())
        .fetch_all(&mut **tx)
        .await
}

/// Builds the approval list of a protocol against its current hash.
async fn approvals(
    tx: &mut Transaction<'static, Any>,
    row: &ProtocolRow,
) -> Result<Vec<Approval>, sqlx::Error> {
    let (id, group, kind, _, hash, ..) = row;
    let mut list = Vec::new();
    for (person_id, full_name) in approvers(tx, group, *kind).await? {
        let approval: Option<(String, i64)> = sqlx::query_as(
            "SELECT session_id, approved_at FROM protocol_approvals
             WHERE protocol_id = $1 AND person_id = $2 AND content_hash = $3",
        )
        .bind(id.clone())
        .bind(person_id.clone())
        .bind(hash)
        .fetch_optional(&mut **tx)
        .await?;
        let session_id = approval.as_ref().and_then(|(s, _)| s.parse().ok());
        list.push(Approval {
            person_id,
            full_name,
            approved_at: approval.as_ref().map(|(_, at)| *at),
            session_id,
            content_hash: approval.map(|_| hash.clone()),
        });
    }
    Ok(list)
}

/// Returns the canonical content of a group's protocol as it would be generated now.
async fn group_content(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
) -> Result<(Summary, String), Error> {
    let summary = build_summary(tx, group).await?;
    let content = canonical_json(&GroupContent {
        kind: "expert_group",
        summary: &summary,
    })?;
    Ok((summary, content))
}

/// Returns whether a protocol's content still matches what would be generated now.
async fn is_current(tx: &mut Transaction<'static, Any>, row: &ProtocolRow) -> Result<bool, Error> {
    let (_, group, kind, content, ..) = row;
    match kind {
        ProtocolKind::ExpertGroup => {
            let (summary, fresh) = group_content(tx, group).await?;
            Ok(summary.complete && fresh == *content)
        }
        // The group's protocol is frozen once handed over, and so is this one.
        ProtocolKind::Commission => Ok(true),
    }
}

pub(super) async fn assemble(
    tx: &mut Transaction<'static, Any>,
    row: ProtocolRow,
) -> Result<Protocol, Error> {
    let current = is_current(tx, &row).await?;
    let approvals = approvals(tx, &row).await?;
    let approved = !approvals.is_empty() && approvals.iter().all(|a| a.approved_at.is_some());
    let (id, group_id, kind, content, content_hash, generated_by, generated_at, handed_over_at) =
        row;
    Ok(Protocol {
        id,
        group_id,
        kind,
        content,
        content_hash,
        generated_by,
        generated_at,
        handed_over_at,
        current,
        approvals,
        approved,
    })
}

async fn chair_of(
    tx: &mut Transaction<'static, Any>,
    group: &ExpertGroupId,
) -> Result<PersonId, Error> {
    let row: Option<(PersonId,)> =
        sqlx::query_as("SELECT chair_id FROM expert_groups WHERE id = $1")
            .bind(group.clone())
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.ok_or(Error::NotFound("expert group"))?.0)
}

/// Fails unless the actor must approve the protocol.
async fn require_approver(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    row: &ProtocolRow,
) -> Result<PersonId, Error> {
    actor.check(Action::ApproveProtocols)?;
    let person = actor.person.clone().ok_or(Error::Forbidden)?;
    let list = approvers(tx, &row.1, row.2).await?;
    if list.iter().any(|(id, _)| *id == person) {
        Ok(person)
    } else {
        Err(Error::Forbidden)
    }
}

/// Returns the e-mail address in the person's record, or a conflict when it has none.
async fn email_of(tx: &mut Transaction<'static, Any>, person: &PersonId) -> Result<String, Error> {
    let email: Option<(Option<String>,)> = sqlx::query_as("SELECT email FROM people WHERE id = $1")
        .bind(person.clone())
        .fetch_optional(&mut **tx)
        .await?;
    match email {
        Some((Some(email),)) if !email.is_empty() => Ok(email),
        _ => Err(Error::conflict(
            "no_email_address",
            "your record has no e-mail address to send the code to; \
             ask an organiser to add one",
        )),
    }
}

fn out_of_date() -> Error {
    Error::conflict(
        "protocol_out_of_date",
        "the protocol no longer matches the locked sheets; the chair must generate it again",
    )
}

fn code_hash(protocol: &ProtocolId, code: &str) -> String {
    sha256_hex(&format!("{protocol}:{code}"))
}

impl Database {
    /// Generates the expert group's protocol from its summary sheet. Only the chair may,
    /// once every sheet of the group is locked. Generating again after a change replaces
    /// the content, and approvals of the earlier content stop counting.
    pub async fn generate_protocol(
        &self,
        actor: &Actor,
        group: &ExpertGroupId,
    ) -> Result<Protocol, Error> {
        actor.check(Action::AssessParticipants)?;
        let mut tx = self.begin().await?;
        let chair = chair_of(&mut tx, group).await?;
        if actor.person.as_ref() != Some(&chair) {
            return Err(Error::Forbidden);
        }
        let (summary, content) = group_content(&mut tx, group).await?;
        if !summary.complete {
            let message = format!(
                "every sheet of the group must be locked first: {} of {} are locked",
                summary.locked_sheets, summary.expected_sheets
            );
            return Err(Error::conflict("sheets_not_locked", message));
        }
        let hash = sha256_hex(&content);
        let existing: Option<(ProtocolId, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, content_hash, handed_over_at FROM protocols
             WHERE group_id = $1 AND kind = 'expert_group'",
        )
        .bind(group.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let id = match existing {
            Some((_, _, Some(_))) => {
                let message = "the protocol is already handed over to the commission";
                return Err(Error::conflict("protocol_handed_over", message));
            }
            Some((id, old_hash, None)) if old_hash == hash => id,
            Some((id, _, None)) => {
                sqlx::query(
                    "UPDATE protocols SET content = $1, content_hash = $2, generated_by = $3,
                     generated_at = $4 WHERE id = $5",
                )
                .bind(&content)
                .bind(&hash)
                .bind(chair.clone())
                .bind(now_ms())
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                let id = ProtocolId::generate();
                insert_protocol(
                    &mut tx,
                    &id,
                    group,
                    ProtocolKind::ExpertGroup,
                    &content,
                    &hash,
                    &chair,
                )
                .await?;
                id
            }
        };
        let detail = format!("kind=expert_group hash={hash}");
        record(
            &mut tx,
            actor,
            "protocol.generate",
            "protocol",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let row = load_row(&mut tx, &id).await?;
        let protocol = assemble(&mut tx, row).await?;
        tx.commit().await?;
        Ok(protocol)
    }

    /// Lists the protocols of an expert group: its own and, once handed over, the
    /// commission's.
    pub async fn protocols(
        &self,
        actor: &Actor,
        group: &ExpertGroupId,
    ) -> Result<Vec<Protocol>, Error> {
        let mut tx = self.begin().await?;
        crate::structure::require(&mut tx, "expert_groups", "expert group", group.as_str()).await?;
        require_reader(&mut tx, actor, group).await?;
        let ids: Vec<(ProtocolId,)> = sqlx::query_as(
            "SELECT id FROM protocols WHERE group_id = $1 ORDER BY generated_at, id",
        )
        .bind(group.clone())
        .fetch_all(&mut *tx)
        .await?;
        let mut list = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let row = load_row(&mut tx, &id).await?;
            list.push(assemble(&mut tx, row).await?);
        }
        record(
            &mut tx,
            actor,
            "protocol.list",
            "expert_group",
            Some(group.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Returns a protocol with its approvals and audits the read.
    pub async fn protocol(&self, actor: &Actor, id: &ProtocolId) -> Result<Protocol, Error> {
        let mut tx = self.begin().await?;
        let row = load_row(&mut tx, id).await?;
        require_reader(&mut tx, actor, &row.1).await?;
        let protocol = assemble(&mut tx, row).await?;
        record(
            &mut tx,
            actor,
            "protocol.read",
            "protocol",
            Some(id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(protocol)
    }

    /// Issues a one-time code with which the actor approves the protocol in this session.
    /// Only its SHA-256 is stored; the caller delivers the code through `channel`. For
    /// [`CodeChannel::Email`] the actor's record must have an e-mail address, which the
    /// issued code carries.
    pub async fn issue_approval_code(
        &self,
        actor: &Actor,
        id: &ProtocolId,
        channel: CodeChannel,
    ) -> Result<IssuedCode, Error> {
        let session = actor.session.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        let row = load_row(&mut tx, id).await?;
        let person = require_approver(&mut tx, actor, &row).await?;
        if !is_current(&mut tx, &row).await? {
            return Err(out_of_date());
        }
        let email = match channel {
            CodeChannel::Operator => None,
            CodeChannel::Email => Some(email_of(&mut tx, &person).await?),
        };
        let (name, phone): (String, Option<String>) =
            sqlx::query_as("SELECT full_name, phone FROM people WHERE id = $1")
                .bind(person.clone())
                .fetch_one(&mut *tx)
                .await?;
        let code = format!("{:06}", OsRng.gen_range(0..1_000_000u32));
        let now = now_ms();
        let expires_at = now + APPROVAL_CODE_LIFETIME_MS;
        sqlx::query(
            "INSERT INTO approval_codes (id, protocol_id, person_id, session_id, code_hash,
             created_at, expires_at, attempts, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL)",
        )
        .bind(uuid::Uuid::new_v4().hyphenated().to_string())
        .bind(id.clone())
        .bind(person.clone())
        .bind(session.clone())
        .bind(code_hash(id, &code))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let detail = format!("channel={}", channel.as_str());
        record(
            &mut tx,
            actor,
            "protocol.code_issue",
            "protocol",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedCode {
            code,
            protocol_id: id.clone(),
            person_id: person,
            email,
            name,
            phone,
            expires_at,
        })
    }

    /// Deletes an issued code that could not be delivered, so that it never approves
    /// anything. An earlier code of the same session becomes the newest again and stays
    /// valid until it expires. Returns whether the code was still unused and is now gone.
    pub async fn withdraw_approval_code(
        &self,
        actor: &Actor,
        issued: &IssuedCode,
    ) -> Result<bool, Error> {
        let session = actor.session.clone().ok_or(Error::Forbidden)?;
        let id = &issued.protocol_id;
        let mut tx = self.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM approval_codes WHERE protocol_id = $1 AND person_id = $2
             AND session_id = $3 AND code_hash = $4 AND used_at IS NULL",
        )
        .bind(id.clone())
        .bind(issued.person_id.clone())
        .bind(session)
        .bind(code_hash(id, &issued.code))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        record(
            &mut tx,
            actor,
            "protocol.code_withdraw",
            "protocol",
            Some(id.as_str()),
            "reason=not_delivered",
        )
        .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Approves the protocol's current content with the newest code issued to the actor
    /// in this session. The code must be unexpired and unused; a wrong entry counts
    /// against it, and after 5 the code is void.
    pub async fn approve_protocol(
        &self,
        actor: &Actor,
        id: &ProtocolId,
        code: &str,
    ) -> Result<Protocol, Error> {
        let session = actor.session.clone().ok_or(Error::Forbidden)?;
        let mut tx = self.begin().await?;
        let row = load_row(&mut tx, id).await?;
        let person = require_approver(&mut tx, actor, &row).await?;
        // The format is checked after access, so that a person who may not approve learns
        // nothing more than that.
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "code",
                "invalid_code_format",
                "must be the 6 digits delivered to you",
            ));
        }
        let now = now_ms();
        let newest: Option<(String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, code_hash, expires_at, attempts, used_at FROM approval_codes
             WHERE protocol_id = $1 AND person_id = $2 AND session_id = $3
             ORDER BY created_at DESC, id LIMIT 1",
        )
        .bind(id.clone())
        .bind(person.clone())
        .bind(session.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let unusable = || {
            Error::invalid(
                "code",
                "wrong_code",
                "the code is wrong, expired or already used; request a new one",
            )
        };
        let Some((code_id, stored, expires_at, attempts, used_at)) = newest else {
            return Err(unusable());
        };
        if used_at.is_some() || expires_at <= now || attempts >= MAX_CODE_ATTEMPTS {
            return Err(unusable());
        }
        let matches: bool = code_hash(id, code)
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into();
        if !matches {
            sqlx::query("UPDATE approval_codes SET attempts = attempts + 1 WHERE id = $1")
                .bind(&code_id)
                .execute(&mut *tx)
                .await?;
            record(
                &mut tx,
                actor,
                "protocol.code_wrong",
                "protocol",
                Some(id.as_str()),
                "",
            )
            .await?;
            tx.commit().await?;
            return Err(unusable());
        }
        sqlx::query("UPDATE approval_codes SET used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&code_id)
            .execute(&mut *tx)
            .await?;
        if !is_current(&mut tx, &row).await? {
            tx.commit().await?;
            return Err(out_of_date());
        }
        let hash = row.4.clone();
        sqlx::query(
            "DELETE FROM protocol_approvals
             WHERE protocol_id = $1 AND person_id = $2 AND content_hash = $3",
        )
        .bind(id.clone())
        .bind(person.clone())
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO protocol_approvals (protocol_id, person_id, session_id, content_hash,
             approved_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.clone())
        .bind(person)
        .bind(session)
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let detail = format!("hash={hash}");
        record(
            &mut tx,
            actor,
            "protocol.approve",
            "protocol",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let protocol = assemble(&mut tx, row).await?;
        tx.commit().await?;
        Ok(protocol)
    }

    /// Hands the group's approved protocol to the regional commission: freezes it and
    /// creates the commission's protocol from it. Only the chair may, once every member
    /// approved the current content.
    pub async fn hand_over_protocol(
        &self,
        actor: &Actor,
        id: &ProtocolId,
    ) -> Result<Protocol, Error> {
        actor.check(Action::AssessParticipants)?;
        let mut tx = self.begin().await?;
        let row = load_row(&mut tx, id).await?;
        let group = row.1.clone();
        if row.2 != ProtocolKind::ExpertGroup {
            return Err(Error::conflict(
                "not_group_protocol",
                "only an expert group's protocol is handed over",
            ));
        }
        let chair = chair_of(&mut tx, &group).await?;
        if actor.person.as_ref() != Some(&chair) {
            return Err(Error::Forbidden);
        }
        if row.7.is_some() {
            return Err(Error::conflict(
                "protocol_handed_over",
                "the protocol is already handed over",
            ));
        }
        let protocol = assemble(&mut tx, row.clone()).await?;
        if !protocol.current {
            return Err(out_of_date());
        }
        if !protocol.approved {
            let missing = protocol
                .approvals
                .iter()
                .filter(|a| a.approved_at.is_none())
                .count();
            let message = format!("{missing} member(s) of the group have not approved it yet");
            return Err(Error::conflict("approvals_missing", message));
        }
        let commission = approvers(&mut tx, &group, ProtocolKind::Commission).await?;
        if commission.is_empty() {
            let message = "the stage has no commission members to approve it; \
                           add them in the people section";
            return Err(Error::conflict("no_commission_members", message));
        }
        let now = now_ms();
        sqlx::query("UPDATE protocols SET handed_over_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.clone())
            .execute(&mut *tx)
            .await?;
        let summary: serde_json::Value = serde_json::from_str(&protocol.content)
            .map(|mut v: serde_json::Value| v["summary"].take())
            .map_err(|e| {
                Error::conflict(
                    "protocol_invalid",
                    format!("stored protocol is not JSON: {e}"),
                )
            })?;
        let content = canonical_json(&CommissionContent {
            kind: "commission",
            expert_group_protocol_id: id,
            expert_group_protocol_hash: &protocol.content_hash,
            expert_group_approvals: &protocol.approvals,
            summary,
        })?;
        let hash = sha256_hex(&content);
        let commission_id = ProtocolId::generate();
        insert_protocol(
            &mut tx,
            &commission_id,
            &group,
            ProtocolKind::Commission,
            &content,
            &hash,
            &chair,
        )
        .await?;
        let detail = format!("commission_protocol={commission_id} hash={hash}");
        record(
            &mut tx,
            actor,
            "protocol.hand_over",
            "protocol",
            Some(id.as_str()),
            &detail,
        )
        .await?;
        let row = load_row(&mut tx, &commission_id).await?;
        let created = assemble(&mut tx, row).await?;
        tx.commit().await?;
        Ok(created)
    }
}

async fn insert_protocol(
    tx: &mut Transaction<'static, Any>,
    id: &ProtocolId,
    group: &ExpertGroupId,
    kind: ProtocolKind,
    content: &str,
    hash: &str,
    chair: &PersonId,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO protocols (id, group_id, kind, content, content_hash, generated_by,
         generated_at, handed_over_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(id.clone())
    .bind(group.clone())
    .bind(kind)
    .bind(content)
    .bind(hash)
    .bind(chair.clone())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_drops_spaces() {
        let value = serde_json::json!({"b": 1, "a": {"d": [2, {"f": null, "e": "ж"}], "c": true}});
        assert_eq!(
            canonical_json(&value).unwrap(),
            r#"{"a":{"c":true,"d":[2,{"e":"ж","f":null}]},"b":1}"#
        );
    }

    #[test]
    fn code_hash_depends_on_protocol() {
        let one = ProtocolId::generate();
        let two = ProtocolId::generate();
        assert_ne!(code_hash(&one, "123456"), code_hash(&two, "123456"));
        assert_eq!(code_hash(&one, "123456"), code_hash(&one, "123456"));
    }
}
