//! Making an anchor: one digest over every chain head, appended to the anchor file, time-stamped by the
//! configured authority, emailed to the operator; and the schedule the workers run it on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::chain::AnchoredEvent;
use super::findings::{Finding, Subject};
use super::ledger::{self, AnchorLine, HeadEntry, Ledger};
use super::tsa;
use crate::config::AuditSettings;
use crate::domain::LetterId;
use crate::letters::files;
use crate::notify::{EmailAttachment, Mailer, OutgoingEmail};
use crate::services::Services;
use crate::store::{ChainHead, Store, StoreError, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the anchor file could not be read or written: {0}")]
    File(#[from] std::io::Error),
}

/// What an anchor did.
#[derive(Debug)]
pub struct Anchored {
    pub line: AnchorLine,
    /// Letters whose chain no longer holds the head the previous anchors recorded, and anchor file lines
    /// that do not follow from the ones before: written down, and told to the operator.
    pub findings: Vec<Finding>,
    /// Why the time-stamp is missing, when an authority is configured and failed.
    pub timestamp_error: Option<String>,
    /// Why the operator was not emailed, when an address is configured and sending failed.
    pub email_error: Option<String>,
}

/// Anchors every letter's chain head now. One anchor at a time per anchor file (a lock on it): an anchor
/// on schedule and one on demand would otherwise both follow the same line.
pub async fn anchor_chains(store: &Store, settings: &AuditSettings, mailer: &Mailer) -> Result<Anchored, AnchorError> {
    let path = settings.anchor_file.clone();
    let _lock = tokio::task::spawn_blocking(move || ledger::lock(&path)).await.map_err(std::io::Error::other)??;
    let ledger = ledger::read(&settings.anchor_file)?;
    let heads = store.chain_heads().await?;
    let digest = ledger::digest(heads.iter().map(|h| (h.letter.as_str(), h.seq, h.hash.as_str())));
    let (changed, mut findings) = changes_since(store, &ledger, &heads).await?;
    findings.extend(ledger.problems.iter().cloned());

    let at = now_ms();
    let (timestamp_token, timestamp_error) = time_stamp(settings, &digest, at).await?;
    let line = AnchorLine {
        anchored_at: super::rfc3339(at),
        digest: hex::encode(digest),
        letters: heads.len(),
        previous: ledger.last_line_hash.clone(),
        changed: changed.iter().map(|h| HeadEntry(h.0.clone(), h.1, h.2.clone())).collect(),
        timestamp_token,
    };
    ledger::append(&settings.anchor_file, &line)?;
    let recorded: Vec<ChainHead> =
        heads.iter().filter(|h| changed.iter().any(|c| c.0 == h.letter.as_str())).cloned().collect();
    store.record_anchored_heads(&recorded, at, &line.digest).await?;
    if !findings.is_empty() {
        tracing::error!(count = findings.len(), "event chains differ from their anchors: run `relais verify`");
    }
    let email_error = match settings.operator() {
        None => None,
        Some(to) => email_operator(mailer, to.as_str(), settings, &line, &findings).await.err(),
    };
    tracing::info!(digest = %line.digest, letters = line.letters, changed = line.changed.len(), "event chains anchored");
    Ok(Anchored { line, findings, timestamp_error, email_error })
}

/// Asks the configured authority to time-stamp `digest` and keeps its answer beside the anchor file:
/// the token's file name, or why there is none. An authority that fails does not stop the anchor.
async fn time_stamp(
    settings: &AuditSettings,
    digest: &[u8; 32],
    at: i64,
) -> std::io::Result<(Option<String>, Option<String>)> {
    let Some(url) = settings.tsa() else { return Ok((None, None)) };
    match tsa::timestamp(&url, digest, settings.tsa_timeout).await {
        Ok((response, _)) => {
            let name = token_name(settings, at);
            files::write_durably(&ledger::token_path(&settings.anchor_file, &name), &response).await?;
            Ok((Some(name), None))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the anchor is written without a time-stamp");
            Ok((None, Some(e.to_string())))
        }
    }
}

/// The heads that moved since the file's last anchor (a letter gone is `seq` 0), and the letters whose
/// current chain no longer holds their last anchored head.
async fn changes_since(
    store: &Store,
    ledger: &Ledger,
    heads: &[ChainHead],
) -> Result<(Vec<(String, i64, String)>, Vec<Finding>), StoreError> {
    let mut changed = Vec::new();
    let mut findings = Vec::new();
    for head in heads {
        let previous = ledger.heads.get(head.letter.as_str());
        if previous.is_some_and(|(seq, hash)| *seq == head.seq && *hash == head.hash) {
            continue;
        }
        if let Some((seq, hash)) = previous {
            let now = store.event_hash_at(&head.letter, *seq).await?;
            if now.as_deref() != Some(hash) {
                findings.push(rewritten(ledger, &head.letter, *seq, hash, now));
            }
        }
        changed.push((head.letter.as_str().to_owned(), head.seq, head.hash.clone()));
    }
    for (letter, (seq, hash)) in &ledger.heads {
        if heads.binary_search_by(|h| h.letter.as_str().cmp(letter)).is_err() {
            if let Ok(id) = letter.parse::<LetterId>() {
                findings.push(rewritten(ledger, &id, *seq, hash, None));
            }
            changed.push((letter.clone(), 0, String::new()));
        }
    }
    changed.sort();
    Ok((changed, findings))
}

fn rewritten(ledger: &Ledger, letter: &LetterId, seq: i64, hash: &str, now: Option<String>) -> Finding {
    let anchored_at =
        ledger.history.get(letter.as_str()).and_then(|h| h.last()).map(|a: &AnchoredEvent| a.anchored_at.clone());
    let subject = Subject::AnchoredEvent { seq, anchored_at: anchored_at.unwrap_or_default() };
    Finding::new(
        Some(letter),
        subject,
        format!("hash {hash}"),
        now.map_or("no such event".to_owned(), |h| format!("hash {h}")),
    )
}

fn token_name(settings: &AuditSettings, at: i64) -> String {
    let stem = settings.anchor_file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stamp = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default().format("%Y%m%dT%H%M%S%3fZ");
    format!("{stem}-{stamp}.tsr")
}

async fn email_operator(
    mailer: &Mailer,
    to: &str,
    settings: &AuditSettings,
    line: &AnchorLine,
    findings: &[Finding],
) -> Result<(), String> {
    let mut body = format!(
        "Ancre des chaînes d'événements de relais\n\n\
         Date : {}\nEmpreinte SHA-256 : {}\nLettres couvertes : {}\nLigne précédente : {}\nHorodatage RFC 3161 : {}\n\n\
         Gardez ce message hors de la machine de relais : il prouve l'état de l'historique des lettres à cette date.\n\
         `relais verify` compare les chaînes de la base avec ces ancres ; la ligne d'ancre est jointe.\n",
        line.anchored_at,
        line.digest,
        line.letters,
        line.previous,
        line.timestamp_token.as_deref().unwrap_or("aucun"),
    );
    if !findings.is_empty() {
        body.push_str(&format!("\nATTENTION : {} différence(s) avec les ancres précédentes :\n", findings.len()));
        for finding in findings.iter().take(50) {
            body.push_str(&format!("- {finding}\n"));
        }
    }
    let mut attachments = vec![EmailAttachment {
        filename: "anchor.json".into(),
        content_type: "application/json".into(),
        bytes: serde_json::to_vec_pretty(line).unwrap_or_default(),
    }];
    if let Some(name) = &line.timestamp_token
        && let Ok(bytes) = tokio::fs::read(ledger::token_path(&settings.anchor_file, name)).await
    {
        attachments.push(EmailAttachment {
            filename: name.clone(),
            content_type: "application/timestamp-reply".into(),
            bytes,
        });
    }
    let email = OutgoingEmail {
        to: to.to_owned(),
        subject: format!("relais : ancre du {} ({} lettres)", &line.anchored_at[..10], line.letters),
        body,
        attachments,
        tag: "anchor".into(),
        answering: None,
        message_id: None,
    };
    mailer.send(&email).await.map_err(|e| {
        tracing::warn!(error = %e, "the anchor could not be emailed to the operator");
        e.to_string()
    })
}

/// Anchors every `audit.anchor_every`, counted from the file's last anchor (due at once when there is
/// none), until `shutdown`. A failed anchor is tried again after a minute.
pub async fn anchor_on_schedule(services: Arc<Services>, shutdown: CancellationToken) {
    let settings = &services.settings.audit;
    let every = settings.anchor_every;
    loop {
        let wait = match ledger::read(&settings.anchor_file) {
            Ok(ledger) => until_due(ledger.last().map(|l| l.anchored_at.as_str()), every),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the anchor file");
                Duration::from_secs(60)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = anchor_chains(&services.store, settings, &services.mailer).await {
            tracing::warn!(error = %e, "could not anchor the event chains");
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }
}

fn until_due(last: Option<&str>, every: Duration) -> Duration {
    let Some(last) = last.and_then(|l| chrono::DateTime::parse_from_rfc3339(l).ok()) else { return Duration::ZERO };
    let due = last.with_timezone(&Utc) + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(1));
    (due - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_anchor_is_due_a_period_after_the_last() {
        assert_eq!(until_due(None, Duration::from_secs(86400)), Duration::ZERO);
        let an_hour_ago = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let wait = until_due(Some(&an_hour_ago), Duration::from_secs(86400));
        assert!(wait > Duration::from_secs(22 * 3600) && wait <= Duration::from_secs(23 * 3600), "{wait:?}");
        let long_ago = (Utc::now() - chrono::Duration::days(3)).to_rfc3339();
        assert_eq!(until_due(Some(&long_ago), Duration::from_secs(86400)), Duration::ZERO);
    }
}
