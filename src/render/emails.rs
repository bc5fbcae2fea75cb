//! The emails relais sends to the person who asked for a letter, one template per notice kind.

use handlebars::Handlebars;
use serde_json::Value;

use super::{RenderError, RenderedEmail, registry, render_error, single_line, templates, tidy};

/// The emails relais sends, compiled once: a strict, plain-text registry shared across tasks.
pub struct EmailTemplates {
    registry: Handlebars<'static>,
}

impl EmailTemplates {
    /// Compiles the emails shipped in `templates/emails/`; each must have a subject.
    pub fn shipped() -> Result<Self, RenderError> {
        let mut registry = registry();
        for (kind, source) in templates::EMAILS {
            let invalid = |reason: String| RenderError::InvalidTemplate { template: kind.to_string(), reason };
            let front = templates::front_matter(kind, source)?;
            if front.subject.trim().is_empty() {
                return Err(invalid("the front matter needs a subject".into()));
            }
            registry
                .register_template_string(&subject_of(kind), front.subject)
                .map_err(|e| invalid(format!("subject: {e}")))?;
            registry.register_template_string(kind, *source).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(Self { registry })
    }

    /// Renders the email of a notice kind (`delivered`, `awaiting_consent`, …, the file stems). The subject
    /// is one line, as a mail header must be.
    pub fn render(&self, kind: &str, context: &Value) -> Result<RenderedEmail, RenderError> {
        if !self.registry.has_template(kind) || kind.ends_with(".subject") {
            return Err(RenderError::UnknownTemplate(kind.to_owned()));
        }
        let subject = self.registry.render(&subject_of(kind), context).map_err(render_error)?;
        let body = self.registry.render(kind, context).map_err(render_error)?;
        Ok(RenderedEmail { subject: single_line(&subject), body: tidy(&body) + "\n" })
    }
}

fn subject_of(kind: &str) -> String {
    format!("{kind}.subject")
}
