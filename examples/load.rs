//! An open-loop load generator: sends POST requests at a fixed rate (not "as fast as answers come back"),
//! so latency percentiles at a given rate are honest. Used by `scripts/bench-intake` for p99 at 500 req/s.
//!
//! Usage: load URL RATE_PER_SECOND SECONDS BEARER_KEY JSON_BODY_FILE

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() == 6, "usage: load URL RATE SECONDS KEY BODY_FILE");
    let (url, rate, seconds): (String, u64, u64) = (args[1].clone(), args[2].parse()?, args[3].parse()?);
    let key = args[4].clone();
    let body = std::fs::read(&args[5])?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        ticks.tick().await;
        let request = client.post(&url).bearer_auth(&key).header("content-type", "application/json").body(body.clone());
        tasks.spawn(async move {
            let start = Instant::now();
            let ok = request.send().await.map(|r| r.status().is_success()).unwrap_or(false);
            (start.elapsed(), ok)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        let (latency, ok) = done?;
        if ok { latencies.push(latency) } else { errors += 1 }
    }
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1000.0)).unwrap_or_default();
    println!(
        "{} requests at {rate}/s: {errors} errors; p50 {}, p90 {}, p99 {}, max {}",
        latencies.len() + errors,
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(latencies.last())
    );
    Ok(())
}
