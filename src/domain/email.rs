//! Email addresses, checked the way a mail server would accept them (not the full RFC 5322 grammar).

use serde::{Deserialize, Serialize};

use super::FieldError;

/// A syntactically valid email address, trimmed; the domain is lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses `text`; the error names the problem in words a user can act on.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let bad = |message: &str| FieldError::new("", "invalid_email", format!("`{text}` {message}"));
        if text.len() > 254 {
            return Err(bad("is longer than 254 characters"));
        }
        let (local, domain) = text.rsplit_once('@').ok_or_else(|| bad("has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(bad("has no valid part before the @"));
        }
        if local.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c)) {
            return Err(bad("has a character not allowed before the @"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(bad("has a misplaced dot before the @"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(bad("has no valid domain after the @ (like example.fr)"));
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the @ (the sandbox picks its outcome from it).
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).map_err(|e| e.message)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_domains_lowercased() {
        let e = EmailAddress::parse(" Compta@Boulangerie-Martin.FR ").unwrap();
        assert_eq!(e.as_str(), "Compta@boulangerie-martin.fr");
        assert_eq!(e.local_part(), "Compta");
        assert!(EmailAddress::parse("jean.dupont+lre@société.fr").is_ok());
    }

    #[test]
    fn broken_addresses_are_refused_with_a_reason() {
        for bad in ["", "nobody", "@example.fr", "a@b", "a b@example.fr", "a@-x.fr", "a..b@x.fr", "a@x..fr"] {
            let err = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid_email", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_is_idempotent(text in "\\PC{0,80}") {
            if let Ok(e) = EmailAddress::parse(&text) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
            }
        }

        #[test]
        fn simple_valid_addresses_always_parse(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}\\.(fr|com|eu)") {
            let address = format!("{local}@{domain}");
            prop_assert!(EmailAddress::parse(&address).is_ok());
        }
    }
}
