//! Maileva: paper registered letters with acknowledgement of receipt (LRAR) through `registered_mail/v4`,
//! followed by `notification_center/v2` callbacks and periodic syncs (providers.md §2). OAuth tokens
//! (`auth`), the HTTP client (`client`), the wire format (`wire`), webhooks (`webhooks`), and consent
//! requests to recipients through `electronic_consents/v1` (`consents`).
//!
//! A sending is a draft until it is submitted, and a draft is never printed (the spec: "il faudra soumettre
//! cet envoi pour qu'il soit envoyé en production"). So only a lost answer to the submit leaves the outcome
//! unknown; a failure before it is "nothing sent", and the draft is deleted when it can be.

mod auth;
mod client;
mod consents;
mod webhooks;
pub mod wire;

use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use super::redact::Scrubber;
use super::{
    LinkOutcome, Lookup, OutgoingLetter, ProofLink, Provider, ProviderError, ProviderLetter, WebhookHint,
    WebhookRequest,
};
use crate::config::{MailevaSettings, SenderSettings};
use crate::domain::{FieldError, FieldErrors, LetterId, Recipient};
use crate::store::Store;
use client::{CallError, Client, REGISTERED_MAIL, describe};
use webhooks::WebhookCredentials;
use wire::{DocumentMetadata, NewSending, RecipientRecord, Recipients, Sending, Sendings};

/// Sendings per page when looking a letter up by `custom_id` (the spec's maximum is 500).
const PAGE: usize = 100;
/// Pages looked through at most; past them the lookup fails rather than say "absent" (50,000 sendings).
const MAX_PAGES: usize = 500;

pub struct Maileva {
    name: String,
    settings: MailevaSettings,
    client: Client,
    public_url: url::Url,
    scrubber: Scrubber,
    store: Store,
    /// The Basic credentials of callbacks, once loaded from the store (see `webhooks`).
    credentials: RwLock<Option<WebhookCredentials>>,
}

impl Maileva {
    pub fn new(name: &str, settings: MailevaSettings, store: Store, public_url: url::Url) -> Self {
        let client = Client::new(&settings);
        let secrets = [&settings.client_id, &settings.client_secret, &settings.username, &settings.password];
        let scrubber = Scrubber::new(secrets.into_iter().map(|s| s.expose()));
        let credentials = RwLock::new(None);
        Self { name: name.to_owned(), settings, client, public_url, scrubber, store, credentials }
    }

    fn internal(&self, message: String) -> ProviderError {
        ProviderError::Internal { provider: self.name.clone(), message: self.scrubber.scrub(&message) }
    }

    /// Maps a call failure. `submitting` is true for the submit, the one call after which a lost answer means
    /// the letter may be in production. Maileva's words pass through the scrubber.
    fn error(&self, e: CallError, submitting: bool) -> ProviderError {
        let provider = self.name.clone();
        let scrub = |m: &str| self.scrubber.scrub(m);
        match e {
            CallError::Unreachable(m) => ProviderError::Unavailable { provider, message: scrub(&m) },
            CallError::NoAnswer(m) if submitting => ProviderError::OutcomeUnknown { provider, message: scrub(&m) },
            CallError::NoAnswer(m) | CallError::Auth(m) => ProviderError::Unavailable { provider, message: scrub(&m) },
            CallError::Refused { status: 404, errors } => {
                ProviderError::NotFound { provider, reference: scrub(&describe(&errors)) }
            }
            CallError::Refused { status: 429, errors } => ProviderError::Unavailable {
                provider,
                message: format!("too many requests: {}", scrub(&describe(&errors))),
            },
            CallError::Refused { errors, .. } => ProviderError::Rejected {
                provider,
                code: errors.first().map(|e| e.code.clone()).unwrap_or_else(|| "REFUSED".into()),
                message: scrub(&describe(&errors)),
            },
        }
    }

    fn sending_path(id: &str) -> String {
        format!("{REGISTERED_MAIL}/sendings/{id}")
    }

