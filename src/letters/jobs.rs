//! The jobs that carry a letter along, by kind; the dispatcher the worker calls; what happens when a job
//! gives up; and the repairs that give a letter left without a job a new one.

use serde_json::json;

use super::transitions::{TransitionError, record_event, transition_telling};
use super::{JobError, consent_requests, notices, pipeline, sync};
use crate::domain::{LetterId, LetterState};
use crate::services::Services;
use crate::store::{self, ClaimedJob, NewJob, Tx, now_ms};

/// Render the letter and run the checks (consent) that decide whether it may leave.
pub const PREPARE: &str = "prepare";
/// Hand the letter to its provider.
pub const SEND: &str = "send";
/// Find out what happened to a send whose outcome is unknown.
pub const RECONCILE: &str = "reconcile";
/// Fetch the provider's record of the letter and apply it (after a webhook, or periodically).
pub const SYNC: &str = "sync";
/// Email the requester about a state change.
pub const NOTIFY: &str = "notify";
/// Send on paper a letter whose wait for the recipient's consent is over (`fallback_after`).
pub const FALLBACK: &str = "fallback";
/// Answer the email request that made the letter, in its thread, with the letter attached once typeset.
pub const ANSWER: &str = "answer";

/// Runs one claimed job. Every handler is idempotent: it re-reads the letter and does nothing when the
/// letter has already moved on, so a job run twice (after a lost lease) changes nothing twice.
pub async fn run_job(services: &Services, job: &ClaimedJob) -> Result<(), JobError> {
    // The one job about no letter: a consent request, which may concern letters not written yet.
    if job.kind == consent_requests::FOLLOW {
        return consent_requests::follow_request(services, &job.payload).await;
    }
    let letter = letter_of(job)?;
    match job.kind.as_str() {
        PREPARE => pipeline::prepare(services, &letter).await,
        SEND => pipeline::send(services, &letter).await,
        RECONCILE => pipeline::reconcile(services, &letter).await,
        SYNC => sync::sync_letter(services, &letter).await,
        NOTIFY => notices::notify(services, &letter, &job.payload).await,
        FALLBACK => super::fallback::wait_over(services, &letter).await,
        crate::notify::callbacks::DELIVER => crate::notify::callbacks::deliver(services, &letter, &job.payload).await,
        ANSWER => crate::intake::email::accepted::answer(services, &letter, &job.payload).await,
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    }
}

fn letter_of(job: &ClaimedJob) -> Result<LetterId, JobError> {
    job.letter_id
        .as_deref()
        .ok_or_else(|| JobError::Permanent(format!("job {} has no letter", job.id)))?
        .parse()
        .map_err(JobError::Permanent)
}

async fn enqueue(tx: &mut Tx, kind: &'static str, letter: &LetterId, run_at: i64) -> Result<(), JobError> {
    let job = NewJob { kind, letter_id: Some(letter), payload: json!({}), run_at };
    store::jobs::enqueue(tx, job, now_ms()).await?;
    Ok(())
}

