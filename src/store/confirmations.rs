//! Emailed requests waiting for their requester's confirmation.

use sqlx::Row;

use super::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationRecord {
    pub token: String,
    pub sender_id: String,
    pub dedupe_key: String,
    /// JSON: the validated request (template version, variables, recipient, files).
    pub request: String,
    /// JSON: where and how to answer.
    pub answer: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub confirmed_at: Option<i64>,
    pub letter_id: Option<String>,
}

impl Store {
    pub async fn insert_confirmation(&self, c: &ConfirmationRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO email_confirmations (token, sender_id, dedupe_key, request, answer, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.token)
        .bind(&c.sender_id)
        .bind(&c.dedupe_key)
        .bind(&c.request)
        .bind(&c.answer)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn confirmation(&self, token: &str) -> StoreResult<Option<ConfirmationRecord>> {
        let row = sqlx::query(
            "SELECT token, sender_id, dedupe_key, request, answer, created_at, expires_at, confirmed_at, letter_id \
             FROM email_confirmations WHERE token = $1",
        )
        .bind(token)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|r| {
            Ok(ConfirmationRecord {
                token: r.try_get("token")?,
                sender_id: r.try_get("sender_id")?,
                dedupe_key: r.try_get("dedupe_key")?,
                request: r.try_get("request")?,
                answer: r.try_get("answer")?,
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                confirmed_at: r.try_get("confirmed_at")?,
                letter_id: r.try_get("letter_id")?,
            })
        })
        .transpose()
    }

    /// Marks a confirmation done with its letter (the letter itself is idempotent by the email's key).
    pub async fn mark_confirmed(&self, token: &str, letter: &str, now: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE email_confirmations SET confirmed_at = COALESCE(confirmed_at, $1), letter_id = $2 WHERE token = $3",
        )
        .bind(now)
        .bind(letter)
        .bind(token)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
