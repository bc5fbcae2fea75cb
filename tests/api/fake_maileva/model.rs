//! The fake Maileva's memory: tokens, sendings with their documents and recipient, subscriptions, the
//! switches a test flips, and the request log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A document added to a sending.
#[derive(Debug, Clone)]
pub struct FakeDocument {
    pub id: String,
    pub name: String,
    pub priority: i64,
    pub size: usize,
}

/// The recipient of a sending (the fake holds one per sending, as relais sends).
#[derive(Debug, Clone)]
pub struct FakeRecipient {
    pub id: String,
    /// The `recipient_creation` body as received.
    pub body: Value,
    pub status: String,
    /// Delivery events, oldest first: (code, RFC 3339 date).
    pub codes: Vec<(String, String)>,
    pub deposit_proof: Option<String>,
    pub receipt: Option<String>,
    pub undelivered: Option<String>,
    pub reason: Option<String>,
}

impl FakeRecipient {
    pub fn custom_id(&self) -> Option<&str> {
        self.body["custom_id"].as_str()
    }
}

/// Maileva's sending APIs: paper (`registered_mail/v4`), simple electronic (`secured_electronic_mail/v1`) and
/// qualified electronic (`electronic_qualified_registered_mail/v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Paper,
    Simple,
    Qualified,
}

#[derive(Debug, Clone)]
pub struct FakeSending {
    pub id: String,
    /// The `sending_creation` body as received.
    pub body: Value,
    pub status: String,
    pub documents: Vec<FakeDocument>,
    pub recipient: Option<FakeRecipient>,
    pub created: String,
    pub submitted: bool,
    /// The API the sending was created in.
    pub api: Api,
    /// When it was submitted: an electronic sending moves on from there by itself (`electronic`).
    pub submitted_at: Option<Instant>,
}

impl FakeSending {
    pub fn custom_id(&self) -> Option<&str> {
        self.body["custom_id"].as_str()
    }

    /// `sending_response`.
    pub fn to_json(&self) -> Value {
        let mut body = self.body.clone();
        body["id"] = json!(self.id);
        body["status"] = json!(self.status);
        body["creation_date"] = json!(self.created);
        body["documents_count"] = json!(self.documents.len());
        body["documents_weight"] = json!(self.documents.iter().map(|d| d.size).sum::<usize>());
        body
    }
}

/// A `notification_center/v2` subscription, with the Basic credentials Maileva calls back with.
#[derive(Debug, Clone)]
pub struct FakeSubscription {
    pub id: String,
    pub event_type: String,
    pub resource_type: String,
    pub callback_url: String,
    pub login: String,
    pub password: String,
}

impl FakeSubscription {
    /// `subscription_response`: the password is not given back (the fake's choice).
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "event_type": self.event_type, "resource_type": self.resource_type,
               "callback_url": self.callback_url, "authentication": {"basic": {"login": self.login}}})
    }
}

/// A consent of `electronic_consents/v1`: the creation body, the requests made (status, date) and the
/// recipient's answer (status, date).
#[derive(Debug, Clone)]
pub struct FakeConsent {
    pub id: String,
    pub body: Value,
    pub created: String,
    pub requests: Vec<(String, String)>,
    pub answer: Option<(String, String)>,
}

impl FakeConsent {
    /// `consent_ask_response`, with the last request and the last answer.
    pub fn to_json(&self) -> Value {
        let mut body = self.body.clone();
        body["id"] = json!(self.id);
        body["creation_date"] = json!(self.created);
        if let Some((status, date)) = self.requests.last() {
            body["last_request"] = json!({"date": date, "created_by": self.body["sender_id"], "status": status});
        }
        if let Some((status, date)) = &self.answer {
            body["last_answer"] = json!({"id": format!("{}-answer", self.id), "date": date, "declared_by": "RECIPIENT",
                                         "status": status, "proof_href": format!("/consents/{}/download_proof", self.id)});
        }
        body
    }
}

