//! Maileva: paper registered letters with acknowledgement of receipt (LRAR) through `registered_mail/v4`,
//! followed by `notification_center/v2` callbacks and periodic syncs; simple electronic registered letters
//! (ERE) through `secured_electronic_mail/v1` and qualified ones (LRE qualifiée) through
//! `electronic_qualified_registered_mail/v1`, followed by the periodic sync alone: notification_center's
//! resource types are the paper ones (`registered_mail/v4/…`), so electronic sendings cannot be subscribed to
//! (providers.md §2.2, §2.4, §2.6). OAuth tokens (`auth`), the HTTP client (`client`), the sending flow the
//! three APIs share (`sending`), the wire formats (`wire`, `wire::ere`, `wire::lre`), webhooks (`webhooks`),
//! the senders' one-time codes that open a qualified letter's session (`emitters`, `electronic_mail_emitter/v1`),
//! and consent requests to recipients through `electronic_consents/v1` (`consents`). Maileva's electronic
//! APIs do not check consents ("c'est l'application qui doit vérifier les consentements"): relais does,
//! before a letter leaves.
//!
//! A sending is a draft until it is submitted, and a draft is never printed (the spec: "il faudra soumettre
//! cet envoi pour qu'il soit envoyé en production"). So only a lost answer to the submit leaves the outcome
//! unknown; a failure before it is "nothing sent", and the draft is deleted when it can be.

mod auth;
mod client;
mod consents;
mod emitters;
mod sending;
mod webhooks;
pub mod wire;

use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use super::redact::Scrubber;
use super::{
    ApprovalSession, LinkOutcome, Lookup, OutgoingLetter, ProofLink, Provider, ProviderError, ProviderLetter,
    WebhookHint, WebhookRequest,
};
use crate::config::{MailevaSettings, SenderSettings, Service};
use crate::domain::{FieldError, FieldErrors, LetterId, Recipient, RecipientKind};
use crate::store::Store;
use client::{CallError, Client, describe};
use sending::Api;
use webhooks::WebhookCredentials;
use wire::Sendings;

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
}

/// electronic_qualified_registered_mail v1.3, `RecipientCreation`: `first_name`, `last_name` (1 to 50
/// characters) and `email` required whatever the recipient is, `company` at most 38 characters. Names are not
/// cut: a qualified letter names its recipient as the request does, or not at all.
fn qualified_recipient(recipient: &Recipient) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let length = |v: Option<&str>| v.map_or(0, |v| v.trim().chars().count());
    let names = [("first_name", recipient.first_name.as_deref()), ("last_name", Some(recipient.last_name.as_str()))];
    for (field, value) in names {
        match length(value) {
            0 => errors.push(FieldError::new(
                format!("recipient.{field}"),
                "required",
                "a qualified letter through Maileva names its recipient: first and last name are required, \
                 for a company too (its representative)",
            )),
            n if n > 50 => errors.push(FieldError::new(
                format!("recipient.{field}"),
                "too_long",
                format!("a qualified letter through Maileva takes at most 50 characters here, not {n}"),
            )),
            _ => {}
        }
    }
    let company = length(recipient.company.as_deref());
    if company > 38 {
        errors.push(FieldError::new(
            "recipient.company",
            "too_long",
            format!("a qualified letter through Maileva takes a company name of at most 38 characters, not {company}"),
        ));
    }
    errors
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
            // secured_electronic_mail v1.0, `POST …/recipients`: "Si le destinataire est un particulier, le
            // nom et prénom sont obligatoires. Si le destinataire est un professionnel, le nom de la société
            // est obligatoire".
            let blank = |v: Option<&str>| v.is_none_or(|v| v.trim().is_empty());
            if sender.service == Service::Qualified {
                return qualified_recipient(recipient);
            }
            match recipient.kind {
                RecipientKind::Individual if blank(recipient.first_name.as_deref()) => errors.push(FieldError::new(
                    "recipient.first_name",
                    "required",
                    "an electronic letter through Maileva to an individual needs their first name",
                )),
                RecipientKind::Professional if blank(recipient.company.as_deref()) => errors.push(FieldError::new(
                    "recipient.company",
                    "required",
                    "an electronic letter through Maileva to a professional needs the company's name",
                )),
                _ => {}
            }
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
        let api = Api::of(letter.sender.service);
        if api == Api::Qualified && letter.approval.is_none() {
            let message = "a qualified letter needs the sender's approval with a one-time code".to_owned();
            return Err(ProviderError::ApprovalRequired { provider: self.name.clone(), message });
        }
        self.send_through(api, letter).await
    }

    async fn fetch(&self, provider_ref: &str) -> Result<ProviderLetter, ProviderError> {
        let (api, id) = Api::parse(provider_ref);
        self.fetch_in(api, id).await
    }

    /// Looks for a submitted sending with our `custom_id` in the API of the sender's service.
    async fn find_by_reference(
        &self,
        letter: &LetterId,
        sender: &SenderSettings,
        _sent_after: i64,
    ) -> Result<Lookup, ProviderError> {
        Ok(match self.find_in(Api::of(sender.service), letter).await? {
            Some(found) => Lookup::Found(found),
            None => Lookup::Absent,
        })
    }

    async fn download_proof(&self, link: &ProofLink) -> Result<Bytes, ProviderError> {
        self.client.download(&link.locator).await.map_err(|e| self.error(e, false))
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError> {
        webhooks::verify(self.known_credentials().as_ref(), request)
    }

    /// Qualified letters leave under the sender's one-hour session, opened with a one-time code (§2.2).
    fn needs_approval(&self, sender: &SenderSettings) -> bool {
        sender.service == Service::Qualified
    }

    async fn open_approval(&self, sender: &SenderSettings, code: &str) -> Result<ApprovalSession, ProviderError> {
        self.authenticate_by_otp(sender, code).await
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

    async fn check_account(&self, sender: &SenderSettings) -> Result<String, ProviderError> {
        let api = Api::of(sender.service);
        let query = [("start_index", "1".to_owned()), ("count", "1".to_owned())];
        let list: Sendings = self
            .client
            .json(Method::GET, &format!("{}/sendings", api.root()), None::<&()>, &query)
            .await
            .map_err(|e| self.error(e, false))?;
        let total = list.paging.total_results.map_or_else(|| "some".to_owned(), |t| format!("{t}"));
        let kind = match api {
            Api::Paper => "paper",
            Api::Electronic => "electronic",
            Api::Qualified => "qualified electronic",
        };
        let mut sender_words = String::new();
        if api != Api::Paper {
            // electronic_mail_emitter v1.48b, `StatusResource`: only a VALIDATED sender's account is set up.
            let state = self.sender_state(sender).await?;
            if state != "VALIDATED" {
                return Err(ProviderError::Rejected {
                    provider: self.name.clone(),
                    code: state.clone(),
                    message: format!(
                        "the Maileva sender {} is {state}, not VALIDATED: its account is not set up for electronic \
                         letters yet (VALIDATING: the sender clicks the link Maileva emailed; EXPIRED: set it up \
                         again; ACCESS_GRANTING: the sender accepts to join this Maileva account)",
                        wire::ere::sender_id(sender)
                    ),
                });
            }
            sender_words = format!(", sender {} VALIDATED", wire::ere::sender_id(sender));
        }
        let subscribed = self.subscribed().await.map_err(|e| self.error(e, false))?;
        Ok(format!(
            "{}: credentials work (token obtained, {total} {kind} sendings visible{sender_words}); {subscribed} of \
             {} webhook subscriptions point at this relais",
            self.name,
            wire::EVENTS.len()
        ))
    }
}
