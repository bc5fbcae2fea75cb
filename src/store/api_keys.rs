//! API keys: stored as SHA-256 hashes (keys are 256-bit random, so a fast hash is enough and indexable),
//! with their scopes, last use and revocation.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::key_cache::Cached;
use super::{Store, StoreError, StoreResult};
use crate::accounts::Scopes;
use crate::domain::{ApiKeyId, SenderId};

pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub sender_id: &'a SenderId,
    pub hash: &'a str,
    pub prefix: &'a str,
    pub label: Option<&'a str>,
    pub scopes: &'a Scopes,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub sender_id: SenderId,
    /// The first characters of the secret (`rls_` and six more), to recognise a key without revealing it.
    pub prefix: String,
    pub label: Option<String>,
    pub scopes: Scopes,
    pub created_at: i64,
    /// Recorded at most once a minute per key (see `accounts::authenticate`).
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, sender_id, prefix, label, scopes, created_at, last_used_at, revoked_at";

fn key_from_row(r: &AnyRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)?,
        sender_id: r.try_get::<String, _>("sender_id")?.parse().map_err(StoreError::Corrupt)?,
        prefix: r.try_get("prefix")?,
        label: r.try_get("label")?,
        scopes: Scopes::from_storage(&r.try_get::<String, _>("scopes")?).map_err(StoreError::Corrupt)?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

impl Store {
    pub async fn insert_api_key(&self, key: &NewApiKey<'_>) -> StoreResult<()> {
        self.insert_key(key, false).await.map(|_| ())
    }

    /// Inserts the key only if no key exists yet (the first start); false when one already did.
    pub async fn insert_first_api_key(&self, key: &NewApiKey<'_>) -> StoreResult<bool> {
        self.insert_key(key, true).await
    }

    async fn insert_key(&self, key: &NewApiKey<'_>, only_if_none: bool) -> StoreResult<bool> {
        let guard = if only_if_none { " WHERE NOT EXISTS (SELECT 1 FROM api_keys)" } else { "" };
        let sql = format!(
            "INSERT INTO api_keys (id, sender_id, hash, prefix, label, scopes, created_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7{guard}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.id.as_str())
            .bind(key.sender_id.as_str())
            .bind(key.hash)
            .bind(key.prefix)
            .bind(key.label)
            .bind(key.scopes.to_storage())
            .bind(key.now)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The live (not revoked) key with this hash, if any: from memory when this process read it less than
    /// [`RECHECK`](super::key_cache::RECHECK) ago and revoked nothing since, else from the database.
    pub async fn api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let revocations = match self.keys.get(hash) {
            Cached::Fresh(key) => return Ok(Some(key)),
            Cached::Stale { revocations } => revocations,
        };
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE hash = $1 AND revoked_at IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(&self.reader).await?;
        let key = row.as_ref().map(key_from_row).transpose()?;
        self.keys.put(hash, key.as_ref(), revocations);
        Ok(key)
    }

    /// Whether this caller records the key's use at `at` (see `touch_api_key`): only when its last recorded use
    /// is older than `stale_before`, and for one caller at a time.
    pub fn claim_api_key_use(&self, hash: &str, read: &ApiKeyRecord, at: i64, stale_before: i64) -> bool {
        self.keys.claim_use(hash, read, at, stale_before)
    }

    /// Every key, or a sender's keys, oldest first (revoked ones included).
    pub async fn api_keys(&self, sender: Option<&SenderId>) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = match sender {
            Some(sender) => {
                let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE sender_id = $1 ORDER BY created_at, id");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(sender.as_str()).fetch_all(&self.reader).await?
            }
            None => {
                let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id");
                sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await?
            }
        };
        rows.iter().map(key_from_row).collect()
    }

    pub async fn api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&self.reader).await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Marks the key revoked (keeping the first revocation time); the key as it now is, if it exists.
    pub async fn revoke_api_key(&self, id: &ApiKeyId, now: i64) -> StoreResult<Option<ApiKeyRecord>> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.as_str())
            .execute(&self.writer)
            .await?;
        self.keys.revoke(id);
        self.api_key(id).await
    }

    /// Records a use of the key, unless one was recorded after `stale_before` (so concurrent requests
    /// write once).
    pub async fn touch_api_key(&self, id: &ApiKeyId, now: i64, stale_before: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now)
        .bind(id.as_str())
        .bind(stale_before)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn count_api_keys(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM api_keys").fetch_one(&self.reader).await?;
        Ok(row.try_get("n")?)
    }
}
