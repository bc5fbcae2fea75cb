//! The template store: the current version of each letter template, and every version ever used, by hash.
//! Shipped templates are seeded into the database at start; a letter renders with the version it pinned.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::{LetterTemplate, RenderError, parse_letter_template, shipped_letter_templates};
use crate::store::{Store, StoreError, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("template {name} version {hash} is not stored")]
    UnknownVersion { name: String, hash: String },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct TemplateCatalog {
    store: Store,
    current: RwLock<BTreeMap<String, LetterTemplate>>,
    pinned: RwLock<HashMap<String, LetterTemplate>>,
}

impl TemplateCatalog {
    /// Seeds the shipped templates as versions (once per content hash) and makes them current.
    pub async fn load(store: Store) -> Result<Self, CatalogError> {
        let mut current = BTreeMap::new();
        for template in shipped_letter_templates() {
            store.save_template_version(&template.name, &template.hash, &template.source, now_ms()).await?;
            current.insert(template.name.clone(), template);
        }
        Ok(Self { store, current: RwLock::new(current), pinned: RwLock::default() })
    }

    /// The version new letters use.
    pub fn current(&self, name: &str) -> Option<LetterTemplate> {
        self.current.read().ok()?.get(name).cloned()
    }

    /// Every current template.
    pub fn all(&self) -> Vec<LetterTemplate> {
        self.current.read().map(|c| c.values().cloned().collect()).unwrap_or_default()
    }

    pub fn names(&self) -> Vec<String> {
        self.current.read().map(|c| c.keys().cloned().collect()).unwrap_or_default()
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
}
