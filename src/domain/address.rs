//! Postal addresses: lines, postal code, city and ISO country; French postal codes are checked.

use serde::{Deserialize, Serialize};

use super::{FieldError, FieldErrors};

/// A postal address as printed on a letter. Built by `parse`, or deserialized from trusted configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub lines: Vec<String>,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, uppercase.
    pub country: String,
}

/// What a request says, before checks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawAddress {
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: Option<String>,
}

impl PostalAddress {
    /// Checks each field; all problems are reported, each under its field name. Country defaults to FR.
    pub fn parse(raw: RawAddress) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let lines: Vec<String> = raw.lines.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            errors.push(FieldError::new("lines", "required", "give at least one address line (street and number)"));
        }
        for (i, line) in lines.iter().enumerate() {
            // 38 characters is the postal standard for one address line (AFNOR XP Z10-011).
            if line.chars().count() > 38 {
                errors.push(FieldError::new(
                    format!("lines[{i}]"),
                    "too_long",
                    "an address line has at most 38 characters",
                ));
            }
        }
        if lines.len() > 4 {
            errors.push(FieldError::new("lines", "too_many", "an address has at most 4 lines before the postal code"));
        }
        let country = raw.country.as_deref().unwrap_or("FR").trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            errors.push(FieldError::new("country", "invalid_country", "use the two-letter ISO country code, like FR"));
        }
        let postal_code = raw.postal_code.trim().to_owned();
        let french = country == "FR";
        if french && (postal_code.len() != 5 || !postal_code.chars().all(|c| c.is_ascii_digit())) {
            errors.push(FieldError::new(
                "postal_code",
                "invalid_postal_code",
                format!("`{postal_code}` is not a French postal code (five digits, like 69003)"),
            ));
        } else if postal_code.is_empty() {
            errors.push(FieldError::new("postal_code", "required", "give the postal code"));
        }
        let city = raw.city.trim().to_owned();
        if city.is_empty() {
            errors.push(FieldError::new("city", "required", "give the city"));
        }
        errors.into_result(|| PostalAddress { lines, postal_code, city, country })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(postal_code: &str, country: Option<&str>) -> RawAddress {
        RawAddress {
            lines: vec!["12 rue des Lilas".into()],
            postal_code: postal_code.into(),
            city: "Lyon".into(),
            country: country.map(Into::into),
        }
    }

    #[test]
    fn a_french_address_parses_and_defaults_to_france() {
        let address = PostalAddress::parse(raw("69003", None)).unwrap();
        assert_eq!(address.country, "FR");
    }

    #[test]
    fn a_bad_french_postal_code_is_named() {
        let errors = PostalAddress::parse(raw("6900", Some("fr"))).unwrap_err();
        assert_eq!(errors.0[0].field, "postal_code");
        assert_eq!(errors.0[0].code, "invalid_postal_code");
    }

    #[test]
    fn foreign_postal_codes_are_free_form() {
        assert!(PostalAddress::parse(raw("SW1A 1AA", Some("GB"))).is_ok());
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let errors = PostalAddress::parse(RawAddress::default()).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["lines", "postal_code", "city"]);
    }
}
