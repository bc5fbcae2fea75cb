//! `/v1/senders/{id}/approvals`: the sender approves qualified letters with their one-time code.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::Scope;
use crate::domain::{FieldError, SenderId};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::letters::approval::{ApprovalError, approve};
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/senders/{id}/approvals", post(create))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    code: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/senders/{id}/approvals",
    tag = "approvals",
    summary = "Approve the sender's waiting qualified letters with a one-time code",
    params(("id" = String, Path, description = "The sender")),
    request_body(content = serde_json::Value, description = "{\"code\": \"123456\"}"),
    responses((status = 200, description = "The letters released", body = serde_json::Value), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(raw): AppJson<RawApproval>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let sender: SenderId = id.parse().map_err(|_| ApiError::not_found(format!("no sender {id}")))?;
    if sender != caller.sender {
        return Err(ApiError::forbidden(format!("this API key belongs to sender `{}`, not `{sender}`", caller.sender)));
    }
    let code: String = raw.code.unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        let error = FieldError::new("code", "invalid_code", "give the 6-digit one-time code of the sender");
        return Err(ApiError::invalid(error.into()));
    }
    let approved =
        approve(&services, &sender, &code, &format!("api-key {}", caller.key)).await.map_err(|e| match e {
            ApprovalError::InvalidCode(message) => {
                ApiError::invalid(FieldError::new("code", "code_refused", message).into())
            }
            ApprovalError::NotNeeded(_) => {
                ApiError::new(StatusCode::CONFLICT, "approval_not_needed", "No approval needed", e.to_string())
            }
            ApprovalError::UnknownSender(_) => ApiError::not_found(e.to_string()),
            ApprovalError::Provider(p) if p.is_transient() => ApiError::unavailable(p.to_string()),
            ApprovalError::Store(s) => s.into(),
            other => ApiError::internal(&other),
        })?;
    let expires_at = Utc.timestamp_millis_opt(approved.expires_at).single().unwrap_or_default();
    let body = json!({ "sender": sender.as_str(), "released_letters": approved.released,
                       "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}
