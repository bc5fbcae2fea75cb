//! What the fake `secured_electronic_mail/v1` (simple electronic registered letters, v1.0) does on its own,
//! beside the handlers it shares with the qualified API (`electronic`): the recipient's rules (`email` and
//! `legal_status` required; an individual's first and last name, a professional's company), and its two
//! statuses, the deposit and the delivery.
//!
//! A submitted sending moves by itself, as the recipient's email says: deposited (deposit proof) after
//! `DEPOSIT_AFTER`, then after `OUTCOME_AFTER` opened (`DELIVERED`), or, when the email's local part
//! contains `refus`, refused; `neglige`, not claimed; `invalide`, bounced; `rejet`, a deposit rejected for
//! `INVALID_DATA`; `etrange`, a delivery status the spec does not list.

use std::time::Duration;

use serde_json::{Value, json};

use super::electronic::{DEPOSIT_AFTER, OUTCOME_AFTER, ROOT};
use super::model::{FakeRecipient, FakeSending};

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

/// The sending's status now.
pub fn sending_status(sending: &FakeSending) -> &'static str {
    now_of(sending).sending
}

/// `RecipientResponse` as it is now.
pub fn recipient_json(sending: &FakeSending, recipient: &FakeRecipient) -> Value {
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

/// The first problem of a `RecipientCreation`, as the spec's rules say.
pub fn recipient_problem(body: &Value) -> Option<&'static str> {
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
