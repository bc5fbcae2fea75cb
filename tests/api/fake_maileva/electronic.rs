//! The fake electronic sending APIs, simple (`secured_electronic_mail/v1`, v1.0) and qualified
//! (`electronic_qualified_registered_mail/v1`, v1.3), told apart by the path: create a draft (`sender_id` and
//! `name` required), add documents (a name required, 256 MB in all), add the recipient, submit (202), list,
//! read, delete drafts, download the proofs. Errors come as `{"errors":[{code,message}]}` (the specs'
//! `ErrorsDto`; their codes are not listed, the fake's are its own). What each API does on its own, its
//! recipient's rules and statuses, is in `simple` and `qualified`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Multipart, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use relais::render::pdf::{Block, TextDocument, write_pdf};
use serde_json::{Value, json};

use super::model::{Api, FakeDocument, FakeRecipient, FakeSending};
use super::{HANG, Shared, auth, errors, qualified, simple};

pub const ROOT: &str = "/secured_electronic_mail/v1/sendings";
pub const DEPOSIT_AFTER: Duration = Duration::from_millis(200);
pub const OUTCOME_AFTER: Duration = Duration::from_millis(800);
const SIZE_LIMIT: usize = 256_000_000;

/// Which electronic API a request is for.
fn api_of(uri: &Uri) -> Api {
    if uri.path().starts_with(qualified::ROOT) { Api::Qualified } else { Api::Simple }
}

/// The simple API documents its `ErrorsDto` as a bare array (`[{code, message}]`), the qualified one as
/// `{"errors": [...]}`: a layer turns the simple API's refusals into its shape.
pub async fn bare_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let simple = request.uri().path().starts_with(ROOT);
    let response = next.run(request).await;
    if !simple || !response.status().is_client_error() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let errors = serde_json::from_slice::<Value>(&bytes).ok().map(|v| v["errors"].clone()).filter(Value::is_array);
    match errors {
        Some(list) => (parts.status, axum::Json(list)).into_response(),
        None => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, "SENDING_NOT_FOUND", "Ressource SENDING introuvable")
}

fn not_draft() -> Response {
    errors(StatusCode::BAD_REQUEST, "SENDING_NOT_DRAFT", "Ce dernier doit être en DRAFT")
}

pub fn bad(code: &str, message: &str) -> Response {
    errors(StatusCode::BAD_REQUEST, code, message)
}

fn sending_json(sending: &FakeSending) -> Value {
    let mut body = sending.to_json();
    body["status"] = json!(match sending.api {
        Api::Qualified => qualified::sending_status(sending),
        _ => simple::sending_status(sending),
    });
    body
}

/// `RecipientResponse` as it is now.
fn recipient_json(sending: &FakeSending, recipient: &FakeRecipient) -> Value {
    match sending.api {
        Api::Qualified => qualified::recipient_json(sending, recipient),
        _ => simple::recipient_json(sending, recipient),
    }
}

pub async fn create(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let api = api_of(&uri);
    let body = body.0;
    if let Some(problem) = qualified::sending_problem(&body).filter(|_| api == Api::Qualified) {
        return problem;
    }
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
    if api == Api::Simple && body["custom_id"].as_str().is_some_and(|c| c.chars().count() > 36) {
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
            api,
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
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let start: usize = query.get("start_index").and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let count: usize = query.get("count").and_then(|s| s.parse().ok()).unwrap_or(50).clamp(1, 500);
    let state = shared.state();
    let api = api_of(&uri);
    let mine: Vec<&FakeSending> = state.sendings.iter().filter(|s| s.api == api).collect();
    let page: Vec<Value> = mine.iter().skip(start - 1).take(count).map(|s| sending_json(s)).collect();
    let next =
        (start - 1 + count < mine.len()).then(|| format!("/sendings?start_index={}&count={count}", start + count));
    axum::Json(json!({"sendings": page, "paging": {"next": next, "total_results": mine.len()}})).into_response()
}

fn find<'a>(sendings: &'a [FakeSending], api: Api, id: &str) -> Option<&'a FakeSending> {
    sendings.iter().find(|s| s.api == api && s.id == id)
}

fn find_mut<'a>(sendings: &'a mut [FakeSending], api: Api, id: &str) -> Option<&'a mut FakeSending> {
    sendings.iter_mut().find(|s| s.api == api && s.id == id)
}

pub async fn get(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    match find(&shared.state().sendings, api_of(&uri), &id) {
        Some(sending) => axum::Json(sending_json(sending)).into_response(),
        None => not_found(),
    }
}

pub async fn delete(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let api = api_of(&uri);
    let mut state = shared.state();
    let Some(position) = state.sendings.iter().position(|s| s.api == api && s.id == id) else { return not_found() };
    if state.sendings[position].submitted {
        return not_draft();
    }
    state.sendings.remove(position);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn add_document(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let api = api_of(&uri);
    let parts = super::document_parts(&mut multipart).await;
    let Some(document) = parts.document.filter(|d| !d.is_empty()) else {
        return bad("EMPTY_DOCUMENT", "Le document est vide");
    };
    let named = parts.metadata.as_ref().and_then(|m| m["name"].as_str()).map(str::to_owned);
    // The qualified API's schema shows the name as its own part.
    let named = named.or(parts.name.filter(|_| api == Api::Qualified));
    let Some(name) = named else {
        return bad("INVALID_METADATA", "metadata.name est obligatoire");
    };
    let mut state = shared.state();
    let document_id = state.id();
    let Some(sending) = find_mut(&mut state.sendings, api, &id) else { return not_found() };
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

pub async fn add_recipient(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::Json<Value>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let api = api_of(&uri);
    let problem =
        if api == Api::Qualified { qualified::recipient_problem(&body.0) } else { simple::recipient_problem(&body.0) };
    if let Some(message) = problem {
        return bad("INVALID_RECIPIENT", message);
    }
    let mut state = shared.state();
    let recipient_id = state.id();
    let Some(sending) = find_mut(&mut state.sendings, api, &id) else { return not_found() };
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

pub async fn recipients(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let state = shared.state();
    let Some(sending) = find(&state.sendings, api_of(&uri), &id) else { return not_found() };
    let list: Vec<Value> = sending.recipient.iter().map(|r| recipient_json(sending, r)).collect();
    axum::Json(json!({"recipients": list, "paging": {"total_results": list.len()}})).into_response()
}

/// `POST /sendings/{id}/submit` → 202; a qualified sending only under its sender's open session.
pub async fn submit(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let api = api_of(&uri);
    let hang = {
        let mut state = shared.state();
        if let Some((status, code)) = state.fail_next_submit.take() {
            return errors(StatusCode::from_u16(status).unwrap(), &code, "échec demandé par le test");
        }
        let Some(sending) = find(&state.sendings, api, &id).cloned() else { return not_found() };
        if let Some(refused) = qualified::unauthenticated(&state, &sending).filter(|_| api == Api::Qualified) {
            return refused;
        }
        let hang = std::mem::take(&mut state.hang_next_submit);
        let Some(sending) = find_mut(&mut state.sendings, api, &id) else { return not_found() };
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
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path((sending_id, recipient_id, document)): Path<(String, String, String)>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let record = {
        let state = shared.state();
        let Some(sending) = find(&state.sendings, api_of(&uri), &sending_id) else { return not_found() };
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
