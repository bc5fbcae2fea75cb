//! Template versions: every letter template source ever used, by content hash, so a letter renders with
//! exactly the version it was accepted with.

use sqlx::Row;

use super::{Store, StoreResult};

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
}
