//! The fake `registered_mail/v4` sendings (v4.9): create a draft, add documents (≤ 20 MB, ≤ 30), add the
//! recipient (address lines checked as the spec's error codes say), submit once, list, read and delete
//! drafts. Errors come as `{"errors":[{code,message}]}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::model::{Api, FakeDocument, FakeRecipient, FakeSending};
use super::{HANG, Shared, auth, errors};

/// The `country_code`s the spec allows.
const COUNTRIES: [&str; 9] = ["FR", "MC", "RE", "YT", "MQ", "GP", "MF", "BL", "GF"];

fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
}

fn not_draft() -> Response {
    errors(StatusCode::BAD_REQUEST, "SENDING_STATUS_IS_NOT_DRAFT", "l'envoi n'est pas en état draft")
}

pub async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let body = body.0;
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        return errors(StatusCode::BAD_REQUEST, "EMPTY_NAME", "Aucun nom d'envoi n'a été transmis");
    }
    if name.chars().count() > 256 {
        return errors(StatusCode::BAD_REQUEST, "NAME_TOO_LONG", "256 caractères max");
    }
    if body["custom_id"].as_str().is_some_and(|c| c.chars().count() > 38) {
        return errors(StatusCode::BAD_REQUEST, "CUSTOM_ID_WRONG_FORMAT", "38 caractères max");
    }
    let (sending, hang) = {
        let mut state = shared.state();
        let id = state.id();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let sending = FakeSending {
            id,
            body,
            status: "DRAFT".into(),
            documents: vec![],
            recipient: None,
            created,
            submitted: false,
            api: Api::Paper,
            submitted_at: None,
        };
        state.sendings.push(sending.clone());
        (sending, std::mem::take(&mut state.hang_next_create))
    };
    if hang {
        tokio::time::sleep(HANG).await;
    }
    (StatusCode::CREATED, axum::Json(sending.to_json())).into_response()
}

pub async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let start: usize = query.get("start_index").and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let count: usize = query.get("count").and_then(|s| s.parse().ok()).unwrap_or(50).clamp(1, 500);
    let state = shared.state();
    let paper: Vec<&FakeSending> = state.sendings.iter().filter(|s| s.api == Api::Paper).collect();
    let page: Vec<Value> = paper.iter().skip(start - 1).take(count).map(|s| s.to_json()).collect();
    let total = paper.len();
    let next = (start - 1 + count < total).then(|| format!("/sendings?start_index={}&count={count}", start + count));
    axum::Json(json!({"sendings": page, "paging": {"next": next, "total_results": total}})).into_response()
}

pub async fn get(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    match shared.state().sendings.iter().find(|s| s.id == id) {
        Some(sending) => axum::Json(sending.to_json()).into_response(),
        None => not_found(),
    }
}

