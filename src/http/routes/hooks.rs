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
use serde::Deserialize;
use serde_json::{Value, json};

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
    let events: Vec<Value> = items
        .into_iter()
        .filter_map(|item| {
            let mut body = describe_outcome(item.result.ok()?)?.1;
            body["event_id"] = json!(item.event_id);
            Some(body)
        })
        .collect();
    let status = if accepted { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, axum::Json(json!({ "outcome": "batch", "events": events }))).into_response())
}

fn answer(outcome: Outcome) -> Response {
    match describe_outcome(outcome) {
        Some((status, body)) => (status, axum::Json(body)).into_response(),
        // Xero's intent-to-receive check wants a 200 with no body at all.
        None => StatusCode::OK.into_response(),
    }
}

fn describe_outcome(outcome: Outcome) -> Option<(StatusCode, Value)> {
    Some(match outcome {
        Outcome::Accepted { delivery, letter } => (
            StatusCode::ACCEPTED,
            json!({ "outcome": "accepted", "delivery": delivery.as_str(), "letter": letter.as_str() }),
        ),
        Outcome::Duplicate { delivery, letter } => (
            StatusCode::OK,
            json!({ "outcome": "duplicate", "delivery": delivery.as_str(), "letter": letter.map(String::from) }),
        ),
        Outcome::Ignored { delivery, reason } => {
            (StatusCode::OK, json!({ "outcome": "ignored", "delivery": delivery.as_str(), "reason": reason }))
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

async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(source): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let hook = hook_of(&services, &caller, &source)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let deliveries = services.store.hook_deliveries(&hook.name, limit).await?;
    let items: Vec<_> = deliveries.iter().map(describe).collect();
    Ok(axum::Json(json!({ "deliveries": items })).into_response())
}

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

fn describe(d: &HookDelivery) -> serde_json::Value {
    json!({
        "id": d.id.as_str(),
        "event_id": d.event_id,
        "event_type": d.event_type,
        "verdict": d.verdict,
        "letter": d.letter_id.as_ref().map(|l| l.as_str()),
        "error": d.error,
        "attempts": d.attempts,
        "received_at": rfc3339(d.received_at),
        "updated_at": rfc3339(d.updated_at),
    })
}
