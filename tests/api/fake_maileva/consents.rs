//! The fake `electronic_consents/v1` (v1.9): create a consent, ask the recipient (`…/requests`), read it
//! with its last request and answer, download the proof of an accepted one, delete one. The recipient
//! answers at once, as their name or address says: one containing "refus" refuses, "expir" lets the request
//! expire, "silence" never answers, anyone else accepts. Errors come as `{"errors":[{code,message}]}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais::render::pdf::{Block, TextDocument, write_pdf};
use serde_json::{Value, json};

use super::model::FakeConsent;
use super::{Shared, auth, errors};

fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, "CONSENT_NOT_FOUND", "Ressource CONSENT introuvable")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `POST /consents` (`consent_ask_creation`): sender_id, last_name, first_name and email are required.
pub async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let body = body.0;
    for (field, code) in [
        ("sender_id", "EMPTY_SENDER_ID"),
        ("last_name", "EMPTY_LAST_NAME"),
        ("first_name", "EMPTY_FIRST_NAME"),
        ("email", "EMPTY_EMAIL"),
    ] {
        if body[field].as_str().is_none_or(|v| v.trim().is_empty()) {
            return errors(StatusCode::BAD_REQUEST, code, &format!("{field} est obligatoire"));
        }
    }
    if body["waiting_duration"].as_i64().is_some_and(|d| !(1..=30).contains(&d)) {
        return errors(StatusCode::BAD_REQUEST, "INVALID_WAITING_DURATION", "de 1 à 30 jours");
    }
    let mut state = shared.state();
    let consent = FakeConsent { id: state.id(), body, created: now(), requests: vec![], answer: None };
    state.consents.push(consent.clone());
    (StatusCode::CREATED, axum::Json(consent.to_json())).into_response()
}

/// `POST /consents/{id}/requests` → 201 `request_response`; the recipient answers at once.
pub async fn ask(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let mut state = shared.state();
    if let Some(code) = state.fail_next_consent_request.take() {
        return errors(StatusCode::BAD_REQUEST, &code, "échec demandé par le test");
    }
    let Some(consent) = state.consents.iter_mut().find(|c| c.id == id) else { return not_found() };
    let who = format!("{} {}", consent.body["last_name"], consent.body["email"]).to_lowercase();
    let date = now();
    let (request, answer) = if who.contains("refus") {
        ("ANSWERED", Some("REFUSED"))
    } else if who.contains("expir") {
        ("EXPIRED", None)
    } else if who.contains("silence") {
        ("ASKED", None)
    } else {
        ("ANSWERED", Some("ACCEPTED"))
    };
    consent.requests.push((request.to_owned(), date.clone()));
    consent.answer = answer.map(|a| (a.to_owned(), date.clone()));
    let body = json!({"date": date, "created_by": consent.body["sender_id"], "status": "ASKED"});
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

pub async fn get(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    match shared.state().consents.iter().find(|c| c.id == id) {
        Some(consent) => axum::Json(consent.to_json()).into_response(),
        None => not_found(),
    }
}

pub async fn delete(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let mut state = shared.state();
    let Some(position) = state.consents.iter().position(|c| c.id == id) else { return not_found() };
    state.consents.remove(position);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /consents/{id}/download_proof`: the PDF of an accepted consent, 404 otherwise.
pub async fn download_proof(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let consent = shared.state().consents.iter().find(|c| c.id == id).cloned();
    let Some(consent) = consent else { return not_found() };
    let Some((_, date)) = consent.answer.filter(|(status, _)| status == "ACCEPTED") else {
        return errors(StatusCode::NOT_FOUND, "PROOF_NOT_FOUND", "aucun consentement accepté");
    };
    let text = |field: &str| consent.body[field].as_str().unwrap_or_default().to_owned();
    let proof = TextDocument {
        title: format!("Maileva consent {id}"),
        author: "Maileva (fake)".into(),
        created: chrono::Utc::now(),
        watermark: Some("FAKE MAILEVA - test document".into()),
        blocks: vec![
            Block::heading("Preuve de consentement".to_owned()),
            Block::Spacer,
            Block::field("Consent", id.clone()),
            Block::field("Recipient", format!("{} {} <{}>", text("first_name"), text("last_name"), text("email"))),
            Block::field("Accepted", date),
        ],
    };
    match write_pdf(&proof) {
        Ok(pdf) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