/// A job used all its attempts. No letter may be left without either a live job or a reason, recorded in
/// words, to wait for a person:
///
/// - a send whose provider stayed unreachable moves the letter to `needs_attention` and its requester is
///   told (a legal deadline may be running: they must know, and may choose another way to send). Nothing
///   left relais, so the letter is not stuck there: relais keeps asking the provider every
///   `worker.resume_every` and the letter leaves as soon as the provider answers. Retrying in `queued`
///   for ever was the other choice; it keeps the requester in the dark while the deadline runs out.
/// - a reconciliation, a preparation or the end of a wait for consent is tried again every
///   `worker.resume_every`;
/// - a provider sync is queued again by the periodic sweep;
/// - following a consent request is tried again every `worker.resume_every`;
/// - a notice is marked failed, told on the letter's timeline, listed, and can be sent again;
/// - an email request's answer that could not leave is told on the letter's timeline.
pub async fn gave_up(services: &Services, job: &ClaimedJob, reason: &str) -> Result<(), JobError> {
    let resume_at = now_ms() + services.settings.worker.resume_every.as_millis() as i64;
    if job.kind == consent_requests::FOLLOW {
        // The answer is still to be read: asked again every `worker.resume_every`.
        let mut tx = services.store.begin().await?;
        let again =
            NewJob { kind: consent_requests::FOLLOW, letter_id: None, payload: job.payload.clone(), run_at: resume_at };
        store::jobs::enqueue(&mut tx, again, now_ms()).await?;
        tx.commit().await?;
        return Ok(());
    }
    let letter = letter_of(job)?;
    match job.kind.as_str() {
        NOTIFY => notices::notice_gave_up(services, &letter, &job.payload, reason).await,
        ANSWER => {
            // The requester still gets the letter's notices; the timeline says the answer did not leave.
            let detail = format!("the answer to the email request could not be sent: {reason}");
            let mut tx = services.store.begin().await?;
            record_event(&mut tx, &letter, &detail).await?;
            tx.commit().await?;
            Ok(())
        }
        SEND => provider_unreachable(services, &letter, reason, resume_at).await,
        kind @ (RECONCILE | PREPARE | FALLBACK) => {
            let kind = [RECONCILE, PREPARE, FALLBACK].into_iter().find(|k| *k == kind).unwrap_or(PREPARE);
            let mut tx = services.store.begin().await?;
            enqueue(&mut tx, kind, &letter, resume_at).await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The send gave up while the letter was back in `queued` (each attempt found the provider unavailable, so
/// nothing was sent): `needs_attention` with the reason in plain French, then a reconciliation — which
/// sends again only once the provider answers and shows no such letter.
async fn provider_unreachable(
    services: &Services,
    letter: &LetterId,
    reason: &str,
    resume_at: i64,
) -> Result<(), JobError> {
    let Some(record) = services.store.letter(letter).await? else { return Ok(()) };
    if record.state != LetterState::Queued {
        // Anything else is judged by the sweep, which gives a letter without a job the one its state needs.
        return Ok(());
    }
    let attempts = services.settings.worker.max_attempts;
    let every = humantime::format_duration(services.settings.worker.resume_every);
    let detail = format!(
        "lettre non envoyée : le prestataire {} n'a pas pu être joint après {attempts} tentatives (dernière \
         erreur : {reason}). relais l'interroge de nouveau toutes les {every} et enverra la lettre dès qu'il \
         répondra ; pour réessayer tout de suite : relais letter retry {letter}",
        record.provider
    );
    let mut tx = services.store.begin().await?;
    let moved = transition_telling(
        &mut tx,
        letter,
        LetterState::Queued,
        LetterState::NeedsAttention,
        Some(&detail),
        None,
        Some("provider_unreachable"),
    )
    .await?;
    if moved {
        enqueue(&mut tx, RECONCILE, letter, resume_at).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The job that moves a letter in `state` onward, when a job does (see `store::repairs`).
fn job_for(state: LetterState, has_provider_ref: bool) -> Option<&'static str> {
    use LetterState::*;
    match (state, has_provider_ref) {
        (Received | Ready, _) => Some(PREPARE),
        // A send found in `submitting` is reconciled by the send job itself, never repeated blindly.
        (Queued, _) | (Submitting, false) => Some(SEND),
        (NeedsAttention, false) => Some(RECONCILE),
        (Submitting | NeedsAttention | Deposited, true) => Some(SYNC),
        _ => None,
    }
}

/// Gives every letter that no live job moves (its job gave up, or was lost) the job its state needs, with
/// an event saying so. Returns how many were repaired.
pub async fn repair_stranded(services: &Services) -> Result<usize, TransitionError> {
    // A letter changed less than a lease ago may be in the middle of a step: judged at the next sweep.
    let before = now_ms() - services.settings.worker.lease.as_millis() as i64;
    let stranded = services.store.stranded_letters(before, 500).await?;
    let mut repaired = 0;
    for (letter, state) in stranded {
        let mut tx = services.store.begin().await?;
        let Some(record) = store::letters::letter_in(&mut tx, &letter).await? else { continue };
        let Some(kind) = job_for(record.state, record.provider_ref.is_some()) else { continue };
        if record.state != state || store::repairs::has_live_job(&mut tx, &letter).await? {
            continue;
        }
        let detail = format!(
            "relais a trouvé cette lettre ({state}) sans tâche en cours pour la faire avancer et lui en a donné \
             une ({kind})"
        );
        record_event(&mut tx, &letter, &detail).await?;
        let job = NewJob { kind, letter_id: Some(&letter), payload: json!({}), run_at: now_ms() };
        store::jobs::enqueue(&mut tx, job, now_ms()).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        tracing::warn!(%letter, %state, kind, "a letter without a job was given one");
        repaired += 1;
    }
    if repaired > 0 {
        services.store.wake_workers();
    }
    Ok(repaired)
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no letter {0}")]
    NotFound(LetterId),
    #[error("the letter is {0}: there is nothing to try again")]
    NothingToRetry(LetterState),
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl From<store::StoreError> for RetryError {
    fn from(e: store::StoreError) -> Self {
        Self::Transition(e.into())
    }
}

/// `relais letter retry ID`: runs now the job that moves the letter onward (a waiting one is brought
/// forward, or one is queued). A letter whose send is in doubt is reconciled, never sent blindly.
pub async fn retry_letter(services: &Services, id: &LetterId) -> Result<&'static str, RetryError> {
    let mut tx = services.store.begin().await?;
    let letter = store::letters::letter_in(&mut tx, id).await?.ok_or_else(|| RetryError::NotFound(id.clone()))?;
    let kind = job_for(letter.state, letter.provider_ref.is_some()).ok_or(RetryError::NothingToRetry(letter.state))?;
    let now = now_ms();
    if store::repairs::hurry_jobs(&mut tx, id, kind, now).await? == 0 {
        let job = NewJob { kind, letter_id: Some(id), payload: json!({}), run_at: now };
        store::jobs::enqueue(&mut tx, job, now).await?;
    }
    record_event(&mut tx, id, &format!("nouvel essai demandé par un opérateur ({kind})")).await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    services.store.wake_workers();
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use LetterState::*;

    #[test]
    fn a_letter_in_doubt_is_reconciled_never_sent_blindly() {
        assert_eq!(job_for(Submitting, false), Some(SEND), "the send job reconciles a send found in flight");
        assert_eq!(job_for(NeedsAttention, false), Some(RECONCILE));
        assert_eq!(job_for(NeedsAttention, true), Some(SYNC));
    }

    #[test]
    fn letters_waiting_for_a_person_or_final_get_no_job() {
        for state in [AwaitingConsent, AwaitingApproval, Delivered, Failed, Cancelled] {
            assert_eq!(job_for(state, false), None, "{state}");
        }
    }
}
