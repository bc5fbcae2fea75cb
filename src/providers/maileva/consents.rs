//! Consent requests through `electronic_consents/v1` (v1.9, providers.md §2.4): `POST /consents` creates the
//! consent, `POST /consents/{id}/requests` emails the recipient, `GET /consents/{id}` reads the last answer
//! and the last request, `GET /consents/{id}/download_proof` the PDF of an accepted one.
//!
//! The spec lists no notification_center resource type for electronic consents, so their answers cannot be
//! subscribed to: relais follows them by asking again periodically (the `consent_request` job).

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::Maileva;
use super::client::CallError;
use crate::providers::ProviderError;
use crate::providers::consents::{ConsentAnswer, ConsentAsk, ConsentRequests};

pub const ELECTRONIC_CONSENTS: &str = "electronic_consents/v1";

/// `consent_ask_creation`.
#[derive(Debug, Serialize)]
struct NewConsent<'a> {
    sender_id: &'a str,
    custom_id: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_duration: Option<u32>,
    /// The recipient's email is worded for the product they consent to: relais sends registered letters.
    notifying_product: &'static str,
}

/// `consent_ask_response`: only what relais reads.
#[derive(Debug, Deserialize, Default)]
struct Consent {
    id: String,
    #[serde(default)]
    last_answer: Option<Answer>,
    #[serde(default)]
    last_request: Option<Request>,
}

/// `answer_response`.
#[derive(Debug, Deserialize, Default)]
struct Answer {
    #[serde(default)]
    status: String,
}

/// `request_response`: `ASKED`, `ANSWERED` or `EXPIRED`.
#[derive(Debug, Deserialize, Default)]
struct Request {
    #[serde(default)]
    status: String,
}

/// What the last answer and the last request say together. An answer decides; without one, an expired
/// request ends the wait; anything else is still waiting.
fn read_answer(consent: &Consent) -> ConsentAnswer {
    match consent.last_answer.as_ref().map(|a| a.status.as_str()) {
        Some("ACCEPTED") => ConsentAnswer::Accepted,
        Some("REFUSED") => ConsentAnswer::Refused,
        _ if consent.last_request.as_ref().is_some_and(|r| r.status == "EXPIRED") => ConsentAnswer::Expired,
        _ => ConsentAnswer::Waiting,
    }
}

impl Maileva {
    fn consent_path(id: &str) -> String {
        format!("{ELECTRONIC_CONSENTS}/consents/{id}")
    }
}

#[async_trait]
impl ConsentRequests for Maileva {
    async fn ask(&self, ask: &ConsentAsk<'_>) -> Result<String, (Option<String>, ProviderError)> {
        let body = NewConsent {
            sender_id: ask.provider_sender,
            custom_id: ask.custom_id,
            first_name: ask.first_name,
            last_name: ask.last_name,
            email: ask.email,
            company: ask.company,
            waiting_duration: ask.waiting_days,
            notifying_product: "ELECTRONIC_QUALIFIED_REGISTERED_MAIL",
        };
        let path = format!("{ELECTRONIC_CONSENTS}/consents");
        // Creating the consent emails nobody: a lost answer here asked no one.
        let consent: Consent =
            self.client.json(Method::POST, &path, Some(&body), &[]).await.map_err(|e| (None, self.error(e, false)))?;
        let requests = format!("{}/requests", Self::consent_path(&consent.id));
        let asked = self.client.call(Method::POST, &requests, None::<&()>, &[]).await;
        match asked {
            Ok(_) => Ok(consent.id),
            Err(e @ CallError::NoAnswer(_)) => Err((Some(consent.id), self.error(e, true))),
            Err(e) => {
                let path = Self::consent_path(&consent.id);
                let deleted = self.client.call(Method::DELETE, &path, None::<&()>, &[]).await;
                if let Err(left) = deleted {
                    let left = self.scrubber.scrub(&left.to_string());
                    tracing::info!(provider = %self.name, consent = %consent.id, error = %left, "consent left at Maileva");
                }
                Err((None, self.error(e, false)))
            }
        }
    }

    async fn answer(&self, consent: &str) -> Result<ConsentAnswer, ProviderError> {
        let found: Consent = self
            .client
            .json(Method::GET, &Self::consent_path(consent), None::<&()>, &[])
            .await
            .map_err(|e| self.error(e, false))?;
        Ok(read_answer(&found))
    }

    async fn download_proof(&self, consent: &str) -> Result<Bytes, ProviderError> {
        let path = format!("{}/download_proof", Self::consent_path(consent));
        self.client.call(Method::GET, &path, None::<&()>, &[]).await.map_err(|e| self.error(e, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(answer: Option<&str>, request: Option<&str>) -> Consent {
        Consent {
            id: "c1".into(),
            last_answer: answer.map(|s| Answer { status: s.into() }),
            last_request: request.map(|s| Request { status: s.into() }),
        }
    }

    #[test]
    fn an_answer_decides_and_an_expired_request_ends_the_wait() {
        assert_eq!(read_answer(&consent(None, Some("ASKED"))), ConsentAnswer::Waiting);
        assert_eq!(read_answer(&consent(Some("ACCEPTED"), Some("ANSWERED"))), ConsentAnswer::Accepted);
        assert_eq!(read_answer(&consent(Some("REFUSED"), Some("ANSWERED"))), ConsentAnswer::Refused);
        assert_eq!(read_answer(&consent(None, Some("EXPIRED"))), ConsentAnswer::Expired);
        assert_eq!(read_answer(&consent(None, None)), ConsentAnswer::Waiting);
    }
}
