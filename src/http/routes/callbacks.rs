//! `/v1/callbacks`: the endpoints a sender subscribes to its letters' events (the secret shown once), their
//! attempts, enabling one again (which replays what it missed), rotating its secret; and `/v1/proof-links`,
//! the signed, expiring links to proofs that callbacks carry.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Scope;
use crate::domain::time::rfc3339;
use crate::domain::{EndpointId, FieldError, LetterId};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::notify::callbacks::{EVENT_TYPES, enable_and_replay, verify_proof_link};
use crate::services::Services;
use crate::store::callbacks::{AttemptRow, EndpointRow};
use crate::store::now_ms;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/v1/callbacks", post(create).get(list))
        .route("/v1/callbacks/{id}", get(show).delete(remove))
        .route("/v1/callbacks/{id}/attempts", get(attempts))
        .route("/v1/callbacks/{id}/enable", post(enable))
        .route("/v1/callbacks/{id}/rotate", post(rotate))
        .route("/v1/proof-links/{letter}/{kind}", get(proof_link))
}

/// How long the previous secret keeps signing after a rotation.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// An endpoint that receives signed callbacks; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// `cbe_…`
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// The event types it receives (`letter.delivered`…).
    pub events: Vec<String>,
    /// `enabled` or `disabled`.
    pub state: String,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<String>,
    pub created_at: String,
    /// `api` (made through this API), `config` (`[[senders.callbacks]]`) or `letter` (a letter's own
    /// `callback_url`).
    pub origin: String,
    /// The one letter a `letter` endpoint hears of.
    pub letter: Option<String>,
}

/// A new endpoint, with its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`: verify every delivery with it (Standard Webhooks).
    pub secret: String,
}

/// An endpoint enabled again, and how many missed deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnabledEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub replayed: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub callbacks: Vec<EndpointView>,
}

/// A rotated secret: shown this once; the previous one keeps signing beside it until the time given.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    pub id: String,
    pub secret: String,
    pub previous_secret_valid_until: String,
}

/// One attempt to deliver a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// The `webhook-id` of the message, the same across its attempts.
    pub message_id: String,
    pub attempt: i64,
    pub at: String,
    /// The HTTP status answered, if any.
    pub status: Option<i64>,
    pub duration_ms: i64,
    /// The start of the answer's body.
    pub response: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    pub attempts: Vec<AttemptView>,
}

/// The API view of an endpoint; never its secret.
fn view(e: &EndpointRow) -> EndpointView {
    EndpointView {
        id: e.id.clone(),
        url: e.url.clone(),
        description: e.description.clone(),
        events: e.events.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        state: e.state.clone(),
        disabled_reason: e.disabled_reason.clone(),
        failing_since: e.failing_since.map(rfc3339),
        created_at: rfc3339(e.created_at),
        origin: e.origin.clone(),
        letter: e.letter_id.clone(),
    }
}

/// A new endpoint: its URL, the event types it receives (all when left out), a description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/callbacks",
    tag = "callbacks",
    summary = "Subscribe an endpoint to the sender's letter events (the secret is shown once)",
    request_body = NewEndpoint,
    responses((status = 201, description = "The endpoint and its secret", body = CreatedEndpoint), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    AppJson(body): AppJson<NewEndpoint>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let invalid =
        |field: &str, code: &str, message: String| ApiError::invalid(FieldError::new(field, code, message).into());
    let text = body.url.unwrap_or_default();
    let url = url::Url::parse(text.trim())
        .map_err(|e| invalid("url", "invalid_url", format!("`{text}` is not a URL: {e}")))?;
    services
        .callbacks
        .check_url(&url, services.settings.callbacks.allow_http)
        .map_err(|reason| invalid("url", "refused_url", reason))?;
    let events = body.events.unwrap_or_else(|| EVENT_TYPES.iter().map(|e| e.to_string()).collect());
    if events.is_empty() {
        return Err(invalid("events", "required", "subscribe to at least one event type".into()));
    }
    for (i, event) in events.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) {
            let known = EVENT_TYPES.join(", ");
            return Err(invalid(&format!("events[{i}]"), "unknown_event", format!("`{event}` is not one of {known}")));
        }
    }
    let secret = new_secret();
    let endpoint = EndpointRow {
        id: EndpointId::generate().to_string(),
        sender_id: caller.sender.to_string(),
        url: url.to_string(),
        secret: secret.clone(),
        previous_secret: None,
        previous_until: None,
        events: events.join(","),
        description: body.description.map(|d| d.trim().chars().take(200).collect()),
        state: "enabled".into(),
        disabled_reason: None,
        failing_since: None,
        warned_at: None,
        created_at: now_ms(),
        origin: "api".into(),
        letter_id: None,
    };
    services.store.insert_callback_endpoint(&endpoint).await?;
    let body = CreatedEndpoint { endpoint: view(&endpoint), secret };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/callbacks",
    tag = "callbacks",
    summary = "The sender's endpoints (created through the API or configured)",
    responses((status = 200, description = "The endpoints", body = EndpointList), crate::http::openapi::KeyErrors),
    security(("api_key" = []))
)]
async fn list(State(services): State<Arc<Services>>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let endpoints = services.store.callback_endpoints(caller.sender.as_str()).await?;
    Ok(axum::Json(EndpointList { callbacks: endpoints.iter().map(view).collect() }).into_response())
}

async fn owned(services: &Services, caller: &Caller, id: &str) -> Result<EndpointRow, ApiError> {
    caller.require(Scope::Letters)?;
    services
        .store
        .callback_endpoint(id)
        .await?
        .filter(|e| e.sender_id == caller.sender.as_str())
        .ok_or_else(|| ApiError::not_found(format!("no callback endpoint {id}")))
}

