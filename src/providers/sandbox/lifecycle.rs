//! The sandbox's clock: announces each stage that came due to relais by a signed webhook, until it is heard.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Sandbox;
use crate::notify::signing;
use crate::providers::webhook_url;
use crate::store::{SandboxLetter, now_ms};

/// The body of a sandbox webhook: which letter changed, and its new stage (a hint; relais fetches the truth).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct WebhookEvent {
    pub provider_ref: String,
    pub letter_id: String,
    pub stage: String,
}

const TICK: Duration = Duration::from_millis(250);

/// Runs until shutdown, announcing due stages; an unanswered webhook is tried again on the next tick.
pub async fn announce_stages(sandbox: &Sandbox, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let now = now_ms();
        let due = match sandbox.store.sandbox_letters_due(&sandbox.name, now).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(provider = %sandbox.name, error = %e, "sandbox could not read its letters");
                continue;
            }
        };
        for letter in due {
            let stage = if now >= letter.outcome_at { 2 } else { 1 };
            if announce(sandbox, &letter, stage).await
                && let Err(e) = sandbox.store.mark_sandbox_notified(&letter.provider_ref, stage).await
            {
                tracing::warn!(provider = %sandbox.name, error = %e, "sandbox could not record a webhook");
            }
        }
    }
}

async fn announce(sandbox: &Sandbox, letter: &SandboxLetter, stage: i64) -> bool {
    let event = WebhookEvent {
        provider_ref: letter.provider_ref.clone(),
        letter_id: letter.letter_id.clone(),
        stage: if stage == 1 { "deposited".into() } else { letter.outcome.clone() },
    };
    let body = serde_json::to_vec(&event).unwrap_or_default();
    let msg_id = format!("msg_{}_{stage}", letter.provider_ref);
    let ts = chrono::Utc::now().timestamp();
    let signature = signing::sign(sandbox.settings.webhook_secret.expose(), &msg_id, ts, &body);
    let sent = sandbox
        .http
        .post(webhook_url(&sandbox.public_url, &sandbox.name))
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => true,
        Ok(response) => {
            tracing::warn!(provider = %sandbox.name, status = %response.status(), "sandbox webhook refused");
            false
        }
        Err(e) => {
            tracing::debug!(provider = %sandbox.name, error = %e, "sandbox webhook not delivered yet");
            false
        }
    }
}
