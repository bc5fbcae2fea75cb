//! The pipeline every email channel shares once the bytes are in: read the request and the sender it is for,
//! authenticate, dedupe, validate with the API's rules, submit, record, answer. The caller acknowledges the
//! message (IMAP move, SMTP 250, HTTP 2xx) only after this returns: by then everything is committed.

mod letter;
mod read;

use mail_parser::{Message, MessageParser};

use super::answer::{self, AnswerTo};
use super::authenticate::Verdict;
use super::choose::Choice;
use super::confirm;
use super::drafts::{self, Draft};
use super::parse::{EmailRequest, Ignored, Problem};
use super::sink::Delivery;
use crate::config::SenderSettings;
use crate::domain::{LetterId, SenderId};
use crate::intake::IntakeError;
use crate::notify::OutgoingEmail;
use crate::render::{self, LetterTemplate};
use crate::services::Services;
use crate::store::{InboundRecord, now_ms};

pub(crate) use letter::preview;

/// What became of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted(LetterId),
    /// Problems in the request (or no sender it may use named); the requester was told which.
    Rejected(Vec<Problem>),
    /// Not allowed or not authenticated; answered only when DMARC passed (no backscatter to forged senders).
    Refused(String),
    /// An auto-reply, a bounce, a mailing list or unreadable bytes: never answered.
    Ignored(Ignored),
    /// Seen before, by this channel or another: answered once, unless a channel delivered it again.
    Duplicate,
    /// Valid, held until the requester confirms (senders with `confirm = "always"`).
    AwaitingConfirmation,
}

/// One email being received: what every step needs.
pub(super) struct Context<'a> {
    services: &'a Services,
    email: &'a Delivery<'a>,
    request: EmailRequest,
    /// The dedupe key: the Message-ID, else the content hash.
    key: String,
    /// The request this email continues (a reply to relais's answer).
    draft: Option<&'a Draft>,
}

impl Context<'_> {
    /// Records what became of the email; false when another delivery of it was recorded first.
    async fn record(
        &self,
        outcome: &str,
        letter: Option<&LetterId>,
        detail: Option<&str>,
    ) -> Result<bool, IntakeError> {
        Ok(self.services.store.record_inbound(&self.inbound(outcome, letter, detail)).await?)
    }

    /// What became of the email, as it is recorded.
    fn inbound(&self, outcome: &str, letter: Option<&LetterId>, detail: Option<&str>) -> InboundRecord {
        InboundRecord {
            dedupe_key: self.key.clone(),
            channel: self.email.channel.into(),
            from_address: Some(self.request.from.clone()),
            content_sha256: self.request.content_sha256.clone(),
            outcome: outcome.into(),
            letter_id: letter.map(|l| l.to_string()),
            detail: detail.map(str::to_owned),
            received_at: now_ms(),
        }
    }
}

pub async fn receive(services: &Services, email: Delivery<'_>) -> Result<Outcome, IntakeError> {
    let limit = services.settings.intake.max_message_size.0;
    if email.raw.len() as u64 > limit {
        return Err(IntakeError::TooLarge { limit });
    }
    let message = MessageParser::default().parse_headers(email.raw);
    let from = message.as_ref().and_then(from_address);
    let draft = drafts::continued(services, message.as_ref(), from.as_deref()).await?;
    let reading = match read::read(services, &email, message.as_ref(), from.as_deref(), draft.as_ref()) {
        Ok(reading) => reading,
        Err(why) => return ignore(services, &email, from, why).await,
    };
    let read::Reading { request, problems, choice, address } = reading;
    let cx = Context { services, email: &email, key: dedupe_key(&request), request, draft: draft.as_ref() };
    let verdict = services.authenticator.verify(email.raw, &email.arrival, &read::allow_list(&choice)).await;
    if !verdict.accepted() || matches!(choice, Choice::NotAllowed) {
        return refused(&cx, &verdict).await;
    }
    if let Some(earlier) = services.store.inbound(&cx.key).await? {
        if earlier.outcome != "refused" {
            return duplicate(&cx, &earlier).await;
        }
        // Refused before, allowed now (the configuration changed): received anew.
        tracing::info!(key = %cx.key, "an email refused earlier is allowed now: received anew");
        services.store.forget_inbound(&cx.key).await?;
    }
    if let Some(token) = answer::confirmation_token(&cx.request.references).filter(|_| confirm::says_yes(email.raw)) {
        return confirmed(&cx, &token, &choice).await;
    }
    if cx.draft.is_some_and(|d| d.expired(services)) {
        return expired(&cx).await;
    }
    let sender = match choice {
        Choice::Sender(sender) => sender,
        Choice::Unclear { allowed, named } => {
            let intake = address.map_or_else(|| email.recipient.to_owned(), |a| a.bare());
            let problem =
                answer::sender_unclear(&read::listed(&allowed), named.as_deref(), &intake, cx.request.language);
            tracing::info!(from = ?from, named = ?named, "an email names no sender its address may use: nothing sent");
            return reject(&cx, None, vec![problem], None).await;
        }
        Choice::NotAllowed => return refused(&cx, &verdict).await,
    };
    let template = services.templates.current_for(&sender.id, &cx.request.template);
    if !problems.is_empty() {
        return reject(&cx, Some(sender), problems, template.as_deref()).await;
    }
    match letter::submit(&cx, sender, template).await? {
        letter::Submission::Outcome(outcome) => Ok(outcome),
        letter::Submission::AlreadyMade(id) => {
            let made = services.store.letter(&id).await?.map_or_else(now_ms, |l| l.created_at);
            let answered = cx.record("duplicate", Some(&id), Some("the thread already made its letter")).await?;
            if answered {
                answer_duplicate(&cx, made, Some(&id)).await;
            }
            Ok(Outcome::Duplicate)
        }
    }
}

