//! The checks every intake channel shares: a draft letter (template, variables, recipient, reference) becomes
//! a validated `LetterRequest`, or every problem is reported at once, each under its field name.

use crate::config::{Secret, check_secret};
use crate::config::{SenderSettings, Service};
use crate::domain::recipient::{Delivery, RawRecipient};
use crate::domain::{EmailAddress, FieldError, FieldErrors, Recipient, SenderId};
use crate::letters::context::{ComposeError, LetterParts, check_letter};
use crate::letters::{LetterCallback, LetterRequest, StagedAttachment};
use crate::render::document::{DocumentError, address_lines};
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
    pub callback_url: Option<String>,
    pub callback_secret: Option<Secret>,
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
        Some(r) => Recipient::parse_for(r, delivery_of(services, &sender))
            .map_err(|e| errors.extend_under("recipient", e))
            .ok(),
    };
    if let Some(Err(problems)) = recipient.as_ref().map(address_lines) {
        errors.extend_under("recipient", problems);
    }
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
        Some(t) => render::check_variables(t, &raw.variables)
            .map_err(|problems| {
                for p in problems {
                    errors.push(FieldError::new(format!("variables.{}", p.name), p.code, p.message));
                }
            })
            .and_then(|normalized| {
                let out_of_range = check_ranges(t, &normalized);
                if out_of_range.is_empty() {
                    Ok(normalized)
                } else {
                    out_of_range.0.into_iter().for_each(|e| errors.push(e));
                    Err(())
                }
            }),
        None => Err(()),
    };
    let callback = check_callback(services, &sender, raw.callback_url.as_deref(), raw.callback_secret)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let max = services.settings.storage.max_attachments;
    if attachments.len() > max {
        let message =
            format!("a letter has at most {max} attachments (storage.max_attachments), not {}", attachments.len());
        errors.push(FieldError::new("attachments", "too_many", message));
    }
    if let Some(recipient) = &recipient {
        provider_rules(services, &sender, recipient, &attachments, &mut errors);
    }
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
                callback,
                request_sha256,
                submitted_by: None,
                from_email: None,
            })
        }
        _ => Err(IntakeError::Invalid(errors)),
    }
}

/// A letter's own callback endpoint: an URL the address guard accepts (https unless `callbacks.allow_http`,
/// no private or loopback literal address), and the secret that signs its events — the request's
/// `callback_secret`, else the sender's `callback_secret`; with neither, the URL is refused.
fn check_callback(
    services: &Services,
    sender: &SenderId,
    url: Option<&str>,
    secret: Option<Secret>,
) -> Result<Option<LetterCallback>, FieldError> {
    let secret = secret.filter(|s| !s.is_empty());
    let Some(text) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return match secret {
            Some(_) => Err(FieldError::new("callback_secret", "unused", "a callback_secret needs a callback_url")),
            None => Ok(None),
        };
    };
    let url = url::Url::parse(text)
        .map_err(|e| FieldError::new("callback_url", "invalid_url", format!("`{text}` is not a URL: {e}")))?;
    services
        .callbacks
        .check_url(&url, services.settings.callbacks.allow_http)
        .map_err(|reason| FieldError::new("callback_url", "refused_url", reason))?;
    let secret = match secret {
        Some(own) => {
            check_secret(own.expose()).map_err(|m| FieldError::new("callback_secret", "invalid_secret", m))?;
            own
        }
        None => match services.settings.sender(sender).map(|s| &s.callback_secret).filter(|s| !s.is_empty()) {
            Some(configured) => configured.clone(),
            None => {
                let message = format!(
                    "sender `{sender}` has no callback secret to sign with: give callback_secret (whsec_…) or \
                     configure senders.callback_secret"
                );
                return Err(FieldError::new("callback_url", "no_secret", message));
            }
        },
    };
    Ok(Some(LetterCallback { url, secret }))
}

/// How the sender's letters reach their recipients: by post for a paper sender, else by email.
fn delivery_of(services: &Services, sender: &SenderId) -> Delivery {
    match services.settings.sender(sender) {
        Some(s) if s.service.is_paper() => Delivery::Paper,
        Some(s) if s.paper_fallback().is_some() => Delivery::EitherWay,
        _ => Delivery::Electronic,
    }
}

/// What the sender's provider cannot take (a paper letter's address and documents); a field already at
/// fault is not reported twice.
fn provider_rules(
    services: &Services,
    sender: &SenderId,
    recipient: &Recipient,
    attachments: &[StagedAttachment],
    errors: &mut FieldErrors,
) {
    let Some(settings) = services.settings.sender(sender) else { return };
    let Some(provider) = services.providers.get(&settings.provider) else { return };
    let sizes: Vec<u64> = attachments.iter().map(|a| a.size).collect();
    let mut problems = provider.check_letter(settings, recipient, &sizes).0;
    // A letter to a recipient without an email leaves on paper at once: the paper rules apply now.
    let paper = settings.paper_fallback().filter(|_| recipient.email.is_none());
    if let Some(paper) = paper.and_then(|name| services.providers.get(name)) {
        let as_paper = SenderSettings { service: Service::Paper, ..settings.clone() };
        problems.extend(paper.check_letter(&as_paper, recipient, &sizes).0);
    }
    for problem in problems {
        if !errors.0.iter().any(|e| e.field == problem.field) {
            errors.push(problem);
        }
    }
}

