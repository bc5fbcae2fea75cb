//! The events of a letter: append-only and hash-chained, so a rewritten or deleted event is detectable.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::letters::{LetterRecord, letter_in};
use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::{LetterId, LetterState};

/// The `prev_hash` of a letter's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    pub at: i64,
    pub state: LetterState,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 over the previous hash and every field of the event, length-prefixed so fields cannot bleed.
pub fn event_hash(
    prev_hash: &str,
    letter: &LetterId,
    seq: i64,
    at: i64,
    state: LetterState,
    detail: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [prev_hash, letter.as_str(), &seq.to_string(), &at.to_string(), state.as_str(), detail.unwrap_or("")] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The last event of a letter's chain, which the next one follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head of a chain with no event yet: the first event is number 1 after the genesis hash.
    pub fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS_HASH.to_owned() }
    }
}

/// The last event of `letter`, or the genesis head when it has none.
pub async fn chain_head(conn: &mut AnyConnection, letter: &LetterId) -> StoreResult<ChainHead> {
    let last = sqlx::query("SELECT seq, hash FROM letter_events WHERE letter_id = $1 ORDER BY seq DESC LIMIT 1")
        .bind(letter.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match last {
        Some(row) => Ok(ChainHead { seq: row.try_get("seq")?, hash: row.try_get("hash")? }),
        None => Ok(ChainHead::genesis()),
    }
}

/// Appends an event after the letter's last one; returns its sequence number.
pub async fn append_event(
    conn: &mut AnyConnection,
    letter: &LetterId,
    state: LetterState,
    detail: Option<&str>,
    at: i64,
) -> StoreResult<i64> {
    let head = chain_head(conn, letter).await?;
    append_after(conn, letter, head, state, detail, at).await
}

/// Appends an event after `head`, which the caller read in its transaction; returns its sequence number.
pub async fn append_after(
    conn: &mut AnyConnection,
    letter: &LetterId,
    head: ChainHead,
    state: LetterState,
    detail: Option<&str>,
    at: i64,
) -> StoreResult<i64> {
    let seq = head.seq + 1;
    let hash = event_hash(&head.hash, letter, seq, at, state, detail);
    sqlx::query(
        "INSERT INTO letter_events (letter_id, seq, at, state, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(letter.as_str())
    .bind(seq)
    .bind(at)
    .bind(state.as_str())
    .bind(detail)
    .bind(head.hash)
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(seq)
}

/// The events of a letter, oldest first, read through `conn`.
pub async fn events_in(conn: &mut AnyConnection, letter: &LetterId) -> StoreResult<Vec<EventRecord>> {
    let rows = sqlx::query(
        "SELECT seq, at, state, detail, prev_hash, hash FROM letter_events WHERE letter_id = $1 ORDER BY seq",
    )
    .bind(letter.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRecord {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                state: r.try_get::<String, _>("state")?.parse().map_err(StoreError::Corrupt)?,
                detail: r.try_get("detail")?,
                prev_hash: r.try_get("prev_hash")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect()
}

impl Store {
    pub async fn events(&self, letter: &LetterId) -> StoreResult<Vec<EventRecord>> {
        let mut conn = self.reader.acquire().await?;
        events_in(&mut conn, letter).await
    }

    /// A letter's row and its events read from one snapshot: the state shown is always the timeline's last,
    /// even while a worker moves the letter on between the two reads.
    pub async fn letter_with_events(&self, id: &LetterId) -> StoreResult<Option<(LetterRecord, Vec<EventRecord>)>> {
        let mut tx = self.reader.begin().await?;
        if self.backend == Backend::Postgres {
            // READ COMMITTED takes a snapshot per statement; SQLite's read transaction holds one already.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
        }
        let Some(letter) = letter_in(&mut tx, id).await? else { return Ok(None) };
        let events = events_in(&mut tx, id).await?;
        tx.rollback().await?;
        Ok(Some((letter, events)))
    }

    /// Recomputes the chain; the first event whose hash does not match is returned as an error.
    pub async fn verify_events(&self, letter: &LetterId) -> StoreResult<usize> {
        let events = self.events(letter).await?;
        let mut prev = GENESIS_HASH.to_owned();
        for e in &events {
            let expected = event_hash(&prev, letter, e.seq, e.at, e.state, e.detail.as_deref());
            if e.prev_hash != prev || e.hash != expected {
                return Err(StoreError::Corrupt(format!("event {} of {letter} does not match its hash chain", e.seq)));
            }
            prev = e.hash.clone();
        }
        Ok(events.len())
    }
}
