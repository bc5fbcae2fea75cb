//! Sandbox proof documents: real PDFs stating the letter, parties, dates and content hash, marked as
//! having no legal value.

use chrono::{TimeZone, Utc};

use super::Facts;
use crate::providers::ProofKind;
use crate::render::pdf::{Block, TextDocument, write_pdf};
use crate::store::SandboxLetter;

const WATERMARK: &str = "SANDBOX — no legal value / sans valeur légale";

fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

fn title(kind: ProofKind) -> &'static str {
    match kind {
        ProofKind::Deposit => "Preuve de dépôt — Proof of deposit",
        ProofKind::Receipt => "Preuve de réception — Proof of receipt",
        ProofKind::Refusal => "Preuve de refus — Proof of refusal",
        ProofKind::NonClaim => "Preuve de non-réclamation — Proof of non-claim",
        ProofKind::Bounce => "Preuve de non-distribution — Proof of bounce",
    }
}

fn field(label: &str, value: impl Into<String>) -> Block {
    Block::Field { label: label.to_owned(), value: value.into() }
}

/// The proof of `kind` for a sandbox letter; deterministic, so a re-download gives the same bytes.
pub fn proof_pdf(kind: ProofKind, letter: &SandboxLetter, facts: &Facts) -> Vec<u8> {
    let event_at = if kind == ProofKind::Deposit { letter.deposit_at } else { letter.outcome_at };
    let mut blocks = vec![
        Block::Heading(title(kind).to_owned()),
        Block::Paragraph(format!(
            "This document was produced by the relais sandbox provider. It has no legal value: no letter was \
             sent. It shows the facts a qualified provider's {} would state.",
            kind.as_str().replace('_', "-")
        )),
        Block::Spacer,
        field("Letter id", facts.letter_id.clone()),
        field("Provider reference", letter.provider_ref.clone()),
    ];
    if let Some(reference) = &facts.reference {
        blocks.push(field("Client reference", reference.clone()));
    }
    blocks.extend([
        field("Object", facts.subject.clone()),
        field("Sender", format!("{} <{}>", facts.sender, facts.sender_email)),
        field("Recipient", format!("{} <{}>", facts.recipient, facts.recipient_email)),
        field("Submitted at", when(letter.submitted_at)),
        field("Deposited at", when(letter.deposit_at)),
        field("Event at", when(event_at)),
        field("Content SHA-256", facts.content_sha256.clone()),
    ]);
    let created = Utc.timestamp_millis_opt(event_at).single().unwrap_or_default();
    write_pdf(&TextDocument {
        title: format!("{} — {}", title(kind), facts.letter_id),
        author: "relais sandbox".to_owned(),
        created: created.format("D:%Y%m%d%H%M%SZ").to_string(),
        watermark: Some(WATERMARK.to_owned()),
        blocks,
    })
}
