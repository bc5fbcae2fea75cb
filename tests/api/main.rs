//! Integration tests: the real application on port 0, on SQLite and on PostgreSQL.

mod fake_ar24;
mod fake_maileva;
mod helpers;
mod poppler;

mod api_keys;
mod ar24;
mod audit;
mod bad_input;
mod callbacks;
mod consent;
mod console;
mod document;
mod email;
mod email_readme;
mod errors;
mod firm;
mod hooks;
mod idempotency;
mod imap;
mod imap_oauth2;
mod import;
mod letter_callbacks;
mod lifecycle;
mod maileva;
mod maileva_fallback;
mod notices;
mod openapi;
mod outage;
mod recovery;
mod secrets;
mod slow_provider;
mod smtp;
mod templates;
mod validation;
mod webhooks;
