//! Handlers for people, expert groups and room assignments.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use profstage_contest::{
    Assignment, ExpertGroup, Listing, NewExpertGroup, NewPerson, NominationId, Person, PersonId,
    Role, RoomId,
};
use serde::Deserialize;

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::ListQuery;
use crate::http::ApiError;
use crate::state::AppState;

/// Creates a person who is not an organiser.
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = NewPerson,
    responses((status = 201, body = Person), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_person(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiBody(new): ApiBody<NewPerson>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    let person = state.contest.create_person(&session.actor(), &new).await;
    Ok((StatusCode::CREATED, Json(person.map_err(domain_error)?)))
}

/// `offset`, `limit` and `role` of `GET /api/v1/people`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Entries to skip; 0 when missing.
    pub offset: Option<u64>,
    /// Entries to return, from 1 to 200; 50 when missing.
    pub limit: Option<u64>,
    /// Only people of this role.
    pub role: Option<Role>,
}

/// Lists people. Every read is audited.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleQuery),
    responses((status = 200, body = Listing<Person>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_people(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> Result<Json<Listing<Person>>, ApiError> {
    let page = ListQuery {
        offset: query.offset,
        limit: query.limit,
    }
    .page()?;
    let listing = state
        .contest
        .people(&session.actor(), query.role, page)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Returns a person's record. The read is audited.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people",
    params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = Person), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get_person(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Person>, ApiError> {
    let id: PersonId = path_id("id", &id)?;
    let person = state.contest.person(&session.actor(), &id).await;
    Ok(Json(person.map_err(domain_error)?))
}

/// Creates an expert group of a nomination.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/expert-groups", tag = "people",
    params(("id" = String, Path, description = "Nomination id")), request_body = NewExpertGroup,
    responses((status = 201, body = ExpertGroup), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_expert_group(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewExpertGroup>,
) -> Result<(StatusCode, Json<ExpertGroup>), ApiError> {
    let id: NominationId = path_id("id", &id)?;
    let group = state
        .contest
        .create_expert_group(&session.actor(), &id, &new)
        .await;
    Ok((StatusCode::CREATED, Json(group.map_err(domain_error)?)))
}

/// Lists the expert groups of a nomination.
#[utoipa::path(get, path = "/api/v1/nominations/{id}/expert-groups", tag = "people",
    params(("id" = String, Path, description = "Nomination id"), ListQuery),
    responses((status = 200, body = Listing<ExpertGroup>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_expert_groups(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<ExpertGroup>>, ApiError> {
    let id: NominationId = path_id("id", &id)?;
    let listing = state
        .contest
        .expert_groups(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Assigns a person to a room.
#[utoipa::path(put, path = "/api/v1/rooms/{id}/assignments/{person_id}", tag = "people",
    params(("id" = String, Path, description = "Room id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 201, body = Assignment), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn assign(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path((room, person)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Assignment>), ApiError> {
    let room: RoomId = path_id("id", &room)?;
    let person: PersonId = path_id("person_id", &person)?;
    let assignment = state.contest.assign(&session.actor(), &room, &person).await;
    Ok((StatusCode::CREATED, Json(assignment.map_err(domain_error)?)))
}

/// Removes a person from a room.
#[utoipa::path(delete, path = "/api/v1/rooms/{id}/assignments/{person_id}", tag = "people",
    params(("id" = String, Path, description = "Room id"), ("person_id" = String, Path, description = "Person id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn unassign(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path((room, person)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let room: RoomId = path_id("id", &room)?;
    let person: PersonId = path_id("person_id", &person)?;
    let removed = state
        .contest
        .unassign(&session.actor(), &room, &person)
        .await;
    removed.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists who is assigned to a room.
#[utoipa::path(get, path = "/api/v1/rooms/{id}/assignments", tag = "people",
    params(("id" = String, Path, description = "Room id"), ListQuery),
    responses((status = 200, body = Listing<Assignment>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_assignments(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Assignment>>, ApiError> {
    let id: RoomId = path_id("id", &id)?;
    let listing = state
        .contest
        .assignments(&session.actor(), &id, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}
