//! Applying the provider's word: archive the proofs it offers, then walk the letter through each state
//! between where it is and where the provider says it is, one event (and one notice) per step.

use serde_json::json;

use super::transitions::{queue_notice, transition};
use super::{JobError, files};
use crate::domain::{LetterId, LetterState};
use crate::providers::{ProofKind, ProofLink, Provider, ProviderLetter};
use crate::services::Services;
use crate::store::{self, LetterRecord, ProofRecord, now_ms};

/// The email carrying a proof that proves no state (the content proof of a paper letter).
pub const PROOF_NOTICE: &str = "content_proof";

/// Fetches the provider's record of a letter and applies it (after a webhook, or periodically).
pub async fn sync_letter(services: &Services, id: &LetterId) -> Result<(), JobError> {
    let Some(letter) = services.store.letter(id).await? else {
        return Err(JobError::Permanent(format!("letter {id} does not exist")));
    };
    if letter.state.is_final() {
        return Ok(());
    }
    let Some(provider_ref) = letter.provider_ref.clone() else {
        // A provider may call back before the answer to the send is recorded: look again shortly.
        if letter.state == LetterState::Submitting {
            return Err(JobError::Transient("the provider's reference is not recorded yet".into()));
        }
        return Ok(());
    };
    let provider = services
        .providers
        .get(&letter.provider)
        .ok_or_else(|| JobError::Permanent(format!("provider `{}` is not configured", letter.provider)))?;
    let found = provider.fetch(&provider_ref).await.map_err(|e| {
        if e.is_transient() { JobError::Transient(e.to_string()) } else { JobError::Permanent(e.to_string()) }
    })?;
    apply(services, &letter, found).await
}

/// The states to pass through from `from` to reach the provider's `to`, in order; `deposited` tells whether
/// the deposit was already recorded (a letter flagged after its deposit is not deposited twice).
fn steps(from: LetterState, to: LetterState, deposited: bool) -> Vec<LetterState> {
    use LetterState::*;
    if from == to {
        return vec![];
    }
    match (from, to) {
        (Submitting | NeedsAttention, outcome) if outcome.is_outcome() && outcome != Deposited && !deposited => {
            vec![Deposited, outcome]
        }
        (NeedsAttention, Deposited) if deposited => vec![],
        (NeedsAttention, Submitting) => vec![Submitting],
        (_, Submitting) => vec![],
        _ => vec![to],
    }
}

/// Records the provider's facts and moves the letter accordingly, in one transaction.
pub async fn apply(services: &Services, letter: &LetterRecord, found: ProviderLetter) -> Result<(), JobError> {
    let provider = services
        .providers
        .get(&letter.provider)
        .ok_or_else(|| JobError::Permanent(format!("provider `{}` is not configured", letter.provider)))?;
    // Read before the transaction: a sync holding its connection while waiting for another could starve the
    // pool when several syncs run at once.
    let existing = services.store.proofs(&letter.id).await?;
    let archived = archive_proofs(services, provider.as_ref(), &letter.id, &existing, &found.proofs).await?;
    let mut have: Vec<String> = existing.into_iter().map(|p| p.kind).collect();
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    store::letters::record_provider_facts(
        &mut tx,
        &letter.id,
        &found.provider_ref,
        &found.raw_status,
        found.cost_cents,
        found.deposited_at,
        now,
    )
    .await?;
    let mut alone = Vec::new();
    for (kind, proof) in &archived {
        // Two syncs of one letter (a callback and the periodic one) may both archive a proof: only the one
        // whose row is new tells the requester, so the proof is emailed once.
        if !store::proofs::insert_proof(&mut tx, &letter.id, proof).await? {
            // Archived by the other sync first: its row and file are kept, this download is dropped.
            let _ = tokio::fs::remove_file(&proof.path).await;
        } else if kind.stands_alone() {
            alone.push(*kind);
        }
        have.push(proof.kind.clone());
    }
    let mut current = letter.state;
    match found.state {
        None => {
            if current != LetterState::NeedsAttention {
                let detail = format!("the provider reports a status this relais does not know: `{}`", found.raw_status);
                transition(&mut tx, &letter.id, current, LetterState::NeedsAttention, Some(&detail), None).await?;
            }
        }
        Some(target) => {
            for step in steps(current, target, letter.deposited_at.is_some()) {
                let proof = ProofKind::for_state(step).filter(|k| have.iter().any(|h| h == k.as_str()));
                let detail = format!("{} status: {}", letter.provider, found.raw_status);
                if !transition(&mut tx, &letter.id, current, step, Some(&detail), proof).await? {
                    break;
                }
                current = step;
            }
        }
    }
    for kind in alone {
        let payload = json!({ "state": current.as_str(), "at": now, "proof": kind.as_str() });
        queue_notice(&mut tx, &letter.id, PROOF_NOTICE, &payload, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Downloads the proofs not archived yet (not in `existing`); each must be a PDF. Stored before the transaction that records them.
async fn archive_proofs(
    services: &Services,
    provider: &dyn Provider,
    letter: &LetterId,
    existing: &[ProofRecord],
    links: &[ProofLink],
) -> Result<Vec<(ProofKind, ProofRecord)>, JobError> {
    let mut archived = Vec::new();
    for link in links.iter().filter(|l| !existing.iter().any(|p| p.kind == l.kind.as_str())) {
        let bytes = provider.download_proof(link).await.map_err(|e| JobError::Transient(e.to_string()))?;
        if !files::looks_like_pdf(&bytes) {
            return Err(JobError::Transient(format!(
                "the {} proof from the provider is not a PDF",
                link.kind.as_str()
            )));
        }
        let path = services.files.proof_path(letter, link.kind.as_str());
        let sha256 = files::write_durably(&path, &bytes).await?;
        let record = ProofRecord {
            kind: link.kind.as_str().to_owned(),
            sha256,
            size: bytes.len() as i64,
            path: path.to_string_lossy().into_owned(),
            archived_at: now_ms(),
        };
        archived.push((link.kind, record));
    }
    Ok(archived)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LetterState::*;

    #[test]
    fn an_outcome_seen_before_the_deposit_still_records_the_deposit() {
        assert_eq!(steps(Submitting, Delivered, false), [Deposited, Delivered]);
        assert_eq!(steps(Deposited, Refused, true), [Refused]);
        assert_eq!(steps(NeedsAttention, NotClaimed, false), [Deposited, NotClaimed]);
    }

    #[test]
    fn a_letter_flagged_after_its_deposit_is_not_deposited_twice() {
        assert_eq!(steps(NeedsAttention, Delivered, true), [Delivered]);
        assert!(steps(NeedsAttention, Deposited, true).is_empty());
    }

    #[test]
    fn a_provider_still_holding_the_letter_moves_nothing() {
        assert!(steps(Submitting, Submitting, false).is_empty());
        assert_eq!(steps(NeedsAttention, Submitting, false), [Submitting]);
    }
}
