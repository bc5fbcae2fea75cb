//! Emails received, by dedupe key: what became of each (a letter, a rejection, ignored).

use sqlx::{AnyConnection, Row};

use super::{Store, StoreResult};

/// What relais did with one received email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRecord {
    pub dedupe_key: String,
    pub channel: String,
    pub from_address: Option<String>,
    pub content_sha256: String,
    /// `accepted`, `rejected`, `refused` or `ignored`.
    pub outcome: String,
    pub letter_id: Option<String>,
    pub detail: Option<String>,
    pub received_at: i64,
}

impl Store {
    /// Records an email once; false when its dedupe key was already recorded (a duplicate).
    pub async fn record_inbound(&self, r: &InboundRecord) -> StoreResult<bool> {
        let mut conn = self.writer.acquire().await?;
        record(&mut conn, r).await
    }

    /// Forgets what became of an email, so that it is received anew (a refused sender allowed since).
    pub async fn forget_inbound(&self, dedupe_key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM inbound_messages WHERE dedupe_key = $1")
            .bind(dedupe_key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn inbound(&self, dedupe_key: &str) -> StoreResult<Option<InboundRecord>> {
        let row = sqlx::query(
            "SELECT dedupe_key, channel, from_address, content_sha256, outcome, letter_id, detail, received_at \
             FROM inbound_messages WHERE dedupe_key = $1",
        )
        .bind(dedupe_key)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(InboundRecord {
                dedupe_key: r.try_get("dedupe_key")?,
                channel: r.try_get("channel")?,
                from_address: r.try_get("from_address")?,
                content_sha256: r.try_get("content_sha256")?,
                outcome: r.try_get("outcome")?,
                letter_id: r.try_get("letter_id")?,
                detail: r.try_get("detail")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .transpose()
    }
}

/// Records an email once, in the caller's transaction; false when its dedupe key was already recorded.
pub async fn record(conn: &mut AnyConnection, r: &InboundRecord) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO inbound_messages (dedupe_key, channel, from_address, content_sha256, outcome, letter_id, \
         detail, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&r.dedupe_key)
    .bind(&r.channel)
    .bind(r.from_address.as_deref())
    .bind(&r.content_sha256)
    .bind(&r.outcome)
    .bind(r.letter_id.as_deref())
    .bind(r.detail.as_deref())
    .bind(r.received_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
