//! Maileva's qualified electronic registered letters (LRE qualifiée, `electronic_qualified_registered_mail/v1`,
//! v1.3, providers.md §2.2): what a recipient's status means for our states and proofs. The bodies are the
//! simple API's (`ere`) but for `notification_language`, which this API does not have; the records read the
//! same (`ere::RecipientRecord`), with one `status` instead of a deposit and a delivery status.
//!
//! The spec lists the statuses without saying what each means (`DRAFT`, `PENDING`, `PROCESSED`, `CANCELED`,
//! `REJECTED`, `ACCEPTED`, `REFUSED`, `NOT_CLAIMED`, `ERROR`, `TO_UPDATE`), and the proof types
//! (`DEPOSIT_PROOF`, `ACKNOWLEDGMENT_OF_RECEIPT`, `REFUSAL_PROOF`, `NOT_CLAIMED_PROOF`). Inferred from the two
//! lists side by side and from the simple API: `PROCESSED` is the deposit done (the recipient is notified),
//! `ACCEPTED` / `REFUSED` / `NOT_CLAIMED` are the recipient's answer, each with its proof as
//! `delivery_proof`. An outcome is taken only with its proof, of the matching type when a type is given;
//! anything else is never guessed: the letter needs a person, with the status in its detail.

use super::delivery::Reading;
use super::ere::{FIXABLE, RecipientRecord, deposit, download};
use crate::domain::LetterState;
use crate::providers::{ProofKind, ProofLink};

/// Statuses before the deposit: the draft, and the sending on its way.
const WAITING: [&str; 2] = ["DRAFT", "PENDING"];

/// The recipient's answers: the status, our state, our proof kind, and the proof type the spec gives for it.
const OUTCOMES: [(&str, LetterState, ProofKind, &str); 3] = [
    ("ACCEPTED", LetterState::Delivered, ProofKind::Receipt, "ACKNOWLEDGMENT_OF_RECEIPT"),
    ("REFUSED", LetterState::Refused, ProofKind::Refusal, "REFUSAL_PROOF"),
    ("NOT_CLAIMED", LetterState::NotClaimed, ProofKind::NonClaim, "NOT_CLAIMED_PROOF"),
];

/// Reads a qualified sending's recipient. `root` is the API's path (`electronic_qualified_registered_mail/v1`).
pub fn read_qualified(root: &str, sending: &super::Sending, recipient: Option<&RecipientRecord>) -> Reading {
    let Some(r) = recipient else {
        let state = match sending.status.as_str() {
            "DRAFT" | "PENDING" | "ACCEPTED" => Some(LetterState::Submitting),
            "REJECTED" => Some(LetterState::Failed),
            _ => None,
        };
        return Reading { state, raw_status: sending.status.clone(), deposited_at: None, proofs: vec![] };
    };
    let (deposited_at, mut proofs) = deposit(root, sending, r);
    let deposited = r.deposit_proof.is_some();
    let raw_status = match r.status_detail.as_deref() {
        Some(d) if !d.is_empty() => format!("{}/{d}", r.status),
        _ => r.status.clone(),
    };
    let reading = |state, proofs| Reading { state, raw_status: raw_status.clone(), deposited_at, proofs };
    let status = r.status.as_str();
    if WAITING.contains(&status) {
        return reading(Some(LetterState::Submitting), proofs);
    }
    if status == "REJECTED" {
        let fixable = r.status_detail.as_deref().is_some_and(|d| FIXABLE.contains(&d));
        return reading(Some(if fixable { LetterState::NeedsAttention } else { LetterState::Failed }), proofs);
    }
    // Maileva's own trouble, data to correct, or a letter cancelled on its side: a person decides.
    if ["ERROR", "TO_UPDATE", "CANCELED"].contains(&status) {
        return reading(Some(LetterState::NeedsAttention), proofs);
    }
    let on_its_way = if deposited { LetterState::Deposited } else { LetterState::Submitting };
    if status == "PROCESSED" {
        return reading(Some(on_its_way), proofs);
    }
    let Some(&(_, state, kind, proof_type)) = OUTCOMES.iter().find(|(s, ..)| *s == status) else {
        return reading(None, proofs);
    };
    let Some(proof) = r.delivery_proof.as_ref() else {
        // The outcome is reported with its proof: until the proof is there, the letter stays where it was.
        return reading(Some(on_its_way), proofs);
    };
    if proof.kind.as_deref().is_some_and(|k| k != proof_type) {
        return reading(None, proofs);
    }
    proofs.push(ProofLink { kind, locator: download(root, &sending.id, &r.id, "download_delivery_proof") });
    reading(Some(state), proofs)
}

