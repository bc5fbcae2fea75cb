//! Rendering: letter templates (handlebars, strict mode, French helpers) with their declared variables, the
//! emails relais sends, the template store (`catalog`), and the letter as a PDF (`document`, `pdf`).

pub mod catalog;
pub mod document;
mod helpers;
pub mod pdf;
mod templates;

use handlebars::{Handlebars, RenderErrorReason};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use helpers::{french_date, french_euros, parse_amount, parse_date};

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
    subject: String,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    Text,
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

/// A rendered letter: its object line and its body, paragraphs separated by blank lines.
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

/// Names that templates see as context objects, never as variables.
const RESERVED: [&str; 3] = ["sender", "recipient", "letter"];

/// A strict registry with the helpers and partials, producing plain text (no HTML escaping).
fn registry() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    helpers::register(&mut registry);
    for (name, source) in templates::PARTIALS {
        registry.register_partial(name, *source).expect("shipped partials compile");
    }
    registry
}

fn render_error(e: handlebars::RenderError) -> RenderError {
    match e.reason() {
        RenderErrorReason::MissingVariable(Some(path)) => RenderError::MissingVariable { variable: path.clone() },
        _ => RenderError::Failed(e.to_string()),
    }
}

/// Parses a template source: reads its front matter, checks that it compiles.
pub fn parse_letter_template(name: &str, source: &str) -> Result<LetterTemplate, RenderError> {
    let front = templates::front_matter(name, source)?;
    let invalid = |reason: String| RenderError::InvalidTemplate { template: name.to_owned(), reason };
    if front.title.trim().is_empty() {
        return Err(invalid("the front matter needs a title".into()));
    }
    if let Some(v) = front.variables.iter().find(|v| RESERVED.contains(&v.name.as_str())) {
        return Err(invalid(format!("`{}` is reserved for the context and cannot be a variable", v.name)));
    }
    let mut check = registry();
    check.register_template_string("body", source).map_err(|e| invalid(e.to_string()))?;
    check.register_template_string("subject", &front.subject).map_err(|e| invalid(e.to_string()))?;
    let variables = front
        .variables
        .into_iter()
        .map(|v| VariableSpec { name: v.name, label: v.label, aliases: v.aliases, kind: v.kind, required: v.required })
        .collect();
    Ok(LetterTemplate {
        name: name.to_owned(),
        title: front.title,
        description: front.description,
        source: source.to_owned(),
        hash: hex::encode(Sha256::digest(source.as_bytes())),
        variables,
        subject: front.subject,
    })
}

/// The letter templates shipped in `templates/letters/`.
pub fn shipped_letter_templates() -> Vec<LetterTemplate> {
    templates::LETTERS
        .iter()
        .map(|(name, source)| parse_letter_template(name, source).expect("shipped letter templates are valid"))
        .collect()
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn normalize(spec: &VariableSpec, value: &Value) -> Result<Value, String> {
    let text = value_text(value).ok_or_else(|| format!("`{}` must be a text or a number", spec.name))?;
    match spec.kind {
        VariableKind::Text => Ok(Value::String(text)),
        VariableKind::Amount => helpers::parse_amount(&text)
            .map(|a| Value::String(format!("{:.2}", a.round_dp(2))))
            .ok_or_else(|| format!("`{text}` is not an amount in euros (like 1250.00 or 1 250,00 €)")),
        VariableKind::Date => helpers::parse_date(&text)
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .ok_or_else(|| format!("`{text}` is not a calendar date (like 2026-10-31 or 31/10/2026)")),
    }
}

/// Checks request variables against the template's declarations and reports every problem at once.
/// Returns them normalized (amounts "1250.00", dates "2026-10-31"); absent optional ones are null.
pub fn check_variables(
    template: &LetterTemplate,
    variables: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<VariableError>> {
    let mut errors = Vec::new();
    let mut normalized = Map::new();
    for spec in &template.variables {
        let given = variables.get(&spec.name).filter(|v| !v.is_null() && value_text(v).is_none_or(|t| !t.is_empty()));
        match given {
            None if spec.required => errors.push(VariableError {
                name: spec.name.clone(),
                code: "missing",
                message: format!("the template `{}` needs `{}` ({})", template.name, spec.name, spec.label),
            }),
            None => {
                normalized.insert(spec.name.clone(), Value::Null);
            }
            Some(value) => match normalize(spec, value) {
                Ok(v) => {
                    normalized.insert(spec.name.clone(), v);
                }
                Err(message) => errors.push(VariableError { name: spec.name.clone(), code: "invalid", message }),
            },
        }
    }
    for name in variables.keys().filter(|k| !template.variables.iter().any(|s| &s.name == *k)) {
        let known: Vec<&str> = template.variables.iter().map(|s| s.name.as_str()).collect();
        errors.push(VariableError {
            name: name.clone(),
            code: "unknown",
            message: format!(
                "the template `{}` has no variable `{name}`; it knows {}",
                template.name,
                known.join(", ")
            ),
        });
    }
    if errors.is_empty() { Ok(normalized) } else { Err(errors) }
}

/// Renders a letter from a (pinned) template with its context, in strict mode.
pub fn render_letter(template: &LetterTemplate, context: &Value) -> Result<RenderedLetter, RenderError> {
    let registry = registry();
    let subject = registry.render_template(&template.subject, context).map_err(render_error)?;
    let body = registry.render_template(&template.source, context).map_err(render_error)?;
    Ok(RenderedLetter { subject: subject.trim().to_owned(), body: tidy(&body) })
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

/// The emails relais sends, compiled once.
pub struct EmailTemplates {
    registry: Handlebars<'static>,
}

impl EmailTemplates {
    pub fn shipped() -> Result<Self, RenderError> {
        let mut registry = registry();
        for (kind, source) in templates::EMAILS {
            let front = templates::front_matter(kind, source)?;
            let invalid = |e: handlebars::TemplateError| RenderError::InvalidTemplate {
                template: kind.to_string(),
                reason: e.to_string(),
            };
            registry.register_template_string(&format!("{kind}.subject"), front.subject).map_err(invalid)?;
            registry.register_template_string(kind, *source).map_err(invalid)?;
        }
        Ok(Self { registry })
    }

    /// Renders the email of a notice kind (`delivered`, `awaiting_consent`, …).
    pub fn render(&self, kind: &str, context: &Value) -> Result<RenderedEmail, RenderError> {
        if !self.registry.has_template(kind) {
            return Err(RenderError::UnknownTemplate(kind.to_owned()));
        }
        let subject = self.registry.render(&format!("{kind}.subject"), context).map_err(render_error)?;
        let body = self.registry.render(kind, context).map_err(render_error)?;
        Ok(RenderedEmail { subject: subject.trim().to_owned(), body: tidy(&body) + "\n" })
    }
}

#[cfg(test)]
mod tests;
