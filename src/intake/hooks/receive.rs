//! The pipeline of one delivery: verify, recognise a redelivered event, filter, map, then the checks,
//! idempotency and submission every channel shares. Everything is committed before the answer.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::source::Hook;
use super::verify::{Arrival, VerifyError};
use crate::config::Preset;
use crate::domain::{FieldError, FieldErrors, HookDeliveryId, LetterId};
use crate::intake::IntakeError;
use crate::intake::http::RawLetter;
use crate::intake::validate::{Draft, check_draft};
use crate::letters::{LetterRequest, SubmitError, Submitted, submit_letter};
use crate::services::Services;
use crate::store::{HookDelivery, HookVerdict, StoreError, now_ms};

/// What became of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A letter was made.
    Accepted { delivery: HookDeliveryId, letter: LetterId },
    /// The event was handled before, or the letter for its key exists: no new letter.
    Duplicate { delivery: HookDeliveryId, letter: Option<LetterId> },
    /// Not an event that makes a letter.
    Ignored { delivery: HookDeliveryId, reason: String },
    /// A correctly signed check of the endpoint (Xero's intent to receive): nothing to record.
    Handshake,
    /// A delivery carrying several events (GoCardless: `{"events": [...]}`): each decided on its own, in order.
    Batch(Vec<BatchItem>),
}

/// The decision on one event of a batch: an outcome, or the fields its mapping could not find (its delivery
/// is recorded and can be replayed alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub event_id: String,
    pub result: Result<Outcome, (HookDeliveryId, FieldErrors)>,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("no hook `{0}`")]
    UnknownSource(String),
    #[error("{0}")]
    Unauthenticated(VerifyError),
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// The mapping or the letter checks failed; the delivery is recorded and can be replayed.
    #[error("the payload does not make a valid letter request (delivery {delivery})")]
    Unmapped { delivery: HookDeliveryId, errors: FieldErrors },
    #[error(transparent)]
    Intake(IntakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Submit(SubmitError),
}

/// Takes one delivery for the source `name`.
pub async fn receive(services: &Services, name: &str, arrival: &Arrival<'_>) -> Result<Outcome, HookError> {
    let hook = services.hooks.get(name).ok_or_else(|| HookError::UnknownSource(name.to_owned()))?;
    let verified = hook.verifier.verify(arrival).map_err(|e| {
        tracing::warn!(hook = %hook.name, reason = %e, "hook delivery refused");
        HookError::Unauthenticated(e)
    })?;
    let payload: Value = serde_json::from_slice(arrival.body).map_err(|e| HookError::NotJson(e.to_string()))?;
    if hook.verifier.preset() == Preset::Xero && payload["events"].as_array().is_some_and(Vec::is_empty) {
        return Ok(Outcome::Handshake);
    }
    if hook.verifier.preset() == Preset::Gocardless
        && let Some(events) = payload["events"].as_array()
    {
        return receive_batch(services, hook, events).await;
    }
    let event_id = verified
        .event_id
        .or_else(|| hook.mapping.lookup("event_id", &payload))
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(arrival.body))));
    if let Some(seen) = seen_before(services, hook, &event_id).await? {
        return Ok(seen);
    }
    let body = String::from_utf8_lossy(arrival.body).into_owned();
    process(services, hook, HookDeliveryId::generate(), event_id, &payload, body).await
}

/// The outcome of an event handled before (a redelivery), counted; `None` for a new event or one whose
/// mapping failed (it runs again).
async fn seen_before(services: &Services, hook: &Hook, event_id: &str) -> Result<Option<Outcome>, HookError> {
    match services.store.hook_delivery_by_event(&hook.name, event_id).await? {
        Some(seen) if seen.verdict != HookVerdict::Unmapped => {
            services.store.count_hook_redelivery(&seen.id, now_ms()).await?;
            Ok(Some(already(seen)))
        }
        _ => Ok(None),
    }
}

/// Each event of a batch is a delivery of its own (its id, its filter, its mapping, its record, replayable
/// alone), so one unpaid invoice in a batch makes its letter whatever the other events are. The mapping
/// reads one event (`{{resource_type}}`, `{{links.payment}}`…), not the batch.
async fn receive_batch(services: &Services, hook: &Hook, events: &[Value]) -> Result<Outcome, HookError> {
    let mut items = Vec::with_capacity(events.len());
    for event in events {
        let event_id = event["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| hook.mapping.lookup("event_id", event))
            .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(event.to_string().as_bytes()))));
        let result = match seen_before(services, hook, &event_id).await? {
            Some(seen) => Ok(seen),
            None => {
                match process(services, hook, HookDeliveryId::generate(), event_id.clone(), event, event.to_string())
                    .await
                {
                    Ok(outcome) => Ok(outcome),
                    Err(HookError::Unmapped { delivery, errors }) => Err((delivery, errors)),
                    Err(other) => return Err(other),
                }
            }
        };
        items.push(BatchItem { event_id, result });
    }
    Ok(Outcome::Batch(items))
}

