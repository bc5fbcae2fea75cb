//! `/v1/api-keys`: a key with the `admin` scope lists and revokes its sender's keys.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::accounts::{self, Scope};
use crate::domain::ApiKeyId;
use crate::domain::time::rfc3339_secs as rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::services::Services;
use crate::store::ApiKeyRecord;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/api-keys", get(list)).route("/v1/api-keys/{id}", delete(revoke))
}

/// The API view of a key: never its secret or hash, only the visible prefix.
pub fn key_view(key: &ApiKeyRecord) -> Value {
    json!({
        "id": key.id.as_str(),
        "sender": key.sender_id.as_str(),
        "prefix": key.prefix,
        "label": key.label,
        "scopes": key.scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
        "created_at": rfc3339(key.created_at),
        "last_used_at": key.last_used_at.map(rfc3339),
        "revoked_at": key.revoked_at.map(rfc3339),
    })
}

#[utoipa::path(
    get,
    path = "/v1/api-keys",
    tag = "api-keys",
    summary = "The sender's API keys (scope admin)",
    responses((status = 200, description = "The keys, never their secrets", body = serde_json::Value), crate::http::openapi::KeyErrors),
    security(("api_key" = []))
)]
async fn list(State(services): State<Arc<Services>>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let keys = services.store.api_keys(Some(&caller.sender)).await?;
    Ok(axum::Json(json!({ "data": keys.iter().map(key_view).collect::<Vec<_>>() })).into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/api-keys/{id}",
    tag = "api-keys",
    summary = "Revoke a key (scope admin)",
    params(("id" = String, Path, description = "key_…")),
    responses((status = 200, description = "The revoked key", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn revoke(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let not_found = || ApiError::not_found(format!("no API key {id}"));
    let key: ApiKeyId = id.parse().map_err(|_| not_found())?;
    match services.store.api_key(&key).await? {
        Some(found) if found.sender_id == caller.sender => {}
        _ => return Err(not_found()),
    }
    let revoked = accounts::revoke_api_key(&services.store, &key).await?.ok_or_else(not_found)?;
    Ok(axum::Json(key_view(&revoked)).into_response())
}
