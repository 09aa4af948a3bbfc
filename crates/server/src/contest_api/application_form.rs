//! Public handlers of applications, used without signing in: the form's data, submission
//! as `multipart/form-data` with attachments, and the status behind the private link.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use profstage_contest::applications::{MAX_ATTACHMENTS, MAX_TOTAL_ATTACHMENT_BYTES};
use profstage_contest::{
    ApplicationForm, ApplicationId, ApplicationStatus, Error, FieldError, NewApplication,
    NewAttachment, NominationId, StageId,
};
use serde::{Deserialize, Serialize};

use super::extract::{domain_error, path_id, ApiBody, ApiQuery, ClientAddress};
use super::submission_limit::{SubmissionLimiter, PER_HOUR};
use crate::http::ApiError;
use crate::state::AppState;

/// Largest submission body, in bytes: the attachments' total limit plus room for the text
/// fields and the multipart framing.
pub const SUBMISSION_BODY_LIMIT: usize = MAX_TOTAL_ATTACHMENT_BYTES + 256 * 1024;
/// Largest text field of a submission, in bytes; the domain checks the exact limits.
const MAX_TEXT_FIELD_BYTES: usize = 16 * 1024;
/// Name of the repeated file field.
const ATTACHMENT_FIELD: &str = "attachments";
/// The status page; the token follows `#`, so that it stays out of server logs.
const STATUS_PAGE: &str = "/application-status.html";

/// `stage` and `nomination` of `GET /api/v1/application-form`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// The regional stage's id.
    pub stage: String,
    /// The nomination's id; it must belong to the stage.
    pub nomination: String,
}

/// Returns what the public application form shows: contest, stage, nomination, dates and
/// the current consent text with its version.
#[utoipa::path(get, path = "/api/v1/application-form", tag = "applications", params(FormQuery),
    responses((status = 200, body = ApplicationForm), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn form(
    State(state): State<Arc<AppState>>,
    ApiQuery(query): ApiQuery<FormQuery>,
) -> Result<Json<ApplicationForm>, ApiError> {
    let stage: StageId = path_id("stage", &query.stage)?;
    let nomination: NominationId = path_id("nomination", &query.nomination)?;
    let form = state.contest.application_form(&stage, &nomination).await;
    Ok(Json(form.map_err(domain_error)?))
}

/// The fields of `POST /api/v1/applications`, sent as `multipart/form-data`. Described for
/// the OpenAPI document only; the handler reads the parts one by one.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ApplicationUpload {
    /// The nomination applied for.
    nomination_id: String,
    /// 1 to 100 characters.
    full_name: String,
    /// `YYYY-MM-DD`; the applicant is 14 to 100 years old.
    birth_date: String,
    /// 1 to 200 characters.
    employer: String,
    /// 1 to 200 characters.
    position: String,
    /// A whole number from 0 to 80.
    experience_years: String,
    /// An e-mail address.
    email: String,
    /// Digits, spaces and `+ - ( )`.
    phone: String,
    /// The version of the consent text shown with the form.
    consent_version: String,
    /// `true`.
    consent: String,
    /// Up to 5 PDF, JPEG or PNG files, each at most 5 MiB and 15 MiB together. The type
    /// is detected from the content; file names and declared types are ignored.
    #[schema(value_type = Vec<String>, format = Binary)]
    attachments: Vec<Vec<u8>>,
}

/// The reply to a submission, sent once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmissionReceipt {
    /// The application's id.
    pub id: ApplicationId,
    /// The secret of the status link, 64 hex digits; the server keeps only its SHA-256.
    pub status_token: String,
    /// The status page with the token after `#`, relative to the server's address.
    pub status_url: String,
}

/// Submits an application without signing in. Every field is checked before anything is
/// saved; an invalid field gets 422 naming it. A second application of the same person to
/// the same nomination is saved and flagged as a duplicate for the organisers.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applications",
    request_body(content = ApplicationUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = SubmissionReceipt),
        (status = 429, description = "Too many submissions from this address", body = super::openapi::ErrorBody),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<(StatusCode, Json<SubmissionReceipt>), ApiError> {
    let ClientAddress(client) = ClientAddress::of(request.extensions(), request.headers(), &state);
    if !state.submission_limits.allow(client, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "too many applications from this address; each address may send {PER_HOUR} \
                 an hour, so try again later"
            ),
        ));
    }
    SubmissionLimiter::store(&state.contest, client).await;
    let (new, attachments) = read_form(request, &state).await?;
    let submitted = state.contest.submit_application(&new, attachments).await;
    let submitted = submitted.map_err(domain_error)?;
    let receipt = SubmissionReceipt {
        status_url: format!("{STATUS_PAGE}#{}", submitted.status_token),
        id: submitted.id,
        status_token: submitted.status_token,
    };
    Ok((StatusCode::CREATED, Json(receipt)))
}

