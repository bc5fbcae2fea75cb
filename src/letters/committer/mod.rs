//! Group commit of submissions: requests arriving together share one transaction and one fsync; small
//! attachments ride in it, and the files of large ones are synced together just before it, so a `202` stays
//! durable while throughput is not bound by one fsync per letter or per file. A batch first runs without
//! savepoints, its idempotency keys taken as new; only when one submission fails in the database (a key seen
//! before among them) is the batch run again with each submission in its own savepoint, so that it fails alone.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::jobs::{ANSWER, NOTIFY, PREPARE};
use super::submit::{SubmitError, Submitted};
use super::{LetterRequest, files};
use crate::domain::{ApiKeyId, JobId, LetterId, LetterState, NoticeId, SenderId};
use crate::notify::callbacks::letter_endpoint;
use crate::store::arrivals::{ArrivalJob, ArrivalKey, ArrivalNotice, Arrivals, WriterTurn};
use crate::store::{self, IdempotencyRecord, NewAttachment, NewLetter, Store, StoreError, Tx, now_ms};

/// Most submissions committed in one transaction.
const MAX_BATCH: usize = 128;

/// A letter ready to be written: validated, its files in place.
pub struct Submission {
    pub id: LetterId,
    pub request: LetterRequest,
    pub api_key: Option<ApiKeyId>,
    pub idempotency_key: Option<String>,
    pub provider: String,
    pub attachments: Vec<NewAttachment>,
}

impl Submission {
    /// The letter as `add_rows` writes it, at `at`: what reading it back right after the commit would give, so
    /// the answer needs no second read.
    fn into_record(self, at: i64) -> store::LetterRecord {
        let Submission { id, request, api_key, provider, .. } = self;
        store::LetterRecord {
            id,
            sender_id: request.sender,
            api_key_id: api_key.map(|key| key.as_str().to_owned()),
            state: LetterState::Received,
            state_detail: None,
            template: request.template.name.clone(),
            template_hash: request.template.hash.clone(),
            variables: request.variables,
            recipient: request.recipient,
            reference: request.reference,
            notify_email: request.notify_email,
            provider,
            provider_ref: None,
            provider_status: None,
            content_sha256: None,
            cost_cents: None,
            request_sha256: request.request_sha256,
            send_attempts: 0,
            created_at: at,
            updated_at: at,
            deposited_at: None,
            synced_at: None,
            send_started_at: None,
            send_closed_at: None,
        }
    }
}

struct Pending {
    submission: Submission,
    /// The submission goes back with its answer: the request's own task makes the answer's letter from it, by
    /// moving its fields, and drops the rest, not the committer between two batches.
    reply: oneshot::Sender<(Submission, Result<Written, SubmitError>)>,
}

/// What became of a submission in its batch.
#[derive(Debug)]
enum Written {
    /// Its letter was written, at this time (its `created_at`).
    New { at: i64 },
    /// Its idempotency key was seen with the same request: the letter made then.
    Replayed(LetterId),
}

/// A submission's answer when its key was seen before: the earlier letter, or a conflict.
fn replayed(earlier: IdempotencyRecord, request_sha256: &str) -> Result<Written, SubmitError> {
    super::submit::replay(earlier, request_sha256).map(|outcome| Written::Replayed(outcome.id()))
}

/// The handle requests commit through; the batching task runs while a handle exists.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl Committer {
    /// `attachments_dir` is where the submissions' files were placed: its file system is synced before a
    /// batch holding files is committed.
    pub fn start(store: Store, attachments_dir: PathBuf) -> Self {
        let (queue, receiver) = mpsc::channel(1024);
        tokio::spawn(run(store, attachments_dir, receiver));
        Self { queue }
    }

    /// Commits one submission; resolves once its transaction is durable (or failed).
    pub async fn commit(&self, submission: Submission) -> Result<Submitted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || SubmitError::Store(StoreError::Unavailable("relais is shutting down".into()));
        self.queue.send(Pending { submission, reply }).await.map_err(|_| stopped())?;
        let (submission, written) = answer.await.map_err(|_| stopped())?;
        Ok(match written? {
            Written::New { at } => Submitted::Created(Box::new(submission.into_record(at))),
            Written::Replayed(id) => Submitted::Replayed(id),
        })
    }
}

