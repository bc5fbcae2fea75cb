//! A template's life: drafts people save (problems and all), versions published from them or rolled back
//! to, and the history and sources of those versions.

use std::sync::Arc;

use super::{CatalogError, Published, TemplateCatalog, TemplateKind, TemplateScope, VersionRef, content_hash};
use crate::render::checks::{TemplateProblem, blocks_publishing};
use crate::render::parse_letter_template;
use crate::store::{NewPublication, PublicationRow, now_ms};

impl TemplateCatalog {
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
        let published = Published { kind, source: source.to_owned(), letter: letter.map(Arc::new) };
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
