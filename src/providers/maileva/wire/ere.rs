//! Maileva's simple electronic registered letters (ERE, `secured_electronic_mail/v1`, v1.0, providers.md
//! §2.4): the bodies relais sends, the recipient record it reads, and what its statuses mean for our states
//! and proofs. The sending itself (`Sending`, `Sendings`) has the same shape as the paper API's.
//!
//! The spec's recipient has two statuses, not the qualified API's one (§2.2): `status` is the deposit
//! (`DRAFT`, `PENDING`, `BLOCKED`, `ACCEPTED` "en attente de dépôt", `PROCESSED` "dépôt réussi",
//! `REJECTED` "dépôt échoué", `SENDING_REJECTED`), and `delivery_status` the outcome (`DELIVERING`,
//! `DELIVERED` "a reçu et ouvert son courrier", `UNDELIVERED` with `delivery_status_detail` `BOUNCED`,
//! `NOT_CLAIMED` or `REFUSED`). A value outside these lists is never guessed: the letter needs a person.

use serde::{Deserialize, Serialize};

use super::time_ms;
use crate::config::SenderSettings;
use crate::domain::{LetterState, Recipient, RecipientKind};
use crate::providers::{ProofKind, ProofLink};

use super::delivery::Reading;

/// `POST /sendings` (`SendingCreation`): `sender_id` (the sender at `electronic_mail_emitter`) and `name`
/// are required; `custom_id` is at most 36 characters (our letter ids are shorter).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewSending {
    pub sender_id: String,
    pub name: String,
    pub custom_id: String,
    /// The language of Maileva's emails to the recipient (`FR`, `EN`, `NL`); the qualified API has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_language: Option<&'static str>,
}

/// The longest `name` of a sending (`sending_name`: 256 characters).
const MAX_NAME: usize = 256;

impl NewSending {
    pub fn new(subject: &str, letter_id: &str, sender_id: &str) -> Self {
        Self {
            sender_id: sender_id.to_owned(),
            name: format!("{letter_id} {subject}").chars().take(MAX_NAME).collect(),
            custom_id: letter_id.to_owned(),
            notification_language: Some("FR"),
        }
    }

    /// The same sending for the qualified API (`electronic_qualified_registered_mail/v1`'s `SendingCreation`
    /// has no `notification_language`; its `custom_id` may be 38 characters).
    pub fn qualified(subject: &str, letter_id: &str, sender_id: &str) -> Self {
        Self { notification_language: None, ..Self::new(subject, letter_id, sender_id) }
    }
}

/// The `metadata` part of `POST …/documents`: only `name` is required (no `priority`, unlike paper).
#[derive(Debug, Clone, Serialize)]
pub struct DocumentMetadata {
    pub name: String,
}

/// `POST /sendings/{id}/recipients` (`RecipientCreation`). The spec: an individual needs first and last
/// name, a professional the company; names are at most 50 characters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewRecipient {
    pub custom_id: String,
    pub legal_status: &'static str,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

const MAX_NAME_PART: usize = 50;

impl NewRecipient {
    pub fn new(recipient: &Recipient, letter_id: &str) -> Self {
        let cut = |text: &str| -> Option<String> {
            let text: String = text.trim().chars().take(MAX_NAME_PART).collect();
            (!text.is_empty()).then_some(text)
        };
        let legal_status = match recipient.kind {
            RecipientKind::Professional => "PROFESSIONAL",
            RecipientKind::Individual => "INDIVIDUAL",
        };
        Self {
            custom_id: letter_id.to_owned(),
            legal_status,
            email: recipient.email_text().to_owned(),
            first_name: recipient.first_name.as_deref().and_then(cut),
            last_name: cut(&recipient.last_name),
            // Inferred: the spec gives no length for `company`; it is sent whole.
            company: recipient.company.clone().filter(|c| !c.trim().is_empty()),
        }
    }
}

/// The sender id an electronic sending needs (`sender_id`), checked at start (config).
pub fn sender_id(sender: &SenderSettings) -> &str {
    sender.maileva_sender_id.as_deref().unwrap_or_default()
}

/// A proof as a recipient record carries it (`deposit_proof`, `delivery_proof`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Proof {
    /// `date` in the simple API, `creation_date` in the qualified one.
    #[serde(default, alias = "creation_date")]
    pub date: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub href: Option<String>,
}

