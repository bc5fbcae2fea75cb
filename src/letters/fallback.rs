//! The paper fallback of an electronic sender (`fallback = "paper"`): a letter that cannot go electronically
//! leaves as a paper registered letter with acknowledgement of receipt through the sender's Maileva account.
//! A recipient without an email address goes on paper at once; an individual who has not consented waits
//! `fallback_after` for the consent first (a consent recorded meanwhile releases the letter electronically).
//! The timeline and the requester's notice say which route the letter took and why.

use std::time::Duration;

use serde_json::json;

use super::transitions::{transition, transition_telling};
use super::{JobError, jobs};
use crate::config::SenderSettings;
use crate::domain::time::rfc3339_secs;
use crate::domain::{LetterId, LetterState};
use crate::services::Services;
use crate::store::{self, LetterRecord, NewJob, Tx, now_ms};

/// The email telling the requester that the letter goes on paper, and why.
pub const NOTICE: &str = "paper_fallback";

/// Why a letter cannot go electronically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The recipient has no email address: only the post reaches them.
    NoEmail,
    /// An individual who has not consented to electronic registered letters (CPCE art. L.100).
    NoConsent,
}

/// What became of a letter that cannot go electronically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The sender has no paper fallback: the letter waits (or fails) as it would without one.
    None,
    /// Queued as a paper letter.
    Paper,
    /// Waiting for the consent until the deadline, then paper.
    Waiting,
}

/// Sends a `Ready` letter on paper, or makes it wait for consent until `fallback_after` has passed.
pub async fn route(services: &Services, tx: &mut Tx, letter: &LetterRecord, closed: Closed) -> Result<Route, JobError> {
    let Some(sender) = services.settings.sender(&letter.sender_id) else { return Ok(Route::None) };
    let Some(paper) = sender.paper_fallback() else { return Ok(Route::None) };
    let email = letter.recipient.email_text();
    if closed == Closed::NoEmail || sender.fallback_after.is_zero() {
        let reason = match closed {
            Closed::NoEmail => "the recipient has no email address".to_owned(),
            Closed::NoConsent => {
                format!("the recipient is an individual and {email} has not consented to electronic registered letters")
            }
        };
        to_paper(tx, &letter.id, paper, &reason).await?;
        return Ok(Route::Paper);
    }
    let now = now_ms();
    let deadline = now + millis(sender.fallback_after);
    let detail = format!(
        "the recipient is an individual: {email} must have consented to receive electronic registered letters from \
         this sender (CPCE art. L.100); record the consent with POST /v1/consents; without it by {}, the letter \
         leaves as a paper registered letter through {paper}",
        rfc3339_secs(deadline)
    );
    if transition(tx, &letter.id, LetterState::Ready, LetterState::AwaitingConsent, Some(&detail), None).await? {
        let job = NewJob { kind: jobs::FALLBACK, letter_id: Some(&letter.id), payload: json!({}), run_at: deadline };
        store::jobs::enqueue(tx, job, now).await?;
    }
    Ok(Route::Waiting)
}

/// Switches a `Ready` letter to the paper account and queues it, telling the requester the route and why.
pub async fn to_paper(tx: &mut Tx, letter: &LetterId, paper: &str, reason: &str) -> Result<(), JobError> {
    store::letters::switch_provider(tx, letter, paper).await?;
    let detail = format!(
        "sent as a paper registered letter with acknowledgement of receipt through {paper}, not electronically: \
         {reason}"
    );
    let (from, to) = (LetterState::Ready, LetterState::Queued);
    if transition_telling(tx, letter, from, to, Some(&detail), None, Some(NOTICE)).await? {
        let now = now_ms();
        store::jobs::enqueue(
            tx,
            NewJob { kind: jobs::SEND, letter_id: Some(letter), payload: json!({}), run_at: now },
            now,
        )
        .await?;
    }
    Ok(())
}

/// The `fallback` job: the wait for consent is over. A letter still waiting leaves on paper; one released by
/// a consent meanwhile has moved on and is left alone. A job that comes early (the letter waits again since)
/// is put off to the letter's own deadline.
pub async fn wait_over(services: &Services, id: &LetterId) -> Result<(), JobError> {
    let Some(letter) = services.store.letter(id).await? else { return Ok(()) };
    if letter.state != LetterState::AwaitingConsent {
        return Ok(());
    }
    let Some(sender) = services.settings.sender(&letter.sender_id) else { return Ok(()) };
    // The configuration changed since the letter began to wait: it waits for the consent, as without fallback.
    let Some(paper) = sender.paper_fallback() else { return Ok(()) };
    let now = now_ms();
    let deadline = letter.updated_at + millis(sender.fallback_after);
    let mut tx = services.store.begin().await?;
    if now < deadline {
        let job = NewJob { kind: jobs::FALLBACK, letter_id: Some(id), payload: json!({}), run_at: deadline };
        store::jobs::enqueue(&mut tx, job, now).await?;
        tx.commit().await?;
        return Ok(());
    }
    let email = letter.recipient.email_text();
    let waited = waited(sender);
    let detail = format!("no consent of {email} was recorded within {waited}");
    if transition(&mut tx, id, LetterState::AwaitingConsent, LetterState::Ready, Some(&detail), None).await? {
        let reason = format!(
            "the recipient is an individual and {email} has not consented to electronic registered letters within \
             {waited}"
        );
        to_paper(&mut tx, id, paper, &reason).await?;
    }
    tx.commit().await?;
    services.store.wake_workers();
    Ok(())
}

fn waited(sender: &SenderSettings) -> String {
    humantime::format_duration(sender.fallback_after).to_string()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}
