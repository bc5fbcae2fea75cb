//! Signed callbacks to requesters, per Standard Webhooks: each state change of a letter is delivered to the
//! endpoints its sender subscribed, signed with the endpoint's `whsec_` secret, durably (a delivery is a row,
//! each attempt a job), on the retry schedule of `[callbacks]`, through the address guard of `guard`. What a
//! callback carries is in `payload`, the signed proof links in `links`, the endpoints of the configuration in
//! `configured`.

mod configured;
pub mod guard;
mod links;
mod payload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub use configured::{apply_configured_endpoints, letter_endpoint};
pub use links::{proof_link_signature, verify_proof_link};
use payload::letter_data;
pub use payload::{CallbackEvent, CallbackLetter, CallbackProof, EVENT_TYPES, event_type};

use crate::config::CallbackSettings;
use crate::domain::time::rfc3339;
use crate::domain::{CallbackMessageId, LetterId, LetterState};
use crate::letters::JobError;
use crate::notify::{OutgoingEmail, signing};
use crate::services::Services;
use crate::store::callbacks::{AttemptRow, DeliveryRow, EndpointRow, insert_delivery, requeue_delivery};
use crate::store::{self, LetterRecord, NewJob, now_ms};

/// The job kind that makes one delivery attempt.
pub const DELIVER: &str = "callback";

/// The HTTP client of callbacks: no redirects, a timeout, and names resolved through the address guard.
pub struct CallbackClient {
    http: reqwest::Client,
    policy: Arc<guard::Policy>,
}

impl CallbackClient {
    pub fn from_settings(settings: &CallbackSettings) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(guard::Policy {
            allowed: settings.networks(),
            hosts: settings.hosts.iter().map(|h| (h.name.to_ascii_lowercase(), h.address)).collect(),
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(guard::GuardedResolver { policy: policy.clone() }))
            .build()?;
        Ok(Self { http, policy })
    }

    /// Why an endpoint URL can never be used, checked when it is registered and at every attempt: the
    /// scheme, and a literal address (names are checked when they are resolved, on connection).
    pub fn check_url(&self, url: &url::Url, allow_http: bool) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => return Err("callback URLs must be https (callbacks.allow_http allows http)".into()),
            other => return Err(format!("`{other}` is not a callback scheme: use https")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("put no credentials in a callback URL: the signature authenticates relais".into());
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.policy.check(ip.into()),
            Some(url::Host::Ipv6(ip)) => self.policy.check(ip.into()),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err("a callback URL needs a host".into()),
        }
    }
}

/// Creates the deliveries of one letter event for every endpoint of its sender subscribed to it, each with
/// its job when the endpoint is enabled, in one transaction; a second call for the same event creates nothing.
pub async fn fan_out(
    services: &Services,
    letter: &LetterRecord,
    state: LetterState,
    seq: i64,
    at: i64,
) -> Result<(), JobError> {
    let Some(event) = event_type(state) else { return Ok(()) };
    let endpoints = services.store.callback_endpoints_of_letter(letter.sender_id.as_str(), letter.id.as_str()).await?;
    // A disabled endpoint gets its deliveries too, without a job: enabling it again replays them.
    let subscribed: Vec<&EndpointRow> = endpoints.iter().filter(|e| subscribes(e, &event)).collect();
    if subscribed.is_empty() {
        return Ok(());
    }
    let proofs = services.store.proofs(&letter.id).await?;
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    for endpoint in subscribed {
        let id = CallbackMessageId::generate();
        let data = letter_data(services, letter, state, &proofs, endpoint, now);
        let body = serde_json::to_value(CallbackEvent { kind: event.clone(), timestamp: rfc3339(at), data })
            .map_err(|e| JobError::Permanent(format!("a callback body could not be written: {e}")))?;
        let delivery = DeliveryRow {
            id: id.to_string(),
            endpoint_id: endpoint.id.clone(),
            letter_id: letter.id.to_string(),
            seq,
            event: event.clone(),
            payload: body.to_string(),
            state: "pending".into(),
            attempts: 0,
            created_at: now,
            delivered_at: None,
        };
        if insert_delivery(&mut tx, &delivery).await? && endpoint.state == "enabled" {
            enqueue(&mut tx, &letter.id, &delivery.id, now).await?;
        }
    }
    tx.commit().await.map_err(store::StoreError::from)?;
    services.store.wake_workers();
    Ok(())
}

fn subscribes(endpoint: &EndpointRow, event: &str) -> bool {
    endpoint.events.split(',').any(|e| e.trim() == event || e.trim() == "*")
}

async fn enqueue(tx: &mut store::Tx, letter: &LetterId, delivery: &str, run_at: i64) -> Result<(), JobError> {
    let job = NewJob { kind: DELIVER, letter_id: Some(letter), payload: json!({ "delivery": delivery }), run_at };
    store::jobs::enqueue(tx, job, now_ms()).await?;
    Ok(())
}

