//! `/healthz` (the process answers) and `/readyz` (the database answers; each part says how it is).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn readyz(State(services): State<Arc<Services>>) -> Response {
    let database = services.store.ping().await;
    let jobs = services.store.pending_jobs(None).await.ok();
    let failed = services.store.failed_jobs().await.ok();
    let channels = services.channels.statuses();
    let ok = database.is_ok() && channels.iter().all(|c| c.up);
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "database": match &database { Ok(()) => json!({"status": "up"}), Err(e) => json!({"status": "down", "error": e.to_string()}) },
        "jobs": { "pending": jobs, "failed": failed },
        "providers": services.providers.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>(),
        "email_channels": channels,
    });
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}
