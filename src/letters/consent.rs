//! Consent of individual recipients (CPCE art. L.100): recording it releases the letters waiting for it.

use serde_json::json;

use super::files;
use super::jobs::PREPARE;
use super::transitions::{TransitionError, transition};
use crate::domain::{ConsentId, EmailAddress, FieldError, FieldErrors, LetterState, SenderId};
use crate::services::Services;
use crate::store::{self, NewConsent, NewJob, StoreError, Tx, now_ms};

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
    /// The console user who recorded it, named in the timeline of each letter it releases.
    pub recorded_by: Option<String>,
}

/// When a consent was given: a date (2026-11-26) or an RFC 3339 time, not in the future; now when not given.
pub fn parse_given_at(text: Option<&str>) -> Result<i64, FieldError> {
    let now = now_ms();
    let Some(text) = text else { return Ok(now) };
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map(|t| t.timestamp_millis()).or_else(|_| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
    });
    match parsed {
        Ok(ms) if ms <= now => Ok(ms),
        Ok(_) => Err(FieldError::new("", "in_the_future", "a consent cannot be given in the future")),
        Err(_) => {
            Err(FieldError::new("", "invalid_time", format!("`{text}` is not a date (2026-11-26) or an RFC 3339 time")))
        }
    }
}

/// A consent as given by a person or a client (API or console), checked: every field at fault is named.
pub fn parse_consent(
    sender: SenderId,
    email: Option<&str>,
    given_at: Option<&str>,
    source: Option<String>,
    proof: Option<Vec<u8>>,
) -> Result<ConsentInput, FieldErrors> {
    let mut errors = FieldErrors::default();
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => errors.take("email", EmailAddress::parse(e)),
        None => {
            errors.push(FieldError::new("email", "required", "give the email address that consented"));
            None
        }
    };
    let given_at = errors.take("given_at", parse_given_at(given_at));
    let source = source.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if source.is_none() {
        errors.push(FieldError::new(
            "source",
            "required",
            "say how the consent was obtained (e.g. \"signed form of 2026-11-02\")",
        ));
    }
    match (email, given_at, source) {
        (Some(email), Some(given_at), Some(source)) if errors.is_empty() => {
            Ok(ConsentInput { sender, email, given_at, source, proof, recorded_by: None })
        }
        _ => Err(errors),
    }
}

/// Withdraws a consent of `sender` (recording who did it): letters to that address wait for consent again
/// from their next check on. False when there is no such live consent.
pub async fn withdraw_consent(
    services: &Services,
    sender: &SenderId,
    id: &ConsentId,
    by: &str,
) -> Result<bool, StoreError> {
    services.store.withdraw_consent(sender, id, by, now_ms()).await
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
    let proof = store_proof(services, &id, input.proof.as_deref()).await?;
    let mut tx = services.store.begin().await?;
    let released = record_consent_in(&mut tx, &id, &input, proof.as_ref()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    services.store.wake_workers();
    Ok((id, released))
}

/// An archived consent proof: its path and SHA-256.
pub struct StoredProof {
    pub path: String,
    pub sha256: String,
}

/// Writes a consent's evidence beside the proofs, before the transaction that records it.
pub async fn store_proof(
    services: &Services,
    id: &ConsentId,
    bytes: Option<&[u8]>,
) -> Result<Option<StoredProof>, std::io::Error> {
    let Some(bytes) = bytes else { return Ok(None) };
    let path = services.files.proofs_dir.join("consents").join(format!("{id}.bin"));
    let sha256 = files::write_durably(&path, bytes).await?;
    Ok(Some(StoredProof { path: path.to_string_lossy().into_owned(), sha256 }))
}

/// Records the consent `id` inside `tx` and sends the letters waiting for it back to be prepared; returns
/// how many it released. The caller commits and wakes the workers.
pub async fn record_consent_in(
    tx: &mut Tx,
    id: &ConsentId,
    input: &ConsentInput,
    proof: Option<&StoredProof>,
) -> Result<usize, ConsentError> {
    let now = now_ms();
    store::consents::insert_consent(
        tx,
        &NewConsent {
            id,
            sender_id: &input.sender,
            email: input.email.as_str(),
            given_at: input.given_at,
            source: &input.source,
            proof_path: proof.map(|p| p.path.as_str()),
            proof_sha256: proof.map(|p| p.sha256.as_str()),
            now,
        },
    )
    .await?;
    let waiting = store::letters::awaiting_consent(tx, &input.sender, input.email.as_str()).await?;
    let mut released = 0;
    for letter in &waiting {
        let detail = match &input.recorded_by {
            Some(by) => format!("consent {id} recorded by {by} for {}", input.email),
            None => format!("consent {id} recorded for {}", input.email),
        };
        if transition(tx, letter, LetterState::AwaitingConsent, LetterState::Ready, Some(&detail), None).await? {
            let job = NewJob { kind: PREPARE, letter_id: Some(letter), payload: json!({}), run_at: now };
            store::jobs::enqueue(tx, job, now).await?;
            released += 1;
        }
    }
    Ok(released)
}
