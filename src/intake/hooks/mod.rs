//! Inbound webhooks of accounting and billing tools (`POST /v1/hooks/{source}`): each source is verified by
//! its preset's scheme, its payload mapped to a letter request, and the letter goes through the same checks,
//! idempotency and submission as the other channels.

pub mod filter;
pub mod mapping;
pub mod ready;
pub mod receive;
mod source;
pub mod verify;

pub use source::{Hook, Hooks};
