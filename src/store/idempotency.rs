//! Idempotency keys: a request's key, per sender, names the letter it made and the SHA-256 of the request, so
//! that the same key again answers that letter and the same key with another request is a conflict.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::arrivals::{Placeholders, ROWS_PER_STATEMENT};
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
    row.as_ref().map(record).transpose()
}

/// The records of every `(sender, key)` given that has one, keyed by both: a statement per sixteen keys
/// instead of one per key.
pub async fn find_idempotencies(
    conn: &mut AnyConnection,
    keys: &[(&SenderId, &str)],
) -> StoreResult<HashMap<(SenderId, String), IdempotencyRecord>> {
    let mut found = HashMap::new();
    let placeholders = Placeholders::of(conn);
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from("SELECT sender_id, key, request_sha256, letter_id FROM idempotency_keys WHERE ");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(sender_id = " } else { " OR (sender_id = " });
            placeholders.push(&mut sql, 2 * i + 1);
            sql.push_str(" AND key = ");
            placeholders.push(&mut sql, 2 * i + 2);
            sql.push(')');
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (sender, key) in chunk {
            query = query.bind(sender.as_str().to_owned()).bind((*key).to_owned());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let sender: String = row.try_get("sender_id")?;
            let sender = sender.parse().map_err(|e| corrupt("sender id", e))?;
            found.insert((sender, row.try_get("key")?), record(&row)?);
        }
    }
    Ok(found)
}

fn record(row: &AnyRow) -> StoreResult<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        request_sha256: row.try_get("request_sha256")?,
        letter_id: row.try_get::<String, _>("letter_id")?.parse().map_err(|e| corrupt("letter id", e))?,
    })
}

impl Store {
    /// The idempotency record of `key`, read outside any write transaction.
    pub async fn idempotency(&self, sender: &SenderId, key: &str) -> StoreResult<Option<IdempotencyRecord>> {
        let mut conn = self.reader.acquire().await?;
        find_idempotency(&mut conn, sender, key).await
    }
}
