//! `/v1/hooks/{source}`: webhooks of accounting and billing tools, authenticated by the source's preset (no
//! API key), and the record of their deliveries (`…/deliveries`, replay), read with the sender's API key.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Scope;
use crate::domain::time::rfc3339;
use crate::domain::{FieldErrors, HookDeliveryId};
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::intake::hooks::Hook;
use crate::intake::hooks::receive::{BatchItem, HookError, Outcome, receive, replay};
use crate::intake::hooks::verify::Arrival;
use crate::services::Services;
use crate::store::HookDelivery;

/// Webhook bodies are small JSON documents (Standard Webhooks advises under 20 kB); this leaves room.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/v1/hooks/{source}", post(deliver).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/v1/hooks/{source}/deliveries", get(list))
        .route("/v1/hooks/{source}/deliveries/{id}/replay", post(replay_delivery))
}

#[utoipa::path(
    post,
    path = "/v1/hooks/{source}",
    tag = "hooks",
    summary = "A billing tool's webhook, authenticated by the source's preset (no API key)",
    params(("source" = String, Path, description = "The [[hooks]] name")),
    request_body(content = serde_json::Value, description = "The tool's own event, as it sends it"),
    responses((status = 202, description = "A letter was made (or, for a batch, at least one)", body = HookAnswer), (status = 200, description = "A duplicate, or an event ignored with the reason (empty for Xero's intent-to-receive check)", body = HookAnswer), (status = 401, description = "Bad signature: nothing stored", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 404, description = "No such resource for this sender", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 422, description = "The mapping could not find a field (named); the delivery can be replayed", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("stripe" = []), ("standard_webhooks" = []), ("paddle" = []), ("pennylane" = []), ("qonto" = []), ("gocardless" = []), ("quickbooks" = []), ("xero" = []), ("chargebee" = []), ("hmac" = []), ())
)]
async fn deliver(
    State(services): State<Arc<Services>>,
    Path(source): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let arrival = Arrival { headers: &headers, body: &body, peer: Some(peer.ip()), now_secs: Utc::now().timestamp() };
    let outcome = receive(&services, &source, &arrival).await.map_err(problem)?;
    match outcome {
        Outcome::Batch(items) => answer_batch(items),
        outcome => Ok(answer(outcome)),
    }
}

/// A batch: `202` when an event made a letter, else `200`, with each event's decision; a `422` naming the
/// fields of every event its mapping could not read (`events[1].recipient.email`), the others being decided
/// and recorded all the same (a redelivery of the batch finds them done).
fn answer_batch(items: Vec<BatchItem>) -> Result<Response, ApiError> {
    let mut unmapped = FieldErrors::default();
    for (i, item) in items.iter().enumerate() {
        if let Err((_, errors)) = &item.result {
            unmapped.extend_under(&format!("events[{i}]"), errors.clone());
        }
    }
    if !unmapped.is_empty() {
        let mut e = ApiError::invalid(unmapped);
        e.code = "unmapped";
        e.title = "The payload does not make a valid letter request";
        e.detail = format!("{} (fix the mapping, then replay the deliveries listed)", e.detail);
        return Err(e);
    }
    let accepted = items.iter().any(|i| matches!(i.result, Ok(Outcome::Accepted { .. })));
    let events: Vec<HookAnswer> = items
        .into_iter()
        .filter_map(|item| {
            let body = describe_outcome(item.result.ok()?)?.1;
            Some(HookAnswer { event_id: Some(item.event_id), ..body })
        })
        .collect();
    let status = if accepted { StatusCode::ACCEPTED } else { StatusCode::OK };
    let body = HookAnswer { outcome: "batch", events: Some(events), ..HookAnswer::default() };
    Ok((status, axum::Json(body)).into_response())
}

/// What a delivery became.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct HookAnswer {
    /// `accepted` (a letter was made), `duplicate` (handled before), `ignored` (with the reason) or `batch`.
    pub outcome: &'static str,
    /// The delivery's record (`hdl_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// The letter made, or made before.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub letter: Option<Option<String>>,
    /// Why the event makes no letter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// In a batch: the event's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// A batch: each event's outcome, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub events: Option<Vec<HookAnswer>>,
}

/// One recorded delivery of a source.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: Option<String>,
    /// `accepted`, `duplicate`, `ignored` or `unmapped`.
    pub verdict: String,
    pub letter: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub received_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
}

