//! Configuration: the embedded defaults, then a file, then `RELAIS__*` environment variables; validated at start.
//! The sections live beside: `intake` (email channels), `senders` (providers and senders), `values` (secrets, sizes).

mod audit;
mod callbacks;
mod console;
mod hooks;
mod intake;
mod maileva;
mod print;
mod senders;
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

    fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        read_secret_file(&mut self.mail.smtp_password, &self.mail.smtp_password_file, "mail.smtp_password_file")?;
        let mime = &mut self.intake.mime;
        read_secret_file(&mut mime.ingress_key, &mime.ingress_key_file, "intake.mime.ingress_key_file")?;
        for (i, mailbox) in self.intake.imap.iter_mut().enumerate() {
            read_mailbox_secrets(mailbox, &format!("intake.imap[{i}]"))?;
            if mailbox.idle_renew >= Duration::from_secs(29 * 60) {
                return Err(invalid(format!("intake.imap[{i}].idle_renew"), "must stay under 29 minutes"));
            }
        }
        for (i, hook) in self.hooks.iter_mut().enumerate() {
            for (j, path) in hook.secret_files.iter().enumerate() {
                let mut secret = Secret::default();
                read_secret_file(&mut secret, &Some(path.clone()), &format!("hooks[{i}].secret_files[{j}]"))?;
                hook.secrets.push(secret);
            }
        }
        for (i, sender) in self.senders.iter_mut().enumerate() {
            let key = format!("senders[{i}].callback_secret_file");
            read_secret_file(&mut sender.callback_secret, &sender.callback_secret_file, &key)?;
            for (j, callback) in sender.callbacks.iter_mut().enumerate() {
                let key = format!("senders[{i}].callbacks[{j}].secret_file");
                read_secret_file(&mut callback.secret, &callback.secret_file, &key)?;
            }
        }
        for (name, provider) in &mut self.providers {
            match provider {
                ProviderSettings::Ar24(ar24) => {
                    read_secret_file(&mut ar24.token, &ar24.token_file, &format!("providers.{name}.token_file"))?;
                    let key = format!("providers.{name}.private_key_file");
                    read_secret_file(&mut ar24.private_key, &ar24.private_key_file, &key)?;
                }
                ProviderSettings::Maileva(maileva) => maileva.read_secret_files(name)?,
                ProviderSettings::Sandbox(_) => {}
            }
        }
        Ok(())
    }

    fn validate_smtp(&self) -> Result<(), ConfigError> {
        let smtp = &self.intake.smtp;
        if smtp.listen.is_empty() {
            return Ok(());
        }
        smtp.listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("intake.smtp.listen", format!("`{}` is not an address and port: {e}", smtp.listen)))?;
        if smtp.max_message_size.0 == 0 {
            return Err(invalid("intake.smtp.max_message_size", "must be more than 0"));
        }
        if smtp.accept_domains.is_empty() {
            return Err(invalid("intake.smtp.accept_domains", "name the domains relais receives mail for"));
        }
        let (cert, key) = (smtp.tls_cert_file.as_os_str().is_empty(), smtp.tls_key_file.as_os_str().is_empty());
        if cert != key {
            return Err(invalid("intake.smtp.tls_cert_file", "give both tls_cert_file and tls_key_file, or neither"));
        }
        if smtp.require_tls && cert {
            return Err(invalid("intake.smtp.require_tls", "requires tls_cert_file and tls_key_file"));
        }
        Ok(())
    }

    fn validate_providers(&self) -> Result<(), ConfigError> {
        for (name, provider) in &self.providers {
            if let ProviderSettings::Maileva(maileva) = provider {
                maileva.validate(name)?;
            }
            if let ProviderSettings::Ar24(ar24) = provider {
                if ar24.token.is_empty() {
                    return Err(invalid(format!("providers.{name}.token"), "give the AR24 API token (or token_file)"));
                }
                if ar24.private_key.is_empty() {
                    let message = "give the AR24 private key (or private_key_file)";
                    return Err(invalid(format!("providers.{name}.private_key"), message));
                }
            }
        }
        for (i, sender) in self.senders.iter().enumerate() {
            let is_ar24 = matches!(self.providers.get(&sender.provider), Some(ProviderSettings::Ar24(_)));
            if is_ar24 && sender.provider_user_id.is_none() {
                let message = "an AR24 sender needs its AR24 user id (`relais sender link` creates or finds it)";
                return Err(invalid(format!("senders[{i}].provider_user_id"), message));
            }
            self.validate_fallback(i, sender)?;
            let Some(provider) = self.providers.get(&sender.provider) else { continue };
            if let ProviderSettings::Maileva(_) = provider {
                maileva::check_sender(i, sender)?;
            }
            if !provider.services().contains(&sender.service) {
                let offered: Vec<&str> = provider.services().iter().map(|s| s.as_str()).collect();
                let message = format!(
                    "provider `{}` does not send `{}` letters here; use service = \"{}\"",
                    sender.provider,
                    sender.service.as_str(),
                    offered.join("\" or \"")
                );
                return Err(invalid(format!("senders[{i}].service"), message));
            }
        }
        Ok(())
    }

    /// A paper fallback names a Maileva account, for a sender whose own letters are electronic.
    fn validate_fallback(&self, i: usize, sender: &SenderSettings) -> Result<(), ConfigError> {
        if sender.fallback.is_none() && !sender.fallback_after.is_zero() {
            return Err(invalid(
                format!("senders[{i}].fallback_after"),
                "set fallback = \"paper\" too, or leave it out",
            ));
        }
        let Some(Fallback::Paper) = sender.fallback else { return Ok(()) };
        let key = format!("senders[{i}].fallback_provider");
        if sender.service.is_paper() {
            return Err(invalid(format!("senders[{i}].fallback"), "a paper sender needs no paper fallback"));
        }
        let Some(name) = &sender.fallback_provider else {
            return Err(invalid(key, "name the Maileva account of [providers] that sends the paper letters"));
        };
        match self.providers.get(name) {
            // The letter's account tells its route (a letter switched to the fallback account goes on paper).
            Some(ProviderSettings::Maileva(_)) if *name == sender.provider => Err(invalid(
                key,
                format!(
                    "the paper fallback is another account than the sender's own `{name}`: declare a second \
                     [providers] entry for the paper letters (it may use the same Maileva credentials)"
                ),
            )),
            Some(ProviderSettings::Maileva(_)) => Ok(()),
            Some(_) => Err(invalid(key, format!("`{name}` does not send paper letters: name a Maileva account"))),
            None => Err(invalid(key, format!("no provider named `{name}` in [providers]"))),
        }
    }

    /// Checks what the types alone cannot: references between sections, URL shapes, non-zero limits.
    /// Reads the senders' logo and signature images (once: images already read are kept).
    pub fn load_images(&mut self) -> Result<(), ConfigError> {
        for (i, sender) in self.senders.iter_mut().enumerate() {
            sender.load_images(&format!("senders[{i}]")).map_err(|(key, message)| invalid(key, message))?;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid("database.url", "must start with sqlite: or postgres://"));
        }
        if !matches!(self.server.public_url.scheme(), "http" | "https") {
            return Err(invalid("server.public_url", "must be an http(s) URL"));
        }
        if self.render.max_pages == 0 {
            return Err(invalid("render.max_pages", "must be at least 1"));
        }
        if self.worker.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        if self.worker.retry_delays.is_empty() {
            return Err(invalid("worker.retry_delays", "give at least one delay"));
        }
        self.validate_providers()?;
        self.validate_smtp()?;
        self.audit.validate()?;
        self.callbacks.validate()?;
        crate::intake::hooks::Hooks::build(self)?;
        if self.senders.is_empty() {
            return Err(invalid("senders", "at least one sender is needed"));
        }
        for (i, sender) in self.senders.iter().enumerate() {
            if !self.providers.contains_key(&sender.provider) {
                return Err(invalid(
                    format!("senders[{i}].provider"),
                    format!("no provider named `{}` in [providers]", sender.provider),
                ));
            }
            if self.senders.iter().filter(|s| s.id == sender.id).count() > 1 {
                return Err(invalid(format!("senders[{i}].id"), format!("`{}` is used twice", sender.id)));
            }
            sender.validate(i)?;
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

/// Replaces `secret` by the content of `file` when a file is given (trailing newline dropped).
/// A mailbox logs in with exactly one of: a password, an access token file, or the OAuth2 refresh grant.
fn read_mailbox_secrets(mailbox: &mut ImapMailboxSettings, key: &str) -> Result<(), ConfigError> {
    read_secret_file(&mut mailbox.password, &mailbox.password_file, &format!("{key}.password_file"))?;
    let ways = [!mailbox.password.is_empty(), mailbox.oauth2_token_file.is_some(), mailbox.oauth2.is_some()];
    let message = "give one of password, password_file, oauth2_token_file or an [intake.imap.oauth2] table";
    if ways.iter().filter(|&&way| way).count() != 1 {
        return Err(invalid(format!("{key}.password"), message));
    }
    if let Some(file) = &mailbox.oauth2_token_file {
        let mut token = Secret::default();
        read_secret_file(&mut token, &Some(file.clone()), &format!("{key}.oauth2_token_file"))?;
        if token.is_empty() {
            return Err(invalid(format!("{key}.oauth2_token_file"), "the file is empty"));
        }
    }
    if let Some(oauth2) = &mut mailbox.oauth2 {
        let key = format!("{key}.oauth2");
        read_secret_file(&mut oauth2.client_secret, &oauth2.client_secret_file, &format!("{key}.client_secret_file"))?;
        read_secret_file(&mut oauth2.refresh_token, &oauth2.refresh_token_file, &format!("{key}.refresh_token_file"))?;
        if oauth2.refresh_token.is_empty() {
            return Err(invalid(format!("{key}.refresh_token"), "give refresh_token or refresh_token_file"));
        }
        if oauth2.client_id.is_empty() {
            return Err(invalid(format!("{key}.client_id"), "must not be empty"));
        }
        check_token_url(&oauth2.token_url).map_err(|message| invalid(format!("{key}.token_url"), message))?;
    }
    Ok(())
}

/// The token endpoint receives the refresh token: `https`, or plain `http` to this machine only.
fn check_token_url(url: &str) -> Result<(), &'static str> {
    let parsed = url::Url::parse(url).map_err(|_| "must be an absolute URL")?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("must use https (plain http only to a loopback address)"),
        _ => Err("must be an https URL"),
    }
}

