//! Handlers that correct what organisers entered: `PUT` replaces a record's editable
//! fields and `DELETE` removes a record that no other record refers to (409 otherwise).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use profstage_contest::{
    Contest, ContestId, NewContest, NewNomination, NewPerson, NewRoom, NewStage, NewStagePart,
    Nomination, NominationId, Person, PersonId, Room, RoomId, Stage, StageId, StagePart,
    StagePartId,
};

use super::extract::{domain_error, path_id, ApiBody, SignedIn};
use crate::http::ApiError;
use crate::state::AppState;

/// Renames a contest or changes its description.
#[utoipa::path(put, path = "/api/v1/contests/{id}", tag = "structure",
    params(("id" = String, Path, description = "Contest id")), request_body = NewContest,
    responses((status = 200, body = Contest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_contest(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewContest>,
) -> Result<Json<Contest>, ApiError> {
    let id: ContestId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_contest(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a contest without stages; 409 while it has any.
#[utoipa::path(delete, path = "/api/v1/contests/{id}", tag = "structure",
    params(("id" = String, Path, description = "Contest id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_contest(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ContestId = path_id("id", &id)?;
    let deleted = state.contest.delete_contest(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a stage's region and dates.
#[utoipa::path(put, path = "/api/v1/stages/{id}", tag = "structure",
    params(("id" = String, Path, description = "Stage id")), request_body = NewStage,
    responses((status = 200, body = Stage), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_stage(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewStage>,
) -> Result<Json<Stage>, ApiError> {
    let id: StageId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_stage(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a stage; 409 while nominations, rooms, briefings or applications refer to it.
#[utoipa::path(delete, path = "/api/v1/stages/{id}", tag = "structure",
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_stage(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: StageId = path_id("id", &id)?;
    let deleted = state.contest.delete_stage(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renames a nomination's profession.
#[utoipa::path(put, path = "/api/v1/nominations/{id}", tag = "structure",
    params(("id" = String, Path, description = "Nomination id")), request_body = NewNomination,
    responses((status = 200, body = Nomination), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_nomination(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewNomination>,
) -> Result<Json<Nomination>, ApiError> {
    let id: NominationId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_nomination(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a nomination; 409 while stage parts, expert groups or applications refer to it.
#[utoipa::path(delete, path = "/api/v1/nominations/{id}", tag = "structure",
    params(("id" = String, Path, description = "Nomination id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_nomination(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: NominationId = path_id("id", &id)?;
    let deleted = state.contest.delete_nomination(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a stage part's kind and title.
#[utoipa::path(put, path = "/api/v1/parts/{id}", tag = "structure",
    params(("id" = String, Path, description = "Stage part id")), request_body = NewStagePart,
    responses((status = 200, body = StagePart), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_part(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewStagePart>,
) -> Result<Json<StagePart>, ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_stage_part(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a stage part; 409 while it has rooms or tasks.
#[utoipa::path(delete, path = "/api/v1/parts/{id}", tag = "structure",
    params(("id" = String, Path, description = "Stage part id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_part(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let deleted = state.contest.delete_stage_part(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Renames a room of a stage part.
#[utoipa::path(put, path = "/api/v1/rooms/{id}", tag = "structure",
    params(("id" = String, Path, description = "Room id")), request_body = NewRoom,
    responses((status = 200, body = Room), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_room(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewRoom>,
) -> Result<Json<Room>, ApiError> {
    let id: RoomId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_room(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a room of a stage part; 409 while people are assigned to it or work refers to it.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}", tag = "structure",
    params(("id" = String, Path, description = "Room id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_room(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: RoomId = path_id("id", &id)?;
    let deleted = state.contest.delete_room(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a person's record; an organiser keeps the role.
#[utoipa::path(put, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = String, Path, description = "Person id")), request_body = NewPerson,
    responses((status = 200, body = Person), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_person(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(change): ApiBody<NewPerson>,
) -> Result<Json<Person>, ApiError> {
    let id: PersonId = path_id("id", &id)?;
    let updated = state
        .contest
        .update_person(&session.actor(), &id, &change)
        .await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Deletes a person with their sessions and invite links; 409 while other records refer to them.
#[utoipa::path(delete, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = String, Path, description = "Person id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_person(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: PersonId = path_id("id", &id)?;
    let deleted = state.contest.delete_person(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}
