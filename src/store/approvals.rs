//! Approval sessions of senders at their provider (qualified letters need one).

use sqlx::{AnyConnection, Row};

use super::{Store, StoreResult};
use crate::domain::{LetterId, LetterState, SenderId};

/// Replaces the sender's session with a new one.
pub async fn save_session(
    conn: &mut AnyConnection,
    sender: &SenderId,
    provider: &str,
    token: &str,
    opened_at: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM approval_sessions WHERE sender_id = $1 AND provider = $2")
        .bind(sender.as_str())
        .bind(provider)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO approval_sessions (sender_id, provider, token, opened_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sender.as_str())
    .bind(provider)
    .bind(token)
    .bind(opened_at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The letters of a sender waiting for approval.
pub async fn awaiting_approval(conn: &mut AnyConnection, sender: &SenderId) -> StoreResult<Vec<LetterId>> {
    let rows = sqlx::query("SELECT id FROM letters WHERE sender_id = $1 AND state = $2 ORDER BY id")
        .bind(sender.as_str())
        .bind(LetterState::AwaitingApproval.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.try_get::<String, _>("id")?.parse().map_err(super::StoreError::Corrupt)).collect()
}

impl Store {
    /// The sender's session token if it is still valid at `now` (with a margin for the send itself).
    pub async fn approval_token(&self, sender: &SenderId, provider: &str, now: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query(
            "SELECT token FROM approval_sessions WHERE sender_id = $1 AND provider = $2 AND expires_at > $3",
        )
        .bind(sender.as_str())
        .bind(provider)
        .bind(now)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.map(|r| r.try_get("token")).transpose()?)
    }
}

/// Forgets a session the provider no longer accepts.
pub async fn end_session(conn: &mut AnyConnection, sender: &SenderId, provider: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM approval_sessions WHERE sender_id = $1 AND provider = $2")
        .bind(sender.as_str())
        .bind(provider)
        .execute(conn)
        .await?;
    Ok(())
}
