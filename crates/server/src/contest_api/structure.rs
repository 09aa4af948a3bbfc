//! Handlers for contests, stages, nominations, stage parts and rooms.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use profstage_contest::{
    Contest, ContestId, Listing, NewContest, NewNomination, NewRoom, NewStage, NewStagePart,
    Nomination, NominationId, Room, Stage, StageId, StagePart, StagePartId,
};

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::ListQuery;
use crate::http::ApiError;
use crate::state::AppState;

type Created<T> = Result<(StatusCode, Json<T>), ApiError>;
type Listed<T> = Result<Json<Listing<T>>, ApiError>;

/// Creates a contest.
#[utoipa::path(post, path = "/api/v1/contests", tag = "structure",
    request_body = NewContest,
    responses((status = 201, body = Contest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_contest(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiBody(new): ApiBody<NewContest>,
) -> Created<Contest> {
    let contest = state.contest.create_contest(&session.actor(), &new).await;
    Ok((StatusCode::CREATED, Json(contest.map_err(domain_error)?)))
}

/// Lists contests.
#[utoipa::path(get, path = "/api/v1/contests", tag = "structure", params(ListQuery),
    responses((status = 200, body = Listing<Contest>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_contests(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Listed<Contest> {
    let listing = state
        .contest
        .contests(&session.actor(), query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Returns one contest.
#[utoipa::path(get, path = "/api/v1/contests/{id}", tag = "structure",
    params(("id" = String, Path, description = "Contest id")),
    responses((status = 200, body = Contest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get_contest(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Contest>, ApiError> {
    let id: ContestId = path_id("id", &id)?;
    let contest = state.contest.contest(&session.actor(), &id).await;
    Ok(Json(contest.map_err(domain_error)?))
}

/// Creates a regional stage of a contest.
#[utoipa::path(post, path = "/api/v1/contests/{id}/stages", tag = "structure",
    params(("id" = String, Path, description = "Contest id")), request_body = NewStage,
    responses((status = 201, body = Stage), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_stage(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewStage>,
) -> Created<Stage> {
    let id: ContestId = path_id("id", &id)?;
    let stage = state
        .contest
        .create_stage(&session.actor(), &id, &new)
        .await;
    Ok((StatusCode::CREATED, Json(stage.map_err(domain_error)?)))
}

/// Lists the stages of a contest.
#[utoipa::path(get, path = "/api/v1/contests/{id}/stages", tag = "structure",
    params(("id" = String, Path, description = "Contest id"), ListQuery),
    responses((status = 200, body = Listing<Stage>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_stages(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Listed<Stage> {
    let id: ContestId = path_id("id", &id)?;
    let listing = state
        .contest
        .stages(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Creates a nomination in a stage.
#[utoipa::path(post, path = "/api/v1/stages/{id}/nominations", tag = "structure",
    params(("id" = String, Path, description = "Stage id")), request_body = NewNomination,
    responses((status = 201, body = Nomination), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_nomination(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewNomination>,
) -> Created<Nomination> {
    let id: StageId = path_id("id", &id)?;
    let nomination = state
        .contest
        .create_nomination(&session.actor(), &id, &new)
        .await;
    Ok((StatusCode::CREATED, Json(nomination.map_err(domain_error)?)))
}

/// Lists the nominations of a stage.
#[utoipa::path(get, path = "/api/v1/stages/{id}/nominations", tag = "structure",
    params(("id" = String, Path, description = "Stage id"), ListQuery),
    responses((status = 200, body = Listing<Nomination>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_nominations(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Listed<Nomination> {
    let id: StageId = path_id("id", &id)?;
    let listing = state
        .contest
        .nominations(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Creates a theory or practice part of a nomination.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/parts", tag = "structure",
    params(("id" = String, Path, description = "Nomination id")), request_body = NewStagePart,
    responses((status = 201, body = StagePart), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_part(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewStagePart>,
) -> Created<StagePart> {
    let id: NominationId = path_id("id", &id)?;
    let part = state
        .contest
        .create_stage_part(&session.actor(), &id, &new)
        .await;
    Ok((StatusCode::CREATED, Json(part.map_err(domain_error)?)))
}

/// Lists the parts of a nomination.
#[utoipa::path(get, path = "/api/v1/nominations/{id}/parts", tag = "structure",
    params(("id" = String, Path, description = "Nomination id"), ListQuery),
    responses((status = 200, body = Listing<StagePart>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_parts(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Listed<StagePart> {
    let id: NominationId = path_id("id", &id)?;
    let listing = state
        .contest
        .stage_parts(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Creates a media room in a stage part.
#[utoipa::path(post, path = "/api/v1/parts/{id}/rooms", tag = "structure",
    params(("id" = String, Path, description = "Stage part id")), request_body = NewRoom,
    responses((status = 201, body = Room), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_room(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewRoom>,
) -> Created<Room> {
    let id: StagePartId = path_id("id", &id)?;
    let room = state.contest.create_room(&session.actor(), &id, &new).await;
    Ok((StatusCode::CREATED, Json(room.map_err(domain_error)?)))
}

/// Lists the rooms of a stage part.
#[utoipa::path(get, path = "/api/v1/parts/{id}/rooms", tag = "structure",
    params(("id" = String, Path, description = "Stage part id"), ListQuery),
    responses((status = 200, body = Listing<Room>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_rooms(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Listed<Room> {
    let id: StagePartId = path_id("id", &id)?;
    let listing = state
        .contest
        .rooms(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}
