//! The paper fallback after a wait (`fallback_after`): a letter to an individual without consent waits for
//! it, then leaves on paper through Maileva; a consent recorded in time releases it electronically. The
//! timeline and the requester's notice say which route and why.

use std::time::Duration;

use relais::config::{Fallback, Service, Settings};
use serde_json::{Value, json};

use crate::ar24::states;
use crate::fake_maileva::{FakeMaileva, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv};
use crate::maileva::{paper_letter, proof_kinds, spawn_maileva, submitted};

/// An electronic sender (the sandbox) whose letters to individuals without consent wait `after`, then go
/// on paper.
async fn spawn_waiting(db: Db, after: Duration) -> (TestApp, TestEnv, FakeMaileva) {
    spawn_maileva(db, move |s: &mut Settings| {
        let sender = &mut s.senders[0];
        sender.provider = "sandbox".into();
        sender.service = Service::Simple;
        sender.fallback = Some(Fallback::Paper);
        sender.fallback_provider = Some("maileva".into());
        sender.fallback_after = after;
    })
    .await
}

/// The text of the requester's email of `kind` about a letter.
fn email_text(app: &TestApp, id: &str, kind: &str) -> String {
    let emails = app.emails_about(id);
    let (_, raw) = emails.iter().find(|(k, _)| k == kind).unwrap_or_else(|| panic!("no {kind} email: {emails:?}"));
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    format!("{}\n{}", message.subject().unwrap_or_default(), message.body_text(0).unwrap_or_default())
}

async fn without_consent_in_time_the_letter_leaves_on_paper_and_says_why(db: Db) {
    let (app, _env, fake) = spawn_waiting(db, Duration::from_secs(2)).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let waiting = app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    let detail = waiting["state_detail"].as_str().unwrap();
    assert!(detail.contains("paper registered letter through maileva"), "the wait says what comes next: {detail}");
    assert!(fake.sendings().is_empty(), "it waits first");
    let sending = submitted(&fake, &id).await;
    let letter = app.wait_for(&id, "handed to Maileva", |l| l["provider"]["reference"] == sending.id).await;
    assert_eq!(letter["provider"]["name"], "maileva");
    let timeline = states(&letter);
    assert_eq!(timeline[..5], ["received", "ready", "awaiting_consent", "ready", "queued"], "{timeline:?}");
    let queued = letter["events"].as_array().unwrap().iter().find(|e| e["state"] == "queued").unwrap();
    let why = queued["detail"].as_str().unwrap_or_default();
    assert!(why.contains("paper") && why.contains("not consented") && why.contains("within 2s"), "{why}");
    assert!(fake.advance(&sending.id, Stage::Delivered).await);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"receipt".to_owned()));
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let told = email_text(&app, &id, "paper_fallback");
    assert!(told.contains("recommandée papier") && told.contains("maileva"), "{told}");
    assert!(told.contains("n'a pas consenti") && told.contains("dans le délai de 2s"), "the notice says why: {told}");
    let waited = email_text(&app, &id, "awaiting_consent");
    assert!(waited.contains("la lettre part en recommandé papier par maileva"), "{waited}");
    assert_eq!(fake.sendings().len(), 1, "sent once");
    app.stop().await;
}

async fn a_consent_recorded_in_time_releases_the_letter_electronically(db: Db) {
    let after = Duration::from_secs(3);
    let (app, _env, fake) = spawn_waiting(db, after).await;
    let started = tokio::time::Instant::now();
    let id = app.submit_letter_value(&paper_letter()).await;
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    let consent = json!({"email": "jeanne.martin@exemple.fr", "source": "formulaire signé"});
    let recorded: Value = app.post_json("/v1/consents", &consent).await.json().await.unwrap();
    assert_eq!(recorded["released_letters"], 1, "{recorded}");
    let letter = app.wait_for(&id, "sent electronically", |l| l["provider"]["reference"].is_string()).await;
    assert_eq!(letter["provider"]["name"], "sandbox");
    // Past the deadline, the letter's wait is long over: nothing leaves on paper.
    tokio::time::sleep_until(started + after + Duration::from_secs(1)).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let letter = app.get_letter(&id).await;
    assert_eq!(letter["provider"]["name"], "sandbox", "{letter:#}");
    assert!(fake.sendings().is_empty(), "nothing went on paper: {:?}", fake.sendings());
    assert!(!app.emails_about(&id).iter().any(|(k, _)| k == "paper_fallback"));
    app.stop().await;
}

async fn a_recipient_without_email_never_waits(db: Db) {
    let (app, _env, fake) = spawn_waiting(db, Duration::from_secs(3600)).await;
    let mut body = paper_letter();
    body["recipient"].as_object_mut().unwrap().remove("email");
    let id = app.submit_letter_value(&body).await;
    let sending = submitted(&fake, &id).await;
    let letter = app.wait_for(&id, "handed to Maileva", |l| l["provider"]["reference"] == sending.id).await;
    assert!(!states(&letter).contains(&"awaiting_consent".to_owned()), "{letter:#}");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    assert!(email_text(&app, &id, "paper_fallback").contains("pas d'adresse email"));
    app.stop().await;
}

crate::on_both_databases!(
    without_consent_in_time_the_letter_leaves_on_paper_and_says_why,
    a_consent_recorded_in_time_releases_the_letter_electronically,
    a_recipient_without_email_never_waits,
);

#[test]
fn a_wait_without_a_fallback_is_refused_naming_the_key() {
    let mut settings = Settings::load(None).unwrap();
    settings.senders[0].fallback_after = Duration::from_secs(60);
    let message = settings.validate().unwrap_err().to_string();
    assert!(message.contains("senders[0].fallback_after"), "{message}");
}
