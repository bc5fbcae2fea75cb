//! AR24: qualified (eIDAS) and simple electronic registered letters, as AR24 documents its API
//! (providers.md §1): signed calls (`crypto`), its wire format (`wire`), the HTTP client (`client`).

mod client;
pub mod crypto;
pub mod wire;

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::redact::Scrubber;
use super::{
    ApprovalSession, LinkOutcome, Lookup, OutgoingLetter, ProofLink, Provider, ProviderError, ProviderLetter, SentFile,
    WebhookHint, WebhookRequest, letter_webhook_url,
};
use crate::config::{Ar24Settings, SenderSettings, Service};
use crate::domain::{LetterId, RecipientKind};
use client::{CallError, Client, id_field};
use wire::{ErrorClass, MailRecord};

/// Letters per page when looking a letter up by our reference (AR24 lists a sender's letters, newest first).
const PAGE: usize = 100;
/// Pages looked through at most; past them the lookup fails rather than say "absent" (10,000 letters).
const MAX_PAGES: usize = 100;
/// AR24 dates are Paris time to the second, ours are this machine's: the paging goes this much further back.
const CLOCK_MARGIN_MS: i64 = 10 * 60 * 1000;

pub struct Ar24 {
    name: String,
    settings: Ar24Settings,
    client: Client,
    public_url: url::Url,
    scrubber: Scrubber,
}

impl Ar24 {
    pub fn new(name: &str, settings: Ar24Settings, public_url: url::Url) -> Self {
        let client = Client::new(&settings);
        let scrubber = Scrubber::new([settings.token.expose(), settings.private_key.expose()]);
        Self { name: name.to_owned(), settings, client, public_url, scrubber }
    }

    /// The secret in a letter's webhook URL: AR24 does not sign its webhooks (§1.8), so the URL must be
    /// unguessable. Derived from the private key, so nothing needs storing.
    fn letter_secret(&self, letter: &LetterId) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.settings.private_key.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(b"relais-webhook:");
        mac.update(letter.as_str().as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn user_of<'a>(&self, sender: &'a SenderSettings) -> Result<&'a str, ProviderError> {
        sender.provider_user_id.as_deref().ok_or_else(|| ProviderError::Rejected {
            provider: self.name.clone(),
            code: "missing_user_id".into(),
            message: format!("sender `{}` has no provider_user_id: link it with `relais sender link`", sender.id),
        })
    }

    fn letter(&self, result: &serde_json::Value) -> Result<ProviderLetter, ProviderError> {
        let record = MailRecord::from_result(result).map_err(|e| self.internal(format!("unreadable letter: {e}")))?;
        Ok(self.view(record))
    }

    fn view(&self, record: MailRecord) -> ProviderLetter {
        ProviderLetter {
            provider_ref: record.id.clone(),
            state: record.state(),
            raw_status: record.status.clone(),
            deposited_at: record.deposited_at(),
            cost_cents: record.price_cents(),
            proofs: record.proofs(),
        }
    }

    fn internal(&self, message: String) -> ProviderError {
        ProviderError::Internal { provider: self.name.clone(), message: self.scrubber.scrub(&message) }
    }

    /// Maps a call failure. `sending` is true for `POST /mail`, where a lost answer means the letter may exist.
    /// AR24's own words pass through the scrubber: they may echo what was sent.
    fn error(&self, e: CallError, sending: bool) -> ProviderError {
        let provider = self.name.clone();
        let e = match e {
            CallError::Unreachable(m) => CallError::Unreachable(self.scrubber.scrub(&m)),
            CallError::NoAnswer(m) => CallError::NoAnswer(self.scrubber.scrub(&m)),
            CallError::Refused(mut refused) => {
                refused.message = self.scrubber.scrub(&refused.message);
                refused.slug = self.scrubber.scrub(&refused.slug);
                CallError::Refused(refused)
            }
            other => other,
        };
        match e {
            CallError::Unreachable(message) => ProviderError::Unavailable { provider, message },
            CallError::Maintenance => ProviderError::Unavailable { provider, message: "AR24 is in maintenance".into() },
            CallError::NoAnswer(message) if sending => ProviderError::OutcomeUnknown { provider, message },
            CallError::NoAnswer(message) => ProviderError::Unavailable { provider, message },
            CallError::Refused(e) => match e.class() {
                ErrorClass::Transient | ErrorClass::Configuration => {
                    ProviderError::Unavailable { provider, message: format!("{}: {}", e.slug, e.fix()) }
                }
                ErrorClass::Permanent => ProviderError::Rejected { provider, code: e.slug.clone(), message: e.fix() },
                ErrorClass::NeedsApproval => ProviderError::ApprovalRequired { provider, message: e.fix() },
            },
        }
    }

    /// The `POST /mail` form (§1.6): our letter id as `ref_dossier`, the request's reference as `ref_client`.
    fn mail_form(&self, letter: &OutgoingLetter<'_>, user: &str, files: &[String]) -> Vec<(String, String)> {
        let r = letter.recipient;
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let mut form = vec![
            pair("id_user", user),
            pair("to_firstname", r.first_name.as_deref().unwrap_or("")),
            pair("to_lastname", &r.last_name),
            pair("to_email", r.email_text()),
            pair("to_company", r.company.as_deref().unwrap_or("")),
            pair("dest_statut", if r.kind == RecipientKind::Professional { "professionnel" } else { "particulier" }),
            // Shown to the recipient once they accept; the same letter is the first attachment, as a PDF.
            pair("content", &html_content(letter.body)),
            pair("ref_dossier", letter.letter_id.as_str()),
            pair(
                "webhook",
                &letter_webhook_url(
                    &self.public_url,
                    &self.name,
                    letter.letter_id,
                    &self.letter_secret(letter.letter_id),
                ),
            ),
        ];
        if let Some(reference) = letter.reference {
            form.push(pair("ref_client", reference));
        }
        // Both spellings are in use among AR24 clients (§1.6); the indexed one is documented.
        form.extend(files.iter().enumerate().map(|(i, id)| (format!("attachment[{i}]"), id.clone())));
        if letter.sender.service == Service::Qualified {
            form.push(pair("eidas", "1"));
            if let Some(hash) = letter.approval {
                form.push(pair("auth_otp_hash", hash));
            }
        }
        form
    }

    async fn upload_all(&self, letter: &OutgoingLetter<'_>, user: &str) -> Result<Vec<String>, ProviderError> {
        let mut files = Vec::with_capacity(letter.attachments.len() + 1);
        let document_name = format!("lettre-{}.pdf", letter.letter_id);
        let document = SentFile::OnDisk(letter.document.clone());
        let uploads = std::iter::once((&document, document_name.as_str()))
            .chain(letter.attachments.iter().map(|(file, name)| (file, name.as_str())));
        for (file, name) in uploads {
            files.push(self.client.upload(user, file, name).await.map_err(|e| self.error(e, false))?);
        }
        Ok(files)
    }
}