    /// Creates the draft, uploads the documents, adds the recipient. Returns the sending id.
    async fn prepare(&self, letter: &OutgoingLetter<'_>) -> Result<String, (Option<String>, CallError)> {
        let recipient = wire::recipient_lines(letter.recipient, letter.letter_id.as_str()).map_err(|errors| {
            let words: Vec<String> = errors.0.iter().map(|e| format!("recipient.{}: {}", e.field, e.message)).collect();
            let error = wire::ApiError { code: "INVALID_RECIPIENT".into(), message: words.join("; ") };
            (None, CallError::Refused { status: 400, errors: vec![error] })
        })?;
        let body = NewSending::new(letter.subject, letter.letter_id.as_str(), &self.settings, letter.sender);
        let sending: Sending = self
            .client
            .json(Method::POST, &format!("{REGISTERED_MAIL}/sendings"), Some(&body), &[])
            .await
            .map_err(|e| (None, e))?;
        let path = Self::sending_path(&sending.id);
        let failed = |e| (Some(sending.id.clone()), e);
        let document_name = format!("lettre-{}.pdf", letter.letter_id);
        let documents = std::iter::once((letter.document.as_path(), document_name.as_str()))
            .chain(letter.attachments.iter().map(|(path, name)| (path.as_path(), name.as_str())));
        for (priority, (file, name)) in documents.enumerate() {
            let content = tokio::fs::read(file)
                .await
                .map_err(|e| failed(CallError::Unreachable(format!("{}: {e}", file.display()))))?;
            let metadata = DocumentMetadata { priority: priority + 1, name: name.to_owned() };
            let metadata = serde_json::to_string(&metadata).unwrap_or_default();
            self.client
                .upload(&format!("{path}/documents"), Bytes::from(content), name, &metadata)
                .await
                .map_err(failed)?;
        }
        let _: RecipientRecord = self
            .client
            .json(Method::POST, &format!("{path}/recipients"), Some(&recipient), &[])
            .await
            .map_err(failed)?;
        Ok(sending.id)
    }

    /// Deletes a draft that will not be submitted; a failure only leaves a draft Maileva never prints.
    async fn discard(&self, sending: &str) {
        let deleted = self.client.call(Method::DELETE, &Self::sending_path(sending), None::<&()>, &[]).await;
        if let Err(e) = deleted {
            tracing::info!(provider = %self.name, sending, error = %self.scrubber.scrub(&e.to_string()), "draft left at Maileva");
        }
    }

    /// The sending and its one recipient, as our view of the letter.
    async fn view(&self, sending: Sending) -> Result<ProviderLetter, ProviderError> {
        let path = format!("{}/recipients", Self::sending_path(&sending.id));
        let recipients: Recipients =
            self.client.json(Method::GET, &path, None::<&()>, &[]).await.map_err(|e| self.error(e, false))?;
        let recipient = recipients.recipients.into_iter().next();
        let reading = wire::read_delivery(&sending, recipient.as_ref(), self.settings.postage.with_receipt());
        Ok(ProviderLetter {
            provider_ref: sending.id,
            state: reading.state,
            raw_status: reading.raw_status,
            deposited_at: reading.deposited_at,
            cost_cents: recipient.and_then(|r| r.postage_price).map(wire::cents),
            proofs: reading.proofs,
        })
    }

    /// Every sending with our `custom_id`. The spec documents no filter nor order for `GET /sendings`, so
    /// every page is read (bounded).
    async fn sendings_of(&self, letter: &LetterId) -> Result<Vec<Sending>, ProviderError> {
        let mut found = Vec::new();
        for page in 0..MAX_PAGES {
            let query = [("start_index", (page * PAGE + 1).to_string()), ("count", PAGE.to_string())];
            let list: Sendings = self
                .client
                .json(Method::GET, &format!("{REGISTERED_MAIL}/sendings"), None::<&()>, &query)
                .await
                .map_err(|e| self.error(e, false))?;
            let count = list.sendings.len();
            found.extend(list.sendings.into_iter().filter(|s| s.custom_id.as_deref() == Some(letter.as_str())));
            if count < PAGE || list.paging.next.as_deref().is_some_and(str::is_empty) {
                return Ok(found);
            }
        }
        Err(self.internal(format!("looked through {} sendings without reaching the end", PAGE * MAX_PAGES)))
    }
}

/// Documents of one sending: at most 30 and 20 MB together (registered_mail v4.9, `POST …/documents`).
const MAX_DOCUMENTS: usize = 30;
const MAX_BYTES: u64 = 20_000_000;
/// Room kept for the letter itself when the attachments are checked at intake, before it is rendered (a
/// letter of relais weighs some tens of kilobytes; its fonts and images are what weighs).
const LETTER_RESERVE: u64 = 1_000_000;

#[async_trait]
impl Provider for Maileva {
    fn name(&self) -> &str {
        &self.name
    }

    /// A paper letter needs an address Maileva can print, and documents within its limits.
    fn check_letter(&self, sender: &SenderSettings, recipient: &Recipient, attachments: &[u64]) -> FieldErrors {
        let mut errors = FieldErrors::default();
        if !sender.service.is_paper() {
            return errors;
        }
        if let Err(problems) = wire::recipient_lines(recipient, "") {
            errors.extend_under("recipient", problems);
        }
        if attachments.len() + 1 > MAX_DOCUMENTS {
            let message = format!(
                "a paper letter through Maileva carries at most {MAX_DOCUMENTS} documents, the letter and {} \
                 attachments, not {}",
                MAX_DOCUMENTS - 1,
                attachments.len()
            );
            errors.push(FieldError::new("attachments", "too_many", message));
        }
        let total: u64 = attachments.iter().sum();
        if total > MAX_BYTES - LETTER_RESERVE {
            let message = format!(
                "a paper letter through Maileva weighs at most 20 MB with its letter: the attachments may take {} \
                 bytes, not {total}",
                MAX_BYTES - LETTER_RESERVE
            );
            errors.push(FieldError::new("attachments", "too_large", message));
        }
        errors
    }

