//! The sandbox provider: plays a letter's whole lifecycle locally, with no account and no legal value.
//!
//! It behaves like a remote provider: it keeps its own records (table `sandbox_letters`), guards against
//! duplicates by our letter id, announces each stage to relais by a signed webhook (Standard Webhooks), and
//! serves proof PDFs marked "SANDBOX — no legal value". The outcome is picked from the recipient's email
//! local part: `refuse` → refused, `ignore` → not claimed, `bounce` → bounced, anything else → delivered.

mod lifecycle;
mod proof;

use async_trait::async_trait;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use super::limit::{RateLimiter, wait_for_slot};
use super::{
    Lookup, OutgoingLetter, ProofKind, ProofLink, Provider, ProviderError, ProviderLetter, WebhookHint, WebhookRequest,
};
use crate::config::{SandboxSettings, SenderSettings};
use crate::domain::{LetterId, LetterState};
use crate::notify::signing;
use crate::store::{SandboxLetter, Store, now_ms};

pub struct Sandbox {
    name: String,
    settings: SandboxSettings,
    store: Store,
    public_url: url::Url,
    http: reqwest::Client,
    limiter: Option<RateLimiter>,
}

/// The facts the sandbox prints on its proofs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Facts {
    letter_id: String,
    reference: Option<String>,
    subject: String,
    sender: String,
    sender_email: String,
    recipient: String,
    recipient_email: String,
    content_sha256: String,
}

