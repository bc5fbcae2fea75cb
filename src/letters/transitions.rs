//! The one way a letter changes state: allowed by the table in `LetterState::can_move_to`, compare-and-set
//! on the current state, recorded as a hash-chained event, with its notice queued in the same transaction.

use serde_json::json;

use crate::domain::{LetterId, LetterState, NoticeId, SenderId};
use crate::notify::notices::notice_kind;
use crate::providers::ProofKind;
use crate::services::Services;
use crate::store::{self, LetterRecord, NewJob, StoreError, Tx, now_ms};

use super::jobs::NOTIFY;

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("a letter cannot go from {from} to {to}")]
    NotAllowed { from: LetterState, to: LetterState },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Moves `letter` from `from` to `to` inside `tx`. Returns false, changing nothing, when the letter is no
/// longer in `from` (another worker or request moved it first).
pub async fn transition(
    tx: &mut Tx,
    letter: &LetterId,
    from: LetterState,
    to: LetterState,
    detail: Option<&str>,
    proof: Option<ProofKind>,
) -> Result<bool, TransitionError> {
    transition_telling(tx, letter, from, to, detail, proof, notice_kind(to)).await
}

/// `transition`, with the requester told by the email `notice` (a template of `templates/emails/`) instead
/// of the state's usual one.
pub async fn transition_telling(
    tx: &mut Tx,
    letter: &LetterId,
    from: LetterState,
    to: LetterState,
    detail: Option<&str>,
    proof: Option<ProofKind>,
    notice: Option<&'static str>,
) -> Result<bool, TransitionError> {
    if !from.can_move_to(to) {
        return Err(TransitionError::NotAllowed { from, to });
    }
    let now = now_ms();
    let head = store::letters::update_state(tx, letter, from, to, detail, now).await?;
    let Some(head) = head else { return Ok(false) };
    let seq = store::events::append_after(tx, letter, head, to, detail, now).await?;
    if let Some(kind) = notice {
        let payload = json!({ "state": to.as_str(), "seq": seq, "at": now, "detail": detail,
                              "proof": proof.map(ProofKind::as_str) });
        queue_notice(tx, letter, kind, &payload, now).await?;
    }
    tracing::info!(letter = %letter, from = %from, to = %to, detail = detail.unwrap_or(""), "letter moved");
    Ok(true)
}

/// Records a notice and the job that sends it, in the caller's transaction.
pub async fn queue_notice(
    tx: &mut sqlx::AnyConnection,
    letter: &LetterId,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
) -> Result<NoticeId, StoreError> {
    let notice = store::notices::insert_notice(tx, letter, kind, payload, now).await?;
    let job =
        NewJob { kind: NOTIFY, letter_id: Some(letter), payload: json!({ "notice": notice.as_str() }), run_at: now };
    store::jobs::enqueue(tx, job, now).await?;
    Ok(notice)
}

/// Adds an event that changes no state (a notice that gave up, a letter restarted by the sweep or by an
/// operator) to the letter's timeline, at its current state.
pub async fn record_event(tx: &mut Tx, letter: &LetterId, detail: &str) -> Result<bool, TransitionError> {
    if !store::repairs::lock_letter(tx, letter).await? {
        return Ok(false);
    }
    let Some(current) = store::letters::letter_in(tx, letter).await? else { return Ok(false) };
    store::events::append_event(tx, letter, current.state, Some(detail), now_ms()).await?;
    tracing::info!(letter = %letter, state = %current.state, detail, "letter event");
    Ok(true)
}

#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no letter {0}")]
    NotFound(LetterId),
    #[error("{}", too_late(*.0))]
    TooLate(LetterState),
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

/// Why a letter in `state` cannot be cancelled, true to that state.
fn too_late(state: LetterState) -> String {
    match state {
        LetterState::Cancelled => "the letter is already cancelled".to_owned(),
        LetterState::Failed => "the letter failed and was never sent: there is nothing to cancel".to_owned(),
        s if s.is_outcome() => format!("the letter is {s}: it reached its outcome and can no longer be cancelled"),
        s => format!("the letter is {s}: it was handed to the provider and can no longer be cancelled"),
    }
}

impl From<StoreError> for CancelError {
    fn from(e: StoreError) -> Self {
        Self::Transition(e.into())
    }
}

/// Cancels a letter of `sender` that has not been handed to its provider.
pub async fn cancel_letter(
    services: &Services,
    sender: &SenderId,
    id: &LetterId,
    by: &str,
) -> Result<LetterRecord, CancelError> {
    let mut tx = services.store.begin().await?;
    let letter = store::letters::letter_in(&mut tx, id)
        .await?
        .filter(|l| &l.sender_id == sender)
        .ok_or_else(|| CancelError::NotFound(id.clone()))?;
    if !letter.state.is_cancellable() {
        return Err(CancelError::TooLate(letter.state));
    }
    let detail = format!("cancelled by {by}");
    if !transition(&mut tx, id, letter.state, LetterState::Cancelled, Some(&detail), None).await? {
        return Err(CancelError::TooLate(letter.state));
    }
    tx.commit().await.map_err(StoreError::from)?;
    services.store.wake_workers();
    services.store.letter(id).await?.ok_or_else(|| CancelError::NotFound(id.clone()))
}
