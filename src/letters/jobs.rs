//! The jobs that carry a letter along, by kind, and the dispatcher the worker calls.

use super::{JobError, pipeline, sync};
use crate::domain::LetterId;
use crate::services::Services;
use crate::store::ClaimedJob;

/// Render the letter and run the checks (consent) that decide whether it may leave.
pub const PREPARE: &str = "prepare";
/// Hand the letter to its provider.
pub const SEND: &str = "send";
/// Find out what happened to a send whose outcome is unknown.
pub const RECONCILE: &str = "reconcile";
/// Fetch the provider's record of the letter and apply it (after a webhook, or periodically).
pub const SYNC: &str = "sync";
/// Email the requester about a state change.
pub const NOTIFY: &str = "notify";

/// Runs one claimed job. Every handler is idempotent: it re-reads the letter and does nothing when the
/// letter has already moved on, so a job run twice (after a lost lease) changes nothing twice.
pub async fn run_job(services: &Services, job: &ClaimedJob) -> Result<(), JobError> {
    let letter: LetterId = job
        .letter_id
        .as_deref()
        .ok_or_else(|| JobError::Permanent(format!("job {} has no letter", job.id)))?
        .parse()
        .map_err(JobError::Permanent)?;
    match job.kind.as_str() {
        PREPARE => pipeline::prepare(services, &letter).await,
        SEND => pipeline::send(services, &letter).await,
        RECONCILE => pipeline::reconcile(services, &letter).await,
        SYNC => sync::sync_letter(services, &letter).await,
        NOTIFY => pipeline::notify(services, &letter, &job.payload).await,
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    }
}
