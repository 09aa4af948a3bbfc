//! Handlers for assessment criteria, scoring rules, assessment sheets and summary sheets,
//! and the PDF exports of sheets and summaries.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use profstage_contest::scoring::{
    CriterionMove, Sheet, SheetInput, SheetStatus, Summary, Workspace,
};
use profstage_contest::{
    Criterion, CriterionId, ExpertGroupId, NewCriterion, NewScoringRule, PersonId, ScoringRule,
    SheetId, StageId, StagePartId,
};
use serde::{Deserialize, Serialize};

use super::extract::{domain_error, path_id, ApiBody, SignedIn};
use super::scoring_pdf;
use crate::http::ApiError;
use crate::pdf::{PdfError, FONT_PATH};
use crate::state::AppState;

/// The criteria of a stage part.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CriteriaList {
    /// In order.
    pub items: Vec<Criterion>,
}

/// The actor's sheet for a participant, if saved at least once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MySheet {
    /// `null` before the first save.
    pub sheet: Option<Sheet>,
}

/// The sheets of an expert group.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SheetList {
    /// By participant, stage part and expert.
    pub items: Vec<SheetStatus>,
}

/// The reason to reopen a sheet.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// The reason for reopening, 1 to 1000 characters, kept in the audit log.
    #[serde(default)]
    pub reason: String,
}

/// Adds a criterion to a stage part.
#[utoipa::path(post, path = "/api/v1/parts/{id}/criteria", tag = "scoring",
    params(("id" = String, Path, description = "Stage part id")), request_body = NewCriterion,
    responses((status = 201, body = Criterion), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_criterion(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewCriterion>,
) -> Result<(StatusCode, Json<Criterion>), ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let criterion = state
        .contest
        .create_criterion(&session.actor(), &id, &new)
        .await;
    Ok((StatusCode::CREATED, Json(criterion.map_err(domain_error)?)))
}