    async fn send(&self, letter: &OutgoingLetter<'_>) -> Result<ProviderLetter, ProviderError> {
        let sending = match self.prepare(letter).await {
            Ok(sending) => sending,
            Err((draft, e)) => {
                if let Some(draft) = draft {
                    self.discard(&draft).await;
                }
                // Nothing was submitted: a lost answer here cannot have made a letter.
                return Err(self.error(e, false));
            }
        };
        let submitted =
            self.client.call(Method::POST, &format!("{}/submit", Self::sending_path(&sending)), None::<&()>, &[]).await;
        if let Err(e) = submitted {
            if !matches!(e, CallError::NoAnswer(_)) {
                self.discard(&sending).await;
            }
            return Err(self.error(e, true));
        }
        self.fetch(&sending).await
    }

    async fn fetch(&self, provider_ref: &str) -> Result<ProviderLetter, ProviderError> {
        let sending: Sending = self
            .client
            .json(Method::GET, &Self::sending_path(provider_ref), None::<&()>, &[])
            .await
            .map_err(|e| self.error(e, false))?;
        self.view(sending).await
    }

    /// Looks for a submitted sending with our `custom_id`. Drafts with it were never printed: they are
    /// deleted (only drafts can be), and a draft that cannot be deleted any more was submitted meanwhile.
    async fn find_by_reference(
        &self,
        letter: &LetterId,
        _sender: &SenderSettings,
        _sent_after: i64,
    ) -> Result<Lookup, ProviderError> {
        let sendings = self.sendings_of(letter).await?;
        let (drafts, submitted): (Vec<Sending>, Vec<Sending>) = sendings.into_iter().partition(|s| s.status == "DRAFT");
        if let Some(sending) = submitted.into_iter().next() {
            return Ok(Lookup::Found(self.view(sending).await?));
        }
        for draft in drafts {
            let deleted = self.client.call(Method::DELETE, &Self::sending_path(&draft.id), None::<&()>, &[]).await;
            if let Err(e) = deleted {
                if e.code() == Some("SENDING_STATUS_IS_NOT_DRAFT") {
                    return Ok(Lookup::Found(self.fetch(&draft.id).await?));
                }
                return Err(self.error(e, false));
            }
        }
        Ok(Lookup::Absent)
    }

    async fn download_proof(&self, link: &ProofLink) -> Result<Bytes, ProviderError> {
        self.client.download(&link.locator).await.map_err(|e| self.error(e, false))
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError> {
        webhooks::verify(self.known_credentials().as_ref(), request)
    }

    fn webhook_answer(&self) -> axum::http::StatusCode {
        // notification_center v2.8: "votre URL de callback devra retourner [un code] 201".
        axum::http::StatusCode::CREATED
    }

    /// Loads the callback credentials and, with `webhooks = true`, subscribes relais's webhook URL at start,
    /// again and again until Maileva accepts.
    async fn run(&self, shutdown: CancellationToken) {
        self.prepare_webhooks(self.settings.webhooks, shutdown).await;
    }

    /// `relais sender link`: subscribes relais's webhook URL (idempotent: linking again updates the same
    /// subscriptions). The account is the one configured; Maileva has nothing to create for a paper sender.
    async fn link_sender(&self, _sender: &SenderSettings) -> Result<LinkOutcome, ProviderError> {
        let events = self.subscribe().await?;
        Ok(LinkOutcome::WebhooksSubscribed { url: self.callback_url(), events })
    }

    /// A token obtained and the sendings listed prove the account; the webhook subscriptions are counted.
    fn consent_requests(&self) -> Option<&dyn crate::providers::consents::ConsentRequests> {
        Some(self)
    }

    async fn check_account(&self, _sender: &SenderSettings) -> Result<String, ProviderError> {
        let query = [("start_index", "1".to_owned()), ("count", "1".to_owned())];
        let list: Sendings = self
            .client
            .json(Method::GET, &format!("{REGISTERED_MAIL}/sendings"), None::<&()>, &query)
            .await
            .map_err(|e| self.error(e, false))?;
        let total = list.paging.total_results.map_or_else(|| "some".to_owned(), |t| format!("{t}"));
        let subscribed = self.subscribed().await.map_err(|e| self.error(e, false))?;
        Ok(format!(
            "{}: credentials work (token obtained, {total} sendings visible); {subscribed} of {} webhook \
             subscriptions point at this relais",
            self.name,
            wire::EVENTS.len()
        ))
    }
}
