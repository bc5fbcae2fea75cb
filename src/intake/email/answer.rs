//! Answers to emailed requests: accepted (with the rendered letter), rejected (every problem, each with the
//! line to add or fix, in the request's language) or refused (sender not allowed). Threaded, and marked
//! `Auto-Submitted: auto-replied` so no mail system answers back.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::parse::{EmailRequest, Language, Problem};
use crate::domain::{FieldError, FieldErrors, LetterId};
use crate::notify::{EmailAttachment, OutgoingEmail, Thread};
use crate::render::{EmailTemplates, LetterTemplate, RenderError};

/// The name of the line to write in an email for an API field (`recipient.email` → `Email`).
fn line_name(field: &str, language: Language, template: Option<&LetterTemplate>) -> String {
    let french = language == Language::French;
    let pick = |fr: &str, en: &str| if french { fr.to_owned() } else { en.to_owned() };
    if let Some(name) = field.strip_prefix("variables.") {
        let spec = template.and_then(|t| t.variables.iter().find(|v| v.name == name));
        return match spec {
            Some(spec) if french => spec.label.clone(),
            Some(spec) => {
                spec.aliases.iter().rev().find(|a| a.is_ascii()).cloned().unwrap_or_else(|| spec.label.clone())
            }
            None => name.to_owned(),
        };
    }
    match field {
        "recipient" | "recipient.last_name" => pick("Destinataire", "To"),
        "recipient.first_name" => pick("Prénom", "First name"),
        "recipient.email" => pick("Email", "Email"),
        "recipient.company" => pick("Société", "Company"),
        "recipient.kind" => pick("Type", "Type"),
        "recipient.address.postal_code" => pick("Code postal", "Postal code"),
        "recipient.address.city" => pick("Ville", "City"),
        "recipient.address.country" => pick("Pays", "Country"),
        "reference" => pick("Référence", "Reference"),
        "template" => pick("Modèle", "Template"),
        f if f.starts_with("recipient.address") => pick("Adresse", "Address"),
        f if f.starts_with("attachments") => pick("Pièce jointe", "Attachment"),
        other => other.to_owned(),
    }
}

/// One API validation error as a line of the rejection email.
fn problem_of(error: &FieldError, language: Language, template: Option<&LetterTemplate>) -> Problem {
    let line = line_name(&error.field, language, template);
    let message = match (language, error.code.as_str()) {
        (Language::French, "required" | "missing") => format!("Il manque « {line} » : ajoutez une ligne `{line}: …`."),
        (Language::French, "invalid_email") => {
            format!("L'adresse e-mail n'est pas valide : corrigez la ligne `{line}: …` ({}).", error.message)
        }
        (Language::French, "invalid_postal_code") => {
            format!("Le code postal n'est pas valide (cinq chiffres, comme 69003) : corrigez la ligne `{line}: …`.")
        }
        (Language::French, "not_pdf") => format!("Une pièce jointe n'est pas un PDF : {}.", error.message),
        (Language::French, _) => format!("La ligne `{line}` est à corriger : {}.", error.message),
        (Language::English, "required" | "missing") => format!("“{line}” is missing: add a line `{line}: …`."),
        (Language::English, _) => format!("Fix the line `{line}`: {}.", error.message),
    };
    Problem { field: line, code: error.code.clone(), message }
}

/// The API validation errors of a request as email problems.
pub fn problems_from(errors: &FieldErrors, language: Language, template: Option<&LetterTemplate>) -> Vec<Problem> {
    errors.0.iter().map(|e| problem_of(e, language, template)).collect()
}

/// Whom an answer goes to and how it is threaded: kept with a request held for confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerTo {
    /// The Reply-To if the requester set one, else the From address.
    pub to: String,
    pub subject: String,
    pub french: bool,
    pub message_id: Option<String>,
    pub references: Vec<String>,
}

impl AnswerTo {
    pub fn of(request: &EmailRequest) -> Self {
        Self {
            to: answer_address(request).to_owned(),
            subject: request.subject.clone(),
            french: request.language == Language::French,
            message_id: request.message_id.clone(),
            references: request.references.clone(),
        }
    }
}

