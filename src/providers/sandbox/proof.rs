//! Sandbox proof documents: real PDFs stating the letter, parties, dates and content hash, marked as
//! having no legal value.

use chrono::{TimeZone, Utc};

use super::Facts;
use crate::providers::ProofKind;
use crate::render::pdf::{Block, PdfError, TextDocument, write_pdf};
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
        ProofKind::Content => "Preuve de contenu — Proof of content",
    }
}

/// The proof of `kind` for a sandbox letter, a PDF/A typeset like the letters; deterministic, so a
/// re-download gives the same bytes.
pub fn proof_pdf(kind: ProofKind, letter: &SandboxLetter, facts: &Facts) -> Result<Vec<u8>, PdfError> {
    let event_at = if kind == ProofKind::Deposit { letter.deposit_at } else { letter.outcome_at };
    let mut blocks = vec![
        Block::heading(title(kind)),
        Block::paragraph(format!(
            "This document was produced by the relais sandbox provider. It has no legal value: no letter was \
             sent. It shows the facts a qualified provider's {} would state.",
            kind.as_str().replace('_', "-")
        )),
        Block::Spacer,
        Block::field("Letter id", facts.letter_id.clone()),
        Block::field("Provider reference", letter.provider_ref.clone()),
    ];
    if let Some(reference) = &facts.reference {
        blocks.push(Block::field("Client reference", reference.clone()));
    }
    blocks.extend([
        Block::field("Object", facts.subject.clone()),
        Block::field("Sender", format!("{} <{}>", facts.sender, facts.sender_email)),
        Block::field("Recipient", format!("{} <{}>", facts.recipient, facts.recipient_email)),
        Block::field("Submitted at", when(letter.submitted_at)),
        Block::field("Deposited at", when(letter.deposit_at)),
        Block::field("Event at", when(event_at)),
        Block::field("Content SHA-256", facts.content_sha256.clone()),
    ]);
    write_pdf(&TextDocument {
        title: format!("{} — {}", title(kind), facts.letter_id),
        author: "relais sandbox".to_owned(),
        created: Utc.timestamp_millis_opt(event_at).single().unwrap_or_default(),
        watermark: Some(WATERMARK.to_owned()),
        blocks,
    })
}
