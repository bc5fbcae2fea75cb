//! The `relais verify` and `relais anchor` commands: exit codes and what they print.

use std::process::Output;

use super::{delivered_letter, rewrite_chain};
use crate::helpers::{Db, TestApp, TestEnv, spawn_with};

/// Runs the `relais` binary on the test app's database and folders.
fn relais(env: &TestEnv, app: &TestApp, args: &[&str]) -> Output {
    let settings = &app.services.settings;
    let config = format!(
        "[database]\nurl = {:?}\n[storage]\nproofs_dir = {:?}\nattachments_dir = {:?}\n[mail]\noutbox_dir = {:?}\n\
         [audit]\nanchor_file = {:?}\n",
        settings.database.url,
        settings.storage.proofs_dir,
        settings.storage.attachments_dir,
        settings.mail.outbox_dir,
        settings.audit.anchor_file,
    );
    let path = env.path("verify.toml");
    std::fs::write(&path, config).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("relais runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn verify_exits_0_with_a_summary_and_1_naming_the_rewritten_letter(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, env.settings()).await;
    let id = delivered_letter(&app).await;
    let other = delivered_letter(&app).await;

    let clean = relais(&env, &app, &["verify", "--anchor"]);
    assert!(clean.status.success(), "{}{}", stdout(&clean), String::from_utf8_lossy(&clean.stderr));
    let text = stdout(&clean);
    assert!(text.contains("2 letter(s), 12 event(s), 6 file(s) checked") && text.contains("0 difference(s)"), "{text}");
    let ledger = relais::audit::ledger::read(&app.services.settings.audit.anchor_file).unwrap();
    assert_eq!(ledger.lines.len(), 1, "--anchor appended one anchor");
    assert!(text.contains(&ledger.lines[0].1.digest), "the anchor's digest is printed: {text}");

    rewrite_chain(&app, &id, 2, "ready for another template").await;
    let caught = relais(&env, &app, &["verify"]);
    assert_eq!(caught.status.code(), Some(1), "{}", stdout(&caught));
    let text = stdout(&caught);
    let line = text.lines().find(|l| l.starts_with(id.as_str())).unwrap_or_else(|| panic!("no line for {id}: {text}"));
    assert!(
        line.contains("event 6, anchored at") && line.contains("expected hash") && line.contains("found hash"),
        "{line}"
    );
    assert!(text.contains("1 difference(s)"), "{text}");

    let one = relais(&env, &app, &["verify", "--letter", other.as_str()]);
    assert!(one.status.success(), "{}", stdout(&one));
    let anchor = relais(&env, &app, &["anchor"]);
    assert_eq!(anchor.status.code(), Some(1), "anchoring over a rewrite reports it: {}", stdout(&anchor));
    assert!(stdout(&anchor).contains(id.as_str()));
    app.stop().await;
}

crate::on_both_databases!(verify_exits_0_with_a_summary_and_1_naming_the_rewritten_letter);
