//! `[providers.NAME]` with `kind = "maileva"`: a Maileva account (providers.md §2), its OAuth2 credentials
//! (each also as `*_file`), where its APIs live, and the options of paper registered letters.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::Secret;

/// Maileva's production and sandbox hosts (providers.md §2.1).
pub const PRODUCTION_API: &str = "https://api.maileva.com";
pub const SANDBOX_API: &str = "https://api.sandbox.maileva.net";
pub const PRODUCTION_AUTH: &str = "https://connexion.maileva.com/auth/realms/services/protocol/openid-connect/token";
pub const SANDBOX_AUTH: &str =
    "https://connexion.sandbox.maileva.net/auth/realms/services/protocol/openid-connect/token";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailevaSettings {
    /// Picks the default `base_url` and `auth_url` (sandbox or production) and is checked against them.
    #[serde(default)]
    pub sandbox: bool,
    /// Where the APIs live: `registered_mail/v4` and `notification_center/v2` are paths under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<url::Url>,
    /// The OAuth2 token endpoint (password grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<url::Url>,
    #[serde(default)]
    pub client_id: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_file: Option<PathBuf>,
    #[serde(default)]
    pub client_secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<PathBuf>,
    #[serde(default)]
    pub password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// The postage class of paper letters; `REGISTERED_MAIL_J2_AR` (2 days, acknowledgement of receipt).
    #[serde(default)]
    pub postage: Postage,
    #[serde(default)]
    pub color_printing: bool,
    #[serde(default)]
    pub duplex_printing: bool,
    /// Maileva adds its own address sheet in front of the letter, instead of reading the letter's window.
    #[serde(default)]
    pub address_sheet: bool,
    /// Subscribe relais's webhook URL through `notification_center/v2` at start (idempotent).
    #[serde(default = "super::senders::yes")]
    pub webhooks: bool,
    /// How often letters with no news are looked up at Maileva (callbacks get lost).
    #[serde(default = "super::senders::one_hour", with = "humantime_serde")]
    pub sync_every: Duration,
    #[serde(default = "super::senders::sixty_seconds", with = "humantime_serde")]
    pub timeout: Duration,
    /// After a submit whose outcome is unknown: how long Maileva must show no such sending, counted from the
    /// end of the doubtful request, before the letter is sent again.
    #[serde(default = "super::senders::fifteen_minutes", with = "humantime_serde")]
    pub resend_after: Duration,
    /// Maileva limits the rate of its API: requests per second at most (the token endpoint aside), shared
    /// by all workers; none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<std::num::NonZeroU32>,
}

/// Maileva's postage classes of registered letters (`postage_class`, registered_mail/v4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Postage {
    #[default]
    #[serde(rename = "REGISTERED_MAIL_J2_AR")]
    RegisteredMailJ2Ar,
    #[serde(rename = "REGISTERED_MAIL_J3_AR")]
    RegisteredMailJ3Ar,
    #[serde(rename = "REGISTERED_MAIL_J2")]
    RegisteredMailJ2,
    #[serde(rename = "REGISTERED_MAIL_J3")]
    RegisteredMailJ3,
}

impl Postage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisteredMailJ2Ar => "REGISTERED_MAIL_J2_AR",
            Self::RegisteredMailJ3Ar => "REGISTERED_MAIL_J3_AR",
            Self::RegisteredMailJ2 => "REGISTERED_MAIL_J2",
            Self::RegisteredMailJ3 => "REGISTERED_MAIL_J3",
        }
    }

    /// With an acknowledgement of receipt (the "AR" of LRAR).
    pub fn with_receipt(self) -> bool {
        matches!(self, Self::RegisteredMailJ2Ar | Self::RegisteredMailJ3Ar)
    }

    /// Delivered in two days (`URGENT`) rather than three (`FAST`).
    pub fn two_days(self) -> bool {
        matches!(self, Self::RegisteredMailJ2Ar | Self::RegisteredMailJ2)
    }
}

