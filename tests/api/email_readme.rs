//! The README's email example, run as written: its `relais.toml`, its `records.zone`, its `request.eml` and
//! its swaks command, through the SMTP receiver. Only what a test must own changes: the port, the database
//! and the folders. If the README drifts, this fails.

use std::path::Path;

use relais::config::Settings;
use relais::domain::SenderId;
use relais::store::LetterFilter;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, spawn_with};

/// The README's "Sending a letter by email" section.
fn section() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("## Sending a letter by email").expect("the README has the email section");
    let rest = &readme[start + 3..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
}

/// The code block fenced with ```` ```lang ````.
fn block(section: &str, lang: &str) -> String {
    let fence = format!("```{lang}\n");
    let start =
        section.find(&fence).unwrap_or_else(|| panic!("the email section shows a ```{lang} block")) + fence.len();
    let end = section[start..].find("\n```").expect("the block is closed");
    section[start..start + end + 1].to_owned()
}

async fn the_readme_email_example_sends_the_formal_notice_it_promises(db: Db) {
    let section = section();
    let env = TestEnv::new(db).await;
    let config = env.path("relais.toml");
    std::fs::write(&config, block(&section, "toml")).unwrap();
    std::fs::write(env.path("records.zone"), block(&section, "dns")).unwrap();
    std::fs::write(env.path("request.eml"), block(&section, "eml")).unwrap();

    let mut settings = Settings::load(Some(&config)).expect("the README's configuration loads");
    let readme_port = settings.intake.smtp.listen.rsplit_once(':').unwrap().1.to_owned();
    settings.intake.smtp.listen = "127.0.0.1:0".into();
    settings.intake.dns.records_file = env.path(&settings.intake.dns.records_file.display().to_string());
    let test = env.settings();
    settings.server = test.server;
    settings.database = test.database;
    settings.storage = test.storage;
    settings.mail = test.mail;
    settings.audit = test.audit;
    settings.worker = test.worker;
    settings.providers = test.providers;
    let app = spawn_with(&env, settings).await;
    let port = app.smtp_port.expect("the README turns the SMTP receiver on");

    let command = block(&section, "sh");
    let mut words = command.split_whitespace().map(|w| match w {
        w if w == readme_port => port.to_string(),
        "@request.eml" => format!("@{}", env.path("request.eml").display()),
        w => w.to_owned(),
    });
    assert_eq!(words.next().as_deref(), Some("swaks"));
    let sent = tokio::process::Command::new("swaks").args(words).output().await.expect("swaks is installed");
    let transcript = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success() && transcript.contains("250 2.0.0"), "{transcript}");

    let dupont: SenderId = "dupont".parse().unwrap();
    let letters =
        app.store.list_letters(&dupont, &LetterFilter { limit: 10, ..LetterFilter::default() }).await.unwrap();
    assert_eq!(letters.len(), 1, "the README promises one letter; outbox: {:?}", crate::helpers::files_in(&app.outbox));
    let letter = &letters[0];
    assert_eq!(letter.template, "mise-en-demeure", "the To header's +tag names the template");
    assert_eq!(letter.recipient.email_text(), "compta@boulangerie-martin.fr");
    assert_eq!(letter.recipient.company.as_deref(), Some("Boulangerie Martin SARL"));
    assert_eq!(letter.reference.as_deref(), Some("dossier-881"));
    assert_eq!(app.services.settings.sender(&dupont).unwrap().company, "Dupont SARL");
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while app.store.letter(&letter.id).await.unwrap().unwrap().state.as_str() != "delivered" {
        assert!(tokio::time::Instant::now() < deadline, "the letter reaches its outcome");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.wait_for_answers().await;
    let answers = crate::helpers::files_in(&app.outbox);
    assert!(answers.iter().any(|p| p.to_string_lossy().contains("request-accepted")), "the answer: {answers:?}");
    app.stop().await;
}

crate::on_both_databases!(the_readme_email_example_sends_the_formal_notice_it_promises);