/// Makes the letter once at intake so that a variable the template needs but the request lacks, or a letter
/// longer than `render.max_pages`, is a `422` now, never a blank in a sent letter or a letter no one can read.
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
    let parts = LetterParts { id: &id, sender, recipient, variables, reference, created_at: crate::store::now_ms() };
    let failed = |e: &dyn std::fmt::Display| FieldError::new("template", "render_failed", e.to_string());
    match check_letter(template, &parts, services.settings.render.max_pages) {
        Ok(()) => Ok(()),
        Err(ComposeError::Render(RenderError::MissingVariable { variable })) => Err(FieldError::new(
            format!("variables.{variable}"),
            "missing",
            format!("the template `{}` needs `{variable}`", template.name),
        )
        .into()),
        Err(ComposeError::Document(DocumentError::Address(problems))) => {
            let mut errors = FieldErrors::default();
            errors.extend_under("recipient", problems);
            Err(IntakeError::Invalid(errors))
        }
        Err(ComposeError::Document(DocumentError::TooManyPages { pages, max })) => {
            let longest = variables.iter().max_by_key(|(_, v)| v.as_str().map_or(0, str::len)).map(|(k, _)| k);
            let field = longest.map_or_else(|| "variables".to_owned(), |name| format!("variables.{name}"));
            Err(FieldError::new(
                field,
                "too_many_pages",
                format!("the letter would have {pages} pages, more than the {max} allowed: shorten it"),
            )
            .into())
        }
        Err(e) => Err(failed(&e).into()),
    }
}

/// The longest attachment file name kept, in bytes (the common file-system limit).
pub const MAX_FILENAME_BYTES: usize = 255;

/// Characters that reorder or hide text (bidirectional overrides and isolates, zero-width marks): a name
/// such as `facture\u{202E}fdp.exe` would show as `factureexe.pdf`.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

/// A file name safe to store and show: no path, no control or bidirectional-override characters, not
/// hidden, at most 255 bytes (the extension kept); a default when empty.
pub fn safe_filename(name: Option<&str>, position: usize) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !is_deceptive(*c))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        return format!("piece-jointe-{}.pdf", position + 1);
    }
    shorten(&cleaned, MAX_FILENAME_BYTES)
}

/// Cuts `name` to `limit` bytes on a character boundary, keeping a short extension.
fn shorten(name: &str, limit: usize) -> String {
    if name.len() <= limit {
        return name.to_owned();
    }
    let extension = name.rfind('.').map(|i| &name[i..]).filter(|e| e.len() <= 16).unwrap_or("");
    let mut stem_end = limit - extension.len();
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}{extension}", name[..stem_end].trim_end())
}

/// Amounts must be positive and dates plausible: a letter claiming 0 € or due in year 0 is a mistake
/// upstream, never something to send.
fn check_ranges(
    template: &render::LetterTemplate,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> FieldErrors {
    let mut errors = FieldErrors::default();
    for spec in &template.variables {
        let Some(text) = variables.get(&spec.name).and_then(|v| v.as_str()) else { continue };
        let field = format!("variables.{}", spec.name);
        match spec.kind {
            render::VariableKind::Amount => {
                if text.parse::<rust_decimal::Decimal>().is_ok_and(|a| a <= rust_decimal::Decimal::ZERO) {
                    let message = format!("`{}` must be more than 0, not {text}", spec.name);
                    errors.push(FieldError::new(field, "not_positive", message));
                }
            }
            render::VariableKind::Date => {
                let year = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| chrono::Datelike::year(&d));
                if year.is_ok_and(|y| !PLAUSIBLE_YEARS.contains(&y)) {
                    let message = format!(
                        "`{}`: {text} is not a plausible date (years {} to {})",
                        spec.name,
                        PLAUSIBLE_YEARS.start(),
                        PLAUSIBLE_YEARS.end()
                    );
                    errors.push(FieldError::new(field, "out_of_range", message));
                }
            }
            render::VariableKind::Text | render::VariableKind::LongText => {}
        }
    }
    errors
}

/// The years a date in a letter may fall in.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_control_and_bidi_characters() {
        assert_eq!(safe_filename(Some("facture\u{202E}fdp.exe"), 0), "facturefdp.exe");
        assert_eq!(safe_filename(Some("a\u{2066}b\u{200F}\tc.pdf"), 0), "abc.pdf");
        assert_eq!(safe_filename(Some("../../etc/passwd"), 0), "passwd");
        assert_eq!(safe_filename(Some("\u{202E}"), 1), "piece-jointe-2.pdf");
    }

    #[test]
    fn long_file_names_are_cut_to_255_bytes_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let short = safe_filename(Some(&long), 0);
        assert!(short.len() <= 255, "{}", short.len());
        assert!(short.ends_with("é.pdf"), "{short}");
    }
}
