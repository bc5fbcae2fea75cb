//! Extractors: the API key of the caller (Bearer), and JSON bodies whose errors use our problem format.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::accounts::{self, Scope, Scopes};
use crate::domain::{ApiKeyId, SenderId};
use crate::intake::http::parse_json;
use crate::services::Services;

/// The authenticated caller: an API key, the sender it belongs to, and what it may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKeyId,
    pub sender: SenderId,
    pub scopes: Scopes,
}

impl Caller {
    /// Refuses the request (403, naming the missing scope) unless the key has `scope` (or `admin`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.allows(scope) {
            return Ok(());
        }
        Err(ApiError::missing_scope(scope, &self.scopes))
    }
}

impl FromRequestParts<Arc<Services>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &Arc<Services>) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send the API key as `Authorization: Bearer <key>`"))?;
        let presented = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <key>`"))?;
        let key = accounts::authenticate(&services.store, presented)
            .await?
            .ok_or_else(|| ApiError::unauthorized("this API key is unknown or revoked"))?;
        Ok(Caller { key: key.id, sender: key.sender_id, scopes: key.scopes })
    }
}

/// A JSON body; malformed JSON and wrong types are a problem body naming the field, not axum's plain text.
pub struct AppJson<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<Services>> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<Services>) -> Result<Self, ApiError> {
        let bytes =
            axum::body::Bytes::from_request(req, state).await.map_err(|e| ApiError::malformed(None, e.body_text()))?;
        Ok(AppJson(parse_json(&bytes).map_err(ApiError::from)?))
    }
}