/// Takes what is waiting, up to `MAX_BATCH`, and commits it; keeps the writer connection for the next batch
/// while submissions are waiting (`WriterTurn`).
async fn run(store: Store, attachments_dir: PathBuf, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut turn = WriterTurn::default();
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&store, &mut turn, &attachments_dir, std::mem::take(&mut batch)).await;
        turn.end_unless(!receiver.is_empty());
        store.wake_workers();
    }
}

/// How a batch runs its submissions.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// All in the transaction directly: the common case, where every submission succeeds.
    Together,
    /// Each in its own savepoint, after a failure in `Together`: the failing one rolls back alone.
    Savepoints,
}

/// One transaction for the batch, after one sync of the files it references.
async fn commit_batch(store: &Store, turn: &mut WriterTurn, attachments_dir: &std::path::Path, batch: Vec<Pending>) {
    let files = batch.iter().flat_map(|p| &p.submission.attachments).filter_map(|a| a.record.path.as_ref());
    let files = files.map(PathBuf::from);
    let mut files: Vec<PathBuf> = files.collect();
    if !files.is_empty() {
        let incoming = files::incoming_root(attachments_dir);
        if tokio::fs::try_exists(&incoming).await.unwrap_or(false) {
            // Where a letter's folder may have been renamed from: its entry's removal is made durable too.
            files.push(incoming);
        }
        if let Err(e) = files::sync_all(attachments_dir, files).await {
            let error = StoreError::Unavailable(format!("attachments could not be synced to disk: {e}"));
            return fail_all(batch, &error);
        }
    }
    let results = match run_batch(store, turn, &batch, Isolation::Together).await {
        Ok(Some(results)) => Ok(results),
        Ok(None) => run_batch(store, turn, &batch, Isolation::Savepoints).await.map(Option::unwrap_or_default),
        Err(e) => Err(e),
    };
    match results {
        Ok(results) => {
            for (Pending { submission, reply }, result) in batch.into_iter().zip(results) {
                let _ = reply.send((submission, result));
            }
        }
        Err(e) => fail_all(batch, &e),
    }
}

/// Runs and commits the batch. `Ok(None)`: a submission failed under `Together` (nothing was written), so the batch
/// can run again in savepoints.
async fn run_batch(
    store: &Store,
    turn: &mut WriterTurn,
    batch: &[Pending],
    isolation: Isolation,
) -> Result<Option<Answers>, StoreError> {
    let submissions: Vec<&Submission> = batch.iter().map(|p| &p.submission).collect();
    match isolation {
        Isolation::Together => {
            let (arrivals, results) = arrivals_of(&submissions, HashMap::new());
            match arrivals.commit(store, turn).await {
                Ok(()) => Ok(Some(results)),
                // Busy, or the connection lost: running again would fail the same way.
                Err(e) if e.is_transient() => Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "a batch failed as a whole: committing its submissions one by one");
                    Ok(None)
                }
            }
        }
        Isolation::Savepoints => {
            turn.end();
            let mut tx = store.begin().await?;
            let mut results = Vec::with_capacity(batch.len());
            for submission in submissions {
                results.push(in_savepoint(&mut tx, submission).await);
            }
            tx.commit().await?;
            Ok(Some(results))
        }
    }
}

type Answers = Vec<Result<Written, SubmitError>>;