/// Reads the multipart body into the form and its files. Unknown, repeated and oversized
/// text fields are 422; a body over [`SUBMISSION_BODY_LIMIT`] is 413.
///
/// NOTE: the files stay in memory until the transaction commits, and the domain and the
/// database driver copy them again, so each submission in flight may hold a few times its
/// body size. Nothing bounds how many run at once beyond the per-address rate limit.
async fn read_form(
    request: Request,
    state: &Arc<AppState>,
) -> Result<(NewApplication, Vec<NewAttachment>), ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_multipart {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected Content-Type: multipart/form-data",
        ));
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| {
            ApiError::new(
                rejection.status(),
                "invalid_multipart",
                rejection.body_text(),
            )
        })?;
    let mut form = FormFields::default();
    let mut attachments = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == ATTACHMENT_FIELD {
            let unnamed = field.file_name().is_none_or(str::is_empty);
            let content = field.bytes().await.map_err(multipart_error)?;
            // A browser sends an empty part for a file input left empty.
            if !(unnamed && content.is_empty()) {
                attachments.push(NewAttachment {
                    content: Vec::from(content),
                });
            }
            if attachments.len() > MAX_ATTACHMENTS {
                let message = format!("at most {MAX_ATTACHMENTS} files may be attached");
                let error = FieldError::new(ATTACHMENT_FIELD, "too_many_files", message);
                return Err(domain_error(error.with("max", MAX_ATTACHMENTS).into()));
            }
            continue;
        }
        let value = field.bytes().await.map_err(multipart_error)?;
        form.set(&name, &value)?;
    }
    Ok((form.finish()?, attachments))
}

/// The text fields read so far; each may appear once.
#[derive(Default)]
struct FormFields {
    values: std::collections::BTreeMap<&'static str, String>,
}

/// The text fields of the form, as `NewApplication` names them.
const TEXT_FIELDS: [&str; 10] = [
    "nomination_id",
    "full_name",
    "birth_date",
    "employer",
    "position",
    "experience_years",
    "email",
    "phone",
    "consent_version",
    "consent",
];

impl FormFields {
    fn set(&mut self, name: &str, value: &[u8]) -> Result<(), ApiError> {
        let Some(&known) = TEXT_FIELDS.iter().find(|field| **field == name) else {
            let field = if name.is_empty() { "body" } else { name };
            return Err(invalid(field, "unknown_field", "unknown field"));
        };
        if value.len() > MAX_TEXT_FIELD_BYTES {
            let message = format!("must be at most {MAX_TEXT_FIELD_BYTES} bytes");
            let error = FieldError::new(known, "too_many_bytes", message);
            return Err(domain_error(error.with("max", MAX_TEXT_FIELD_BYTES).into()));
        }
        let Ok(text) = std::str::from_utf8(value) else {
            return Err(invalid(known, "not_utf8", "must be UTF-8 text"));
        };
        if self.values.insert(known, text.to_owned()).is_some() {
            return Err(invalid(known, "repeated_field", "must be sent once"));
        }
        Ok(())
    }

    fn take(&mut self, name: &str) -> String {
        self.values.remove(name).unwrap_or_default()
    }

    /// Builds the domain's form. Values the domain cannot hold (a number or a boolean
    /// that does not parse) are rejected here, all at once; the rest the domain checks.
    fn finish(mut self) -> Result<NewApplication, ApiError> {
        let mut errors = Vec::new();
        let years = self.take("experience_years");
        let experience_years = match years.trim() {
            "" => None,
            text => text.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    "experience_years",
                    "not_a_number",
                    "must be a whole number",
                ));
                None
            }),
        };
        let consent = match self.take("consent").trim() {
            "true" => true,
            "" | "false" => false,
            _ => {
                errors.push(FieldError::new(
                    "consent",
                    "not_a_boolean",
                    "must be true or false",
                ));
                false
            }
        };
        if !errors.is_empty() {
            return Err(domain_error(Error::Invalid(errors)));
        }
        Ok(NewApplication {
            nomination_id: self.take("nomination_id"),
            full_name: self.take("full_name"),
            birth_date: self.take("birth_date"),
            employer: self.take("employer"),
            position: self.take("position"),
            experience_years,
            email: self.take("email"),
            phone: self.take("phone"),
            consent_version: self.take("consent_version"),
            consent,
        })
    }
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    domain_error(FieldError::new(field, code, message).into())
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the application is larger than {SUBMISSION_BODY_LIMIT} bytes; attachments \
                 may total at most {} MiB",
                MAX_TOTAL_ATTACHMENT_BYTES >> 20
            ),
        );
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_multipart",
        format!("malformed multipart/form-data body: {}", error.body_text()),
    )
}

/// The body of `POST /api/v1/application-status`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StatusRequest {
    /// The status token returned at submission.
    pub token: String,
}

/// Returns an application's status, number, rejection reason and dates, and nothing
/// personal. The token travels in the body, so that it stays out of logged paths. A wrong
/// token is 404.
#[utoipa::path(post, path = "/api/v1/application-status", tag = "applications",
    request_body = StatusRequest,
    responses((status = 200, body = ApplicationStatus), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    ApiBody(request): ApiBody<StatusRequest>,
) -> Result<Json<ApplicationStatus>, ApiError> {
    let token = request.token.trim();
    let looks_valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !looks_valid {
        return Err(invalid(
            "token",
            "invalid_token",
            "must be the 64 hex digits of the status link",
        ));
    }
    let status = state.contest.application_status(token).await;
    Ok(Json(status.map_err(domain_error)?))
}
