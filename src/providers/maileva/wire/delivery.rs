//! What a Maileva sending and its recipient mean for our states and proofs: the statuses of the sending and
//! the recipient, La Poste's delivery codes `LP00`…`LP29` (registered_mail v4.9, `delivery_status`) and the
//! reasons of returned mail (`undelivered_mail_reason`). A code this table does not map is never guessed:
//! the letter needs a person, with the code.

use super::{RecipientRecord, Sending, time_ms};
use crate::domain::LetterState;
use crate::providers::{ProofKind, ProofLink};

/// Our reading of a sending and its recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// `None` for a status or code relais does not map (the letter needs attention, with `raw_status`).
    pub state: Option<LetterState>,
    pub raw_status: String,
    pub deposited_at: Option<i64>,
    pub proofs: Vec<ProofLink>,
}

/// What one delivery code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    /// Taken in by Maileva, not yet by La Poste (LP01 taken in, LP02 printed and ready to post).
    Preparing,
    /// On its way or waiting at a post office: nothing decided.
    Moving,
    Outcome(LetterState),
    /// LP17, delivered back to the sender: the reason is in another code or in `undelivered_mail_reason`.
    BackToSender,
    Unmapped,
}

/// The codes of the spec's table (registered_mail v4.9, `delivery_status.code`) with their French labels.
fn classify(code: &str) -> Code {
    use LetterState::*;
    match code {
        "LP01" | "LP02" => Code::Preparing,
        // Sorting, deposit and content proofs available, waiting at the post office, notice left, new
        // appointment, back in delivery, delays, arrived at the delivery site, AR available (LP18), sent
        // back to the recipient (LP23), forwarded (LP26).
        "LP03" | "LP04" | "LP05" | "LP06" | "LP07" | "LP08" | "LP09" | "LP10" | "LP11" | "LP12" | "LP13" | "LP14"
        | "LP18" | "LP23" | "LP26" => Code::Moving,
        // Delivered; delivered with remarks; delivered after an inquiry; delivered in a batch.
        "LP15" | "LP16" | "LP28" | "LP29" => Code::Outcome(Delivered),
        // Returned: waiting period expired (LP19), customer service return after the holding period (LP25).
        "LP19" | "LP25" => Code::Outcome(NotClaimed),
        // Returned: incorrect or incomplete address (LP20), recipient unknown at the address (LP21).
        "LP20" | "LP21" => Code::Outcome(Bounced),
        // Returned: refused by the recipient.
        "LP22" => Code::Outcome(Refused),
        "LP17" => Code::BackToSender,
        // LP00 "unknown code", LP24/LP27 sent back by customer service (after an inquiry / without reason):
        // what happened to the letter is not said.
        _ => Code::Unmapped,
    }
}

/// `undelivered_mail_reason`: N02 unknown at the address, N03 not claimed, N05 refused, N07 no access or
/// bad address.
fn returned_reason(reason: &str) -> Option<LetterState> {
    match reason {
        "N02" | "N07" => Some(LetterState::Bounced),
        "N03" => Some(LetterState::NotClaimed),
        "N05" => Some(LetterState::Refused),
        _ => None,
    }
}

/// Statuses before anything is decided, of the sending and of its recipient.
const IN_PRODUCTION: [&str; 6] = ["DRAFT", "PENDING", "BLOCKED", "ACCEPTED", "PREPARING", "PROCESSED"];
/// Statuses that end a sending or a recipient without a letter posted.
const STOPPED: [&str; 4] = ["REJECTED", "SENDING_REJECTED", "CANCELED", "PROCESSED_WITH_ERRORS"];

