//! One module per resource; each exports `router()`, merged in `http::router`.

pub mod confirmations;
pub mod consents;
pub mod health;
pub mod inbound;
pub mod letters;
pub mod senders;
pub mod webhooks;
