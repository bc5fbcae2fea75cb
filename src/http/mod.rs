//! The HTTP API: routes merged in one place, with request ids, tracing, a request timeout, and every error
//! (ours, axum's rejections, the timeout's) in our problem format.

pub mod error;
pub mod extract;
pub mod openapi;
mod problems;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::services::Services;
use error::ApiError;

/// A request path fit for the logs: secrets carried in paths (a provider's per-letter webhook secret, a
/// confirmation link's token) are masked, and the query string is left out.
fn loggable_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let masked: Vec<&str> = match segments.as_slice() {
        ["", "v1", "providers", provider, "webhooks", letter, _secret] => {
            vec!["", "v1", "providers", provider, "webhooks", letter, "[redacted]"]
        }
        ["", "v1", "confirmations", _token, rest @ ..] => {
            [&["", "v1", "confirmations", "[redacted]"][..], rest].concat()
        }
        _ => segments,
    };
    masked.join("/")
}

/// The whole API.
pub fn router(services: Arc<Services>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let timeout = services.settings.server.request_timeout;
    Router::new()
        .merge(routes::health::router())
        .merge(routes::docs::router())
        .merge(routes::letters::router(&services))
        .merge(routes::consents::router())
        .merge(routes::consent_requests::router())
        .merge(routes::notices::router())
        .merge(routes::confirmations::router())
        .merge(routes::senders::router())
        .merge(routes::api_keys::router())
        .merge(routes::callbacks::router())
        .merge(routes::imports::router(&services))
        .merge(routes::templates::router())
        .merge(routes::inbound::router(&services))
        .merge(routes::webhooks::router())
        .merge(routes::hooks::router())
        .merge(if services.settings.console.enabled { crate::console::router(&services) } else { Router::new() })
        .fallback(|| async { ApiError::not_found("no such route; see the README for the API") })
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(axum::middleware::from_fn(problems::problems_only))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
            // The masked path is made only for a span that is recorded.
            if !tracing::enabled!(tracing::Level::DEBUG) {
                return tracing::Span::none();
            }
            let path = loggable_path(request.uri().path());
            tracing::debug_span!("request", method = %request.method(), uri = %path, version = ?request.version())
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(services)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn secrets_in_request_paths_are_not_logged() {
        let path = "/v1/providers/ar24/webhooks/ltr_01jzzzzzzzzzzzzzzzzzzzzzzz/4ed010fb3ecd793b3f9bb54b54319973";
        assert_eq!(loggable_path(path), "/v1/providers/ar24/webhooks/ltr_01jzzzzzzzzzzzzzzzzzzzzzzz/[redacted]");
        assert_eq!(loggable_path("/v1/confirmations/abcdef"), "/v1/confirmations/[redacted]");
        assert_eq!(loggable_path("/v1/letters"), "/v1/letters");
    }
}