#[cfg(test)]
mod tests {
    use super::super::ere::Proof;
    use super::*;

    const ROOT: &str = "electronic_qualified_registered_mail/v1";

    fn sending(status: &str) -> super::super::Sending {
        super::super::Sending { id: "s1".into(), status: status.into(), ..Default::default() }
    }

    fn recipient(status: &str, deposited: bool, proof: Option<&str>) -> RecipientRecord {
        let date = Some("2026-12-01T10:00:00.000Z".to_owned());
        RecipientRecord {
            id: "r1".into(),
            status: status.into(),
            deposit_proof: deposited.then(|| Proof {
                date: date.clone(),
                kind: Some("DEPOSIT_PROOF".into()),
                href: None,
            }),
            delivery_proof: proof.map(|kind| Proof { date, kind: Some(kind.into()), href: None }),
            ..Default::default()
        }
    }

    fn read(r: &RecipientRecord) -> Reading {
        read_qualified(ROOT, &sending("PROCESSED"), Some(r))
    }

    #[test]
    fn each_answer_of_the_recipient_maps_with_its_proof() {
        for (status, state, kind, proof_type) in OUTCOMES {
            let reading = read(&recipient(status, true, Some(proof_type)));
            assert_eq!(reading.state, Some(state), "{status}");
            let kinds: Vec<ProofKind> = reading.proofs.iter().map(|p| p.kind).collect();
            assert_eq!(kinds, [ProofKind::Deposit, kind]);
            assert_eq!(
                reading.proofs[1].locator,
                "electronic_qualified_registered_mail/v1/sendings/s1/recipients/r1/download_delivery_proof"
            );
            assert!(reading.deposited_at.is_some());
            // Without its proof yet, the answer waits: the letter stays deposited.
            assert_eq!(read(&recipient(status, true, None)).state, Some(LetterState::Deposited));
            // A proof of another type than the answer's is never taken for it.
            let odd = if proof_type == "REFUSAL_PROOF" { "NOT_CLAIMED_PROOF" } else { "REFUSAL_PROOF" };
            assert_eq!(read(&recipient(status, true, Some(odd))).state, None, "{status} with {odd}");
        }
    }

    #[test]
    fn the_way_to_the_deposit_and_its_failures() {
        use LetterState::*;
        for waiting in ["DRAFT", "PENDING"] {
            assert_eq!(read(&recipient(waiting, false, None)).state, Some(Submitting), "{waiting}");
        }
        let deposited = read(&recipient("PROCESSED", true, None));
        assert_eq!((deposited.state, deposited.proofs.len()), (Some(Deposited), 1));
        assert_eq!(read(&recipient("PROCESSED", false, None)).state, Some(Submitting));
        let mut rejected = recipient("REJECTED", false, None);
        assert_eq!(read(&rejected).state, Some(Failed));
        rejected.status_detail = Some("INVALID_EMAIL".into());
        let reading = read(&rejected);
        assert_eq!((reading.state, reading.raw_status.as_str()), (Some(NeedsAttention), "REJECTED/INVALID_EMAIL"));
        for trouble in ["ERROR", "TO_UPDATE", "CANCELED"] {
            assert_eq!(read(&recipient(trouble, true, None)).state, Some(NeedsAttention), "{trouble}");
        }
    }

    #[test]
    fn an_unknown_status_is_never_guessed() {
        let reading = read(&recipient("LOST_IN_SPACE", true, Some("ACKNOWLEDGMENT_OF_RECEIPT")));
        assert_eq!((reading.state, reading.raw_status.as_str()), (None, "LOST_IN_SPACE"));
        let without_recipient = read_qualified(ROOT, &sending("PROCESSED_WITH_ERRORS"), None);
        assert_eq!(without_recipient.state, None);
    }

    #[test]
    fn a_proof_record_reads_with_its_creation_date() {
        let record: RecipientRecord = serde_json::from_value(serde_json::json!({
            "id": "r1", "status": "ACCEPTED",
            "deposit_proof": {"id": "p1", "type": "DEPOSIT_PROOF", "creation_date": "2026-12-01T10:00:00.000Z"},
            "delivery_proof": {"id": "p2", "type": "ACKNOWLEDGMENT_OF_RECEIPT", "creation_date": "2026-12-02T09:00:00.000Z"}
        }))
        .unwrap();
        let reading = read(&record);
        assert_eq!(reading.state, Some(LetterState::Delivered));
        assert!(reading.deposited_at.is_some(), "the deposit date is the proof's creation date");
    }
}
