//! Handlers of the theory stage. Organisers keep a nomination's question bank (also by CSV
//! and JSON import and export), create theory tests and import external results.
//! Participants send an identity snapshot, open the test, save answers and hand it in.
//! Organisers and experts of the nomination review snapshots and read results.
//!
//! A theory test is a task, so `POST /tasks/{id}/publish` publishes it and its times follow
//! `docs/tasks.md`. Replies to participants carry the server clock in `now`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use profstage_contest::theory::{
    Answer, BankFormat, IdentityCheck, IdentityReview, ImportedResults, NewQuestion, NewTheoryTest,
    OpenedTheoryTest, Question, SavedAnswer, TheoryResult, TheoryTest, TheoryTestIntro,
};
use profstage_contest::{IdentityCheckId, NominationId, QuestionId, StagePartId, TaskId};
use serde::{Deserialize, Serialize};

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, SignedIn};
use super::tasks::{body_error, file_response, server_now};
use crate::http::ApiError;
use crate::state::AppState;

/// Largest body of a question bank import.
pub const BANK_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest body of an identity snapshot: the snapshot limit plus a little slack, so that
/// the domain's check, with its clearer message, applies first.
pub const SNAPSHOT_BODY_LIMIT: usize = profstage_contest::theory::MAX_SNAPSHOT_BYTES + 1024;
/// Largest body of a results import.
pub const RESULTS_BODY_LIMIT: usize = 1024 * 1024;

/// The `format` of a bank import or export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` or `json`.
    #[param(value_type = String)]
    pub format: BankFormat,
}

/// The reply of a bank import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportedQuestions {
    /// Questions added to the end of the bank.
    pub imported: usize,
}

