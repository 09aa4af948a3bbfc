//! The contest management API under `/api/v1`: contests and their structure, people, expert
//! groups, rooms and assignments, scheduled briefings, invites, sign-in and sign-out, media
//! tokens for assigned rooms and briefings, tasks with their time limits, the theory stage,
//! assessment sheets, summary sheets and protocols, and the audit log. `docs/contest.md`,
//! `docs/tasks.md`, `docs/theory.md` and `docs/scoring.md` describe it;
//! `/api/v1/openapi.json` is its OpenAPI document.
//!
//! Every handler takes the signed-in session ([`extract::SignedIn`]) and passes its actor to
//! the contest domain, which checks the permission and audits the change. The exceptions
//! are the public routes of applications: the form's data, submission and the status link.

mod accounts;
mod application_form;
mod applications;
mod audit;
mod briefings;
mod corrections;
pub mod extract;
pub(crate) mod limiter_store;
mod openapi;
mod people;
mod protocols;
mod scoring;
mod scoring_pdf;
pub mod sign_in_limit;
mod structure;
pub mod submission_limit;
mod tasks;
mod theory;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post, put, MethodRouter};
use axum::Router;
use profstage_contest::Page;
use serde::Deserialize;

use crate::http::ApiError;
use crate::state::AppState;
pub use application_form::SUBMISSION_BODY_LIMIT;
use extract::domain_error;
pub use tasks::server_now;

/// Largest request body of the contest API, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Builds the contest API's routes.
pub fn routes() -> Router<Arc<AppState>> {
    let submit: MethodRouter<Arc<AppState>> = post(application_form::submit)
        .layer::<_, Infallible>(DefaultBodyLimit::max(SUBMISSION_BODY_LIMIT));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route(
            "/api/v1/session",
            post(accounts::sign_in).delete(accounts::sign_out),
        )
        .route("/api/v1/invites/accept", post(accounts::accept_invite))
        .route("/api/v1/invites/{id}/revoke", post(accounts::revoke_invite))
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/me/rooms", get(accounts::my_rooms))
        .route("/api/v1/me/application", get(accounts::my_application))
        .route("/api/v1/me/briefings", get(briefings::mine))
        .route(
            "/api/v1/rooms/{id}/media-token",
            post(accounts::media_token),
        )
        .route(
            "/api/v1/contests",
            get(structure::list_contests).post(structure::create_contest),
        )
        .route(
            "/api/v1/contests/{id}",
            get(structure::get_contest)
                .put(corrections::update_contest)
                .delete(corrections::delete_contest),
        )
        .route(
            "/api/v1/stages/{id}",
            put(corrections::update_stage).delete(corrections::delete_stage),
        )
        .route(
            "/api/v1/nominations/{id}",
            put(corrections::update_nomination).delete(corrections::delete_nomination),
        )
        .route(
            "/api/v1/parts/{id}",
            put(corrections::update_part).delete(corrections::delete_part),
        )
        .route(
            "/api/v1/rooms/{id}",
            put(corrections::update_room).delete(corrections::delete_room),
        )
        .route(
            "/api/v1/contests/{id}/stages",
            get(structure::list_stages).post(structure::create_stage),
        )
        .route(
            "/api/v1/stages/{id}/nominations",
            get(structure::list_nominations).post(structure::create_nomination),
        )
        .route(
            "/api/v1/stages/{id}/briefings",
            get(briefings::list).post(briefings::create),
        )
        .route("/api/v1/briefings/{id}", patch(briefings::update))
        .route("/api/v1/briefings/{id}/cancel", post(briefings::cancel))
        .route(
            "/api/v1/nominations/{id}/parts",
            get(structure::list_parts).post(structure::create_part),
        )
        .route(
            "/api/v1/nominations/{id}/expert-groups",
            get(people::list_expert_groups).post(people::create_expert_group),
        )
        .route(
            "/api/v1/parts/{id}/rooms",
            get(structure::list_rooms).post(structure::create_room),
        )
        .route(
            "/api/v1/rooms/{id}/assignments",
            get(people::list_assignments),
        )
        .route(
            "/api/v1/rooms/{id}/assignments/{person_id}",
            put(people::assign).delete(people::unassign),
        )
        .route(
            "/api/v1/people",
            get(people::list_people).post(people::create_person),
        )
        .route(
            "/api/v1/people/{id}",
            get(people::get_person)
                .put(corrections::update_person)
                .delete(corrections::delete_person),
        )
        .route(
            "/api/v1/people/{id}/invites",
            get(accounts::list_invites).post(accounts::create_invite),
        )
        .route("/api/v1/audit-log", get(audit::list))
        .route("/api/v1/audit-log/csv", get(audit::export_csv))
        .merge(application_routes())
        .merge(task_routes())
        .merge(theory_routes())
        .merge(scoring_routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route("/api/v1/applications", submit.get(applications::list))
        .merge(task_file_routes())
        .merge(theory_file_routes())
}

/// Routes of tasks, except those that take files.
fn task_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/parts/{id}/tasks",
            get(tasks::list).post(tasks::create),
        )
        .route("/api/v1/tasks/{id}", get(tasks::get).put(tasks::update))
        .route("/api/v1/tasks/{id}/publish", post(tasks::publish))
        .route("/api/v1/me/tasks", get(tasks::my_tasks))
        .route("/api/v1/tasks/{id}/open", post(tasks::open))
        .route("/api/v1/tasks/{id}/answer", put(tasks::answer))
        .route("/api/v1/tasks/{id}/openings", get(tasks::openings))
        .route("/api/v1/tasks/{id}/submissions", get(tasks::submissions))
        .route("/api/v1/task-submissions/{id}", get(tasks::download))
}

