//! Workers: claim due jobs with a lease, run them, retry transient failures on one schedule, give up on
//! permanent ones; a periodic sweep that looks up letters with no news from their provider; and the
//! anchoring of the event chains on its own period.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::ProviderSettings;
use crate::domain::LetterState;
use crate::letters::transitions::transition;
use crate::letters::{JobError, jobs};
use crate::services::Services;
use crate::store::{self, ClaimedJob, NewJob, now_ms};

/// When a failed job runs again, by attempt number (1-based), from `worker.retry_delays`; the last delay
/// repeats.
pub fn retry_delay(delays: &[Duration], attempt: i64) -> Duration {
    let index = (attempt.max(1) as usize - 1).min(delays.len().saturating_sub(1));
    delays.get(index).copied().unwrap_or(Duration::from_secs(60))
}

/// Starts `worker.concurrency` workers and the sync sweep; they stop claiming when `shutdown` fires and
/// finish the job in hand.
pub fn spawn_workers(services: Arc<Services>, shutdown: CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let instance = ulid::Ulid::new().to_string().to_ascii_lowercase();
    for n in 0..services.settings.worker.concurrency {
        let owner = format!("{}-{instance}-{n}", std::process::id());
        set.spawn(work(services.clone(), owner, shutdown.clone()));
    }
    if !services.settings.audit.anchor_every.is_zero() {
        set.spawn(crate::audit::anchor_on_schedule(services.clone(), shutdown.clone()));
    }
    set.spawn(sweep(services, shutdown));
    set
}

async fn work(services: Arc<Services>, owner: String, shutdown: CancellationToken) {
    let settings = &services.settings.worker;
    while !shutdown.is_cancelled() {
        match claim_one(&services, &owner).await {
            Some(job) => run_claimed(&services, &owner, job).await,
            None => {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = services.store.jobs_ready() => {}
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                }
            }
        }
    }
}

async fn claim_one(services: &Services, owner: &str) -> Option<ClaimedJob> {
    let now = now_ms();
    let lease_until = now + services.settings.worker.lease.as_millis() as i64;
    match services.store.claim_jobs(owner, now, lease_until, 1).await {
        Ok(mut jobs) => jobs.pop(),
        Err(e) => {
            tracing::warn!(error = %e, "could not claim jobs");
            tokio::time::sleep(Duration::from_secs(1)).await;
            None
        }
    }
}

/// Runs a job and records the result: done (deleted), retried later, or given up.
pub async fn run_claimed(services: &Services, owner: &str, job: ClaimedJob) {
    let span = tracing::info_span!("job", kind = %job.kind, letter = job.letter_id.as_deref().unwrap_or(""), attempt = job.attempts);
    record_outcome(services, owner, &job).instrument(span).await
}

async fn record_outcome(services: &Services, owner: &str, job: &ClaimedJob) {
    let outcome = jobs::run_job(services, job).await;
    let store = &services.store;
    let recorded = match outcome {
        Ok(()) => complete(services, job, owner).await,
        Err(JobError::Transient(reason)) if job.attempts < services.settings.worker.max_attempts as i64 => {
            let delay = retry_delay(&services.settings.worker.retry_delays, job.attempts);
            tracing::warn!(%reason, retry_in = ?delay, "job failed; will retry");
            store.retry_job(&job.id, owner, now_ms() + delay.as_millis() as i64, &reason).await
        }
        Err(JobError::Transient(reason) | JobError::Permanent(reason)) => {
            tracing::error!(%reason, "job given up");
            let failed = store.fail_job(&job.id, owner, now_ms(), &reason).await;
            if failed.is_ok()
                && let Err(e) = jobs::gave_up(services, job, &reason).await
            {
                // The sweep finds the letter without a job and repairs it.
                tracing::error!(error = %e, "could not record what the given-up job means for its letter");
            }
            failed
        }
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record the job's result; its lease will expire and it will run again");
    }
}

async fn complete(services: &Services, job: &ClaimedJob, owner: &str) -> store::StoreResult<()> {
    if !services.store.complete_finished_job(&job.id, owner).await? {
        tracing::warn!("job finished after its lease was taken over");
    }
    Ok(())
}

