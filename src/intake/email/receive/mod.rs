//! The pipeline every email channel shares once the bytes are in: find the sender account, parse, dedupe,
//! authenticate, validate with the API's rules, submit, record, answer. The caller acknowledges the message
//! (IMAP move, SMTP 250, HTTP 2xx) only after this returns: by then everything is committed.

use std::path::Path;

use super::answer::{self, AcceptedLetter};
use super::confirm;
use super::parse::{EmailRequest, Ignored, Parsed, Problem, parse_email};
use super::sink::Delivery;
use crate::config::{Confirm, SenderSettings};
use crate::domain::LetterId;
use crate::domain::address::RawAddress;
use crate::domain::recipient::RawRecipient;
use crate::intake::IntakeError;
use crate::intake::validate::{Draft, check_draft, safe_filename};
use crate::letters::context::letter_context;
use crate::letters::files::{looks_like_pdf, remove_dir, write_durably};
use crate::letters::{LetterRequest, StagedAttachment, Submitted, submit_letter};
use crate::notify::OutgoingEmail;
use crate::render::{self, LetterTemplate};
use crate::services::Services;
use crate::store::{InboundRecord, now_ms};

/// What became of an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted(LetterId),
    /// Problems in the request; the requester was told which.
    Rejected(Vec<Problem>),
    /// Not allowed or not authenticated; answered only when DMARC passed (no backscatter to forged senders).
    Refused(String),
    /// An auto-reply, a bounce, a mailing list or unreadable bytes: never answered.
    Ignored(Ignored),
    /// Seen before, by this channel or another.
    Duplicate,
    /// Valid, held until the requester confirms (senders with `confirm = "always"`).
    AwaitingConfirmation,
}

pub async fn receive(services: &Services, email: Delivery<'_>) -> Result<Outcome, IntakeError> {
    let limit = services.settings.intake.max_message_size.0;
    if email.raw.len() as u64 > limit {
        return Err(IntakeError::TooLarge { limit });
    }
    let from = from_address(email.raw);
    let sender = from.as_deref().and_then(|f| sender_for(services, f));
    let default_template = sender.map(|s| s.default_template.as_str()).unwrap_or("relance-facture");
    let templates = services.templates.all();
    let (request, problems) = match parse_email(email.raw, email.recipient, &templates, default_template) {
        Parsed::Ignored(why) => return ignore(services, &email, why).await,
        Parsed::Request(request) => (request, vec![]),
        Parsed::Rejected { request, problems } => (request, problems),
    };
    let key = dedupe_key(&request);
    if services.store.inbound(&key).await?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let allow_list = sender.map(|s| s.allowed_from.as_slice()).unwrap_or(&[]);
    let verdict = services.authenticator.verify(email.raw, &email.arrival, allow_list).await;
    let Some(sender) = sender.filter(|_| verdict.accepted()) else {
        let reason = refusal_reason(verdict.allowed_sender, &verdict.reason);
        tracing::warn!(from = ?from, reason = %verdict.reason, channel = email.channel, "email request refused");
        let answer = if verdict.dmarc_pass { Some(answer::refused(&services.emails, &request, &reason)) } else { None };
        record(services, &email, &request, &key, "refused", None, Some(&verdict.reason)).await?;
        send_answer(services, answer).await;
        return Ok(Outcome::Refused(reason));
    };
    if let Some(token) = answer::confirmation_token(&request.references).filter(|_| confirm::says_yes(email.raw)) {
        return confirmed(services, &email, &request, &key, &token, sender).await;
    }
    let template = services.templates.current_for(&sender.id, &request.template);
    if !problems.is_empty() {
        return reject(services, &email, &request, &key, problems, template.as_ref()).await;
    }
    submit(services, &email, sender, &request, &key, template).await
}