fn read_secret_file(secret: &mut Secret, file: &Option<PathBuf>, key: &str) -> Result<(), ConfigError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
        *secret = Secret::new(text.trim_end().to_owned());
    }
    Ok(())
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

    #[test]
    fn a_mailbox_logs_in_one_way_and_sends_its_refresh_token_only_over_https_or_loopback() {
        let mailbox = |extra: &str| -> ImapMailboxSettings {
            toml::from_str(&format!("host = \"imap.example.fr\"\nusername = \"lre@example.fr\"\n{extra}")).unwrap()
        };
        let oauth2 = |url: &str| format!("[oauth2]\ntoken_url = \"{url}\"\nclient_id = \"c\"\nrefresh_token = \"r\"");
        let check =
            |mut m: ImapMailboxSettings| read_mailbox_secrets(&mut m, "intake.imap[0]").map_err(|e| e.to_string());
        assert!(check(mailbox("password = \"p\"")).is_ok());
        assert!(check(mailbox(&oauth2("https://oauth2.googleapis.com/token"))).is_ok());
        assert!(check(mailbox(&oauth2("http://127.0.0.1:8080/token"))).is_ok());
        assert!(check(mailbox(&oauth2("http://[::1]/token"))).is_ok());
        let plain = check(mailbox(&oauth2("http://login.example.fr/token"))).unwrap_err();
        assert!(plain.contains("intake.imap[0].oauth2.token_url") && plain.contains("https"), "{plain}");
        assert!(check(mailbox("")).unwrap_err().contains("intake.imap[0].password"));
        let both = check(mailbox(&format!("password = \"p\"\n{}", oauth2("https://a.example/t")))).unwrap_err();
        assert!(both.contains("give one of"), "{both}");
        let no_refresh = "[oauth2]\ntoken_url = \"https://a.example/t\"\nclient_id = \"c\"";
        assert!(check(mailbox(no_refresh)).unwrap_err().contains("oauth2.refresh_token"));
    }
}
