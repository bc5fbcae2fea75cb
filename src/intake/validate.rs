//! The checks every intake channel shares: a draft letter (template, variables, recipient, reference) becomes
//! a validated `LetterRequest`, or every problem is reported at once, each under its field name.

use crate::domain::recipient::RawRecipient;
use crate::domain::{EmailAddress, FieldError, FieldErrors, Recipient, SenderId};
use crate::letters::context::letter_context;
use crate::letters::{LetterRequest, StagedAttachment};
use crate::render::{self, RenderError};
use crate::services::Services;

use super::IntakeError;

/// What a channel says the letter should be, before checks.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub template: Option<String>,
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub recipient: Option<RawRecipient>,
    pub reference: Option<String>,
    pub notify_email: Option<String>,
}

/// Checks a draft from any channel with the same rules, reporting every problem at once; on success the
/// request is ready for `letters::submit_letter`.
pub fn check_draft(
    services: &Services,
    sender: SenderId,
    raw: Draft,
    attachments: Vec<StagedAttachment>,
    request_sha256: String,
) -> Result<LetterRequest, IntakeError> {
    let mut errors = FieldErrors::default();
    let template = match raw.template.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("template", "required", "name the letter template, e.g. relance-facture"));
            None
        }
        Some(name) => services.templates.current_for(&sender, name).or_else(|| {
            let known = services.templates.names().join(", ");
            errors.push(FieldError::new(
                "template",
                "unknown_template",
                format!("no template `{name}`; known: {known}"),
            ));
            None
        }),
    };
    let recipient = match raw.recipient {
        None => {
            errors.push(FieldError::new("recipient", "required", "give the recipient (kind, names, email, address)"));
            None
        }
        Some(r) => Recipient::parse(r).map_err(|e| errors.extend_under("recipient", e)).ok(),
    };
    let notify_email = raw
        .notify_email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| errors.take("notify_email", EmailAddress::parse(e)));
    let reference = raw.reference.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reference.as_ref().is_some_and(|r| r.chars().count() > 128) {
        errors.push(FieldError::new("reference", "too_long", "a reference has at most 128 characters"));
    }
    let variables = match &template {
        Some(t) => render::check_variables(t, &raw.variables).map_err(|problems| {
            for p in problems {
                errors.push(FieldError::new(format!("variables.{}", p.name), p.code, p.message));
            }
        }),
        None => Err(()),
    };
    match (template, recipient, variables) {
        (Some(template), Some(recipient), Ok(variables)) if errors.is_empty() => {
            trial_render(services, &sender, &template, &recipient, &variables, reference.as_deref())?;
            Ok(LetterRequest {
                sender,
                template,
                variables,
                recipient,
                reference,
                notify_email,
                attachments,
                request_sha256,
            })
        }
        _ => Err(IntakeError::Invalid(errors)),
    }
}

/// Renders once at intake so that a variable the template needs but the request lacks is a `422` now,
/// never a blank in a sent letter.
fn trial_render(
    services: &Services,
    sender: &SenderId,
    template: &render::LetterTemplate,
    recipient: &Recipient,
    variables: &serde_json::Map<String, serde_json::Value>,
    reference: Option<&str>,
) -> Result<(), IntakeError> {
    let Some(sender) = services.settings.sender(sender) else { return Ok(()) };
    let id = crate::domain::LetterId::generate();
    let context = letter_context(&id, sender, recipient, variables, reference, crate::store::now_ms());
    match render::render_letter(template, &context) {
        Ok(_) => Ok(()),
        Err(RenderError::MissingVariable { variable }) => Err(FieldError::new(
            format!("variables.{variable}"),
            "missing",
            format!("the template `{}` needs `{variable}`", template.name),
        )
        .into()),
        Err(e) => Err(FieldError::new("template", "render_failed", e.to_string()).into()),
    }
}

/// A file name safe to store and show: no path, no control characters, not hidden; a default when empty.
pub fn safe_filename(name: Option<&str>, position: usize) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { format!("piece-jointe-{}.pdf", position + 1) } else { cleaned }
}
