//! Organisers' handlers of applications: the consent text, the list, one application with
//! its attachments' descriptions, attachment downloads, status changes one by one or in
//! bulk, and the export of a stage's participants as CSV and as a printable page.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use profstage_contest::applications::{participants_csv, participants_html};
use profstage_contest::{
    Application, ApplicationFilter, ApplicationId, Attachment, AttachmentId, ConsentText, Error,
    Listing, NominationId, SessionInfo, StageId, Status, Transition,
};
use serde::{Deserialize, Serialize};

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::ListQuery;
use crate::http::ApiError;
use crate::state::AppState;

/// Content-Security-Policy of downloaded attachments: nothing in them may run or load.
const ATTACHMENT_POLICY: &str = "default-src 'none'; sandbox";
/// Content-Security-Policy of the printable list: its own inline style, nothing else.
const PRINTABLE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The body of `POST /api/v1/consent-texts`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewConsentText {
    /// Its version, such as `2027-01`; 1 to 50 characters, unique.
    pub version: String,
    /// The text shown to applicants.
    pub body: String,
}

/// Stores a new version of the consent text; the public form shows the newest.
#[utoipa::path(post, path = "/api/v1/consent-texts", tag = "applications",
    request_body = NewConsentText,
    responses((status = 201, body = ConsentText), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_consent_text(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiBody(new): ApiBody<NewConsentText>,
) -> Result<(StatusCode, Json<ConsentText>), ApiError> {
    let text = state
        .contest
        .create_consent_text(&session.actor(), &new.version, &new.body)
        .await;
    Ok((StatusCode::CREATED, Json(text.map_err(domain_error)?)))
}

/// Returns the consent text in force, the newest, which the public form shows, or 404
/// before the first one is published. The read is not audited, because the public form
/// shows the same text to anyone.
#[utoipa::path(get, path = "/api/v1/consent-texts/current", tag = "applications",
    responses((status = 200, body = ConsentText), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn current_consent_text(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<ConsentText>, ApiError> {
    let text = state.contest.consent_text_in_force(&session.actor()).await;
    Ok(Json(text.map_err(domain_error)?))
}

/// Filters and page of `GET /api/v1/applications`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// Entries to skip; 0 when missing.
    pub offset: Option<u64>,
    /// Entries to return, from 1 to 200; 50 when missing.
    pub limit: Option<u64>,
    /// Only this stage.
    pub stage_id: Option<String>,
    /// Only this nomination.
    pub nomination_id: Option<String>,
    /// Only this status: `submitted`, `registered`, `under_review`, `accepted` or
    /// `rejected`.
    pub status: Option<String>,
    /// Only names containing this text, ignoring case, ё/е and extra spaces.
    pub name: Option<String>,
}

impl ApplicationQuery {
    fn filter(&self) -> Result<ApplicationFilter, ApiError> {
        let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let stage_id = nonempty(&self.stage_id)
            .map(|id| path_id::<StageId>("stage_id", &id))
            .transpose()?;
        let nomination_id = nonempty(&self.nomination_id)
            .map(|id| path_id::<NominationId>("nomination_id", &id))
            .transpose()?;
        let status = nonempty(&self.status)
            .map(|text| parse_status(&text))
            .transpose()?;
        Ok(ApplicationFilter {
            stage_id,
            nomination_id,
            status,
            name: nonempty(&self.name),
        })
    }
}

fn parse_status(text: &str) -> Result<Status, ApiError> {
    let found = Status::ALL
        .into_iter()
        .find(|status| status.as_str() == text);
    found.ok_or_else(|| {
        let names: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
        let message = format!("must be one of {}", names.join(", "));
        domain_error(Error::invalid("status", "invalid_status", message))
    })
}

/// Lists applications, oldest first. The read is audited with the ids returned.
#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = Listing<Application>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiQuery(query): ApiQuery<ApplicationQuery>,
) -> Result<Json<Listing<Application>>, ApiError> {
    let page = ListQuery {
        offset: query.offset,
        limit: query.limit,
    }
    .page()?;
    let filter = query.filter()?;
    let listing = state
        .contest
        .applications(&session.actor(), &filter, page)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// An application and its attachments' descriptions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationDetail {
    /// The application.
    pub application: Application,
    /// Its attachments, in the order sent, without content.
    pub attachments: Vec<Attachment>,
}

/// Returns an application with its attachments' descriptions. Both reads are audited.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applications",
    params(("id" = String, Path, description = "Application id")),
    responses((status = 200, body = ApplicationDetail), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ApplicationDetail>, ApiError> {
    let id: ApplicationId = path_id("id", &id)?;
    let actor = session.actor();
    let application = state.contest.application(&actor, &id).await;
    let application = application.map_err(domain_error)?;
    let attachments = state.contest.attachments(&actor, &id).await;
    let attachments = attachments.map_err(domain_error)?;
    Ok(Json(ApplicationDetail {
        application,
        attachments,
    }))
}

/// Downloads an attachment with the media type detected from its content. The read is audited.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "applications",
    params(("id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file: application/pdf, image/jpeg or image/png"),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn download_attachment(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: AttachmentId = path_id("id", &id)?;
    let read = state.contest.attachment(&session.actor(), &id).await;
    let (attachment, content) = read.map_err(domain_error)?;
    let kind = attachment.kind;
    let disposition = format!(
        "attachment; filename=\"attachment-{}.{}\"",
        attachment.id.as_str(),
        kind.as_str()
    );
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(kind.media_type()),
        ),
        (header::CONTENT_DISPOSITION, header_value(disposition)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(ATTACHMENT_POLICY),
        ),
    ];
    Ok((headers, content).into_response())
}

/// A status change that organisers request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransitionAction {
    /// submitted → registered, with the stage's next number.
    Register,
    /// registered → under review.
    StartReview,
    /// under review → accepted; the applicant becomes a participant.
    Accept,
    /// under review → rejected; needs `reason`.
    Reject,
}

