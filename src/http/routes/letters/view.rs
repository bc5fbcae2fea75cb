//! The API view of a letter: what `GET /v1/letters/{id}` answers (and, without the timeline, each item of
//! the list), as types the OpenAPI document describes.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::services::Services;
use crate::store::LetterRecord;

/// A letter: its state, what it is made of, and (in full) its timeline, files and proofs.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterView {
    /// `ltr_…`
    pub id: String,
    /// `received`, `ready`, `awaiting_consent`, `awaiting_approval`, `queued`, `submitting`, `deposited`,
    /// `delivered`, `refused`, `not_claimed`, `bounced`, `failed`, `cancelled` or `needs_attention`.
    pub state: String,
    /// Why the letter is in its state, in words, when there is more to say.
    pub state_detail: Option<String>,
    pub sender: String,
    pub template: TemplateRef,
    /// The recipient as validated: `kind`, names, `company`, `email`, `address`.
    #[schema(value_type = Object)]
    pub recipient: Value,
    pub reference: Option<String>,
    pub notify_email: Option<String>,
    pub provider: ProviderRef,
    pub cost: Option<Cost>,
    /// SHA-256 of the rendered letter, once rendered.
    pub content_sha256: Option<String>,
    pub document_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deposited_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentView>>,
    /// The letter's own callback endpoint (its request's `callback_url`), if it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<Option<LetterCallbackView>>,
    /// Whether the letter's event chain verifies: `verified`, `events`, `anchored_at`, `anchored_events`,
    /// `problem`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub chain: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Vec<ProofView>>,
}

/// The template a letter was made with, pinned to one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateRef {
    pub name: String,
    pub title: String,
    /// SHA-256 of the exact template version used.
    pub version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderRef {
    pub name: String,
    pub reference: Option<String>,
    pub status: Option<String>,
}

/// What the provider charged, in euros (`"3.49"`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Cost {
    pub amount: String,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LetterCallbackView {
    pub id: String,
    pub url: String,
    pub state: String,
}

/// One event of the letter's hash-chained timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub state: String,
    pub detail: Option<String>,
    pub hash: String,
}

/// An archived proof: `deposit`, `receipt`, `refusal`, `non_claim`, `bounce` or `content` (a paper letter's).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProofView {
    pub kind: String,
    pub sha256: String,
    pub size: i64,
    pub archived_at: String,
    pub url: String,
}

/// A page of letters, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterPage {
    pub data: Vec<LetterView>,
    /// Give it as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// The API view of a letter; `full` adds the timeline, the files, the proofs and the callback.
pub async fn letter_view(services: &Services, letter: &LetterRecord, full: bool) -> Result<LetterView, ApiError> {
    // The full view reads the row again with its timeline from one snapshot, so they agree.
    let snapshot = if full { services.store.letter_with_events(&letter.id).await? } else { None };
    let (letter, events) = match snapshot {
        Some((fresh, events)) => (std::borrow::Cow::Owned(fresh), events),
        None => (std::borrow::Cow::Borrowed(letter), Vec::new()),
    };
    let base = services.public_url.as_str().trim_end_matches('/');
    let mut view = LetterView {
        id: letter.id.to_string(),
        state: letter.state.as_str().to_owned(),
        state_detail: letter.state_detail.clone(),
        sender: letter.sender_id.to_string(),
        template: TemplateRef {
            name: letter.template.clone(),
            title: services.templates.title(&letter.template),
            version: letter.template_hash.clone(),
        },
        recipient: serde_json::to_value(&letter.recipient).unwrap_or_default(),
        reference: letter.reference.clone(),
        notify_email: letter.notify_email.as_ref().map(|e| e.to_string()),
        provider: ProviderRef {
            name: letter.provider.clone(),
            reference: letter.provider_ref.clone(),
            status: letter.provider_status.clone(),
        },
        cost: letter.cost_cents.map(|c| Cost { amount: format!("{}.{:02}", c / 100, c % 100), currency: "EUR".into() }),
        content_sha256: letter.content_sha256.clone(),
        document_url: letter.content_sha256.as_ref().map(|_| format!("{base}/v1/letters/{}/document", letter.id)),
        created_at: rfc3339(letter.created_at),
        updated_at: rfc3339(letter.updated_at),
        deposited_at: letter.deposited_at.map(rfc3339),
        attachments: None,
        callback: None,
        chain: None,
        events: None,
        proofs: None,
    };
    if full {
        let attachments = services.store.attachments(&letter.id).await?;
        let proofs = services.store.proofs(&letter.id).await?;
        let callback = services.store.letter_callback_endpoint(letter.id.as_str()).await?;
        view.callback = Some(callback.map(|e| LetterCallbackView { id: e.id, url: e.url, state: e.state }));
        let chain = crate::audit::chain_status(&services.store, &letter.id, &events).await?;
        view.chain = Some(serde_json::to_value(chain).unwrap_or_default());
        view.attachments = Some(
            attachments
                .into_iter()
                .map(|a| AttachmentView {
                    filename: a.filename,
                    content_type: a.content_type,
                    size: a.size,
                    sha256: a.sha256,
                })
                .collect(),
        );
        view.events = Some(
            events
                .iter()
                .map(|e| EventView {
                    seq: e.seq,
                    at: rfc3339(e.at),
                    state: e.state.as_str().to_owned(),
                    detail: e.detail.clone(),
                    hash: e.hash.clone(),
                })
                .collect(),
        );
        view.proofs = Some(
            proofs
                .into_iter()
                .map(|p| ProofView {
                    url: format!("{base}/v1/letters/{}/proofs/{}", letter.id, p.kind),
                    kind: p.kind,
                    sha256: p.sha256,
                    size: p.size,
                    archived_at: rfc3339(p.archived_at),
                })
                .collect(),
        );
    }
    Ok(view)
}
