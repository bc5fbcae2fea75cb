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
}
