//! Handlers for tasks: organisers create, change, publish and list them; participants
//! open them and send answers and files until their deadline; organisers and experts read
//! the openings and submissions.
//!
//! Every time comes from the server clock when the request arrives. Responses to
//! participants carry `now`, so that a page counts down with the server's clock.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use profstage_contest::task_work::MAX_UPLOAD_BYTES;
use profstage_contest::tasks::MAX_TASK_PDF_BYTES;
use profstage_contest::{
    Listing, MyTask, NewAnswer, NewTask, OpenedTask, Opening, StagePartId, Submission,
    SubmissionId, Task, TaskId,
};
use serde::Serialize;

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::ListQuery;
use crate::http::ApiError;
use crate::state::AppState;

/// Largest body of a task's PDF upload: the PDF limit plus a little slack, so that the
/// domain's check, with its clearer message, applies first.
pub const TASK_PDF_BODY_LIMIT: usize = MAX_TASK_PDF_BYTES + 1024;
/// Largest body of a participant's file upload.
pub const TASK_UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 1024;
/// Content-Security-Policy of a served file: no scripts, shown in frames of this origin only.
const FILE_POLICY: &str = "default-src 'none'; frame-ancestors 'self'";

/// Returns the server clock as Unix milliseconds.
pub fn server_now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

/// Creates a draft task for a stage part.
#[utoipa::path(post, path = "/api/v1/parts/{id}/tasks", tag = "tasks",
    params(("id" = String, Path, description = "Stage part id")), request_body = NewTask,
    responses((status = 201, body = Task), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let part: StagePartId = path_id("id", &id)?;
    let actor = session.actor();
    let task = state.contest.create_task(&actor, &part, &new, server_now());
    Ok((StatusCode::CREATED, Json(task.await.map_err(domain_error)?)))
}

/// Lists the tasks of a stage part by start.
#[utoipa::path(get, path = "/api/v1/parts/{id}/tasks", tag = "tasks",
    params(("id" = String, Path, description = "Stage part id"), ListQuery),
    responses((status = 200, body = Listing<Task>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Task>>, ApiError> {
    let part: StagePartId = path_id("id", &id)?;
    let listing = state
        .contest
        .tasks(&session.actor(), &part, query.page()?)
        .await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Returns a task as organisers see it.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let task = state.contest.task(&session.actor(), &id).await;
    Ok(Json(task.map_err(domain_error)?))
}

/// Replaces a task's title, text and times. Rejected with 409 once the task has started.
#[utoipa::path(put, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")), request_body = NewTask,
    responses((status = 200, body = Task), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewTask>,
) -> Result<Json<Task>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let task = state.contest.update_task(&actor, &id, &new, server_now());
    Ok(Json(task.await.map_err(domain_error)?))
}

/// Stores the task's PDF (the raw body, at most 10 MiB), replacing the previous one.
/// The content must be a PDF whatever the declared type. Rejected with 409 once the task
/// has started.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/pdf", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, body = Task), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn upload_pdf(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Task>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let content = body.map_err(|r| body_error(r, TASK_PDF_BODY_LIMIT))?;
    let actor = session.actor();
    let task = state
        .contest
        .upload_task_pdf(&actor, &id, &content, server_now());
    Ok(Json(task.await.map_err(domain_error)?))
}

/// Publishes a draft task, which needs a text or a PDF. Participants see it from its start.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/publish", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses((status = 200, body = Task), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn publish(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let task = state.contest.publish_task(&actor, &id, server_now());
    Ok(Json(task.await.map_err(domain_error)?))
}

/// The reply of `GET /api/v1/me/tasks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyTasks {
    /// The server clock, in Unix milliseconds.
    pub now: i64,
    /// The started tasks of the participant's stage parts, by start.
    pub items: Vec<MyTask>,
}

