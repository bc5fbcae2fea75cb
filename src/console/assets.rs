//! The console's stylesheet and script, compiled into the binary and served by relais (nothing from
//! elsewhere), cached for a day.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ConsoleError;
use crate::services::Services;

const FILES: &[(&str, &str, &str)] = &[
    ("console.css", "text/css; charset=utf-8", include_str!("../../templates/console/assets/console.css")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("../../templates/console/assets/console.js")),
];

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/console/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Result<Response, ConsoleError> {
    let (_, content_type, body) = FILES.iter().find(|(name, _, _)| *name == file).ok_or(ConsoleError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=86400")], *body)
        .into_response())
}
