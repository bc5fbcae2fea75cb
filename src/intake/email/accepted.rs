//! The answer to an accepted email request, as a job: committed with the letter and the record of the email
//! (`letters::FromEmail`), so that a restart cannot lose it, and sent once the letter is rendered, with the
//! letter PDF exactly as it will go.
//! The intake answers its channel (SMTP 250, IMAP move, HTTP 202) without typesetting anything: the letter is
//! typeset once, by whichever of its preparation or this job runs first.

use serde_json::json;

use super::answer::{self, AcceptedLetter, AnswerTo};
use crate::domain::{LetterId, LetterState};
use crate::letters::{JobError, pipeline};
use crate::providers::redact;
use crate::services::Services;
use crate::store::{self, InboundRecord, NewJob, StoreError, now_ms};

pub use crate::letters::jobs::ANSWER;

/// The answer job's payload: whom it goes to and how it is threaded.
pub fn answer_payload(to: &AnswerTo) -> serde_json::Value {
    json!({ "to": to })
}

/// Records what became of the email (when `record` is given) and owes its requester the answer, in one
/// transaction.
pub async fn owe_answer(
    services: &Services,
    record: Option<&InboundRecord>,
    to: &AnswerTo,
    letter: &LetterId,
) -> Result<(), StoreError> {
    let now = now_ms();
    let mut tx = services.store.begin().await?;
    if let Some(record) = record {
        store::inbound::record(&mut tx, record).await?;
    }
    let job = NewJob { kind: ANSWER, letter_id: Some(letter), payload: answer_payload(to), run_at: now };
    store::jobs::enqueue(&mut tx, job, now).await?;
    tx.commit().await?;
    services.store.wake_workers();
    Ok(())
}

/// Sends the answer owed for `id`. A letter not rendered yet is prepared first (its own preparation then
/// finds it done). A letter that could not be rendered gets no acceptance: its `failed` notice tells the
/// requester why.
pub async fn answer(services: &Services, id: &LetterId, payload: &serde_json::Value) -> Result<(), JobError> {
    let to: AnswerTo = serde_json::from_value(payload["to"].clone())
        .map_err(|e| JobError::Permanent(format!("the answer's addressee is unreadable: {e}")))?;
    let load = || async {
        services.store.letter(id).await?.ok_or_else(|| JobError::Permanent(format!("letter {id} does not exist")))
    };
    let mut letter = load().await?;
    if letter.state == LetterState::Received {
        pipeline::prepare(services, id).await?;
        letter = load().await?;
    }
    let document = tokio::fs::read(services.files.document_of(id)).await.unwrap_or_default();
    if letter.state == LetterState::Failed && document.is_empty() {
        tracing::info!(letter = %id, "no acceptance for a letter that could not be rendered");
        return Ok(());
    }
    let text = match pipeline::compose(services, &letter).await {
        Ok(document) => document.to_text(),
        Err(e) => {
            tracing::warn!(letter = %id, error = %e, "the letter of an answer could not be composed");
            String::new()
        }
    };
    let title = match services.templates.pinned(&letter.template, &letter.template_hash).await {
        Ok(template) => template.title.clone(),
        Err(_) => services.templates.title(&letter.template),
    };
    let attachments = services.store.attachments(id).await?.into_iter().map(|a| a.filename).collect();
    let base = services.public_url.as_str().trim_end_matches('/');
    let accepted = AcceptedLetter {
        id,
        template_title: &title,
        recipient_name: letter.recipient.display_name(),
        recipient_email: letter.recipient.email_text(),
        reference: letter.reference.as_deref(),
        attachments,
        url: format!("{base}/console/letters/{id}"),
        document,
        text,
    };
    let mut email = answer::accepted(&services.emails, &to, accepted)
        .map_err(|e| JobError::Permanent(format!("the answer could not be rendered: {e}")))?;
    // One Message-ID per letter's answer: sent again after a lost lease, it is the same message to the
    // requester's mail system, not a second one.
    email.message_id = Some(services.mailer.message_id(&format!("{id}-request-accepted")));
    services.mailer.send(&email).await.map_err(|e| {
        let reason = redact::strip_urls(&e.to_string());
        if e.is_transient() { JobError::Transient(reason) } else { JobError::Permanent(reason) }
    })
}
