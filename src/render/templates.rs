//! The templates shipped in `templates/`, embedded in the binary, and their TOML front matter.

use serde::Deserialize;

use super::{RenderError, VariableKind};

/// Letter templates: (name, source).
pub const LETTERS: &[(&str, &str)] = &[
    ("relance-facture", include_str!("../../templates/letters/relance-facture.hbs")),
    ("mise-en-demeure", include_str!("../../templates/letters/mise-en-demeure.hbs")),
    ("relance-amiable", include_str!("../../templates/letters/relance-amiable.hbs")),
    ("resiliation", include_str!("../../templates/letters/resiliation.hbs")),
    ("lettre-libre", include_str!("../../templates/letters/lettre-libre.hbs")),
];

/// Partials usable as `{{> name}}` (a letter's letterhead, address and signature are laid out from the
/// sender's settings, not written in templates).
pub const PARTIALS: &[(&str, &str)] = &[("email-summary", include_str!("../../templates/partials/email-summary.hbs"))];

/// Emails relais sends, one per notice kind.
pub const EMAILS: &[(&str, &str)] = &[
    ("accepted", include_str!("../../templates/emails/accepted.hbs")),
    ("awaiting_consent", include_str!("../../templates/emails/awaiting_consent.hbs")),
    ("awaiting_approval", include_str!("../../templates/emails/awaiting_approval.hbs")),
    ("deposited", include_str!("../../templates/emails/deposited.hbs")),
    ("delivered", include_str!("../../templates/emails/delivered.hbs")),
    ("refused", include_str!("../../templates/emails/refused.hbs")),
    ("not_claimed", include_str!("../../templates/emails/not_claimed.hbs")),
    ("bounced", include_str!("../../templates/emails/bounced.hbs")),
    ("failed", include_str!("../../templates/emails/failed.hbs")),
    ("needs_attention", include_str!("../../templates/emails/needs_attention.hbs")),
    ("provider_unreachable", include_str!("../../templates/emails/provider_unreachable.hbs")),
    ("paper_fallback", include_str!("../../templates/emails/paper_fallback.hbs")),
    ("content_proof", include_str!("../../templates/emails/content_proof.hbs")),
    ("cancelled", include_str!("../../templates/emails/cancelled.hbs")),
    ("reply-accepted", include_str!("../../templates/emails/reply-accepted.hbs")),
    ("reply-accepted-en", include_str!("../../templates/emails/reply-accepted-en.hbs")),
    ("reply-rejected", include_str!("../../templates/emails/reply-rejected.hbs")),
    ("reply-rejected-en", include_str!("../../templates/emails/reply-rejected-en.hbs")),
    ("reply-refused", include_str!("../../templates/emails/reply-refused.hbs")),
    ("reply-refused-en", include_str!("../../templates/emails/reply-refused-en.hbs")),
    ("reply-confirm", include_str!("../../templates/emails/reply-confirm.hbs")),
    ("reply-confirm-en", include_str!("../../templates/emails/reply-confirm-en.hbs")),
    ("reply-duplicate", include_str!("../../templates/emails/reply-duplicate.hbs")),
    ("reply-duplicate-en", include_str!("../../templates/emails/reply-duplicate-en.hbs")),
    ("reply-expired", include_str!("../../templates/emails/reply-expired.hbs")),
    ("reply-expired-en", include_str!("../../templates/emails/reply-expired-en.hbs")),
    ("callback_failing", include_str!("../../templates/emails/callback_failing.hbs")),
    ("callback_disabled", include_str!("../../templates/emails/callback_disabled.hbs")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub variables: Vec<RawVariable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub kind: VariableKind,
    #[serde(default = "required_by_default")]
    pub required: bool,
    /// A typical value, used by previews when none is given.
    #[serde(default)]
    pub example: Option<String>,
}

fn required_by_default() -> bool {
    true
}

/// Reads the TOML in the leading `{{!-- … --}}` comment of a template (which renders to nothing).
pub fn front_matter(name: &str, source: &str) -> Result<FrontMatter, RenderError> {
    let invalid = |reason: String| RenderError::InvalidTemplate { template: name.to_owned(), reason };
    let body = source
        .trim_start()
        .strip_prefix("{{!--")
        .and_then(|rest| rest.split_once("--}}"))
        .map(|(toml, _)| toml)
        .ok_or_else(|| invalid("it must start with a {{!-- … --}} block holding its TOML front matter".into()))?;
    toml::from_str(body).map_err(|e| invalid(format!("front matter: {e}")))
}
