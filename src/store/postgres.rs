//! PostgreSQL specifics: the migrations, and what scale-out needs (jobs claimed with SKIP LOCKED, see jobs.rs).

use sqlx::migrate::Migrator;

pub static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");
