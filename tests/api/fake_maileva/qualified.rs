//! What the fake `electronic_qualified_registered_mail/v1` (v1.3) does differently from the simple API
//! (`electronic`), whose handlers it shares: the creation body has no `notification_language` (an unknown field
//! is refused) and a `custom_id` of 38 characters; the recipient needs first and last name whatever its legal
//! status, and a company of 38 characters at most; a document's name comes as `metadata.name` or as a `name`
//! part; a submit needs the sender's session opened with a one-time code (`emitters`), else `403`; and the
//! recipient has one `status` (`PENDING`, `PROCESSED` once deposited, then the recipient's answer `ACCEPTED`,
//! `REFUSED` or `NOT_CLAIMED`) with proofs typed as the spec lists them.
//!
//! The recipient's email says what happens, as for the simple API: `refus` refused, `neglige` not claimed,
//! `rejet` rejected for `INVALID_EMAIL`, `panne` an `ERROR` on Maileva's side, `etrange` a status the spec does
//! not list.

use std::time::{Duration, Instant};

use axum::response::Response;
use serde_json::{Value, json};

use super::electronic::{DEPOSIT_AFTER, OUTCOME_AFTER, bad};
use super::errors;
use super::model::{FakeRecipient, FakeSending, State};

pub const ROOT: &str = "/electronic_qualified_registered_mail/v1/sendings";

/// `SendingCreation`'s fields.
const SENDING_FIELDS: [&str; 7] =
    ["sender_id", "name", "custom_id", "custom_data", "additional_sender_name", "message", "pre_notification"];

/// The first problem of a `SendingCreation` beyond the simple API's checks.
pub fn sending_problem(body: &Value) -> Option<Response> {
    if let Some(unknown) = body.as_object().and_then(|o| o.keys().find(|k| !SENDING_FIELDS.contains(&k.as_str()))) {
        return Some(bad("UNKNOWN_FIELD", &format!("champ inconnu : {unknown}")));
    }
    if body["custom_id"].as_str().is_some_and(|c| c.chars().count() > 38) {
        return Some(bad("INVALID_CUSTOM_ID", "38 caractères max"));
    }
    None
}

/// The first problem of a `RecipientCreation`: email, legal status, first and last name (1 to 50) required,
/// company at most 38.
pub fn recipient_problem(body: &Value) -> Option<&'static str> {
    let text = |key: &str| body[key].as_str().unwrap_or_default().trim().to_owned();
    let email = text("email");
    if email.is_empty() || !email.contains('@') {
        return Some("email est obligatoire et doit être une adresse");
    }
    if !matches!(body["legal_status"].as_str(), Some("INDIVIDUAL" | "PROFESSIONAL")) {
        return Some("legal_status vaut PROFESSIONAL ou INDIVIDUAL");
    }
    let names_ok = |key: &str| (1..=50).contains(&text(key).chars().count());
    if !names_ok("first_name") || !names_ok("last_name") {
        return Some("first_name et last_name sont obligatoires (50 caractères max)");
    }
    if text("company").chars().count() > 38 {
        return Some("company : 38 caractères max");
    }
    None
}

/// A submit refused when the sender has no open session (the fake's code: the spec lists a 403 without one).
pub fn unauthenticated(state: &State, sending: &FakeSending) -> Option<Response> {
    let sender = sending.body["sender_id"].as_str().unwrap_or_default();
    let open = state.otp_sessions.get(sender).is_some_and(|until| *until > Instant::now());
    (!open).then(|| {
        errors(
            axum::http::StatusCode::FORBIDDEN,
            "SENDER_NOT_AUTHENTICATED",
            "l'expéditeur doit s'authentifier par code à usage unique (authenticate_by_otp)",
        )
    })
}

/// What the recipient does, by their email: (final status, status detail, proof type).
fn fate(email: &str) -> (&'static str, Option<&'static str>, Option<&'static str>) {
    let local = email.split('@').next().unwrap_or_default();
    let has = |word: &str| local.contains(word);
    if has("rejet") {
        ("REJECTED", Some("INVALID_EMAIL"), None)
    } else if has("refus") {
        ("REFUSED", None, Some("REFUSAL_PROOF"))
    } else if has("neglige") {
        ("NOT_CLAIMED", None, Some("NOT_CLAIMED_PROOF"))
    } else if has("panne") {
        ("ERROR", Some("TECHNICAL_ERROR"), None)
    } else if has("etrange") {
        ("RETURNED_TO_SPACE", None, Some("ACKNOWLEDGMENT_OF_RECEIPT"))
    } else {
        ("ACCEPTED", None, Some("ACKNOWLEDGMENT_OF_RECEIPT"))
    }
}

/// The sending's status now.
pub fn sending_status(sending: &FakeSending) -> &'static str {
    match sending.submitted_at.map(|t| t.elapsed()) {
        None => "DRAFT",
        Some(e) if e < DEPOSIT_AFTER => "PENDING",
        Some(_) => "PROCESSED",
    }
}

/// `RecipientResponse` as it is now.
pub fn recipient_json(sending: &FakeSending, recipient: &FakeRecipient) -> Value {
    let date = |after: Duration| {
        let at = chrono::DateTime::parse_from_rfc3339(&sending.created).unwrap() + after;
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let base = format!("{ROOT}/{}/recipients/{}", sending.id, recipient.id);
    let email = recipient.body["email"].as_str().unwrap_or_default();
    let (outcome, detail, proof_type) = fate(email);
    let mut body = recipient.body.clone();
    body["id"] = json!(recipient.id);
    let elapsed = sending.submitted_at.map(|t| t.elapsed());
    let status = match elapsed {
        None => "DRAFT",
        Some(e) if e < DEPOSIT_AFTER => "PENDING",
        Some(_) if outcome == "REJECTED" => "REJECTED",
        Some(e) if e < OUTCOME_AFTER => "PROCESSED",
        Some(_) => outcome,
    };
    body["status"] = json!(status);
    if matches!(status, "REJECTED" | "ERROR") {
        body["status_detail"] = json!(detail);
    }
    let deposited = elapsed.is_some_and(|e| e >= DEPOSIT_AFTER) && outcome != "REJECTED";
    if deposited {
        body["deposit_proof"] = json!({"id": format!("{}-depot", recipient.id), "type": "DEPOSIT_PROOF",
            "creation_date": date(DEPOSIT_AFTER), "href": format!("{base}/download_deposit_proof")});
    }
    if let (true, Some(kind)) = (elapsed.is_some_and(|e| e >= OUTCOME_AFTER), proof_type) {
        body["delivery_proof"] = json!({"id": format!("{}-issue", recipient.id), "type": kind,
            "creation_date": date(OUTCOME_AFTER), "href": format!("{base}/download_delivery_proof")});
    }
    body
}
