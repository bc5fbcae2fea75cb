//! The template store: templates as versioned data. Each template (shared, or one sender's override of a
//! shared name) has a draft people edit and a published version new letters use; publishing, rolling back
//! and seeding append to its history. Versions are immutable and content-addressed (SHA-256 of the source):
//! a letter pins one at intake and renders with it forever.

mod diff;
mod seed;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

pub use diff::unified_diff;
pub use seed::{SeedFile, seed_files};

use super::checks::{TemplateProblem, blocks_publishing, check_template};
use super::{EmailTemplates, LetterTemplate, RenderError, parse_letter_template};
use crate::domain::SenderId;
use crate::store::{NewPublication, PublicationRow, Store, StoreError, TemplateRow, now_ms};

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

    fn parse(stored: &str) -> Result<Self, StoreError> {
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

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("template {name} version {hash} is not stored")]
    UnknownVersion { name: String, hash: String },
    #[error("no template {0}")]
    UnknownTemplate(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("template {0} has no draft to publish")]
    NoDraft(String),
    #[error("the template has {} problem(s)", .0.len())]
    Problems(Vec<TemplateProblem>),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the templates folder: {0}")]
    Io(#[from] std::io::Error),
}

/// A published version, held in memory: letters parsed, emails and partials as text.
#[derive(Debug, Clone)]
struct Published {
    kind: TemplateKind,
    source: String,
    letter: Option<LetterTemplate>,
}

/// A template as the API lists it.
#[derive(Debug, Clone)]
pub struct TemplateInfo {
    pub scope: TemplateScope,
    pub name: String,
    pub kind: TemplateKind,
    pub published_hash: Option<String>,
    pub published_source: Option<String>,
    /// The published letter, parsed (title, description, variables).
    pub letter: Option<LetterTemplate>,
    pub draft: Option<Draft>,
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub source: String,
    pub updated_at: i64,
    pub updated_by: String,
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

/// The partials letters may include: none, the layout places the letterhead, the address and the
/// signature (see `render::document`), so a letter re-renders the same from its pinned version alone.
pub const LETTER_PARTIALS: [&str; 0] = [];

pub struct TemplateCatalog {
    store: Store,
    published: RwLock<BTreeMap<(TemplateScope, String), Published>>,
    pinned: RwLock<HashMap<String, LetterTemplate>>,
    emails: Arc<EmailTemplates>,
}

pub fn content_hash(source: &str) -> String {
    hex::encode(Sha256::digest(source.as_bytes()))
}

impl TemplateCatalog {
    /// Seeds the shipped templates (embedded, overlaid by the files under `dir`): a file whose content is not
    /// yet a known version of its template is published. Then loads every published version.
    pub async fn load(store: Store, dir: Option<&Path>) -> Result<Self, CatalogError> {
        let catalog = Self {
            store,
            published: RwLock::default(),
            pinned: RwLock::default(),
            emails: Arc::new(EmailTemplates::shipped()?),
        };
        catalog.seed(&seed_files(dir)?).await?;
        catalog.reload().await?;
        Ok(catalog)
    }

    /// The emails relais sends, compiled from their published versions (shared with `Services`).
    pub fn emails(&self) -> Arc<EmailTemplates> {
        self.emails.clone()
    }