#[utoipa::path(
    get,
    path = "/v1/callbacks/{id}",
    tag = "callbacks",
    summary = "An endpoint",
    params(("id" = String, Path, description = "cbe_…")),
    responses((status = 200, description = "The endpoint", body = EndpointView), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn show(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(view(&owned(&services, &caller, &id).await?)).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/callbacks/{id}",
    tag = "callbacks",
    summary = "Remove an endpoint (its deliveries stay as history)",
    params(("id" = String, Path, description = "cbe_…")),
    responses((status = 204, description = "Removed"), crate::http::openapi::OwnedErrors, (status = 409, description = "A configured endpoint: change the configuration", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn remove(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = owned(&services, &caller, &id).await?;
    refuse_configured(&endpoint)?;
    services.store.delete_callback_endpoint(&endpoint.id, &endpoint.sender_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Configured endpoints follow `[[senders.callbacks]]`: a change through the API would be undone at the next
/// start, so it is refused.
fn refuse_configured(endpoint: &EndpointRow) -> Result<(), ApiError> {
    if endpoint.origin == "config" {
        let detail = "this endpoint comes from the configuration ([[senders.callbacks]]): change it there";
        return Err(ApiError::new(StatusCode::CONFLICT, "configured_endpoint", "Configured endpoint", detail));
    }
    Ok(())
}

fn attempt_view(a: &AttemptRow) -> AttemptView {
    AttemptView {
        message_id: a.delivery_id.clone(),
        attempt: a.attempt,
        at: rfc3339(a.at),
        status: a.status,
        duration_ms: a.duration_ms,
        response: a.response.clone(),
        error: a.error.clone(),
    }
}

#[utoipa::path(
    get,
    path = "/v1/callbacks/{id}/attempts",
    tag = "callbacks",
    summary = "The newest delivery attempts to an endpoint",
    params(("id" = String, Path, description = "cbe_…")),
    responses((status = 200, description = "The attempts, newest first", body = AttemptList), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn attempts(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = owned(&services, &caller, &id).await?;
    let attempts = services.store.callback_attempts(&endpoint.id, 200).await?;
    Ok(axum::Json(AttemptList { attempts: attempts.iter().map(attempt_view).collect() }).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/callbacks/{id}/enable",
    tag = "callbacks",
    summary = "Enable an endpoint again and replay what it missed",
    params(("id" = String, Path, description = "cbe_…")),
    responses((status = 200, description = "The endpoint, and how many deliveries were replayed", body = EnabledEndpoint), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn enable(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = owned(&services, &caller, &id).await?;
    let replayed = enable_and_replay(&services, &endpoint).await.map_err(|e| ApiError::internal(&e))?;
    let endpoint = owned(&services, &caller, &id).await?;
    Ok(axum::Json(EnabledEndpoint { endpoint: view(&endpoint), replayed }).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/callbacks/{id}/rotate",
    tag = "callbacks",
    summary = "A new secret; the previous one keeps signing for 24 hours",
    params(("id" = String, Path, description = "cbe_…")),
    responses((status = 200, description = "The new secret, shown once", body = RotatedSecret), crate::http::openapi::OwnedErrors, (status = 409, description = "A configured endpoint, or a letter's own", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn rotate(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let endpoint = owned(&services, &caller, &id).await?;
    refuse_configured(&endpoint)?;
    if endpoint.origin == "letter" {
        let detail = "this endpoint is a letter's callback_url: it signs with the secret its request named";
        return Err(ApiError::new(StatusCode::CONFLICT, "not_rotatable", "Secret not rotatable", detail));
    }
    let secret = new_secret();
    let until = now_ms() + ROTATION_OVERLAP_MS;
    services.store.rotate_callback_secret(&endpoint.id, &secret, until).await?;
    let body = RotatedSecret { id: endpoint.id, secret, previous_secret_valid_until: rfc3339(until) };
    Ok(axum::Json(body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    endpoint: String,
    expires: i64,
    signature: String,
}

/// A proof through the link a callback carried: no API key, the link's signature and expiry instead.
#[utoipa::path(
    get,
    path = "/v1/proof-links/{letter}/{kind}",
    tag = "callbacks",
    summary = "A proof through the signed, expiring link a callback carried (no API key)",
    params(("letter" = String, Path, description = "ltr_…"), ("kind" = String, Path, description = "The proof kind"), ("endpoint" = String, Query, description = "The endpoint the link was made for"), ("expires" = i64, Query, description = "Unix time"), ("signature" = String, Query, description = "The link's signature")),
    responses((status = 200, description = "The proof", content_type = "application/pdf", body = Vec<u8>), (status = 403, description = "The link is invalid or has expired", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(())
)]
async fn proof_link(
    State(services): State<Arc<Services>>,
    Path((letter, kind)): Path<(String, String)>,
    Query(query): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "link_invalid",
            "Invalid link",
            "this proof link is invalid or has expired",
        )
    };
    let letter: LetterId = letter.parse().map_err(|_| refused())?;
    let endpoint = services.store.callback_endpoint(&query.endpoint).await?.ok_or_else(refused)?;
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
        && until > now_ms()
    {
        secrets.push(previous);
    }
    if !verify_proof_link(&secrets, &letter, &kind, query.expires, &query.signature, now_ms() / 1000) {
        return Err(refused());
    }
    let record = services.store.letter(&letter).await?.filter(|l| l.sender_id.as_str() == endpoint.sender_id);
    let record = record.ok_or_else(refused)?;
    let proof = services.store.proofs(&record.id).await?.into_iter().find(|p| p.kind == kind).ok_or_else(refused)?;
    let bytes = tokio::fs::read(&proof.path).await.map_err(|e| ApiError::internal(&e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{}-{kind}.pdf\"", record.id)),
        ],
        bytes,
    )
        .into_response())
}
