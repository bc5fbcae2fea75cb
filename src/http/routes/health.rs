//! `/healthz` (the process answers) and `/readyz` (the database answers; each part says how it is).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::domain::LetterState;
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = serde_json::Value))
)]
async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    summary = "Readiness: database, jobs, email channels, problems in words",
    responses((status = 200, description = "Ready (or degraded: see problems)", body = serde_json::Value), (status = 503, description = "Unavailable", body = serde_json::Value))
)]
async fn readyz(State(services): State<Arc<Services>>) -> Response {
    let database = services.store.ping().await;
    let jobs = services.store.pending_jobs(None).await.ok();
    let failed = services.store.failed_jobs().await.ok();
    let attention = services.store.count_in_state(LetterState::NeedsAttention).await.ok();
    let failed_notices = services.store.failed_notices().await.ok();
    let channels = services.channels.statuses();
    let ok = database.is_ok() && channels.iter().all(|c| c.up);
    let problems = degraded(attention.unwrap_or(0), failed_notices.unwrap_or(0));
    let status = match (ok, problems.is_empty()) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ready",
    };
    let body = json!({
        "status": status,
        "problems": problems,
        "database": match &database { Ok(()) => json!({"status": "up"}), Err(e) => json!({"status": "down", "error": e.to_string()}) },
        "jobs": { "pending": jobs, "failed": failed },
        "letters": { "needs_attention": attention },
        "notices": { "failed": failed_notices },
        "providers": services.providers.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>(),
        "email_channels": channels,
    });
    // Degraded still serves requests: letters are accepted and kept; a person must look at the problems.
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

/// What a person must look at, in words.
fn degraded(attention: i64, failed_notices: i64) -> Vec<String> {
    let mut problems = Vec::new();
    if attention > 0 {
        problems.push(format!(
            "{attention} letter(s) need attention (a provider unreachable, or a send whose outcome is unknown): \
             GET /v1/letters?state=needs_attention; each one's state_detail says why and what relais does next"
        ));
    }
    if failed_notices > 0 {
        problems.push(format!(
            "{failed_notices} notice email(s) could not be sent: GET /v1/notices?state=failed, fix the mail \
             settings, then relais notice resend ID"
        ));
    }
    problems
}
