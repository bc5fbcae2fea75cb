//! The data a letter template sees (its variables at top level, plus `sender`, `recipient` and `letter`), and
//! the letter made from it as a document.

use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde_json::{Value, json};

use crate::config::SenderSettings;
use crate::domain::{LetterId, Recipient};
use crate::render::document::{DocumentError, LetterDocument, body_surely_fits};
use crate::render::{LetterTemplate, RenderError, render_body, render_letter};

fn non_empty(text: &str) -> Value {
    if text.trim().is_empty() { Value::Null } else { Value::String(text.to_owned()) }
}

/// Builds the rendering context. `created_at` (unix ms) gives the letter's date, in Paris time.
pub fn letter_context(
    id: &LetterId,
    sender: &SenderSettings,
    recipient: &Recipient,
    variables: &serde_json::Map<String, Value>,
    reference: Option<&str>,
    created_at: i64,
) -> Value {
    let date = Utc.timestamp_millis_opt(created_at).single().unwrap_or_default().with_timezone(&Paris);
    let mut context = variables.clone();
    context.insert(
        "sender".into(),
        json!({
            "company": sender.company,
            "name": non_empty(&sender.name),
            "siret": non_empty(&sender.siret),
            "email": sender.email.as_str(),
            "address": sender.address,
        }),
    );
    context.insert("recipient".into(), serde_json::to_value(recipient).unwrap_or(Value::Null));
    if let Some(Value::Object(r)) = context.get_mut("recipient") {
        for key in ["first_name", "company", "address"] {
            r.entry(key).or_insert(Value::Null);
        }
    }
    context.insert(
        "letter".into(),
        json!({
            "id": id.as_str(),
            "reference": reference,
            "date": date.format("%Y-%m-%d").to_string(),
            "city": sender.address.city,
        }),
    );
    Value::Object(context)
}

/// Why a letter could not be made into a document.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Document(#[from] DocumentError),
}

/// What a letter is made of, besides its template.
pub struct LetterParts<'a> {
    pub id: &'a LetterId,
    pub sender: &'a SenderSettings,
    pub recipient: &'a Recipient,
    pub variables: &'a serde_json::Map<String, Value>,
    pub reference: Option<&'a str>,
    /// Unix ms: the letter's date, printed and pinned in its PDF.
    pub created_at: i64,
}

/// The letter as a document: its (pinned) template rendered with its data, laid out for its sender. Every
/// channel, the worker and previews make letters this one way.
pub fn compose_letter(template: &LetterTemplate, parts: &LetterParts<'_>) -> Result<LetterDocument, ComposeError> {
    let context =
        letter_context(parts.id, parts.sender, parts.recipient, parts.variables, parts.reference, parts.created_at);
    let rendered = render_letter(template, context)?;
    Ok(LetterDocument::new(parts.sender, parts.recipient, &rendered, parts.reference, parts.created_at)?)
}

/// Checks that the letter can be made and is at most `max_pages` long, as `compose_letter` and
/// `LetterDocument::check_pages` would, doing only what that takes for most letters: the template rendered
/// (a missing variable fails here) and a bound of the body's lines. A letter the bound cannot show to fit is
/// composed and laid out. The recipient's address block is not checked here (intake checks it first).
pub fn check_letter(template: &LetterTemplate, parts: &LetterParts<'_>, max_pages: usize) -> Result<(), ComposeError> {
    let context =
        letter_context(parts.id, parts.sender, parts.recipient, parts.variables, parts.reference, parts.created_at);
    let body = render_body(template, context)?;
    if body_surely_fits(&body, max_pages) {
        return Ok(());
    }
    Ok(compose_letter(template, parts)?.check_pages(max_pages)?)
}
