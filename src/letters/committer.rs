//! Group commit of submissions: requests arriving together share one transaction and one fsync, each in
//! its own savepoint, so a `202` stays durable while throughput is not bound by one fsync per letter.

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::LetterRequest;
use super::jobs::PREPARE;
use super::submit::{SubmitError, Submitted};
use super::transitions::queue_notice;
use crate::domain::{ApiKeyId, LetterId, LetterState};
use crate::notify::callbacks::letter_endpoint;
use crate::store::{self, AttachmentRecord, NewJob, NewLetter, Store, StoreError, Tx, now_ms};

/// Most submissions committed in one transaction.
const MAX_BATCH: usize = 128;

/// A letter ready to be written: validated, its files in place.
pub struct Submission {
    pub id: LetterId,
    pub request: LetterRequest,
    pub api_key: Option<ApiKeyId>,
    pub idempotency_key: Option<String>,
    pub provider: String,
    pub attachments: Vec<AttachmentRecord>,
}

struct Pending {
    submission: Submission,
    reply: oneshot::Sender<Result<Submitted, SubmitError>>,
}

/// The handle requests commit through; the batching task runs while a handle exists.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl Committer {
    pub fn start(store: Store) -> Self {
        let (queue, receiver) = mpsc::channel(1024);
        tokio::spawn(run(store, receiver));
        Self { queue }
    }

    /// Commits one submission; resolves once its transaction is durable (or failed).
    pub async fn commit(&self, submission: Submission) -> Result<Submitted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || SubmitError::Store(StoreError::Unavailable("relais is shutting down".into()));
        self.queue.send(Pending { submission, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&store, std::mem::take(&mut batch)).await;
        store.wake_workers();
    }
}

/// One transaction for the batch; a submission that fails rolls back to its savepoint alone.
async fn commit_batch(store: &Store, batch: Vec<Pending>) {
    let mut tx = match store.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for pending in &batch {
        results.push(in_savepoint(&mut tx, &pending.submission).await);
    }
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &StoreError::from(e));
    }
    for (pending, result) in batch.into_iter().zip(results) {
        let _ = pending.reply.send(result);
    }
}

/// Answers every submission of a batch whose transaction failed with that failure, transient or not.
fn fail_all(batch: Vec<Pending>, error: &StoreError) {
    tracing::error!(%error, transient = error.is_transient(), count = batch.len(), "a batch of submissions could not be committed");
    for pending in batch {
        let _ = pending.reply.send(Err(SubmitError::Store(error.shared())));
    }
}

async fn in_savepoint(tx: &mut Tx, submission: &Submission) -> Result<Submitted, SubmitError> {
    let mut savepoint = sqlx::Connection::begin(&mut **tx).await.map_err(StoreError::from)?;
    match insert_submission(&mut savepoint, submission).await {
        Ok(outcome) => {
            savepoint.commit().await.map_err(StoreError::from)?;
            Ok(outcome)
        }
        Err(e) => {
            savepoint.rollback().await.map_err(StoreError::from)?;
            Err(e)
        }
    }
}

/// The idempotency record, the letter, its attachments, its first event and its first jobs.
async fn insert_submission(conn: &mut sqlx::AnyConnection, submission: &Submission) -> Result<Submitted, SubmitError> {
    let Submission { id, request, api_key, idempotency_key, provider, attachments } = submission;
    let now = now_ms();
    if let Some(key) = idempotency_key {
        // Checked again inside the transaction: two identical requests racing create one letter.
        if let Some(seen) = store::letters::find_idempotency(conn, &request.sender, key).await? {
            return super::submit::replay(seen, &request.request_sha256);
        }
        store::letters::insert_idempotency(conn, &request.sender, key, &request.request_sha256, id, now).await?;
    }
    let letter = NewLetter {
        id,
        sender_id: &request.sender,
        api_key_id: api_key.as_ref().map(ApiKeyId::as_str),
        template: &request.template.name,
        template_hash: &request.template.hash,
        variables: &request.variables,
        recipient: &request.recipient,
        reference: request.reference.as_deref(),
        notify_email: request.notify_email.as_ref(),
        provider,
        request_sha256: &request.request_sha256,
        now,
    };
    store::letters::insert_letter(conn, &letter).await?;
    for attachment in attachments {
        store::letters::insert_attachment(conn, attachment).await?;
    }
    if let Some(callback) = &request.callback {
        let endpoint = letter_endpoint(&request.sender, id, &callback.url, callback.secret.expose(), now);
        store::callbacks::insert_endpoint(conn, &endpoint).await?;
    }
    let seq = store::events::append_event(conn, id, LetterState::Received, Some("request accepted"), now).await?;
    let notice =
        json!({ "state": LetterState::Received.as_str(), "seq": seq, "at": now, "detail": null, "proof": null });
    queue_notice(conn, id, "accepted", &notice, now).await?;
    store::jobs::enqueue(conn, NewJob { kind: PREPARE, letter_id: Some(id), payload: json!({}), run_at: now }, now)
        .await?;
    Ok(Submitted::Created(id.clone()))
}
