//! `/v1/consents`: record that an individual recipient consented to electronic registered letters, and
//! look consents up. Recording one releases the letters waiting for it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::Scope;
use crate::domain::time::rfc3339_secs as rfc3339;
use crate::domain::{EmailAddress, FieldError, FieldErrors};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::letters::consent::{ConsentError, ConsentInput, record_consent};
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/consents", post(create).get(list))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    email: Option<String>,
    /// When the recipient consented: a date or an RFC 3339 time; defaults to now.
    given_at: Option<String>,
    source: Option<String>,
    proof_base64: Option<String>,
}

fn parse_given_at(text: Option<&str>) -> Result<i64, FieldError> {
    let Some(text) = text else { return Ok(Utc::now().timestamp_millis()) };
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).or_else(|_| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
    });
    match parsed {
        Ok(ms) if ms <= Utc::now().timestamp_millis() => Ok(ms),
        Ok(_) => Err(FieldError::new("", "in_the_future", "a consent cannot be given in the future")),
        Err(_) => {
            Err(FieldError::new("", "invalid_time", format!("`{text}` is not a date (2026-11-26) or an RFC 3339 time")))
        }
    }
}

#[utoipa::path(
    post,
    path = "/v1/consents",
    tag = "consents",
    summary = "Record that an individual consented to electronic registered letters",
    request_body(content = serde_json::Value, description = "email, given_at (date or RFC 3339), source, optional proof_base64"),
    responses((status = 201, description = "The consent", body = serde_json::Value), (status = 401, description = "No API key, or not a valid one", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 403, description = "The key lacks the scope or belongs to another sender", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields, each named", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    AppJson(raw): AppJson<RawConsent>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let mut errors = FieldErrors::default();
    let email = match raw.email.as_deref() {
        Some(e) => errors.take("email", EmailAddress::parse(e)),
        None => {
            errors.push(FieldError::new("email", "required", "give the email address that consented"));
            None
        }
    };
    let given_at = errors.take("given_at", parse_given_at(raw.given_at.as_deref()));
    let source = raw.source.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if source.is_none() {
        errors.push(FieldError::new(
            "source",
            "required",
            "say how the consent was obtained (e.g. \"signed form of 2026-11-02\")",
        ));
    }
    let proof = raw.proof_base64.as_deref().and_then(|b| {
        errors.take(
            "proof_base64",
            STANDARD.decode(b.trim()).map_err(|e| FieldError::new("", "invalid_base64", e.to_string())),
        )
    });
    let (Some(email), Some(given_at), Some(source)) = (email, given_at, source) else {
        return Err(ApiError::invalid(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let input = ConsentInput { sender: caller.sender, email: email.clone(), given_at, source: source.clone(), proof };
    let (id, released) = record_consent(&services, input).await.map_err(|e| match e {
        ConsentError::Store(s) => ApiError::from(s),
        other => ApiError::internal(&other),
    })?;
    let body = json!({ "id": id.as_str(), "email": email.as_str(), "given_at": rfc3339(given_at), "source": source,
                       "released_letters": released });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
struct ConsentQuery {
    email: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/consents",
    tag = "consents",
    summary = "The consents recorded for an address",
    params(("email" = Option<String>, Query, description = "The recipient's address")),
    responses((status = 200, description = "The consents", body = serde_json::Value), (status = 401, description = "No API key, or not a valid one", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 403, description = "The key lacks the scope or belongs to another sender", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 422, description = "Invalid fields, each named", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Query(q): Query<ConsentQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let email = q.email.as_deref().ok_or_else(|| {
        ApiError::invalid(FieldError::new("email", "required", "give ?email= to look consents up").into())
    })?;
    let email = EmailAddress::parse(email).map_err(|e| ApiError::invalid(e.under("email").into()))?;
    let consents = services.store.consents(&caller.sender, email.as_str()).await?;
    let data: Vec<_> = consents
        .iter()
        .map(|c| {
            json!({ "id": c.id.as_str(), "email": c.email, "given_at": rfc3339(c.given_at), "source": c.source,
                         "proof_sha256": c.proof_sha256, "recorded_at": rfc3339(c.recorded_at) })
        })
        .collect();
    Ok(axum::Json(json!({ "email": email.as_str(), "consented": !data.is_empty(), "data": data })).into_response())
}
