//! `[providers]` and `[[senders]]`: provider accounts, and the legal senders who use them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::Secret;
use crate::domain::{EmailAddress, PostalAddress, SenderId};

/// One provider account; `kind` picks the implementation under `src/providers/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProviderSettings {
    Sandbox(SandboxSettings),
    Ar24(Ar24Settings),
}

/// An AR24 account (providers.md §1): API token and private key, and where AR24's webhooks come from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ar24Settings {
    /// `https://sandbox.ar24.fr/api/` or `https://app.ar24.fr/api/`.
    pub base_url: url::Url,
    #[serde(default)]
    pub token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub private_key: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// Source addresses AR24 calls from; empty means no IP check (the secret in the URL still applies).
    #[serde(default)]
    pub webhook_allowed_ips: Vec<std::net::IpAddr>,
    /// How often letters with no news are looked up at AR24 (webhooks get lost).
    #[serde(default = "one_hour", with = "humantime_serde")]
    pub sync_every: Duration,
    /// AR24 documents 60 s as its own timeout.
    #[serde(default = "sixty_seconds", with = "humantime_serde")]
    pub timeout: Duration,
}

fn one_hour() -> Duration {
    Duration::from_secs(3600)
}

pub(super) fn sixty_seconds() -> Duration {
    Duration::from_secs(60)
}

/// The service level of a sender's letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Simple electronic registered delivery (eIDAS art. 43): sent without approval.
    #[default]
    Simple,
    /// Qualified (eIDAS art. 44, the legal equivalent of a paper LRAR): the sender approves with a one-time code.
    Qualified,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    #[serde(with = "humantime_serde")]
    pub deposit_after: Duration,
    #[serde(with = "humantime_serde")]
    pub outcome_after: Duration,
    pub webhook_secret: Secret,
    pub price_cents: i64,
}

/// A legal sender of letters. API keys belong to one sender.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SenderSettings {
    pub id: SenderId,
    pub provider: String,
    pub company: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub siret: String,
    pub email: EmailAddress,
    pub address: PostalAddress,
    #[serde(default = "yes")]
    pub require_pdf: bool,
    /// The sender's account id at the provider (AR24 `id_user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_user_id: Option<String>,
    #[serde(default)]
    pub service: Service,
    /// Who may ask for letters by email: addresses, or `@domain`.
    #[serde(default)]
    pub allowed_from: Vec<String>,
    #[serde(default)]
    pub confirm: Confirm,
    #[serde(default = "default_template")]
    pub default_template: String,
}

/// Whether emailed requests leave at once or after the requester confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirm {
    #[default]
    Never,
    Always,
}

fn default_template() -> String {
    "relance-facture".to_owned()
}

fn yes() -> bool {
    true
}
