//! `[providers]` and `[[senders]]`: provider accounts, and the legal senders who use them.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::callbacks::SenderCallback;
use super::maileva::MailevaSettings;
use super::values::Secret;
use crate::domain::address::RawAddress;
use crate::domain::{EmailAddress, PostalAddress, SenderId};
use crate::render::document::DocumentImage;

/// One provider account; `kind` picks the implementation under `src/providers/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProviderSettings {
    Sandbox(SandboxSettings),
    Ar24(Ar24Settings),
    Maileva(MailevaSettings),
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
    /// After a send whose outcome is unknown: how long AR24 must show no such letter, counted from the end
    /// of the doubtful request, before it is sent again.
    #[serde(default = "fifteen_minutes", with = "humantime_serde")]
    pub resend_after: Duration,
    /// AR24 limits the rate of its API: requests per second at most, shared by all workers; none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<NonZeroU32>,
}

pub(super) fn fifteen_minutes() -> Duration {
    Duration::from_secs(15 * 60)
}

impl ProviderSettings {
    /// How long the provider must show no letter, after a doubtful request ended, before a re-send.
    pub fn resend_after(&self) -> Duration {
        match self {
            Self::Sandbox(s) => s.resend_after,
            Self::Ar24(s) => s.resend_after,
            Self::Maileva(s) => s.resend_after,
        }
    }

    /// The account's API rate limit (requests per second), if it has one.
    pub fn max_requests_per_second(&self) -> Option<NonZeroU32> {
        match self {
            Self::Sandbox(s) => s.max_requests_per_second,
            Self::Ar24(s) => s.max_requests_per_second,
            Self::Maileva(s) => s.max_requests_per_second,
        }
    }

    /// The service levels senders of this account may use.
    pub fn services(&self) -> &'static [Service] {
        match self {
            Self::Sandbox(_) | Self::Ar24(_) => &[Service::Simple, Service::Qualified],
            Self::Maileva(_) => &[Service::Paper, Service::Simple, Service::Qualified],
        }
    }
}

pub(super) fn one_hour() -> Duration {
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
    /// A paper registered letter with acknowledgement of receipt (LRAR), printed and posted by the provider.
    Paper,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::Qualified => "qualified",
            Self::Paper => "paper",
        }
    }

    /// Electronic letters reach the recipient by email; paper ones by post, at their postal address.
    pub fn is_paper(self) -> bool {
        self == Self::Paper
    }
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
    #[serde(default = "fifteen_minutes", with = "humantime_serde")]
    pub resend_after: Duration,
    /// Calls to this account's API per second at most, shared by all workers; none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<NonZeroU32>,
    /// How long each call to the sandbox takes, as a remote provider's round trip would (benchmarks).
    #[serde(default, with = "humantime_serde")]
    pub latency: Duration,
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
    /// The sender's id at Maileva's electronic APIs (`electronic_mail_emitter` senders): consent requests
    /// (`POST /v1/consents/requests`) ask recipients in its name, through the sender's Maileva account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maileva_sender_id: Option<String>,
    /// For an electronic sender: send as a paper registered letter through `fallback_provider` (a Maileva
    /// account) a letter that cannot go electronically — an individual who has not consented, a recipient
    /// without an email address — instead of letting it wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_provider: Option<String>,
    /// How long a letter to an individual who has not consented waits for the consent before it leaves on
    /// paper ("7days" gives a consent request time); zero, the default, sends it on paper at once. A
    /// recipient without an email address never waits.
    #[serde(default, with = "humantime_serde")]
    pub fallback_after: Duration,
    /// Who may ask for letters by email: addresses, or `@domain`.
    #[serde(default)]
    pub allowed_from: Vec<String>,
    /// An address of relais's own that names this sender (`dupont@lre.cabinet.fr`); its `+tag` names the
    /// template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake_address: Option<EmailAddress>,
    #[serde(default)]
    pub confirm: Confirm,
    #[serde(default = "default_template")]
    pub default_template: String,
    /// The logo printed top left of the sender's letters: a PNG, JPEG or SVG file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_file: Option<PathBuf>,
    /// Who signs the letters; `name`, then the company, when empty.
    #[serde(default)]
    pub signature_name: String,
    /// Their role, printed under their name ("Gérante").
    #[serde(default)]
    pub signature_role: String,
    /// A handwritten signature printed above the name: a PNG, JPEG or SVG file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_image_file: Option<PathBuf>,
    /// Legal mentions of the letters' footer: legal form ("SAS"), share capital ("10 000 €"), RCS
    /// registration ("Paris B 123 456 789"); the company, SIRET and address come from the keys above.
    #[serde(default)]
    pub legal_form: String,
    #[serde(default)]
    pub capital: String,
    #[serde(default)]
    pub rcs: String,
    /// Signs the callbacks of this sender's letters that name a `callback_url` but no `callback_secret` of
    /// their own: a `whsec_` secret (Standard Webhooks).
    #[serde(default)]
    pub callback_secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_secret_file: Option<PathBuf>,
    /// Endpoints that receive every letter's events, kept in step with this list at each start.
    #[serde(default)]
    pub callbacks: Vec<SenderCallback>,
    /// `logo_file`, read when the configuration is loaded.
    #[serde(skip)]
    pub logo: Option<DocumentImage>,
    /// `signature_image_file`, read when the configuration is loaded.
    #[serde(skip)]
    pub signature_image: Option<DocumentImage>,
}

