//! The sending flow Maileva's three sending APIs share: create a draft with our letter id as `custom_id`,
//! upload the letter and its attachments, add the one recipient, submit; read it back; look it up by
//! `custom_id` after an unknown outcome. The paper API (`registered_mail/v4`), the simple electronic one
//! (`secured_electronic_mail/v1`) and the qualified one (`electronic_qualified_registered_mail/v1`) differ only
//! in their bodies and in their recipient records (`wire`, `wire::ere`, `wire::lre`).

use reqwest::Method;
use serde_json::Value;

use super::Maileva;
use super::client::{CallError, QUALIFIED_MAIL, REGISTERED_MAIL, SECURED_MAIL};
use super::wire::{self, Sending, Sendings, ere, lre};
use crate::config::Service;
use crate::domain::LetterId;
use crate::providers::{OutgoingLetter, ProviderError, ProviderLetter, SentFile};

/// Sendings per page when looking a letter up by `custom_id` (both specs' maximum is 500).
const PAGE: usize = 100;
/// Pages looked through at most; past them the lookup fails rather than say "absent" (50,000 sendings).
const MAX_PAGES: usize = 500;

/// The Maileva API a sending lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `registered_mail/v4`: paper LRAR.
    Paper,
    /// `secured_electronic_mail/v1`: simple electronic registered letters.
    Electronic,
    /// `electronic_qualified_registered_mail/v1`: qualified electronic registered letters.
    Qualified,
}

/// The prefixes of electronic sendings' references in relais (`ere:<sending id>`, `lre:<sending id>`); paper
/// references are the bare sending id, as they were before electronic letters.
const ELECTRONIC: &str = "ere:";
const QUALIFIED: &str = "lre:";

impl Api {
    pub fn of(service: Service) -> Self {
        match service {
            Service::Paper => Self::Paper,
            Service::Simple => Self::Electronic,
            Service::Qualified => Self::Qualified,
        }
    }

    pub fn root(self) -> &'static str {
        match self {
            Self::Paper => REGISTERED_MAIL,
            Self::Electronic => SECURED_MAIL,
            Self::Qualified => QUALIFIED_MAIL,
        }
    }

    /// The API and Maileva's sending id of one of our references.
    pub fn parse(reference: &str) -> (Self, &str) {
        if let Some(id) = reference.strip_prefix(ELECTRONIC) {
            (Self::Electronic, id)
        } else if let Some(id) = reference.strip_prefix(QUALIFIED) {
            (Self::Qualified, id)
        } else {
            (Self::Paper, reference)
        }
    }

    pub fn reference(self, sending: &str) -> String {
        match self {
            Self::Paper => sending.to_owned(),
            Self::Electronic => format!("{ELECTRONIC}{sending}"),
            Self::Qualified => format!("{QUALIFIED}{sending}"),
        }
    }

    pub fn sending_path(self, id: &str) -> String {
        format!("{}/sendings/{id}", self.root())
    }
}

/// A failure while preparing a draft: the draft's id when one was created, and the call's error.
type PrepareError = (Option<String>, CallError);

fn refused(code: &str, message: String) -> CallError {
    CallError::Refused { status: 400, errors: vec![wire::ApiError { code: code.into(), message }] }
}

impl Maileva {
    /// The bodies of the sending, of its documents' metadata and of its recipient, as `api` wants them.
    fn bodies(&self, api: Api, letter: &OutgoingLetter<'_>) -> Result<(Value, Value), CallError> {
        let id = letter.letter_id.as_str();
        let to_json = |v: Result<Value, serde_json::Error>| v.map_err(|e| refused("UNWRITABLE", e.to_string()));
        match api {
            Api::Paper => {
                let recipient = wire::recipient_lines(letter.recipient, id).map_err(|errors| {
                    let words: Vec<String> =
                        errors.0.iter().map(|e| format!("recipient.{}: {}", e.field, e.message)).collect();
                    refused("INVALID_RECIPIENT", words.join("; "))
                })?;
                let sending = wire::NewSending::new(letter.subject, id, &self.settings, letter.sender);
                Ok((to_json(serde_json::to_value(sending))?, to_json(serde_json::to_value(recipient))?))
            }
            Api::Electronic | Api::Qualified => {
                let sender = ere::sender_id(letter.sender);
                let sending = if api == Api::Qualified {
                    ere::NewSending::qualified(letter.subject, id, sender)
                } else {
                    ere::NewSending::new(letter.subject, id, sender)
                };
                let recipient = ere::NewRecipient::new(letter.recipient, id);
                Ok((to_json(serde_json::to_value(sending))?, to_json(serde_json::to_value(recipient))?))
            }
        }
    }

