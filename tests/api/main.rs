//! Integration tests: the real application on port 0, on SQLite and on PostgreSQL.

mod helpers;

mod consent;
mod idempotency;
mod lifecycle;
mod recovery;
mod validation;
mod webhooks;
