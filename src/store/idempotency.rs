//! Idempotency keys: a request's key, per sender, names the letter it made and the SHA-256 of the request, so
//! that the same key again answers that letter and the same key with another request is a conflict.

use sqlx::{AnyConnection, Row};

use super::letters::corrupt;
use super::{Store, StoreResult};
use crate::domain::{LetterId, SenderId};

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub request_sha256: String,
    pub letter_id: LetterId,
}

pub async fn find_idempotency(
    conn: &mut AnyConnection,
    sender: &SenderId,
    key: &str,
) -> StoreResult<Option<IdempotencyRecord>> {
    let row = sqlx::query("SELECT request_sha256, letter_id FROM idempotency_keys WHERE sender_id = $1 AND key = $2")
        .bind(sender.as_str())
        .bind(key)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(IdempotencyRecord {
            request_sha256: r.try_get("request_sha256")?,
            letter_id: r.try_get::<String, _>("letter_id")?.parse().map_err(|e| corrupt("letter id", e))?,
        })
    })
    .transpose()
}

pub async fn insert_idempotency(
    conn: &mut AnyConnection,
    sender: &SenderId,
    key: &str,
    request_sha256: &str,
    letter: &LetterId,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (sender_id, key, request_sha256, letter_id, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sender.as_str())
    .bind(key)
    .bind(request_sha256)
    .bind(letter.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The idempotency record of `key`, read outside any write transaction.
    pub async fn idempotency(&self, sender: &SenderId, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let mut conn = self.reader.acquire().await?;
        find_idempotency(&mut conn, sender, key).await
    }
}
