//! The steps of a letter before its provider takes over: prepare (render, consent), send (hand over, never
//! twice), reconcile (after an unknown outcome), and the notices to the requester.

use serde_json::json;

use super::transitions::{TransitionError, transition};
use super::{JobError, context, fallback, files, jobs, sync};
use crate::config::{ProviderSettings, SenderSettings, Service};
use crate::domain::{LetterId, LetterState};
use crate::providers::{Lookup, OutgoingLetter, Provider, ProviderError};
use crate::render;
use crate::services::Services;
use crate::store::{self, LetterRecord, NewJob, Tx, now_ms};

impl From<TransitionError> for JobError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Store(s) => s.into(),
            other => JobError::Permanent(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        store::StoreError::from(e).into()
    }
}

async fn load(services: &Services, id: &LetterId) -> Result<LetterRecord, JobError> {
    services.store.letter(id).await?.ok_or_else(|| JobError::Permanent(format!("letter {id} does not exist")))
}

async fn enqueue(tx: &mut Tx, kind: &'static str, letter: &LetterId, delay_ms: i64) -> Result<(), JobError> {
    let now = now_ms();
    let job = NewJob { kind, letter_id: Some(letter), payload: json!({}), run_at: now + delay_ms };
    store::jobs::enqueue(tx, job, now).await?;
    Ok(())
}