/// Every `sync_every`, queues a status fetch for letters whose provider has been silent that long:
/// webhooks get lost, and the provider's record is the truth.
async fn sweep(services: Arc<Services>, shutdown: CancellationToken) {
    let intervals = sync_intervals(&services);
    let tick = intervals.iter().map(|(_, every)| *every).min().unwrap_or(services.settings.worker.sync_every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        for (provider, every) in &intervals {
            if let Err(e) = queue_syncs(&services, provider, *every).await {
                tracing::warn!(%provider, error = %e, "could not queue provider syncs");
            }
        }
        sweep_once(&services).await;
    }
}

/// The checks of each sweep that are not provider syncs: letters overdue at their provider, letters left
/// without a job, files no letter will use, and the emails of requests that expired.
pub async fn sweep_once(services: &Services) {
    if let Err(e) = flag_overdue(services).await {
        tracing::warn!(error = %e, "could not flag overdue letters");
    }
    if let Err(e) = jobs::repair_stranded(services).await {
        tracing::warn!(error = %e, "could not check that every letter has a job");
    }
    match crate::letters::files::remove_abandoned(&services.files, &services.store, now_ms()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(folders = n, "removed files no letter will use"),
        Err(e) => tracing::warn!(error = %e, "could not remove abandoned files"),
    }
    match crate::intake::email::drafts::sweep_expired(services).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(requests = n, "removed the emails of expired requests"),
        Err(e) => tracing::warn!(error = %e, "could not remove the emails of expired requests"),
    }
}

/// Each provider account's sync interval: its own `sync_every` when it has one, else `worker.sync_every`.
fn sync_intervals(services: &Services) -> Vec<(String, Duration)> {
    services
        .settings
        .providers
        .iter()
        .map(|(name, provider)| {
            let own = match provider {
                ProviderSettings::Ar24(ar24) => Some(ar24.sync_every),
                ProviderSettings::Maileva(maileva) => Some(maileva.sync_every),
                ProviderSettings::Sandbox(_) => None,
            };
            (name.clone(), own.unwrap_or(services.settings.worker.sync_every))
        })
        .collect()
}

async fn queue_syncs(services: &Services, provider: &str, every: Duration) -> store::StoreResult<()> {
    let now = now_ms();
    let silent = services.store.letters_to_sync(provider, now - every.as_millis() as i64, 500).await?;
    if silent.is_empty() {
        return Ok(());
    }
    let mut tx = services.store.begin().await?;
    for letter in &silent {
        store::letters::mark_synced(&mut tx, letter, now).await?;
        let job = NewJob { kind: jobs::SYNC, letter_id: Some(letter), payload: json!({}), run_at: now };
        store::jobs::enqueue(&mut tx, job, now).await?;
    }
    tx.commit().await?;
    services.store.wake_workers();
    tracing::info!(count = silent.len(), "queued provider syncs for silent letters");
    Ok(())
}

/// The recipient has 15 days from the notice to accept or refuse; the provider must report the outcome the
/// day after at the latest (CPCE R.53-3). A letter with no outcome 16 days after deposit needs a person.
const OUTCOME_DEADLINE: Duration = Duration::from_secs(16 * 24 * 3600);

async fn flag_overdue(services: &Services) -> Result<(), crate::letters::transitions::TransitionError> {
    let before = now_ms() - OUTCOME_DEADLINE.as_millis() as i64;
    let overdue = services.store.overdue_letters(before, 500).await?;
    for letter in &overdue {
        let mut tx = services.store.begin().await?;
        let detail = "no outcome from the provider 16 days after deposit: check the letter at the provider";
        transition(&mut tx, letter, LetterState::Deposited, LetterState::NeedsAttention, Some(detail), None).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
    }
    if !overdue.is_empty() {
        tracing::warn!(count = overdue.len(), "letters without an outcome 16 days after deposit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stay_at_the_last_delay() {
        let delays = crate::config::Settings::load(None).unwrap().worker.retry_delays;
        assert_eq!(retry_delay(&delays, 1), Duration::from_secs(2));
        assert!(retry_delay(&delays, 2) > retry_delay(&delays, 1));
        assert_eq!(retry_delay(&delays, 50), Duration::from_secs(3600));
    }
}
