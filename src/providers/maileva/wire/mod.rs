//! Maileva's wire format for paper registered letters (`registered_mail/v4`, v4.9, providers.md §2.5):
//! the bodies relais sends, the records it reads (leniently: unknown fields ignored, absent ones `None`),
//! and errors as `{"errors":[{code,message}]}`. Delivery codes (`delivery`) and address lines (`address`)
//! live beside.

mod address;
mod delivery;
pub mod ere;
pub mod lre;

pub use address::{PAPER_COUNTRIES, recipient_lines};
pub use delivery::{Reading, read_delivery};

use serde::{Deserialize, Serialize};

use crate::config::{MailevaSettings, SenderSettings};

/// `POST /sendings` (`sending_creation`). Only what relais sets; Maileva's defaults for the rest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewSending {
    pub name: String,
    pub custom_id: String,
    pub acknowledgement_of_receipt: bool,
    pub color_printing: bool,
    pub duplex_printing: bool,
    pub optional_address_sheet: bool,
    /// The spec's `postage_type`: `FAST` (3 days, J3) or `URGENT` (2 days, J2); the class reported on the
    /// recipient is `REGISTERED_MAIL_J2_AR` etc. (`postage_class`).
    pub postage_type: &'static str,
    /// Returned letters are scanned, so a bounce, refusal or non-claim comes with its document.
    pub returned_mail_scanning: bool,
    pub sender_address_line_1: String,
    pub sender_address_line_2: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sender_address_line_3: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sender_address_line_4: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sender_address_line_5: String,
    pub sender_address_line_6: String,
    pub sender_country_code: String,
}

/// The longest `name` of a sending (`NAME_TOO_LONG`: 256 characters).
const MAX_NAME: usize = 256;

impl NewSending {
    /// The sending of one letter: our letter id as `custom_id`, the options of the account.
    pub fn new(subject: &str, letter_id: &str, settings: &MailevaSettings, sender: &SenderSettings) -> Self {
        let name: String = format!("{letter_id} {subject}").chars().take(MAX_NAME).collect();
        let cut = |text: &str| -> String { text.chars().take(address::MAX_CHARS).collect() };
        let lines = &sender.address.lines;
        let line = |i: usize| lines.get(i).map(|l| cut(l)).unwrap_or_default();
        Self {
            name,
            custom_id: letter_id.to_owned(),
            acknowledgement_of_receipt: settings.postage.with_receipt(),
            color_printing: settings.color_printing,
            duplex_printing: settings.duplex_printing,
            optional_address_sheet: settings.address_sheet,
            postage_type: if settings.postage.two_days() { "URGENT" } else { "FAST" },
            returned_mail_scanning: true,
            sender_address_line_1: cut(&sender.company),
            sender_address_line_2: cut(&sender.name),
            sender_address_line_3: if lines.len() > 1 { line(0) } else { String::new() },
            sender_address_line_4: if lines.len() > 1 { line(1) } else { line(0) },
            sender_address_line_5: line(2),
            sender_address_line_6: cut(&format!("{} {}", sender.address.postal_code, sender.address.city)),
            sender_country_code: sender.address.country.clone(),
        }
    }
}

/// `document_metadata`, sent as the `metadata` part beside the `document` part.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentMetadata {
    pub priority: usize,
    pub name: String,
}

/// `POST /sendings/{id}/recipients` (`recipient_creation`).
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct NewRecipient {
    pub custom_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line_5: Option<String>,
    pub address_line_6: String,
    pub country_code: String,
}

/// A sending as Maileva returns it (`sending_response`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Sending {
    pub id: String,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_detail: Option<String>,
}

/// `GET /sendings` (`sendings_response`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Sendings {
    #[serde(default)]
    pub sendings: Vec<Sending>,
    #[serde(default)]
    pub paging: Paging,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Paging {
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub total_results: Option<f64>,
}

/// One delivery event of La Poste (`delivery_status`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct DeliveryStatus {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub label: Option<String>,
}

