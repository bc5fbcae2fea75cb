//! Asking a recipient for their consent to electronic registered letters through a provider that offers it
//! (Maileva's `electronic_consents/v1`), and reading their answer.

use async_trait::async_trait;
use bytes::Bytes;

use super::ProviderError;

/// The person asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentAsk<'a> {
    /// The sender's id at the provider, in whose name the recipient is asked.
    pub provider_sender: &'a str,
    /// Our request id, given as the provider's `custom_id`.
    pub custom_id: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub company: Option<&'a str>,
    /// How many days the recipient has to answer (the provider's default when `None`).
    pub waiting_days: Option<u32>,
}

/// Where a consent request stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAnswer {
    /// Asked, not answered yet.
    Waiting,
    Accepted,
    Refused,
    /// The time to answer passed without an answer.
    Expired,
}

#[async_trait]
pub trait ConsentRequests: Send + Sync {
    /// Creates the consent at the provider and asks the recipient; returns the provider's consent id. A
    /// refused asking deletes the consent it created (nobody was asked); a lost answer to the asking gives
    /// `Err((Some(id), OutcomeUnknown))`: the recipient may have been asked, and the answer is followed.
    async fn ask(&self, ask: &ConsentAsk<'_>) -> Result<String, (Option<String>, ProviderError)>;

    /// The recipient's answer so far.
    async fn answer(&self, consent: &str) -> Result<ConsentAnswer, ProviderError>;

    /// The PDF proof of an accepted consent.
    async fn download_proof(&self, consent: &str) -> Result<Bytes, ProviderError>;
}
