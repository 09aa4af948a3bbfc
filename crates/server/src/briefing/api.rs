//! Routes of a briefing's stored events, which are personal data:
//!
//! - `GET /api/v1/briefings/{room}/attendance`: who attended and when, as JSON or CSV, for
//!   the room's organisers;
//! - `GET /api/v1/briefings/{room}/events`: every stored event (joins, leaves, hands, floor
//!   changes, chat), for the room's organisers and experts, to review next to the
//!   recordings.
//!
//! Every read is audited before the response is sent.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::attendance::{attendance, to_csv};
use super::events::BriefingRecord;
use super::Briefings;
use crate::audit::AuditEntry;
use crate::config::RoomId;
use crate::contest_api::extract::ApiQuery;
use crate::http::{bearer_claims, ApiError};
use crate::signalling::protocol::Role;
use crate::state::AppState;
use crate::token::Claims;

/// Routes under `/api/v1/briefings`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/briefings/{room}/attendance", get(get_attendance))
        .route("/api/v1/briefings/{room}/events", get(get_events))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

/// Picks the format from `?format=json|csv`, or else from an `Accept` header that names
/// `text/csv`.
fn format(query: &FormatQuery, headers: &HeaderMap) -> Result<Format, ApiError> {
    match query.format.as_deref() {
        Some("json") => return Ok(Format::Json),
        Some("csv") => return Ok(Format::Csv),
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_format",
                "format must be json or csv",
            ))
        }
        None => {}
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    Ok(match accept {
        Some(accept) if accept.contains("text/csv") => Format::Csv,
        _ => Format::Json,
    })
}

/// A request that passed the access checks.
struct Access<'a> {
    briefings: &'a Briefings,
    claims: Claims,
    room: RoomId,
}

/// Checks the bearer token and that its holder has one of `roles` in `room`.
fn authorize<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    room: &str,
    roles: &[Role],
    what: &str,
) -> Result<Access<'a>, ApiError> {
    let briefings = state.briefings.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Briefings are not available on this server.",
        )
    })?;
    let claims = bearer_claims(state, headers)?;
    let room: RoomId = room.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "There is no room with this identifier.",
        )
    })?;
    if !roles.contains(&claims.role) || claims.room != room.as_str() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("Your role in this room does not give access to its {what}."),
        ));
    }
    Ok(Access {
        briefings,
        claims,
        room,
    })
}

impl Access<'_> {
    /// Writes the audit entry, and rejects the request when it cannot be written.
    fn audit(&self, action: &str, detail: Option<&str>) -> Result<(), ApiError> {
        let entry = AuditEntry {
            detail: detail.map(str::to_owned),
            ..AuditEntry::by(&self.claims, action)
        };
        self.briefings.audit.record(entry).map_err(|error| {
            tracing::error!(room = %self.room, action, %error, "audit log unavailable, request rejected");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "The audit log cannot be written, so the request is rejected. Try again later.",
            )
        })
    }

    /// Reads the room's events from the store, off the async runtime.
    async fn records(&self) -> Result<Vec<BriefingRecord>, ApiError> {
        let store = Arc::clone(&self.briefings.store);
        let id = self.room.to_string();
        let internal = |error: &dyn std::fmt::Display| {
            tracing::error!(room = %self.room, %error, "briefing events could not be read");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The briefing's events could not be read.",
            )
        };
        tokio::task::spawn_blocking(move || store.records(&id))
            .await
            .map_err(|error| internal(&error))?
            .map_err(|error| internal(&error))
    }
}

fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

async fn get_attendance(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = authorize(&state, &headers, &room, &[Role::Organiser], "attendance")?;
    let format = format(&query, &headers)?;
    let detail = match format {
        Format::Json => "json",
        Format::Csv => "csv",
    };
    access.audit("briefing.attendance", Some(detail))?;

    let records = access.records().await?;
    let result = attendance(access.room.as_str(), &records);
    let response = match format {
        Format::Json => Json(result).into_response(),
        Format::Csv => {
            let content_type = HeaderValue::from_static("text/csv; charset=utf-8");
            let disposition = format!("attachment; filename=\"attendance-{}.csv\"", access.room);
            let mut response = to_csv(&result).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type);
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    };
    Ok(private(response))
}

#[derive(Serialize)]
struct EventList {
    room: String,
    events: Vec<BriefingRecord>,
}

async fn get_events(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let roles = [Role::Organiser, Role::Expert];
    let access = authorize(&state, &headers, &room, &roles, "briefing events")?;
    access.audit("briefing.events", None)?;
    let events = access.records().await?;
    let room = access.room.to_string();
    Ok(private(Json(EventList { room, events }).into_response()))
}
