//! API keys: stored as SHA-256 hashes (keys are 256-bit random, so a fast hash is enough and indexable).

use sqlx::Row;

use super::{Store, StoreError, StoreResult};
use crate::domain::{ApiKeyId, SenderId};

pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub sender_id: &'a SenderId,
    pub hash: &'a str,
    pub prefix: &'a str,
    pub label: Option<&'a str>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub sender_id: SenderId,
    pub prefix: String,
    pub label: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_api_key(&self, key: &NewApiKey<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, sender_id, hash, prefix, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id.as_str())
        .bind(key.sender_id.as_str())
        .bind(key.hash)
        .bind(key.prefix)
        .bind(key.label)
        .bind(key.now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The live key with this hash, if any.
    pub async fn api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, sender_id, prefix, label, created_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(ApiKeyRecord {
                id: r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)?,
                sender_id: r.try_get::<String, _>("sender_id")?.parse().map_err(StoreError::Corrupt)?,
                prefix: r.try_get("prefix")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn count_api_keys(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM api_keys").fetch_one(&self.reader).await?;
        Ok(row.try_get("n")?)
    }
}
