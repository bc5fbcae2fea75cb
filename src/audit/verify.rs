//! `relais verify`: every letter's chain from its first event, its files against their SHA-256, and the
//! chains against the anchor file (and its time-stamps).

use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::chain::{check_anchored, check_chain};
use super::findings::{Finding, Report, Subject};
use super::ledger::{self, Ledger};
use super::tsa;
use crate::domain::LetterId;
use crate::letters::files::LetterFiles;
use crate::store::{LetterRecord, Store, StoreError};

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    Letter(LetterId),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the anchor file could not be read: {0}")]
    AnchorFile(std::io::Error),
    #[error("no letter {0}")]
    NoLetter(LetterId),
}

/// Checks `scope`; every difference is in the report (an error only when the checks could not run).
pub async fn verify(
    store: &Store,
    files: &LetterFiles,
    anchor_file: &Path,
    scope: &Scope,
) -> Result<Report, VerifyError> {
    let ledger = ledger::read(anchor_file).map_err(VerifyError::AnchorFile)?;
    let mut report = Report { anchors: ledger.lines.len(), ..Report::default() };
    report.findings.extend(ledger.problems.iter().cloned());
    check_timestamps(&ledger, anchor_file, &mut report).await;
    match scope {
        Scope::Letter(id) => match store.letter(id).await? {
            Some(letter) => check_letter(store, files, &ledger, &letter, &mut report).await?,
            None if ledger.history.contains_key(id.as_str()) => report.findings.push(gone(&ledger, id)),
            None => return Err(VerifyError::NoLetter(id.clone())),
        },
        Scope::Everything => {
            let mut after = None;
            loop {
                let page = store.letter_ids_after(after.as_ref(), 500).await?;
                for id in &page {
                    if let Some(letter) = store.letter(id).await? {
                        check_letter(store, files, &ledger, &letter, &mut report).await?;
                    }
                }
                match page.last() {
                    Some(last) => after = Some(last.clone()),
                    None => break,
                }
            }
            check_consent_proofs(store, &mut report).await?;
            for letter in ledger.history.keys() {
                if let Ok(id) = letter.parse::<LetterId>()
                    && store.letter(&id).await?.is_none()
                {
                    report.findings.push(gone(&ledger, &id));
                }
            }
        }
    }
    Ok(report)
}

fn gone(ledger: &Ledger, id: &LetterId) -> Finding {
    let last = ledger.history.get(id.as_str()).and_then(|h| h.last());
    let anchored_at = last.map(|a| a.anchored_at.clone()).unwrap_or_default();
    let expected = last.map(|a| format!("the letter with event {} hash {}", a.seq, a.hash)).unwrap_or_default();
    Finding::new(Some(id), Subject::AnchoredLetter { anchored_at }, expected, "no such letter")
}

async fn check_letter(
    store: &Store,
    files: &LetterFiles,
    ledger: &Ledger,
    letter: &LetterRecord,
    report: &mut Report,
) -> Result<(), StoreError> {
    let id = &letter.id;
    report.letters += 1;
    let events = store.events(id).await?;
    report.events += events.len();
    report.findings.extend(check_chain(id, &events));
    if let Some(anchored) = ledger.history.get(id.as_str()) {
        report.anchored_letters += 1;
        report.findings.extend(check_anchored(id, &events, anchored));
    }
    if let Some(sha256) = &letter.content_sha256 {
        report.files += 1;
        report.findings.extend(check_file(Some(id), Subject::Document, &files.document_of(id), sha256).await);
    }
    for a in store.attachments(id).await? {
        report.files += 1;
        let subject = Subject::Attachment { position: a.position, filename: a.filename.clone() };
        let finding = match &a.path {
            Some(path) => check_file(Some(id), subject, Path::new(path), &a.sha256).await,
            None => check_kept(id, subject, store.attachment_content(id, a.position).await?, &a.sha256),
        };
        report.findings.extend(finding);
    }
    for p in store.proofs(id).await? {
        report.files += 1;
        let subject = Subject::Proof { kind: p.kind.clone() };
        report.findings.extend(check_file(Some(id), subject, Path::new(&p.path), &p.sha256).await);
    }
    Ok(())
}

/// Consent evidence is a proof too: each file against its recorded SHA-256.
async fn check_consent_proofs(store: &Store, report: &mut Report) -> Result<(), StoreError> {
    let mut after = None;
    loop {
        let page = store.consent_proofs_after(after.as_ref(), 500).await?;
        for (consent, path, sha256) in &page {
            report.files += 1;
            let subject = Subject::ConsentProof { consent: consent.clone() };
            report.findings.extend(check_file(None, subject, Path::new(path), sha256).await);
        }
        match page.last() {
            Some((last, _, _)) => after = Some(last.clone()),
            None => return Ok(()),
        }
    }
}

/// Hashes the file as it streams (attachments may be hundreds of megabytes).
async fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

async fn check_file(letter: Option<&LetterId>, subject: Subject, path: &Path, expected: &str) -> Option<Finding> {
    let found = match sha256_of(path).await {
        Ok(found) if found == expected => return None,
        Ok(found) => format!("SHA-256 {found}"),
        Err(e) => format!("no readable file at {} ({e})", path.display()),
    };
    Some(Finding::new(letter, subject, format!("SHA-256 {expected}"), found))
}

/// An attachment the database keeps, against its recorded SHA-256.
fn check_kept(letter: &LetterId, subject: Subject, content: Option<Vec<u8>>, expected: &str) -> Option<Finding> {
    let found = match content.map(|bytes| crate::letters::files::sha256_hex(&bytes)) {
        Some(found) if found == expected => return None,
        Some(found) => format!("SHA-256 {found}"),
        None => "no content in the database".to_owned(),
    };
    Some(Finding::new(Some(letter), subject, format!("SHA-256 {expected}"), found))
}

/// Each time-stamp token beside the anchor file must be a granted answer for its line's digest.
async fn check_timestamps(ledger: &Ledger, anchor_file: &Path, report: &mut Report) {
    for (number, line) in &ledger.lines {
        let Some(name) = &line.timestamp_token else { continue };
        let subject = Subject::TimestampToken { line: *number };
        let expected = format!("a time-stamp of digest {}", line.digest);
        let found = match tokio::fs::read(ledger::token_path(anchor_file, name)).await {
            Err(e) => format!("no readable token {name} ({e})"),
            Ok(bytes) => match tsa::read_response(&bytes) {
                Ok(stamp) if hex::encode(&stamp.imprint) == line.digest => {
                    report.timestamps += 1;
                    continue;
                }
                Ok(stamp) => format!("a time-stamp of digest {}", hex::encode(stamp.imprint)),
                Err(e) => e.to_string(),
            },
        };
        report.findings.push(Finding::new(None, subject, expected, found));
    }
}
