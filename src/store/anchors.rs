//! Chain heads (the last event of each letter) and the copy of the latest anchored head per letter.

use sqlx::Row;

use super::{Store, StoreError, StoreResult};
use crate::domain::LetterId;

/// The last event of a letter's chain: its sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub letter: LetterId,
    pub seq: i64,
    pub hash: String,
}

/// The head an anchor recorded for a letter, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchoredHead {
    pub seq: i64,
    pub hash: String,
    pub anchored_at: i64,
    pub digest: String,
}

fn letter_id(text: String) -> StoreResult<LetterId> {
    text.parse().map_err(|e| StoreError::Corrupt(format!("letter id: {e}")))
}

impl Store {
    /// Every letter's chain head, in the byte order of letter ids (the same on both databases, whatever
    /// PostgreSQL's collation).
    pub async fn chain_heads(&self) -> StoreResult<Vec<ChainHead>> {
        let rows = sqlx::query(
            "SELECT e.letter_id, e.seq, e.hash FROM letter_events e \
             WHERE e.seq = (SELECT MAX(seq) FROM letter_events m WHERE m.letter_id = e.letter_id) ORDER BY e.letter_id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChainHead {
                    letter: letter_id(r.try_get("letter_id")?)?,
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }

    /// The hash of a letter's event `seq`, if that event exists.
    pub async fn event_hash_at(&self, letter: &LetterId, seq: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT hash FROM letter_events WHERE letter_id = $1 AND seq = $2")
            .bind(letter.as_str())
            .bind(seq)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| r.try_get("hash")).transpose()?)
    }

    /// A page of every sender's letter ids, in id order, after the cursor.
    pub async fn letter_ids_after(&self, after: Option<&LetterId>, limit: i64) -> StoreResult<Vec<LetterId>> {
        let rows = sqlx::query("SELECT id FROM letters WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
            .bind(after.map(LetterId::as_str))
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| letter_id(r.try_get("id")?)).collect()
    }

    /// Records the heads an anchor covered (only those that changed since the previous anchor are given).
    pub async fn record_anchored_heads(&self, heads: &[ChainHead], anchored_at: i64, digest: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for head in heads {
            sqlx::query(
                "INSERT INTO chain_anchors (letter_id, seq, hash, anchored_at, digest) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (letter_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
                 anchored_at = excluded.anchored_at, digest = excluded.digest",
            )
            .bind(head.letter.as_str())
            .bind(head.seq)
            .bind(&head.hash)
            .bind(anchored_at)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The latest anchored head of a letter, as the database copy has it.
    pub async fn anchored_head(&self, letter: &LetterId) -> StoreResult<Option<AnchoredHead>> {
        let row = sqlx::query("SELECT seq, hash, anchored_at, digest FROM chain_anchors WHERE letter_id = $1")
            .bind(letter.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            Ok(AnchoredHead {
                seq: r.try_get("seq")?,
                hash: r.try_get("hash")?,
                anchored_at: r.try_get("anchored_at")?,
                digest: r.try_get("digest")?,
            })
        })
        .transpose()
    }
}