impl SenderSettings {
    /// True when this sender's letters through `provider` are paper letters: the sender's service is paper,
    /// or `provider` is its paper fallback (a letter switched to it).
    pub fn sends_on_paper_through(&self, provider: &str) -> bool {
        self.service.is_paper() || (provider != self.provider && self.paper_fallback() == Some(provider))
    }

    /// The provider account a letter that cannot go electronically is sent through on paper, if any.
    pub fn paper_fallback(&self) -> Option<&str> {
        match self.fallback {
            Some(Fallback::Paper) if !self.service.is_paper() => self.fallback_provider.as_deref(),
            _ => None,
        }
    }

    /// Reads the logo and signature image files, naming the key of a file that cannot be used.
    pub fn load_images(&mut self, key: &str) -> Result<(), (String, String)> {
        let load = |file: &Option<PathBuf>, name: &str| -> Result<Option<DocumentImage>, (String, String)> {
            file.as_deref().map(DocumentImage::load).transpose().map_err(|e| (format!("{key}.{name}"), e))
        };
        if self.logo.is_none() {
            self.logo = load(&self.logo_file, "logo_file")?;
        }
        if self.signature_image.is_none() {
            self.signature_image = load(&self.signature_image_file, "signature_image_file")?;
        }
        Ok(())
    }
}

/// Another way out for letters the sender's service cannot send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// A paper registered letter with acknowledgement of receipt.
    Paper,
}

/// Whether emailed requests leave at once or after the requester confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirm {
    #[default]
    Never,
    Always,
}

impl SenderSettings {
    /// Checks what deserializing cannot: the SIRET's checksum, the address as a letter would need it.
    /// Errors name the key under `senders[i]`.
    pub(super) fn validate(&self, i: usize) -> Result<(), super::ConfigError> {
        let key = |field: &str| format!("senders[{i}].{field}");
        if !self.siret.trim().is_empty() {
            check_siret(&self.siret).map_err(|message| super::invalid(key("siret"), message))?;
        }
        let raw = RawAddress {
            lines: self.address.lines.clone(),
            postal_code: self.address.postal_code.clone(),
            city: self.address.city.clone(),
            country: Some(self.address.country.clone()),
        };
        if let Err(errors) = PostalAddress::parse(raw) {
            let first = &errors.0[0];
            return Err(super::invalid(key(&format!("address.{}", first.field)), first.message.clone()));
        }
        if !self.callback_secret.is_empty() {
            super::callbacks::check_secret(self.callback_secret.expose())
                .map_err(|message| super::invalid(key("callback_secret"), message))?;
        }
        for (j, callback) in self.callbacks.iter().enumerate() {
            callback.validate(&key(&format!("callbacks[{j}]")))?;
        }
        Ok(())
    }
}

/// A SIRET: 14 digits (spaces allowed) passing the Luhn checksum; La Poste's establishments (SIREN
/// 356000000) use their own rule instead, digits summing to a multiple of 5.
pub fn check_siret(text: &str) -> Result<(), String> {
    let digits: Vec<u32> = text.chars().filter(|c| *c != ' ').map(|c| c.to_digit(10).unwrap_or(99)).collect();
    if digits.len() != 14 || digits.iter().any(|d| *d > 9) {
        return Err(format!("`{text}` is not a SIRET: it has 14 digits"));
    }
    let la_poste = digits[..9] == [3, 5, 6, 0, 0, 0, 0, 0, 0];
    let valid = if la_poste {
        digits.iter().sum::<u32>().is_multiple_of(5)
    } else {
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { *d })
            .sum();
        sum.is_multiple_of(10)
    };
    if valid { Ok(()) } else { Err(format!("`{text}` is not a SIRET: its checksum (Luhn) fails; check for a typo")) }
}

fn default_template() -> String {
    "relance-facture".to_owned()
}

pub(super) fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::check_siret;
    use crate::config::Settings;

    #[test]
    fn a_siret_has_fourteen_digits_and_a_valid_checksum() {
        assert!(check_siret("732 829 320 00074").is_ok());
        assert!(check_siret("35600000000010").is_ok(), "La Poste: digits summing to a multiple of 5");
        assert!(check_siret("73282932000075").unwrap_err().contains("checksum"));
        assert!(check_siret("7328293200007").unwrap_err().contains("14 digits"));
        assert!(check_siret("7328293200007A").unwrap_err().contains("14 digits"));
    }

    #[test]
    fn a_sender_with_a_bad_siret_or_postcode_is_refused_naming_the_key() {
        let mut settings = Settings::load(None).unwrap();
        settings.senders[0].siret = "73282932000075".into();
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].siret") && message.contains("checksum"), "{message}");

        let mut settings = Settings::load(None).unwrap();
        settings.senders[0].address.postal_code = "7500".into();
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].address.postal_code"), "{message}");

        let mut settings = Settings::load(None).unwrap();
        settings.senders[0].siret = "732 829 320 00074".into();
        assert!(settings.validate().is_ok());
    }
}