/// One request received: method, path, and the grant type for the token endpoint.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub method: String,
    pub path: String,
}

pub struct State {
    pub next: u64,
    pub access_tokens: HashMap<String, Instant>,
    pub refresh_tokens: HashMap<String, Instant>,
    pub token_lifetime: Duration,
    /// The grant types used at the token endpoint, in order.
    pub grants: Vec<String>,
    pub sendings: Vec<FakeSending>,
    pub subscriptions: Vec<FakeSubscription>,
    pub consents: Vec<FakeConsent>,
    pub requests: Vec<FakeRequest>,
    /// The most bytes of documents one sending may hold (20 MB, registered_mail v4.9).
    pub size_limit: usize,
    pub hang_next_submit: bool,
    pub hang_next_create: bool,
    pub fail_next_submit: Option<(u16, String)>,
    /// The next asking of a recipient is refused with this code.
    pub fail_next_consent_request: Option<String>,
    /// The one-time codes the senders' authenticators show now, by sender id (`electronic_mail_emitter`).
    pub otp_codes: HashMap<String, String>,
    /// The senders' open sessions for qualified letters, until when.
    pub otp_sessions: HashMap<String, Instant>,
    /// Sender states other than `VALIDATED`, by sender id.
    pub sender_states: HashMap<String, String>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            next: 0,
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(300),
            grants: Vec::new(),
            sendings: Vec::new(),
            subscriptions: Vec::new(),
            consents: Vec::new(),
            requests: Vec::new(),
            size_limit: 20_000_000,
            hang_next_submit: false,
            hang_next_create: false,
            fail_next_submit: None,
            fail_next_consent_request: None,
            otp_codes: HashMap::new(),
            otp_sessions: HashMap::new(),
            sender_states: HashMap::new(),
        }
    }
}

impl State {
    /// A fresh UUID-looking id.
    pub fn id(&mut self) -> String {
        self.next += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", rand::random::<u32>(), self.next)
    }

    pub fn sending_mut(&mut self, id: &str) -> Option<&mut FakeSending> {
        self.sendings.iter_mut().find(|s| s.id == id)
    }
}

/// Where the test moves a submitted sending's recipient (`FakeMaileva::advance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Printed, posted, deposit proof available (LP01, LP02, LP03, LP05).
    Deposited,
    /// First presentation, delivered, acknowledgement of receipt scanned (LP09, LP15, LP18).
    Delivered,
    /// Refused by the recipient and returned (LP09, LP22, LP17), the returned mail scanned (N05).
    Refused,
    /// Not claimed in time and returned (LP09, LP19, LP17), scanned (N03).
    NotClaimed,
    /// Unknown at the address and returned (LP21, LP17), scanned (N02).
    Bounced,
}

impl Stage {
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            Self::Deposited => &["LP01", "LP02", "LP03", "LP05"],
            Self::Delivered => &["LP09", "LP15", "LP18"],
            Self::Refused => &["LP09", "LP22", "LP17"],
            Self::NotClaimed => &["LP09", "LP19", "LP17"],
            Self::Bounced => &["LP21", "LP17"],
        }
    }

    /// The `undelivered_mail_reason` of a returned letter.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::Refused => Some("N05"),
            Self::NotClaimed => Some("N03"),
            Self::Bounced => Some("N02"),
            Self::Deposited | Self::Delivered => None,
        }
    }

    /// The events notification_center sends for this stage (resource `registered_mail/v4/recipients`).
    pub fn events(self) -> &'static [&'static str] {
        match self {
            Self::Deposited => &["ON_DEPOSIT_PROOF_RECEIVED", "ON_CONTENT_PROOF_RECEIVED"],
            Self::Delivered => &["ON_MAIN_DELIVERY_STATUS_DELIVERED", "ON_ACKNOWLEDGEMENT_OF_RECEIPT_RECEIVED"],
            _ => &["ON_MAIN_DELIVERY_STATUS_UNDELIVERED", "ON_UNDELIVERED_MAIL_RECEIVED"],
        }
    }
}
