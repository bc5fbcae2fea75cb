//! The recipient of a letter and their legal kind, which decides whether consent is needed.

use serde::{Deserialize, Serialize};

use super::address::RawAddress;
use super::{EmailAddress, FieldError, FieldErrors, PostalAddress};

/// Professional recipients may receive electronic registered letters without prior consent; individuals
/// must have consented (CPCE art. L.100). An unknown kind counts as an individual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    Professional,
    Individual,
}

impl RecipientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Professional => "professional",
            Self::Individual => "individual",
        }
    }

    pub fn needs_consent(self) -> bool {
        self == Self::Individual
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub kind: RecipientKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Required for electronic letters; a paper letter may go to a recipient known only by their address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<PostalAddress>,
}

/// How a letter reaches its recipient, which decides what must be known of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// By email (electronic registered letters).
    Electronic,
    /// By post (paper registered letters).
    Paper,
    /// By email, or by post when there is no email (an electronic sender with a paper fallback).
    EitherWay,
}

/// What a request says about the recipient, before checks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawRecipient {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<RawAddress>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Recipient {
    /// Checks every field and reports all problems, each named relative to the recipient. The email is
    /// required: electronic letters are delivered by email.
    pub fn parse(raw: RawRecipient) -> Result<Self, FieldErrors> {
        Self::parse_for(raw, Delivery::Electronic)
    }

    /// As `parse`, for a letter delivered the `delivery` way: by post, the postal address is required and
    /// the email optional.
    pub fn parse_for(raw: RawRecipient, delivery: Delivery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let kind = match non_empty(raw.kind).as_deref() {
            None | Some("individual" | "particulier") => Some(RecipientKind::Individual),
            Some("professional" | "professionnel") => Some(RecipientKind::Professional),
            Some(other) => {
                errors.push(FieldError::new(
                    "kind",
                    "invalid_kind",
                    format!("`{other}` is not a recipient kind: use professional or individual"),
                ));
                None
            }
        };
        let company = non_empty(raw.company);
        let last_name = non_empty(raw.last_name).or_else(|| company.clone());
        if last_name.is_none() {
            errors.push(FieldError::new("last_name", "required", "give the recipient's last name (or a company)"));
        }
        let given = non_empty(raw.email);
        let by_post = delivery == Delivery::Paper || (delivery == Delivery::EitherWay && given.is_none());
        let email = match given {
            Some(text) => errors.take("email", EmailAddress::parse(&text)).map(Some),
            None if delivery != Delivery::Electronic => Some(None),
            None => {
                errors.push(FieldError::new(
                    "email",
                    "required",
                    "give the recipient's email address: electronic registered letters are delivered by email",
                ));
                None
            }
        };
        if by_post && raw.address.is_none() {
            let message = "give the recipient's postal address: a paper registered letter is delivered by post";
            errors.push(FieldError::new("address", "required", message));
        }
        let address = raw.address.and_then(|a| match PostalAddress::parse(a) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.extend_under("address", e);
                None
            }
        });
        let first_name = non_empty(raw.first_name);
        match (kind, last_name, email) {
            (Some(kind), Some(last_name), Some(email)) if errors.is_empty() => {
                Ok(Recipient { kind, first_name, last_name, company, email, address })
            }
            _ => Err(errors),
        }
    }

    /// The email address as text; empty for a paper letter's recipient known only by their address.
    pub fn email_text(&self) -> &str {
        self.email.as_ref().map_or("", EmailAddress::as_str)
    }

    /// "Jeanne Martin (Boulangerie Martin SARL)", for emails and logs.
    pub fn display_name(&self) -> String {
        let person = match &self.first_name {
            Some(first) => format!("{first} {}", self.last_name),
            None => self.last_name.clone(),
        };
        match &self.company {
            Some(company) if company != &self.last_name => format!("{person} ({company})"),
            _ => person,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: Option<&str>, email: &str) -> RawRecipient {
        RawRecipient {
            kind: kind.map(Into::into),
            first_name: Some("Jeanne".into()),
            last_name: Some("Martin".into()),
            company: Some("Boulangerie Martin SARL".into()),
            email: Some(email.into()),
            address: None,
        }
    }

    #[test]
    fn an_unknown_kind_counts_as_an_individual() {
        let r = Recipient::parse(raw(None, "jeanne@martin.fr")).unwrap();
        assert_eq!(r.kind, RecipientKind::Individual);
        assert!(r.kind.needs_consent());
    }

    #[test]
    fn french_kind_names_are_understood() {
        let r = Recipient::parse(raw(Some("professionnel"), "compta@martin.fr")).unwrap();
        assert_eq!(r.kind, RecipientKind::Professional);
        assert_eq!(r.display_name(), "Jeanne Martin (Boulangerie Martin SARL)");
    }

    #[test]
    fn a_paper_letter_needs_an_address_and_no_email() {
        let mut without_email = raw(None, "");
        without_email.email = None;
        assert_eq!(Recipient::parse(without_email.clone()).unwrap_err().0[0].field, "email");
        let errors = Recipient::parse_for(without_email.clone(), Delivery::Paper).unwrap_err();
        assert_eq!(errors.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["address"]);
        without_email.address = Some(RawAddress {
            lines: vec!["12 rue des Lilas".into()],
            postal_code: "69003".into(),
            city: "Lyon".into(),
            country: None,
        });
        let r = Recipient::parse_for(without_email, Delivery::Paper).unwrap();
        assert_eq!(r.email, None);
    }

    #[test]
    fn errors_name_the_fields() {
        let errors = Recipient::parse(raw(Some("robot"), "nope")).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "email"]);
    }
}
