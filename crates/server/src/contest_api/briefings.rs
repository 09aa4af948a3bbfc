//! Handlers for scheduled briefings: schedule, list, change and cancel them, and list one's
//! own. Media tokens for their rooms come from `POST /api/v1/rooms/{id}/media-token`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use profstage_contest::{Briefing, BriefingChange, BriefingId, Listing, NewBriefing, StageId};

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::ListQuery;
use crate::http::ApiError;
use crate::state::AppState;

/// Schedules a briefing for a stage and creates its room.
#[utoipa::path(post, path = "/api/v1/stages/{id}/briefings", tag = "briefings",
    params(("id" = String, Path, description = "Stage id")), request_body = NewBriefing,
    responses((status = 201, body = Briefing), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewBriefing>,
) -> Result<(StatusCode, Json<Briefing>), ApiError> {
    let stage: StageId = path_id("id", &id)?;
    let briefing = state
        .contest
        .create_briefing(&session.actor(), &stage, &new)
        .await;
    let briefing = briefing.map_err(domain_error)?;
    tracing::info!(briefing = %briefing.id, room = %briefing.room_id, %stage, "scheduled a briefing");
    Ok((StatusCode::CREATED, Json(briefing)))
}

/// Lists the briefings of a stage by start time, cancelled ones included.
#[utoipa::path(get, path = "/api/v1/stages/{id}/briefings", tag = "briefings",
    params(("id" = String, Path, description = "Stage id"), ListQuery),
    responses((status = 200, body = Listing<Briefing>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Briefing>>, ApiError> {
    let stage: StageId = path_id("id", &id)?;
    let listing = state
        .contest
        .briefings(&session.actor(), &stage, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Changes the title, start or agenda of a briefing that is not cancelled.
#[utoipa::path(patch, path = "/api/v1/briefings/{id}", tag = "briefings",
    params(("id" = String, Path, description = "Briefing id")), request_body = BriefingChange,
    responses((status = 200, body = Briefing), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<BriefingChange>,
) -> Result<Json<Briefing>, ApiError> {
    let id: BriefingId = path_id("id", &id)?;
    let briefing = state
        .contest
        .update_briefing(&session.actor(), &id, &change)
        .await;
    Ok(Json(briefing.map_err(domain_error)?))
}

/// Cancels a briefing: nobody gets a media token for its room any more.
#[utoipa::path(post, path = "/api/v1/briefings/{id}/cancel", tag = "briefings",
    params(("id" = String, Path, description = "Briefing id")),
    responses((status = 200, body = Briefing), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Briefing>, ApiError> {
    let id: BriefingId = path_id("id", &id)?;
    let briefing = state.contest.cancel_briefing(&session.actor(), &id).await;
    let briefing = briefing.map_err(domain_error)?;
    tracing::info!(briefing = %briefing.id, "cancelled a briefing");
    Ok(Json(briefing))
}

/// Lists the briefings the signed-in person may join, not cancelled and started less than a
/// day ago, by start time.
#[utoipa::path(get, path = "/api/v1/me/briefings", tag = "briefings",
    responses((status = 200, body = Vec<Briefing>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn mine(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<Vec<Briefing>>, ApiError> {
    let briefings = state.contest.my_briefings(&session.actor()).await;
    Ok(Json(briefings.map_err(domain_error)?))
}
