//! The fake `secured_electronic_mail/v1` (simple electronic registered letters, v1.0): create a draft
//! (`sender_id` and `name` required, `custom_id` ≤ 36), add documents (`metadata.name` required, 256 MB in
//! all), add the recipient (`email` and `legal_status` required; an individual's first and last name, a
//! professional's company), submit (202), list, read, delete drafts, download the proofs. Errors come as
//! `{"errors":[{code,message}]}` (the spec's `ErrorsDto`; its codes are not listed, the fake's are its own).
//!
//! A submitted sending moves by itself, as the recipient's email says: deposited (deposit proof) after
//! `DEPOSIT_AFTER`, then after `OUTCOME_AFTER` opened (`DELIVERED`), or, when the email's local part
//! contains `refus`, refused; `neglige`, not claimed; `invalide`, bounced; `rejet`, a deposit rejected for
//! `INVALID_DATA`; `etrange`, a delivery status the spec does not list.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais::render::pdf::{Block, TextDocument, write_pdf};
use serde_json::{Value, json};

use super::model::{FakeDocument, FakeRecipient, FakeSending};
use super::{HANG, Shared, auth, errors};

pub const ROOT: &str = "/secured_electronic_mail/v1/sendings";
pub const DEPOSIT_AFTER: Duration = Duration::from_millis(200);
pub const OUTCOME_AFTER: Duration = Duration::from_millis(800);
const SIZE_LIMIT: usize = 256_000_000;

fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
}

fn not_draft() -> Response {
    errors(StatusCode::BAD_REQUEST, "SENDING_NOT_DRAFT", "Ce dernier doit être en DRAFT")
}

fn bad(code: &str, message: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, code, message)
}

/// What the recipient does with the letter, by their email.
fn fate(email: &str) -> (&'static str, &'static str, Option<&'static str>) {
    let local = email.split('@').next().unwrap_or_default();
    let has = |word: &str| local.contains(word);
    // (deposit status, delivery status, delivery status detail)
    if has("rejet") {
        ("REJECTED", "", None)
    } else if has("refus") {
        ("PROCESSED", "UNDELIVERED", Some("REFUSED"))
    } else if has("neglige") {
        ("PROCESSED", "UNDELIVERED", Some("NOT_CLAIMED"))
    } else if has("invalide") {
        ("PROCESSED", "UNDELIVERED", Some("BOUNCED"))
    } else if has("etrange") {
        ("PROCESSED", "RETURNED_TO_SPACE", None)
    } else {
        ("PROCESSED", "DELIVERED", None)
    }
}

/// The sending's and the recipient's statuses now, from the time since the submit.
struct Now {
    sending: &'static str,
    recipient: &'static str,
    detail: Option<&'static str>,
    deposited: bool,
    delivery: Option<(&'static str, Option<&'static str>)>,
}

fn now_of(sending: &FakeSending) -> Now {
    let email = sending.recipient.as_ref().and_then(|r| r.body["email"].as_str()).unwrap_or_default();
    let (deposit, delivery, detail) = fate(email);
    let at = |sending, recipient, deposited, delivery| Now { sending, recipient, detail: None, deposited, delivery };
    match sending.submitted_at.map(|t| t.elapsed()) {
        None => at("DRAFT", "DRAFT", false, None),
        Some(e) if e < DEPOSIT_AFTER => at("ACCEPTED", "ACCEPTED", false, None),
        Some(_) if deposit == "REJECTED" => {
            Now { detail: Some("INVALID_DATA"), ..at("REJECTED", "REJECTED", false, None) }
        }
        Some(e) if e < OUTCOME_AFTER => at("PROCESSED", "PROCESSED", true, Some(("DELIVERING", None))),
        Some(_) => at("PROCESSED", "PROCESSED", true, Some((delivery, detail))),
    }
}

fn sending_json(sending: &FakeSending) -> Value {
    let mut body = sending.to_json();
    body["status"] = json!(now_of(sending).sending);
    body
}

