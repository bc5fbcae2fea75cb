//! Archived proofs: one row per letter and kind, pointing at the file and its SHA-256.

use sqlx::{AnyConnection, Row};

use super::{Store, StoreResult};
use crate::domain::LetterId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofRecord {
    pub kind: String,
    pub sha256: String,
    pub size: i64,
    pub path: String,
    pub archived_at: i64,
}

/// Records an archived proof; a second archive of the same kind keeps the first (proofs are immutable).
pub async fn insert_proof(conn: &mut AnyConnection, letter: &LetterId, p: &ProofRecord) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO proofs (letter_id, kind, sha256, size, path, archived_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (letter_id, kind) DO NOTHING",
    )
    .bind(letter.as_str())
    .bind(&p.kind)
    .bind(&p.sha256)
    .bind(p.size)
    .bind(&p.path)
    .bind(p.archived_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    pub async fn proofs(&self, letter: &LetterId) -> StoreResult<Vec<ProofRecord>> {
        let rows = sqlx::query(
            "SELECT kind, sha256, size, path, archived_at FROM proofs WHERE letter_id = $1 ORDER BY archived_at, kind",
        )
        .bind(letter.as_str())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProofRecord {
                    kind: r.try_get("kind")?,
                    sha256: r.try_get("sha256")?,
                    size: r.try_get("size")?,
                    path: r.try_get("path")?,
                    archived_at: r.try_get("archived_at")?,
                })
            })
            .collect()
    }
}