impl Sandbox {
    pub fn new(name: &str, settings: SandboxSettings, store: Store, public_url: url::Url) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client without custom TLS settings always builds");
        let limiter = RateLimiter::for_account(settings.max_requests_per_second);
        Self { name: name.to_owned(), settings, store, public_url, http, limiter }
    }

    /// What a call to a remote provider's API costs before its answer: a slot of the account's rate limit,
    /// then the configured round trip.
    async fn round_trip(&self) {
        wait_for_slot(self.limiter.as_ref()).await;
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
    }

    async fn lookup(&self, letter_id: &LetterId) -> Result<Lookup, ProviderError> {
        let found =
            self.store.sandbox_letter_by_letter(&self.name, letter_id.as_str()).await.map_err(|e| self.error(e))?;
        Ok(match found {
            Some(l) => Lookup::Found(self.view(&l, now_ms())),
            None => Lookup::Absent,
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> ProviderError {
        ProviderError::Internal { provider: self.name.clone(), message: message.to_string() }
    }

    fn outcome_for(local_part: &str) -> LetterState {
        let local = local_part.to_lowercase();
        if local.contains("refuse") {
            LetterState::Refused
        } else if local.contains("ignore") {
            LetterState::NotClaimed
        } else if local.contains("bounce") {
            LetterState::Bounced
        } else {
            LetterState::Delivered
        }
    }

    /// The record as seen at `now`: the stage reached follows from the scheduled times.
    fn view(&self, l: &SandboxLetter, now: i64) -> ProviderLetter {
        let outcome: LetterState = l.outcome.parse().unwrap_or(LetterState::Delivered);
        let link = |kind: ProofKind| ProofLink { kind, locator: format!("{}/{}", l.provider_ref, kind.as_str()) };
        let (state, raw, proofs) = if now < l.deposit_at {
            (LetterState::Submitting, "waiting".to_owned(), vec![])
        } else if now < l.outcome_at {
            (LetterState::Deposited, "deposited".to_owned(), vec![link(ProofKind::Deposit)])
        } else {
            let mut proofs = vec![link(ProofKind::Deposit)];
            proofs.extend(ProofKind::for_state(outcome).map(link));
            (outcome, outcome.as_str().to_owned(), proofs)
        };
        ProviderLetter {
            provider_ref: l.provider_ref.clone(),
            state: Some(state),
            raw_status: raw,
            deposited_at: (now >= l.deposit_at).then_some(l.deposit_at),
            cost_cents: Some(self.settings.price_cents),
            proofs,
        }
    }

    async fn record(&self, provider_ref: &str) -> Result<SandboxLetter, ProviderError> {
        self.store
            .sandbox_letter(&self.name, provider_ref)
            .await
            .map_err(|e| self.error(e))?
            .ok_or_else(|| ProviderError::NotFound { provider: self.name.clone(), reference: provider_ref.to_owned() })
    }
}

#[async_trait]
impl Provider for Sandbox {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, letter: &OutgoingLetter<'_>) -> Result<ProviderLetter, ProviderError> {
        self.round_trip().await;
        let now = now_ms();
        let deposit_at = now + self.settings.deposit_after.as_millis() as i64;
        let facts = Facts {
            letter_id: letter.letter_id.to_string(),
            reference: letter.reference.map(str::to_owned),
            subject: letter.subject.to_owned(),
            sender: letter.sender.company.clone(),
            sender_email: letter.sender.email.to_string(),
            recipient: letter.recipient.display_name(),
            recipient_email: letter.recipient.email_text().to_owned(),
            content_sha256: letter.content_sha256.to_owned(),
        };
        let record = SandboxLetter {
            provider_ref: format!("sbx_{}", ulid::Ulid::new().to_string().to_ascii_lowercase()),
            account: self.name.clone(),
            letter_id: letter.letter_id.to_string(),
            facts: serde_json::to_string(&facts).map_err(|e| self.error(e))?,
            outcome: Self::outcome_for(letter.recipient.email.as_ref().map_or("", |e| e.local_part()))
                .as_str()
                .to_owned(),
            submitted_at: now,
            deposit_at,
            outcome_at: deposit_at + self.settings.outcome_after.as_millis() as i64,
            notified_stage: 0,
        };
        // A second send of the same letter id returns the first record, as a provider's duplicate guard would.
        self.store.insert_sandbox_letter(&record).await.map_err(|e| self.error(e))?;
        match self.lookup(letter.letter_id).await? {
            Lookup::Found(found) => Ok(found),
            Lookup::Absent => Err(self.error("the letter vanished right after it was stored")),
        }
    }

    async fn fetch(&self, provider_ref: &str) -> Result<ProviderLetter, ProviderError> {
        self.round_trip().await;
        Ok(self.view(&self.record(provider_ref).await?, now_ms()))
    }

    async fn find_by_reference(
        &self,
        letter_id: &LetterId,
        _sender: &SenderSettings,
        _sent_after: i64,
    ) -> Result<Lookup, ProviderError> {
        self.round_trip().await;
        self.lookup(letter_id).await
    }

    async fn download_proof(&self, link: &ProofLink) -> Result<Bytes, ProviderError> {
        self.round_trip().await;
        let (provider_ref, _) = link.locator.split_once('/').ok_or_else(|| self.error("malformed proof locator"))?;
        let record = self.record(provider_ref).await?;
        let view = self.view(&record, now_ms());
        if !view.proofs.contains(link) {
            return Err(ProviderError::NotFound { provider: self.name.clone(), reference: link.locator.clone() });
        }
        let facts: Facts = serde_json::from_str(&record.facts).map_err(|e| self.error(e))?;
        let pdf = proof::proof_pdf(link.kind, &record, &facts).map_err(|e| self.error(e))?;
        Ok(Bytes::from(pdf))
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError> {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        signing::verify(
            self.settings.webhook_secret.expose(),
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
            request.body,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| ProviderError::InvalidWebhook(e.to_string()))?;
        let event: lifecycle::WebhookEvent = serde_json::from_slice(request.body)
            .map_err(|e| ProviderError::InvalidWebhook(format!("body is not a sandbox event: {e}")))?;
        Ok(WebhookHint { provider_ref: Some(event.provider_ref), letter_id: None })
    }

    async fn run(&self, shutdown: CancellationToken) {
        lifecycle::announce_stages(self, shutdown).await
    }
}
