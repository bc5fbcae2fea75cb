//! What a callback says: its event types, and the body it carries (Standard Webhooks' `type`, `timestamp`,
//! `data`), the letter as a requester's endpoint sees it, with signed links to its proofs.

use serde_json::{Value, json};

use super::proof_link_signature;
use crate::domain::LetterState;
use crate::notify::notices::notice_kind;
use crate::services::Services;
use crate::store::callbacks::EndpointRow;
use crate::store::{self, LetterRecord};

/// The event types an endpoint can subscribe to, one per state a requester hears about.
pub const EVENT_TYPES: [&str; 11] = [
    "letter.accepted",
    "letter.awaiting_consent",
    "letter.awaiting_approval",
    "letter.deposited",
    "letter.delivered",
    "letter.refused",
    "letter.not_claimed",
    "letter.bounced",
    "letter.failed",
    "letter.needs_attention",
    "letter.cancelled",
];

/// The event type of a state change, when requesters hear about it.
pub fn event_type(state: LetterState) -> Option<String> {
    notice_kind(state).map(|kind| format!("letter.{kind}"))
}

/// The body of a callback (Standard Webhooks): the event type, when it happened, and the letter.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CallbackEvent {
    /// One of the event types (`letter.delivered`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// When the state changed (RFC 3339).
    pub timestamp: String,
    pub data: CallbackLetter,
}

/// The letter, as a callback tells of it: never the PDF, but links to the proofs that need no API key and
/// expire.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CallbackLetter {
    /// `ltr_…`
    pub id: String,
    pub reference: Option<String>,
    /// The state the event is about.
    pub state: String,
    pub state_detail: Option<String>,
    pub sender: String,
    /// `{name, version}`: the template and the SHA-256 of its version.
    #[schema(value_type = Object)]
    pub template: Value,
    /// `{name, email}`.
    #[schema(value_type = Object)]
    pub recipient: Value,
    pub proofs: Vec<CallbackProof>,
}

/// A proof: its kind, its SHA-256, and a signed link that expires (`callbacks.proof_links_valid`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CallbackProof {
    pub kind: String,
    pub sha256: String,
    pub url: String,
}

pub(super) fn letter_data(
    services: &Services,
    letter: &LetterRecord,
    state: LetterState,
    proofs: &[store::ProofRecord],
    endpoint: &EndpointRow,
    now: i64,
) -> CallbackLetter {
    let base = services.public_url.as_str().trim_end_matches('/');
    let expires = (now + services.settings.callbacks.proof_links_valid.as_millis() as i64) / 1000;
    let proofs = proofs
        .iter()
        .map(|p| {
            let signature = proof_link_signature(&endpoint.secret, &letter.id, &p.kind, expires);
            let url = format!(
                "{base}/v1/proof-links/{}/{}?endpoint={}&expires={expires}&signature={signature}",
                letter.id, p.kind, endpoint.id
            );
            CallbackProof { kind: p.kind.clone(), sha256: p.sha256.clone(), url }
        })
        .collect();
    CallbackLetter {
        id: letter.id.to_string(),
        reference: letter.reference.clone(),
        state: state.as_str().to_owned(),
        state_detail: letter.state_detail.clone(),
        sender: letter.sender_id.to_string(),
        template: json!({ "name": letter.template, "version": letter.template_hash }),
        recipient: json!({ "name": letter.recipient.display_name(), "email": letter.recipient.email }),
        proofs,
    }
}
