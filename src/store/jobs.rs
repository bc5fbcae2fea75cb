//! The job queue: a table in our own schema, claimed with a lease; a dead worker's lease expires.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

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

/// On SQLite the queue's bookkeeping runs with `synchronous = NORMAL`, set and set back in the same query
/// string as the statement (see [`Store::unsynced`]): one trip to the writer instead of three.
const CLAIM_SQLITE: &str = "PRAGMA synchronous = NORMAL; \
    UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
    WHERE id IN (SELECT id FROM jobs WHERE failed_at IS NULL AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT $4) \
    RETURNING id, kind, letter_id, payload, attempts; \
    PRAGMA synchronous = FULL";

/// The completion, counted by its returned row: after a `PRAGMA`, SQLite's change count still tells the
/// last `DELETE`'s, so the query's summed `rows_affected` would count it twice.
const COMPLETE_SQLITE: &str = "PRAGMA synchronous = NORMAL; \
    DELETE FROM jobs WHERE id = $1 AND lease_owner = $2 RETURNING id; \
    PRAGMA synchronous = FULL";

/// SKIP LOCKED lets several relais instances claim from one PostgreSQL without waiting on each other.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET lease_until = $1, lease_owner = $2, attempts = attempts + 1 \
    WHERE id IN (SELECT id FROM jobs WHERE failed_at IS NULL AND run_at <= $3 \
                 AND (lease_until IS NULL OR lease_until < $3) ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
    RETURNING id, kind, letter_id, payload, attempts";

impl Store {
    /// Claims up to `limit` due jobs for `owner` until `lease_until`. On SQLite the claim's commit is not
    /// synced on its own (see [`Store::unsynced`]): lost in a power cut, the job is only claimed again.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let rows = match self.backend {
            Backend::Sqlite => {
                let claim = sqlx::query(CLAIM_SQLITE).bind(lease_until).bind(owner.to_owned()).bind(now).bind(limit);
                self.unsynced(claim).await?
            }
            Backend::Postgres => {
                let claim = sqlx::query(CLAIM_POSTGRES).bind(lease_until).bind(owner).bind(now).bind(limit);
                claim.fetch_all(&self.writer).await?
            }
        };
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

    /// Deletes a finished job whose effect is already committed, if `owner` still holds it; false when its
    /// lease was taken over. Not synced on its own on SQLite (see [`Store::unsynced`]): a completion lost in
    /// a power cut runs the job again, as a crash before it would, and every job is written to be run again.
    pub async fn complete_finished_job(&self, job_id: &str, owner: &str) -> StoreResult<bool> {
        match self.backend {
            Backend::Sqlite => {
                let complete = sqlx::query(COMPLETE_SQLITE).bind(job_id.to_owned()).bind(owner.to_owned());
                Ok(self.unsynced(complete).await?.len() == 1)
            }
            Backend::Postgres => {
                let mut tx = self.writer.begin().await?;
                sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
                let done = complete_job(&mut tx, job_id, owner).await?;
                tx.commit().await?;
                Ok(done)
            }
        }
    }

    /// Runs `query` on the SQLite writer with `synchronous = NORMAL`: its commit goes to the write-ahead log
    /// without an fsync of its own, and reaches the disk with the next synced commit (every letter's, which
    /// stays `FULL`) or the next checkpoint. For the queue's bookkeeping only, whose loss runs a job again.
    /// The query string sets `NORMAL`, runs its statement and sets `FULL` back, in one trip to the writer's
    /// thread. It runs in a task of its own, so that a caller that stops waiting cannot cut the sequence
    /// short; after a failure `FULL` is set again, and a connection that cannot be set back is closed.
    async fn unsynced(&self, query: Query<'static, Any, AnyArguments>) -> StoreResult<Vec<AnyRow>> {
        use sqlx::Executor;
        let mut conn = self.writer.acquire().await?;
        let task = tokio::spawn(async move {
            let result = query.fetch_all(&mut *conn).await;
            if result.is_err()
                && let Err(e) = conn.execute("PRAGMA synchronous = FULL").await
            {
                conn.close_on_drop();
                return Err(e.into());
            }
            Ok(result?)
        });
        task.await.map_err(|e| super::StoreError::Unavailable(format!("the writer task stopped: {e}")))?
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

    /// Counts the jobs of one kind still to run (an email request's answer, say).
    pub async fn pending_jobs_of_kind(&self, kind: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE failed_at IS NULL AND kind = $1")
            .bind(kind)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn writer_synchronous(store: &Store) -> i64 {
        let row = sqlx::query("PRAGMA synchronous").fetch_one(&store.writer).await.unwrap();
        row.try_get::<i64, _>(0).unwrap()
    }

    #[tokio::test]
    async fn claims_and_completions_leave_the_writer_synced_for_letters() {
        let (_dir, store) = crate::store::temporary_sqlite().await;
        const FULL: i64 = 2;
        assert_eq!(writer_synchronous(&store).await, FULL);
        let mut tx = store.begin().await.unwrap();
        let job = NewJob { kind: "sync", letter_id: None, payload: serde_json::json!({}), run_at: 0 };
        enqueue(&mut tx, job, 0).await.unwrap();
        tx.commit().await.unwrap();

        let claimed = store.claim_jobs("w1", 10, 10_000, 5).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(writer_synchronous(&store).await, FULL, "a claim sets the writer back to FULL");
        assert!(store.claim_jobs("w2", 10, 10_000, 5).await.unwrap().is_empty(), "a claimed job is held");
        assert!(!store.complete_finished_job(&claimed[0].id, "w2").await.unwrap(), "only its owner completes it");
        assert!(store.complete_finished_job(&claimed[0].id, "w1").await.unwrap());
        assert_eq!(writer_synchronous(&store).await, FULL, "a completion sets the writer back to FULL");
        assert_eq!(store.pending_jobs(None).await.unwrap(), 0);

        // A caller that stops waiting half-way does not leave the writer unsynced.
        let mut tx = store.begin().await.unwrap();
        enqueue(&mut tx, NewJob { kind: "sync", letter_id: None, payload: serde_json::json!({}), run_at: 0 }, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for _ in 0..20 {
            let claim = store.claim_jobs("w3", 20, 20, 1);
            let _ = tokio::time::timeout(std::time::Duration::from_micros(50), claim).await;
        }
        assert_eq!(writer_synchronous(&store).await, FULL);
    }
}