async fn submit(
    services: &Services,
    email: &Delivery<'_>,
    sender: &SenderSettings,
    request: &EmailRequest,
    key: &str,
    template: Option<LetterTemplate>,
) -> Result<Outcome, IntakeError> {
    let staging = services.files.incoming_dir();
    let staged = match stage(sender, request, &staging).await {
        Ok(staged) => staged,
        Err(problems) => {
            remove_dir(&staging).await;
            return reject(services, email, request, key, problems, template.as_ref()).await;
        }
    };
    let checked = check_draft(services, sender.id.clone(), draft_of(request), staged, request.content_sha256.clone());
    let letter = match checked {
        Ok(letter) => letter,
        Err(IntakeError::Invalid(errors)) => {
            remove_dir(&staging).await;
            let problems = answer::problems_from(&errors, request.language, template.as_ref());
            return reject(services, email, request, key, problems, template.as_ref()).await;
        }
        Err(other) => {
            remove_dir(&staging).await;
            return Err(other);
        }
    };
    if sender.confirm == Confirm::Always {
        confirm::hold(services, sender, letter, key, answer::AnswerTo::of(request)).await?;
        record(services, email, request, key, "held", None, Some("waiting for the requester's confirmation")).await?;
        return Ok(Outcome::AwaitingConfirmation);
    }
    let kept = letter.clone();
    let submitted = submit_letter(services, letter, None, Some(&format!("email:{key}"))).await;
    let id = match submitted.map_err(|e| IntakeError::Io(std::io::Error::other(e.to_string())))? {
        Submitted::Created(id) | Submitted::Replayed(id) => id,
    };
    record(services, email, request, key, "accepted", Some(&id), None).await?;
    answer_accepted(services, sender, &answer::AnswerTo::of(request), &kept, &id).await;
    Ok(Outcome::Accepted(id))
}

/// A reply saying yes to a held request: the letter leaves now.
async fn confirmed(
    services: &Services,
    email: &Delivery<'_>,
    request: &EmailRequest,
    key: &str,
    token: &str,
    sender: &SenderSettings,
) -> Result<Outcome, IntakeError> {
    match confirm::confirm(services, token, Some(&sender.id)).await {
        Ok(id) => {
            record(services, email, request, key, "confirmed", Some(&id), None).await?;
            Ok(Outcome::Accepted(id))
        }
        Err(confirm::ConfirmError::Store(e)) => Err(e.into()),
        Err(e) => {
            let problem =
                Problem { field: "confirmation".into(), code: "not_confirmed".into(), message: e.to_string() };
            reject(services, email, request, key, vec![problem], None).await
        }
    }
}

async fn reject(
    services: &Services,
    email: &Delivery<'_>,
    request: &EmailRequest,
    key: &str,
    problems: Vec<Problem>,
    template: Option<&LetterTemplate>,
) -> Result<Outcome, IntakeError> {
    let detail = problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>().join(", ");
    if record(services, email, request, key, "rejected", None, Some(&detail)).await? {
        send_answer(services, Some(answer::rejected(&services.emails, request, &problems, template))).await;
    }
    Ok(Outcome::Rejected(problems))
}

