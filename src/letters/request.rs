//! A letter request, validated: what every intake channel produces and `submit_letter` accepts.

use std::path::{Path, PathBuf};

use crate::config::Secret;
use crate::domain::{EmailAddress, Recipient, SenderId};
use crate::render::LetterTemplate;

/// A file received with a request, hashed and checked, waiting for its letter.
#[derive(Debug, Clone)]
pub struct StagedAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Staged,
    pub size: u64,
    pub sha256: String,
}

/// Where a received file waits for its letter.
#[derive(Debug, Clone)]
pub enum Staged {
    /// In a staging folder, not yet synced: a large file (streamed or decoded there), or one kept across
    /// requests (held for confirmation, chosen in the console).
    File(PathBuf),
    /// In memory: a small file, which the database keeps, committed with its letter
    /// ([`super::files::kept_in_database`]).
    Memory(bytes::Bytes),
}

impl StagedAttachment {
    /// The staging file, for a file on disk.
    pub fn path(&self) -> Option<&Path> {
        match &self.content {
            Staged::File(path) => Some(path),
            Staged::Memory(_) => None,
        }
    }
}

/// What a letter made from an email commits with it: the record of what became of the email (its
/// `letter_id` is set to the new letter's), and the answer owed to the requester (`jobs::ANSWER`'s payload).
#[derive(Debug, Clone)]
pub struct FromEmail {
    pub inbound: Option<crate::store::InboundRecord>,
    pub answer: serde_json::Value,
}

/// Everything needed to create a letter; built only by an intake parser.
#[derive(Debug, Clone)]
pub struct LetterRequest {
    pub sender: SenderId,
    /// The template version current at intake: the letter is pinned to it.
    pub template: std::sync::Arc<LetterTemplate>,
    /// Checked against the template's declarations and normalized.
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub recipient: Recipient,
    pub reference: Option<String>,
    pub notify_email: Option<EmailAddress>,
    pub attachments: Vec<StagedAttachment>,
    /// The letter's own callback endpoint, when the request named one.
    pub callback: Option<LetterCallback>,
    /// SHA-256 of the request as received: the same idempotency key with another request is a conflict.
    pub request_sha256: String,
    /// The console user who sent it, named in its first event ("sent by claire@cabinet.fr").
    pub submitted_by: Option<String>,
    /// Set when the letter comes from an email request.
    pub from_email: Option<FromEmail>,
}

/// Where one letter's events go besides its sender's endpoints (the request's `callback_url`), and the
/// `whsec_` secret that signs them: the request's own `callback_secret`, else the sender's.
#[derive(Debug, Clone)]
pub struct LetterCallback {
    pub url: url::Url,
    pub secret: Secret,
}
