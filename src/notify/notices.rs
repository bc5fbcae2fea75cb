//! Notices to the requester: which states are worth an email, and the email for each, built from
//! `templates/emails/` with the proof attached when there is one.

use serde_json::json;

use super::{EmailAttachment, OutgoingEmail};
use crate::domain::LetterState;
use crate::domain::time::rfc3339_secs as rfc3339;
use crate::providers::ProofKind;
use crate::render::{EmailTemplates, RenderError};
use crate::store::LetterRecord;

/// The email template of a state, when the requester is told about it.
pub fn notice_kind(state: LetterState) -> Option<&'static str> {
    use LetterState::*;
    match state {
        Received => Some("accepted"),
        AwaitingConsent => Some("awaiting_consent"),
        AwaitingApproval => Some("awaiting_approval"),
        Deposited => Some("deposited"),
        Delivered => Some("delivered"),
        Refused => Some("refused"),
        NotClaimed => Some("not_claimed"),
        Bounced => Some("bounced"),
        Failed => Some("failed"),
        NeedsAttention => Some("needs_attention"),
        Cancelled => Some("cancelled"),
        Ready | Queued | Submitting => None,
    }
}

/// An archived proof to attach.
pub struct AttachedProof {
    pub kind: ProofKind,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// Everything a notice says.
pub struct Notice<'a> {
    /// The email template (`notice_kind` of the state, or a more precise one such as `provider_unreachable`).
    pub kind: &'a str,
    pub letter: &'a LetterRecord,
    pub template_title: &'a str,
    pub state: LetterState,
    /// The letter goes on paper (a paper sender, or an electronic one's paper fallback): the email says so.
    pub paper: bool,
    pub at: i64,
    pub detail: Option<&'a str>,
    pub proof: Option<AttachedProof>,
    pub public_url: &'a url::Url,
    pub to: &'a str,
}

/// Renders the notice email, carrying `message_id`.
pub fn compose(templates: &EmailTemplates, notice: Notice<'_>, message_id: &str) -> Result<OutgoingEmail, RenderError> {
    let kind = notice.kind;
    let letter = notice.letter;
    let base = notice.public_url.as_str().trim_end_matches('/');
    let proof_filename = notice.proof.as_ref().map(|p| format!("{}-{}.pdf", letter.id, p.kind.as_str()));
    let context = json!({
        "letter": {
            "id": letter.id.as_str(),
            "state": notice.state.as_str(),
            "template_title": notice.template_title,
            "reference": letter.reference,
            "recipient_name": letter.recipient.display_name(),
            "recipient_email": letter.recipient.email_text(),
            "url": format!("{base}/console/letters/{}", letter.id),
            "created_at": rfc3339(letter.created_at),
            "provider": letter.provider,
            "paper": notice.paper,
        },
        "event": { "at": rfc3339(notice.at), "detail": notice.detail.map(super::french::detail_in_french) },
        "proof": notice.proof.as_ref().map(|p| json!({
            "kind": p.kind.as_str(),
            "label": p.kind.label_fr(),
            "filename": proof_filename,
            "sha256": p.sha256,
        })),
        "consent_url": format!(
            "{base}/console/consents?email={}",
            url::form_urlencoded::byte_serialize(letter.recipient.email_text().as_bytes()).collect::<String>()
        ),
    });
    templates.render(kind, &context).map(|rendered| OutgoingEmail {
        to: notice.to.to_owned(),
        subject: rendered.subject,
        body: rendered.body,
        attachments: notice
            .proof
            .into_iter()
            .map(|p| EmailAttachment {
                filename: proof_filename.clone().unwrap_or_default(),
                content_type: "application/pdf".to_owned(),
                bytes: p.bytes,
            })
            .collect(),
        tag: format!("{}-{kind}", letter.id),
        answering: None,
        message_id: Some(message_id.to_owned()),
    })
}
