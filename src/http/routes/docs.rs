//! `/openapi.json`, the API's OpenAPI 3.1 document, and `/docs/api`, a reference page rendering it from
//! assets compiled into relais (nothing from a CDN) under a strict Content-Security-Policy.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::openapi::document_json;
use crate::services::Services;

const PAGE: &str = include_str!("../../../templates/docs/api.html");
const SCRIPT: &str = include_str!("../../../templates/docs/api.js");
const STYLE: &str = include_str!("../../../templates/docs/api.css");

/// Only our own script, style and document: no inline code, no other origin, no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
                      base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/docs/api", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/docs/api/api.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/docs/api/api.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document_json()).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}