/// The recipient of an electronic sending (`RecipientResponse`).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct RecipientRecord {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_detail: Option<String>,
    #[serde(default)]
    pub delivery_status: Option<String>,
    #[serde(default)]
    pub delivery_status_detail: Option<String>,
    #[serde(default)]
    pub deposit_proof: Option<Proof>,
    #[serde(default)]
    pub delivery_proof: Option<Proof>,
}

/// `GET /sendings/{id}/recipients` (`RecipientsResponse`).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Recipients {
    #[serde(default)]
    pub recipients: Vec<RecipientRecord>,
}

/// Deposit statuses before the letter reached the recipient's mailbox.
const WAITING: [&str; 4] = ["DRAFT", "PENDING", "BLOCKED", "ACCEPTED"];
/// `status_detail`s of a rejected deposit that a person can fix and send again (the address or the data
/// given), as opposed to Maileva's own failures. Inferred: the spec gives only `INVALID_DATA` as an example.
pub(super) const FIXABLE: [&str; 3] = ["INVALID_DATA", "INVALID_EMAIL", "INVALID_RECIPIENT"];

/// The documented download of a recipient's proofs; the record's `href` is not relied upon (the spec does
/// not say whether it is absolute or relative to which API).
pub(super) fn download(root: &str, sending: &str, recipient: &str, what: &str) -> String {
    format!("{root}/sendings/{sending}/recipients/{recipient}/{what}")
}

/// When the recipient's deposit proof is dated, and its download, once it is there.
pub(super) fn deposit(root: &str, sending: &super::Sending, r: &RecipientRecord) -> (Option<i64>, Vec<ProofLink>) {
    let deposit = r.deposit_proof.as_ref();
    let deposited_at = deposit.and_then(|p| p.date.as_deref()).and_then(time_ms);
    let link = |_: &Proof| ProofLink {
        kind: ProofKind::Deposit,
        locator: download(root, &sending.id, &r.id, "download_deposit_proof"),
    };
    (deposited_at, deposit.map(link).into_iter().collect())
}