/// Runs a recorded delivery again with the mapping as configured now. A delivery that made its letter
/// answers with it: a replay never makes a second one.
pub async fn replay(services: &Services, hook: &Hook, delivery: HookDelivery) -> Result<Outcome, HookError> {
    if delivery.verdict.is_final() {
        return Ok(already(delivery));
    }
    let payload: Value = serde_json::from_str(&delivery.body).map_err(|e| HookError::NotJson(e.to_string()))?;
    process(services, hook, delivery.id, delivery.event_id, &payload, delivery.body).await
}

fn already(seen: HookDelivery) -> Outcome {
    match seen.verdict {
        HookVerdict::Ignored => {
            Outcome::Ignored { delivery: seen.id, reason: seen.error.unwrap_or_else(|| "ignored before".into()) }
        }
        _ => Outcome::Duplicate { delivery: seen.id, letter: seen.letter_id },
    }
}

async fn process(
    services: &Services,
    hook: &Hook,
    id: HookDeliveryId,
    event_id: String,
    payload: &Value,
    body: String,
) -> Result<Outcome, HookError> {
    let event_type = hook.mapping.lookup("event_type", payload);
    let now = now_ms();
    let mut record = HookDelivery {
        id,
        hook: hook.name.clone(),
        sender_id: hook.sender.to_string(),
        event_id,
        event_type: event_type.clone(),
        verdict: HookVerdict::Ignored,
        letter_id: None,
        error: None,
        body,
        attempts: 1,
        received_at: now,
        updated_at: now,
    };
    if let Some(reason) = hook.filter.reject(event_type.as_deref(), payload) {
        record.error = Some(reason.clone());
        let stored = services.store.record_hook_delivery(&record).await?;
        tracing::info!(hook = %hook.name, event = %stored.event_id, %reason, "hook delivery ignored");
        return Ok(Outcome::Ignored { delivery: stored.id, reason });
    }
    let (request, key) = match letter_request(services, hook, payload).map_err(HookError::Intake)? {
        Made::Request(request, key) => (request, key),
        Made::Unmapped(errors) => {
            let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
            tracing::info!(hook = %hook.name, event = %record.event_id, fields = ?fields, "hook delivery not mapped");
            let described: Vec<String> = errors.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            record.verdict = HookVerdict::Unmapped;
            record.error = Some(described.join("; "));
            let stored = services.store.record_hook_delivery(&record).await?;
            return Err(HookError::Unmapped { delivery: stored.id, errors });
        }
    };
    let key = match key {
        Some(key) => format!("hook:{}:{key}", hook.template),
        None => format!("hook:{}:event:{}", hook.name, record.event_id),
    };
    let letter = match submit_letter(services, *request, None, Some(&key)).await {
        Ok(Submitted::Created(created)) => {
            let letter = created.id;
            record.verdict = HookVerdict::Accepted;
            letter
        }
        Ok(Submitted::Replayed(letter)) | Err(SubmitError::IdempotencyConflict(letter)) => {
            record.verdict = HookVerdict::Duplicate;
            letter
        }
        Err(e) => return Err(HookError::Submit(e)),
    };
    record.letter_id = Some(letter.clone());
    let stored = services.store.record_hook_delivery(&record).await?;
    Ok(match stored.verdict {
        HookVerdict::Accepted => Outcome::Accepted { delivery: stored.id, letter },
        _ => Outcome::Duplicate { delivery: stored.id, letter: Some(letter) },
    })
}

/// A payload, once mapped and checked.
enum Made {
    /// A valid letter request, and the mapped idempotency key if any.
    Request(Box<LetterRequest>, Option<String>),
    /// The fields at fault (the payload lacks what the mapping reads, or the letter checks fail).
    Unmapped(FieldErrors),
}

/// Maps the payload and runs the checks every channel shares. An error is not the payload's (storage, I/O).
fn letter_request(services: &Services, hook: &Hook, payload: &Value) -> Result<Made, IntakeError> {
    let template = services.templates.current_for(&hook.sender, &hook.template);
    let names: Vec<String> =
        template.as_ref().map(|t| t.variables.iter().map(|v| v.name.clone()).collect()).unwrap_or_default();
    let mapped = match hook.mapping.map(payload, &hook.template, &names) {
        Ok(mapped) => mapped,
        Err(errors) => return Ok(Made::Unmapped(errors)),
    };
    let request_sha256 = hex::encode(Sha256::digest(mapped.letter.to_string().as_bytes()));
    let raw: RawLetter = match serde_json::from_value(mapped.letter) {
        Ok(raw) => raw,
        Err(e) => {
            let error = FieldError::new("mapping", "malformed", format!("the mapped letter is not valid: {e}"));
            return Ok(Made::Unmapped(error.into()));
        }
    };
    let draft = Draft::from(raw);
    match check_draft(services, hook.sender.clone(), draft, vec![], request_sha256) {
        Ok(request) => Ok(Made::Request(Box::new(request), mapped.idempotency_key)),
        Err(IntakeError::Invalid(errors)) => Ok(Made::Unmapped(errors)),
        Err(other) => Err(other),
    }
}
