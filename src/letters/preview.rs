//! A letter as it would go, before anything is sent: a template version (draft, published or any stored
//! one) rendered with the caller's data, or with the template's examples where a value is not given. The
//! same checks as intake apply, so a preview that renders is a request that would be accepted.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::domain::recipient::RawRecipient;
use crate::domain::{FieldError, FieldErrors, LetterId, Recipient, SenderId};
use crate::letters::context::{ComposeError, LetterParts, compose_letter};
use crate::render::catalog::{CatalogError, VersionRef, content_hash};
use crate::render::document::{DocumentError, LetterDocument};
use crate::render::{self, LetterTemplate, TemplateProblem, TemplateScope, VariableKind, VariableSpec};
use crate::services::Services;
use crate::store::now_ms;

/// What a preview asks for; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[serde(default)]
    pub variables: Map<String, Value>,
    pub recipient: Option<RawRecipient>,
    /// The sender the letter would be sent for (its override of the template, its letterhead); the key's
    /// own sender by default.
    pub sender: Option<String>,
    /// `draft`, `published` (default) or the SHA-256 of a stored version.
    pub version: Option<String>,
}

/// The letter as it would go.
pub struct Preview {
    pub version: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub pdf: Vec<u8>,
    /// The checks of the previewed source (a draft may have some and still render).
    pub problems: Vec<TemplateProblem>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("the template cannot be rendered")]
    Problems(Vec<TemplateProblem>),
    #[error("invalid preview request")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Forbidden(String),
}

/// Renders template `name` for `caller`, or for any sender when `any_sender` (the operator's command line).
pub async fn preview_letter(
    services: &Services,
    caller: &SenderId,
    any_sender: bool,
    name: &str,
    request: PreviewRequest,
) -> Result<Preview, PreviewError> {
    let invalid =
        |field: &str, code: &str, message: String| PreviewError::Invalid(FieldError::new(field, code, message).into());
    let sender_id: SenderId = match request.sender.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s.parse().map_err(|e: String| invalid("sender", "invalid", e))?,
        None => caller.clone(),
    };
    if sender_id != *caller && !any_sender {
        return Err(PreviewError::Forbidden(format!("this API key belongs to sender `{caller}`, not `{sender_id}`")));
    }
    let sender = services
        .settings
        .sender(&sender_id)
        .ok_or_else(|| invalid("sender", "unknown_sender", format!("no sender `{sender_id}`")))?;
    let version = match request.version.as_deref() {
        None => VersionRef::Published,
        Some(text) => VersionRef::parse(text).ok_or_else(|| {
            invalid("version", "invalid", "give `draft`, `published` or the SHA-256 of a version".into())
        })?,
    };
    let scope = TemplateScope::Sender(sender_id.clone());
    let source = match services.templates.source_of(&scope, name, &version).await {
        Ok(source) => source,
        Err(CatalogError::UnknownTemplate(_) | CatalogError::NoDraft(_) | CatalogError::UnknownVersion { .. }) => {
            services.templates.source_of(&TemplateScope::Shared, name, &version).await?
        }
        Err(e) => return Err(e.into()),
    };
    render_source(services, sender, name, &source, request.variables, request.recipient)
}

/// Renders `source`, the text of template `name` as someone is editing it (saved or not), for `caller`, with
/// the request's data over the template's examples: the console's live preview.
pub async fn preview_source(
    services: &Services,
    caller: &SenderId,
    name: &str,
    source: &str,
    request: PreviewRequest,
) -> Result<Preview, PreviewError> {
    let sender = services.settings.sender(caller).ok_or_else(|| {
        PreviewError::Invalid(FieldError::new("sender", "unknown_sender", format!("no sender `{caller}`")).into())
    })?;
    render_source(services, sender, name, source, request.variables, request.recipient)
}