/// Reads an electronic sending's recipient. `root` is the API's path (`secured_electronic_mail/v1`).
pub fn read_electronic(root: &str, sending: &super::Sending, recipient: Option<&RecipientRecord>) -> Reading {
    let Some(r) = recipient else {
        let state = WAITING.contains(&sending.status.as_str()).then_some(LetterState::Submitting);
        let state = if sending.status == "REJECTED" { Some(LetterState::Failed) } else { state };
        return Reading { state, raw_status: sending.status.clone(), deposited_at: None, proofs: vec![] };
    };
    let (deposited_at, mut proofs) = deposit(root, sending, r);
    let detail = r.delivery_status_detail.as_deref().unwrap_or_default();
    let raw_status = match (&r.delivery_status, detail) {
        (Some(delivery), "") => delivery.clone(),
        (Some(delivery), detail) => format!("{delivery}/{detail}"),
        (None, _) => match r.status_detail.as_deref() {
            Some(d) if !d.is_empty() => format!("{}/{d}", r.status),
            _ => r.status.clone(),
        },
    };
    let reading = |state, proofs| Reading { state, raw_status: raw_status.clone(), deposited_at, proofs };
    match r.status.as_str() {
        s if WAITING.contains(&s) => return reading(Some(LetterState::Submitting), proofs),
        "REJECTED" | "SENDING_REJECTED" => {
            let fixable = r.status_detail.as_deref().is_some_and(|d| FIXABLE.contains(&d));
            let state = if fixable { LetterState::NeedsAttention } else { LetterState::Failed };
            return reading(Some(state), proofs);
        }
        "PROCESSED" => {}
        _ => return reading(None, proofs),
    }
    let outcome = match (r.delivery_status.as_deref(), detail) {
        (None | Some("DELIVERING"), _) => return reading(Some(LetterState::Deposited), proofs),
        (Some("DELIVERED"), _) => (LetterState::Delivered, ProofKind::Receipt),
        (Some("UNDELIVERED"), "REFUSED") => (LetterState::Refused, ProofKind::Refusal),
        (Some("UNDELIVERED"), "NOT_CLAIMED") => (LetterState::NotClaimed, ProofKind::NonClaim),
        (Some("UNDELIVERED"), "BOUNCED") => (LetterState::Bounced, ProofKind::Bounce),
        _ => return reading(None, proofs),
    };
    // The outcome is reported with its proof: until the delivery proof is there, the letter stays deposited.
    if r.delivery_proof.is_none() {
        return reading(Some(LetterState::Deposited), proofs);
    }
    proofs.push(ProofLink { kind: outcome.1, locator: download(root, &sending.id, &r.id, "download_delivery_proof") });
    reading(Some(outcome.0), proofs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "secured_electronic_mail/v1";

    fn sending(status: &str) -> super::super::Sending {
        super::super::Sending { id: "s1".into(), status: status.into(), ..Default::default() }
    }

    fn recipient(status: &str, delivery: Option<&str>, detail: Option<&str>, proof: bool) -> RecipientRecord {
        let date = Some("2026-12-01T10:00:00.000Z".to_owned());
        RecipientRecord {
            id: "r1".into(),
            status: status.into(),
            delivery_status: delivery.map(str::to_owned),
            delivery_status_detail: detail.map(str::to_owned),
            deposit_proof: (status == "PROCESSED").then(|| Proof { date: date.clone(), ..Default::default() }),
            delivery_proof: proof.then(|| Proof { date, ..Default::default() }),
            ..Default::default()
        }
    }

    fn state(r: &RecipientRecord) -> Option<LetterState> {
        read_electronic(ROOT, &sending("PROCESSED"), Some(r)).state
    }

    #[test]
    fn each_documented_outcome_maps_with_its_proof() {
        use LetterState::*;
        let cases = [
            (Some("DELIVERED"), None, Delivered, ProofKind::Receipt),
            (Some("UNDELIVERED"), Some("REFUSED"), Refused, ProofKind::Refusal),
            (Some("UNDELIVERED"), Some("NOT_CLAIMED"), NotClaimed, ProofKind::NonClaim),
            (Some("UNDELIVERED"), Some("BOUNCED"), Bounced, ProofKind::Bounce),
        ];
        for (delivery, detail, expected, kind) in cases {
            let reading =
                read_electronic(ROOT, &sending("PROCESSED"), Some(&recipient("PROCESSED", delivery, detail, true)));
            assert_eq!(reading.state, Some(expected));
            let kinds: Vec<ProofKind> = reading.proofs.iter().map(|p| p.kind).collect();
            assert_eq!(kinds, [ProofKind::Deposit, kind]);
            assert_eq!(
                reading.proofs[1].locator,
                "secured_electronic_mail/v1/sendings/s1/recipients/r1/download_delivery_proof"
            );
            assert!(reading.deposited_at.is_some());
            // Without its proof yet, the outcome waits: the letter stays deposited.
            assert_eq!(state(&recipient("PROCESSED", delivery, detail, false)), Some(Deposited));
        }
    }

    #[test]
    fn deposit_statuses_and_rejections() {
        use LetterState::*;
        for waiting in ["DRAFT", "PENDING", "BLOCKED", "ACCEPTED"] {
            assert_eq!(state(&recipient(waiting, None, None, false)), Some(Submitting), "{waiting}");
        }
        assert_eq!(state(&recipient("PROCESSED", Some("DELIVERING"), None, false)), Some(Deposited));
        let mut rejected = recipient("REJECTED", None, None, false);
        assert_eq!(state(&rejected), Some(Failed));
        rejected.status_detail = Some("INVALID_DATA".into());
        let reading = read_electronic(ROOT, &sending("REJECTED"), Some(&rejected));
        assert_eq!((reading.state, reading.raw_status.as_str()), (Some(NeedsAttention), "REJECTED/INVALID_DATA"));
    }

    #[test]
    fn an_unknown_status_is_never_guessed() {
        let reading =
            read_electronic(ROOT, &sending("PROCESSED"), Some(&recipient("PROCESSED", Some("LOST"), None, true)));
        assert_eq!((reading.state, reading.raw_status.as_str()), (None, "LOST"));
        let odd = recipient("ARCHIVED", None, None, false);
        assert_eq!(read_electronic(ROOT, &sending("PROCESSED"), Some(&odd)).state, None);
        let detail = recipient("PROCESSED", Some("UNDELIVERED"), Some("LOST_IN_SPACE"), true);
        assert_eq!(state(&detail), None);
    }

    #[test]
    fn the_recipient_body_follows_the_spec() {
        let recipient: Recipient = serde_json::from_value(serde_json::json!({
            "kind": "individual", "first_name": "Jeanne", "last_name": "Martin", "email": "jeanne@exemple.fr"
        }))
        .unwrap();
        let body = serde_json::to_value(NewRecipient::new(&recipient, "let_1")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"custom_id": "let_1", "legal_status": "INDIVIDUAL", "email": "jeanne@exemple.fr",
                               "first_name": "Jeanne", "last_name": "Martin"})
        );
    }
}
