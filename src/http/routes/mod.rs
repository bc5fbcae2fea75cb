//! One module per resource; each exports `router()`, merged in `http::router`.

pub mod api_keys;
pub mod callbacks;
pub mod confirmations;
pub mod consent_requests;
pub mod consents;
pub mod docs;
pub mod health;
pub mod hooks;
pub mod imports;
pub mod inbound;
pub mod letters;
pub mod notices;
pub mod senders;
pub mod templates;
pub mod webhooks;
