//! `/v1/notices`: the emails relais sent (or could not send) to requesters about the caller's letters.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::FieldError;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::services::Services;
use crate::store::{NoticeRecord, NoticeState};

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/notices", get(list))
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
}

fn view(notice: &NoticeRecord) -> Value {
    json!({
        "id": notice.id.as_str(),
        "letter_id": notice.letter_id.as_str(),
        "kind": notice.kind,
        "state": notice.state.as_str(),
        "message_id": notice.message_id,
        "last_error": notice.last_error,
        "created_at": rfc3339(notice.created_at),
        "sent_at": notice.sent_at.map(rfc3339),
        "failed_at": notice.failed_at.map(rfc3339),
    })
}

/// The newest 200 notices of the caller's letters; `?state=failed` lists those that gave up (send them
/// again with `relais notice resend ID`).
#[utoipa::path(
    get,
    path = "/v1/notices",
    tag = "notices",
    summary = "The notice emails about the sender's letters",
    params(("state" = Option<String>, Query, description = "pending, sent or failed")),
    responses((status = 200, description = "The notices", body = serde_json::Value), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let mut errors = crate::domain::FieldErrors::default();
    let state = q.state.as_deref().and_then(|s| {
        errors.take("state", s.parse::<NoticeState>().map_err(|m| FieldError::new("", "invalid_state", m)))
    });
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let notices = services.store.notices_of(&caller.sender, state, 200).await?;
    Ok(axum::Json(json!({ "data": notices.iter().map(view).collect::<Vec<_>>() })).into_response())
}