/// Lists the signed-in participant's started tasks with their state and deadline.
#[utoipa::path(get, path = "/api/v1/me/tasks", tag = "tasks",
    responses((status = 200, body = MyTasks), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn my_tasks(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<MyTasks>, ApiError> {
    let now = server_now();
    let items = state.contest.my_tasks(&session.actor(), now).await;
    let items = items.map_err(domain_error)?;
    Ok(Json(MyTasks { now, items }))
}

/// Opens a task: records the opening (the first one once) on the server clock and returns
/// the text, the deadline and the server clock. A task that has not started is 404. A
/// first opening after the task's `opens_until` is 409 with the reason `opening_closed`,
/// and nothing is stored.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/open", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses((status = 200, body = OpenedTask),
        (status = 409, description = "opening_closed: the time to open the task for the first time has passed", body = super::openapi::ErrorBody),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn open(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<OpenedTask>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let opened = state.contest.open_task(&actor, &id, server_now()).await;
    Ok(Json(opened.map_err(domain_error)?))
}

/// Serves the task's PDF inline, to its participant after opening, and to organisers and
/// experts of its nomination.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/pdf", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses((status = 200, description = "The PDF", content_type = "application/pdf"),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn pdf(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let content = state
        .contest
        .task_pdf(&session.actor(), &id, server_now())
        .await;
    let content = content.map_err(domain_error)?;
    let disposition = format!("inline; filename=\"task-{id}.pdf\"");
    Ok(file_response("application/pdf", disposition, content))
}

/// The reply to an answer or upload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// The stored submission.
    pub submission: Submission,
    /// The server clock, in Unix milliseconds.
    pub now: i64,
}

/// Saves the text answer, replacing the previous one. After the deadline it is 409 with
/// the code `time_up`.
#[utoipa::path(put, path = "/api/v1/tasks/{id}/answer", tag = "tasks",
    params(("id" = String, Path, description = "Task id")), request_body = NewAnswer,
    responses((status = 200, body = Receipt),
        (status = 409, description = "time_up: the deadline has passed", body = super::openapi::ErrorBody),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn answer(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(answer): ApiBody<NewAnswer>,
) -> Result<Json<Receipt>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let now = server_now();
    let actor = session.actor();
    let sent = state.contest.submit_answer(&actor, &id, &answer, now).await;
    let submission = sent.map_err(domain_error)?;
    Ok(Json(Receipt { submission, now }))
}

/// Uploads one file as the raw body: PDF, JPEG or PNG, at most 10 MiB, detected from
/// its content. A declared `Content-Type` of one of these that disagrees with the content is
/// 422. After the deadline it is 409 with the code `time_up`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/uploads", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Receipt),
        (status = 409, description = "time_up: the deadline has passed", body = super::openapi::ErrorBody),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn upload(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let content = body.map_err(|r| body_error(r, TASK_UPLOAD_BODY_LIMIT))?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let now = server_now();
    let actor = session.actor();
    let sent = state
        .contest
        .upload_task_file(&actor, &id, &content, declared, now)
        .await;
    let submission = sent.map_err(domain_error)?;
    Ok((StatusCode::CREATED, Json(Receipt { submission, now })))
}

/// Lists every opening of a task, oldest first. The read is audited.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/openings", tag = "tasks",
    params(("id" = String, Path, description = "Task id"), ListQuery),
    responses((status = 200, body = Listing<Opening>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn openings(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Opening>>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let page = query.page()?;
    let actor = session.actor();
    let listing = state.contest.task_openings(&actor, &id, page).await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Lists every answer and file sent for a task, oldest first. The read is audited.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/submissions", tag = "tasks",
    params(("id" = String, Path, description = "Task id"), ListQuery),
    responses((status = 200, body = Listing<Submission>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn submissions(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Submission>>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let page = query.page()?;
    let actor = session.actor();
    let listing = state.contest.task_submissions(&actor, &id, page).await;
    Ok(Json(listing.map_err(domain_error)?))
}

/// Downloads one submission: the answer as text, or the file with the media type detected
/// from its content. The read is audited.
#[utoipa::path(get, path = "/api/v1/task-submissions/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Submission id")),
    responses((status = 200, description = "text/plain, application/pdf, image/jpeg or image/png"),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn download(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: SubmissionId = path_id("id", &id)?;
    let file = state.contest.task_submission(&session.actor(), &id).await;
    let file = file.map_err(domain_error)?;
    let kind = file.submission.kind;
    let extension = if kind.as_str() == "text" {
        "txt"
    } else {
        kind.as_str()
    };
    let disposition = format!("attachment; filename=\"submission-{id}.{extension}\"");
    Ok(file_response(kind.media_type(), disposition, file.content))
}

pub(super) fn file_response(
    media_type: &'static str,
    disposition: String,
    content: Vec<u8>,
) -> Response {
    let disposition =
        HeaderValue::try_from(disposition).expect("ids are hex and hyphens, and the rest ASCII");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(FILE_POLICY),
        ),
    ];
    (headers, content).into_response()
}

pub(super) fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        let mib = limit >> 20;
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the file is larger than {mib} MiB"),
        );
    }
    ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
}
