//! Email intake benchmark: emails per second through the whole intake pipeline (parse, authenticate,
//! validate, store with its fsync, the answer owed as a job committed with the letter: the workers, not
//! started here, send it once the letter is typeset), on a temporary SQLite database, in five rounds taking
//! turns with a bare parse of the same messages; then one email with a 25 MB attachment, whose peak memory
//! `scripts/bench-email` reads with /usr/bin/time.
//!
//! Usage: bench_email COUNT | bench_email --big [MESSAGE FILE]   (run from the repository root)

// The allocator relais ships with, so that the figures are those of the binary.
#[path = "../src/allocator.rs"]
mod allocator;

use std::time::Instant;

use futures_util::StreamExt;

use base64::Engine;
use relais::config::Settings;
use relais::intake::email::authenticate::Arrival;
use relais::intake::email::sink::{Delivery, DeliveryResult, MessageSink};

fn email(n: usize, attachment: &[u8]) -> Vec<u8> {
    let pdf = base64::engine::general_purpose::STANDARD.encode(attachment);
    let wrapped: Vec<&str> = pdf.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!(
        "Authentication-Results: mx.relais.example.fr; dmarc=pass header.from=cabinet.example.fr\r\n\
         From: Paul <paul@cabinet.example.fr>\r\nTo: lre@relais.example.fr\r\nSubject: Relance {n}\r\n\
         Message-ID: <bench-{n}@cabinet.example.fr>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Destinataire : Jeanne Martin\r\nSociété : Boulangerie Martin SARL\r\nEmail : compta@boulangerie-martin.fr\r\n\
         Type : professionnel\r\nNuméro de facture : F-{n}\r\nMontant : 1 250,00 €\r\nÉchéance : 31/10/2026\r\n\r\n--b\r\n\
         Content-Type: application/pdf; name=\"facture.pdf\"\r\nContent-Disposition: attachment; filename=\"facture.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        wrapped.join("\r\n")
    )
    .into_bytes()
}

fn pdf_of(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(size, b'0');
    pdf
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--big") {
        return big(args.get(1)).await;
    }
    let count: usize = args.first().map_or(Ok(500), |a| a.parse())?;
    let dir = tempfile_dir()?;
    let services = relais::startup::build_services(settings_in(&dir)?, "http://127.0.0.1:8080".parse()?).await?;
    let attachment = pdf_of(100_000);

    // Rounds of `count` new emails each (new message ids: none is a duplicate of an earlier one), the bare
    // parse and relais taking turns, so that both see the machine in the same state; the figures are the
    // medians of the rounds. The first round includes what relais does once (a template compiled, a folder
    // created), as a real first delivery would; with the median, that one round does not decide.
    let mut bare_each = Vec::with_capacity(ROUNDS);
    let mut relais_each = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let messages: Vec<Vec<u8>> = (0..count).map(|n| email(round * count + n, &attachment)).collect();
        let bare = bare_parse(&messages);
        let started = Instant::now();
        let results: Vec<DeliveryResult> = futures_util::stream::iter(&messages)
            .map(|raw| {
                let delivery =
                    Delivery { raw, arrival: Arrival::Relayed, recipient: "lre@relais.example.fr", channel: "mime" };
                services.deliver(delivery)
            })
            .buffer_unordered(16) // as an MTA with several connections delivers them
            .collect()
            .await;
        let each = started.elapsed().as_secs_f64() / count as f64;
        for result in &results {
            anyhow::ensure!(matches!(result, DeliveryResult::Done { accepted: true, .. }), "{result:?}");
        }
        println!(
            "round {}: bare parse {:.3} ms, relais {:.3} ms per email ({:.1}x)",
            round + 1,
            bare * 1000.0,
            each * 1000.0,
            each / bare
        );
        bare_each.push(bare);
        relais_each.push(each);
    }
    let (bare, each) = (median(&mut bare_each), median(&mut relais_each));
    println!(
        "{count} emails of ~{} KB per round, {ROUNDS} rounds, 16 at a time; medians:",
        email(0, &attachment).len() / 1024
    );
    println!("bare mail-parser parse: {:.3} ms per email", bare * 1000.0);
    println!(
        "relais (parse + authenticate + validate + store durably, answer owed): {:.3} ms per email, {:.0} emails/s",
        each * 1000.0,
        1.0 / each
    );
    println!("ratio relais / bare parse: {:.1}x (goal: at most 3x)", each / bare);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// How many rounds the rate is measured in.
const ROUNDS: usize = 5;

/// The baseline: a bare mail-parser parse of the same messages, one after the other, reading every part.
/// Seconds per message.
fn bare_parse(messages: &[Vec<u8>]) -> f64 {
    let started = Instant::now();
    let mut parts = 0usize;
    for raw in messages {
        let parsed = mail_parser::MessageParser::default().parse(raw).expect("the message parses");
        parts += parsed.attachments().map(|a| a.contents().len()).sum::<usize>()
            + parsed.body_text(0).map_or(0, |t| t.len());
    }
    std::hint::black_box(parts);
    started.elapsed().as_secs_f64() / messages.len() as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn settings_in(dir: &std::path::Path) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(None)?;
    settings.database.url = format!("sqlite://{}/bench.db", dir.display());
    settings.storage.attachments_dir = dir.join("attachments");
    settings.storage.proofs_dir = dir.join("proofs");
    settings.mail.outbox_dir = dir.join("outbox");
    settings.intake.trusted_authserv_ids = vec!["mx.relais.example.fr".into()];
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings.storage.max_attachments_size = relais::config::ByteSize(256_000_000);
    Ok(settings)
}

/// One email of about 25 MB (an 18 MB PDF grows by a third in base64). Without a path, the message is
/// written to a file and this program runs again on it, so that building the message does not count in the
/// peak memory; with one, the message is read as a channel would hand it over and delivered, and the peak
/// resident memory of the process is printed against the message's size.
async fn big(path: Option<&String>) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let Some(path) = path else {
        let file = dir.join("big.eml");
        std::fs::write(&file, email(0, &pdf_of(18_000_000)))?;
        let status = std::process::Command::new(std::env::current_exe()?).arg("--big").arg(&file).status()?;
        std::fs::remove_dir_all(&dir)?;
        anyhow::ensure!(status.success(), "the measured run failed");
        return Ok(());
    };
    let services = relais::startup::build_services(settings_in(&dir)?, "http://127.0.0.1:8080".parse()?).await?;
    let raw = std::fs::read(path)?;
    let before = peak_rss_mb()?;
    let delivery =
        Delivery { raw: &raw, arrival: Arrival::Relayed, recipient: "lre@relais.example.fr", channel: "mime" };
    let started = Instant::now();
    let result = services.deliver(delivery).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(matches!(result, DeliveryResult::Done { accepted: true, .. }), "{result:?}");
    let size = raw.len() as f64 / 1e6;
    let peak = peak_rss_mb()?;
    println!("one email of {size:.1} MB accepted in {ms:.0} ms; peak RSS {before:.1} MB with the message read");
    println!("peak RSS {peak:.1} MB = {:.1}x the message (goal: at most 3x)", peak / size);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The process's peak resident memory so far (`VmHWM`), in MB.
fn peak_rss_mb() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/self/status"))?;
    Ok(kb * 1024.0 / 1e6)
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("relais-bench-email-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