/// The recipient of a sending as Maileva returns it (`recipient_response`): statuses, delivery events and the
/// URLs of its documents, each present once the document can be downloaded.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct RecipientRecord {
    pub id: String,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub registered_number: Option<String>,
    #[serde(default)]
    pub postage_price: Option<f64>,
    #[serde(default)]
    pub last_delivery_status: Option<String>,
    #[serde(default)]
    pub delivery_statuses: Vec<DeliveryStatus>,
    #[serde(default)]
    pub deposit_proof_date: Option<String>,
    #[serde(default)]
    pub deposit_proof_url: Option<String>,
    #[serde(default)]
    pub acknowledgement_of_receipt_url: Option<String>,
    #[serde(default)]
    pub undelivered_mail_url: Option<String>,
    #[serde(default)]
    pub undelivered_mail_reason: Option<String>,
    /// The spec: "Attendre que [content_proof_date] soit renseigné pour lancer le téléchargement".
    #[serde(default)]
    pub content_proof_date: Option<String>,
    #[serde(default)]
    pub content_proof_url: Option<String>,
}

/// `GET /sendings/{id}/recipients` (`recipients_response`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Recipients {
    #[serde(default)]
    pub recipients: Vec<RecipientRecord>,
}

/// The OAuth2 token answer (`Token_Response`, api-authentication v2.1).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub refresh_expires_in: Option<u64>,
}

/// One error of `{"errors":[…]}`, or the single `{code, message}` some 401/404 answers carry.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct ApiError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The errors of a refusal, from either documented shape; empty when the body is neither.
pub fn read_errors(body: &[u8]) -> Vec<ApiError> {
    #[derive(Deserialize)]
    struct Many {
        errors: Vec<ApiError>,
    }
    if let Ok(many) = serde_json::from_slice::<Many>(body) {
        return many.errors;
    }
    // secured_electronic_mail v1.0 documents its `ErrorsDto` as a bare array.
    if let Ok(list) = serde_json::from_slice::<Vec<ApiError>>(body) {
        return list;
    }
    match serde_json::from_slice::<ApiError>(body) {
        Ok(one) if !one.code.is_empty() || !one.message.is_empty() => vec![one],
        _ => Vec::new(),
    }
}

/// A notification callback (`notification_content_creation`, notification_center v2.8). Only a hint: the
/// resource is fetched again from the API.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Callback {
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub resource_custom_id: Option<String>,
}

/// `POST /subscriptions` (`subscription_creation`) with Basic credentials Maileva uses when calling back.
#[derive(Debug, Clone, Serialize)]
pub struct NewSubscription<'a> {
    pub event_type: &'a str,
    pub resource_type: &'a str,
    pub callback_url: &'a str,
    pub authentication: Authentication<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Authentication<'a> {
    pub basic: BasicCredentials<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BasicCredentials<'a> {
    pub login: &'a str,
    pub password: &'a str,
}

/// A subscription as listed (`subscription_response`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Subscription {
    pub id: String,
    #[serde(default)]
    pub event_type: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub callback_url: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Subscriptions {
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    #[serde(default)]
    pub paging: Paging,
}

/// The events relais follows, by resource type (notification_center v2.8, "Pour Maileva LREL").
pub const EVENTS: [(&str, &str); 9] = [
    ("registered_mail/v4/sendings", "ON_STATUS_ACCEPTED"),
    ("registered_mail/v4/sendings", "ON_STATUS_REJECTED"),
    ("registered_mail/v4/sendings", "ON_STATUS_PROCESSED"),
    ("registered_mail/v4/recipients", "ON_DEPOSIT_PROOF_RECEIVED"),
    ("registered_mail/v4/recipients", "ON_CONTENT_PROOF_RECEIVED"),
    ("registered_mail/v4/recipients", "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED"),
    ("registered_mail/v4/recipients", "ON_UNDELIVERED_MAIL_RECEIVED"),
    ("registered_mail/v4/recipients", "ON_MAIN_DELIVERY_STATUS_DELIVERED"),
    ("registered_mail/v4/recipients", "ON_MAIN_DELIVERY_STATUS_UNDELIVERED"),
];

/// Euros as Maileva gives them (`postage_price`, a float) in cents.
pub fn cents(euros: f64) -> i64 {
    (euros * 100.0).round() as i64
}

/// An RFC 3339 date-time in unix milliseconds.
pub fn time_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests;