/// Routes of tasks that take files, each with its own body limit.
fn task_file_routes() -> Router<Arc<AppState>> {
    let pdf = put(tasks::upload_pdf)
        .layer::<_, Infallible>(DefaultBodyLimit::max(tasks::TASK_PDF_BODY_LIMIT))
        .get(tasks::pdf);
    let upload = post(tasks::upload)
        .layer::<_, Infallible>(DefaultBodyLimit::max(tasks::TASK_UPLOAD_BODY_LIMIT));
    Router::new()
        .route("/api/v1/tasks/{id}/pdf", pdf)
        .route("/api/v1/tasks/{id}/uploads", upload)
}

/// Routes of the theory stage, except those that take files.
fn theory_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/nominations/{id}/theory-questions",
            get(theory::list_questions).post(theory::create_question),
        )
        .route(
            "/api/v1/nominations/{id}/theory-questions/export",
            get(theory::export_questions),
        )
        .route(
            "/api/v1/theory-questions/{id}",
            put(theory::update_question).delete(theory::delete_question),
        )
        .route("/api/v1/parts/{id}/theory-tests", post(theory::create_test))
        .route(
            "/api/v1/theory-tests/{id}",
            get(theory::get_test).put(theory::update_test),
        )
        .route("/api/v1/me/theory-tests", get(theory::my_tests))
        .route("/api/v1/theory-tests/{id}/intro", get(theory::intro))
        .route("/api/v1/theory-tests/{id}/open", post(theory::open))
        .route(
            "/api/v1/theory-tests/{id}/answers/{question_id}",
            put(theory::answer),
        )
        .route("/api/v1/theory-tests/{id}/finish", post(theory::finish))
        .route(
            "/api/v1/theory-tests/{id}/identity-checks",
            get(theory::identity_checks),
        )
        .route(
            "/api/v1/identity-checks/{id}/snapshot",
            get(theory::snapshot),
        )
        .route(
            "/api/v1/identity-checks/{id}/review",
            post(theory::review_identity),
        )
        .route("/api/v1/theory-tests/{id}/results", get(theory::results))
        .route(
            "/api/v1/theory-tests/{id}/results/csv",
            get(theory::results_csv),
        )
}