/// Not allowed or not authenticated: nothing is sent; answered only when DMARC passed, and once.
async fn refused(cx: &Context<'_>, verdict: &Verdict) -> Result<Outcome, IntakeError> {
    let reason = refusal_reason(verdict.allowed_sender, &verdict.reason);
    let why = if verdict.allowed_sender { "not authenticated" } else { "on no sender's allow-list" };
    let answered = verdict.dmarc_pass;
    let from = &cx.request.from;
    tracing::info!(%from, channel = cx.email.channel, detail = %verdict.reason, answered,
        "email request refused: its From is {why}; {}",
        if answered { "answered (DMARC passed)" } else { "not answered (DMARC did not pass: no backscatter)" });
    if cx.record("refused", None, Some(&verdict.reason)).await? && answered {
        send_answer(cx.services, Some(answer::refused(&cx.services.emails, &cx.request, &reason))).await;
    }
    Ok(Outcome::Refused(reason))
}

/// The same email again. A channel delivering the same Message-ID again (a retry) is not answered; any
/// other copy (another channel, the same file sent again) is answered once, saying what became of it.
async fn duplicate(cx: &Context<'_>, earlier: &InboundRecord) -> Result<Outcome, IntakeError> {
    let retry = earlier.channel == cx.email.channel && cx.key.starts_with("message-id:");
    if retry {
        tracing::info!(key = %cx.key, channel = cx.email.channel, "the same email delivered again: nothing to do");
        return Ok(Outcome::Duplicate);
    }
    let marker = InboundRecord {
        dedupe_key: format!("answered:{}", cx.key),
        channel: cx.email.channel.into(),
        from_address: Some(cx.request.from.clone()),
        content_sha256: cx.request.content_sha256.clone(),
        outcome: "duplicate".into(),
        letter_id: earlier.letter_id.clone(),
        detail: Some(format!("already {} ", earlier.outcome)),
        received_at: now_ms(),
    };
    if cx.services.store.record_inbound(&marker).await? {
        tracing::info!(key = %cx.key, earlier = %earlier.outcome, "an email received before: answered once");
        let letter = earlier.letter_id.as_deref().and_then(|l| l.parse::<LetterId>().ok());
        answer_duplicate(cx, earlier.received_at, letter.as_ref()).await;
    } else {
        tracing::info!(key = %cx.key, "an email received before, already answered as such: nothing to do");
    }
    Ok(Outcome::Duplicate)
}

async fn answer_duplicate(cx: &Context<'_>, received_at: i64, letter: Option<&LetterId>) {
    let base = cx.services.public_url.as_str().trim_end_matches('/');
    let letter = letter.map(|id| (id.as_str(), format!("{base}/console/letters/{id}")));
    let when = chrono::DateTime::from_timestamp_millis(received_at).unwrap_or_default();
    let when = when.format("%d/%m/%Y %H:%M UTC").to_string();
    let to = AnswerTo::of(&cx.request);
    send_answer(cx.services, Some(answer::duplicate(&cx.services.emails, &to, &when, letter))).await;
}

/// A reply to an answer whose request expired: nothing is sent.
async fn expired(cx: &Context<'_>) -> Result<Outcome, IntakeError> {
    let within = humantime::format_duration(cx.services.settings.intake.confirm_within).to_string();
    if cx.record("rejected", None, Some("a reply to a request that expired")).await? {
        let to = AnswerTo::of(&cx.request);
        send_answer(cx.services, Some(answer::expired(&cx.services.emails, &to, &within))).await;
    }
    let message = format!("the request this reply continues expired (after {within}); nothing was sent");
    Ok(Outcome::Rejected(vec![Problem { field: "request".into(), code: "expired".into(), message }]))
}