/// The rows of the submissions' new letters, and each submission's answer. Under `Together` the idempotency keys
/// are taken to be new, as nearly all are, and not looked up first (`seen` is empty): a key seen before makes its
/// row's insert fail, and with it the batch, which then runs again in savepoints, where each submission looks its
/// key up. A key used twice among the submissions makes one letter: the later submission is answered as a retry
/// of the earlier, or as a conflict.
fn arrivals_of<'a>(
    submissions: &[&'a Submission],
    mut seen: HashMap<(SenderId, String), IdempotencyRecord>,
) -> (Arrivals<'a>, Answers) {
    let now = now_ms();
    let mut arrivals = Arrivals::default();
    let mut results = Vec::with_capacity(submissions.len());
    for &submission in submissions {
        let Submission { id, request, idempotency_key, .. } = submission;
        if let Some(key) = idempotency_key {
            let claim = (request.sender.clone(), key.clone());
            if let Some(earlier) = seen.get(&claim) {
                results.push(replayed(earlier.clone(), &request.request_sha256));
                continue;
            }
            let record = IdempotencyRecord { request_sha256: request.request_sha256.clone(), letter_id: id.clone() };
            seen.insert(claim, record);
            let (sender_id, request_sha256) = (&request.sender, request.request_sha256.as_str());
            arrivals.keys.push(ArrivalKey { sender_id, key, request_sha256, letter_id: id, at: now });
        }
        add_rows(&mut arrivals, submission, now);
        results.push(Ok(Written::New { at: now }));
    }
    (arrivals, results)
}

/// Answers every submission of a batch whose transaction failed with that failure, transient or not.
fn fail_all(batch: Vec<Pending>, error: &StoreError) {
    tracing::error!(%error, transient = error.is_transient(), count = batch.len(), "a batch of submissions could not be committed");
    for Pending { submission, reply } in batch {
        let _ = reply.send((submission, Err(SubmitError::Store(error.shared()))));
    }
}

async fn in_savepoint(tx: &mut Tx, submission: &Submission) -> Result<Written, SubmitError> {
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

/// One submission written alone, in its savepoint: its idempotency key (looked up: the key is checked inside the
/// transaction, so two identical requests racing create one letter), the letter, its attachments, its first event,
/// its acceptance notice and its first jobs.
async fn insert_submission(conn: &mut sqlx::AnyConnection, submission: &Submission) -> Result<Written, SubmitError> {
    let seen = match &submission.idempotency_key {
        Some(key) => store::idempotency::find_idempotencies(conn, &[(&submission.request.sender, key)]).await?,
        None => HashMap::new(),
    };
    let (arrivals, mut answers) = arrivals_of(&[submission], seen);
    arrivals.insert(conn).await?;
    answers.pop().expect("one answer per submission")
}

/// The rows of one new letter: the letter, its attachments, the `accepted` notice with the job that sends
/// it, and the job that prepares the letter. (Its first event is written with the letter.)
fn add_rows<'a>(arrivals: &mut Arrivals<'a>, submission: &'a Submission, now: i64) {
    let Submission { id, request, api_key, provider, attachments, .. } = submission;
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
        submitted_by: request.submitted_by.as_deref(),
        now,
    };
    arrivals.letters.push(letter);
    arrivals.attachments.extend(attachments);
    let notice = NoticeId::generate();
    let told = json!({ "state": LetterState::Received.as_str(), "seq": 1, "at": now, "detail": null, "proof": null });
    let notify = json!({ "notice": notice.as_str() }).to_string();
    arrivals.notices.push(ArrivalNotice {
        id: notice,
        letter_id: id,
        kind: "accepted",
        payload: told.to_string(),
        at: now,
    });
    arrivals.jobs.push(ArrivalJob { id: JobId::generate(), kind: NOTIFY, letter_id: id, payload: notify, at: now });
    arrivals.jobs.push(ArrivalJob {
        id: JobId::generate(),
        kind: PREPARE,
        letter_id: id,
        payload: "{}".into(),
        at: now,
    });
    if let Some(callback) = &request.callback {
        let endpoint = letter_endpoint(&request.sender, id, &callback.url, callback.secret.expose(), now);
        arrivals.callback_endpoints.push(endpoint);
    }
    if let Some(email) = &request.from_email {
        if let Some(inbound) = &email.inbound {
            arrivals.inbound.push(store::InboundRecord { letter_id: Some(id.to_string()), ..inbound.clone() });
        }
        let payload = email.answer.to_string();
        arrivals.jobs.push(ArrivalJob { id: JobId::generate(), kind: ANSWER, letter_id: id, payload, at: now });
    }
}

#[cfg(test)]
mod tests;
