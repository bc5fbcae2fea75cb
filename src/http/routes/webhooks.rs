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

use crate::http::error::ApiError;
use crate::letters::jobs::SYNC;
use crate::providers::{ProviderError, WebhookRequest};
use crate::services::Services;
use crate::store::{self, NewJob, now_ms};

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/providers/{provider}/webhooks", post(receive))
}

async fn receive(
    State(services): State<Arc<Services>>,
    Path(provider_name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let provider = services
        .providers
        .get(&provider_name)
        .ok_or_else(|| ApiError::not_found(format!("no provider `{provider_name}`")))?;
    let request = WebhookRequest { headers: &headers, body: &body, peer: Some(peer.ip()) };
    let hint = provider.verify_webhook(&request).map_err(|e| {
        tracing::warn!(provider = %provider_name, error = %e, "webhook refused");
        match e {
            ProviderError::InvalidWebhook(reason) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_webhook", "Webhook not authenticated", reason)
            }
            other => ApiError::internal(&other),
        }
    })?;
    let Some(letter) = services.store.letter_by_provider_ref(&provider_name, &hint.provider_ref).await? else {
        tracing::warn!(provider = %provider_name, reference = %hint.provider_ref, "webhook for a letter relais does not know");
        return Err(ApiError::not_found(format!("no letter with provider reference {}", hint.provider_ref)));
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
    Ok((StatusCode::OK, axum::Json(json!({ "received": true, "letter": letter.as_str() }))).into_response())
}
