//! Email intake through relais's own SMTP receiver, driven by a real SMTP client (swaks): STARTTLS, SPF and
//! DMARC checked from fixed DNS records, unknown recipients and oversized messages refused.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};

/// The sender's domain publishes SPF for 127.0.0.1 (where the tests send from) and a DMARC policy.
const RECORDS: &str = "\
cabinet.example.fr. 300 IN TXT \"v=spf1 ip4:127.0.0.1 -all\"
_dmarc.cabinet.example.fr. 300 IN TXT \"v=DMARC1; p=reject\"
";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

async fn spawn_smtp(db: Db) -> (TestApp, TestEnv, u16) {
    spawn_smtp_with(db, |_| {}).await
}

/// The SMTP receiver on a port of its choosing, `@cabinet.example.fr` allowed for the default sender; `adjust` may
/// change the settings further.
pub(crate) async fn spawn_smtp_with(
    db: Db,
    adjust: impl FnOnce(&mut relais::config::Settings),
) -> (TestApp, TestEnv, u16) {
    let env = TestEnv::new(db).await;
    let records = env.path("records.zone");
    std::fs::write(&records, RECORDS).unwrap();
    let mut settings = env.settings();
    let smtp = &mut settings.intake.smtp;
    smtp.listen = "127.0.0.1:0".into();
    smtp.accept_domains = vec!["relais.example.fr".into()];
    smtp.max_message_size = relais::config::ByteSize(200_000);
    smtp.tls_cert_file = fixture("server.pem");
    smtp.tls_key_file = fixture("server.key");
    settings.intake.dns.records_file = records;
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    adjust(&mut settings);
    let app = spawn_with(&env, settings).await;
    let port = app.smtp_port.expect("the SMTP receiver is on");
    (app, env, port)
}

const REQUEST: &str = "From: Paul Comptable <paul@cabinet.example.fr>\r\nTo: lre@relais.example.fr\r\n\
Subject: Relance F-2026-0042\r\nMessage-ID: <smtp-1@cabinet.example.fr>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nDestinataire : Jeanne Martin\r\nSociété : Boulangerie Martin SARL\r\n\
Email : compta@boulangerie-martin.fr\r\nType : professionnel\r\nNuméro de facture : F-2026-0042\r\n\
Montant : 1 250,00 €\r\nÉchéance : 31/10/2026\r\n";

/// Runs swaks against the receiver; extra arguments after the common ones.
pub(crate) async fn swaks(env: &TestEnv, port: u16, from: &str, to: &str, data: &str, extra: &[&str]) -> Output {
    let file = env.path(&format!("message-{}.eml", ulid::Ulid::new()));
    std::fs::write(&file, data).unwrap();
    let mut command = tokio::process::Command::new("swaks");
    command.args(["--server", "127.0.0.1", "--port", &port.to_string(), "--helo", "mail.cabinet.example.fr"]);
    command.args(["--from", from, "--to", to, "--data", &format!("@{}", file.display())]);
    command.args(extra);
    command.output().await.expect("swaks is installed (Debian package swaks)")
}

async fn letters(app: &TestApp) -> Vec<Value> {
    app.get("/v1/letters").await.json::<Value>().await.unwrap()["data"].as_array().unwrap().clone()
}

async fn a_request_sent_over_starttls_becomes_a_letter(db: Db) {
    let (app, env, port) = spawn_smtp(db).await;
    let ca = fixture("ca.pem");
    let tls = ["--tls", "--tls-verify", "--tls-ca-path", ca.to_str().unwrap()];
    let sent = swaks(&env, port, "paul@cabinet.example.fr", "lre@relais.example.fr", REQUEST, &tls).await;
    let transcript = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success(), "{transcript}");
    assert!(transcript.contains("STARTTLS") && transcript.contains("250 2.0.0"), "{transcript}");
    let all = letters(&app).await;
    assert_eq!(all.len(), 1, "the 250 came after the letter was committed");
    let id = all[0]["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let readyz: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readyz["email_channels"][0]["name"], "smtp");
    assert_eq!(readyz["email_channels"][0]["up"], true);
    app.stop().await;
}

async fn unknown_recipients_oversized_and_unauthenticated_mail_send_nothing(db: Db) {
    let (app, env, port) = spawn_smtp(db).await;
    let elsewhere = swaks(&env, port, "paul@cabinet.example.fr", "someone@gmail.example", REQUEST, &[]).await;
    assert!(!elsewhere.status.success());
    assert!(String::from_utf8_lossy(&elsewhere.stdout).contains("550 5.1.1"));

    let big = format!("{REQUEST}{}\r\n", "x".repeat(250_000));
    let oversized = swaks(&env, port, "paul@cabinet.example.fr", "lre@relais.example.fr", &big, &[]).await;
    assert!(String::from_utf8_lossy(&oversized.stdout).contains("552 5.3.4"));

    // The envelope sender's domain does not authorize this client, and nothing is signed: DMARC fails.
    let spoofed = REQUEST.replace("smtp-1@", "smtp-2@");
    let forged = swaks(&env, port, "boss@other.example", "lre@relais.example.fr", &spoofed, &[]).await;
    assert!(forged.status.success(), "accepted for delivery, then refused by the pipeline");
    assert!(letters(&app).await.is_empty(), "no letter from unauthenticated mail");
    let answers = crate::helpers::files_in(&app.outbox);
    assert!(answers.is_empty(), "no answer to a forged sender: {answers:?}");
    app.stop().await;
}

/// A receiver that cannot listen would take no mail while /readyz looked fine: relais does not start, and
/// says which setting to change.
async fn a_taken_smtp_port_stops_the_start_naming_the_setting(db: Db) {
    let env = TestEnv::new(db).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = env.settings();
    settings.intake.smtp.listen = taken.local_addr().unwrap().to_string();
    settings.intake.smtp.accept_domains = vec!["relais.example.fr".into()];
    let error = match relais::startup::Application::build(settings).await {
        Ok(_) => panic!("relais started without its SMTP port"),
        Err(e) => e.to_string(),
    };
    assert!(error.starts_with("intake.smtp.listen: cannot listen on 127.0.0.1:"), "{error}");
}

crate::on_both_databases!(
    a_request_sent_over_starttls_becomes_a_letter,
    unknown_recipients_oversized_and_unauthenticated_mail_send_nothing,
    a_taken_smtp_port_stops_the_start_naming_the_setting,
);
