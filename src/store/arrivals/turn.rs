//! The writer connection kept by the committer from one batch to the next.

use std::time::{Duration, Instant};

use sqlx::Any;
use sqlx::pool::PoolConnection;

use crate::store::{Store, StoreResult};

/// Longest the committer keeps the writer while batches keep coming: on SQLite the workers' writes (claiming and
/// finishing jobs) wait for the one writer connection, at most this long.
pub const LONGEST_TURN: Duration = Duration::from_millis(5);

/// The writer connection between consecutive batches. A connection given back to the pool is first tested by
/// the pool (sqlx pings it, in a task of its own: on SQLite a hand-over to the connection's thread and back), and
/// the next batch waited for that before it could take the connection again: about a seventh of a batch's time
/// under load. Kept while submissions are waiting and for at most `LONGEST_TURN`; given back otherwise.
#[derive(Default)]
pub struct WriterTurn {
    held: Option<(PoolConnection<Any>, Instant)>,
}

impl WriterTurn {
    /// The connection kept from the previous batch, or one taken from the writer pool now.
    pub(super) async fn take(&mut self, store: &Store) -> StoreResult<(PoolConnection<Any>, Instant)> {
        match self.held.take() {
            Some(held) => Ok(held),
            None => Ok((store.writer.acquire().await?, Instant::now())),
        }
    }

    /// Keeps the connection of a batch that committed, for the next one.
    pub(super) fn keep(&mut self, conn: PoolConnection<Any>, since: Instant) {
        self.held = Some((conn, since));
    }

    /// Gives the connection back unless submissions are waiting and the turn is still short.
    pub fn end_unless(&mut self, submissions_waiting: bool) {
        if !submissions_waiting || self.held.as_ref().is_some_and(|(_, since)| since.elapsed() >= LONGEST_TURN) {
            self.end();
        }
    }

    /// Gives the connection back to the pool: before anything else in the same task writes through the store,
    /// which on SQLite would otherwise wait for this very connection.
    pub fn end(&mut self) {
        self.held = None;
    }

    #[cfg(test)]
    pub(crate) fn is_held(&self) -> bool {
        self.held.is_some()
    }
}
