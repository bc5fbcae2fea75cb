//! The fake Maileva's life of a letter: stages the test moves a recipient through (delivery codes and
//! documents), the recipient record, the proof PDFs (deposit and content proofs, acknowledgement of receipt,
//! returned mail), and `notification_center/v2` (subscriptions, and the callbacks with their Basic
//! credentials, where 201 is the only success).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais::render::pdf::{Block, TextDocument, write_pdf};
use serde_json::{Value, json};

use super::model::{FakeRecipient, FakeSending, FakeSubscription, Stage};
use super::{Shared, auth, errors};

const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// `recipient_response`: the body received, its status and delivery events, and document URLs once ready.
pub fn recipient_json(sending: &FakeSending, recipient: &FakeRecipient) -> Value {
    let mut body = recipient.body.clone();
    let base = format!("/sendings/{}/recipients/{}", sending.id, recipient.id);
    body["id"] = json!(recipient.id);
    body["status"] = json!(recipient.status);
    let postage = match (sending.body["postage_type"].as_str(), sending.body["acknowledgement_of_receipt"].as_bool()) {
        (Some("URGENT"), Some(false)) => "REGISTERED_MAIL_J2",
        (Some("URGENT"), _) => "REGISTERED_MAIL_J2_AR",
        (_, Some(false)) => "REGISTERED_MAIL_J3",
        _ => "REGISTERED_MAIL_J3_AR",
    };
    body["postage_class"] = json!(postage);
    if sending.submitted {
        body["postage_price"] = json!(7.35);
        body["registered_number"] = json!(format!("1A{}", &recipient.id[..8]));
    }
    body["delivery_statuses"] =
        json!(recipient.codes.iter().map(|(code, date)| json!({"code": code, "date": date})).collect::<Vec<_>>());
    if let Some((code, date)) = recipient.codes.last() {
        body["last_delivery_status"] = json!(code);
        body["last_delivery_status_date"] = json!(date);
    }
    if let Some(date) = &recipient.deposit_proof {
        body["deposit_proof_date"] = json!(date);
        body["deposit_proof_url"] = json!(format!("{base}/download_deposit_proof"));
        // The content proof is made from the letter as posted, with the deposit (the fake's choice).
        body["content_proof_date"] = json!(date);
        body["content_proof_url"] = json!(format!("{base}/download_content_proof"));
    }
    if let Some(date) = &recipient.receipt {
        body["acknowledgement_of_receipt_date"] = json!(date);
        body["acknowledgement_of_receipt_url"] = json!(format!("{base}/download_acknowledgement_of_receipt"));
    }
    if let Some(date) = &recipient.undelivered {
        body["undelivered_mail_date"] = json!(date);
        body["undelivered_mail_url"] = json!(format!("{base}/download_undelivered_mail"));
        body["undelivered_mail_reason"] = json!(recipient.reason);
    }
    body
}

/// One callback to make: where, with which credentials, and the body.
pub struct Callback {
    pub url: String,
    pub login: String,
    pub password: String,
    pub body: Value,
}

/// Moves a sending's recipient through `stage` (deposited first if it is not yet); returns the callbacks of
/// every subscription to the stage's events.
pub fn move_to(shared: &Shared, sending_id: &str, stage: Stage) -> Vec<Callback> {
    let mut state = shared.state();
    let subscriptions = state.subscriptions.clone();
    let sending = state.sending_mut(sending_id).unwrap_or_else(|| panic!("fake Maileva: no sending {sending_id}"));
    assert!(sending.submitted, "fake Maileva: sending {sending_id} was never submitted");
    let mut stages = vec![stage];
    let recipient = sending.recipient.as_mut().expect("a submitted sending has its recipient");
    if stage != Stage::Deposited && recipient.deposit_proof.is_none() {
        stages.insert(0, Stage::Deposited);
    }
    sending.status = "PROCESSED".into();
    let mut events = Vec::new();
    for stage in stages {
        reach(recipient, stage);
        events.extend(
            stage.events().iter().map(|e| (*e, recipient.id.clone(), recipient.custom_id().map(str::to_owned))),
        );
    }
    callbacks_for(&subscriptions, "registered_mail/v4/recipients", &events, shared.origin())
}

fn reach(recipient: &mut FakeRecipient, stage: Stage) {
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    recipient.status = "PROCESSED".into();
    recipient.codes.extend(stage.codes().iter().map(|c| ((*c).to_owned(), now())));
    match stage {
        Stage::Deposited => recipient.deposit_proof = Some(now()),
        Stage::Delivered => recipient.receipt = Some(now()),
        _ => {
            recipient.undelivered = Some(now());
            recipient.reason = stage.reason().map(str::to_owned);
        }
    }
}

