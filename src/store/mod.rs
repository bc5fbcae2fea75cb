//! The database: one `Store` over SQLite (default) or PostgreSQL, portable SQL, one module per table family.
//!
//! Both backends go through sqlx's `Any` driver with portable column types (TEXT, BIGINT; timestamps in unix
//! milliseconds, JSON as TEXT), so every query is written once. What differs per backend — connecting,
//! pragmas, migrations, claiming jobs — lives in `sqlite.rs` and `postgres.rs`.

pub mod anchors;
mod api_keys;
pub mod approvals;
pub mod arrivals;
pub mod callbacks;
mod confirmations;
pub mod consent_requests;
pub mod consents;
mod drafts;
pub mod events;
mod hook_deliveries;
pub mod idempotency;
pub mod imports;
pub mod inbound;
pub mod jobs;
mod key_cache;
pub mod letters;
pub mod notices;
mod overview;
mod postgres;
pub mod proofs;
pub mod repairs;
mod sandbox;
mod sqlite;
mod templates;
mod users;
mod webhook_credentials;

use std::sync::Arc;

use sqlx::any::install_default_drivers;
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::Notify;

pub use anchors::{AnchoredHead, ChainHead};
pub use api_keys::{ApiKeyRecord, NewApiKey};
pub use confirmations::ConfirmationRecord;
pub use consent_requests::{ConsentRequestRecord, RequestState};
pub use consents::{ConsentRecord, NewConsent};
pub use drafts::DraftRecord;
pub use events::{EventRecord, GENESIS_HASH};
pub use hook_deliveries::{HookDelivery, HookVerdict};
pub use idempotency::IdempotencyRecord;
pub use inbound::InboundRecord;
pub use jobs::{ClaimedJob, NewJob};
pub use letters::{AttachmentRecord, LetterFilter, LetterRecord, NewAttachment, NewLetter};
pub use notices::{NoticeRecord, NoticeState};
pub use overview::LetterSearch;
pub use proofs::ProofRecord;
pub use sandbox::SandboxLetter;
pub use templates::{NewPublication, PublicationRow, TemplateRow};
pub use users::{SessionRecord, UserRecord};

/// A database transaction: every state change and the job it implies commit together (outbox).
pub type Tx = Transaction<'static, Any>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that cannot be what relais wrote (a broken hash chain, an unknown state): never retried.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A transient failure shared by several requests (a batch commit): busy, connection lost.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A permanent database failure shared by several requests.
    #[error("database error: {0}")]
    Failed(String),
}

/// SQLite result codes that clear by themselves: BUSY, LOCKED and their extended codes.
const SQLITE_TRANSIENT: [&str; 5] = ["5", "6", "261", "262", "517"];

/// PostgreSQL SQLSTATE classes and codes that clear by themselves: connection exceptions (08), insufficient
/// resources (53), operator intervention such as a restart (57P01–57P03), serialization failures and
/// deadlocks (40001, 40P01).
fn postgres_transient(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

impl StoreError {
    /// Lost connections, busy or locked databases and server restarts may succeed on a retry; constraint
    /// violations and corrupt data will not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(e) => is_transient_sqlx(e),
            Self::Unavailable(_) => true,
            _ => false,
        }
    }

    /// The same failure, as a cloneable value for each request of a batch that shared it.
    pub fn shared(&self) -> StoreError {
        if self.is_transient() { Self::Unavailable(self.to_string()) } else { Self::Failed(self.to_string()) }
    }
}

fn is_transient_sqlx(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            SQLITE_TRANSIENT.contains(&code.as_ref())
                || postgres_transient(&code)
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database, cheap to clone. Writes go through `writer`: on SQLite a single connection (SQLite has one
/// writer anyway; queuing in the pool avoids busy errors), on PostgreSQL the same pool as reads.
#[derive(Clone)]
pub struct Store {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    jobs_ready: Arc<Notify>,
    /// Live API keys by hash: a request does not read its key from the database each time.
    keys: Arc<key_cache::KeyCache>,
}

impl Store {
    /// Connects to `url` (sqlite: or postgres://) and applies the migrations of that backend.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        Self::connect_with(url, max_connections, sqlite::DEFAULT_BUSY_TIMEOUT).await
    }

    /// `connect`, with how long a SQLite write waits for a lock held elsewhere before failing (transient).
    pub async fn connect_with(url: &str, max_connections: u32, busy_timeout: std::time::Duration) -> StoreResult<Self> {
        install_default_drivers();
        let store = if url.starts_with("sqlite:") {
            let (reader, writer) = sqlite::connect(url, max_connections, busy_timeout).await?;
            Store { reader, writer, backend: Backend::Sqlite, jobs_ready: Arc::default(), keys: Arc::default() }
        } else {
            let pool = postgres::connect(url, max_connections).await?;
            Store {
                reader: pool.clone(),
                writer: pool,
                backend: Backend::Postgres,
                jobs_ready: Arc::default(),
                keys: Arc::default(),
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => sqlite::MIGRATOR.run(&self.writer).await?,
            Backend::Postgres => postgres::MIGRATOR.run(&self.writer).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. While it is open, write through it only: on SQLite it holds the one
    /// writer connection, so a `Store` write method called meanwhile would wait for it forever.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.writer.begin().await?)
    }

    /// Answers a trivial query: the readiness probe.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// Wakes the local workers: a job was committed.
    pub fn wake_workers(&self) {
        self.jobs_ready.notify_waiters();
    }

    /// Resolves when a local commit enqueued a job.
    pub async fn jobs_ready(&self) {
        self.jobs_ready.notified().await
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// A store on a SQLite file of its own, kept as long as the returned folder.
#[cfg(test)]
pub(crate) async fn temporary_sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("relais.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    (dir, store)
}

/// Now, in the storage unit of time (unix milliseconds).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