/// Only drafts can be deleted (`SENDING_STATUS_IS_NOT_DRAFT` otherwise).
pub async fn delete(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let mut state = shared.state();
    let Some(position) = state.sendings.iter().position(|s| s.id == id) else { return not_found() };
    if state.sendings[position].status != "DRAFT" {
        return not_draft();
    }
    state.sendings.remove(position);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn add_document(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let super::DocumentParts { document, metadata, .. } = super::document_parts(&mut multipart).await;
    let Some(document) = document.filter(|d| !d.is_empty()) else {
        return errors(StatusCode::BAD_REQUEST, "EMPTY_DOCUMENT", "Le document est vide");
    };
    let Some(metadata) = metadata else {
        return errors(StatusCode::BAD_REQUEST, "EMPTY_METADATA", "Les méta-données sont vides");
    };
    if !document.starts_with(b"%PDF") {
        return errors(StatusCode::BAD_REQUEST, "DOCUMENT_TYPE_NOT_ACCEPTED", "seuls les PDF sont acceptés (fake)");
    }
    let mut state = shared.state();
    let limit = state.size_limit;
    let document_id = state.id();
    let Some(sending) = state.sending_mut(&id) else { return not_found() };
    if sending.status != "DRAFT" {
        return not_draft();
    }
    if sending.documents.len() >= 30 {
        return errors(StatusCode::BAD_REQUEST, "INVALID_DOCUMENTS_COUNT", "30 documents au plus par envoi");
    }
    if sending.documents.iter().map(|d| d.size).sum::<usize>() + document.len() > limit {
        return errors(StatusCode::BAD_REQUEST, "INVALID_TOTAL_SENDING_SIZE", "les documents dépassent 20 Mo");
    }
    let priority = metadata["priority"].as_i64().unwrap_or(0);
    if priority < 1 {
        return errors(StatusCode::BAD_REQUEST, "INVALID_PRIORITY", "priority doit être supérieure ou égale à 1");
    }
    if sending.documents.iter().any(|d| d.priority == priority) {
        return errors(StatusCode::BAD_REQUEST, "DUPLICATE_PRIORITY", "Plusieurs documents ont la même priorité");
    }
    let name = metadata["name"].as_str().unwrap_or("document.pdf").to_owned();
    let stored = FakeDocument { id: document_id, name, priority, size: document.len() };
    sending.documents.push(stored.clone());
    let body = json!({"id": stored.id, "name": stored.name, "priority": stored.priority,
                      "type": "application/pdf", "size": stored.size});
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// The first problem of an address, as the spec's error codes name it.
fn address_problem(body: &Value) -> Option<(&'static str, String)> {
    let line = |n: usize| body[format!("address_line_{n}")].as_str().unwrap_or_default();
    for n in 1..=6 {
        if line(n).chars().count() > 38 {
            const CODES: [&str; 6] = [
                "ADDRESS_LINE_1_TOO_LONG",
                "ADDRESS_LINE_2_TOO_LONG",
                "ADDRESS_LINE_3_TOO_LONG",
                "ADDRESS_LINE_4_TOO_LONG",
                "ADDRESS_LINE_5_TOO_LONG",
                "ADDRESS_LINE_6_TOO_LONG",
            ];
            return Some((CODES[n - 1], format!("La ligne d'adresse n°{n} est limitée à 38 caractères")));
        }
    }
    if line(1).is_empty() && line(2).is_empty() {
        return Some(("EMPTY_ADDRESS_LINE_1_OR_ADDRESS_LINE_2", "ligne 1 ou 2 obligatoire".into()));
    }
    if line(6).is_empty() {
        return Some(("EMPTY_ADDRESS_LINE_6", "La ligne d'adresse n°6 doit être renseignée".into()));
    }
    let country = body["country_code"].as_str().unwrap_or_default();
    if country.is_empty() {
        return Some(("COUNTRY_CODE_EMPTY", "Le code pays est vide".into()));
    }
    if !COUNTRIES.contains(&country) {
        return Some(("INVALID_COUNTRY_CODE", format!("{country} n'est pas autorisé")));
    }
    let postcode_then_town = line(6).split_once(' ').is_some_and(|(code, town)| {
        code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()) && !town.trim().is_empty()
    });
    if country == "FR" && !postcode_then_town {
        return Some(("INVALID_ADDRESS_LINE_6", "[CODE_POSTAL] [VILLE] attendu".into()));
    }
    None
}

pub async fn add_recipient(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    if let Some((code, message)) = address_problem(&body.0) {
        return errors(StatusCode::BAD_REQUEST, code, &message);
    }
    let mut state = shared.state();
    let recipient_id = state.id();
    let Some(sending) = state.sending_mut(&id) else { return not_found() };
    if sending.status != "DRAFT" {
        return not_draft();
    }
    if sending.recipient.is_some() {
        return errors(StatusCode::BAD_REQUEST, "INVALID_RECIPIENTS_COUNT", "un destinataire par envoi (fake)");
    }
    let recipient = FakeRecipient {
        id: recipient_id,
        body: body.0,
        status: "DRAFT".into(),
        codes: vec![],
        deposit_proof: None,
        receipt: None,
        undelivered: None,
        reason: None,
    };
    let answer = super::lifecycle::recipient_json(sending, &recipient);
    sending.recipient = Some(recipient);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

pub async fn recipients(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let state = shared.state();
    let Some(sending) = state.sendings.iter().find(|s| s.id == id) else { return not_found() };
    let list: Vec<Value> = sending.recipient.iter().map(|r| super::lifecycle::recipient_json(sending, r)).collect();
    axum::Json(json!({"recipients": list, "paging": {"total_results": list.len()}})).into_response()
}

/// `POST /sendings/{id}/submit` → 200; the sending is accepted at once (the fake's choice).
pub async fn submit(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let hang = {
        let mut state = shared.state();
        if let Some((status, code)) = state.fail_next_submit.take() {
            return errors(StatusCode::from_u16(status).unwrap(), &code, "échec demandé par le test");
        }
        let hang = std::mem::take(&mut state.hang_next_submit);
        let Some(sending) = state.sending_mut(&id) else { return not_found() };
        if sending.status != "DRAFT" {
            return not_draft();
        }
        if sending.documents.is_empty() || sending.recipient.is_none() {
            return errors(StatusCode::BAD_REQUEST, "SENDING_INCOMPLETE", "documents et destinataire requis (fake)");
        }
        sending.status = "ACCEPTED".into();
        sending.submitted = true;
        if let Some(recipient) = &mut sending.recipient {
            recipient.status = "ACCEPTED".into();
        }
        hang
    };
    if hang {
        // Maileva kept the submission; the client only sees its own timeout.
        tokio::time::sleep(HANG).await;
    }
    StatusCode::OK.into_response()
}
