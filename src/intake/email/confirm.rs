//! Optional confirmation of emailed requests (senders with `confirm = "always"`): a valid request is held,
//! with its files, and the requester gets the letter as it would go; it leaves only when they reply `OK` /
//! `CONFIRMER` or use the link in that answer, before the request expires.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::answer::{self, AnswerTo, HeldLetter};
use crate::config::SenderSettings;
use crate::domain::{EmailAddress, LetterId, Recipient, SenderId};
use crate::intake::IntakeError;
use crate::letters::{FromEmail, LetterRequest, Staged, StagedAttachment, submit_letter};
use crate::services::Services;
use crate::store::{ConfirmationRecord, StoreError, now_ms};

/// The validated request, as kept until it is confirmed (its template version pinned).
#[derive(Debug, Serialize, Deserialize)]
struct HeldRequest {
    template: String,
    template_hash: String,
    variables: serde_json::Map<String, serde_json::Value>,
    recipient: Recipient,
    reference: Option<String>,
    notify_email: Option<EmailAddress>,
    attachments: Vec<HeldFile>,
    request_sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct HeldFile {
    filename: String,
    content_type: String,
    path: PathBuf,
    size: u64,
    sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no request waits for this confirmation")]
    Unknown,
    #[error("this request expired without confirmation; nothing was sent")]
    Expired,
    #[error("this confirmation belongs to another sender account")]
    OtherSender,
    #[error("the held request is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the letter could not be submitted: {0}")]
    Submit(String),
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rfc3339(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Holds a validated request: its files move under `.pending/TOKEN/`, and the requester is asked to confirm.
pub async fn hold(
    services: &Services,
    sender: &SenderSettings,
    letter: LetterRequest,
    dedupe_key: &str,
    to: AnswerTo,
) -> Result<String, IntakeError> {
    let token = new_token();
    let dir = services.files.attachments_dir.join(".pending").join(&token);
    tokio::fs::create_dir_all(&dir).await?;
    let mut files = Vec::with_capacity(letter.attachments.len());
    for (i, file) in letter.attachments.iter().enumerate() {
        let path = dir.join(format!("{i}.bin"));
        match &file.content {
            Staged::File(staged) => tokio::fs::rename(staged, &path).await?,
            Staged::Memory(bytes) => tokio::fs::write(&path, bytes).await?,
        }
        let (filename, content_type) = (file.filename.clone(), file.content_type.clone());
        files.push(HeldFile { filename, content_type, path, size: file.size, sha256: file.sha256.clone() });
    }
    // The files were written unsynced (see `receive::letter::stage`): durable before the request is recorded.
    let pending = services.files.attachments_dir.join(".pending");
    crate::letters::files::sync_all(&pending, files.iter().map(|f| f.path.clone())).await?;
    let held = HeldRequest {
        template: letter.template.name.clone(),
        template_hash: letter.template.hash.clone(),
        variables: letter.variables.clone(),
        recipient: letter.recipient.clone(),
        reference: letter.reference.clone(),
        notify_email: letter.notify_email.clone(),
        attachments: files,
        request_sha256: letter.request_sha256.clone(),
    };
    let now = now_ms();
    let expires_at = now + services.settings.intake.confirm_within.as_millis() as i64;
    let record = ConfirmationRecord {
        token: token.clone(),
        sender_id: sender.id.to_string(),
        dedupe_key: dedupe_key.to_owned(),
        request: serde_json::to_string(&held).map_err(std::io::Error::other)?,
        answer: serde_json::to_string(&to).map_err(std::io::Error::other)?,
        created_at: now,
        expires_at,
        confirmed_at: None,
        letter_id: None,
    };
    services.store.insert_confirmation(&record).await?;
    let base = services.public_url.as_str().trim_end_matches('/');
    let (document, text) = super::receive::preview(sender, &letter, &LetterId::generate());
    let shown = HeldLetter {
        template_title: letter.template.title.clone(),
        recipient_name: letter.recipient.display_name(),
        recipient_email: letter.recipient.email_text().to_owned(),
        reference: letter.reference.clone(),
        attachments: letter.attachments.iter().map(|a| a.filename.clone()).collect(),
        link: format!("{base}/v1/confirmations/{token}"),
        expires_at: rfc3339(expires_at),
        document,
        text,
    };
    super::receive::send_answer(services, Some(answer::confirm(&services.emails, &to, &token, shown))).await;
    Ok(token)
}

/// Confirms a held request: the letter is submitted (once, whatever the number of confirmations) and the
/// requester gets the acceptance. `by` is the sender account of an emailed confirmation.
pub async fn confirm(services: &Services, token: &str, by: Option<&SenderId>) -> Result<LetterId, ConfirmError> {
    let record = services.store.confirmation(token).await?.ok_or(ConfirmError::Unknown)?;
    if by.is_some_and(|sender| sender.as_str() != record.sender_id) {
        return Err(ConfirmError::OtherSender);
    }
    if let Some(letter) = &record.letter_id {
        return letter.parse().map_err(ConfirmError::Corrupt);
    }
    if now_ms() > record.expires_at {
        return Err(ConfirmError::Expired);
    }
    let held: HeldRequest = serde_json::from_str(&record.request).map_err(|e| ConfirmError::Corrupt(e.to_string()))?;
    let to: AnswerTo = serde_json::from_str(&record.answer).map_err(|e| ConfirmError::Corrupt(e.to_string()))?;
    let sender_id: SenderId = record.sender_id.parse().map_err(ConfirmError::Corrupt)?;
    services.settings.sender(&sender_id).ok_or(ConfirmError::OtherSender)?;
    let template = services
        .templates
        .pinned(&held.template, &held.template_hash)
        .await
        .map_err(|e| ConfirmError::Corrupt(e.to_string()))?;
    let attachments = held
        .attachments
        .into_iter()
        .map(|f| StagedAttachment {
            filename: f.filename,
            content_type: f.content_type,
            content: Staged::File(f.path),
            size: f.size,
            sha256: f.sha256,
        })
        .collect();
    let letter = LetterRequest {
        sender: sender_id,
        template,
        variables: held.variables,
        recipient: held.recipient,
        reference: held.reference,
        notify_email: held.notify_email,
        attachments,
        callback: None,
        request_sha256: held.request_sha256,
        submitted_by: None,
        from_email: Some(FromEmail { inbound: None, answer: super::accepted::answer_payload(&to) }),
    };
    let key = format!("email:{}", record.dedupe_key);
    let id = match submit_letter(services, letter, None, Some(&key)).await {
        Ok(submitted) => submitted.id(),
        Err(e) => return Err(ConfirmError::Submit(e.to_string())),
    };
    services.store.mark_confirmed(token, id.as_str(), now_ms()).await?;
    Ok(id)
}

/// True when the reply's first own line says yes (OK, CONFIRMER, CONFIRM, OUI, YES).
pub fn says_yes(raw: &[u8]) -> bool {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else { return false };
    let Some(text) = message.body_text(0) else { return false };
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('>')).unwrap_or_default();
    let word: String = first.chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_uppercase();
    matches!(word.as_str(), "OK" | "CONFIRMER" | "CONFIRME" | "CONFIRM" | "OUI" | "YES")
}
