//! What the sweep and operators need to keep every letter moving: letters left with no job, the count of
//! letters waiting for a person, and bringing a waiting job forward.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreResult};
use crate::domain::{LetterId, LetterState};

/// Letters that are moved only by a job of their own: without one (it gave up, or a bug lost it) they would
/// wait for ever. A letter with a provider reference is also moved by the periodic sync, and consent and
/// approval wait for a person.
const MOVED_BY_JOBS: &str = "(state IN ('received', 'ready', 'queued') \
     OR (state IN ('submitting', 'needs_attention') AND provider_ref IS NULL))";

impl Store {
    /// Letters that no live job will move, last changed before `before` (a change in flight is not judged).
    pub async fn stranded_letters(&self, before: i64, limit: i64) -> StoreResult<Vec<(LetterId, LetterState)>> {
        let sql = format!(
            "SELECT id, state FROM letters WHERE {MOVED_BY_JOBS} AND updated_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.letter_id = letters.id AND jobs.failed_at IS NULL) \
             ORDER BY updated_at LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(before).bind(limit).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                let corrupt = |e: String| StoreError::Corrupt(format!("stranded letter: {e}"));
                let id = r.try_get::<String, _>("id")?.parse().map_err(corrupt)?;
                let state = r.try_get::<String, _>("state")?.parse().map_err(corrupt)?;
                Ok((id, state))
            })
            .collect()
    }

    /// Counts letters in `state` (for `/readyz`).
    pub async fn count_in_state(&self, state: LetterState) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM letters WHERE state = $1")
            .bind(state.as_str())
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// True when `letter` still has no live job: checked again inside the repairing transaction.
pub async fn has_live_job(conn: &mut AnyConnection, letter: &LetterId) -> StoreResult<bool> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE letter_id = $1 AND failed_at IS NULL")
        .bind(letter.as_str())
        .fetch_one(conn)
        .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Takes the letter's row lock (PostgreSQL) before an event that changes no state is appended, so that it
/// is ordered with the transitions of the same letter.
pub async fn lock_letter(conn: &mut AnyConnection, letter: &LetterId) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE letters SET updated_at = updated_at WHERE id = $1")
        .bind(letter.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Brings the letter's waiting (not running, not given up) jobs of `kind` to `now`, with fresh attempts;
/// returns how many there were.
pub async fn hurry_jobs(conn: &mut AnyConnection, letter: &LetterId, kind: &str, now: i64) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET run_at = $1, attempts = 0 WHERE letter_id = $2 AND kind = $3 AND failed_at IS NULL \
         AND (lease_until IS NULL OR lease_until < $1)",
    )
    .bind(now)
    .bind(letter.as_str())
    .bind(kind)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
