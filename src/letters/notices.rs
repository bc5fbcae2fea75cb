//! Notices to the requester as jobs: each email is a recorded notice whose Message-ID is stored before the
//! first attempt; one that gives up is told on the letter's timeline, listed, and can be sent again.

use serde_json::json;

use super::transitions::{TransitionError, record_event};
use super::{JobError, jobs};
use crate::domain::{LetterId, LetterState, NoticeId};
use crate::notify::notices::{self, AttachedProof, Notice, notice_kind};
use crate::providers::redact;
use crate::services::Services;
use crate::store::{self, NewJob, NoticeRecord, NoticeState, now_ms};

/// Emails the requester about one state change, with its proof attached when it is archived.
pub async fn notify(services: &Services, id: &LetterId, job_payload: &serde_json::Value) -> Result<(), JobError> {
    let notice = notice_of_job(services, id, job_payload).await?;
    let letter =
        services.store.letter(id).await?.ok_or_else(|| JobError::Permanent(format!("letter {id} does not exist")))?;
    let payload = &notice.payload;
    let state: LetterState = payload["state"].as_str().unwrap_or_default().parse().map_err(JobError::Permanent)?;
    // The requester's endpoints hear of the change too (idempotent: a retried or re-sent notice adds no
    // delivery for the same event).
    if let Some(seq) = payload["seq"].as_i64() {
        let at = payload["at"].as_i64().unwrap_or_else(now_ms);
        crate::notify::callbacks::fan_out(services, &letter, state, seq, at).await?;
    }
    if notice.state == NoticeState::Sent {
        return Ok(());
    }
    let proof = match payload["proof"].as_str() {
        Some(kind) => attached_proof(services, id, kind).await?,
        None => None,
    };
    let sender = services.settings.sender(&letter.sender_id);
    let to = match (&letter.notify_email, sender) {
        (Some(email), _) => email.to_string(),
        (None, Some(sender)) => sender.email.to_string(),
        (None, None) => return Err(JobError::Permanent("no one to notify: the sender no longer exists".into())),
    };
    let title = services.templates.title(&letter.template);
    let message_id =
        services.store.choose_message_id(&notice.id, &services.mailer.message_id(notice.id.as_str())).await?;
    let content = Notice {
        kind: &notice.kind,
        letter: &letter,
        template_title: &title,
        state,
        paper: sender.is_some_and(|s| s.sends_on_paper_through(&letter.provider)),
        at: payload["at"].as_i64().unwrap_or_else(now_ms),
        detail: payload["detail"].as_str(),
        proof,
        public_url: &services.public_url,
        to: &to,
    };
    let email = notices::compose(&services.emails, content, &message_id)
        .map_err(|e| JobError::Permanent(format!("notice could not be rendered: {e}")))?;
    services.mailer.send(&email).await.map_err(|e| {
        let reason = redact::strip_urls(&e.to_string());
        if e.is_transient() { JobError::Transient(reason) } else { JobError::Permanent(reason) }
    })?;
    services.store.mark_notice_sent(&notice.id, now_ms()).await?;
    Ok(())
}

/// The notice a job sends. A job queued before notices were recorded carries the notice itself: it is
/// recorded now.
async fn notice_of_job(
    services: &Services,
    letter: &LetterId,
    job_payload: &serde_json::Value,
) -> Result<NoticeRecord, JobError> {
    let id: NoticeId = match job_payload["notice"].as_str() {
        Some(id) => id.parse().map_err(JobError::Permanent)?,
        None => {
            let state: LetterState =
                job_payload["state"].as_str().unwrap_or_default().parse().map_err(JobError::Permanent)?;
            let kind = notice_kind(state).ok_or_else(|| JobError::Permanent(format!("no notice for {state}")))?;
            let mut tx = services.store.begin().await?;
            let id = match store::notices::notice_with_payload(&mut tx, letter, kind, job_payload).await? {
                Some(id) => id,
                None => store::notices::insert_notice(&mut tx, letter, kind, job_payload, now_ms()).await?,
            };
            tx.commit().await?;
            id
        }
    };
    services.store.notice(&id).await?.ok_or_else(|| JobError::Permanent(format!("notice {id} does not exist")))
}

async fn attached_proof(services: &Services, id: &LetterId, kind: &str) -> Result<Option<AttachedProof>, JobError> {
    let Some(record) = services.store.proofs(id).await?.into_iter().find(|p| p.kind == kind) else {
        return Ok(None);
    };
    let bytes = tokio::fs::read(&record.path).await?;
    Ok(Some(AttachedProof { kind: kind.parse().map_err(JobError::Permanent)?, sha256: record.sha256, bytes }))
}

/// A notice used all its attempts: it is marked failed and the letter's timeline says so, with the way to
/// send it again.
pub async fn notice_gave_up(
    services: &Services,
    letter: &LetterId,
    job_payload: &serde_json::Value,
    reason: &str,
) -> Result<(), JobError> {
    let Some(id) = job_payload["notice"].as_str() else { return Ok(()) };
    let id: NoticeId = id.parse().map_err(JobError::Permanent)?;
    let reason = redact::strip_urls(reason);
    let mut tx = services.store.begin().await?;
    let Some(notice) = store::notices::notice_in(&mut tx, &id).await? else { return Ok(()) };
    store::notices::set_state(&mut tx, &id, NoticeState::Failed, Some(&reason), now_ms()).await?;
    let detail = format!(
        "l'avis « {} » n'a pas pu être envoyé par email ({reason}) ; pour le renvoyer : relais notice resend {id}",
        notice.kind
    );
    record_event(&mut tx, letter, &detail).await?;
    tx.commit().await?;
    tracing::warn!(notice = %id, %reason, "a notice gave up");
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error("no notice {0}")]
    NotFound(NoticeId),
    #[error("notice {0} was sent already")]
    AlreadySent(NoticeId),
    #[error(transparent)]
    Transition(#[from] TransitionError),
}

impl From<store::StoreError> for ResendError {
    fn from(e: store::StoreError) -> Self {
        Self::Transition(e.into())
    }
}

/// Sends a notice that gave up again, with the same Message-ID; the letter's timeline says so.
pub async fn resend_notice(services: &Services, id: &NoticeId) -> Result<NoticeRecord, ResendError> {
    let mut tx = services.store.begin().await?;
    let notice = store::notices::notice_in(&mut tx, id).await?.ok_or_else(|| ResendError::NotFound(id.clone()))?;
    if notice.state == NoticeState::Sent {
        return Err(ResendError::AlreadySent(id.clone()));
    }
    let now = now_ms();
    store::notices::set_state(&mut tx, id, NoticeState::Pending, None, now).await?;
    let job = NewJob {
        kind: jobs::NOTIFY,
        letter_id: Some(&notice.letter_id),
        payload: json!({ "notice": id.as_str() }),
        run_at: now,
    };
    store::jobs::enqueue(&mut tx, job, now).await?;
    record_event(
        &mut tx,
        &notice.letter_id,
        &format!("l'avis « {} » est renvoyé à la demande d'un opérateur", notice.kind),
    )
    .await?;
    tx.commit().await.map_err(store::StoreError::from)?;
    services.store.wake_workers();
    Ok(services.store.notice(id).await?.unwrap_or(notice))
}