/// The body of `POST /api/v1/applications/{id}/transition`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The change.
    pub action: TransitionAction,
    /// Reason for a rejection, shown to the applicant; only with `reject`.
    #[serde(default)]
    pub reason: Option<String>,
}

impl TransitionRequest {
    fn transition(&self) -> Result<Transition, ApiError> {
        match (self.action, &self.reason) {
            (TransitionAction::Reject, reason) => {
                Ok(Transition::Reject(reason.clone().unwrap_or_default()))
            }
            (_, Some(_)) => Err(domain_error(Error::invalid(
                "reason",
                "reason_not_allowed",
                "only a rejection takes a reason",
            ))),
            (TransitionAction::Register, None) => Ok(Transition::Register),
            (TransitionAction::StartReview, None) => Ok(Transition::StartReview),
            (TransitionAction::Accept, None) => Ok(Transition::Accept),
        }
    }
}

/// Changes one application's status. A change that the current status does not allow is
/// 409, naming that status.
#[utoipa::path(post, path = "/api/v1/applications/{id}/transition", tag = "applications",
    params(("id" = String, Path, description = "Application id")), request_body = TransitionRequest,
    responses((status = 200, body = Application), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn transition(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(request): ApiBody<TransitionRequest>,
) -> Result<Json<Application>, ApiError> {
    let id: ApplicationId = path_id("id", &id)?;
    let transition = request.transition()?;
    let changed = state
        .contest
        .transition_applications(&session.actor(), &[id], &transition)
        .await;
    let mut changed = changed.map_err(domain_error)?;
    let application = changed.pop().ok_or_else(|| {
        tracing::error!("a transition of one application returned none");
        ApiError::internal()
    })?;
    Ok(Json(application))
}

/// The body of `POST /api/v1/applications/transition`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTransitionRequest {
    /// 1 to 200 application ids.
    pub ids: Vec<String>,
    /// The change.
    pub action: TransitionAction,
    /// Reason for a rejection, shown to every applicant; only with `reject`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The applications after a bulk change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkTransitionReply {
    /// Every changed application, in the order requested.
    pub items: Vec<Application>,
}

/// Changes the status of several applications in one transaction: all of them change or,
/// when one cannot, none does.
#[utoipa::path(post, path = "/api/v1/applications/transition", tag = "applications",
    request_body = BulkTransitionRequest,
    responses((status = 200, body = BulkTransitionReply), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn transition_many(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    ApiBody(request): ApiBody<BulkTransitionRequest>,
) -> Result<Json<BulkTransitionReply>, ApiError> {
    let single = TransitionRequest {
        action: request.action,
        reason: request.reason,
    };
    let transition = single.transition()?;
    let mut ids = Vec::with_capacity(request.ids.len());
    for (index, id) in request.ids.iter().enumerate() {
        ids.push(path_id::<ApplicationId>(&format!("ids[{index}]"), id)?);
    }
    let changed = state
        .contest
        .transition_applications(&session.actor(), &ids, &transition)
        .await;
    Ok(Json(BulkTransitionReply {
        items: changed.map_err(domain_error)?,
    }))
}

/// Exports the stage's accepted applicants as CSV: UTF-8 with a byte order mark and `;`
/// between fields, for spreadsheets. The export is audited.
#[utoipa::path(get, path = "/api/v1/stages/{id}/participants/csv", tag = "applications",
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn export_csv(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (stage, _, rows) = accepted(&state, &session, &id).await?;
    let csv = participants_csv(&rows);
    let disposition = format!(
        "attachment; filename=\"participants-{}.csv\"",
        stage.as_str()
    );
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (header::CONTENT_DISPOSITION, header_value(disposition)),
    ];
    Ok((headers, csv).into_response())
}

/// Shows the stage's accepted applicants as a printable HTML page. The export is audited.
#[utoipa::path(get, path = "/api/v1/stages/{id}/participants/html", tag = "applications",
    params(("id" = String, Path, description = "Stage id")),
    responses((status = 200, content_type = "text/html", body = String), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn export_html(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, title, rows) = accepted(&state, &session, &id).await?;
    let page = participants_html(&title, &rows);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PRINTABLE_POLICY),
        ),
    ];
    Ok((headers, page).into_response())
}

/// Returns the stage of an export, the list's heading and its accepted applications. A
/// missing stage is 404, and only the read of the applications is audited.
async fn accepted(
    state: &AppState,
    session: &SessionInfo,
    id: &str,
) -> Result<(StageId, String, Vec<Application>), ApiError> {
    let stage: StageId = path_id("id", id)?;
    let actor = session.actor();
    let title = state.contest.participants_title(&actor, &stage).await;
    let title = title.map_err(domain_error)?;
    let rows = state.contest.accepted_applications(&actor, &stage).await;
    Ok((stage, title, rows.map_err(domain_error)?))
}

/// Builds a header value from text made of ids and ASCII.
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).expect("ids are hex and hyphens, and the rest is ASCII")
}
