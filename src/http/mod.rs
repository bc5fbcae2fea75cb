//! The HTTP API: routes merged in one place, with request ids, tracing and a fallback in our error format.

pub mod error;
pub mod extract;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderName;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::services::Services;
use error::ApiError;

/// The whole API.
pub fn router(services: Arc<Services>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(routes::health::router())
        .merge(routes::letters::router(&services))
        .merge(routes::consents::router())
        .merge(routes::confirmations::router())
        .merge(routes::senders::router())
        .merge(routes::api_keys::router())
        .merge(routes::templates::router())
        .merge(routes::inbound::router(&services))
        .merge(routes::webhooks::router())
        .fallback(|| async { ApiError::not_found("no such route; see the README for the API") })
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(services)
}
