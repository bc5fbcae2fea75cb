//! Registered-letter providers behind one trait; one folder per provider. The embedded default is `sandbox`;
//! `ar24` sends electronic letters, `maileva` paper ones (LRAR).

pub mod ar24;
pub mod consents;
pub mod limit;
pub mod maileva;
pub mod redact;
pub mod sandbox;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::config::{ProviderSettings, SenderSettings, Settings};
use crate::domain::{FieldErrors, LetterId, LetterState, Recipient};
use crate::store::Store;

/// A letter ready to hand to a provider: rendered, checked, with its files.
pub struct OutgoingLetter<'a> {
    /// Our stable reference: the provider's duplicate guard and the key of `find_by_reference`.
    pub letter_id: &'a LetterId,
    pub sender: &'a SenderSettings,
    pub recipient: &'a Recipient,
    pub reference: Option<&'a str>,
    /// The letter's object line.
    pub subject: &'a str,
    /// The letter's text (paragraphs separated by blank lines), for providers that show it as the message.
    pub body: &'a str,
    /// The letter PDF rendered from the template.
    pub document: PathBuf,
    pub content_sha256: &'a str,
    /// Files attached to the letter, with the names the recipient sees.
    pub attachments: Vec<(SentFile, String)>,
    /// For a qualified send: the session the sender opened with their one-time code.
    pub approval: Option<&'a str>,
}

/// A file sent with a letter.
#[derive(Debug, Clone)]
pub enum SentFile {
    /// On disk (the letter itself, a large attachment): streamed from there.
    OnDisk(PathBuf),
    /// In memory: a small attachment, which the database keeps.
    InMemory(Bytes),
}

impl SentFile {
    /// The whole file.
    pub async fn read(&self) -> std::io::Result<Bytes> {
        match self {
            Self::OnDisk(path) => tokio::fs::read(path).await.map(Bytes::from),
            Self::InMemory(bytes) => Ok(bytes.clone()),
        }
    }

    /// Names the file in an error.
    pub fn describe(&self) -> String {
        match self {
            Self::OnDisk(path) => path.display().to_string(),
            Self::InMemory(_) => "an attachment kept in the database".into(),
        }
    }
}

/// A sender's approval session at the provider (opened with a one-time code; AR24: one hour).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalSession {
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// What linking a sender to its provider account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// A new account was created: put its id in `provider_user_id`.
    Created { user_id: String },
    /// The account exists; access was requested and the sender must approve it (by email at the provider).
    AccessRequested,
    /// The provider calls relais back at `url` for `events` kinds of event (subscribed, or updated when they
    /// were already).
    WebhooksSubscribed { url: String, events: usize },
}

/// The kinds of legal proof a provider produces. Names are API (`/v1/letters/{id}/proofs/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofKind {
    Deposit,
    Receipt,
    Refusal,
    NonClaim,
    Bounce,
    /// The content of a paper letter as posted, certified by the provider (Maileva's `download_content_proof`):
    /// it proves no state, and reaches the requester by a notice of its own.
    Content,
}

impl ProofKind {
    pub const ALL: [ProofKind; 6] =
        [Self::Deposit, Self::Receipt, Self::Refusal, Self::NonClaim, Self::Bounce, Self::Content];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Receipt => "receipt",
            Self::Refusal => "refusal",
            Self::NonClaim => "non_claim",
            Self::Bounce => "bounce",
            Self::Content => "content",
        }
    }

    /// French name, as used in emails.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Deposit => "preuve de dépôt",
            Self::Receipt => "preuve de réception",
            Self::Refusal => "preuve de refus",
            Self::NonClaim => "preuve de non-réclamation",
            Self::Bounce => "preuve de non-distribution",
            Self::Content => "preuve de contenu",
        }
    }

    /// True for a proof that establishes no state (the content proof): archiving it is news of its own.
    pub fn stands_alone(self) -> bool {
        self == Self::Content
    }

    /// The proof that establishes a state, if any.
    pub fn for_state(state: LetterState) -> Option<Self> {
        match state {
            LetterState::Deposited => Some(Self::Deposit),
            LetterState::Delivered => Some(Self::Receipt),
            LetterState::Refused => Some(Self::Refusal),
            LetterState::NotClaimed => Some(Self::NonClaim),
            LetterState::Bounced => Some(Self::Bounce),
            _ => None,
        }
    }
}

impl std::str::FromStr for ProofKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
            format!("`{text}` is not a proof kind (deposit, receipt, refusal, non_claim, bounce, content)")
        })
    }
}

/// Where a proof can be fetched from at the provider (a URL, or the provider's own locator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofLink {
    pub kind: ProofKind,
    pub locator: String,
}

/// The provider's word on a letter: the truth that transitions are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLetter {
    pub provider_ref: String,
    /// Our state this provider status maps to; `None` for a status this code does not know.
    pub state: Option<LetterState>,
    /// The provider's own status word, kept for audit and for unknown statuses.
    pub raw_status: String,
    pub deposited_at: Option<i64>,
    pub cost_cents: Option<i64>,
    pub proofs: Vec<ProofLink>,
}

/// Whether a provider holds a letter with our reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(ProviderLetter),
    /// The provider certainly has none: sending again cannot make a duplicate.
    Absent,
}

/// An inbound provider webhook, as received: raw bytes, never re-serialized.
pub struct WebhookRequest<'a> {
    pub headers: &'a axum::http::HeaderMap,
    pub body: &'a [u8],
    pub peer: Option<IpAddr>,
    /// The letter named in a per-letter webhook URL (`…/webhooks/{letter}/{secret}`), with its secret.
    pub letter: Option<(&'a LetterId, &'a str)>,
}

