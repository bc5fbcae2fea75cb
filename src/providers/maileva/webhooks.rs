//! Maileva's callbacks (`notification_center/v2`, providers.md §2.6): relais subscribes its webhook URL to
//! the events of paper letters with Basic credentials it generates for this account (stored, so every process
//! and every restart uses the same pair; never printed); a callback must carry them, and only names the
//! letter to fetch again. Subscribing is idempotent: an existing subscription to relais's URL is updated, never
//! doubled.

use std::time::Duration;

use base64::Engine;
use rand::RngCore;
use reqwest::Method;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::Maileva;
use super::client::{CallError, NOTIFICATIONS};
use super::wire::{self, Authentication, BasicCredentials, Callback, NewSubscription, Subscriptions};
use crate::config::Secret;
use crate::domain::LetterId;
use crate::providers::{ProviderError, WebhookHint, WebhookRequest, webhook_url};
use crate::store::now_ms;

/// Subscriptions listed per page (the spec's maximum is 500).
const PAGE: usize = 500;

/// The Basic credentials Maileva presents when calling back.
#[derive(Clone)]
pub struct WebhookCredentials {
    pub login: String,
    pub password: Secret,
}

impl Maileva {
    /// This account's callback credentials: cached, else read from the store, else generated and stored (the
    /// first process to store a pair wins; the others read it).
    pub(super) async fn webhook_credentials(&self) -> Result<WebhookCredentials, ProviderError> {
        if let Some(known) = self.credentials.read().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(known);
        }
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let candidate = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let login = format!("relais-{}", self.name);
        let (login, password) = self
            .store
            .webhook_credentials(&self.name, (&login, &candidate), now_ms())
            .await
            .map_err(|e| self.internal(format!("the webhook credentials could not be stored: {e}")))?;
        let known = WebhookCredentials { login, password: Secret::new(password) };
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = Some(known.clone());
        Ok(known)
    }

    /// The cached credentials, for the (synchronous) check of a callback.
    pub(super) fn known_credentials(&self) -> Option<WebhookCredentials> {
        self.credentials.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn callback_url(&self) -> String {
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
    /// (`PATCH`), a missing one is created. Returns how many events are subscribed. Two processes subscribing
    /// at the very same moment could both create one; relais subscribes at start and on `sender link` only.
    pub(super) async fn subscribe(&self) -> Result<usize, ProviderError> {
        let credentials = self.webhook_credentials().await?;
        self.subscribe_with(&credentials).await.map_err(|e| self.error(e, false))
    }

    async fn subscribe_with(&self, credentials: &WebhookCredentials) -> Result<usize, CallError> {
        let url = self.callback_url();
        let basic = BasicCredentials { login: &credentials.login, password: credentials.password.expose() };
        let authentication = Authentication { basic };
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
        Ok(wire::EVENTS.len())
    }

    /// Loads (or makes) the callback credentials, then, when `subscribe`, subscribes; each tried again and
    /// again, waiting longer after each failure, until it works (the periodic sync covers the meantime).
    pub(super) async fn prepare_webhooks(&self, subscribe: bool, shutdown: CancellationToken) {
        let mut wait = Duration::from_secs(5);
        loop {
            let done = match self.webhook_credentials().await {
                Ok(_) if !subscribe => return,
                Ok(_) => self.subscribe().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match done {
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
/// sending id too for a sending's event). Nothing else of the body is used. Before the credentials are loaded
/// (the first moments after start) every callback is refused: Maileva tries again later.
pub fn verify(
    credentials: Option<&WebhookCredentials>,
    request: &WebhookRequest<'_>,
) -> Result<WebhookHint, ProviderError> {
    let credentials = credentials
        .ok_or_else(|| ProviderError::InvalidWebhook("the callback credentials are not loaded yet".into()))?;
    let expected = format!("{}:{}", credentials.login, credentials.password.expose());
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
