//! Submitting a letter: ONE transaction holds the idempotency record, the letter, its attachments, its
//! first event, its first job and the acceptance notice. A `202` means all of it is on disk.

use super::committer::Submission;
use super::files::remove_dir;
use super::transitions::TransitionError;
use super::{LetterRequest, StagedAttachment};
use crate::domain::{ApiKeyId, LetterId};
use crate::services::Services;
use crate::store::{self, StoreError};

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

/// Creates the letter, or returns the one an earlier identical request created with the same key. The key is
/// looked up in the batch's transaction, with the keys of the other requests committed with it: a request
/// with a key new to relais (nearly all of them) costs no read of its own.
pub async fn submit_letter(
    services: &Services,
    request: LetterRequest,
    api_key: Option<&ApiKeyId>,
    idempotency_key: Option<&str>,
) -> Result<Submitted, SubmitError> {
    let id = LetterId::generate();
    let dir = services.files.attachments_of(&id);
    // The request moves into the committer; what a failure or a replay needs afterwards is kept aside.
    let staged = request.attachments.clone();
    let (sender, request_sha256) = (request.sender.clone(), request.request_sha256.clone());
    let result = commit_letter(services, &id, request, api_key, idempotency_key).await;
    match result {
        Ok(outcome) => {
            // A new letter's files moved out of their staging folders, which went with them.
            if !matches!(outcome, Submitted::Created(_)) {
                remove_dir(&dir).await;
                discard_staged(&staged).await;
            }
            services.store.wake_workers();
            Ok(outcome)
        }
        Err(e) => {
            // Nothing half-written: the transaction rolled back, and the files go too.
            remove_dir(&dir).await;
            discard_staged(&staged).await;
            // A concurrent request with the same key committed first (unique violation): answer as a replay.
            if let (Some(key), SubmitError::Store(_)) = (idempotency_key, &e)
                && let Some(seen) = services.store.idempotency(&sender, key).await?
            {
                return replay(seen, &request_sha256);
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
    request: LetterRequest,
    api_key: Option<&ApiKeyId>,
    idempotency_key: Option<&str>,
) -> Result<Submitted, SubmitError> {
    let sender =
        services.settings.sender(&request.sender).ok_or_else(|| SubmitError::NoProvider(request.sender.to_string()))?;
    let attachments = services.files.place_attachments(id, &request.attachments).await?;
    let submission = Submission {
        id: id.clone(),
        request,
        api_key: api_key.cloned(),
        idempotency_key: idempotency_key.map(str::to_owned),
        provider: sender.provider.clone(),
        attachments,
    };
    services.committer.commit(submission).await
}

/// Removes the staging folders of files that did not become part of a letter.
async fn discard_staged(staged: &[StagedAttachment]) {
    let mut dirs: Vec<_> = staged.iter().filter_map(|f| f.path()?.parent().map(|p| p.to_path_buf())).collect();
    dirs.dedup();
    for dir in dirs {
        remove_dir(&dir).await;
    }
}