    /// Creates the draft, uploads the documents, adds the recipient. Returns the sending id.
    pub(super) async fn prepare(&self, api: Api, letter: &OutgoingLetter<'_>) -> Result<String, PrepareError> {
        let (body, recipient) = self.bodies(api, letter).map_err(|e| (None, e))?;
        let sending: Sending = self
            .client
            .json(Method::POST, &format!("{}/sendings", api.root()), Some(&body), &[])
            .await
            .map_err(|e| (None, e))?;
        let path = api.sending_path(&sending.id);
        let failed = |e| (Some(sending.id.clone()), e);
        let document_name = format!("lettre-{}.pdf", letter.letter_id);
        let document = SentFile::OnDisk(letter.document.clone());
        let documents = std::iter::once((&document, document_name.as_str()))
            .chain(letter.attachments.iter().map(|(file, name)| (file, name.as_str())));
        for (priority, (file, name)) in documents.enumerate() {
            let content =
                file.read().await.map_err(|e| failed(CallError::Unreachable(format!("{}: {e}", file.describe()))))?;
            let metadata = match api {
                Api::Paper => {
                    serde_json::to_string(&wire::DocumentMetadata { priority: priority + 1, name: name.into() })
                }
                Api::Electronic | Api::Qualified => serde_json::to_string(&ere::DocumentMetadata { name: name.into() }),
            };
            self.client
                .upload(
                    &format!("{path}/documents"),
                    content,
                    name,
                    &metadata.unwrap_or_default(),
                    api == Api::Qualified,
                )
                .await
                .map_err(failed)?;
        }
        self.client.call(Method::POST, &format!("{path}/recipients"), Some(&recipient), &[]).await.map_err(failed)?;
        Ok(sending.id)
    }

    /// Deletes a draft that will not be submitted; a failure only leaves a draft Maileva never sends.
    pub(super) async fn discard(&self, api: Api, sending: &str) {
        let deleted = self.client.call(Method::DELETE, &api.sending_path(sending), None::<&()>, &[]).await;
        if let Err(e) = deleted {
            tracing::info!(provider = %self.name, sending, error = %self.scrubber.scrub(&e.to_string()), "draft left at Maileva");
        }
    }

    /// Prepares and submits exactly once: a failure before the submit deletes the draft and is "nothing
    /// sent"; a lost answer to the submit is "outcome unknown" (both specs: only a submitted sending leaves).
    pub(super) async fn send_through(
        &self,
        api: Api,
        letter: &OutgoingLetter<'_>,
    ) -> Result<ProviderLetter, ProviderError> {
        let sending = match self.prepare(api, letter).await {
            Ok(sending) => sending,
            Err((draft, e)) => {
                if let Some(draft) = draft {
                    self.discard(api, &draft).await;
                }
                return Err(self.send_error(api, e, false));
            }
        };
        let submit = format!("{}/submit", api.sending_path(&sending));
        if let Err(e) = self.client.call(Method::POST, &submit, None::<&()>, &[]).await {
            if !matches!(e, CallError::NoAnswer(_)) {
                self.discard(api, &sending).await;
            }
            return Err(self.send_error(api, e, true));
        }
        self.fetch_in(api, &sending).await
    }

    /// A failure of a send. Inferred: the qualified API answers `403` to a sender whose one-hour session is
    /// over or was never opened (the spec lists a 403 without its cause): the sender must approve again.
    fn send_error(&self, api: Api, e: CallError, submitting: bool) -> ProviderError {
        match e {
            CallError::Refused { status: 403, errors } if api == Api::Qualified => ProviderError::ApprovalRequired {
                provider: self.name.clone(),
                message: format!(
                    "Maileva refused the qualified letter for the sender's session ({}): the sender approves again \
                     with a one-time code",
                    self.scrubber.scrub(&super::client::describe(&errors))
                ),
            },
            other => self.error(other, submitting),
        }
    }

