//! Rendering: letter templates (handlebars, strict mode, French helpers) with their declared variables, the
//! emails relais sends, the template store (`catalog`), and the letter as a PDF (`document`, `pdf`).

pub mod catalog;
pub mod checks;
pub mod document;
mod emails;
mod helpers;
pub mod pdf;
mod templates;
mod variables;

use std::sync::OnceLock;

use handlebars::{Handlebars, RenderErrorReason, Template};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use catalog::{TemplateKind, TemplateScope};
pub use checks::TemplateProblem;
pub use emails::EmailTemplates;
pub use helpers::{french_date, french_euros, parse_amount, parse_date};
pub use variables::check_variables;

/// A letter template as shipped or as stored: its source text and what it declares.
#[derive(Debug, Clone)]
pub struct LetterTemplate {
    pub name: String,
    pub title: String,
    pub description: String,
    /// The whole `.hbs` text, front matter included.
    pub source: String,
    /// Lowercase hex SHA-256 of `source`: the version id a letter pins.
    pub hash: String,
    pub variables: Vec<VariableSpec>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VariableSpec {
    pub name: String,
    /// The French label shown to users ("Montant dû").
    pub label: String,
    /// Other labels users may write for it ("Montant", "Amount").
    pub aliases: Vec<String>,
    pub kind: VariableKind,
    pub required: bool,
    /// A typical value ("F-2026-0042"), used by previews when none is given.
    pub example: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    /// A short text: a name, a number, a line (at most 2,000 characters).
    Text,
    /// A free text of several paragraphs, such as a letter's body (at most 20,000 characters).
    LongText,
    Amount,
    Date,
}

/// A problem with one variable of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableError {
    pub name: String,
    /// "missing", "unknown" or "invalid".
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("unknown template {0}")]
    UnknownTemplate(String),
    #[error("template {template} is invalid: {reason}")]
    InvalidTemplate { template: String, reason: String },
    #[error("variable {variable} is missing")]
    MissingVariable { variable: String },
    #[error("rendering failed: {0}")]
    Failed(String),
}

/// A rendered letter: its object line (plain text) and its body, in the Markdown of `document::markup`
/// (values escaped into it); `document::LetterDocument` lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedLetter {
    pub subject: String,
    pub body: String,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub body: String,
}

/// A strict registry with the helpers, producing plain text (no HTML escaping).
fn registry() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    helpers::register(&mut registry);
    registry
}

/// The registry letters render with, built once. Letter sources are not registered in it: each letter
/// renders with the version it pinned, given as a string. Letters include no partials: the layout places
/// the letterhead, the address and the signature, and a letter re-renders from its pinned version alone.
/// Every value is escaped for the letter's Markdown (`document::escape`): a value prints as text, whatever
/// it contains.
fn letter_registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut registry = registry();
        registry.register_escape_fn(document::escape);
        registry
    })
}

/// The registry of one template version, its body and subject compiled once: parsing a template costs
/// more than rendering it, and every letter is rendered at intake and again by its worker.
fn compiled(template: &LetterTemplate) -> Result<std::sync::Arc<Handlebars<'static>>, RenderError> {
    type Cache = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Handlebars<'static>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&template.hash).cloned()) {
        return Ok(found);
    }
    let front = templates::front_matter(&template.name, &template.source)?;
    let invalid = |e: handlebars::TemplateError| RenderError::InvalidTemplate {
        template: template.name.clone(),
        reason: e.to_string(),
    };
    let mut registry = letter_registry().clone();
    registry.register_template_string("subject", &front.subject).map_err(invalid)?;
    registry.register_template_string("body", &template.source).map_err(invalid)?;
    let registry = std::sync::Arc::new(registry);
    if let Ok(mut c) = cache.lock() {
        c.insert(template.hash.clone(), registry.clone());
    }
    Ok(registry)
}

/// Strict-mode misses become `MissingVariable` with the path, so callers can tell users which field to give.
fn render_error(e: handlebars::RenderError) -> RenderError {
    match e.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => RenderError::MissingVariable { variable: path.clone() },
        _ => RenderError::Failed(e.to_string()),
    }
}

/// Parses a template source: reads its TOML front matter, checks its declarations (variable names usable in
/// templates, unique, none of the reserved `sender`, `recipient`, `letter`) and that body and subject compile.
/// The hash of the whole source is the version id a letter pins.
pub fn parse_letter_template(name: &str, source: &str) -> Result<LetterTemplate, RenderError> {
    let invalid = |reason: String| RenderError::InvalidTemplate { template: name.to_owned(), reason };
    let front = templates::front_matter(name, source)?;
    if front.title.trim().is_empty() {
        return Err(invalid("the front matter needs a title".into()));
    }
    let variables: Vec<VariableSpec> = front
        .variables
        .into_iter()
        .map(|v| VariableSpec {
            name: v.name,
            label: v.label,
            aliases: v.aliases,
            kind: v.kind,
            required: v.required,
            example: v.example,
        })
        .collect();
    variables::check_declarations(&variables).map_err(invalid)?;
    Template::compile(source).map_err(|e| invalid(e.to_string()))?;
    Template::compile(&front.subject).map_err(|e| invalid(format!("subject: {e}")))?;
    Ok(LetterTemplate {
        name: name.to_owned(),
        title: front.title,
        description: front.description,
        source: source.to_owned(),
        hash: hex::encode(Sha256::digest(source.as_bytes())),
        variables,
    })
}

/// The letter templates shipped in `templates/letters/`.
pub fn shipped_letter_templates() -> Vec<LetterTemplate> {
    templates::LETTERS
        .iter()
        .map(|(name, source)| parse_letter_template(name, source).expect("shipped letter templates are valid"))
        .collect()
}

/// Renders a letter from a (pinned) template with its context, in strict mode: a path the context lacks is a
/// `MissingVariable`, never a blank in a legal letter. The subject is the rendered `subject` of the front
/// matter, or the template's title when it has none.
pub fn render_letter(template: &LetterTemplate, context: Value) -> Result<RenderedLetter, RenderError> {
    let (subject, body) = render_parts(template, context)?;
    let subject = document::markup::plain_line(&subject);
    let subject = if subject.is_empty() { template.title.clone() } else { subject };
    Ok(RenderedLetter { subject, body })
}

/// The letter's body (tidied Markdown), its subject rendered too but only to be checked: what a trial of the
/// letter at intake needs, without making the subject a line of plain text.
pub fn render_body(template: &LetterTemplate, context: Value) -> Result<String, RenderError> {
    render_parts(template, context).map(|(_, body)| body)
}

/// The subject as the template renders it, and the tidied body.
fn render_parts(template: &LetterTemplate, context: Value) -> Result<(String, String), RenderError> {
    let registry = compiled(template)?;
    // Handed over as it is: `render` would serialise the context into a new value for each of the two parts.
    let context = handlebars::Context::from(context);
    let subject = registry.render_with_context("subject", &context).map_err(render_error)?;
    let body = registry.render_with_context("body", &context).map_err(render_error)?;
    Ok((subject, tidy(&body)))
}

/// Collapses a rendered subject to one line: it becomes a mail header or a letter's object line.
fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims the blank lines that block helpers leave, keeping single blank lines between paragraphs.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines().map(str::trim_end) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests;
