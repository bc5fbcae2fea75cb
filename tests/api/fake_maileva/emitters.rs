//! The fake `electronic_mail_emitter/v1` (v1.48b): a sender's state (`GET /senders/{id}`, `VALIDATED` unless a
//! test says otherwise), and `POST /senders/{id}/authenticate_by_otp?otp_code=`, which takes the code the
//! sender's authenticator shows (`FakeMaileva::show_otp_code`), once, and opens the sender's one-hour session
//! for qualified letters (`{expiration_date}`). A wrong, reused or missing code is a `400` and opens nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Shared, auth, errors};

pub const ROOT: &str = "/electronic_mail_emitter/v1/senders";
/// "Ce code à usage unique est valable 1 heure."
const SESSION: Duration = Duration::from_secs(3600);

pub async fn get(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let state = shared.state().sender_states.get(&id).cloned().unwrap_or_else(|| "VALIDATED".into());
    axum::Json(json!({"id": id, "status": state, "legal_status": "PROFESSIONAL"})).into_response()
}

pub async fn authenticate_by_otp(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let Some(code) = query.get("otp_code").filter(|c| !c.is_empty()) else {
        return errors(StatusCode::BAD_REQUEST, "MISSING_OTP_CODE", "otp_code est obligatoire");
    };
    let mut state = shared.state();
    if state.otp_codes.get(&id) != Some(code) {
        return errors(StatusCode::BAD_REQUEST, "INVALID_OTP_CODE", "le code à usage unique est invalide");
    }
    // Used once: the authenticator shows another code next time.
    state.otp_codes.remove(&id);
    state.otp_sessions.insert(id, Instant::now() + SESSION);
    let until = chrono::Utc::now() + SESSION;
    axum::Json(json!({"expiration_date": until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})).into_response()
}
