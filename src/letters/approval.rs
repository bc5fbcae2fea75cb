//! Approval of qualified letters: the sender gives their one-time code once, which opens a session at the
//! provider and releases every letter of that sender waiting for approval under it.

use serde_json::json;

use super::jobs::SEND;
use super::transitions::{TransitionError, transition};
use crate::domain::{LetterId, LetterState, SenderId};
use crate::providers::ProviderError;
use crate::services::Services;
use crate::store::{self, NewJob, StoreError, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no sender `{0}`")]
    UnknownSender(SenderId),
    #[error("letters of sender `{0}` need no approval: its service is not qualified")]
    NotNeeded(SenderId),
    #[error("the provider refused the code: {0}")]
    InvalidCode(String),
    #[error(transparent)]
    Provider(ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

/// The session opened, and how many letters left with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub released: usize,
    pub expires_at: i64,
}

/// Opens the sender's session with `code` and queues every letter waiting for it, in one transaction; each
/// letter's timeline names `by`, who gave the code (a console user, an API key, the command line).
pub async fn approve(
    services: &Services,
    sender_id: &SenderId,
    code: &str,
    by: &str,
) -> Result<Approved, ApprovalError> {
    approve_waiting(services, sender_id, code, by, None).await
}

/// Opens the sender's session with `code` and queues `letter` only, if it is still waiting (`released` 0
/// when it left meanwhile): a person approving one letter from its page.
pub async fn approve_letter(
    services: &Services,
    sender_id: &SenderId,
    code: &str,
    by: &str,
    letter: &LetterId,
) -> Result<Approved, ApprovalError> {
    approve_waiting(services, sender_id, code, by, Some(letter)).await
}

async fn approve_waiting(
    services: &Services,
    sender_id: &SenderId,
    code: &str,
    by: &str,
    only: Option<&LetterId>,
) -> Result<Approved, ApprovalError> {
    let sender = services.settings.sender(sender_id).ok_or_else(|| ApprovalError::UnknownSender(sender_id.clone()))?;
    let provider =
        services.providers.get(&sender.provider).ok_or_else(|| ApprovalError::UnknownSender(sender_id.clone()))?;
    if !provider.needs_approval(sender) {
        return Err(ApprovalError::NotNeeded(sender_id.clone()));
    }
    let session = provider.open_approval(sender, code).await.map_err(|e| match e {
        ProviderError::Rejected { message, .. } => ApprovalError::InvalidCode(message),
        other => ApprovalError::Provider(other),
    })?;
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    store::approvals::save_session(&mut tx, sender_id, &sender.provider, &session.token, now, session.expires_at)
        .await?;
    let waiting = store::approvals::awaiting_approval(&mut tx, sender_id).await?;
    let mut released = 0;
    let detail = format!("approved by {by} with the sender's one-time code");
    for letter in waiting.iter().filter(|l| only.is_none_or(|o| o == *l)) {
        if transition(&mut tx, letter, LetterState::AwaitingApproval, LetterState::Queued, Some(&detail), None).await? {
            let job = NewJob { kind: SEND, letter_id: Some(letter), payload: json!({}), run_at: now };
            store::jobs::enqueue(&mut tx, job, now).await?;
            released += 1;
        }
    }
    tx.commit().await.map_err(StoreError::from)?;
    services.store.wake_workers();
    tracing::info!(sender = %sender_id, released, "approval session opened");
    Ok(Approved { released, expires_at: session.expires_at })
}