fn answer(outcome: Outcome) -> Response {
    match describe_outcome(outcome) {
        Some((status, body)) => (status, axum::Json(body)).into_response(),
        // Xero's intent-to-receive check wants a 200 with no body at all.
        None => StatusCode::OK.into_response(),
    }
}

fn describe_outcome(outcome: Outcome) -> Option<(StatusCode, HookAnswer)> {
    let answer = |outcome, delivery: HookDeliveryId| HookAnswer {
        outcome,
        delivery: Some(delivery.to_string()),
        ..HookAnswer::default()
    };
    Some(match outcome {
        Outcome::Accepted { delivery, letter } => (
            StatusCode::ACCEPTED,
            HookAnswer { letter: Some(Some(letter.to_string())), ..answer("accepted", delivery) },
        ),
        Outcome::Duplicate { delivery, letter } => {
            (StatusCode::OK, HookAnswer { letter: Some(letter.map(String::from)), ..answer("duplicate", delivery) })
        }
        Outcome::Ignored { delivery, reason } => {
            (StatusCode::OK, HookAnswer { reason: Some(reason), ..answer("ignored", delivery) })
        }
        Outcome::Handshake | Outcome::Batch(_) => return None,
    })
}

fn problem(e: HookError) -> ApiError {
    match e {
        HookError::UnknownSource(name) => ApiError::not_found(format!("no hook `{name}` in [[hooks]]")),
        HookError::Unauthenticated(reason) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "Webhook not authenticated",
            reason.to_string(),
        ),
        HookError::NotJson(message) => ApiError::malformed(None, format!("the webhook body is not JSON: {message}")),
        HookError::Unmapped { delivery, errors } => {
            let mut e = ApiError::invalid(errors);
            e.code = "unmapped";
            e.title = "The payload does not make a valid letter request";
            e.detail = format!("{} (delivery {delivery}: fix the mapping, then replay it)", e.detail);
            e
        }
        HookError::Intake(e) => e.into(),
        HookError::Store(e) => e.into(),
        HookError::Submit(e) => e.into(),
    }
}

/// The source named in the URL, if it sends letters for the caller's sender.
fn hook_of<'a>(services: &'a Services, caller: &Caller, source: &str) -> Result<&'a Hook, ApiError> {
    caller.require(Scope::Letters)?;
    services
        .hooks
        .get(source)
        .filter(|h| h.sender == caller.sender)
        .ok_or_else(|| ApiError::not_found(format!("no hook `{source}` for this sender")))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/hooks/{source}/deliveries",
    tag = "hooks",
    summary = "The source's deliveries, newest first",
    params(("source" = String, Path, description = "The [[hooks]] name"), ("limit" = Option<i64>, Query, description = "1 to 500 (default 50)")),
    responses((status = 200, description = "The deliveries", body = DeliveryList), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(source): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let hook = hook_of(&services, &caller, &source)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let deliveries = services.store.hook_deliveries(&hook.name, limit).await?;
    let deliveries = deliveries.iter().map(describe).collect();
    Ok(axum::Json(DeliveryList { deliveries }).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/hooks/{source}/deliveries/{id}/replay",
    tag = "hooks",
    summary = "Run a delivery again with the mapping as configured now (one letter at most)",
    params(("source" = String, Path, description = "The [[hooks]] name"), ("id" = String, Path, description = "hdl_…")),
    responses((status = 202, description = "A letter was made", body = HookAnswer), (status = 200, description = "Made before, or ignored", body = HookAnswer), crate::http::openapi::OwnedErrors, (status = 422, description = "Still not mapped", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn replay_delivery(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((source, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let hook = hook_of(&services, &caller, &source)?;
    let not_found = || ApiError::not_found(format!("no delivery `{id}` of hook `{source}`"));
    let id: HookDeliveryId = id.parse().map_err(|_| not_found())?;
    let delivery = services.store.hook_delivery(&id).await?.filter(|d| d.hook == hook.name).ok_or_else(not_found)?;
    let outcome = replay(&services, hook, delivery).await.map_err(problem)?;
    Ok(answer(outcome))
}

fn describe(d: &HookDelivery) -> DeliveryView {
    DeliveryView {
        id: d.id.to_string(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        verdict: serde_json::to_value(d.verdict).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        letter: d.letter_id.as_ref().map(|l| l.to_string()),
        error: d.error.clone(),
        attempts: d.attempts,
        received_at: rfc3339(d.received_at),
        updated_at: rfc3339(d.updated_at),
    }
}