fn kind(base: &str, to: &AnswerTo) -> String {
    if to.french { base.to_owned() } else { format!("{base}-en") }
}

fn reply(to: &AnswerTo, rendered: crate::render::RenderedEmail, tag: String) -> OutgoingEmail {
    OutgoingEmail {
        to: to.to.clone(),
        subject: rendered.subject,
        body: rendered.body,
        attachments: vec![],
        tag,
        answering: to.message_id.clone().map(|message_id| Thread { message_id, references: to.references.clone() }),
        message_id: None,
    }
}

fn request_context(to: &AnswerTo) -> Value {
    let subject = to.subject.trim();
    json!({ "subject": if subject.is_empty() { "(sans objet)" } else { subject } })
}

/// Where answers go: the Reply-To if the requester set one, else the From address.
pub fn answer_address(request: &EmailRequest) -> &str {
    request.reply_to.as_deref().unwrap_or(&request.from)
}

/// The rejection: every problem at once. `message_id` threads it so that a reply continues the request.
pub fn rejected(
    emails: &EmailTemplates,
    request: &EmailRequest,
    problems: &[Problem],
    template: Option<&LetterTemplate>,
    message_id: Option<String>,
) -> Result<OutgoingEmail, RenderError> {
    let fields: Vec<String> = template
        .map(|t| {
            t.variables
                .iter()
                .map(|v| line_name(&format!("variables.{}", v.name), request.language, template))
                .collect()
        })
        .unwrap_or_default();
    let to = AnswerTo::of(request);
    let context =
        json!({ "request": request_context(&to), "problems": problems, "template_fields": fields.join(", ") });
    let rendered = emails.render(&kind("reply-rejected", &to), &context)?;
    let mut email = reply(&to, rendered, "request-rejected".into());
    email.message_id = message_id;
    Ok(email)
}

/// The refusal sent to an authenticated sender who is not allowed (never to an unauthenticated one).
pub fn refused(emails: &EmailTemplates, request: &EmailRequest, reason: &str) -> Result<OutgoingEmail, RenderError> {
    let to = AnswerTo::of(request);
    let context = json!({ "request": request_context(&to), "reason": reason });
    let rendered = emails.render(&kind("reply-refused", &to), &context)?;
    Ok(reply(&to, rendered, "request-refused".into()))
}

/// The answer to a request relais already had: once, saying when and what became of it.
pub fn duplicate(
    emails: &EmailTemplates,
    to: &AnswerTo,
    received_at: &str,
    letter: Option<(&str, String)>,
) -> Result<OutgoingEmail, RenderError> {
    let letter = letter.map(|(id, url)| json!({ "id": id, "url": url }));
    let context = json!({ "request": request_context(to), "received_at": received_at, "letter": letter });
    let rendered = emails.render(&kind("reply-duplicate", to), &context)?;
    Ok(reply(to, rendered, "request-duplicate".into()))
}

/// The answer to a reply that came after its request expired: nothing is sent.
pub fn expired(emails: &EmailTemplates, to: &AnswerTo, within: &str) -> Result<OutgoingEmail, RenderError> {
    let context = json!({ "request": request_context(to), "within": within });
    let rendered = emails.render(&kind("reply-expired", to), &context)?;
    Ok(reply(to, rendered, "request-expired".into()))
}

