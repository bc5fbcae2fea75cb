//! Dispatch benchmark: letters handed to a provider per second by the workers, against the sandbox answering
//! each call after a configured latency, beside the concurrency bound (`concurrency / latency`: what the
//! workers could do if the provider's round trip were all a send cost). Durability on (SQLite with
//! synchronous=FULL, or PostgreSQL).
//!
//! The letters are taken in through the API and prepared (rendered, checked) first, with no worker running;
//! then `concurrency` workers start and the clock runs until every letter has been handed over. The ratio
//! to the bound is the last line. Before it, the worker pipeline's cost: the CPU time the process spent
//! preparing the letters (their PDF/A typeset, checked, their acceptance notices written) and handing them
//! over, as letters per second of one core.
//!
//! Usage: bench_dispatch [letters, default 400] [concurrency, default 16] [latency, default 200ms]
//! [database URL, default a temporary SQLite file] (run from the repository root)

// The allocator relais ships with, so that the figures are those of the binary.
#[path = "../src/allocator.rs"]
mod allocator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use relais::config::{ProviderSettings, Settings};
use relais::domain::{LetterState, SenderId};
use relais::services::Services;
use relais::store::now_ms;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(400), |a| a.parse())?;
    let concurrency: usize = args.next().map_or(Ok(16), |a| a.parse())?;
    let latency = args.next().map_or(Ok(Duration::from_millis(200)), |a| humantime::parse_duration(&a))?;
    let dir = std::env::temp_dir().join(format!("relais-bench-dispatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = args.next().unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    let outcome = run(&dir, &database, count, concurrency, latency).await;
    std::fs::remove_dir_all(&dir)?;
    outcome
}

fn settings_in(
    dir: &std::path::Path,
    database: &str,
    concurrency: usize,
    latency: Duration,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(None)?;
    settings.server.listen = "127.0.0.1:0".parse()?;
    settings.server.public_url = "http://127.0.0.1:0".parse()?;
    settings.database.url = database.to_owned();
    settings.storage.attachments_dir = dir.join("attachments");
    settings.storage.proofs_dir = dir.join("proofs");
    settings.mail.outbox_dir = dir.join("outbox");
    settings.audit.anchor_file = dir.join("anchors.jsonl");
    settings.audit.anchor_every = Duration::ZERO;
    settings.worker.enabled = false;
    settings.worker.concurrency = concurrency;
    // Each worker may hold a connection (on PostgreSQL, reads and writes share one pool).
    settings.database.max_connections = settings.database.max_connections.max(concurrency as u32 + 4);
    let Some(ProviderSettings::Sandbox(sandbox)) = settings.providers.get_mut("sandbox") else {
        anyhow::bail!("the default configuration has no sandbox account");
    };
    sandbox.latency = latency;
    // The letters stay with the provider for the whole run: no webhook or status sync competes with sends.
    sandbox.deposit_after = Duration::from_secs(3600);
    Ok(settings)
}

async fn run(
    dir: &std::path::Path,
    database: &str,
    count: usize,
    concurrency: usize,
    latency: Duration,
) -> anyhow::Result<()> {
    let app = relais::startup::Application::build(settings_in(dir, database, concurrency, latency)?).await?;
    let services = app.services();
    let address = format!("http://{}/v1/letters", app.local_addr());
    let stop = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let sender: SenderId = "default".parse().map_err(anyhow::Error::msg)?;
    let key = relais::accounts::create_api_key(&services.store, &sender, None, Default::default()).await?;

    submit(&address, &key.secret, count).await?;
    let before_prepare = cpu_seconds();
    prepare(&services).await?;
    let prepare_cpu = cpu_seconds() - before_prepare;
    let queued = services.store.count_in_state(LetterState::Queued).await?;
    anyhow::ensure!(queued == count as i64, "{queued} of {count} letters are queued after preparation");

    let started = Instant::now();
    let before_dispatch = cpu_seconds();
    let shutdown = CancellationToken::new();
    let workers = relais::worker::spawn_workers(services.clone(), shutdown.clone());
    while services.store.pending_jobs(None).await? > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let dispatch_cpu = cpu_seconds() - before_dispatch;
    shutdown.cancel();
    workers.join_all().await;
    let handed = services.store.count_in_state(LetterState::Submitting).await?;
    anyhow::ensure!(handed == count as i64, "{handed} of {count} letters were handed to the provider");
    stop.cancel();
    server.await??;

    let rate = count as f64 / elapsed;
    let bound = concurrency as f64 / latency.as_secs_f64();
    let backend = if database.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" };
    println!("{count} letters on {backend}, {concurrency} workers, provider latency {latency:?}: {elapsed:.2} s");
    let per_letter = (prepare_cpu + dispatch_cpu) / count as f64;
    println!(
        "pipeline: {:.2} ms of CPU per letter prepared ({:.2} ms) and handed over ({:.2} ms) = {:.0} letters/s \
         per core (goal: >= 150)",
        1e3 * per_letter,
        1e3 * prepare_cpu / count as f64,
        1e3 * dispatch_cpu / count as f64,
        1.0 / per_letter
    );
    println!(
        "dispatch: {rate:.1} letters/s = {:.1} % of the concurrency bound {bound:.0}/s (goal: >= 90 %)",
        100.0 * rate / bound
    );
    Ok(())
}

/// Takes `count` letters in through the API, 16 requests at a time.
async fn submit(address: &str, key: &str, count: usize) -> anyhow::Result<()> {
    let body = std::fs::read("examples/letter.json")?;
    let http = reqwest::Client::new();
    let answers: Vec<reqwest::Result<reqwest::Response>> = futures_util::stream::iter(0..count)
        .map(|_| {
            http.post(address).bearer_auth(key).header("content-type", "application/json").body(body.clone()).send()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for answer in answers {
        let status = answer?.status();
        anyhow::ensure!(status.as_u16() == 202, "intake answered {status}");
    }
    Ok(())
}

/// Runs every job due before the sends exist (preparations, notices of acceptance), two at a time: the send
/// jobs they queue are due later and wait for the workers.
async fn prepare(services: &Arc<Services>) -> anyhow::Result<()> {
    let before = now_ms();
    tokio::time::sleep(Duration::from_millis(5)).await;
    loop {
        let lease = now_ms() + 600_000;
        let jobs = services.store.claim_jobs("bench-prepare", before, lease, 64).await?;
        if jobs.is_empty() {
            return Ok(());
        }
        futures_util::stream::iter(jobs)
            .for_each_concurrent(2, |job| relais::worker::run_claimed(services, "bench-prepare", job))
            .await;
    }
}

/// User and system CPU time this process has used, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