/// A reply saying yes to a held request: the letter leaves now. An address with several senders confirms
/// the request of whichever of them it made.
async fn confirmed(cx: &Context<'_>, token: &str, choice: &Choice<'_>) -> Result<Outcome, IntakeError> {
    let held = cx.services.store.confirmation(token).await?;
    let by: Option<SenderId> = match choice {
        Choice::Sender(sender) => Some(sender.id.clone()),
        Choice::Unclear { allowed, .. } => held
            .and_then(|h| allowed.iter().find(|s| s.id.as_str() == h.sender_id).map(|s| s.id.clone()))
            .or_else(|| allowed.first().map(|s| s.id.clone())),
        Choice::NotAllowed => None,
    };
    match confirm::confirm(cx.services, token, by.as_ref()).await {
        Ok(id) => {
            cx.record("confirmed", Some(&id), None).await?;
            Ok(Outcome::Accepted(id))
        }
        Err(confirm::ConfirmError::Store(e)) => Err(e.into()),
        Err(e) => {
            let problem =
                Problem { field: "confirmation".into(), code: "not_confirmed".into(), message: e.to_string() };
            reject(cx, None, vec![problem], None).await
        }
    }
}

/// Every problem at once; the request is kept so that a reply to the answer continues it.
pub(super) async fn reject(
    cx: &Context<'_>,
    sender: Option<&SenderSettings>,
    problems: Vec<Problem>,
    template: Option<&LetterTemplate>,
) -> Result<Outcome, IntakeError> {
    let detail = problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>().join(", ");
    if cx.record("rejected", None, Some(&detail)).await? {
        let (request, services) = (&cx.request, cx.services);
        let template_name = sender.map(|_| request.template.as_str());
        let id =
            drafts::keep(services, cx.draft, cx.email.raw, &request.from, sender.map(|s| &s.id), template_name).await?;
        send_answer(services, Some(answer::rejected(&services.emails, request, &problems, template, Some(id)))).await;
    }
    Ok(Outcome::Rejected(problems))
}

async fn ignore(
    services: &Services,
    email: &Delivery<'_>,
    from: Option<String>,
    why: Ignored,
) -> Result<Outcome, IntakeError> {
    let sha = crate::letters::files::sha256_hex(email.raw);
    let record = InboundRecord {
        dedupe_key: format!("sha256:{sha}"),
        channel: email.channel.into(),
        from_address: from,
        content_sha256: sha,
        outcome: "ignored".into(),
        letter_id: None,
        detail: Some(format!("{why:?}")),
        received_at: now_ms(),
    };
    services.store.record_inbound(&record).await?;
    tracing::info!(channel = email.channel, reason = ?why, "email ignored");
    Ok(Outcome::Ignored(why))
}

/// Answers are best effort once the outcome is committed: a mail server down must not undo a letter.
pub(super) async fn send_answer(services: &Services, answer: Option<Result<OutgoingEmail, render::RenderError>>) {
    match answer {
        Some(Ok(email)) => {
            if let Err(e) = services.mailer.send(&email).await {
                tracing::warn!(to = %email.to, error = %e, "the answer to an email request could not be sent");
            }
        }
        Some(Err(e)) => tracing::error!(error = %e, "the answer to an email request could not be rendered"),
        None => {}
    }
}

/// The Message-ID when there is one (the same email copied by two channels keeps it), else the content hash.
fn dedupe_key(request: &EmailRequest) -> String {
    match &request.message_id {
        Some(id) => format!("message-id:{}", id.to_lowercase()),
        None => format!("sha256:{}", request.content_sha256),
    }
}

fn refusal_reason(allowed: bool, detail: &str) -> String {
    if allowed {
        format!("le message n'a pas pu être authentifié ({detail}).")
    } else {
        "votre adresse n'est pas autorisée à demander des lettres recommandées.".to_owned()
    }
}

fn from_address(message: &Message<'_>) -> Option<String> {
    let address = message.from()?.first()?.address()?.trim().to_owned();
    Some(address.to_lowercase())
}

/// The pipeline as the sink every channel delivers to.
#[async_trait::async_trait]
impl super::sink::MessageSink for Services {
    async fn deliver(&self, delivery: Delivery<'_>) -> super::sink::DeliveryResult {
        use super::sink::DeliveryResult;
        match receive(self, delivery).await {
            Ok(outcome) => {
                let accepted =
                    matches!(outcome, Outcome::Accepted(_) | Outcome::Duplicate | Outcome::AwaitingConfirmation);
                DeliveryResult::Done { accepted, summary: format!("{outcome:?}") }
            }
            Err(IntakeError::Io(e)) => DeliveryResult::Transient(format!("storage: {e}")),
            Err(IntakeError::Store(e)) if e.is_transient() => DeliveryResult::Transient(e.to_string()),
            Err(IntakeError::Store(e)) => DeliveryResult::Transient(format!("database: {e}")),
            Err(other) => DeliveryResult::Permanent(other.to_string()),
        }
    }
}
