//! Configuration: the embedded defaults, then a file, then `RELAIS__*` environment variables; validated at start.
//! The sections live beside: `intake` (email channels), `senders` (providers and senders), `maileva`, `hooks`,
//! `callbacks`, `console`, `audit`, `values` (secrets, sizes); `secrets` reads the `*_file` keys at load and
//! `validate` checks what the types alone cannot.

mod audit;
mod callbacks;
mod console;
mod hooks;
mod intake;
mod maileva;
mod print;
mod secrets;
mod senders;
mod validate;
mod values;

pub use audit::AuditSettings;
pub use callbacks::{CallbackSettings, HostAddress, SenderCallback, check_secret};
pub use console::ConsoleSettings;
pub use hooks::{
    AddressMap, HmacAlgorithm, HmacSettings, HookSettings, MapSettings, Preset, RecipientMap, SignatureEncoding,
};
pub use intake::{
    DnsSettings, ImapMailboxSettings, ImapOAuth2Settings, IntakeSettings, MimeIntakeSettings, SmtpIntakeSettings,
};
pub use maileva::{MailevaSettings, Postage};
pub use print::redact_url;
pub use senders::{Ar24Settings, Confirm, Fallback, ProviderSettings, SandboxSettings, SenderSettings, Service};
pub use values::{ByteSize, Secret};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::SenderId;

/// The defaults, documented key by key; they are what `relais serve` runs on with no configuration.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), message: message.into() }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub storage: StorageSettings,
    pub mail: MailSettings,
    pub worker: WorkerSettings,
    pub intake: IntakeSettings,
    pub providers: BTreeMap<String, ProviderSettings>,
    pub senders: Vec<SenderSettings>,
    pub audit: AuditSettings,
    pub callbacks: CallbackSettings,
    /// Inbound webhooks of accounting and billing tools, one table per source.
    #[serde(default)]
    pub hooks: Vec<HookSettings>,
    pub render: RenderSettings,
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RenderSettings {
    /// Longest letter accepted, in pages: a request making a longer one is refused at intake.
    pub max_pages: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub public_url: url::Url,
    pub max_request_size: ByteSize,
    /// Largest JSON body of POST /v1/letters (base64 attachments inline); larger files go through multipart.
    pub max_json_size: ByteSize,
    /// Memory the requests that buffer their body (JSON letters, raw emails) may hold together; more wait.
    pub intake_memory: ByteSize,
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Longest a request may take, body upload included; then 503 with Retry-After.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// SQLite: how long a write waits for a lock held elsewhere before the request gets a 503.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    pub proofs_dir: PathBuf,
    pub attachments_dir: PathBuf,
    pub max_attachments_size: ByteSize,
    /// The template files seeded at start (letters/, partials/, emails/); the embedded copies when absent.
    pub templates_dir: PathBuf,
    /// Most files one letter may carry, on every channel.
    pub max_attachments: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    pub transport: MailTransportKind,
    pub outbox_dir: PathBuf,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    #[serde(default)]
    pub smtp_password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub enabled: bool,
    pub concurrency: usize,
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub reconcile_after: Duration,
    #[serde(with = "humantime_serde")]
    pub sync_every: Duration,
    /// The delay before each new attempt of a failed job, by attempt; the last one repeats.
    #[serde(with = "duration_list")]
    pub retry_delays: Vec<Duration>,
    /// After a job of a letter has used all its attempts: how often relais asks its provider again.
    #[serde(with = "humantime_serde")]
    pub resume_every: Duration,
}

/// A list of humantime durations (`["2s", "10s"]`).
mod duration_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(delays: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        let texts: Vec<String> = delays.iter().map(|d| humantime::format_duration(*d).to_string()).collect();
        texts.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts.iter().map(|t| humantime::parse_duration(t).map_err(serde::de::Error::custom)).collect()
    }
}

impl Settings {
    /// Loads the embedded defaults, then `file` if given, then `RELAIS__SECTION__KEY` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder =
            config::Config::builder().add_source(config::File::from_str(DEFAULT_TOML, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let layered = builder
            .add_source(
                config::Environment::with_prefix("RELAIS").prefix_separator("__").separator("__").try_parsing(true),
            )
            .build()?;
        let mut settings: Settings = layered.try_deserialize()?;
        settings.read_secret_files()?;
        settings.load_images()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Reads the senders' logo and signature images (once: images already read are kept).
    pub fn load_images(&mut self) -> Result<(), ConfigError> {
        for (i, sender) in self.senders.iter_mut().enumerate() {
            sender.load_images(&format!("senders[{i}]")).map_err(|(key, message)| invalid(key, message))?;
        }
        Ok(())
    }

    pub fn sender(&self, id: &SenderId) -> Option<&SenderSettings> {
        self.senders.iter().find(|s| &s.id == id)
    }

    /// True when the database is the embedded default (SQLite), which makes `serve` print a first API key.
    pub fn uses_sqlite(&self) -> bool {
        self.database.url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_validate() {
        let settings = Settings::load(None).expect("defaults are valid");
        assert_eq!(settings.server.listen.port(), 8080);
        assert!(settings.uses_sqlite());
        assert_eq!(settings.storage.max_attachments_size, ByteSize(256_000_000));
        assert!(matches!(settings.providers["sandbox"], ProviderSettings::Sandbox(_)));
    }

    #[test]
    fn an_invalid_configuration_names_the_key_at_fault() {
        let mut settings = Settings::load(None).unwrap();
        settings.senders[0].provider = "nowhere".into();
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].provider") && message.contains("nowhere"), "{message}");

        let mut settings = Settings::load(None).unwrap();
        settings.database.url = "mysql://db".into();
        assert!(settings.validate().unwrap_err().to_string().contains("database.url"));
    }

    #[test]
    fn an_ar24_sender_needs_its_user_id_and_the_account_its_secrets() {
        let ar24: ProviderSettings = toml::from_str(
            "kind = \"ar24\"\nbase_url = \"https://sandbox.ar24.fr/api/\"\ntoken = \"t\"\nprivate_key = \"k\"",
        )
        .unwrap();
        let mut settings = Settings::load(None).unwrap();
        settings.providers.insert("ar24".into(), ar24);
        settings.senders[0].provider = "ar24".into();
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].provider_user_id"), "{message}");
        settings.senders[0].provider_user_id = Some("42".into());
        assert!(settings.validate().is_ok());
        if let Some(ProviderSettings::Ar24(a)) = settings.providers.get_mut("ar24") {
            a.private_key = Secret::default();
        }
        assert!(settings.validate().unwrap_err().to_string().contains("providers.ar24.private_key"));
    }

    #[test]
    fn sizes_parse_in_decimal_and_binary_units() {
        assert_eq!("30MB".parse::<ByteSize>(), Ok(ByteSize(30_000_000)));
        assert_eq!("1 KiB".parse::<ByteSize>(), Ok(ByteSize(1024)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn secrets_are_redacted_when_printed() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"[redacted]\"");
    }
}
