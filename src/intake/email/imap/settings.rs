//! What one watched mailbox is: where, how it is protected, how relais logs in, and its folders and limits.

use std::sync::Arc;
use std::time::Duration;

use super::AccessTokens;
use crate::config::Secret;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImapTls {
    /// Implicit TLS (port 993).
    Tls,
    /// Plaintext greeting, then STARTTLS before logging in.
    Starttls,
    /// No encryption: only for a server on the loopback interface.
    None,
}

/// One watched mailbox. Folder names use `/` as the hierarchy separator; it is translated to the server's
/// own delimiter (Dovecot's maildir uses `.`).
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: ImapTls,
    /// A private CA (PEM) to trust instead of the public roots.
    pub tls_ca_file: Option<std::path::PathBuf>,
    pub username: String,
    pub credentials: ImapCredentials,
    /// The folder watched, usually `INBOX`.
    pub folder: String,
    /// Where a message goes once the pipeline accepted it (created if missing).
    pub done_folder: String,
    /// Where a message goes when the pipeline refused it or it is too large (created if missing).
    pub rejected_folder: String,
    /// The mailbox's own address, given to the pipeline as the recipient.
    pub address: String,
    /// How often to look again when the server does not offer IDLE, or to retry a message the pipeline
    /// could not take yet.
    pub poll_interval: Duration,
    /// IDLE is re-issued after this long (must stay under the 29 minutes servers allow).
    pub idle_renew: Duration,
    /// Every command, the connection and the login must answer within this.
    pub command_timeout: Duration,
    /// Larger messages (by `RFC822.SIZE`) are moved to the rejected folder without being downloaded.
    pub max_message_size: u64,
}

/// How the listener logs in.
#[derive(Debug, Clone)]
pub enum ImapCredentials {
    /// `LOGIN` with a password.
    Password(Secret),
    /// `AUTHENTICATE XOAUTH2` with an access token.
    OAuth2(Arc<AccessTokens>),
}