/// `RecipientResponse` as it is now.
fn recipient_json(sending: &FakeSending, recipient: &FakeRecipient) -> Value {
    let now = now_of(sending);
    let date = |after: Duration| {
        let at = chrono::DateTime::parse_from_rfc3339(&sending.created).unwrap() + after;
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let base = format!("{ROOT}/{}/recipients/{}", sending.id, recipient.id);
    let mut body = recipient.body.clone();
    body["id"] = json!(recipient.id);
    body["status"] = json!(now.recipient);
    body["reference"] = json!(format!("RE24C{}", &recipient.id[..8]));
    if let Some(detail) = now.detail {
        body["status_detail"] = json!(detail);
    }
    if now.deposited {
        body["deposit_proof"] = json!({"date": date(DEPOSIT_AFTER), "href": format!("{base}/download_deposit_proof")});
    }
    if let Some((status, detail)) = now.delivery {
        body["delivery_status"] = json!(status);
        if let Some(detail) = detail {
            body["delivery_status_detail"] = json!(detail);
        }
        let kind = match (status, detail) {
            ("DELIVERED", _) => Some("ACKNOWLEDGMENT_OF_RECEIPT"),
            (_, Some("REFUSED")) => Some("REFUSAL_PROOF"),
            (_, Some("NOT_CLAIMED")) => Some("NOT_CLAIMED_PROOF"),
            (_, Some("BOUNCED")) => Some("UNDELIVERED_PROOF"),
            _ => None,
        };
        if let Some(kind) = kind {
            body["delivery_proof"] = json!({"date": date(OUTCOME_AFTER), "type": kind,
                                            "href": format!("{base}/download_delivery_proof")});
        }
    }
    body
}

pub async fn create(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let body = body.0;
    let name = body["name"].as_str().unwrap_or_default();
    if name.is_empty() || name.chars().count() > 256 {
        return bad("INVALID_NAME", "name est obligatoire (256 caractères max)");
    }
    let uuid = |s: &str| {
        let groups: Vec<usize> = s.split('-').map(str::len).collect();
        groups == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    if body["sender_id"].as_str().is_none_or(|s| !uuid(s)) {
        return bad("INVALID_SENDER_ID", "sender_id est obligatoire (UUID)");
    }
    if body["custom_id"].as_str().is_some_and(|c| c.chars().count() > 36) {
        return bad("INVALID_CUSTOM_ID", "36 caractères max");
    }
    let (sending, hang) = {
        let mut state = shared.state();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let sending = FakeSending {
            id: state.id(),
            body,
            status: "DRAFT".into(),
            documents: vec![],
            recipient: None,
            created,
            submitted: false,
            electronic: true,
            submitted_at: None,
        };
        state.sendings.push(sending.clone());
        (sending, std::mem::take(&mut state.hang_next_create))
    };
    if hang {
        tokio::time::sleep(HANG).await;
    }
    (StatusCode::CREATED, axum::Json(sending_json(&sending))).into_response()
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
    let mine: Vec<&FakeSending> = state.sendings.iter().filter(|s| s.electronic).collect();
    let page: Vec<Value> = mine.iter().skip(start - 1).take(count).map(|s| sending_json(s)).collect();
    let next =
        (start - 1 + count < mine.len()).then(|| format!("/sendings?start_index={}&count={count}", start + count));
    axum::Json(json!({"sendings": page, "paging": {"next": next, "total_results": mine.len()}})).into_response()
}

fn find<'a>(sendings: &'a [FakeSending], id: &str) -> Option<&'a FakeSending> {
    sendings.iter().find(|s| s.electronic && s.id == id)
}

pub async fn get(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    match find(&shared.state().sendings, &id) {
        Some(sending) => axum::Json(sending_json(sending)).into_response(),
        None => not_found(),
    }
}

