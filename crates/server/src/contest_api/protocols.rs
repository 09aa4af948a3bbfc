//! Handlers for protocols: generating, reading, approving with a one-time code, handing
//! over to the regional commission, and the PDF export.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use profstage_contest::scoring::{IssuedCode, MyProtocol};
use profstage_contest::{Actor, ExpertGroupId, Protocol, ProtocolId};
use serde::{Deserialize, Serialize};

use super::extract::{domain_error, path_id, ApiBody, SignedIn};
use super::scoring::{pdf_response, render};
use super::scoring_pdf;
use crate::http::ApiError;
use crate::notifier::DeliveryError;
use crate::state::AppState;

/// The protocols of an expert group.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProtocolList {
    /// The group's protocol and, once handed over, the commission's.
    pub items: Vec<Protocol>,
}

/// The protocols the signed-in person approves.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MyProtocolList {
    /// Those waiting for the person's approval first, newest first within each.
    pub items: Vec<MyProtocol>,
}

/// The reply to a code request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeSent {
    /// Expiry of the code, in Unix milliseconds.
    pub expires_at: i64,
}

/// The code that confirms an approval.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The 6 digits delivered to the approver.
    #[serde(default)]
    pub code: String,
}

/// Generates the expert group's protocol; the chair only, once every sheet is locked.
#[utoipa::path(post, path = "/api/v1/expert-groups/{id}/protocols", tag = "protocols",
    params(("id" = String, Path, description = "Expert group id")),
    responses((status = 201, body = Protocol), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn generate(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Protocol>), ApiError> {
    let id: ExpertGroupId = path_id("id", &id)?;
    let protocol = state.contest.generate_protocol(&session.actor(), &id).await;
    Ok((StatusCode::CREATED, Json(protocol.map_err(domain_error)?)))
}

/// Lists the protocols the signed-in person approves: their expert groups' and, for a
/// commission member, the commission's protocols of their region.
#[utoipa::path(get, path = "/api/v1/me/protocols", tag = "protocols",
    responses((status = 200, body = MyProtocolList), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn mine(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
) -> Result<Json<MyProtocolList>, ApiError> {
    let items = state.contest.my_protocols(&session.actor()).await;
    Ok(Json(MyProtocolList {
        items: items.map_err(domain_error)?,
    }))
}

/// Lists the protocols of an expert group.
#[utoipa::path(get, path = "/api/v1/expert-groups/{id}/protocols", tag = "protocols",
    params(("id" = String, Path, description = "Expert group id")),
    responses((status = 200, body = ProtocolList), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ProtocolList>, ApiError> {
    let id: ExpertGroupId = path_id("id", &id)?;
    let items = state.contest.protocols(&session.actor(), &id).await;
    Ok(Json(ProtocolList {
        items: items.map_err(domain_error)?,
    }))
}

/// Returns a protocol with its approvals.
#[utoipa::path(get, path = "/api/v1/protocols/{id}", tag = "protocols",
    params(("id" = String, Path, description = "Protocol id")),
    responses((status = 200, body = Protocol), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Protocol>, ApiError> {
    let id: ProtocolId = path_id("id", &id)?;
    let protocol = state.contest.protocol(&session.actor(), &id).await;
    Ok(Json(protocol.map_err(domain_error)?))
}

/// Sends the signed-in approver a one-time code for this protocol, valid for 5 minutes
/// in this session only: by e-mail to the address in their record when `[mail]` is set,
/// otherwise into the outbox folder. A code that could not be sent is withdrawn.
#[utoipa::path(post, path = "/api/v1/protocols/{id}/approval-code", tag = "protocols",
    params(("id" = String, Path, description = "Protocol id")),
    responses((status = 202, body = CodeSent), (status = "4XX", body = super::openapi::ErrorBody),
        (status = 502, description = "The mail server rejected the message", body = super::openapi::ErrorBody),
        (status = 503, description = "The mail server is unreachable", body = super::openapi::ErrorBody)))]
pub async fn request_code(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let id: ProtocolId = path_id("id", &id)?;
    let actor = session.actor();
    let channel = state.codes.channel();
    let issued = state
        .contest
        .issue_approval_code(&actor, &id, channel)
        .await;
    let issued = issued.map_err(domain_error)?;
    if let Err(error) = state.codes.deliver(&issued).await {
        withdraw(&state, &actor, &issued).await;
        return Err(undelivered(&issued, error));
    }
    let sent = CodeSent {
        expires_at: issued.expires_at,
    };
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

/// Withdraws a code that did not reach its person. Should that fail too, the code still
/// expires unseen within 5 minutes.
async fn withdraw(state: &AppState, actor: &Actor, issued: &IssuedCode) {
    if let Err(error) = state.contest.withdraw_approval_code(actor, issued).await {
        tracing::error!(
            %error,
            protocol = %issued.protocol_id,
            "failed to withdraw an undelivered approval code; it expires unused"
        );
    }
}

/// Logs a failed delivery, without the code or the address, and builds the reply.
fn undelivered(issued: &IssuedCode, error: DeliveryError) -> ApiError {
    let protocol = &issued.protocol_id;
    let person = &issued.person_id;
    if matches!(error, DeliveryError::InvalidAddress) {
        tracing::warn!(%error, %protocol, %person, "approval code not sent");
    } else {
        tracing::error!(%error, %protocol, %person, "failed to deliver an approval code");
    }
    match error {
        DeliveryError::InvalidAddress => ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the e-mail address in your record cannot receive mail, so no code was sent; \
             ask an organiser to correct it",
        )
        .with_reason("invalid_email_address"),
        DeliveryError::Rejected { status } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "code_not_sent",
            format!(
                "the mail server rejected the message with your code (SMTP status {status}), \
                 so no code was sent; try again later or ask an organiser to check your \
                 e-mail address"
            ),
        )
        .with_reason("mail_rejected"),
        DeliveryError::Unavailable { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "code_not_sent",
            "the mail server could not be reached, so no code was sent; try again in a few \
             minutes",
        )
        .with_reason("mail_unavailable"),
        DeliveryError::Outbox(_) | DeliveryError::NoAddress => ApiError::internal(),
    }
}

/// Approves the protocol's current content with the code.
#[utoipa::path(post, path = "/api/v1/protocols/{id}/approve", tag = "protocols",
    params(("id" = String, Path, description = "Protocol id")), request_body = ApproveRequest,
    responses((status = 200, body = Protocol), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
    ApiBody(request): ApiBody<ApproveRequest>,
) -> Result<Json<Protocol>, ApiError> {
    let id: ProtocolId = path_id("id", &id)?;
    let actor = session.actor();
    let protocol = state
        .contest
        .approve_protocol(&actor, &id, &request.code)
        .await;
    Ok(Json(protocol.map_err(domain_error)?))
}

/// Hands the approved protocol to the regional commission and returns the commission's
/// new protocol; the chair only.
#[utoipa::path(post, path = "/api/v1/protocols/{id}/hand-over", tag = "protocols",
    params(("id" = String, Path, description = "Protocol id")),
    responses((status = 201, body = Protocol), (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn hand_over(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Protocol>), ApiError> {
    let id: ProtocolId = path_id("id", &id)?;
    let protocol = state
        .contest
        .hand_over_protocol(&session.actor(), &id)
        .await;
    Ok((StatusCode::CREATED, Json(protocol.map_err(domain_error)?)))
}

/// Downloads a protocol as PDF, with its approvals and content hash.
#[utoipa::path(get, path = "/api/v1/protocols/{id}/pdf", tag = "protocols",
    params(("id" = String, Path, description = "Protocol id")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = "4XX", body = super::openapi::ErrorBody)))]
pub async fn pdf(
    State(state): State<Arc<AppState>>,
    SignedIn(session): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ProtocolId = path_id("id", &id)?;
    let protocol = state.contest.protocol(&session.actor(), &id).await;
    let protocol = protocol.map_err(domain_error)?;
    let bytes = render(move |font| scoring_pdf::protocol_pdf(font, &protocol)).await?;
    Ok(pdf_response(bytes, &format!("protocol-{id}.pdf")))
}
