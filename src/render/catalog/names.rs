//! What names a template and one of its versions: its kind (from its name), its scope (shared or one
//! sender's override) and a version reference (draft, published, or a hash).

use crate::domain::SenderId;
use crate::store::StoreError;

/// What a template is for; its name tells it (`email.…`, `partial.…`, else a letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    Letter,
    Email,
    Partial,
}

impl TemplateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Letter => "letter",
            Self::Email => "email",
            Self::Partial => "partial",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Letter, Self::Email, Self::Partial].into_iter().find(|k| k.as_str() == stored)
    }

    /// The kind a template name denotes.
    pub fn of_name(name: &str) -> Self {
        if name.starts_with("email.") {
            Self::Email
        } else if name.starts_with("partial.") {
            Self::Partial
        } else {
            Self::Letter
        }
    }

    /// The folder of `templates/` its files live in.
    pub fn folder(self) -> &'static str {
        match self {
            Self::Letter => "letters",
            Self::Email => "emails",
            Self::Partial => "partials",
        }
    }

    /// The template name of a file stem in this kind's folder.
    pub fn qualify(self, stem: &str) -> String {
        match self {
            Self::Letter => stem.to_owned(),
            Self::Email | Self::Partial => format!("{}.{stem}", self.as_str()),
        }
    }

    /// The file stem (and, for partials, the `{{> name}}`) of a template name.
    pub fn stem(name: &str) -> &str {
        name.split_once('.').filter(|(p, _)| *p == "email" || *p == "partial").map_or(name, |(_, s)| s)
    }
}

/// Whose template: the shared one, or a sender's override of it (stored as the sender id, shared as "").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TemplateScope {
    Shared,
    Sender(SenderId),
}

impl TemplateScope {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Shared => "",
            Self::Sender(id) => id.as_str(),
        }
    }

    pub(super) fn parse(stored: &str) -> Result<Self, StoreError> {
        match stored {
            "" => Ok(Self::Shared),
            id => id.parse().map(Self::Sender).map_err(StoreError::Corrupt),
        }
    }

    pub fn sender(&self) -> Option<&SenderId> {
        match self {
            Self::Shared => None,
            Self::Sender(id) => Some(id),
        }
    }
}

/// Which version of a template: its draft, its published version, or a version by hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Draft,
    Published,
    Hash(String),
}

impl VersionRef {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Self::Draft),
            "published" | "" => Some(Self::Published),
            hash if hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
                Some(Self::Hash(hash.to_ascii_lowercase()))
            }
            _ => None,
        }
    }
}