pub async fn delete(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let mut state = shared.state();
    let Some(position) = state.sendings.iter().position(|s| s.electronic && s.id == id) else { return not_found() };
    if state.sendings[position].submitted {
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
    let (document, metadata) = super::document_parts(&mut multipart).await;
    let Some(document) = document.filter(|d| !d.is_empty()) else {
        return bad("EMPTY_DOCUMENT", "Le document est vide");
    };
    let Some(name) = metadata.as_ref().and_then(|m| m["name"].as_str()).map(str::to_owned) else {
        return bad("INVALID_METADATA", "metadata.name est obligatoire");
    };
    let mut state = shared.state();
    let document_id = state.id();
    let Some(sending) = state.sending_mut(&id).filter(|s| s.electronic) else { return not_found() };
    if sending.submitted {
        return not_draft();
    }
    if sending.documents.iter().map(|d| d.size).sum::<usize>() + document.len() > SIZE_LIMIT {
        return bad("INVALID_TOTAL_SENDING_SIZE", "les documents dépassent 256 Mo");
    }
    let stored = FakeDocument { id: document_id, name, priority: 0, size: document.len() };
    sending.documents.push(stored.clone());
    let body = json!({"id": stored.id, "name": stored.name, "size": stored.size});
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// The first problem of a `RecipientCreation`, as the spec's rules say.
fn recipient_problem(body: &Value) -> Option<&'static str> {
    let text = |key: &str| body[key].as_str().unwrap_or_default().trim().to_owned();
    let email = text("email");
    if email.is_empty() || !email.contains('@') {
        return Some("email est obligatoire et doit être une adresse");
    }
    let names_ok = |key: &str| (1..=50).contains(&text(key).chars().count());
    match body["legal_status"].as_str() {
        Some("INDIVIDUAL") if !names_ok("first_name") || !names_ok("last_name") => {
            Some("le nom et prénom d'un particulier sont obligatoires")
        }
        Some("PROFESSIONAL") if text("company").is_empty() => Some("le nom de la société est obligatoire"),
        Some("INDIVIDUAL" | "PROFESSIONAL") => None,
        _ => Some("legal_status vaut PROFESSIONAL ou INDIVIDUAL"),
    }
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
    if let Some(message) = recipient_problem(&body.0) {
        return bad("INVALID_RECIPIENT", message);
    }
    let mut state = shared.state();
    let recipient_id = state.id();
    let Some(sending) = state.sending_mut(&id).filter(|s| s.electronic) else { return not_found() };
    if sending.submitted {
        return not_draft();
    }
    if sending.recipient.is_some() {
        return bad("INVALID_RECIPIENTS_COUNT", "un destinataire par envoi (fake)");
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
    let answer = recipient_json(sending, &recipient);
    sending.recipient = Some(recipient);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

pub async fn recipients(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let state = shared.state();
    let Some(sending) = find(&state.sendings, &id) else { return not_found() };
    let list: Vec<Value> = sending.recipient.iter().map(|r| recipient_json(sending, r)).collect();
    axum::Json(json!({"recipients": list, "paging": {"total_results": list.len()}})).into_response()
}

/// `POST /sendings/{id}/submit` → 202.
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
        let Some(sending) = state.sending_mut(&id).filter(|s| s.electronic) else { return not_found() };
        if sending.submitted {
            return not_draft();
        }
        if sending.documents.is_empty() || sending.recipient.is_none() {
            return bad("SENDING_INCOMPLETE", "documents et destinataire requis (fake)");
        }
        sending.submitted = true;
        sending.submitted_at = Some(Instant::now());
        hang
    };
    if hang {
        tokio::time::sleep(HANG).await;
    }
    StatusCode::ACCEPTED.into_response()
}

/// `GET …/recipients/{rid}/download_deposit_proof` and `…/download_delivery_proof`: the PDF once it
/// exists, 404 before.
pub async fn download(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((sending_id, recipient_id, document)): Path<(String, String, String)>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let record = {
        let state = shared.state();
        let Some(sending) = find(&state.sendings, &sending_id) else { return not_found() };
        let Some(recipient) = sending.recipient.as_ref().filter(|r| r.id == recipient_id) else {
            return errors(StatusCode::NOT_FOUND, "RECIPIENT_NOT_FOUND", "Ressource RECIPIENT introuvable");
        };
        recipient_json(sending, recipient)
    };
    let proof = match document.as_str() {
        "download_deposit_proof" => &record["deposit_proof"],
        "download_delivery_proof" => &record["delivery_proof"],
        _ => &Value::Null,
    };
    if proof.is_null() {
        return errors(StatusCode::NOT_FOUND, "PROOF_NOT_FOUND", "pas encore disponible");
    }
    let pdf = TextDocument {
        title: format!("Maileva ERE {document} {recipient_id}"),
        author: "Maileva (fake)".into(),
        created: chrono::Utc::now(),
        watermark: Some("FAKE MAILEVA - test document".into()),
        blocks: vec![
            Block::heading(proof["type"].as_str().unwrap_or("DEPOSIT_PROOF").to_owned()),
            Block::Spacer,
            Block::field("Sending", sending_id.clone()),
            Block::field("Recipient", record["email"].as_str().unwrap_or_default().to_owned()),
            Block::field("Date", proof["date"].as_str().unwrap_or_default().to_owned()),
        ],
    };
    match write_pdf(&pdf) {
        Ok(pdf) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
