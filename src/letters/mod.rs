//! The life of a letter: submission, the explicit transitions between states, the jobs that carry it
//! through its provider, proofs, consent and cancellation.

pub mod approval;
pub mod committer;
pub mod consent;
pub mod consent_requests;
pub mod context;
pub mod fallback;
pub mod files;
pub mod jobs;
pub mod notices;
pub mod pipeline;
pub mod preview;
pub mod request;
pub mod submit;
pub mod sync;
pub mod transitions;

pub use request::{FromEmail, LetterCallback, LetterRequest, Staged, StagedAttachment};
pub use submit::{SubmitError, Submitted, submit_letter};
pub use transitions::cancel_letter;

use crate::store::StoreError;

/// Failures of a letter job, sorted by what the worker should do about them.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (provider unavailable, database busy, mail server down).
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help; the job is given up and the cause logged.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() { Self::Transient(e.to_string()) } else { Self::Permanent(e.to_string()) }
    }
}

impl From<std::io::Error> for JobError {
    fn from(e: std::io::Error) -> Self {
        Self::Transient(format!("file system: {e}"))
    }
}
