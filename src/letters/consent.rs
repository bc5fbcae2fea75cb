//! Consent of individual recipients (CPCE art. L.100): recording it releases the letters waiting for it.

use serde_json::json;

use super::files;
use super::jobs::PREPARE;
use super::transitions::{TransitionError, transition};
use crate::domain::{ConsentId, EmailAddress, LetterState, SenderId};
use crate::services::Services;
use crate::store::{self, NewConsent, NewJob, StoreError, now_ms};

/// A consent to record, validated by the intake.
pub struct ConsentInput {
    pub sender: SenderId,
    pub email: EmailAddress,
    /// When the recipient gave it (unix ms).
    pub given_at: i64,
    /// How it was obtained: "signed form", "checkbox on the customer portal", …
    pub source: String,
    /// The evidence (any file: a signed form, a screenshot), kept beside the proofs.
    pub proof: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("the consent proof could not be stored: {0}")]
    Files(#[from] std::io::Error),
}

/// Records the consent and, in the same transaction, sends the waiting letters back to be prepared.
/// Returns the consent id and how many letters it released.
pub async fn record_consent(services: &Services, input: ConsentInput) -> Result<(ConsentId, usize), ConsentError> {
    let id = ConsentId::generate();
    let (proof_path, proof_sha256) = match &input.proof {
        Some(bytes) => {
            let path = services.files.proofs_dir.join("consents").join(format!("{id}.bin"));
            let sha = files::write_durably(&path, bytes).await?;
            (Some(path.to_string_lossy().into_owned()), Some(sha))
        }
        None => (None, None),
    };
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    store::consents::insert_consent(
        &mut tx,
        &NewConsent {
            id: &id,
            sender_id: &input.sender,
            email: input.email.as_str(),
            given_at: input.given_at,
            source: &input.source,
            proof_path: proof_path.as_deref(),
            proof_sha256: proof_sha256.as_deref(),
            now,
        },
    )
    .await?;
    let waiting = store::letters::awaiting_consent(&mut tx, &input.sender, input.email.as_str()).await?;
    let mut released = 0;
    for letter in &waiting {
        let detail = format!("consent {id} recorded for {}", input.email);
        if transition(&mut tx, letter, LetterState::AwaitingConsent, LetterState::Ready, Some(&detail), None).await? {
            let job = NewJob { kind: PREPARE, letter_id: Some(letter), payload: json!({}), run_at: now };
            store::jobs::enqueue(&mut tx, job, now).await?;
            released += 1;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    services.store.wake_workers();
    Ok((id, released))
}
