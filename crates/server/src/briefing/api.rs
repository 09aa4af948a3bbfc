//! `GET /api/v1/briefings/{room}/attendance`: who attended a briefing and when, as JSON or
//! CSV, for the room's organisers only. Every read is audited.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::attendance::{attendance, to_csv};
use super::Briefings;
use crate::audit::AuditEntry;
use crate::config::RoomId;
use crate::http::{bearer_claims, ApiError};
use crate::signalling::protocol::Role;
use crate::state::AppState;
use crate::token::Claims;

/// Routes under `/api/v1/briefings`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/briefings/{room}/attendance", get(get_attendance))
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

async fn get_attendance(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let briefings = state.briefings.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Briefings are not available on this server.",
        )
    })?;
    let claims = bearer_claims(&state, &headers)?;
    let room: RoomId = room.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "There is no room with this identifier.",
        )
    })?;
    if claims.role != Role::Organiser || claims.room != room.as_str() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Only the organisers of this room may read its attendance.",
        ));
    }
    let format = format(&query, &headers)?;
    audit(briefings, &claims, format)?;

    let store = Arc::clone(&briefings.store);
    let id = room.to_string();
    let records = tokio::task::spawn_blocking(move || store.records(&id))
        .await
        .map_err(|error| internal(&room, error))?
        .map_err(|error| internal(&room, error))?;
    let result = attendance(room.as_str(), &records);
    let mut response = match format {
        Format::Json => Json(result).into_response(),
        Format::Csv => {
            let content_type = HeaderValue::from_static("text/csv; charset=utf-8");
            let disposition = format!("attachment; filename=\"attendance-{room}.csv\"");
            let mut response = to_csv(&result).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type);
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

/// Writes the audit entry, and rejects the request when it cannot be written.
fn audit(briefings: &Briefings, claims: &Claims, format: Format) -> Result<(), ApiError> {
    let entry = AuditEntry {
        at_unix_ms: 0,
        actor: claims.sub.clone(),
        role: "organiser".to_owned(),
        session: format!("{}@{}", claims.sub, claims.iat),
        action: "briefing.attendance".to_owned(),
        recording: None,
        room: claims.room.clone(),
        participant: None,
        detail: Some(match format {
            Format::Json => "json".to_owned(),
            Format::Csv => "csv".to_owned(),
        }),
    };
    briefings.audit.record(entry).map_err(|error| {
        tracing::error!(room = %claims.room, %error, "audit log unavailable, attendance request rejected");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "The audit log cannot be written, so the request is rejected. Try again later.",
        )
    })
}

fn internal(room: &RoomId, error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%room, %error, "attendance could not be read");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Attendance could not be read.",
    )
}