fn callbacks_for(
    subscriptions: &[FakeSubscription],
    resource_type: &str,
    events: &[(&str, String, Option<String>)],
    origin: &str,
) -> Vec<Callback> {
    let mut calls = Vec::new();
    for (event, resource_id, custom_id) in events {
        let matching = subscriptions.iter().filter(|s| s.event_type == *event && s.resource_type == resource_type);
        for subscription in matching {
            let body = json!({
                "source": "api.maileva.com", "user_id": "fake-user", "client_id": super::CLIENT_ID,
                "event_type": event, "resource_type": resource_type,
                "event_date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "event_location": "FR", "resource_id": resource_id,
                "resource_location": format!("{origin}/{resource_type}/{resource_id}"),
                "resource_custom_id": custom_id,
            });
            calls.push(Callback {
                url: subscription.callback_url.clone(),
                login: subscription.login.clone(),
                password: subscription.password.clone(),
                body,
            });
        }
    }
    calls
}

/// POSTs one callback; true when it was answered 201, the only success the spec knows.
pub async fn deliver(http: &reqwest::Client, callback: &Callback) -> bool {
    let sent = http
        .post(&callback.url)
        .basic_auth(&callback.login, Some(&callback.password))
        .json(&callback.body)
        .timeout(CALLBACK_TIMEOUT)
        .send()
        .await;
    sent.is_ok_and(|r| r.status() == StatusCode::CREATED)
}

/// `GET …/recipients/{rid}/download_{document}`: the PDF once it exists, 404 before.
pub async fn download(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((sending_id, recipient_id, document)): Path<(String, String, String)>,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let state = shared.state();
    let recipient = state
        .sendings
        .iter()
        .find(|s| s.id == sending_id)
        .and_then(|s| s.recipient.as_ref())
        .filter(|r| r.id == recipient_id);
    let Some(recipient) = recipient else {
        return errors(StatusCode::NOT_FOUND, "RECIPIENT_NOT_FOUND", "Ressource RECIPIENT introuvable");
    };
    let ready = match document.as_str() {
        "download_deposit_proof" | "download_content_proof" => recipient.deposit_proof.clone(),
        "download_acknowledgement_of_receipt" => recipient.receipt.clone(),
        "download_undelivered_mail" => recipient.undelivered.clone(),
        _ => None,
    };
    let Some(date) = ready else { return errors(StatusCode::NOT_FOUND, "DOCUMENT_NOT_FOUND", "pas encore disponible") };
    let proof = TextDocument {
        title: format!("Maileva {document} {recipient_id}"),
        author: "Maileva (fake)".into(),
        created: chrono::Utc::now(),
        watermark: Some("FAKE MAILEVA - test document".into()),
        blocks: vec![
            Block::heading(document.trim_start_matches("download_").replace('_', " ")),
            Block::Spacer,
            Block::field("Sending", sending_id.clone()),
            Block::field("Recipient", recipient_id.clone()),
            Block::field("Town", recipient.body["address_line_6"].as_str().unwrap_or_default().to_owned()),
            Block::field("Date", date),
        ],
    };
    match write_pdf(&proof) {
        Ok(pdf) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub async fn subscribe(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let body = body.0;
    let basic = &body["authentication"]["basic"];
    if text(&body["callback_url"]).is_empty() || text(&basic["login"]).is_empty() {
        return errors(StatusCode::BAD_REQUEST, "INVALID_SUBSCRIPTION", "callback_url et authentication requis");
    }
    let mut state = shared.state();
    let subscription = FakeSubscription {
        id: state.id(),
        event_type: text(&body["event_type"]),
        resource_type: text(&body["resource_type"]),
        callback_url: text(&body["callback_url"]),
        login: text(&basic["login"]),
        password: text(&basic["password"]),
    };
    state.subscriptions.push(subscription.clone());
    (StatusCode::CREATED, axum::Json(subscription.to_json())).into_response()
}

pub async fn subscriptions(
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
    let page: Vec<Value> =
        state.subscriptions.iter().skip(start - 1).take(count).map(FakeSubscription::to_json).collect();
    axum::Json(json!({"subscriptions": page, "paging": {"total_results": state.subscriptions.len()}})).into_response()
}

pub async fn patch_subscription(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(denied) = auth::denied(&shared, &headers) {
        return denied;
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type != "application/merge-patch+json" {
        return errors(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNEXPECTED_NOT_VALID_ERROR", "merge-patch+json attendu");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, "UNEXPECTED_NOT_VALID_ERROR", "corps illisible");
    };
    let body = axum::Json(body);
    let mut state = shared.state();
    let Some(subscription) = state.subscriptions.iter_mut().find(|s| s.id == id) else {
        return errors(StatusCode::NOT_FOUND, "SUBSCRIPTION_NOT_FOUND", "abonnement introuvable");
    };
    if let Some(url) = body.0["callback_url"].as_str() {
        subscription.callback_url = url.to_owned();
    }
    if let Some(basic) = body.0["authentication"]["basic"].as_object() {
        subscription.login = basic.get("login").and_then(Value::as_str).unwrap_or_default().to_owned();
        subscription.password = basic.get("password").and_then(Value::as_str).unwrap_or_default().to_owned();
    }
    axum::Json(subscription.to_json()).into_response()
}
