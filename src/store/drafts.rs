//! Emailed requests waiting for a reply that completes them (see `intake::email::drafts`).

use sqlx::Row;

use super::{Store, StoreResult};

/// One answered request a reply may continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    pub token: String,
    /// The token of the thread's first answer: the request's identity, whatever the number of replies.
    pub root_token: String,
    pub from_address: String,
    pub sender_id: Option<String>,
    pub template: Option<String>,
    /// JSON: the paths of the request's emails, oldest first.
    pub sources: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_draft(&self, r: &DraftRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO email_drafts (token, root_token, from_address, sender_id, template, sources, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.token)
        .bind(&r.root_token)
        .bind(&r.from_address)
        .bind(r.sender_id.as_deref())
        .bind(r.template.as_deref())
        .bind(&r.sources)
        .bind(r.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn draft(&self, token: &str) -> StoreResult<Option<DraftRecord>> {
        let row = sqlx::query(
            "SELECT token, root_token, from_address, sender_id, template, sources, created_at \
             FROM email_drafts WHERE token = $1",
        )
        .bind(token)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(DraftRecord {
                token: r.try_get("token")?,
                root_token: r.try_get("root_token")?,
                from_address: r.try_get("from_address")?,
                sender_id: r.try_get("sender_id")?,
                template: r.try_get("template")?,
                sources: r.try_get("sources")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Root tokens of threads whose newest answer is older than `before` and whose emails are still kept.
    pub async fn expired_draft_threads(&self, before: i64, limit: i64) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT root_token FROM email_drafts GROUP BY root_token \
             HAVING MAX(created_at) < $1 AND MAX(sources) <> '[]' LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.iter().map(|r| r.try_get("root_token")).collect::<Result<_, _>>()?)
    }

    /// The `sources` lists of every answer of one thread.
    pub async fn draft_thread_sources(&self, root_token: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query("SELECT sources FROM email_drafts WHERE root_token = $1")
            .bind(root_token)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows.iter().map(|r| r.try_get("sources")).collect::<Result<_, _>>()?)
    }

    /// The thread's emails are gone from disk: its answers stay, so a late reply is told it expired.
    pub async fn forget_draft_sources(&self, root_token: &str) -> StoreResult<()> {
        sqlx::query("UPDATE email_drafts SET sources = '[]' WHERE root_token = $1")
            .bind(root_token)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Removes answers older than `before` altogether; a reply to one of them is read as a new request.
    pub async fn delete_drafts_before(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM email_drafts WHERE created_at < $1 AND sources = '[]'")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
