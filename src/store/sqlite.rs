//! SQLite specifics: create the file, WAL with synchronous=FULL (a `202` survives a power cut), one writer.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Executor, Row};

use super::StoreResult;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for a lock held by another connection or process.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Past this many pages in the WAL (40 MB), the writer checkpoints by itself: only if the background
/// checkpoints (`checkpoint_continuously`) fall behind.
const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// Opens a reader pool and a one-connection writer pool on the same file.
pub async fn connect(url: &str, max_connections: u32, busy_timeout: Duration) -> StoreResult<(AnyPool, AnyPool)> {
    let url = with_create_mode(url);
    if let Some(parent) = database_path(&url).and_then(|p| p.parent().map(Path::to_path_buf))
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(&parent).map_err(sqlx::Error::Io)?;
    }
    let options = |writer: bool| {
        AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30)).after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                // A statement journal (a batch's multi-row insert keeps one in case it fails half-way) and
                // any sort spill stay in memory: on disk each was a file created and unlinked per batch.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                let pragma = format!("PRAGMA busy_timeout = {}", busy_timeout.as_millis());
                conn.execute(sqlx::AssertSqlSafe(pragma)).await?;
                if writer {
                    let pragma = format!("PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}");
                    conn.execute(sqlx::AssertSqlSafe(pragma)).await?;
                }
                Ok(())
            })
        })
    };
    let writer = options(true).max_connections(1).connect(&url).await?;
    let reader = options(false).max_connections(max_connections.max(1)).connect(&url).await?;
    Ok((reader, writer))
}

/// How long the background checkpoints wait between two passes while letters are being written, and while
/// nothing is.
const CHECKPOINT_PAUSE_BUSY: Duration = Duration::from_millis(50);
const CHECKPOINT_PAUSE_IDLE: Duration = Duration::from_millis(500);

/// Copies the pages committed to the WAL into the database file, from a reader connection, for as long as
/// the store is open. With SQLite's default, the commit that brought the WAL past 1,000 pages ran the
/// checkpoint itself (the pages written to the database file, then its fsync) before the answers of its batch
/// could go out; under load, one batch in a few. A passive checkpoint takes no lock the writer waits for.
pub async fn checkpoint_continuously(reader: AnyPool) {
    let mut last_frames = 0;
    loop {
        let pause = match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&reader).await {
            Ok(row) => {
                // (busy, frames in the WAL, frames checkpointed): frames that moved since the last pass
                // mean letters are being written.
                let frames: i64 = row.try_get(1).unwrap_or_default();
                let busy = frames != last_frames;
                last_frames = frames;
                if busy { CHECKPOINT_PAUSE_BUSY } else { CHECKPOINT_PAUSE_IDLE }
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the database could not be checkpointed; trying again");
                CHECKPOINT_PAUSE_IDLE
            }
        };
        tokio::time::sleep(pause).await;
    }
}

fn with_create_mode(url: &str) -> String {
    if url.contains('?') || url.contains(":memory:") { url.to_owned() } else { format!("{url}?mode=rwc") }
}

fn database_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::store::Store;

    /// Every connection, the writer's and the readers', keeps its temporary data in memory: a statement
    /// journal spilled to a file was one file created and unlinked per batch of letters.
    #[tokio::test]
    async fn connections_keep_temporary_data_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("relais.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        const MEMORY: i64 = 2;
        for pool in [&store.writer, &store.reader] {
            let row = sqlx::query("PRAGMA temp_store").fetch_one(pool).await.unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), MEMORY);
        }
    }

    /// Committed pages reach the database file without the writer checkpointing: the writer's own threshold
    /// is raised far above what a batch writes, and the background checkpoints copy the WAL meanwhile.
    #[tokio::test]
    async fn the_wal_is_checkpointed_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.db");
        let store = Store::connect(&format!("sqlite://{}", path.display()), 2).await.unwrap();
        let row = sqlx::query("PRAGMA wal_autocheckpoint").fetch_one(&store.writer).await.unwrap();
        assert_eq!(row.try_get::<i64, _>(0).unwrap(), i64::from(super::WRITER_AUTOCHECKPOINT_PAGES));

        let before = std::fs::metadata(&path).unwrap().len();
        sqlx::query("CREATE TABLE filler (bytes BLOB)").execute(&store.writer).await.unwrap();
        // About 500 pages: fewer than SQLite's default threshold, so only a background pass copies them.
        for _ in 0..10 {
            let insert = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) \
                          INSERT INTO filler SELECT zeroblob(4000) FROM n";
            sqlx::query(insert).execute(&store.writer).await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("relais.db-wal")).unwrap().len();
        assert!(wal > 2_000_000, "the rows were committed to the WAL ({wal} bytes)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < before + 2_000_000 {
            assert!(std::time::Instant::now() < deadline, "the WAL was not checkpointed into the database file");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
