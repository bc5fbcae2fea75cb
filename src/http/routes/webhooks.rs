//! `/v1/providers/{provider}/webhooks`: provider callbacks, authenticated over the raw bytes by the
//! provider's own scheme. A webhook is only a hint: it queues a fetch of the provider's record.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::domain::LetterId;
use crate::http::error::ApiError;
use crate::letters::jobs::SYNC;
use crate::providers::{ProviderError, WebhookHint, WebhookRequest};
use crate::services::Services;
use crate::store::{self, NewJob, now_ms};

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/v1/providers/{provider}/webhooks", post(receive))
        .route("/v1/providers/{provider}/webhooks/{letter}/{secret}", post(receive_for_letter))
}

/// A webhook on the per-letter URL (providers that do not sign, like AR24).
#[utoipa::path(
    post,
    path = "/v1/providers/{provider}/webhooks/{letter}/{secret}",
    tag = "providers",
    summary = "A provider's webhook for one letter, with the letter's secret in the path",
    params(("provider" = String, Path, description = "The [providers] name"), ("letter" = String, Path, description = "ltr_…"), ("secret" = String, Path, description = "The letter's webhook secret")),
    request_body(content = serde_json::Value),
    responses((status = 200, description = "Taken", body = serde_json::Value))
)]
async fn receive_for_letter(
    State(services): State<Arc<Services>>,
    Path((provider_name, letter, secret)): Path<(String, String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let letter: LetterId = letter.parse().map_err(|_| {
        tracing::warn!(provider = %provider_name, "webhook for a malformed letter id");
        ApiError::not_found("no such letter")
    })?;
    handle(&services, &provider_name, peer, &headers, &body, Some((&letter, &secret))).await
}

#[utoipa::path(
    post,
    path = "/v1/providers/{provider}/webhooks",
    tag = "providers",
    summary = "A provider's webhook (a hint: relais asks the provider)",
    params(("provider" = String, Path, description = "The [providers] name")),
    request_body(content = serde_json::Value),
    responses((status = 200, description = "Taken", body = serde_json::Value))
)]
async fn receive(
    State(services): State<Arc<Services>>,
    Path(provider_name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    handle(&services, &provider_name, peer, &headers, &body, None).await
}

/// Authenticates the webhook, finds its letter, and queues a sync. Answers fast: the work is the job's.
async fn handle(
    services: &Services,
    provider_name: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
    letter: Option<(&LetterId, &str)>,
) -> Result<Response, ApiError> {
    let provider = services
        .providers
        .get(provider_name)
        .ok_or_else(|| ApiError::not_found(format!("no provider `{provider_name}`")))?;
    let request = WebhookRequest { headers, body, peer: Some(peer.ip()), letter };
    let hint = provider.verify_webhook(&request).map_err(|e| {
        tracing::warn!(provider = %provider_name, error = %e, "webhook refused");
        match e {
            ProviderError::InvalidWebhook(reason) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_webhook", "Webhook not authenticated", reason)
            }
            other => ApiError::internal(&other),
        }
    })?;
    let Some(letter) = letter_of(services, provider_name, &hint).await? else {
        tracing::warn!(provider = %provider_name, hint = ?hint, "webhook for a letter relais does not know");
        return Err(ApiError::not_found("no letter matches this webhook"));
    };
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    store::jobs::enqueue(
        &mut tx,
        NewJob { kind: SYNC, letter_id: Some(&letter), payload: json!({}), run_at: now },
        now,
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    services.store.wake_workers();
    let status = provider.webhook_answer();
    Ok((status, axum::Json(json!({ "received": true, "letter": letter.as_str() }))).into_response())
}

/// The letter a webhook is about: named in its URL (and then the provider reference, if given, must be
/// that letter's), or found by the provider's reference.
async fn letter_of(services: &Services, provider: &str, hint: &WebhookHint) -> Result<Option<LetterId>, ApiError> {
    if let Some(id) = &hint.letter_id {
        let Some(letter) = services.store.letter(id).await?.filter(|l| l.provider == provider) else {
            return Ok(None);
        };
        let consistent = match (&hint.provider_ref, &letter.provider_ref) {
            (Some(said), Some(known)) => said == known,
            _ => true,
        };
        return Ok(consistent.then_some(letter.id));
    }
    match &hint.provider_ref {
        Some(reference) => Ok(services.store.letter_by_provider_ref(provider, reference).await?),
        None => Ok(None),
    }
}