    async fn seed(&self, files: &[SeedFile]) -> Result<(), CatalogError> {
        let partials: Vec<String> = files
            .iter()
            .filter(|f| f.kind == TemplateKind::Partial)
            .map(|f| TemplateKind::stem(&f.name).to_owned())
            .collect();
        for file in files {
            let hash = content_hash(&file.source);
            let row = self.store.template("", &file.name).await?;
            let known = self.store.template_version_hashes(&file.name).await?;
            let unpublished = row.as_ref().is_none_or(|r| r.published_hash.is_none());
            if !unpublished && known.contains(&hash) {
                continue;
            }
            let problems =
                check_template(file.kind, &file.name, &file.source, &self.allowed_partials(file.kind, &partials));
            if blocks_publishing(&problems) {
                let listed = problems.iter().map(|p| format!("line {:?}: {}", p.line, p.message)).collect::<Vec<_>>();
                tracing::error!(template = %file.name, origin = %file.origin, problems = ?listed,
                    "this template file was not published: fix it, or check it with `relais template check`");
                continue;
            }
            self.store
                .publish_template(&NewPublication {
                    scope: "",
                    name: &file.name,
                    kind: file.kind.as_str(),
                    hash: &hash,
                    source: &file.source,
                    action: "seed",
                    by: &file.origin,
                    comment: None,
                    clear_draft: false,
                    now: now_ms(),
                })
                .await?;
            tracing::info!(template = %file.name, origin = %file.origin, version = &hash[..12], "template published from its file");
        }
        Ok(())
    }

    /// Partial names a template of this kind may include.
    fn allowed_partials(&self, kind: TemplateKind, partials: &[String]) -> Vec<String> {
        match kind {
            TemplateKind::Letter => LETTER_PARTIALS.iter().map(|p| p.to_string()).collect(),
            TemplateKind::Email => partials.to_vec(),
            TemplateKind::Partial => Vec::new(),
        }
    }

    fn partial_names(&self) -> Vec<String> {
        let published = self.published.read().expect("catalog lock");
        published
            .iter()
            .filter(|((scope, _), p)| *scope == TemplateScope::Shared && p.kind == TemplateKind::Partial)
            .map(|((_, name), _)| TemplateKind::stem(name).to_owned())
            .collect()
    }

    /// Reads every published version from the database (also how another instance's publishes arrive).
    pub async fn reload(&self) -> Result<(), CatalogError> {
        let mut published = BTreeMap::new();
        for row in self.store.templates().await? {
            let Some(hash) = row.published_hash.clone() else { continue };
            let kind = TemplateKind::parse(&row.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("template kind {}", row.kind)))?;
            let source = self
                .store
                .template_version(&row.name, &hash)
                .await?
                .ok_or_else(|| CatalogError::UnknownVersion { name: row.name.clone(), hash: hash.clone() })?;
            let letter = match kind {
                TemplateKind::Letter => Some(parse_letter_template(&row.name, &source)?),
                _ => None,
            };
            published.insert((TemplateScope::parse(&row.scope)?, row.name), Published { kind, source, letter });
        }
        *self.published.write().expect("catalog lock") = published;
        self.rebuild_emails()
    }

    /// Recompiles the emails from their published versions and the published partials.
    fn rebuild_emails(&self) -> Result<(), CatalogError> {
        let published = self.published.read().expect("catalog lock");
        let shared = published.iter().filter(|((scope, _), _)| *scope == TemplateScope::Shared);
        let mut emails = Vec::new();
        let mut partials = Vec::new();
        for ((_, name), p) in shared {
            match p.kind {
                TemplateKind::Email => emails.push((TemplateKind::stem(name).to_owned(), p.source.clone())),
                TemplateKind::Partial => partials.push((TemplateKind::stem(name).to_owned(), p.source.clone())),
                TemplateKind::Letter => {}
            }
        }
        self.emails.replace(&emails, &partials)?;
        Ok(())
    }

    /// The shared version new letters use.
    pub fn current(&self, name: &str) -> Option<LetterTemplate> {
        self.published.read().ok()?.get(&(TemplateScope::Shared, name.to_owned()))?.letter.clone()
    }

    /// The version new letters of `sender` use: the sender's override when it has one, else the shared one.
    pub fn current_for(&self, sender: &SenderId, name: &str) -> Option<LetterTemplate> {
        let published = self.published.read().ok()?;
        published
            .get(&(TemplateScope::Sender(sender.clone()), name.to_owned()))
            .or_else(|| published.get(&(TemplateScope::Shared, name.to_owned())))?
            .letter
            .clone()
    }