/// Routes of the theory stage that take files, each with its own body limit.
fn theory_file_routes() -> Router<Arc<AppState>> {
    let limit = |bytes: usize| DefaultBodyLimit::max(bytes);
    let bank =
        post(theory::import_questions).layer::<_, Infallible>(limit(theory::BANK_BODY_LIMIT));
    let identity =
        post(theory::upload_identity).layer::<_, Infallible>(limit(theory::SNAPSHOT_BODY_LIMIT));
    let results =
        post(theory::import_results).layer::<_, Infallible>(limit(theory::RESULTS_BODY_LIMIT));
    Router::new()
        .route("/api/v1/nominations/{id}/theory-questions/import", bank)
        .route("/api/v1/theory-tests/{id}/identity", identity)
        .route("/api/v1/theory-tests/{id}/results/import", results)
}

/// Routes of applications, except submission, which has its own body limit.
fn application_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/application-form", get(application_form::form))
        .route("/api/v1/application-status", post(application_form::status))
        .route(
            "/api/v1/consent-texts",
            post(applications::create_consent_text),
        )
        .route(
            "/api/v1/consent-texts/current",
            get(applications::current_consent_text),
        )
        .route(
            "/api/v1/applications/transition",
            post(applications::transition_many),
        )
        .route("/api/v1/applications/{id}", get(applications::get))
        .route(
            "/api/v1/applications/{id}/transition",
            post(applications::transition),
        )
        .route(
            "/api/v1/attachments/{id}",
            get(applications::download_attachment),
        )
        .route(
            "/api/v1/stages/{id}/participants/csv",
            get(applications::export_csv),
        )
        .route(
            "/api/v1/stages/{id}/participants/html",
            get(applications::export_html),
        )
}

/// Routes of criteria, sheets, summary sheets and protocols.
fn scoring_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/parts/{id}/criteria",
            get(scoring::list_criteria).post(scoring::create_criterion),
        )
        .route(
            "/api/v1/criteria/{id}",
            put(scoring::update_criterion).delete(scoring::delete_criterion),
        )
        .route("/api/v1/criteria/{id}/move", post(scoring::move_criterion))
        .route(
            "/api/v1/stages/{id}/scoring-rule",
            get(scoring::get_rule).put(scoring::set_rule),
        )
        .route(
            "/api/v1/parts/{id}/sheets/{participant_id}",
            get(scoring::get_sheet).put(scoring::save_sheet),
        )
        .route("/api/v1/me/scoring", get(scoring::workspace))
        .route("/api/v1/me/protocols", get(protocols::mine))
        .route(
            "/api/v1/expert-groups/{id}/sheets",
            get(scoring::group_sheets),
        )
        .route("/api/v1/sheets/{id}/lock", post(scoring::lock_sheet))
        .route("/api/v1/sheets/{id}/reopen", post(scoring::reopen_sheet))
        .route("/api/v1/sheets/{id}/pdf", get(scoring::sheet_pdf))
        .route("/api/v1/expert-groups/{id}/summary", get(scoring::summary))
        .route(
            "/api/v1/expert-groups/{id}/summary/pdf",
            get(scoring::summary_pdf),
        )
        .route(
            "/api/v1/expert-groups/{id}/protocols",
            get(protocols::list).post(protocols::generate),
        )
        .route("/api/v1/protocols/{id}", get(protocols::get))
        .route(
            "/api/v1/protocols/{id}/approval-code",
            post(protocols::request_code),
        )
        .route("/api/v1/protocols/{id}/approve", post(protocols::approve))
        .route(
            "/api/v1/protocols/{id}/hand-over",
            post(protocols::hand_over),
        )
        .route("/api/v1/protocols/{id}/pdf", get(protocols::pdf))
}

/// `offset` and `limit` of a list request.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Entries to skip; 0 when missing.
    pub offset: Option<u64>,
    /// Entries to return, from 1 to 200; 50 when missing.
    pub limit: Option<u64>,
}

impl ListQuery {
    fn page(&self) -> Result<Page, ApiError> {
        Page::new(self.offset, self.limit).map_err(domain_error)
    }
}