/// The letter text as the simple HTML AR24 accepts in `content`: escaped, one paragraph per block.
fn html_content(body: &str) -> String {
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    body.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect()
}

#[async_trait]
impl Provider for Ar24 {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&self, letter: &OutgoingLetter<'_>) -> Result<ProviderLetter, ProviderError> {
        let user = self.user_of(letter.sender)?;
        if letter.sender.service == Service::Qualified && letter.approval.is_none() {
            let message = "a qualified letter needs the sender's approval with a one-time code".to_owned();
            return Err(ProviderError::ApprovalRequired { provider: self.name.clone(), message });
        }
        let files = self.upload_all(letter, user).await?;
        let result = self.client.post_form("mail", &self.mail_form(letter, user, &files)).await;
        self.letter(&result.map_err(|e| self.error(e, true))?)
    }

    async fn fetch(&self, provider_ref: &str) -> Result<ProviderLetter, ProviderError> {
        let result = self.client.get("mail", &[("id", provider_ref)]).await.map_err(|e| self.error(e, false))?;
        self.letter(&result)
    }

    /// Pages through the sender's letters, newest first, looking for ours by `ref_dossier` (§1.7; AR24 has
    /// no lookup by reference), until the letters are older than `sent_after`: absent means absent from
    /// every letter AR24 could have recorded since the first attempt.
    async fn find_by_reference(
        &self,
        letter: &LetterId,
        sender: &SenderSettings,
        sent_after: i64,
    ) -> Result<Lookup, ProviderError> {
        let user = self.user_of(sender)?;
        let page_size = PAGE.to_string();
        for page in 0..MAX_PAGES {
            let start = (page * PAGE).to_string();
            let query = [("id_user", user), ("max", page_size.as_str()), ("start", start.as_str()), ("sort", "DESC")];
            let result = self.client.get("user/mail", &query).await.map_err(|e| self.error(e, false))?;
            let mails = wire::mail_list(&result).map_err(|e| self.internal(format!("unreadable letter list: {e}")))?;
            let count = mails.len();
            let oldest = mails.iter().filter_map(MailRecord::recorded_at).min();
            if let Some(found) = mails.into_iter().find(|m| m.ref_dossier.as_deref() == Some(letter.as_str())) {
                return Ok(Lookup::Found(self.view(found)));
            }
            if count < PAGE || oldest.is_some_and(|t| t < sent_after - CLOCK_MARGIN_MS) {
                return Ok(Lookup::Absent);
            }
        }
        Err(self.internal(format!(
            "looked through {} letters without reaching the first attempt to send this one",
            PAGE * MAX_PAGES
        )))
    }

    async fn download_proof(&self, link: &ProofLink) -> Result<Bytes, ProviderError> {
        self.client.download(&link.locator).await.map_err(|e| self.error(e, false))
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError> {
        let allowed = &self.settings.webhook_allowed_ips;
        if !allowed.is_empty() && !request.peer.is_some_and(|ip| allowed.contains(&ip)) {
            return Err(ProviderError::InvalidWebhook(format!("source {:?} is not an AR24 address", request.peer)));
        }
        let (letter, secret) = request
            .letter
            .ok_or_else(|| ProviderError::InvalidWebhook("AR24 webhooks come on the per-letter URL".into()))?;
        if !bool::from(self.letter_secret(letter).as_bytes().ct_eq(secret.as_bytes())) {
            return Err(ProviderError::InvalidWebhook("wrong secret for this letter".into()));
        }
        let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok());
        let event = wire::parse_webhook(content_type, request.body).map_err(ProviderError::InvalidWebhook)?;
        Ok(WebhookHint { provider_ref: event.id_mail, letter_id: Some(letter.clone()) })
    }

    fn needs_approval(&self, sender: &SenderSettings) -> bool {
        sender.service == Service::Qualified
    }

    /// `POST /user/auth_otp` opens a one-hour session (§1.4); its hash authorizes qualified sends.
    async fn open_approval(&self, sender: &SenderSettings, code: &str) -> Result<ApprovalSession, ProviderError> {
        let user = self.user_of(sender)?;
        let form = [("id_user".to_owned(), user.to_owned()), ("otp".to_owned(), code.to_owned())];
        let result = self.client.post_form("user/auth_otp", &form).await.map_err(|e| match e {
            CallError::Refused(e) if e.class() == ErrorClass::NeedsApproval => {
                let message = self.scrubber.scrub(&e.fix());
                ProviderError::Rejected { provider: self.name.clone(), code: e.slug.clone(), message }
            }
            other => self.error(other, false),
        })?;
        let token = id_field(&result, "hash").ok_or_else(|| self.internal("the OTP answer has no hash".into()))?;
        let expires_at = result
            .get("expiration_date")
            .and_then(|d| d.as_str())
            .and_then(wire::paris_time_ms)
            .unwrap_or_else(|| crate::store::now_ms() + 55 * 60 * 1000);
        Ok(ApprovalSession { token, expires_at })
    }

    /// Creates the AR24 user from the sender's details (`POST /user`), or asks for access to an existing one.
    async fn link_sender(&self, sender: &SenderSettings) -> Result<LinkOutcome, ProviderError> {
        let (first, last) = sender.name.split_once(' ').unwrap_or((sender.name.as_str(), sender.name.as_str()));
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let mut form = vec![
            pair("firstname", first),
            pair("lastname", last),
            pair("email", sender.email.as_str()),
            pair("gender", "M"),
            pair("statut", "professionnel"),
            pair("company", &sender.company),
            pair("address1", sender.address.lines.first().map(String::as_str).unwrap_or("")),
            pair("city", &sender.address.city),
            pair("zipcode", &sender.address.postal_code),
            pair("country", &sender.address.country),
        ];
        if !sender.siret.is_empty() {
            form.push(pair("company_siret", &sender.siret));
        }
        match self.client.post_form("user", &form).await {
            Ok(result) => {
                let user_id = id_field(&result, "id").ok_or_else(|| self.internal("the new user has no id".into()))?;
                Ok(LinkOutcome::Created { user_id })
            }
            Err(CallError::Refused(e)) if e.slug == "user_already_exist" => {
                let form = [pair("email", sender.email.as_str())];
                self.client.post_form("user/request_access", &form).await.map_err(|e| self.error(e, false))?;
                Ok(LinkOutcome::AccessRequested)
            }
            Err(e) => Err(self.error(e, false)),
        }
    }

    /// A signed `GET /user` proves the credentials and tells whether the sender's identity is verified.
    async fn check_account(&self, sender: &SenderSettings) -> Result<String, ProviderError> {
        let user = self.user_of(sender)?;
        let result = self.client.get("user", &[("id_user", user)]).await.map_err(|e| self.error(e, false))?;
        let verified = result.get("is_identity_verified").is_some_and(|v| !v.is_null() && v != false && v != 0);
        let identity = if verified {
            "identity verified: qualified (eIDAS) letters possible"
        } else {
            "identity NOT verified: only simple letters until AR24 verifies it (POST /user/identity)"
        };
        Ok(format!("{}: credentials work; AR24 user {user} ({}); {identity}", self.name, sender.email))
    }
}