    /// Every shared letter template.
    pub fn all(&self) -> Vec<LetterTemplate> {
        let published = self.published.read().expect("catalog lock");
        published
            .iter()
            .filter(|((s, _), _)| *s == TemplateScope::Shared)
            .filter_map(|(_, p)| p.letter.clone())
            .collect()
    }

    /// The names of the shared letter templates.
    pub fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|t| t.name).collect()
    }

    /// The human title of a template ("Relance de facture impayée"), or its name.
    pub fn title(&self, name: &str) -> String {
        self.current(name).map(|t| t.title).unwrap_or_else(|| name.to_owned())
    }

    /// The exact version a letter was accepted with.
    pub async fn pinned(&self, name: &str, hash: &str) -> Result<LetterTemplate, CatalogError> {
        if let Some(t) = self.pinned.read().ok().and_then(|p| p.get(hash).cloned()) {
            return Ok(t);
        }
        let source = self
            .store
            .template_version(name, hash)
            .await?
            .ok_or_else(|| CatalogError::UnknownVersion { name: name.to_owned(), hash: hash.to_owned() })?;
        let template = parse_letter_template(name, &source)?;
        if let Ok(mut pinned) = self.pinned.write() {
            pinned.insert(hash.to_owned(), template.clone());
        }
        Ok(template)
    }

    /// Every template with its draft, shared ones first, then overrides.
    pub async fn list(&self) -> Result<Vec<TemplateInfo>, CatalogError> {
        let rows = self.store.templates().await?;
        rows.into_iter().map(|row| self.info(row)).collect()
    }

    /// One template, or `UnknownTemplate`.
    pub async fn get(&self, scope: &TemplateScope, name: &str) -> Result<TemplateInfo, CatalogError> {
        let row = self.store.template(scope.as_str(), name).await?;
        self.info(row.ok_or_else(|| CatalogError::UnknownTemplate(name.to_owned()))?)
    }

    fn info(&self, row: TemplateRow) -> Result<TemplateInfo, CatalogError> {
        let scope = TemplateScope::parse(&row.scope)?;
        let published = self.published.read().expect("catalog lock").get(&(scope.clone(), row.name.clone())).cloned();
        let draft = match (row.draft_source, row.draft_updated_at) {
            (Some(source), Some(updated_at)) => {
                Some(Draft { source, updated_at, updated_by: row.draft_updated_by.unwrap_or_default() })
            }
            _ => None,
        };
        Ok(TemplateInfo {
            kind: TemplateKind::parse(&row.kind).unwrap_or(TemplateKind::of_name(&row.name)),
            published_hash: row.published_hash,
            published_source: published.as_ref().map(|p| p.source.clone()),
            letter: published.and_then(|p| p.letter),
            scope,
            name: row.name,
            draft,
        })
    }

    /// The checks of a source as a template of this name would get them.
    pub fn check(&self, name: &str, source: &str) -> Vec<TemplateProblem> {
        let kind = TemplateKind::of_name(name);
        check_template(kind, name, source, &self.allowed_partials(kind, &self.partial_names()))
    }

    /// Saves a draft (problems and all: a draft may be saved with errors) and returns its problems. A new
    /// name creates the template; an override needs the shared template to exist; emails cannot be invented
    /// (nothing would send them).
    pub async fn save_draft(
        &self,
        scope: &TemplateScope,
        name: &str,
        source: &str,
        by: &str,
    ) -> Result<Vec<TemplateProblem>, CatalogError> {
        check_name(name)?;
        let kind = TemplateKind::of_name(name);
        let exists_shared = self.store.template("", name).await?.is_some();
        if kind == TemplateKind::Email && !exists_shared {
            return Err(CatalogError::InvalidName(format!(
                "`{name}` is not one of the emails relais sends; their templates are named email.<kind>"
            )));
        }
        if scope.sender().is_some() && !exists_shared {
            return Err(CatalogError::InvalidName(format!(
                "a sender can override a shared template only: there is no shared template `{name}`"
            )));
        }
        self.store.save_template_draft(scope.as_str(), name, kind.as_str(), source, by, now_ms()).await?;
        Ok(self.check(name, source))
    }

    /// Publishes the draft as a new version, refused while it has problems.
    pub async fn publish(
        &self,
        scope: &TemplateScope,
        name: &str,
        comment: Option<&str>,
        by: &str,
    ) -> Result<String, CatalogError> {
        let info = self.get(scope, name).await?;
        let draft = info.draft.ok_or_else(|| CatalogError::NoDraft(name.to_owned()))?;
        self.make_current(scope, name, info.kind, &draft.source, "publish", comment, by, true).await
    }

    /// Publishes an older version again, as a new entry of the history.
    pub async fn rollback(
        &self,
        scope: &TemplateScope,
        name: &str,
        hash: &str,
        comment: Option<&str>,
        by: &str,
    ) -> Result<String, CatalogError> {
        let info = self.get(scope, name).await?;
        let history = self.store.template_publications(scope.as_str(), name).await?;
        let unknown = || CatalogError::UnknownVersion { name: name.to_owned(), hash: hash.to_owned() };
        if !history.iter().any(|p| p.hash == hash) {
            return Err(unknown());
        }
        let source = self.store.template_version(name, hash).await?.ok_or_else(unknown)?;
        self.make_current(scope, name, info.kind, &source, "rollback", comment, by, false).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn make_current(
        &self,
        scope: &TemplateScope,
        name: &str,
        kind: TemplateKind,
        source: &str,
        action: &str,
        comment: Option<&str>,
        by: &str,
        clear_draft: bool,
    ) -> Result<String, CatalogError> {
        let problems = self.check(name, source);
        if blocks_publishing(&problems) {
            return Err(CatalogError::Problems(problems));
        }
        let letter = match kind {
            TemplateKind::Letter => Some(parse_letter_template(name, source)?),
            _ => None,
        };
        let hash = content_hash(source);
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        self.store
            .publish_template(&NewPublication {
                scope: scope.as_str(),
                name,
                kind: kind.as_str(),
                hash: &hash,
                source,
                action,
                by,
                comment,
                clear_draft,
                now: now_ms(),
            })
            .await?;
        let published = Published { kind, source: source.to_owned(), letter };
        self.published.write().expect("catalog lock").insert((scope.clone(), name.to_owned()), published);
        if kind != TemplateKind::Letter {
            self.rebuild_emails()?;
        }
        Ok(hash)
    }

    /// A template's history, oldest first.
    pub async fn history(&self, scope: &TemplateScope, name: &str) -> Result<Vec<PublicationRow>, CatalogError> {
        self.get(scope, name).await?;
        Ok(self.store.template_publications(scope.as_str(), name).await?)
    }

    /// The source of a version of a template: its draft, its published version, or a stored version.
    pub async fn source_of(
        &self,
        scope: &TemplateScope,
        name: &str,
        version: &VersionRef,
    ) -> Result<String, CatalogError> {
        let info = self.get(scope, name).await?;
        let missing = |what: &str| CatalogError::UnknownVersion { name: name.to_owned(), hash: what.to_owned() };
        match version {
            VersionRef::Draft => info.draft.map(|d| d.source).ok_or_else(|| CatalogError::NoDraft(name.to_owned())),
            VersionRef::Published => info.published_source.ok_or_else(|| missing("published")),
            VersionRef::Hash(hash) => self.store.template_version(name, hash).await?.ok_or_else(|| missing(hash)),
        }
    }
}

/// Template names: lowercase letters, digits and dashes, with the `email.`/`partial.` prefix of their kind.
fn check_name(name: &str) -> Result<(), CatalogError> {
    let stem = TemplateKind::stem(name);
    let ok = !stem.is_empty()
        && name.len() <= 64
        && stem.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && stem.starts_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(CatalogError::InvalidName(format!(
            "`{name}` is not a template name: lowercase letters, digits and dashes, like mise-en-demeure \
             (emails are email.<kind>, partials partial.<name>)"
        )))
    }
}
