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
use serde::Deserialize;
use serde_json::json;

use crate::accounts::Scope;
use crate::domain::time::rfc3339_secs as rfc3339;
use crate::domain::{EmailAddress, FieldError};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::letters::consent::{ConsentError, parse_consent, record_consent};
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

#[utoipa::path(
    post,
    path = "/v1/consents",
    tag = "consents",
    summary = "Record that an individual consented to electronic registered letters",
    request_body(content = serde_json::Value, description = "email, given_at (date or RFC 3339), source, optional proof_base64"),
    responses((status = 201, description = "The consent", body = serde_json::Value), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    AppJson(raw): AppJson<RawConsent>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let proof = match raw.proof_base64.as_deref().map(|b| STANDARD.decode(b.trim())) {
        Some(Ok(bytes)) => Ok(Some(bytes)),
        Some(Err(e)) => Err(FieldError::new("proof_base64", "invalid_base64", e.to_string())),
        None => Ok(None),
    };
    let parsed = parse_consent(
        caller.sender,
        raw.email.as_deref(),
        raw.given_at.as_deref(),
        raw.source,
        proof.clone().unwrap_or_default(),
    );
    let input = match (parsed, proof) {
        (Ok(input), Ok(_)) => input,
        (parsed, proof) => {
            let mut errors = parsed.err().unwrap_or_default();
            if let Err(e) = proof {
                errors.push(e);
            }
            return Err(ApiError::invalid(errors));
        }
    };
    let (email, given_at, source) = (input.email.clone(), input.given_at, input.source.clone());
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
    responses((status = 200, description = "The consents", body = serde_json::Value), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
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
                         "proof_sha256": c.proof_sha256, "recorded_at": rfc3339(c.recorded_at),
                         "withdrawn_at": c.withdrawn_at.map(rfc3339) })
        })
        .collect();
    // A withdrawn consent stays listed (with when) but no longer counts.
    let consented = consents.iter().any(|c| c.withdrawn_at.is_none());
    Ok(axum::Json(json!({ "email": email.as_str(), "consented": consented, "data": data })).into_response())
}
