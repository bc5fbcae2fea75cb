//! Audit: checks that what relais keeps is what it wrote — each letter's event chain, its files against
//! their SHA-256 — and anchors the chains outside the database, so a history rewritten in the database
//! (even with every hash recomputed) no longer matches what was anchored.

mod anchor;
mod chain;
mod der;
mod findings;
pub mod ledger;
pub mod tsa;
mod verify;

pub use anchor::{AnchorError, Anchored, anchor_chains, anchor_on_schedule};
pub use chain::{ChainStatus, chain_status, check_chain};
pub use findings::{Finding, Report, Subject};
pub use verify::{Scope, VerifyError, verify};

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
