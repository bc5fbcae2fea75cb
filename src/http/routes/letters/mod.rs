//! `/v1/letters`: submit (JSON or multipart), read, list, cancel, and download the letter and its proofs.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::accounts::Scope;
use crate::domain::{FieldError, LetterId, LetterState};
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::intake::http::{letter_from_json, letter_from_multipart};
use crate::intake::memory_use as expected_use;
use crate::letters::{Submitted, cancel_letter, submit_letter};
use crate::providers::ProofKind;
use crate::services::Services;
use crate::store::{LetterFilter, LetterRecord};

mod view;

use view::letter_view;
pub use view::{LetterPage, LetterView};

pub fn router(services: &Services) -> Router<Arc<Services>> {
    let limit = services.settings.server.max_request_size.0 as usize;
    Router::new()
        .route("/v1/letters", post(create).get(list).layer(DefaultBodyLimit::max(limit)))
        .route("/v1/letters/{id}", get(show))
        .route("/v1/letters/{id}/cancel", post(cancel))
        .route("/v1/letters/{id}/document", get(document))
        .route("/v1/letters/{id}/proofs/{kind}", get(proof))
}

fn parse_id(id: &str) -> Result<LetterId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found(format!("no letter {id}")))
}

async fn owned_letter(services: &Services, caller: &Caller, id: &str) -> Result<LetterRecord, ApiError> {
    let id = parse_id(id)?;
    services
        .store
        .letter(&id)
        .await?
        .filter(|l| l.sender_id == caller.sender)
        .ok_or_else(|| ApiError::not_found(format!("no letter {id}")))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::invalid(
            FieldError::new(
                "Idempotency-Key",
                "invalid",
                "the Idempotency-Key header must be 1 to 255 visible characters",
            )
            .into(),
        ));
    }
    Ok(Some(key.to_owned()))
}