/// Renders the pinned template into the letter PDF, then decides whether the letter may leave.
pub async fn prepare(services: &Services, id: &LetterId) -> Result<(), JobError> {
    let letter = load(services, id).await?;
    match letter.state {
        LetterState::Received => render_letter(services, &letter).await,
        LetterState::Ready => {
            let mut tx = services.store.begin().await?;
            decide(services, &mut tx, &letter).await?;
            tx.commit().await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn render_letter(services: &Services, letter: &LetterRecord) -> Result<(), JobError> {
    let rendered = match render_document(services, letter).await {
        Ok(rendered) => rendered,
        Err(reason) => {
            let mut tx = services.store.begin().await?;
            transition(&mut tx, &letter.id, LetterState::Received, LetterState::Failed, Some(&reason), None).await?;
            tx.commit().await?;
            return Ok(());
        }
    };
    let path = services.files.document_of(&letter.id);
    let sha256 = files::write_durably(&path, &rendered).await?;
    let mut tx = services.store.begin().await?;
    store::letters::record_content(&mut tx, &letter.id, &sha256).await?;
    let detail = format!("rendered with template {} version {}", letter.template, &letter.template_hash[..12]);
    if transition(&mut tx, &letter.id, LetterState::Received, LetterState::Ready, Some(&detail), None).await? {
        decide(services, &mut tx, letter).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The letter PDF, or why it cannot be made (in words for the requester). The same letter record gives the
/// same bytes: its pinned template version, its data and its creation time are all it depends on.
pub async fn render_document(services: &Services, letter: &LetterRecord) -> Result<Vec<u8>, String> {
    let document = compose(services, letter).await?;
    document.to_pdf().map_err(|e| format!("the letter could not be typeset: {e}"))
}

/// The letter as a document, from its pinned template version and its data.
pub async fn compose(services: &Services, letter: &LetterRecord) -> Result<render::document::LetterDocument, String> {
    let template = services
        .templates
        .pinned(&letter.template, &letter.template_hash)
        .await
        .map_err(|e| format!("the template version of this letter cannot be loaded: {e}"))?;
    let sender = services.settings.sender(&letter.sender_id).ok_or("the sender account no longer exists")?;
    let parts = context::LetterParts {
        id: &letter.id,
        sender,
        recipient: &letter.recipient,
        variables: &letter.variables,
        reference: letter.reference.as_deref(),
        created_at: letter.created_at,
    };
    context::compose_letter(&template, &parts).map_err(|e| format!("the letter could not be rendered: {e}"))
}

/// The checks before a letter may leave: consent of an individual recipient to electronic letters (a paper
/// letter needs none), then the sender's approval when the service is qualified and no session is open.
async fn decide(services: &Services, tx: &mut Tx, letter: &LetterRecord) -> Result<(), JobError> {
    let email = letter.recipient.email_text();
    let paper = services.settings.sender(&letter.sender_id).is_some_and(|s| s.service.is_paper());
    let needs = letter.recipient.kind.needs_consent() && !paper;
    let no_email = letter.recipient.email.is_none() && !paper;
    let consented = !needs || no_email || store::consents::has_consent(tx, &letter.sender_id, email).await?;
    if no_email || !consented {
        let closed = if no_email { fallback::Closed::NoEmail } else { fallback::Closed::NoConsent };
        if fallback::route(services, tx, letter, closed).await? != fallback::Route::None {
            return Ok(());
        }
    }
    if !consented {
        let detail = format!(
            "the recipient is an individual: {email} must have consented to receive electronic registered letters \
             from this sender (CPCE art. L.100); record the consent with POST /v1/consents"
        );
        transition(tx, &letter.id, LetterState::Ready, LetterState::AwaitingConsent, Some(&detail), None).await?;
        return Ok(());
    }
    if !approved(services, letter).await? {
        let detail = approval_detail(tx, letter).await?;
        transition(tx, &letter.id, LetterState::Ready, LetterState::AwaitingApproval, Some(&detail), None).await?;
        return Ok(());
    }
    if transition(tx, &letter.id, LetterState::Ready, LetterState::Queued, None, None).await? {
        enqueue(tx, jobs::SEND, &letter.id, 0).await?;
    }
    Ok(())
}

/// How long an approval session must still last for a send to start under it.
const APPROVAL_MARGIN_MS: i64 = 2 * 60 * 1000;

/// True when the letter may leave without (more) approval: the provider needs none for this sender, or the
/// sender's session is open.
async fn approved(services: &Services, letter: &LetterRecord) -> Result<bool, JobError> {
    let Some(sender) = services.settings.sender(&letter.sender_id) else { return Ok(true) };
    let needs = services.providers.get(&letter.provider).is_some_and(|p| p.needs_approval(sender));
    if !needs {
        return Ok(true);
    }
    let token =
        services.store.approval_token(&letter.sender_id, &letter.provider, now_ms() + APPROVAL_MARGIN_MS).await?;
    Ok(token.is_some())
}

async fn approval_detail(tx: &mut Tx, letter: &LetterRecord) -> Result<String, JobError> {
    let waiting = store::approvals::awaiting_approval(tx, &letter.sender_id).await?.len() + 1;
    Ok(format!(
        "a qualified letter leaves once the sender approves with their one-time code: POST /v1/senders/{}/approvals \
         (or `relais sender approve`); {waiting} letter(s) of this sender wait for it",
        letter.sender_id
    ))
}

fn provider_of<'a>(services: &'a Services, letter: &LetterRecord) -> Result<&'a dyn Provider, JobError> {
    services
        .providers
        .get(&letter.provider)
        .map(|p| p.as_ref())
        .ok_or_else(|| JobError::Permanent(format!("provider `{}` is not configured", letter.provider)))
}

/// Hands a queued letter to its provider. A letter found in `submitting` with no provider reference was
/// being sent when something died: its outcome is unknown, so it is reconciled, never sent blindly.
pub async fn send(services: &Services, id: &LetterId) -> Result<(), JobError> {
    let mut letter = load(services, id).await?;
    let mut tx = services.store.begin().await?;
    match letter.state {
        LetterState::Queued if !approved(services, &letter).await? => {
            let detail = approval_detail(&mut tx, &letter).await?;
            transition(&mut tx, id, LetterState::Queued, LetterState::AwaitingApproval, Some(&detail), None).await?;
            tx.commit().await?;
            return Ok(());
        }
        LetterState::Queued => {
            let detail = format!("handing the letter to {}", letter.provider);
            if !transition(&mut tx, id, LetterState::Queued, LetterState::Submitting, Some(&detail), None).await? {
                return Ok(());
            }
            let now = now_ms();
            store::letters::count_send_attempt(&mut tx, id, now).await?;
            tx.commit().await?;
            // What the compare-and-set committed, as reading the letter again would show it.
            letter.state = LetterState::Submitting;
            letter.state_detail = Some(detail);
            letter.send_attempts += 1;
            letter.send_started_at.get_or_insert(now);
        }
        LetterState::Submitting if letter.provider_ref.is_none() => {
            let detail = "an attempt to hand the letter over was interrupted; asking the provider what it has";
            // The interrupted request's connection closed at the latest now (its process is gone).
            store::letters::record_send_closed(&mut tx, id, now_ms()).await?;
            mark_unknown(services, &mut tx, &letter, LetterState::Submitting, detail).await?;
            tx.commit().await?;
            return Ok(());
        }
        _ => return Ok(()),
    }
    hand_over(services, &letter).await
}

/// Marks the outcome of a send unknown and schedules the reconciliation after `worker.reconcile_after`, so
/// that a request still in flight at the provider has landed when it is asked.
async fn mark_unknown(
    services: &Services,
    tx: &mut Tx,
    letter: &LetterRecord,
    from: LetterState,
    detail: &str,
) -> Result<(), JobError> {
    let resend_at = rfc3339(now_ms() + resend_after(services, letter).as_millis() as i64);
    let detail = format!(
        "{detail}; relais asks the provider until it finds the letter, and sends it again only if the provider \
         still shows none at {resend_at}"
    );
    if transition(tx, &letter.id, from, LetterState::NeedsAttention, Some(&detail), None).await? {
        let delay = services.settings.worker.reconcile_after.as_millis() as i64;
        enqueue(tx, jobs::RECONCILE, &letter.id, delay).await?;
    }
    Ok(())
}

/// How long the provider must show no letter after a doubtful request ended before it is sent again.
fn resend_after(services: &Services, letter: &LetterRecord) -> std::time::Duration {
    services
        .settings
        .providers
        .get(&letter.provider)
        .map(ProviderSettings::resend_after)
        .unwrap_or(std::time::Duration::from_secs(15 * 60))
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The sender as the letter's provider account sees it: a letter handed to the sender's paper fallback is a
/// paper letter there (the fallback account is never the sender's own, see `config`), whatever the
/// sender's own service.
fn sender_as_sent(services: &Services, letter: &LetterRecord) -> Result<SenderSettings, JobError> {
    let sender = services
        .settings
        .sender(&letter.sender_id)
        .ok_or_else(|| JobError::Permanent(format!("sender `{}` is not configured", letter.sender_id)))?;
    let service = if letter.provider == sender.provider { sender.service } else { Service::Paper };
    Ok(SenderSettings { service, ..sender.clone() })
}

async fn hand_over(services: &Services, letter: &LetterRecord) -> Result<(), JobError> {
    let provider = provider_of(services, letter)?;
    let sender = &sender_as_sent(services, letter)?;
    let mut attachments = Vec::new();
    for attachment in services.store.attachments(&letter.id).await? {
        let file = files::attachment_for_sending(&services.store, &attachment).await?;
        attachments.push((file, attachment.filename));
    }
    let approval = match provider.needs_approval(sender) {
        true => services.store.approval_token(&letter.sender_id, &letter.provider, now_ms()).await?,
        false => None, // no session to read for a service that needs none
    };
    let document = compose(services, letter).await.map_err(JobError::Permanent)?;
    let text = document.to_text();
    let outgoing = OutgoingLetter {
        letter_id: &letter.id,
        sender,
        recipient: &letter.recipient,
        reference: letter.reference.as_deref(),
        subject: &document.subject,
        body: &text,
        document: services.files.document_of(&letter.id),
        content_sha256: letter.content_sha256.as_deref().unwrap_or(""),
        attachments,
        approval: approval.as_deref(),
    };
    let failure = match provider.send(&outgoing).await {
        Ok(found) => return sync::apply(services, letter, found).await,
        Err(failure) => failure,
    };
    // Only a failure is written here: a transaction begun before the send would hold SQLite's one writer
    // for a BEGIN and a ROLLBACK on every successful send.
    let mut tx = services.store.begin().await?;
    let from = LetterState::Submitting;
    match failure {
        ProviderError::Rejected { message, .. } => {
            transition(&mut tx, &letter.id, from, LetterState::Failed, Some(&message), None).await?;
        }
        ProviderError::ApprovalRequired { message, .. } => {
            // Nothing was sent: the session expired or was refused. Back to waiting for the sender.
            store::approvals::end_session(&mut tx, &letter.sender_id, &letter.provider).await?;
            let detail = format!("not sent: {message}");
            transition(&mut tx, &letter.id, from, LetterState::Queued, Some(&detail), None).await?;
            let detail = approval_detail(&mut tx, letter).await?;
            transition(&mut tx, &letter.id, LetterState::Queued, LetterState::AwaitingApproval, Some(&detail), None)
                .await?;
        }
        e @ ProviderError::Unavailable { .. } => {
            let detail = format!("not sent: {e}; trying again later");
            transition(&mut tx, &letter.id, from, LetterState::Queued, Some(&detail), None).await?;
            tx.commit().await?;
            return Err(JobError::Transient(e.to_string()));
        }
        e => {
            let detail =
                format!("the outcome of the send is unknown ({e}); it will not be sent again until reconciled");
            store::letters::record_send_closed(&mut tx, &letter.id, now_ms()).await?;
            mark_unknown(services, &mut tx, letter, from, &detail).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Milliseconds left before a doubtful request may be given up as lost, if any are left.
fn still_landing(services: &Services, letter: &LetterRecord) -> Option<i64> {
    let closed = letter.send_closed_at?;
    let left = closed + resend_after(services, letter).as_millis() as i64 - now_ms();
    (left > 0).then_some(left)
}

/// After an unknown outcome: adopt the provider's letter if it has one; send again only once it certainly has
/// none — absent from every lookup up to `resend_after` after the doubtful request ended.
pub async fn reconcile(services: &Services, id: &LetterId) -> Result<(), JobError> {
    let letter = load(services, id).await?;
    if letter.state != LetterState::NeedsAttention {
        return Ok(());
    }
    let provider = provider_of(services, &letter)?;
    if let Some(provider_ref) = &letter.provider_ref {
        let found = provider.fetch(provider_ref).await.map_err(|e| JobError::Transient(e.to_string()))?;
        return sync::apply(services, &letter, found).await;
    }
    let sender = &sender_as_sent(services, &letter)?;
    let sent_after = letter.send_started_at.unwrap_or(letter.created_at);
    let landing = still_landing(services, &letter);
    match provider.find_by_reference(id, sender, sent_after).await {
        Ok(Lookup::Found(found)) => sync::apply(services, &letter, found).await,
        // A slow provider may record the first request long after its connection closed: sending again
        // before `resend_after` has passed since then could make two letters (two notices, paid twice).
        Ok(Lookup::Absent) if let Some(wait) = landing => {
            let mut tx = services.store.begin().await?;
            let delay = services.settings.worker.reconcile_after.as_millis() as i64;
            enqueue(&mut tx, jobs::RECONCILE, id, delay.min(wait).max(1)).await?;
            tx.commit().await?;
            Ok(())
        }
        Ok(Lookup::Absent) => {
            let mut tx = services.store.begin().await?;
            let detail = "the provider has no letter with this reference: handing it over again";
            if transition(&mut tx, id, LetterState::NeedsAttention, LetterState::Queued, Some(detail), None).await? {
                enqueue(&mut tx, jobs::SEND, id, 0).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        Err(e) => Err(JobError::Transient(format!("the provider could not be asked: {e}"))),
    }
}