/// Reads a sending and its recipient. `with_receipt`: the letter has an acknowledgement of receipt, and is
/// reported delivered only once its scan can be downloaded (the outcome's proof); a returned letter waits
/// for the scan of the returned mail the same way.
pub fn read_delivery(sending: &Sending, recipient: Option<&RecipientRecord>, with_receipt: bool) -> Reading {
    let mut codes: Vec<(Option<i64>, &str)> = recipient
        .map(|r| r.delivery_statuses.iter().map(|d| (d.date.as_deref().and_then(time_ms), d.code.as_str())).collect())
        .unwrap_or_default();
    codes.sort_by_key(|(date, _)| *date);
    if codes.is_empty()
        && let Some(last) = recipient.and_then(|r| r.last_delivery_status.as_deref())
    {
        codes.push((None, last));
    }
    let raw_status = codes
        .last()
        .map(|(_, c)| (*c).to_owned())
        .or_else(|| recipient.map(|r| r.status.clone()).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| sending.status.clone());
    let stopped =
        STOPPED.contains(&sending.status.as_str()) || recipient.is_some_and(|r| STOPPED.contains(&r.status.as_str()));
    let (outcome, unmapped) = decide(&codes, recipient.and_then(|r| r.undelivered_mail_reason.as_deref()));
    let deposit = recipient.and_then(|r| r.deposit_proof_url.clone());
    let posted = codes.iter().any(|(_, c)| !matches!(classify(c), Code::Preparing));
    let deposited_at = recipient
        .and_then(|r| r.deposit_proof_date.as_deref().and_then(time_ms))
        .or_else(|| codes.iter().find(|(_, c)| !matches!(classify(c), Code::Preparing)).and_then(|(d, _)| *d));
    let mut proofs: Vec<ProofLink> =
        deposit.iter().map(|url| ProofLink { kind: ProofKind::Deposit, locator: url.clone() }).collect();
    proofs.extend(recipient.and_then(content_proof));
    let outcome_proof = outcome.and_then(|state| outcome_document(state, recipient?, with_receipt));
    let state = if stopped {
        Some(LetterState::Failed)
    } else if let Some(code) = &unmapped {
        return Reading { state: None, raw_status: code.clone(), deposited_at, proofs };
    } else if let (Some(state), Some(document)) = (outcome, outcome_proof) {
        proofs.extend(document);
        Some(state)
    } else if deposit.is_some() || posted {
        Some(LetterState::Deposited)
    } else if IN_PRODUCTION.contains(&sending.status.as_str())
        && recipient.is_none_or(|r| r.status.is_empty() || IN_PRODUCTION.contains(&r.status.as_str()))
    {
        Some(LetterState::Submitting)
    } else {
        None
    };
    Reading { state, raw_status, deposited_at, proofs }
}

/// The outcome the codes say, last one first, and a code that leaves it unsaid (then nothing is decided).
fn decide(codes: &[(Option<i64>, &str)], reason: Option<&str>) -> (Option<LetterState>, Option<String>) {
    let mut outcome = None;
    let mut unmapped = None;
    for (_, code) in codes {
        match classify(code) {
            Code::Outcome(state) => {
                outcome = Some(state);
                unmapped = None;
            }
            Code::BackToSender => {
                match outcome.filter(|s| *s != LetterState::Delivered).or(reason.and_then(returned_reason)) {
                    Some(state) => outcome = Some(state),
                    None => unmapped = Some((*code).to_owned()),
                }
            }
            Code::Unmapped => unmapped = Some((*code).to_owned()),
            Code::Preparing | Code::Moving => {}
        }
    }
    if outcome.is_none() && unmapped.is_none() {
        outcome = reason.and_then(returned_reason);
    }
    (outcome, unmapped)
}

/// The proof of the letter's content, once its date says it can be downloaded.
fn content_proof(recipient: &RecipientRecord) -> Option<ProofLink> {
    recipient.content_proof_date.as_ref()?;
    let locator = recipient.content_proof_url.clone()?;
    Some(ProofLink { kind: ProofKind::Content, locator })
}

/// The document that proves an outcome, once downloadable: `Some(None)` when the outcome has none to wait
/// for (delivered without acknowledgement of receipt), `None` while it is not there yet.
fn outcome_document(state: LetterState, recipient: &RecipientRecord, with_receipt: bool) -> Option<Option<ProofLink>> {
    let (kind, url) = match state {
        LetterState::Delivered if !with_receipt => return Some(None),
        LetterState::Delivered => (ProofKind::Receipt, &recipient.acknowledgement_of_receipt_url),
        LetterState::Refused => (ProofKind::Refusal, &recipient.undelivered_mail_url),
        LetterState::NotClaimed => (ProofKind::NonClaim, &recipient.undelivered_mail_url),
        _ => (ProofKind::Bounce, &recipient.undelivered_mail_url),
    };
    url.clone().map(|locator| Some(ProofLink { kind, locator }))
}
