//! The job queue: a table in our own schema, claimed with a lease; a dead worker's lease expires.

use sqlx::{AnyConnection, Row};

use super::{Backend, Store, StoreResult};
use crate::domain::{JobId, LetterId};

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub letter_id: Option<&'a LetterId>,
    pub payload: serde_json::Value,
    pub run_at: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub letter_id: Option<String>,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i64,
}

/// Enqueues a job inside the caller's transaction: it exists if and only if the state change commits.
pub async fn enqueue(conn: &mut AnyConnection, job: NewJob<'_>, now: i64) -> StoreResult<JobId> {
    let id = JobId::generate();
    sqlx::query(
        "INSERT INTO jobs (id, kind, letter_id, payload, run_at, attempts, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(id.as_str())
    .bind(job.kind)
    .bind(job.letter_id.map(LetterId::as_str))
    .bind(job.payload.to_string())
    .bind(job.run_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Deletes a finished job, inside the transaction that records its effect, if `owner` still holds it.
pub async fn complete_job(conn: &mut AnyConnection, job_id: &str, owner: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM jobs WHERE id = $1 AND lease_owner = $2")
        .bind(job_id)
        .bind(owner)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
    WHERE id IN (SELECT id FROM jobs WHERE failed_at IS NULL AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT $4) \
    RETURNING id, kind, letter_id, payload, attempts";

/// SKIP LOCKED lets several relais instances claim from one PostgreSQL without waiting on each other.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
    WHERE id IN (SELECT id FROM jobs WHERE failed_at IS NULL AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
    RETURNING id, kind, letter_id, payload, attempts";

impl Store {
    /// Claims up to `limit` due jobs for `owner` until `lease_until`.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let rows = sqlx::query(sql).bind(lease_until).bind(owner).bind(now).bind(limit).fetch_all(&self.writer).await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get("payload")?;
                Ok(ClaimedJob {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    letter_id: r.try_get("letter_id")?,
                    payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Puts a job back for a later attempt, with the error that stopped this one.
    pub async fn retry_job(&self, job_id: &str, owner: &str, run_at: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET run_at = $1, lease_until = NULL, lease_owner = NULL, last_error = $2 WHERE id = $3 AND lease_owner = $4",
        )
        .bind(run_at)
        .bind(error)
        .bind(job_id)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Gives a job up: it stays in the table, failed, for operators to see.
    pub async fn fail_job(&self, job_id: &str, owner: &str, now: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET failed_at = $1, lease_until = NULL, last_error = $2 WHERE id = $3 AND lease_owner = $4",
        )
        .bind(now)
        .bind(error)
        .bind(job_id)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Counts pending (not failed) jobs; with `letter`, only that letter's.
    pub async fn pending_jobs(&self, letter: Option<&LetterId>) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE failed_at IS NULL AND ($1 IS NULL OR letter_id = $1)")
                .bind(letter.map(LetterId::as_str))
                .fetch_one(&self.reader)
                .await?;
        Ok(row.try_get("n")?)
    }

    /// Counts jobs given up after their last attempt.
    pub async fn failed_jobs(&self) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE failed_at IS NOT NULL").fetch_one(&self.reader).await?;
        Ok(row.try_get("n")?)
    }
}