/// How one attempt ended.
enum Outcome {
    Delivered,
    /// The endpoint said it is gone (410): it is disabled.
    Gone,
    /// Try again, no sooner than the given delay when the endpoint asked for one (Retry-After).
    Failed {
        retry_after: Option<Duration>,
    },
}

/// Makes one attempt of a delivery (the `callback` job). The job always completes: a failure schedules the
/// next attempt as a new job, on the callbacks' own schedule.
pub async fn deliver(services: &Services, letter: &LetterId, payload: &Value) -> Result<(), JobError> {
    let id =
        payload["delivery"].as_str().ok_or_else(|| JobError::Permanent("a callback job names no delivery".into()))?;
    let Some(delivery) = services.store.callback_delivery(id).await? else { return Ok(()) };
    let Some(endpoint) = services.store.callback_endpoint(&delivery.endpoint_id).await? else { return Ok(()) };
    if delivery.state != "pending" || endpoint.state != "enabled" {
        return Ok(());
    }
    let attempt = delivery.attempts + 1;
    let started = Instant::now();
    let (outcome, status, response, error) = attempt_once(services, &endpoint, &delivery).await;
    let at = now_ms();
    let schedule = &services.settings.callbacks.retry_delays();
    let exhausted = matches!(outcome, Outcome::Failed { .. }) && attempt as usize > schedule.len();
    let state = match outcome {
        Outcome::Delivered => "delivered",
        Outcome::Gone => "failed",
        Outcome::Failed { .. } if exhausted => "failed",
        Outcome::Failed { .. } => "pending",
    };
    let row = AttemptRow {
        delivery_id: delivery.id.clone(),
        endpoint_id: endpoint.id.clone(),
        attempt,
        at,
        status,
        duration_ms: started.elapsed().as_millis() as i64,
        response,
        error: error.clone(),
    };
    services.store.record_callback_attempt(&row, state).await?;
    match outcome {
        Outcome::Delivered => {
            if endpoint.failing_since.is_some() {
                services.store.set_callback_failing(&endpoint.id, None).await?;
            }
        }
        Outcome::Gone => {
            let reason = "the endpoint answered 410 Gone";
            disable(services, &endpoint, reason).await?;
        }
        Outcome::Failed { .. } if exhausted => {
            let reason = format!("{attempt} attempts failed for one event (last: {})", error.unwrap_or_default());
            disable(services, &endpoint, &reason).await?;
        }
        Outcome::Failed { retry_after } => {
            services.store.set_callback_failing(&endpoint.id, Some(at)).await?;
            let delay = next_delay(schedule, attempt, retry_after);
            let mut tx = services.store.begin().await?;
            enqueue(&mut tx, letter, &delivery.id, at + delay.as_millis() as i64).await?;
            tx.commit().await.map_err(store::StoreError::from)?;
            warn_when_failing_long(services, &endpoint, at).await?;
        }
    }
    Ok(())
}

/// The delay before attempt `attempt + 1`: the schedule's, with ±10 % jitter, or longer when the endpoint
/// asked (Retry-After), up to the schedule's longest delay.
fn next_delay(schedule: &[Duration], attempt: i64, retry_after: Option<Duration>) -> Duration {
    let base = schedule[(attempt.max(1) as usize - 1).min(schedule.len() - 1)];
    let jitter = rand::random_range(0.9..1.1);
    let delay = base.mul_f64(jitter);
    let longest = schedule.iter().max().copied().unwrap_or(base);
    match retry_after {
        Some(asked) if asked > delay => asked.min(longest),
        _ => delay,
    }
}

/// Sends one attempt; never returns an error (a failure is an outcome, with the reason as text).
async fn attempt_once(
    services: &Services,
    endpoint: &EndpointRow,
    delivery: &DeliveryRow,
) -> (Outcome, Option<i64>, Option<String>, Option<String>) {
    let failed = |error: String| (Outcome::Failed { retry_after: None }, None, None, Some(error));
    let url = match url::Url::parse(&endpoint.url) {
        Ok(u) => u,
        Err(e) => return failed(format!("the endpoint URL does not parse: {e}")),
    };
    if let Err(reason) = services.callbacks.check_url(&url, services.settings.callbacks.allow_http) {
        return failed(reason);
    }
    let timestamp = now_ms() / 1000;
    let body = delivery.payload.as_bytes();
    let mut signatures = vec![signing::sign(&endpoint.secret, &delivery.id, timestamp, body)];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_until)
        && until > now_ms()
    {
        signatures.push(signing::sign(previous, &delivery.id, timestamp, body));
    }
    let request = services
        .callbacks
        .http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(delivery.payload.clone());
    let response = match request.send().await {
        Ok(r) => r,
        // Without the URL: a callback URL may carry the requester's own token in its query.
        Err(e) => return failed(transport_error(e)),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let excerpt = response.text().await.ok().map(|t| t.chars().take(500).collect::<String>());
    let code = Some(i64::from(status.as_u16()));
    if status.is_success() {
        (Outcome::Delivered, code, excerpt, None)
    } else if status == reqwest::StatusCode::GONE {
        (Outcome::Gone, code, excerpt, Some("410 Gone".into()))
    } else {
        let error = if status.is_redirection() {
            format!("answered {status}: redirects are not followed, register the final URL")
        } else {
            format!("answered {status}")
        };
        (Outcome::Failed { retry_after }, code, excerpt, Some(error))
    }
}

