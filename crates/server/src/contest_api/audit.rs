//! Handlers for the audit log: a paged list and a CSV export, for organisers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use profstage_contest::{AuditEntry, AuditFilter, Listing, Page};
use serde::Deserialize;

use super::extract::{domain_error, ApiQuery, SignedIn};
use crate::http::ApiError;
use crate::state::AppState;

/// Filters and page of an audit log request.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries to skip; 0 when missing. Ignored by the CSV export.
    pub offset: Option<u64>,
    /// Entries to return, from 1 to 200; 50 when missing. Ignored by the CSV export.
    pub limit: Option<u64>,
    /// Only entries about this record.
    pub target_id: Option<String>,
    /// Only entries by this person.
    pub actor_id: Option<String>,
}

impl AuditQuery {
    fn filter(&self) -> AuditFilter {
        AuditFilter {
            target_id: self.target_id.clone(),
            actor_id: self.actor_id.clone(),
        }
    }
}

/// Lists audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Listing<AuditEntry>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Listing<AuditEntry>>, ApiError> {
    let page = Page::new(query.offset, query.limit).map_err(domain_error)?;
    let log = state
        .contest
        .audit_log(&session.actor(), &query.filter(), page)
        .await;
    Ok(Json(log.map_err(domain_error)?))
}

/// Exports every matching audit entry as CSV, oldest first. The export is audited.
#[utoipa::path(get, path = "/api/v1/audit-log/csv", tag = "audit", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn export_csv(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let csv = state
        .contest
        .export_audit_csv(&session.actor(), &query.filter())
        .await;
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ),
    ];
    Ok((headers, csv.map_err(domain_error)?))
}
