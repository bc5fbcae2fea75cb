//! Intake: turns what arrives (HTTP JSON or multipart, email, billing tools' webhooks, a CSV export) into a
//! validated `LetterRequest`.
//! Nothing past this module sees raw JSON.

pub mod csv;
pub mod email;
pub mod hooks;
pub mod http;
pub mod imports;
mod memory;
pub mod validate;

pub use memory::{MemoryBudget, expected_use as memory_use};

use crate::domain::{FieldError, FieldErrors};

/// Why a request could not become a letter, in terms the HTTP layer maps to status codes.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body is not the JSON (or multipart) it claims to be; `field` is where parsing stopped.
    #[error("malformed request: {message}")]
    Malformed { field: Option<String>, message: String },
    /// Well-formed, but some fields are wrong: all of them are listed.
    #[error("the request has {} invalid field(s)", .0.0.len())]
    Invalid(FieldErrors),
    /// The API key's sender is not the sender the request names.
    #[error("{0}")]
    Forbidden(String),
    #[error("the attachments exceed {limit} bytes in total")]
    TooLarge { limit: u64 },
    #[error("the request could not be stored: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<FieldErrors> for IntakeError {
    fn from(e: FieldErrors) -> Self {
        Self::Invalid(e)
    }
}

impl From<FieldError> for IntakeError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(e.into())
    }
}