/// Replaces a criterion's name, description, maximum and kind. Once marked, only its name
/// and description may change.
#[utoipa::path(put, path = "/api/v1/criteria/{id}", tag = "scoring",
    params(("id" = String, Path, description = "Criterion id")), request_body = NewCriterion,
    responses((status = 200, body = Criterion), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_criterion(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewCriterion>,
) -> Result<Json<Criterion>, ApiError> {
    let id: CriterionId = path_id("id", &id)?;
    let actor = session.actor();
    let updated = state.contest.update_criterion(&actor, &id, &new).await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Moves a criterion to another position of its stage part.
#[utoipa::path(post, path = "/api/v1/criteria/{id}/move", tag = "scoring",
    params(("id" = String, Path, description = "Criterion id")), request_body = CriterionMove,
    responses((status = 200, body = Criterion), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn move_criterion(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(request): ApiBody<CriterionMove>,
) -> Result<Json<Criterion>, ApiError> {
    let id: CriterionId = path_id("id", &id)?;
    let actor = session.actor();
    let moved = state.contest.move_criterion(&actor, &id, &request).await;
    Ok(Json(moved.map_err(domain_error)?))
}

/// Deletes a criterion that no sheet has marked. A marked one is 409, and so is every change
/// to criteria once an expert group of the nomination has handed its protocol over.
#[utoipa::path(delete, path = "/api/v1/criteria/{id}", tag = "scoring",
    params(("id" = String, Path, description = "Criterion id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_criterion(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CriterionId = path_id("id", &id)?;
    let deleted = state.contest.delete_criterion(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the criteria of a stage part.
#[utoipa::path(get, path = "/api/v1/parts/{id}/criteria", tag = "scoring",
    params(("id" = String, Path, description = "Stage part id")),
    responses((status = 200, body = CriteriaList), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_criteria(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<CriteriaList>, ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let items = state.contest.criteria(&session.actor(), &id).await;
    Ok(Json(CriteriaList {
        items: items.map_err(domain_error)?,
    }))
}

/// Returns a stage's scoring rule.
#[utoipa::path(get, path = "/api/v1/stages/{id}/scoring-rule", tag = "scoring",
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 200, body = ScoringRule), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get_rule(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ScoringRule>, ApiError> {
    let id: StageId = path_id("id", &id)?;
    let rule = state.contest.scoring_rule(&session.actor(), &id).await;
    Ok(Json(rule.map_err(domain_error)?))
}

/// Sets a stage's scoring rule.
#[utoipa::path(put, path = "/api/v1/stages/{id}/scoring-rule", tag = "scoring",
    params(("id" = String, Path, description = "Stage id")), request_body = NewScoringRule,
    responses((status = 200, body = ScoringRule), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn set_rule(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewScoringRule>,
) -> Result<Json<ScoringRule>, ApiError> {
    let id: StageId = path_id("id", &id)?;
    let rule = state
        .contest
        .set_scoring_rule(&session.actor(), &id, &new)
        .await;
    Ok(Json(rule.map_err(domain_error)?))
}

/// Returns the signed-in expert's sheet for a participant of a stage part.
#[utoipa::path(get, path = "/api/v1/parts/{id}/sheets/{participant_id}", tag = "scoring",
    params(("id" = String, Path, description = "Stage part id"),
        ("participant_id" = String, Path, description = "Participant's person id")),
    responses((status = 200, body = MySheet), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get_sheet(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path((id, participant)): Path<(String, String)>,
) -> Result<Json<MySheet>, ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let participant: PersonId = path_id("participant_id", &participant)?;
    let sheet = state
        .contest
        .my_sheet(&session.actor(), &id, &participant)
        .await;
    Ok(Json(MySheet {
        sheet: sheet.map_err(domain_error)?,
    }))
}

/// Saves marks and the comment of the signed-in expert's sheet; partial and idempotent.
#[utoipa::path(put, path = "/api/v1/parts/{id}/sheets/{participant_id}", tag = "scoring",
    params(("id" = String, Path, description = "Stage part id"),
        ("participant_id" = String, Path, description = "Participant's person id")),
    request_body = SheetInput,
    responses((status = 200, body = Sheet), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn save_sheet(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path((id, participant)): Path<(String, String)>,
    ApiBody(input): ApiBody<SheetInput>,
) -> Result<Json<Sheet>, ApiError> {
    let id: StagePartId = path_id("id", &id)?;
    let participant: PersonId = path_id("participant_id", &participant)?;
    let actor = session.actor();
    let sheet = state
        .contest
        .save_sheet(&actor, &id, &participant, &input)
        .await;
    Ok(Json(sheet.map_err(domain_error)?))
}

/// Locks the signed-in expert's sheet once every criterion is marked.
#[utoipa::path(post, path = "/api/v1/sheets/{id}/lock", tag = "scoring",
    params(("id" = String, Path, description = "Sheet id")),
    responses((status = 200, body = Sheet), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn lock_sheet(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Sheet>, ApiError> {
    let id: SheetId = path_id("id", &id)?;
    let sheet = state.contest.lock_sheet(&session.actor(), &id).await;
    Ok(Json(sheet.map_err(domain_error)?))
}

/// Reopens a locked sheet; the group's chair only, with a reason.
#[utoipa::path(post, path = "/api/v1/sheets/{id}/reopen", tag = "scoring",
    params(("id" = String, Path, description = "Sheet id")), request_body = ReopenRequest,
    responses((status = 200, body = Sheet), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn reopen_sheet(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(request): ApiBody<ReopenRequest>,
) -> Result<Json<Sheet>, ApiError> {
    let id: SheetId = path_id("id", &id)?;
    let actor = session.actor();
    let sheet = state
        .contest
        .reopen_sheet(&actor, &id, &request.reason)
        .await;
    Ok(Json(sheet.map_err(domain_error)?))
}

/// Returns the signed-in expert's workspace: their expert groups, the participants each
/// assesses with their rooms, the criteria and the expert's own sheets.
#[utoipa::path(get, path = "/api/v1/me/scoring", tag = "scoring",
    responses((status = 200, body = Workspace), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn workspace(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<Workspace>, ApiError> {
    let workspace = state.contest.scoring_workspace(&session.actor()).await;
    Ok(Json(workspace.map_err(domain_error)?))
}

/// Lists every sheet of an expert group with its state, for the chair's overview.
#[utoipa::path(get, path = "/api/v1/expert-groups/{id}/sheets", tag = "scoring",
    params(("id" = String, Path, description = "Expert group id")),
    responses((status = 200, body = SheetList), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn group_sheets(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<SheetList>, ApiError> {
    let id: ExpertGroupId = path_id("id", &id)?;
    let items = state.contest.group_sheets(&session.actor(), &id).await;
    Ok(Json(SheetList {
        items: items.map_err(domain_error)?,
    }))
}

/// Downloads a sheet as PDF.
#[utoipa::path(get, path = "/api/v1/sheets/{id}/pdf", tag = "scoring",
    params(("id" = String, Path, description = "Sheet id")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn sheet_pdf(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let sheet: SheetId = path_id("id", &id)?;
    let view = state.contest.sheet_view(&session.actor(), &sheet).await;
    let view = view.map_err(domain_error)?;
    let bytes = render(move |font| scoring_pdf::sheet_pdf(font, &view)).await?;
    Ok(pdf_response(bytes, &format!("sheet-{sheet}.pdf")))
}

/// Returns the summary sheet of an expert group, computed from its locked sheets.
#[utoipa::path(get, path = "/api/v1/expert-groups/{id}/summary", tag = "scoring",
    params(("id" = String, Path, description = "Expert group id")),
    responses((status = 200, body = Summary), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn summary(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Summary>, ApiError> {
    let id: ExpertGroupId = path_id("id", &id)?;
    let summary = state.contest.summary(&session.actor(), &id).await;
    Ok(Json(summary.map_err(domain_error)?))
}

/// Downloads the summary sheet of an expert group as PDF.
#[utoipa::path(get, path = "/api/v1/expert-groups/{id}/summary/pdf", tag = "scoring",
    params(("id" = String, Path, description = "Expert group id")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn summary_pdf(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let group: ExpertGroupId = path_id("id", &id)?;
    let summary = state.contest.summary(&session.actor(), &group).await;
    let summary = summary.map_err(domain_error)?;
    let bytes = render(move |font| scoring_pdf::summary_pdf(font, &summary)).await?;
    Ok(pdf_response(bytes, &format!("summary-{group}.pdf")))
}

/// Reads the font and lays the document out on a blocking thread.
pub(super) async fn render<F>(layout: F) -> Result<Vec<u8>, ApiError>
where
    F: FnOnce(&[u8]) -> Result<Vec<u8>, PdfError> + Send + 'static,
{
    let font = tokio::fs::read(FONT_PATH).await.map_err(|error| {
        tracing::error!(%error, path = FONT_PATH, "failed to read the PDF font; install fonts-dejavu-core");
        ApiError::internal()
    })?;
    let result = tokio::task::spawn_blocking(move || layout(&font)).await;
    match result {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => {
            tracing::error!(%error, path = FONT_PATH, "failed to build a PDF");
            Err(ApiError::internal())
        }
        Err(error) => {
            tracing::error!(%error, "the PDF task failed");
            Err(ApiError::internal())
        }
    }
}

/// Sends a PDF as a download.
pub(super) fn pdf_response(bytes: Vec<u8>, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pdf"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::try_from(disposition).expect("ids are hex and hyphens"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    (headers, bytes).into_response()
}