    pub(super) async fn fetch_in(&self, api: Api, id: &str) -> Result<ProviderLetter, ProviderError> {
        let sending: Sending = self
            .client
            .json(Method::GET, &api.sending_path(id), None::<&()>, &[])
            .await
            .map_err(|e| self.error(e, false))?;
        self.view(api, sending).await
    }

    /// The sending and its one recipient, as our view of the letter.
    pub(super) async fn view(&self, api: Api, sending: Sending) -> Result<ProviderLetter, ProviderError> {
        let path = format!("{}/recipients", api.sending_path(&sending.id));
        let get = |e| self.error(e, false);
        let (reading, cost) = match api {
            Api::Paper => {
                let list: wire::Recipients =
                    self.client.json(Method::GET, &path, None::<&()>, &[]).await.map_err(get)?;
                let recipient = list.recipients.into_iter().next();
                let with_receipt = self.settings.postage.with_receipt();
                let reading = wire::read_delivery(&sending, recipient.as_ref(), with_receipt);
                (reading, recipient.and_then(|r| r.postage_price).map(wire::cents))
            }
            Api::Electronic | Api::Qualified => {
                let list: ere::Recipients =
                    self.client.json(Method::GET, &path, None::<&()>, &[]).await.map_err(get)?;
                let recipient = list.recipients.first();
                // Neither spec gives a price on an electronic recipient.
                let reading = if api == Api::Qualified {
                    lre::read_qualified(api.root(), &sending, recipient)
                } else {
                    ere::read_electronic(api.root(), &sending, recipient)
                };
                (reading, None)
            }
        };
        Ok(ProviderLetter {
            provider_ref: api.reference(&sending.id),
            state: reading.state,
            raw_status: reading.raw_status,
            deposited_at: reading.deposited_at,
            cost_cents: cost,
            proofs: reading.proofs,
        })
    }

    /// Every sending of `api` with our `custom_id`. Neither spec documents a filter nor an order for
    /// `GET /sendings` (the electronic one has a `q` without a described syntax), so every page is read.
    pub(super) async fn sendings_of(&self, api: Api, letter: &LetterId) -> Result<Vec<Sending>, ProviderError> {
        let mut found = Vec::new();
        for page in 0..MAX_PAGES {
            let query = [("start_index", (page * PAGE + 1).to_string()), ("count", PAGE.to_string())];
            let list: Sendings = self
                .client
                .json(Method::GET, &format!("{}/sendings", api.root()), None::<&()>, &query)
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

    /// A submitted sending with our `custom_id`, if any. Drafts with it were never sent: they are deleted
    /// (only drafts can be), and one that cannot be deleted any more was submitted meanwhile.
    pub(super) async fn find_in(&self, api: Api, letter: &LetterId) -> Result<Option<ProviderLetter>, ProviderError> {
        let sendings = self.sendings_of(api, letter).await?;
        let (drafts, submitted): (Vec<Sending>, Vec<Sending>) = sendings.into_iter().partition(|s| s.status == "DRAFT");
        if let Some(sending) = submitted.into_iter().next() {
            return Ok(Some(self.view(api, sending).await?));
        }
        for draft in drafts {
            let deleted = self.client.call(Method::DELETE, &api.sending_path(&draft.id), None::<&()>, &[]).await;
            if let Err(e) = deleted {
                // The paper spec names the refusal `SENDING_STATUS_IS_NOT_DRAFT`; the electronic one only
                // says "ce dernier doit être en DRAFT" with a 400, so any refusal is checked by reading back.
                if matches!(e, CallError::Refused { .. }) {
                    let path = api.sending_path(&draft.id);
                    let now: Sending = self
                        .client
                        .json(Method::GET, &path, None::<&()>, &[])
                        .await
                        .map_err(|e| self.error(e, false))?;
                    if now.status != "DRAFT" || e.code() == Some("SENDING_STATUS_IS_NOT_DRAFT") {
                        return Ok(Some(self.view(api, now).await?));
                    }
                }
                return Err(self.error(e, false));
            }
        }
        Ok(None)
    }
}
