//! Templates as data: every source ever stored, by content hash (`template_versions`); per template its
//! published version and its draft (`templates`); and the append-only history of publications.

use sqlx::Row;

use super::{Store, StoreError, StoreResult};
use crate::domain::PublicationId;

/// One template as stored: shared (`scope` empty) or one sender's override of a shared name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub scope: String,
    pub name: String,
    pub kind: String,
    pub published_hash: Option<String>,
    pub draft_source: Option<String>,
    pub draft_updated_at: Option<i64>,
    pub draft_updated_by: Option<String>,
}

/// One entry of a template's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublicationRow {
    pub id: String,
    pub scope: String,
    pub name: String,
    pub hash: String,
    pub action: String,
    pub published_at: i64,
    pub published_by: String,
    pub comment: Option<String>,
}

/// A version made current: stored if new, recorded in the history, and the draft dropped when it was the
/// draft that got published.
pub struct NewPublication<'a> {
    pub scope: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub hash: &'a str,
    pub source: &'a str,
    pub action: &'a str,
    pub by: &'a str,
    pub comment: Option<&'a str>,
    pub clear_draft: bool,
    pub now: i64,
}

const TEMPLATE_COLUMNS: &str = "scope, name, kind, published_hash, draft_source, draft_updated_at, draft_updated_by";

impl Store {
    /// Stores a version if it is new (same name and hash: nothing to do).
    pub async fn save_template_version(&self, name: &str, hash: &str, source: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO template_versions (name, hash, source, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, hash) DO NOTHING",
        )
        .bind(name)
        .bind(hash)
        .bind(source)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn template_version(&self, name: &str, hash: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT source FROM template_versions WHERE name = $1 AND hash = $2")
            .bind(name)
            .bind(hash)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| r.try_get("source")).transpose()?)
    }

    /// Every stored template, shared ones and overrides.
    pub async fn templates(&self) -> StoreResult<Vec<TemplateRow>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates ORDER BY name, scope");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await?)
    }

    pub async fn template(&self, scope: &str, name: &str) -> StoreResult<Option<TemplateRow>> {
        let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM templates WHERE scope = $1 AND name = $2");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(scope).bind(name).fetch_optional(&self.reader).await?)
    }

    /// Saves the draft of a template, creating the template (unpublished) when it is new.
    pub async fn save_template_draft(
        &self,
        scope: &str,
        name: &str,
        kind: &str,
        source: &str,
        by: &str,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO templates (scope, name, kind, published_hash, draft_source, draft_updated_at, draft_updated_by) \
             VALUES ($1, $2, $3, NULL, $4, $5, $6) \
             ON CONFLICT (scope, name) DO UPDATE SET draft_source = $4, draft_updated_at = $5, draft_updated_by = $6",
        )
        .bind(scope)
        .bind(name)
        .bind(kind)
        .bind(source)
        .bind(now)
        .bind(by)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Publishes a version in one transaction: the version stored, the template pointing at it, the history
    /// entry written.
    pub async fn publish_template(&self, p: &NewPublication<'_>) -> StoreResult<PublicationId> {
        let id = PublicationId::generate();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO template_versions (name, hash, source, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, hash) DO NOTHING",
        )
        .bind(p.name)
        .bind(p.hash)
        .bind(p.source)
        .bind(p.now)
        .execute(&mut *tx)
        .await?;
        let draft_update =
            if p.clear_draft { ", draft_source = NULL, draft_updated_at = NULL, draft_updated_by = NULL" } else { "" };
        // Only a fixed clause is spliced in: every value is bound.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO templates (scope, name, kind, published_hash) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (scope, name) DO UPDATE SET published_hash = $4{draft_update}"
        )))
        .bind(p.scope)
        .bind(p.name)
        .bind(p.kind)
        .bind(p.hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO template_publications (id, scope, name, hash, action, published_at, published_by, comment) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_str())
        .bind(p.scope)
        .bind(p.name)
        .bind(p.hash)
        .bind(p.action)
        .bind(p.now)
        .bind(p.by)
        .bind(p.comment)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A template's history, oldest first.
    pub async fn template_publications(&self, scope: &str, name: &str) -> StoreResult<Vec<PublicationRow>> {
        Ok(sqlx::query_as(
            "SELECT id, scope, name, hash, action, published_at, published_by, comment FROM template_publications \
             WHERE scope = $1 AND name = $2 ORDER BY published_at, id",
        )
        .bind(scope)
        .bind(name)
        .fetch_all(&self.reader)
        .await?)
    }

    /// The hashes stored for a template name, to tell a known version from a new one.
    pub async fn template_version_hashes(&self, name: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT hash FROM template_versions WHERE name = $1")
            .bind(name)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| r.try_get::<String, _>("hash").map_err(StoreError::from)).collect()
    }
}
