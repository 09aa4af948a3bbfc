//! The append-only audit log: who did what to which record, when and from which session.

use serde::Serialize;
use sqlx::{Any, Transaction};

use crate::access::{Action, Actor};
use crate::db::{now_ms, Database};
use crate::error::Error;
use crate::{Listing, Page};

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position in the log, increasing.
    pub seq: i64,
    /// Server time of the change, in Unix milliseconds.
    pub at: i64,
    /// The person who acted, or `None` for the command line and failed sign-ins.
    pub actor_id: Option<String>,
    /// The session the request came with.
    pub session_id: Option<String>,
    /// The action, such as `person.create` or `person.read`.
    pub action: String,
    /// Kind of the record acted on, such as `person`.
    pub target_kind: String,
    /// Id of the record acted on.
    pub target_id: Option<String>,
    /// Non-personal detail, such as the fields changed.
    pub detail: String,
}

/// A filter of audit entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about this record.
    pub target_id: Option<String>,
    /// Only entries by this person.
    pub actor_id: Option<String>,
}

/// Appends an entry inside `tx`, so that it commits or rolls back with the change.
pub(crate) async fn record(
    tx: &mut Transaction<'static, Any>,
    actor: &Actor,
    action: &str,
    target_kind: &str,
    target_id: Option<&str>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, session_id, action, target_kind, target_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(actor.person.as_ref().map(|p| p.as_str().to_owned()))
    .bind(actor.session.as_ref().map(|s| s.as_str().to_owned()))
    .bind(action)
    .bind(target_kind)
    .bind(target_id)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const COLUMNS: &str = "seq, at, actor_id, session_id, action, target_kind, target_id, detail";

impl Database {
    /// Lists audit entries, newest first. Organisers only.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Listing<AuditEntry>, Error> {
        actor.check(Action::ReadAudit)?;
        let rows = self.select_audit(filter, &page.sql()).await?;
        Ok(page.finish(rows))
    }

    /// Returns every matching audit entry as CSV, oldest first, and audits the export.
    /// Organisers only.
    pub async fn export_audit_csv(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
    ) -> Result<String, Error> {
        actor.check(Action::ReadAudit)?;
        let mut tx = self.begin().await?;
        record(&mut tx, actor, "audit.export", "audit_log", None, "").await?;
        tx.commit().await?;
        let mut rows = self.select_audit(filter, "").await?;
        rows.reverse();
        Ok(to_csv(&rows))
    }

    async fn select_audit(
        &self,
        filter: &AuditFilter,
        page_sql: &str,
    ) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log
             WHERE ($1 IS NULL OR target_id = $1) AND ($2 IS NULL OR actor_id = $2)
             ORDER BY seq DESC {page_sql}"
        );
        sqlx::query_as::<_, AuditEntry>(&sql)
            .bind(filter.target_id.clone())
            .bind(filter.actor_id.clone())
            .fetch_all(&self.pool)
            .await
    }
}

/// Formats entries as RFC 4180 CSV with a header line. Fields that start with `=`, `+`, `-`
/// or `@` get a leading apostrophe so that spreadsheets do not run them as formulas.
fn to_csv(rows: &[AuditEntry]) -> String {
    let mut out =
        String::from("seq,at,actor_id,session_id,action,target_kind,target_id,detail\r\n");
    for row in rows {
        let fields = [
            row.seq.to_string(),
            row.at.to_string(),
            row.actor_id.clone().unwrap_or_default(),
            row.session_id.clone().unwrap_or_default(),
            row.action.clone(),
            row.target_kind.clone(),
            row.target_id.clone().unwrap_or_default(),
            row.detail.clone(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Quotes a CSV field when it contains a separator (`,` or `;`), a quote or a line break, and
/// defuses a leading formula character.
pub(crate) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', ';', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