impl MailevaSettings {
    pub fn api_url(&self) -> url::Url {
        self.base_url
            .clone()
            .unwrap_or_else(|| (if self.sandbox { SANDBOX_API } else { PRODUCTION_API }).parse().unwrap())
    }

    pub fn token_url(&self) -> url::Url {
        self.auth_url
            .clone()
            .unwrap_or_else(|| (if self.sandbox { SANDBOX_AUTH } else { PRODUCTION_AUTH }).parse().unwrap())
    }

    /// Replaces each secret by its `*_file`'s content when one is given; errors name the `*_file` key.
    pub(super) fn read_secret_files(&mut self, name: &str) -> Result<(), super::ConfigError> {
        let key = |field: &str| format!("providers.{name}.{field}_file");
        super::secrets::read_secret_file(&mut self.client_id, &self.client_id_file, &key("client_id"))?;
        super::secrets::read_secret_file(&mut self.client_secret, &self.client_secret_file, &key("client_secret"))?;
        super::secrets::read_secret_file(&mut self.username, &self.username_file, &key("username"))?;
        super::secrets::read_secret_file(&mut self.password, &self.password_file, &key("password"))
    }

    /// Every credential given, URLs that are http(s), and `sandbox` agreeing with the hosts.
    pub(super) fn validate(&self, name: &str) -> Result<(), super::ConfigError> {
        let key = |field: &str| format!("providers.{name}.{field}");
        let credentials = [
            ("client_id", &self.client_id, "the OAuth2 client id Maileva gave the application"),
            ("client_secret", &self.client_secret, "the OAuth2 client secret Maileva gave the application"),
            ("username", &self.username, "the Maileva user's login"),
            ("password", &self.password, "the Maileva user's password"),
        ];
        for (field, value, what) in credentials {
            if value.is_empty() {
                return Err(super::invalid(key(field), format!("give {what} (or {field}_file)")));
            }
        }
        for (field, url) in [("base_url", self.api_url()), ("auth_url", self.token_url())] {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(super::invalid(key(field), "must be an http(s) URL"));
            }
            let host = url.host_str().unwrap_or_default();
            let production = host.ends_with("maileva.com");
            let sandbox = host.ends_with("maileva.net");
            if (self.sandbox && production) || (!self.sandbox && sandbox) {
                let message = format!(
                    "{host} is Maileva's {} but sandbox = {}: make them agree",
                    if production { "production" } else { "sandbox" },
                    self.sandbox
                );
                return Err(super::invalid(key(field), message));
            }
        }
        Ok(())
    }
}