#[utoipa::path(
    post,
    path = "/v1/letters",
    tag = "letters",
    summary = "Submit a letter",
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the same letter")),
    request_body(content((crate::intake::http::RawLetter = "application/json"), (crate::intake::http::LetterParts = "multipart/form-data"))),
    responses((status = 202, description = "Accepted: the letter, its request durably stored", body = crate::http::routes::letters::LetterView), (status = 200, description = "The same request with the same Idempotency-Key: the letter made then", body = crate::http::routes::letters::LetterView), (status = 400, description = "The body cannot be read", body = crate::http::error::Problem, content_type = "application/problem+json"), crate::http::openapi::KeyErrors, (status = 409, description = "The Idempotency-Key was used with another request", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 413, description = "Too large", body = crate::http::error::Problem, content_type = "application/problem+json"), (status = 415, description = "Neither JSON nor multipart", body = crate::http::error::Problem, content_type = "application/problem+json"), crate::http::openapi::InvalidFields, (status = 503, description = "The database is busy: retry with the same Idempotency-Key", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn create(State(services): State<Arc<Services>>, caller: Caller, request: Request) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let key = idempotency_key(request.headers())?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let letter = if content_type.starts_with("multipart/form-data") {
        let multipart =
            Multipart::from_request(request, &services).await.map_err(|e| ApiError::malformed(None, e.body_text()))?;
        letter_from_multipart(&services, &caller.sender, multipart).await?
    } else if content_type.starts_with("application/json") || content_type.is_empty() {
        let limit = services.settings.server.max_json_size.0 as usize;
        // The body, its parsed text and one decoded file: about three times its size, reserved before reading.
        let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        let _memory = services.intake_memory.reserve(expected_use(length, limit as u64, 3)).await;
        let body = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
            let detail = format!(
                "a JSON letter request is at most {limit} bytes (server.max_json_size); send large files as \
                 multipart/form-data parts, streamed to disk"
            );
            let mut e = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Request too large", detail);
            e.errors.push(FieldError::new("attachments", "too_large", e.detail.clone()));
            e
        })?;
        letter_from_json(&services, &caller.sender, body).await?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "send application/json, or multipart/form-data with a `letter` part",
        ));
    };
    // A new letter is answered as it was written (no read back); a replay, as it is now.
    let (status, stored) = match submit_letter(&services, letter, Some(&caller.key), key.as_deref()).await? {
        Submitted::Created(letter) => (StatusCode::ACCEPTED, *letter),
        Submitted::Replayed(id) => {
            let stored = services.store.letter(&id).await?;
            (StatusCode::OK, stored.ok_or_else(|| ApiError::not_found(format!("no letter {id}")))?)
        }
    };
    let view = letter_view(&services, &stored, false).await?;
    let location = format!("/v1/letters/{}", stored.id);
    Ok((status, [(header::LOCATION, location)], axum::Json(view)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/letters/{id}",
    tag = "letters",
    summary = "A letter with its timeline, files, proofs and chain status",
    params(("id" = String, Path, description = "ltr_…")),
    responses((status = 200, description = "The letter", body = crate::http::routes::letters::LetterView), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn show(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let letter = owned_letter(&services, &caller, &id).await?;
    Ok(axum::Json(letter_view(&services, &letter, true).await?).into_response())
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    reference: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<i64>, FieldError> {
    let Some(text) = value else { return Ok(None) };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.timestamp_millis()));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| Some(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis()))
        .map_err(|_| {
            FieldError::new(field, "invalid_time", format!("`{text}` is not a date (2026-11-26) or an RFC 3339 time"))
        })
}

#[utoipa::path(
    get,
    path = "/v1/letters",
    tag = "letters",
    summary = "List letters, newest first",
    params(("state" = Option<String>, Query, description = "Only letters in this state"), ("reference" = Option<String>, Query, description = "Only letters with this reference"), ("created_from" = Option<String>, Query, description = "A date (2026-11-26) or an RFC 3339 time"), ("created_to" = Option<String>, Query, description = "A date or an RFC 3339 time"), ("cursor" = Option<String>, Query, description = "The next_cursor of the previous page"), ("limit" = Option<i64>, Query, description = "1 to 200 (default 50)")),
    responses((status = 200, description = "A page of letters", body = crate::http::routes::letters::LetterPage), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn list(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let mut errors = crate::domain::FieldErrors::default();
    let state = q.state.as_deref().and_then(|s| {
        errors.take("state", s.parse::<LetterState>().map_err(|m| FieldError::new("", "invalid_state", m)))
    });
    let created_from = errors.take("created_from", parse_time("", q.created_from.as_deref())).flatten();
    let created_to = errors.take("created_to", parse_time("", q.created_to.as_deref())).flatten();
    let after = q.cursor.as_deref().and_then(|c| {
        errors.take("cursor", c.parse::<LetterId>().map_err(|m| FieldError::new("", "invalid_cursor", m)))
    });
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "out_of_range", "limit is between 1 and 200"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let filter = LetterFilter { state, reference: q.reference, created_from, created_to, after, limit: limit + 1 };
    let mut letters = services.store.list_letters(&caller.sender, &filter).await?;
    let more = letters.len() as i64 > limit;
    letters.truncate(limit as usize);
    let mut data = Vec::with_capacity(letters.len());
    for letter in &letters {
        data.push(letter_view(&services, letter, false).await?);
    }
    let next_cursor = if more { letters.last().map(|l| l.id.to_string()) } else { None };
    Ok(axum::Json(LetterPage { data, next_cursor }).into_response())
}

#[utoipa::path(
    post,
    path = "/v1/letters/{id}/cancel",
    tag = "letters",
    summary = "Cancel a letter not yet handed to the provider",
    params(("id" = String, Path, description = "ltr_…")),
    responses((status = 200, description = "The cancelled letter", body = crate::http::routes::letters::LetterView), crate::http::openapi::OwnedErrors, (status = 409, description = "Too late to cancel", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn cancel(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let id = parse_id(&id)?;
    let letter = cancel_letter(&services, &caller.sender, &id, "the requester").await?;
    Ok(axum::Json(letter_view(&services, &letter, true).await?).into_response())
}

fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/v1/letters/{id}/document",
    tag = "letters",
    summary = "The rendered letter (PDF/A-2b)",
    params(("id" = String, Path, description = "ltr_…")),
    responses((status = 200, description = "The letter", content_type = "application/pdf", body = Vec<u8>), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn document(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let letter = owned_letter(&services, &caller, &id).await?;
    if letter.content_sha256.is_none() {
        return Err(ApiError::not_found("the letter has not been rendered yet"));
    }
    let bytes = tokio::fs::read(services.files.document_of(&letter.id)).await.map_err(|e| ApiError::internal(&e))?;
    Ok(pdf_response(bytes, &format!("{}.pdf", letter.id)))
}

#[utoipa::path(
    get,
    path = "/v1/letters/{id}/proofs/{kind}",
    tag = "letters",
    summary = "An archived proof",
    params(("id" = String, Path, description = "ltr_…"), ("kind" = String, Path, description = "deposit, receipt, refusal, non_claim, bounce or content")),
    responses((status = 200, description = "The proof", content_type = "application/pdf", body = Vec<u8>), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn proof(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((id, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let letter = owned_letter(&services, &caller, &id).await?;
    let kind: ProofKind = kind.parse().map_err(ApiError::not_found)?;
    let record = services
        .store
        .proofs(&letter.id)
        .await?
        .into_iter()
        .find(|p| p.kind == kind.as_str())
        .ok_or_else(|| ApiError::not_found(format!("letter {} has no {} proof yet", letter.id, kind.as_str())))?;
    let bytes = tokio::fs::read(&record.path).await.map_err(|e| ApiError::internal(&e))?;
    Ok(pdf_response(bytes, &format!("{}-{}.pdf", letter.id, kind.as_str())))
}
