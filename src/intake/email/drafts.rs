//! A reply continues its request: when relais answers a request with what is missing (or with the senders
//! to choose from), it keeps the request's emails and threads the answer with a Message-ID naming them. A
//! reply to that answer, from the same address, is read together with the emails before it (its lines win)
//! and checked again as any request; all the replies of one thread make at most one letter.

use std::path::PathBuf;

use mail_parser::Message;

use crate::domain::SenderId;
use crate::intake::IntakeError;
use crate::services::Services;
use crate::store::{DraftRecord, now_ms};

/// A request a reply continues, with its emails read back from disk.
#[derive(Debug)]
pub struct Draft {
    pub record: DraftRecord,
    pub sender: Option<SenderId>,
    /// The raw emails of the request so far, oldest first.
    pub sources: Vec<Vec<u8>>,
}

impl Draft {
    /// The idempotency key of the letter the thread makes.
    pub fn letter_key(&self) -> String {
        format!("email-thread:{}", self.record.root_token)
    }

    /// A reply after `intake.confirm_within` finds the request expired.
    pub fn expired(&self, services: &Services) -> bool {
        let within = services.settings.intake.confirm_within.as_millis() as i64;
        now_ms() > self.record.created_at.saturating_add(within)
    }
}

/// The Message-ID (without angle brackets) of the answer that a reply continues.
pub fn message_id(token: &str) -> String {
    format!("draft-{token}@relais.invalid")
}

fn token_of(id: &str) -> Option<&str> {
    id.strip_prefix("draft-")?.strip_suffix("@relais.invalid")
}

/// The request this email continues: one of relais's answers among its `In-Reply-To` / `References`, kept
/// for the same From address. An unknown or foreign token is no continuation (the email is a new request).
pub async fn continued(
    services: &Services,
    message: Option<&Message<'_>>,
    from: Option<&str>,
) -> Result<Option<Draft>, IntakeError> {
    let (Some(message), Some(from)) = (message, from) else { return Ok(None) };
    let mut ids = vec![];
    for name in ["In-Reply-To", "References"] {
        ids.extend(message.header_raw(name).map(message_ids).unwrap_or_default());
    }
    // The most recent answer first: References lists the thread oldest first.
    for token in ids.iter().rev().filter_map(|id| token_of(id)) {
        let Some(record) = services.store.draft(token).await? else { continue };
        if !record.from_address.eq_ignore_ascii_case(from) {
            tracing::info!(token, "a reply to another address's answer is read as a new request");
            continue;
        }
        let sender = record.sender_id.as_deref().and_then(|s| s.parse().ok());
        let mut draft = Draft { record, sender, sources: vec![] };
        if draft.expired(services) {
            // Answered as expired without reading: the sweep may already have removed its emails.
            return Ok(Some(draft));
        }
        let paths: Vec<PathBuf> = serde_json::from_str(&draft.record.sources).map_err(std::io::Error::other)?;
        for path in &paths {
            draft.sources.push(tokio::fs::read(path).await?);
        }
        return Ok(Some(draft));
    }
    Ok(None)
}

/// Keeps a request relais answers with what is missing: its email joins the earlier ones of its thread.
/// Returns the Message-ID its answer must carry.
pub async fn keep(
    services: &Services,
    earlier: Option<&Draft>,
    raw: &[u8],
    from: &str,
    sender: Option<&SenderId>,
    template: Option<&str>,
) -> Result<String, IntakeError> {
    let token = ulid::Ulid::new().to_string().to_ascii_lowercase();
    let dir = services.files.attachments_dir.join(".drafts");
    tokio::fs::create_dir_all(&dir).await?;
    let path = dir.join(format!("{token}.eml"));
    crate::letters::files::write_durably(&path, raw).await?;
    let mut paths: Vec<PathBuf> = match earlier {
        Some(d) => serde_json::from_str(&d.record.sources).map_err(std::io::Error::other)?,
        None => vec![],
    };
    paths.push(path);
    let record = DraftRecord {
        token: token.clone(),
        root_token: earlier.map_or_else(|| token.clone(), |d| d.record.root_token.clone()),
        from_address: from.to_lowercase(),
        sender_id: sender.map(ToString::to_string),
        template: template.map(str::to_owned),
        sources: serde_json::to_string(&paths).map_err(std::io::Error::other)?,
        created_at: now_ms(),
    };
    services.store.insert_draft(&record).await?;
    Ok(message_id(&token))
}

/// How long an expired request's answers are remembered (to tell a late reply it expired) once its emails
/// are removed.
const REMEMBER_EXPIRED: i64 = 30 * 24 * 3600 * 1000;

/// Removes the emails of requests that can no longer be continued (their newest answer is older than
/// `intake.confirm_within`) from `attachments_dir/.drafts/`, then forgets answers a month past that.
/// Returns how many threads lost their emails.
pub async fn sweep_expired(services: &Services) -> Result<usize, IntakeError> {
    let within = services.settings.intake.confirm_within.as_millis() as i64;
    let cutoff = now_ms().saturating_sub(within);
    let threads = services.store.expired_draft_threads(cutoff, 100).await?;
    for root in &threads {
        for sources in services.store.draft_thread_sources(root).await? {
            let paths: Vec<PathBuf> = serde_json::from_str(&sources).map_err(std::io::Error::other)?;
            for path in paths {
                match tokio::fs::remove_file(&path).await {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        services.store.forget_draft_sources(root).await?;
    }
    services.store.delete_drafts_before(cutoff.saturating_sub(REMEMBER_EXPIRED)).await?;
    Ok(threads.len())
}

/// The ids in an `In-Reply-To` or `References` header, without angle brackets.
fn message_ids(value: &str) -> Vec<String> {
    value.split('<').skip(1).filter_map(|s| s.split_once('>')).map(|(id, _)| id.trim().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_references_header_gives_its_ids_and_relais_tokens() {
        let ids = message_ids(" <a@b.fr>\r\n <draft-01abc@relais.invalid>");
        assert_eq!(ids, ["a@b.fr", "draft-01abc@relais.invalid"]);
        assert_eq!(token_of(&ids[1]), Some("01abc"));
        assert_eq!(token_of(&ids[0]), None);
    }
}
