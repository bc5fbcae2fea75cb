//! A checked request for one sender becomes a letter (or is held for confirmation): its files staged, its
//! lines validated with the API's rules, submitted once, and the requester answered with the letter.

use std::path::Path;

use super::{Context, reject};
use crate::config::{Confirm, SenderSettings};
use crate::domain::LetterId;
use crate::domain::address::RawAddress;
use crate::domain::recipient::RawRecipient;
use crate::intake::IntakeError;
use crate::intake::email::accepted;
use crate::intake::email::answer;
use crate::intake::email::confirm;
use crate::intake::email::parse::{EmailRequest, Language, Problem};
use crate::intake::validate::{Draft, check_draft, safe_filename};
use crate::letters::context::{LetterParts, compose_letter};
use crate::letters::files::{kept_in_database, looks_like_pdf, remove_dir, write_staged};
use crate::letters::{FromEmail, LetterRequest, Staged, StagedAttachment, SubmitError, Submitted, submit_letter};
use crate::render::LetterTemplate;
use crate::store::{InboundRecord, now_ms};

use super::Outcome;

/// What became of a checked request.
pub(super) enum Submission {
    Outcome(Outcome),
    /// The thread already made this letter (a second reply): answered as a duplicate.
    AlreadyMade(LetterId),
}

pub(super) async fn submit(
    cx: &Context<'_>,
    sender: &SenderSettings,
    template: Option<std::sync::Arc<LetterTemplate>>,
) -> Result<Submission, IntakeError> {
    let (services, request) = (cx.services, &cx.request);
    let staging = services.files.incoming_dir();
    let staged = match stage(sender, request, &staging).await {
        Ok(staged) => staged,
        Err(problems) => {
            remove_dir(&staging).await;
            return reject(cx, Some(sender), problems, template.as_deref()).await.map(Submission::Outcome);
        }
    };
    let checked = check_draft(services, sender.id.clone(), draft_of(request), staged, request.content_sha256.clone());
    let mut letter = match checked {
        Ok(letter) => letter,
        Err(IntakeError::Invalid(errors)) => {
            remove_dir(&staging).await;
            let problems = answer::problems_from(&errors, request.language, template.as_deref());
            return reject(cx, Some(sender), problems, template.as_deref()).await.map(Submission::Outcome);
        }
        Err(other) => {
            remove_dir(&staging).await;
            return Err(other);
        }
    };
    if sender.confirm == Confirm::Always {
        confirm::hold(services, sender, letter, &cx.key, answer::AnswerTo::of(request)).await?;
        cx.record("held", None, Some("waiting for the requester's confirmation")).await?;
        return Ok(Submission::Outcome(Outcome::AwaitingConfirmation));
    }
    let key = cx.draft.map_or_else(|| format!("email:{}", cx.key), |d| d.letter_key());
    let to = answer::AnswerTo::of(request);
    // The record of the email and the answer owed commit with the letter, in its batch.
    let inbound = cx.inbound("accepted", None, None);
    letter.from_email = Some(FromEmail { inbound: Some(inbound.clone()), answer: accepted::answer_payload(&to) });
    let id = match submit_letter(services, letter, None, Some(&key)).await {
        Ok(Submitted::Created(letter)) => letter.id,
        Ok(Submitted::Replayed(id)) | Err(SubmitError::IdempotencyConflict(id)) if cx.draft.is_some() => {
            return Ok(Submission::AlreadyMade(id));
        }
        // The letter was made by an earlier delivery of this email, which did not record it: done now.
        Ok(Submitted::Replayed(id)) => {
            let record = InboundRecord { letter_id: Some(id.to_string()), ..inbound };
            accepted::owe_answer(services, Some(&record), &to, &id).await?;
            id
        }
        Err(e) => return Err(IntakeError::Io(std::io::Error::other(e.to_string()))),
    };
    Ok(Submission::Outcome(Outcome::Accepted(id)))
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
        callback_url: None,
        callback_secret: None,
    }
}

/// Stages the attachments for the letter: a small one stays in memory, to be committed inside the letter's
/// transaction; a large one is written to disk, unsynced: it becomes durable with the letter's batch (the
/// committer syncs a batch's files once) or when held for confirmation. A sender that takes PDF only gets a
/// problem per other file.
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
        let size = a.bytes.len() as u64;
        let content = if kept_in_database(size) {
            Staged::Memory(a.bytes.clone())
        } else {
            let path = dir.join(format!("{i}.bin"));
            if let Err(e) = write_staged(&path, a.bytes.clone()).await {
                problems.push(Problem { field: a.filename.clone(), code: "io".into(), message: e.to_string() });
                continue;
            }
            Staged::File(path)
        };
        staged.push(StagedAttachment {
            filename: safe_filename(Some(&a.filename), i),
            content_type: a.content_type.clone(),
            content,
            size,
            sha256: a.sha256.clone(), // hashed once, when the message was read
        });
    }
    if problems.is_empty() { Ok(staged) } else { Err(problems) }
}

fn not_pdf(filename: &str, request: &EmailRequest) -> Problem {
    let message = match request.language {
        Language::French => {
            format!("La pièce jointe « {filename} » n'est pas un PDF : joignez la facture au format PDF.")
        }
        Language::English => {
            format!("The attachment “{filename}” is not a PDF: attach the invoice as a PDF.")
        }
    };
    Problem { field: filename.to_owned(), code: "not_pdf".into(), message }
}

/// The letter as it will be sent, for the answers: its PDF and its text (the worker renders the same
/// pinned version). Empty when it cannot be made, which intake's checks have already ruled out.
pub(crate) fn preview(sender: &SenderSettings, letter: &LetterRequest, id: &LetterId) -> (Vec<u8>, String) {
    let parts = LetterParts {
        id,
        sender,
        recipient: &letter.recipient,
        variables: &letter.variables,
        reference: letter.reference.as_deref(),
        created_at: now_ms(),
    };
    let made = compose_letter(&letter.template, &parts).map_err(|e| e.to_string());
    match made.and_then(|document| Ok((document.to_pdf().map_err(|e| e.to_string())?, document.to_text()))) {
        Ok(preview) => preview,
        Err(e) => {
            tracing::warn!(error = %e, "the preview of a letter could not be rendered");
            (Vec::new(), String::new())
        }
    }
}
