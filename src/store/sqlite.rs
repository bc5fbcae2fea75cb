//! SQLite specifics: create the file, WAL with synchronous=FULL (a `202` survives a power cut), one writer.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::StoreResult;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for a lock held by another connection or process.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a reader pool and a one-connection writer pool on the same file.
pub async fn connect(url: &str, max_connections: u32, busy_timeout: Duration) -> StoreResult<(AnyPool, AnyPool)> {
    let url = with_create_mode(url);
    if let Some(parent) = database_path(&url).and_then(|p| p.parent().map(Path::to_path_buf))
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(&parent).map_err(sqlx::Error::Io)?;
    }
    // No ping before a connection leaves the pool: SQLite's connection is a file this process has open, and the
    // ping was one more hand-over to its thread and back for every batch the writer commits.
    let options = || {
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30)).test_before_acquire(false);
        options.after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                // A statement journal (a batch's multi-row insert keeps one in case it fails half-way) and
                // any sort spill stay in memory: on disk each was a file created and unlinked per batch.
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                let pragma = format!("PRAGMA busy_timeout = {}", busy_timeout.as_millis());
                conn.execute(sqlx::AssertSqlSafe(pragma)).await?;
                Ok(())
            })
        })
    };
    let writer = options().max_connections(1).connect(&url).await?;
    let reader = options().max_connections(max_connections.max(1)).connect(&url).await?;
    Ok((reader, writer))
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

    /// Every connection, the writer's and the readers', keeps its temporary data in memory: a statement
    /// journal spilled to a file was one file created and unlinked per batch of letters.
    #[tokio::test]
    async fn connections_keep_temporary_data_in_memory() {
        let (_dir, store) = crate::store::temporary_sqlite().await;
        const MEMORY: i64 = 2;
        for pool in [&store.writer, &store.reader] {
            let row = sqlx::query("PRAGMA temp_store").fetch_one(pool).await.unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), MEMORY);
        }
    }
}
