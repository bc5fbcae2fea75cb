//! The configuration as `check-config` prints it: secrets print `[redacted]` by their type, and passwords
//! inside URLs (a PostgreSQL URL, a provider URL) are redacted here.

use super::{ProviderSettings, Settings};

/// A URL with its password (in the user part, or a `password` query parameter) replaced by `redacted`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else { return url.to_owned() };
    if u.password().is_some() {
        let _ = u.set_password(Some("redacted"));
    }
    if u.query_pairs().any(|(k, _)| k.contains("password")) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.contains("password") { "[redacted]".to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

impl Settings {
    /// The settings as TOML, with no secret in them.
    pub fn printable(&self) -> Result<String, toml::ser::Error> {
        let mut shown = self.clone();
        shown.database.url = redact_url(&shown.database.url);
        for provider in shown.providers.values_mut() {
            match provider {
                ProviderSettings::Ar24(ar24) => {
                    ar24.base_url =
                        redact_url(ar24.base_url.as_str()).parse().unwrap_or_else(|_| ar24.base_url.clone());
                }
                ProviderSettings::Maileva(maileva) => {
                    for url in [&mut maileva.base_url, &mut maileva.auth_url].into_iter().flatten() {
                        *url = redact_url(url.as_str()).parse().unwrap_or_else(|_| url.clone());
                    }
                }
                ProviderSettings::Sandbox(_) => {}
            }
        }
        toml::to_string_pretty(&shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(redact_url("postgres://relais:hunter22@db/relais"), "postgres://relais:redacted@db/relais");
        let query = redact_url("postgres://relais@db/relais?sslmode=require&password=hunter22");
        assert!(!query.contains("hunter22") && query.contains("sslmode=require"), "{query}");
        assert_eq!(redact_url("sqlite://data/relais.db"), "sqlite://data/relais.db");
    }
}
