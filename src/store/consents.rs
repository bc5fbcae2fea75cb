//! Consents of individual recipients to receive electronic registered letters from one sender.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreResult};
use crate::domain::{ConsentId, SenderId};

pub struct NewConsent<'a> {
    pub id: &'a ConsentId,
    pub sender_id: &'a SenderId,
    pub email: &'a str,
    pub given_at: i64,
    pub source: &'a str,
    pub proof_path: Option<&'a str>,
    pub proof_sha256: Option<&'a str>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub id: ConsentId,
    pub email: String,
    pub given_at: i64,
    pub source: String,
    pub proof_sha256: Option<String>,
    pub recorded_at: i64,
    /// When it was withdrawn (it no longer counts), and by whom.
    pub withdrawn_at: Option<i64>,
    pub withdrawn_by: Option<String>,
}

pub async fn insert_consent(conn: &mut AnyConnection, c: &NewConsent<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO consents (id, sender_id, email, given_at, source, proof_path, proof_sha256, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id.as_str())
    .bind(c.sender_id.as_str())
    .bind(c.email.to_lowercase())
    .bind(c.given_at)
    .bind(c.source)
    .bind(c.proof_path)
    .bind(c.proof_sha256)
    .bind(c.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// True when `email` has consented to letters from `sender` (checked inside the deciding transaction).
pub async fn has_consent(conn: &mut AnyConnection, sender: &SenderId, email: &str) -> StoreResult<bool> {
    let row =
        sqlx::query("SELECT COUNT(*) AS n FROM consents WHERE sender_id = $1 AND email = $2 AND withdrawn_at IS NULL")
            .bind(sender.as_str())
            .bind(email.to_lowercase())
            .fetch_one(conn)
            .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

impl Store {
    pub async fn consents(&self, sender: &SenderId, email: &str) -> StoreResult<Vec<ConsentRecord>> {
        let rows = sqlx::query(
            "SELECT id, email, given_at, source, proof_sha256, recorded_at, withdrawn_at, withdrawn_by FROM consents \
             WHERE sender_id = $1 AND email = $2 ORDER BY recorded_at",
        )
        .bind(sender.as_str())
        .bind(email.to_lowercase())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    id: r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)?,
                    email: r.try_get("email")?,
                    given_at: r.try_get("given_at")?,
                    source: r.try_get("source")?,
                    proof_sha256: r.try_get("proof_sha256")?,
                    recorded_at: r.try_get("recorded_at")?,
                    withdrawn_at: r.try_get("withdrawn_at")?,
                    withdrawn_by: r.try_get("withdrawn_by")?,
                })
            })
            .collect()
    }

    /// Marks a live consent of `sender` withdrawn; false when there is none with this id.
    pub async fn withdraw_consent(&self, sender: &SenderId, id: &ConsentId, by: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE consents SET withdrawn_at = $1, withdrawn_by = $2 \
             WHERE id = $3 AND sender_id = $4 AND withdrawn_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(id.as_str())
        .bind(sender.as_str())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A page of the consents that keep a proof file: id, path and SHA-256, in id order after the cursor.
    pub async fn consent_proofs_after(
        &self,
        after: Option<&ConsentId>,
        limit: i64,
    ) -> StoreResult<Vec<(ConsentId, String, String)>> {
        let rows = sqlx::query(
            "SELECT id, proof_path, proof_sha256 FROM consents WHERE proof_path IS NOT NULL \
             AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after.map(ConsentId::as_str))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let id = r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)?;
                let sha256: Option<String> = r.try_get("proof_sha256")?;
                Ok((id, r.try_get("proof_path")?, sha256.unwrap_or_default()))
            })
            .collect()
    }
}
