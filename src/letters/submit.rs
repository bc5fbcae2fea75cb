//! Submitting a letter: ONE transaction holds the idempotency record, the letter, its attachments, its
//! first event, its first job and the acceptance notice. A `202` means all of it is on disk.

use super::committer::Submission;
use super::files::remove_dir;
use super::transitions::TransitionError;
use super::{LetterRequest, StagedAttachment};
use crate::domain::{ApiKeyId, LetterId};
use crate::services::Services;
use crate::store::{self, AttachmentRecord, StoreError};

/// The result of a submission.
#[derive(Debug)]
pub enum Submitted {
    /// A new letter was created: as it was written.
    Created(Box<store::LetterRecord>),
    /// The idempotency key was seen with the same request: the letter created then.
    Replayed(LetterId),
}

impl Submitted {
    /// The letter's id, created now or before.
    pub fn id(&self) -> LetterId {
        match self {
            Submitted::Created(letter) => letter.id.clone(),
            Submitted::Replayed(id) => id.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the idempotency key was already used with a different request (letter {0})")]
    IdempotencyConflict(LetterId),
    #[error("no provider `{0}` for this sender")]
    NoProvider(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("attachments could not be stored: {0}")]
    Files(#[from] std::io::Error),
    #[error("the letter's first transition failed")]
    Transition(#[source] TransitionError),
}

impl From<TransitionError> for SubmitError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Store(s) => Self::Store(s),
            other => Self::Transition(other),
        }
    }
}

/// Creates the letter, or returns the one an earlier identical request created with the same key.
pub async fn submit_letter(
    services: &Services,
    request: LetterRequest,
    api_key: Option<&ApiKeyId>,
    idempotency_key: Option<&str>,
) -> Result<Submitted, SubmitError> {
    if let Some(key) = idempotency_key
        && let Some(seen) = services.store.idempotency(&request.sender, key).await?
    {
        discard_staged(&request.attachments).await;
        return replay(seen, &request.request_sha256);
    }
    let id = LetterId::generate();
    let dir = services.files.attachments_of(&id);
    let result = commit_letter(services, &id, &request, api_key, idempotency_key).await;
    match result {
        Ok(outcome) => {
            if !matches!(outcome, Submitted::Created(_)) {
                remove_dir(&dir).await;
            }
            discard_staged(&request.attachments).await;
            services.store.wake_workers();
            Ok(outcome)
        }
        Err(e) => {
            // Nothing half-written: the transaction rolled back, and the files go too.
            remove_dir(&dir).await;
            discard_staged(&request.attachments).await;
            // A concurrent request with the same key committed first (unique violation): answer as a replay.
            if let (Some(key), SubmitError::Store(_)) = (idempotency_key, &e)
                && let Some(seen) = services.store.idempotency(&request.sender, key).await?
            {
                return replay(seen, &request.request_sha256);
            }
            Err(e)
        }
    }
}

pub(super) fn replay(seen: store::IdempotencyRecord, request_sha256: &str) -> Result<Submitted, SubmitError> {
    if seen.request_sha256 == request_sha256 {
        Ok(Submitted::Replayed(seen.letter_id))
    } else {
        Err(SubmitError::IdempotencyConflict(seen.letter_id))
    }
}

async fn commit_letter(
    services: &Services,
    id: &LetterId,
    request: &LetterRequest,
    api_key: Option<&ApiKeyId>,
    idempotency_key: Option<&str>,
) -> Result<Submitted, SubmitError> {
    let sender =
        services.settings.sender(&request.sender).ok_or_else(|| SubmitError::NoProvider(request.sender.to_string()))?;
    let attachments = place_attachments(services, id, &request.attachments).await?;
    let submission = Submission {
        id: id.clone(),
        request: request.clone(),
        api_key: api_key.cloned(),
        idempotency_key: idempotency_key.map(str::to_owned),
        provider: sender.provider.clone(),
        attachments,
    };
    services.committer.commit(submission).await
}

/// Moves the staged files into the letter's folder (same file system: a rename, no copy).
async fn place_attachments(
    services: &Services,
    id: &LetterId,
    staged: &[StagedAttachment],
) -> Result<Vec<AttachmentRecord>, SubmitError> {
    if staged.is_empty() {
        return Ok(vec![]); // no folder for a letter without files
    }
    let dir = services.files.attachments_of(id);
    tokio::fs::create_dir_all(&dir).await?;
    let mut records = Vec::with_capacity(staged.len());
    for (i, file) in staged.iter().enumerate() {
        let path = dir.join(format!("{i}.bin"));
        tokio::fs::rename(&file.path, &path).await?;
        records.push(AttachmentRecord {
            letter_id: id.clone(),
            position: i as i64,
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            size: file.size as i64,
            sha256: file.sha256.clone(),
            path: path.to_string_lossy().into_owned(),
        });
    }
    Ok(records)
}

/// Removes the staging folders of files that did not become part of a letter.
async fn discard_staged(staged: &[StagedAttachment]) {
    let mut dirs: Vec<_> = staged.iter().filter_map(|f| f.path.parent().map(|p| p.to_path_buf())).collect();
    dirs.dedup();
    for dir in dirs {
        remove_dir(&dir).await;
    }
}
