//! The emails relais sends to the person who asked for a letter, one template per notice kind. They are
//! templates like letters: the catalog recompiles them whenever an email or a partial is published.

use std::sync::{Arc, RwLock};

use handlebars::Handlebars;
use serde_json::Value;

use super::{RenderError, RenderedEmail, registry, render_error, single_line, templates, tidy};

/// The emails relais sends, compiled: a strict, plain-text registry shared across tasks, replaced whole when
/// a new version is published.
pub struct EmailTemplates {
    registry: RwLock<Arc<Handlebars<'static>>>,
}

impl EmailTemplates {
    /// Compiles the emails and partials shipped in `templates/emails/` and `templates/partials/`.
    pub fn shipped() -> Result<Self, RenderError> {
        let emails: Vec<_> = templates::EMAILS.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect();
        let partials: Vec<_> = templates::PARTIALS.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect();
        Ok(Self { registry: RwLock::new(Arc::new(compile(&emails, &partials)?)) })
    }

    /// Replaces every email with these versions, (kind, source) and (partial name, source); on an error the
    /// emails in use stay as they were.
    pub fn replace(&self, emails: &[(String, String)], partials: &[(String, String)]) -> Result<(), RenderError> {
        let compiled = Arc::new(compile(emails, partials)?);
        *self.registry.write().expect("email templates lock") = compiled;
        Ok(())
    }

    /// Renders the email of a notice kind (`delivered`, `awaiting_consent`, …, the file stems). The subject
    /// is one line, as a mail header must be.
    pub fn render(&self, kind: &str, context: &Value) -> Result<RenderedEmail, RenderError> {
        let registry = self.registry.read().expect("email templates lock").clone();
        if !registry.has_template(kind) || kind.ends_with(".subject") {
            return Err(RenderError::UnknownTemplate(kind.to_owned()));
        }
        let subject = registry.render(&subject_of(kind), context).map_err(render_error)?;
        let body = registry.render(kind, context).map_err(render_error)?;
        Ok(RenderedEmail { subject: single_line(&subject), body: tidy(&body) + "\n" })
    }
}

/// One registry holding every email (its body, and its subject from the front matter) and the partials.
fn compile(emails: &[(String, String)], partials: &[(String, String)]) -> Result<Handlebars<'static>, RenderError> {
    let mut registry = registry();
    for (name, source) in partials {
        registry
            .register_partial(name, source.as_str())
            .map_err(|e| RenderError::InvalidTemplate { template: format!("partial.{name}"), reason: e.to_string() })?;
    }
    for (kind, source) in emails {
        let invalid = |reason: String| RenderError::InvalidTemplate { template: format!("email.{kind}"), reason };
        let front = templates::front_matter(kind, source)?;
        if front.subject.trim().is_empty() {
            return Err(invalid("the front matter needs a subject".into()));
        }
        registry
            .register_template_string(&subject_of(kind), front.subject)
            .map_err(|e| invalid(format!("subject: {e}")))?;
        registry.register_template_string(kind, source.as_str()).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(registry)
}

fn subject_of(kind: &str) -> String {
    format!("{kind}.subject")
}
