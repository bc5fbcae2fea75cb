//! `[audit]`: where the anchors of the event chains are written, who receives them, and the time-stamping
//! authority that dates them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::domain::EmailAddress;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The append-only file of anchors; time-stamp tokens are kept beside it.
    pub anchor_file: PathBuf,
    /// How often the workers anchor the chains; zero: only on demand.
    #[serde(with = "humantime_serde")]
    pub anchor_every: Duration,
    /// Who receives each anchor by email; empty: nobody.
    pub operator_email: String,
    /// An RFC 3161 time-stamping authority (HTTP POST of a TimeStampReq); empty: no time-stamp. Printed
    /// with its password redacted (some authorities take HTTP Basic credentials in the URL).
    #[serde(serialize_with = "redacted_url")]
    pub tsa_url: String,
    #[serde(with = "humantime_serde")]
    pub tsa_timeout: Duration,
}

fn redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            s.serialize_str(u.as_str())
        }
        _ => s.serialize_str(url),
    }
}

impl AuditSettings {
    pub fn operator(&self) -> Option<EmailAddress> {
        EmailAddress::parse(&self.operator_email).ok()
    }

    pub fn tsa(&self) -> Option<url::Url> {
        url::Url::parse(&self.tsa_url).ok()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.anchor_file.as_os_str().is_empty() || self.anchor_file.file_name().is_none() {
            return Err(invalid("audit.anchor_file", "name a file (its folder also keeps the time-stamp tokens)"));
        }
        if !self.operator_email.is_empty() && EmailAddress::parse(&self.operator_email).is_err() {
            return Err(invalid("audit.operator_email", format!("`{}` is not an email address", self.operator_email)));
        }
        if !self.tsa_url.is_empty() {
            let url = url::Url::parse(&self.tsa_url)
                .map_err(|e| invalid("audit.tsa_url", format!("`{}` is not a URL: {e}", self.tsa_url)))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(invalid("audit.tsa_url", "must be an http(s) URL"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn a_bad_operator_address_or_authority_url_names_its_key() {
        let mut settings = Settings::load(None).unwrap();
        settings.audit.operator_email = "exploitation".into();
        assert!(settings.validate().unwrap_err().to_string().contains("audit.operator_email"));
        let mut settings = Settings::load(None).unwrap();
        settings.audit.tsa_url = "ftp://tsa.example.org/".into();
        assert!(settings.validate().unwrap_err().to_string().contains("audit.tsa_url"));
        settings.audit.tsa_url = "http://tsa.example.org/tsr".into();
        settings.audit.operator_email = "exploitation@cabinet.fr".into();
        assert!(settings.validate().is_ok());
        assert!(settings.audit.tsa().is_some() && settings.audit.operator().is_some());
    }

    #[test]
    fn the_authoritys_password_is_not_printed_with_the_configuration() {
        let mut settings = Settings::load(None).unwrap();
        settings.audit.tsa_url = "https://relais:s3cr3t-tsa@tsa.example.org/tsr".into();
        let printed = toml::to_string_pretty(&settings).unwrap();
        assert!(!printed.contains("s3cr3t-tsa"), "{printed}");
        assert!(printed.contains("tsa.example.org"));
        assert_eq!(settings.audit.tsa().unwrap().password(), Some("s3cr3t-tsa"), "the client still uses it");
    }
}