fn render_source(
    services: &Services,
    sender: &crate::config::SenderSettings,
    name: &str,
    source: &str,
    variables: Map<String, Value>,
    recipient: Option<RawRecipient>,
) -> Result<Preview, PreviewError> {
    let problems = services.templates.check(name, source);
    let template = render::parse_letter_template(name, source).map_err(|_| PreviewError::Problems(problems.clone()))?;
    let (variables, recipient) = checked_input(&template, variables, recipient)?;
    let id = LetterId::generate();
    let parts = LetterParts {
        id: &id,
        sender,
        recipient: &recipient,
        variables: &variables,
        reference: None,
        created_at: now_ms(),
    };
    let document = compose_letter(&template, &parts).map_err(|e| {
        let mut errors = FieldErrors::default();
        match e {
            ComposeError::Render(render::RenderError::MissingVariable { variable }) => errors.push(FieldError::new(
                format!("variables.{variable}"),
                "missing",
                format!("the template `{name}` needs `{variable}`"),
            )),
            ComposeError::Document(DocumentError::Address(problems)) => errors.extend_under("recipient", problems),
            other => errors.push(FieldError::new("template", "render_failed", other.to_string())),
        }
        PreviewError::Invalid(errors)
    })?;
    let pdf = document
        .to_pdf()
        .map_err(|e| PreviewError::Invalid(FieldError::new("template", "render_failed", e.to_string()).into()))?;
    Ok(Preview {
        version: content_hash(source),
        html: html_of(&document),
        text: document.to_text(),
        subject: document.subject.clone(),
        pdf,
        problems,
    })
}

/// The request's variables over the template's examples, and its recipient or an example one, checked as
/// intake checks them.
fn checked_input(
    template: &LetterTemplate,
    given: Map<String, Value>,
    recipient: Option<RawRecipient>,
) -> Result<(Map<String, Value>, Recipient), PreviewError> {
    let mut errors = FieldErrors::default();
    let mut variables = Map::new();
    for spec in &template.variables {
        variables.insert(spec.name.clone(), example_value(spec));
    }
    variables.extend(given);
    let variables = render::check_variables(template, &variables).map_err(|problems| {
        for p in problems {
            errors.push(FieldError::new(format!("variables.{}", p.name), p.code, p.message));
        }
    });
    let raw = recipient.unwrap_or_else(example_recipient);
    let recipient = Recipient::parse(raw).map_err(|e| errors.extend_under("recipient", e));
    match (variables, recipient) {
        (Ok(v), Ok(r)) if errors.is_empty() => Ok((v, r)),
        _ => Err(PreviewError::Invalid(errors)),
    }
}

/// A value to show where none was given: the template's example, else one plausible for its kind (visibly
/// an example for text).
fn example_value(spec: &VariableSpec) -> Value {
    if let Some(example) = &spec.example {
        return json!(example);
    }
    match spec.kind {
        VariableKind::Amount => json!("1250.00"),
        VariableKind::Date => json!(chrono::Utc::now().format("%Y-%m-%d").to_string()),
        _ => json!(format!("[{}]", spec.label)),
    }
}

fn example_recipient() -> RawRecipient {
    serde_json::from_value(json!({
        "kind": "professional", "first_name": "Jeanne", "last_name": "Martin",
        "company": "Boulangerie Martin SARL", "email": "compta@boulangerie-martin.example",
        "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "FR"}
    }))
    .expect("the example recipient is well formed")
}

/// A quick HTML rendering of the same text: paragraphs and line breaks, every character escaped.
fn html_of(letter: &LetterDocument) -> String {
    let mut html = String::from("<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>");
    html.push_str(&escape(&letter.subject));
    html.push_str("</title><body><article class=\"letter\">");
    for paragraph in letter.to_text().split("\n\n") {
        html.push_str("<p>");
        html.push_str(&paragraph.lines().map(escape).collect::<Vec<_>>().join("<br>"));
        html.push_str("</p>");
    }
    html.push_str("</article></body></html>");
    html
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