/// A transport failure in words, with no URL in it (the error chain without the request's URL).
fn transport_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = if e.is_timeout() { "timed out".to_owned() } else { e.to_string() };
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn disable(services: &Services, endpoint: &EndpointRow, reason: &str) -> Result<(), JobError> {
    services.store.set_callback_endpoint_state(&endpoint.id, Some(reason)).await?;
    tracing::warn!(endpoint = %endpoint.id, sender = %endpoint.sender_id, reason, "callback endpoint disabled");
    tell_sender(services, endpoint, "callback_disabled", reason).await
}

async fn warn_when_failing_long(services: &Services, endpoint: &EndpointRow, now: i64) -> Result<(), JobError> {
    let since = endpoint.failing_since.unwrap_or(now);
    let warn_after = services.settings.callbacks.warn_after.as_millis() as i64;
    if endpoint.warned_at.is_some() || now - since < warn_after {
        return Ok(());
    }
    services.store.set_callback_warned(&endpoint.id, now).await?;
    tell_sender(services, endpoint, "callback_failing", "").await
}

/// Emails the sender's contact about its endpoint (the email templates `callback_failing` and
/// `callback_disabled`).
async fn tell_sender(services: &Services, endpoint: &EndpointRow, kind: &str, reason: &str) -> Result<(), JobError> {
    let Some(sender) = services.settings.senders.iter().find(|s| s.id.as_str() == endpoint.sender_id) else {
        return Ok(());
    };
    let host = url::Url::parse(&endpoint.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let context = json!({
        "endpoint": { "id": endpoint.id, "host": host, "failing_since": endpoint.failing_since.map(rfc3339),
                      "reason": reason },
        "sender": { "company": sender.company },
        "console_url": format!("{}/console/callbacks/{}", services.public_url.as_str().trim_end_matches('/'), endpoint.id),
    });
    let rendered = services
        .emails
        .render(kind, &context)
        .map_err(|e| JobError::Permanent(format!("the {kind} email could not be rendered: {e}")))?;
    let email = OutgoingEmail {
        to: sender.email.to_string(),
        subject: rendered.subject,
        body: rendered.body,
        attachments: vec![],
        tag: format!("{}-{kind}", endpoint.id),
        answering: None,
        message_id: None,
    };
    if let Err(e) = services.mailer.send(&email).await {
        tracing::warn!(endpoint = %endpoint.id, error = %e, "the sender could not be told about its endpoint");
    }
    Ok(())
}

/// Enables an endpoint again and replays what it missed: every delivery not delivered gets a new attempt.
pub async fn enable_and_replay(services: &Services, endpoint: &EndpointRow) -> Result<usize, JobError> {
    services.store.set_callback_endpoint_state(&endpoint.id, None).await?;
    let missed = services.store.undelivered_callbacks(&endpoint.id).await?;
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    for delivery in &missed {
        let letter: LetterId = delivery.letter_id.parse().map_err(JobError::Permanent)?;
        requeue_delivery(&mut tx, &delivery.id).await?;
        enqueue(&mut tx, &letter, &delivery.id, now).await?;
    }
    tx.commit().await.map_err(store::StoreError::from)?;
    services.store.wake_workers();
    Ok(missed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_a_requester_hears_about_has_an_event_type() {
        let states = [
            LetterState::Received,
            LetterState::AwaitingConsent,
            LetterState::AwaitingApproval,
            LetterState::Deposited,
            LetterState::Delivered,
            LetterState::Refused,
            LetterState::NotClaimed,
            LetterState::Bounced,
            LetterState::Failed,
            LetterState::NeedsAttention,
            LetterState::Cancelled,
        ];
        let types: Vec<String> = states.into_iter().filter_map(event_type).collect();
        assert_eq!(types, EVENT_TYPES);
        assert_eq!(event_type(LetterState::Queued), None);
    }

    #[test]
    fn retries_follow_the_schedule_with_jitter_and_honour_retry_after() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300), Duration::from_secs(1800)];
        for _ in 0..50 {
            let d = next_delay(&schedule, 2, None);
            assert!(d >= Duration::from_secs(270) && d <= Duration::from_secs(330), "{d:?}");
        }
        assert_eq!(next_delay(&schedule, 1, Some(Duration::from_secs(600))), Duration::from_secs(600));
        assert_eq!(next_delay(&schedule, 1, Some(Duration::from_secs(99_999))), Duration::from_secs(1800));
        assert!(next_delay(&schedule, 9, None) >= Duration::from_secs(1620), "the last delay repeats");
    }
}
