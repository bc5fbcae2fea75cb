//! relais — a self-hosted gateway for registered letters.
//!
//! The tour, in the order a letter travels:
//!
//! - [`intake`]: what arrives (HTTP JSON or multipart, an email, a billing tool's signed webhook, a CSV export)
//!   becomes a validated [`letters::LetterRequest`]; email has its own parser, sender authentication and
//!   answers; webhooks (`intake::hooks`) their verification presets, filters and mappings; CSV files
//!   (`intake::csv`, and `intake::imports` for `POST /v1/imports`) their column mapping and row keys.
//! - [`letters`]: submission in one transaction, the explicit state transitions, the jobs that carry a
//!   letter to its provider and back, proofs, consent (and `letters::consent_requests`: asking a recipient
//!   through Maileva and following the answer) and cancellation.
//! - [`render`]: letter and email templates (handlebars, strict), their pinned versions, and the letter as a
//!   document: a typst layout written as PDF/A-2b, or as text.
//! - [`providers`]: the provider trait, and one folder per provider (`sandbox` is the embedded default,
//!   `ar24` sends electronic letters, `maileva` paper registered letters with acknowledgement of receipt,
//!   simple and qualified electronic registered letters, and consent requests).
//! - [`notify`]: notices to the requester by email, and signed callbacks (`notify::callbacks`: the sender's
//!   endpoints, configured or made through the API, and a letter's own `callback_url`).
//! - [`worker`]: claims jobs with a lease, retries on one schedule, sweeps silent letters.
//! - [`store`]: SQLite or PostgreSQL behind one `Store`; the job queue is a table there.
//! - [`audit`]: `relais verify` (event chains, files against their SHA-256) and the anchors of the chains
//!   kept outside the database (an append-only file, the operator's mailbox, an RFC 3161 time-stamp).
//! - [`http`]: the API routes, extractors (API key, JSON), the one error mapping, and the OpenAPI document
//!   generated from the routes' annotations (`http::openapi`, served at `/openapi.json` and `/docs/api`).
//! - [`console`]: the web console for people at `/console/` (server-rendered pages, sessions, CSRF, roles),
//!   calling the same services as the API.
//! - [`domain`]: ids, states, recipients, addresses, emails: built only by parsing.
//! - [`config`], [`telemetry`], [`startup`], [`services`], [`accounts`]: running it (API keys live in
//!   `accounts`, and so do the console's users with their argon2id passwords and sessions).

pub mod accounts;
pub mod audit;
pub mod config;
pub mod console;
pub mod domain;
pub mod http;
pub mod intake;
pub mod letters;
pub mod notify;
pub mod providers;
pub mod render;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod worker;