/// The problem of an email that does not say which of its senders it is for: the senders it may name, and
/// how to name one.
pub fn sender_unclear(allowed: &[(&str, &str)], named: Option<&str>, intake: &str, language: Language) -> Problem {
    let first = allowed.first().map_or("", |(id, _)| *id);
    let list = allowed.iter().map(|(id, company)| format!("{company} ({id})")).collect::<Vec<_>>().join(", ");
    let (local, domain) = intake.split_once('@').unwrap_or(("lre", intake));
    let message = match (language, named) {
        (Language::French, Some(name)) => format!(
            "Votre adresse ne peut pas demander de lettre pour « {name} ». Elle le peut pour : {list}. \
             Indiquez lequel par une ligne `Expéditeur : {first}`, un tag [{first}] dans l'objet, ou en écrivant \
             à {local}+{first}@{domain}."
        ),
        (Language::French, None) => format!(
            "Votre adresse demande des lettres pour plusieurs expéditeurs : {list}. Indiquez lequel par une \
             ligne `Expéditeur : {first}`, un tag [{first}] dans l'objet, ou en écrivant à {local}+{first}@{domain}."
        ),
        (Language::English, Some(name)) => format!(
            "Your address may not ask for letters for “{name}”. It may for: {list}. Say which with a line \
             `Sender: {first}`, a [{first}] tag in the subject, or by writing to {local}+{first}@{domain}."
        ),
        (Language::English, None) => format!(
            "Your address asks for letters for several senders: {list}. Say which with a line `Sender: {first}`, \
             a [{first}] tag in the subject, or by writing to {local}+{first}@{domain}."
        ),
    };
    let field = if language == Language::French { "Expéditeur" } else { "Sender" };
    Problem { field: field.into(), code: "sender_unclear".into(), message }
}

/// What the acceptance says about the letter.
pub struct AcceptedLetter<'a> {
    pub id: &'a LetterId,
    pub template_title: &'a str,
    pub recipient_name: String,
    pub recipient_email: &'a str,
    pub reference: Option<&'a str>,
    pub attachments: Vec<String>,
    pub url: String,
    /// The letter PDF as it will be sent.
    pub document: Vec<u8>,
    /// The same letter as text, quoted in the answer.
    pub text: String,
}

/// The acceptance, with the rendered letter attached.
pub fn accepted(
    emails: &EmailTemplates,
    to: &AnswerTo,
    letter: AcceptedLetter<'_>,
) -> Result<OutgoingEmail, RenderError> {
    let context = json!({
        "request": request_context(to),
        "letter": {
            "id": letter.id.as_str(), "template_title": letter.template_title, "recipient_name": letter.recipient_name,
            "recipient_email": letter.recipient_email, "reference": letter.reference, "attachments": letter.attachments,
            "url": letter.url, "text": letter.text,
        },
    });
    let rendered = emails.render(&kind("reply-accepted", to), &context)?;
    let mut email = reply(to, rendered, format!("{}-request-accepted", letter.id));
    if !letter.document.is_empty() {
        email.attachments.push(EmailAttachment {
            filename: format!("{}.pdf", letter.id),
            content_type: "application/pdf".into(),
            bytes: letter.document,
        });
    }
    Ok(email)
}

/// What the confirmation request shows: the letter as it would go, and how to confirm.
pub struct HeldLetter {
    pub template_title: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub reference: Option<String>,
    pub attachments: Vec<String>,
    pub link: String,
    pub expires_at: String,
    pub document: Vec<u8>,
    /// The letter as text, quoted in the request.
    pub text: String,
}

/// Asks the requester to confirm; its Message-ID carries the token so that a reply finds the request.
pub fn confirm(
    emails: &EmailTemplates,
    to: &AnswerTo,
    token: &str,
    letter: HeldLetter,
) -> Result<OutgoingEmail, RenderError> {
    let context = json!({
        "request": request_context(to),
        "letter": {
            "template_title": letter.template_title, "recipient_name": letter.recipient_name,
            "recipient_email": letter.recipient_email, "reference": letter.reference, "attachments": letter.attachments,
            "text": letter.text,
        },
        "link": letter.link,
        "expires_at": letter.expires_at,
    });
    let rendered = emails.render(&kind("reply-confirm", to), &context)?;
    let mut email = reply(to, rendered, "request-confirm".into());
    email.message_id = Some(confirmation_message_id(token));
    email.attachments.push(EmailAttachment {
        filename: "lettre.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: letter.document,
    });
    Ok(email)
}

/// The Message-ID of a confirmation request (without angle brackets).
pub fn confirmation_message_id(token: &str) -> String {
    format!("confirm-{token}@relais.invalid")
}

/// The token of the confirmation request a reply answers, if it answers one.
pub fn confirmation_token(references: &[String]) -> Option<String> {
    references.iter().find_map(|r| r.strip_prefix("confirm-")?.strip_suffix("@relais.invalid").map(str::to_owned))
}