async fn ignore(services: &Services, email: &Delivery<'_>, why: Ignored) -> Result<Outcome, IntakeError> {
    let sha = crate::letters::files::sha256_hex(email.raw);
    let record = InboundRecord {
        dedupe_key: format!("sha256:{sha}"),
        channel: email.channel.into(),
        from_address: from_address(email.raw),
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

/// Records what became of the email; false when another delivery of it was recorded first.
async fn record(
    services: &Services,
    email: &Delivery<'_>,
    request: &EmailRequest,
    key: &str,
    outcome: &str,
    letter: Option<&LetterId>,
    detail: Option<&str>,
) -> Result<bool, IntakeError> {
    let record = InboundRecord {
        dedupe_key: key.to_owned(),
        channel: email.channel.into(),
        from_address: Some(request.from.clone()),
        content_sha256: request.content_sha256.clone(),
        outcome: outcome.into(),
        letter_id: letter.map(|l| l.to_string()),
        detail: detail.map(str::to_owned),
        received_at: now_ms(),
    };
    Ok(services.store.record_inbound(&record).await?)
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

fn from_address(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    let address = message.from()?.first()?.address()?.trim().to_owned();
    Some(address.to_lowercase())
}

fn sender_for<'a>(services: &'a Services, from: &str) -> Option<&'a SenderSettings> {
    services.settings.senders.iter().find(|s| super::authenticate::on_allow_list(from, &s.allowed_from))
}

fn draft_of(request: &EmailRequest) -> Draft {
    let r = &request.recipient;
    let has_address = !r.address_lines.is_empty() || r.postal_code.is_some() || r.city.is_some();
    let address = has_address.then(|| RawAddress {
        lines: r.address_lines.clone(),
        postal_code: r.postal_code.clone().unwrap_or_default(),
        city: r.city.clone().unwrap_or_default(),
        country: r.country.clone(),
    });
    Draft {
        template: Some(request.template.clone()),
        variables: request.variables.clone(),
        recipient: Some(RawRecipient {
            kind: r.kind.clone(),
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            company: r.company.clone(),
            email: r.email.clone(),
            address,
        }),
        reference: request.reference.clone(),
        notify_email: Some(answer::answer_address(request).to_owned()),
    }
}

/// Writes the attachments to disk for the letter; a sender that takes PDF only gets a problem per other file.
async fn stage(
    sender: &SenderSettings,
    request: &EmailRequest,
    dir: &Path,
) -> Result<Vec<StagedAttachment>, Vec<Problem>> {
    let mut staged = Vec::new();
    let mut problems = Vec::new();
    for (i, a) in request.attachments.iter().enumerate() {
        if sender.require_pdf && !looks_like_pdf(&a.bytes) {
            problems.push(not_pdf(&a.filename, request));
            continue;
        }
        let path = dir.join(format!("{i}.bin"));
        match write_durably(&path, &a.bytes).await {
            Ok(sha256) => staged.push(StagedAttachment {
                filename: safe_filename(Some(&a.filename), i),
                content_type: a.content_type.clone(),
                path,
                size: a.bytes.len() as u64,
                sha256,
            }),
            Err(e) => problems.push(Problem { field: a.filename.clone(), code: "io".into(), message: e.to_string() }),
        }
    }
    if problems.is_empty() { Ok(staged) } else { Err(problems) }
}

fn not_pdf(filename: &str, request: &EmailRequest) -> Problem {
    let message = match request.language {
        super::parse::Language::French => {
            format!("La pièce jointe « {filename} » n'est pas un PDF : joignez la facture au format PDF.")
        }
        super::parse::Language::English => {
            format!("The attachment “{filename}” is not a PDF: attach the invoice as a PDF.")
        }
    };
    Problem { field: filename.to_owned(), code: "not_pdf".into(), message }
}

/// The letter PDF as it will be sent, for the answers (the worker renders the same pinned version).
pub(super) fn preview(sender: &SenderSettings, letter: &LetterRequest, id: &LetterId) -> Vec<u8> {
    let now = now_ms();
    let context = letter_context(id, sender, &letter.recipient, &letter.variables, letter.reference.as_deref(), now);
    match render::render_letter(&letter.template, &context) {
        Ok(rendered) => render::document::letter_pdf(&rendered, &letter.template.title, &sender.company, now),
        Err(e) => {
            tracing::warn!(error = %e, "the preview of a letter could not be rendered");
            Vec::new()
        }
    }
}

/// Tells the requester their letter leaves, with the letter as it will go attached.
pub(super) async fn answer_accepted(
    services: &Services,
    sender: &SenderSettings,
    to: &answer::AnswerTo,
    letter: &LetterRequest,
    id: &LetterId,
) {
    let base = services.public_url.as_str().trim_end_matches('/');
    let accepted = AcceptedLetter {
        id,
        template_title: &letter.template.title,
        recipient_name: letter.recipient.display_name(),
        recipient_email: letter.recipient.email.as_str(),
        reference: letter.reference.as_deref(),
        attachments: letter.attachments.iter().map(|a| a.filename.clone()).collect(),
        url: format!("{base}/v1/letters/{id}"),
        document: preview(sender, letter, id),
    };
    send_answer(services, Some(answer::accepted(&services.emails, to, accepted))).await;
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