/// What a sender on a Maileva account must give for its service: an electronic sender, simple or qualified,
/// sends in the name of its sender at Maileva's electronic APIs (`sender_id`, required by
/// `secured_electronic_mail/v1` and `electronic_qualified_registered_mail/v1`).
pub(super) fn check_sender(i: usize, sender: &super::SenderSettings) -> Result<(), super::ConfigError> {
    let key = |field: &str| format!("senders[{i}].{field}");
    match sender.service {
        super::Service::Simple | super::Service::Qualified
            if sender.maileva_sender_id.as_deref().is_none_or(|id| id.trim().is_empty()) =>
        {
            Err(super::invalid(
                key("maileva_sender_id"),
                "an electronic sender on Maileva sends in the name of its Maileva sender (electronic_mail_emitter): \
                 give its id",
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{ProviderSettings, Service, Settings};

    fn with_maileva(toml_text: &str) -> Settings {
        let maileva: ProviderSettings = toml::from_str(toml_text).unwrap();
        let mut settings = Settings::load(None).unwrap();
        settings.providers.insert("maileva".into(), maileva);
        settings.senders[0].provider = "maileva".into();
        settings.senders[0].service = Service::Paper;
        settings
    }

    const ACCOUNT: &str = "kind = \"maileva\"\nsandbox = true\nclient_id = \"app\"\nclient_secret = \"app-secret\"\n\
                           username = \"user\"\npassword = \"user-password\"";

    #[test]
    fn a_paper_sender_on_a_complete_maileva_account_is_valid() {
        let settings = with_maileva(ACCOUNT);
        assert!(settings.validate().is_ok());
        let ProviderSettings::Maileva(m) = &settings.providers["maileva"] else { unreachable!() };
        assert_eq!(m.api_url().as_str(), "https://api.sandbox.maileva.net/");
        assert!(m.token_url().as_str().starts_with("https://connexion.sandbox.maileva.net/"));
        let printed = settings.printable().unwrap();
        assert!(!printed.contains("user-password") && !printed.contains("app-secret"), "{printed}");
    }

    #[test]
    fn each_missing_credential_is_named() {
        for field in ["client_id", "client_secret", "username", "password"] {
            let text: String =
                ACCOUNT.lines().filter(|l| !l.starts_with(&format!("{field} "))).collect::<Vec<_>>().join("\n");
            let message = with_maileva(&text).validate().unwrap_err().to_string();
            assert!(message.contains(&format!("providers.maileva.{field}")), "{message}");
            assert!(message.contains(&format!("{field}_file")), "{message}");
        }
    }

    #[test]
    fn sandbox_must_agree_with_the_hosts() {
        let text = format!("{ACCOUNT}\nbase_url = \"https://api.maileva.com\"");
        let message = with_maileva(&text).validate().unwrap_err().to_string();
        assert!(message.contains("providers.maileva.base_url") && message.contains("production"), "{message}");
    }

    #[test]
    fn services_must_fit_the_provider() {
        let mut settings = with_maileva(ACCOUNT);
        for service in [Service::Simple, Service::Qualified] {
            settings.senders[0].service = service;
            settings.senders[0].maileva_sender_id = None;
            let message = settings.validate().unwrap_err().to_string();
            assert!(message.contains("senders[0].maileva_sender_id"), "{service:?}: {message}");
            settings.senders[0].maileva_sender_id = Some("4f9c0b2e-7d1a-4c3e-9b8a-2f6d5e4c3b2a".into());
            assert!(settings.validate().is_ok(), "{service:?}");
        }
        let mut settings = Settings::load(None).unwrap();
        settings.senders[0].service = Service::Paper;
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].service") && message.contains("sandbox"), "{message}");
    }

    #[test]
    fn a_paper_fallback_names_a_maileva_account() {
        let mut settings = with_maileva(ACCOUNT);
        let sender = &mut settings.senders[0];
        (sender.provider, sender.service) = ("sandbox".into(), Service::Simple);
        sender.fallback = Some(crate::config::Fallback::Paper);
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].fallback_provider"), "{message}");
        settings.senders[0].fallback_provider = Some("sandbox".into());
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("does not send paper letters"), "{message}");
        settings.senders[0].fallback_provider = Some("maileva".into());
        assert!(settings.validate().is_ok());
        assert_eq!(settings.senders[0].paper_fallback(), Some("maileva"));
        // A simple sender on Maileva falls back to paper through another account than its own.
        let sender = &mut settings.senders[0];
        (sender.provider, sender.service) = ("maileva".into(), Service::Simple);
        sender.maileva_sender_id = Some("4f9c0b2e-7d1a-4c3e-9b8a-2f6d5e4c3b2a".into());
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].fallback_provider") && message.contains("another account"), "{message}");
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "from-a-file\n").unwrap();
        let text = format!("{}\npassword_file = {:?}", ACCOUNT.replace("password = \"user-password\"", ""), path);
        let mut settings = with_maileva(&text);
        settings.read_secret_files().unwrap();
        let ProviderSettings::Maileva(m) = &settings.providers["maileva"] else { unreachable!() };
        assert_eq!(m.password.expose(), "from-a-file");
        let text = format!("{ACCOUNT}\nclient_secret_file = \"/nonexistent/secret\"");
        let message = with_maileva(&text).read_secret_files().unwrap_err().to_string();
        assert!(message.contains("providers.maileva.client_secret_file"), "{message}");
    }
}