/// Lists a nomination's question bank, with the correct answers.
#[utoipa::path(get, path = "/api/v1/nominations/{id}/theory-questions", tag = "theory",
    params(("id" = String, Path, description = "Nomination id")),
    responses((status = 200, body = Vec<Question>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list_questions(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Vec<Question>>, ApiError> {
    let nomination: NominationId = path_id("id", &id)?;
    let questions = state.contest.questions(&session.actor(), &nomination).await;
    Ok(Json(questions.map_err(domain_error)?))
}

/// Adds one question at the end of a nomination's bank.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/theory-questions", tag = "theory",
    params(("id" = String, Path, description = "Nomination id")), request_body = NewQuestion,
    responses((status = 201, body = Question), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_question(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewQuestion>,
) -> Result<(StatusCode, Json<Question>), ApiError> {
    let nomination: NominationId = path_id("id", &id)?;
    let actor = session.actor();
    let created = state
        .contest
        .create_question(&actor, &nomination, &new, server_now());
    Ok((
        StatusCode::CREATED,
        Json(created.await.map_err(domain_error)?),
    ))
}

/// Replaces a question that no attempt has drawn. A drawn one is 409.
#[utoipa::path(put, path = "/api/v1/theory-questions/{id}", tag = "theory",
    params(("id" = String, Path, description = "Question id")), request_body = NewQuestion,
    responses((status = 200, body = Question), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_question(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewQuestion>,
) -> Result<Json<Question>, ApiError> {
    let id: QuestionId = path_id("id", &id)?;
    let actor = session.actor();
    let updated = state.contest.update_question(&actor, &id, &new).await;
    Ok(Json(updated.map_err(domain_error)?))
}

/// Removes a question that no attempt has drawn; a drawn one is 409.
#[utoipa::path(delete, path = "/api/v1/theory-questions/{id}", tag = "theory",
    params(("id" = String, Path, description = "Question id")),
    responses((status = 204), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn delete_question(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: QuestionId = path_id("id", &id)?;
    let deleted = state.contest.delete_question(&session.actor(), &id).await;
    deleted.map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports questions from a CSV or JSON file (the raw body, at most 4 MiB) and adds them
/// to the end of the bank, all or none. Every problem is listed in `fields`, named
/// `line N: field`.
#[utoipa::path(post, path = "/api/v1/nominations/{id}/theory-questions/import", tag = "theory",
    params(("id" = String, Path, description = "Nomination id"), FormatQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportedQuestions), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn import_questions(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FormatQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ImportedQuestions>), ApiError> {
    let nomination: NominationId = path_id("id", &id)?;
    let content = body.map_err(|r| body_error(r, BANK_BODY_LIMIT))?;
    let actor = session.actor();
    let imported = state
        .contest
        .import_questions(&actor, &nomination, query.format, &content, server_now())
        .await;
    let imported = imported.map_err(domain_error)?;
    Ok((StatusCode::CREATED, Json(ImportedQuestions { imported })))
}

/// Exports a nomination's bank as CSV or JSON, in the import's format. The export is
/// audited.
#[utoipa::path(get, path = "/api/v1/nominations/{id}/theory-questions/export", tag = "theory",
    params(("id" = String, Path, description = "Nomination id"), FormatQuery),
    responses((status = 200, description = "text/csv or application/json"),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn export_questions(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let nomination: NominationId = path_id("id", &id)?;
    let actor = session.actor();
    let file = state
        .contest
        .export_questions(&actor, &nomination, query.format)
        .await;
    let file = file.map_err(domain_error)?;
    let (media_type, extension) = match query.format {
        BankFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        BankFormat::Json => ("application/json", "json"),
    };
    let disposition = format!("attachment; filename=\"questions-{nomination}.{extension}\"");
    Ok(file_response(media_type, disposition, file.into_bytes()))
}

/// Creates a draft theory test for a theory stage part; a practice part is 409.
/// `POST /api/v1/tasks/{id}/publish` publishes it once the bank contains enough questions.
#[utoipa::path(post, path = "/api/v1/parts/{id}/theory-tests", tag = "theory",
    params(("id" = String, Path, description = "Stage part id")), request_body = NewTheoryTest,
    responses((status = 201, body = TheoryTest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn create_test(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewTheoryTest>,
) -> Result<(StatusCode, Json<TheoryTest>), ApiError> {
    let part: StagePartId = path_id("id", &id)?;
    let actor = session.actor();
    let test = state
        .contest
        .create_theory_test(&actor, &part, &new, server_now());
    Ok((StatusCode::CREATED, Json(test.await.map_err(domain_error)?)))
}

/// Returns a theory test as organisers see it.
#[utoipa::path(get, path = "/api/v1/theory-tests/{id}", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = TheoryTest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get_test(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<TheoryTest>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let test = state.contest.theory_test(&session.actor(), &id).await;
    Ok(Json(test.map_err(domain_error)?))
}

/// Replaces a theory test's fields; 409 once it has started.
#[utoipa::path(put, path = "/api/v1/theory-tests/{id}", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")), request_body = NewTheoryTest,
    responses((status = 200, body = TheoryTest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn update_test(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(new): ApiBody<NewTheoryTest>,
) -> Result<Json<TheoryTest>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let test = state
        .contest
        .update_theory_test(&actor, &id, &new, server_now());
    Ok(Json(test.await.map_err(domain_error)?))
}

/// The reply of `GET /api/v1/me/theory-tests`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyTheoryTests {
    /// The server clock, in Unix milliseconds.
    pub now: i64,
    /// The published theory tests of the participant's stage parts, by start.
    pub items: Vec<TheoryTestIntro>,
}

/// Lists the signed-in participant's published theory tests, also those not started yet,
/// with the newest identity snapshot of each.
#[utoipa::path(get, path = "/api/v1/me/theory-tests", tag = "theory",
    responses((status = 200, body = MyTheoryTests), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn my_tests(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<MyTheoryTests>, ApiError> {
    let now = server_now();
    let items = state.contest.my_theory_tests(&session.actor(), now).await;
    let items = items.map_err(domain_error)?;
    Ok(Json(MyTheoryTests { now, items }))
}

/// Returns a published theory test to its participant, also before the start: its times,
/// the newest identity snapshot and the server clock.
#[utoipa::path(get, path = "/api/v1/theory-tests/{id}/intro", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = TheoryTestIntro), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn intro(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<TheoryTestIntro>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let intro = state.contest.theory_test_intro(&actor, &id, server_now());
    Ok(Json(intro.await.map_err(domain_error)?))
}

/// Stores the participant's identity snapshot, the raw body: a JPEG by content, at most
/// 2 MiB. It waits for an expert's review; the test may start while it is pending.
#[utoipa::path(post, path = "/api/v1/theory-tests/{id}/identity", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, body = IdentityCheck), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn upload_identity(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IdentityCheck>), ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let content = body.map_err(|r| body_error(r, SNAPSHOT_BODY_LIMIT))?;
    let actor = session.actor();
    let check = state
        .contest
        .upload_identity_snapshot(&actor, &id, &content, server_now())
        .await;
    Ok((StatusCode::CREATED, Json(check.map_err(domain_error)?)))
}

/// Opens the theory test. The first opening needs an identity snapshot that was not
/// rejected (409 otherwise), draws the questions and starts the time limit.
#[utoipa::path(post, path = "/api/v1/theory-tests/{id}/open", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = OpenedTheoryTest), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn open(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<OpenedTheoryTest>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let opened = state.contest.open_theory_test(&actor, &id, server_now());
    Ok(Json(opened.await.map_err(domain_error)?))
}

/// The reply to a saved answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerReceipt {
    /// The saved answer.
    pub saved: SavedAnswer,
    /// The server clock, in Unix milliseconds.
    pub now: i64,
}

/// Saves the answer to one question: `{"selected": [1, 3]}` or `{"text": "..."}`. After
/// the deadline it is 409 `time_up`; after the hand-in 409 `conflict`.
#[utoipa::path(put, path = "/api/v1/theory-tests/{id}/answers/{question_id}", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id"),
        ("question_id" = String, Path, description = "Question id")),
    request_body = Answer,
    responses((status = 200, body = AnswerReceipt),
        (status = 409, description = "time_up: the deadline has passed", body = super::openapi::ErrorBody),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn answer(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path((id, question)): Path<(String, String)>,
    ApiBody(answer): ApiBody<Answer>,
) -> Result<Json<AnswerReceipt>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let question: QuestionId = path_id("question_id", &question)?;
    let now = server_now();
    let actor = session.actor();
    let saved = state
        .contest
        .save_theory_answer(&actor, &id, &question, &answer, now)
        .await;
    let saved = saved.map_err(domain_error)?;
    Ok(Json(AnswerReceipt { saved, now }))
}

/// The reply to a hand-in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Finished {
    /// The hand-in time, which closes the attempt, in Unix milliseconds.
    pub finished_at: i64,
    /// The server clock, in Unix milliseconds.
    pub now: i64,
}

/// Hands the test in before the deadline; later answers are rejected.
#[utoipa::path(post, path = "/api/v1/theory-tests/{id}/finish", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = Finished), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn finish(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Finished>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let now = server_now();
    let actor = session.actor();
    let finished = state.contest.finish_theory_test(&actor, &id, now);
    let finished_at = finished.await.map_err(domain_error)?;
    Ok(Json(Finished { finished_at, now }))
}

/// Lists a test's identity snapshots, newest first, without the images. The read is
/// audited.
#[utoipa::path(get, path = "/api/v1/theory-tests/{id}/identity-checks", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = Vec<IdentityCheck>), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn identity_checks(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Vec<IdentityCheck>>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let checks = state.contest.identity_checks(&session.actor(), &id).await;
    Ok(Json(checks.map_err(domain_error)?))
}

/// Serves one identity snapshot as JPEG. The read is audited.
#[utoipa::path(get, path = "/api/v1/identity-checks/{id}/snapshot", tag = "theory",
    params(("id" = String, Path, description = "Identity check id")),
    responses((status = 200, description = "The JPEG", content_type = "image/jpeg"),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn snapshot(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: IdentityCheckId = path_id("id", &id)?;
    let content = state.contest.identity_snapshot(&session.actor(), &id).await;
    let content = content.map_err(domain_error)?;
    let disposition = format!("inline; filename=\"identity-{id}.jpg\"");
    Ok(file_response("image/jpeg", disposition, content))
}

/// Confirms or rejects a pending identity snapshot: `{"decision": "confirm"}` or
/// `{"decision": "reject", "reason": "..."}`. A reviewed one is 409.
#[utoipa::path(post, path = "/api/v1/identity-checks/{id}/review", tag = "theory",
    params(("id" = String, Path, description = "Identity check id")), request_body = IdentityReview,
    responses((status = 200, body = IdentityCheck), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn review_identity(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(review): ApiBody<IdentityReview>,
) -> Result<Json<IdentityCheck>, ApiError> {
    let id: IdentityCheckId = path_id("id", &id)?;
    let actor = session.actor();
    let check = state
        .contest
        .review_identity(&actor, &id, &review, server_now());
    Ok(Json(check.await.map_err(domain_error)?))
}

/// The reply of `GET /api/v1/theory-tests/{id}/results`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TheoryResults {
    /// The server clock, in Unix milliseconds.
    pub now: i64,
    /// Every attempt and imported result, best score first.
    pub items: Vec<TheoryResult>,
}

/// Lists a test's results, best score first. The read is audited.
#[utoipa::path(get, path = "/api/v1/theory-tests/{id}/results", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, body = TheoryResults), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn results(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<TheoryResults>, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let now = server_now();
    let actor = session.actor();
    let items = state.contest.theory_results(&actor, &id, now);
    let items = items.await.map_err(domain_error)?;
    Ok(Json(TheoryResults { now, items }))
}

/// Downloads a test's results as CSV. The export is audited.
#[utoipa::path(get, path = "/api/v1/theory-tests/{id}/results/csv", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    responses((status = 200, description = "text/csv"), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn results_csv(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let actor = session.actor();
    let csv = state.contest.theory_results_csv(&actor, &id, server_now());
    let csv = csv.await.map_err(domain_error)?;
    let disposition = format!("attachment; filename=\"theory-results-{id}.csv\"");
    Ok(file_response(
        "text/csv; charset=utf-8",
        disposition,
        csv.into_bytes(),
    ))
}

/// Imports results taken on an external exam platform from CSV (the raw body, at most
/// 1 MiB): `participant;score;max_score`, all rows or none.
#[utoipa::path(post, path = "/api/v1/theory-tests/{id}/results/import", tag = "theory",
    params(("id" = String, Path, description = "Theory test (task) id")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportedResults), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn import_results(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<ImportedResults>), ApiError> {
    let id: TaskId = path_id("id", &id)?;
    let content = body.map_err(|r| body_error(r, RESULTS_BODY_LIMIT))?;
    let actor = session.actor();
    let imported = state
        .contest
        .import_theory_results(&actor, &id, &content, server_now())
        .await;
    Ok((StatusCode::CREATED, Json(imported.map_err(domain_error)?)))
}
