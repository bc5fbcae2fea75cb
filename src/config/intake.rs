//! `[intake]`: the email channels (IMAP mailboxes, the SMTP receiver, raw MIME) and their DNS.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::senders::sixty_seconds;
use super::values::{ByteSize, Secret};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    pub trusted_authserv_ids: Vec<String>,
    pub max_message_size: ByteSize,
    #[serde(with = "humantime_serde")]
    pub confirm_within: Duration,
    #[serde(default)]
    pub imap: Vec<ImapMailboxSettings>,
    pub mime: MimeIntakeSettings,
    pub smtp: SmtpIntakeSettings,
    pub dns: DnsSettings,
}

/// One `[[intake.imap]]` mailbox relais watches.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImapMailboxSettings {
    pub host: String,
    #[serde(default = "imap_port")]
    pub port: u16,
    #[serde(default = "imap_tls")]
    pub tls: crate::intake::email::imap::ImapTls,
    /// PEM certificates of a private CA the server's certificate must chain to, instead of the public roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// An XOAUTH2 access token file instead of a password, read again at every login (something else
    /// keeps it fresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_token_file: Option<PathBuf>,
    /// XOAUTH2 with access tokens relais obtains itself from a refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<ImapOAuth2Settings>,
    #[serde(default = "inbox")]
    pub folder: String,
    #[serde(default = "done_folder")]
    pub done_folder: String,
    #[serde(default = "rejected_folder")]
    pub rejected_folder: String,
    /// The mailbox's address; defaults to the username.
    #[serde(default)]
    pub address: String,
    #[serde(default = "sixty_seconds", with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(default = "twenty_five_minutes", with = "humantime_serde")]
    pub idle_renew: Duration,
    #[serde(default = "sixty_seconds", with = "humantime_serde")]
    pub command_timeout: Duration,
}

/// `[intake.imap.oauth2]`: the OAuth 2.0 refresh-token grant of the mail provider (Google:
/// `https://oauth2.googleapis.com/token`; Microsoft 365: `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImapOAuth2Settings {
    /// `https`, or `http` to a loopback address only.
    pub token_url: String,
    pub client_id: String,
    /// Empty for a public client.
    #[serde(default)]
    pub client_secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub refresh_token: Secret,
    /// Where the refresh token is read from; a rotated one is written back here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_file: Option<PathBuf>,
    /// Sent with the refresh when set (Microsoft wants `https://outlook.office365.com/IMAP.AccessAsUser.All offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn imap_port() -> u16 {
    993
}

fn imap_tls() -> crate::intake::email::imap::ImapTls {
    crate::intake::email::imap::ImapTls::Tls
}

fn inbox() -> String {
    "INBOX".to_owned()
}

fn done_folder() -> String {
    "relais/done".to_owned()
}

fn rejected_folder() -> String {
    "relais/rejected".to_owned()
}

fn twenty_five_minutes() -> Duration {
    Duration::from_secs(25 * 60)
}

/// `[intake.smtp]`: relais's own SMTP/LMTP receiver.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpIntakeSettings {
    /// Empty: the receiver is off.
    pub listen: String,
    pub lmtp: bool,
    pub max_message_size: ByteSize,
    pub accept_domains: Vec<String>,
    pub hostname: String,
    pub tls_cert_file: PathBuf,
    pub tls_key_file: PathBuf,
    pub require_tls: bool,
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub data_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MimeIntakeSettings {
    #[serde(default)]
    pub ingress_key: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSettings {
    /// Empty: the system resolver.
    pub records_file: PathBuf,
}