/// What a verified webhook says to look at. Only a hint: the state comes from `fetch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHint {
    pub provider_ref: Option<String>,
    pub letter_id: Option<LetterId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the letter; it was not sent and the same request will be refused again.
    #[error("{provider} refused the letter: {message}")]
    Rejected { provider: String, code: String, message: String },
    /// The provider could not be reached or is in maintenance; nothing was sent.
    #[error("{provider} is unavailable: {message}")]
    Unavailable { provider: String, message: String },
    /// The request left and no answer came back: the provider may or may not have the letter.
    #[error("no answer from {provider} after the request was sent: {message}")]
    OutcomeUnknown { provider: String, message: String },
    #[error("webhook refused: {0}")]
    InvalidWebhook(String),
    #[error("{provider} has no letter {reference}")]
    NotFound { provider: String, reference: String },
    #[error("internal error in provider {provider}: {message}")]
    Internal { provider: String, message: String },
    /// The sender must approve (again) with a one-time code; nothing was sent.
    #[error("{provider} needs the sender's approval: {message}")]
    ApprovalRequired { provider: String, message: String },
    #[error("{provider} does not support {what}")]
    Unsupported { provider: String, what: &'static str },
}

impl ProviderError {
    /// Worth another attempt later (nothing was sent, or it was only a read).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::OutcomeUnknown { .. } | Self::Internal { .. })
    }
}

/// A registered-letter provider. Implementations own their HTTP client, wire types and status mapping.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider account name (`[providers.NAME]`).
    fn name(&self) -> &str;

    /// Hands the letter over. Must be safe against duplicates by `letter_id` where the provider allows it.
    async fn send(&self, letter: &OutgoingLetter<'_>) -> Result<ProviderLetter, ProviderError>;

    /// The provider's current record of a letter.
    async fn fetch(&self, provider_ref: &str) -> Result<ProviderLetter, ProviderError>;

    /// Looks a letter of `sender` up by our reference, to reconcile a send whose outcome is unknown, among
    /// every letter the provider recorded since `sent_after` (the first attempt, unix milliseconds).
    async fn find_by_reference(
        &self,
        letter_id: &LetterId,
        sender: &SenderSettings,
        sent_after: i64,
    ) -> Result<Lookup, ProviderError>;

    /// Downloads a proof document (PDF bytes).
    async fn download_proof(&self, link: &ProofLink) -> Result<Bytes, ProviderError>;

    /// Authenticates an inbound webhook over its raw bytes and says which letter to look at.
    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<WebhookHint, ProviderError>;

    /// What this provider cannot take from `sender`, found at intake (fields named as in the request):
    /// `attachments` are the sizes of the attached files, the letter itself not included.
    fn check_letter(&self, _sender: &SenderSettings, _recipient: &Recipient, _attachments: &[u64]) -> FieldErrors {
        FieldErrors::default()
    }

    /// The HTTP status a verified webhook is answered with (Maileva's spec asks for 201).
    fn webhook_answer(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::OK
    }

    /// Background work the provider needs while relais runs (the sandbox plays its lifecycle here).
    async fn run(&self, _shutdown: CancellationToken) {}

    /// Whether qualified sends of this provider need the sender's approval with a one-time code.
    fn needs_approval(&self, _sender: &SenderSettings) -> bool {
        false
    }

    /// Opens an approval session with the sender's one-time code.
    async fn open_approval(&self, _sender: &SenderSettings, _code: &str) -> Result<ApprovalSession, ProviderError> {
        Err(ProviderError::Unsupported { provider: self.name().to_owned(), what: "approvals" })
    }

    /// Creates or finds the sender's account at the provider.
    async fn link_sender(&self, _sender: &SenderSettings) -> Result<LinkOutcome, ProviderError> {
        Err(ProviderError::Unsupported { provider: self.name().to_owned(), what: "linking senders" })
    }

    /// Checks the credentials with a real call and reports on the sender's account, in one line.
    async fn check_account(&self, _sender: &SenderSettings) -> Result<String, ProviderError> {
        Ok(format!("{}: nothing to check", self.name()))
    }

    /// Consent requests to recipients, when this provider account can make them.
    fn consent_requests(&self) -> Option<&dyn consents::ConsentRequests> {
        None
    }
}

/// The configured provider accounts, by name.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<String, Arc<dyn Provider>>);

impl Providers {
    /// Builds every provider of `[providers]`; `public_url` is where their webhooks reach relais.
    pub fn from_settings(settings: &Settings, store: &Store, public_url: &url::Url) -> Self {
        let mut providers: BTreeMap<String, Arc<dyn Provider>> = BTreeMap::new();
        for (name, provider) in &settings.providers {
            let built: Arc<dyn Provider> = match provider {
                ProviderSettings::Sandbox(s) => {
                    Arc::new(sandbox::Sandbox::new(name, s.clone(), store.clone(), public_url.clone()))
                }
                ProviderSettings::Ar24(s) => Arc::new(ar24::Ar24::new(name, s.clone(), public_url.clone())),
                ProviderSettings::Maileva(s) => {
                    Arc::new(maileva::Maileva::new(name, s.clone(), store.clone(), public_url.clone()))
                }
            };
            providers.insert(name.clone(), built);
        }
        Self(providers)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.0.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.0.values()
    }
}

/// The webhook URL of a provider account.
pub fn webhook_url(public_url: &url::Url, provider: &str) -> String {
    format!("{}/v1/providers/{provider}/webhooks", public_url.as_str().trim_end_matches('/'))
}

/// The per-letter webhook URL: the secret in the path authenticates providers that do not sign (AR24).
pub fn letter_webhook_url(public_url: &url::Url, provider: &str, letter: &LetterId, secret: &str) -> String {
    format!("{}/{letter}/{secret}", webhook_url(public_url, provider))
}
