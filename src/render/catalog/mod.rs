//! The template store: templates as versioned data. Each template (shared, or one sender's override of a
//! shared name) has a draft people edit and a published version new letters use; publishing, rolling back
//! and seeding append to its history. Versions are immutable and content-addressed (SHA-256 of the source):
//! a letter pins one at intake and renders with it forever.

mod diff;
mod names;
mod seed;
mod versions;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

pub use diff::unified_diff;
pub use names::{TemplateKind, TemplateScope, VersionRef};
pub use seed::{SeedFile, seed_files};

use super::checks::{TemplateProblem, blocks_publishing, check_template};
use super::{EmailTemplates, LetterTemplate, RenderError, parse_letter_template};
use crate::domain::SenderId;
use crate::store::{NewPublication, Store, StoreError, TemplateRow, now_ms};

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
    letter: Option<Arc<LetterTemplate>>,
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
    pub letter: Option<Arc<LetterTemplate>>,
    pub draft: Option<Draft>,
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub source: String,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The partials letters may include: none, the layout places the letterhead, the address and the
/// signature (see `render::document`), so a letter re-renders the same from its pinned version alone.
pub const LETTER_PARTIALS: [&str; 0] = [];

pub struct TemplateCatalog {
    store: Store,
    published: RwLock<BTreeMap<(TemplateScope, String), Published>>,
    pinned: RwLock<HashMap<String, Arc<LetterTemplate>>>,
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
                TemplateKind::Letter => Some(Arc::new(parse_letter_template(&row.name, &source)?)),
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

    /// The shared version new letters use (shared, not copied: every request of a template reads it).
    pub fn current(&self, name: &str) -> Option<Arc<LetterTemplate>> {
        self.published.read().ok()?.get(&(TemplateScope::Shared, name.to_owned()))?.letter.clone()
    }

    /// The version new letters of `sender` use: the sender's override when it has one, else the shared one.
    pub fn current_for(&self, sender: &SenderId, name: &str) -> Option<Arc<LetterTemplate>> {
        let published = self.published.read().ok()?;
        published
            .get(&(TemplateScope::Sender(sender.clone()), name.to_owned()))
            .or_else(|| published.get(&(TemplateScope::Shared, name.to_owned())))?
            .letter
            .clone()
    }

    /// Every shared letter template.
    pub fn all(&self) -> Vec<Arc<LetterTemplate>> {
        let published = self.published.read().expect("catalog lock");
        published
            .iter()
            .filter(|((s, _), _)| *s == TemplateScope::Shared)
            .filter_map(|(_, p)| p.letter.clone())
            .collect()
    }

    /// The names of the shared letter templates.
    pub fn names(&self) -> Vec<String> {
        self.all().iter().map(|t| t.name.clone()).collect()
    }

    /// The human title of a template ("Relance de facture impayée"), or its name.
    pub fn title(&self, name: &str) -> String {
        self.current(name).map_or_else(|| name.to_owned(), |t| t.title.clone())
    }

    /// The exact version a letter was accepted with.
    pub async fn pinned(&self, name: &str, hash: &str) -> Result<Arc<LetterTemplate>, CatalogError> {
        if let Some(t) = self.pinned.read().ok().and_then(|p| p.get(hash).cloned()) {
            return Ok(t);
        }
        let source = self
            .store
            .template_version(name, hash)
            .await?
            .ok_or_else(|| CatalogError::UnknownVersion { name: name.to_owned(), hash: hash.to_owned() })?;
        let template = Arc::new(parse_letter_template(name, &source)?);
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
}
