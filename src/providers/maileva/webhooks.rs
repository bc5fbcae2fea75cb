//! Maileva's callbacks (`notification_center/v2`, providers.md §2.6): relais subscribes its webhook URL to
//! the events of paper letters with Basic credentials derived from the account's secrets (nothing to
//! store); a callback must carry them, and only names the letter to fetch again.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Method;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::Maileva;
use super::client::{CallError, NOTIFICATIONS};
use super::wire::{self, Authentication, BasicCredentials, Callback, NewSubscription, Subscriptions};
use crate::domain::LetterId;
use crate::providers::{ProviderError, WebhookHint, WebhookRequest, webhook_url};

/// Subscriptions listed per page (the spec's maximum is 500).
const PAGE: usize = 500;

impl Maileva {
    /// The login Maileva presents when calling back.
    fn webhook_login(&self) -> String {
        format!("relais-{}", self.name)
    }

    /// The password Maileva presents when calling back: derived from the account's client secret and
    /// password, so it changes when they do (and the next start subscribes again with it).
    pub(super) fn webhook_password(&self) -> String {
        let key = format!("{}\u{0}{}", self.settings.client_secret.expose(), self.settings.password.expose());
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(b"relais-maileva-webhook:");
        mac.update(self.name.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..20])
    }

    fn callback_url(&self) -> String {
        webhook_url(&self.public_url, &self.name)
    }

    async fn subscriptions(&self) -> Result<Vec<wire::Subscription>, CallError> {
        let path = format!("{NOTIFICATIONS}/subscriptions");
        let mut all = Vec::new();
        for page in 0..20 {
            let query = [("start_index", (page * PAGE + 1).to_string()), ("count", PAGE.to_string())];
            let list: Subscriptions = self.client.json(Method::GET, &path, None::<&()>, &query).await?;
            let count = list.subscriptions.len();
            all.extend(list.subscriptions);
            if count < PAGE {
                break;
            }
        }
        Ok(all)
    }

    /// How many of the events relais follows are subscribed to its URL.
    pub(super) async fn subscribed(&self) -> Result<usize, CallError> {
        let url = self.callback_url();
        let existing = self.subscriptions().await?;
        let ours = |(resource, event): &&(&str, &str)| {
            existing.iter().any(|s| s.callback_url == url && s.resource_type == *resource && s.event_type == *event)
        };
        Ok(wire::EVENTS.iter().filter(ours).count())
    }

    /// Subscribes each event once: an existing subscription to relais's URL gets the current credentials
    /// (`PATCH`), a missing one is created.
    async fn subscribe(&self) -> Result<(), CallError> {
        let url = self.callback_url();
        let (login, password) = (self.webhook_login(), self.webhook_password());
        let authentication = Authentication { basic: BasicCredentials { login: &login, password: &password } };
        let existing = self.subscriptions().await?;
        for (resource_type, event_type) in wire::EVENTS {
            let same = existing
                .iter()
                .find(|s| s.callback_url == url && s.resource_type == resource_type && s.event_type == event_type);
            match same {
                Some(subscription) => {
                    let path = format!("{NOTIFICATIONS}/subscriptions/{}", subscription.id);
                    let patch = serde_json::json!({ "authentication": &authentication });
                    self.client.call(Method::PATCH, &path, Some(&patch), &[]).await?;
                }
                None => {
                    let body = NewSubscription {
                        event_type,
                        resource_type,
                        callback_url: &url,
                        authentication: authentication.clone(),
                    };
                    self.client.call(Method::POST, &format!("{NOTIFICATIONS}/subscriptions"), Some(&body), &[]).await?;
                }
            }
        }
        Ok(())
    }

    /// Tries to subscribe until it works, waiting longer after each failure (the periodic sync covers the
    /// meantime).
    pub(super) async fn subscribe_until_done(&self, shutdown: CancellationToken) {
        let mut wait = Duration::from_secs(5);
        loop {
            match self.subscribe().await {
                Ok(()) => {
                    tracing::info!(provider = %self.name, url = %self.callback_url(), "Maileva webhooks subscribed");
                    return;
                }
                Err(e) => {
                    let error = self.scrubber.scrub(&e.to_string());
                    tracing::warn!(provider = %self.name, %error, retry_in = ?wait, "could not subscribe Maileva webhooks");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(30 * 60));
        }
    }
}

/// Checks the Basic credentials of a callback, then reads which letter it is about (its `custom_id`; the
/// sending id too for a sending's event). Nothing else of the body is used.
pub fn verify(password: &str, name: &str, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError> {
    let expected = format!("relais-{name}:{password}");
    let given = request
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .ok_or_else(|| ProviderError::InvalidWebhook("Maileva callbacks carry Basic credentials".into()))?;
    if !bool::from(given.as_slice().ct_eq(expected.as_bytes())) {
        return Err(ProviderError::InvalidWebhook("wrong Basic credentials".into()));
    }
    let callback: Callback = serde_json::from_slice(request.body)
        .map_err(|e| ProviderError::InvalidWebhook(format!("unreadable Maileva callback: {e}")))?;
    let letter = callback
        .resource_custom_id
        .as_deref()
        .and_then(|id| id.parse::<LetterId>().ok())
        .ok_or_else(|| ProviderError::InvalidWebhook("the callback names no letter of relais".into()))?;
    let provider_ref = callback.resource_id.filter(|_| callback.resource_type.ends_with("/sendings"));
    Ok(WebhookHint { provider_ref, letter_id: Some(letter) })
}
