//! Never stuck: a provider unreachable through every attempt leaves the letter visible in
//! `needs_attention`, its requester told and `/readyz` degraded, and the letter leaves by itself when the
//! provider is back (or at once on `relais letter retry`); a letter left without a job is repaired by the
//! sweep.

use std::time::Duration;

use relais::config::{Ar24Settings, ProviderSettings, Secret, Service, Settings};
use serde_json::Value;
use sqlx::Connection;

use crate::ar24::{SENDER_EMAIL, mail_for, states};
use crate::fake_ar24::{FakeAr24, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};

/// Settings where every job gives up after two quick attempts.
pub(crate) fn impatient(mut settings: Settings) -> Settings {
    settings.worker.max_attempts = 2;
    settings.worker.retry_delays = vec![Duration::from_millis(200)];
    settings.worker.resume_every = Duration::from_millis(400);
    settings
}

async fn spawn_on_fake(env: &TestEnv, fake: &FakeAr24, user: i64, resume_every: Duration) -> TestApp {
    let mut settings = impatient(env.settings());
    settings.worker.resume_every = resume_every;
    let ar24 = Ar24Settings {
        base_url: fake.base_url().parse().unwrap(),
        token: Secret::new(fake.token().to_owned()),
        token_file: None,
        private_key: Secret::new(fake.private_key().to_owned()),
        private_key_file: None,
        webhook_allowed_ips: vec![],
        sync_every: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
        resend_after: Duration::from_secs(1),
        max_requests_per_second: None,
    };
    settings.providers.insert("ar24".into(), ProviderSettings::Ar24(ar24));
    let sender = &mut settings.senders[0];
    sender.provider = "ar24".into();
    sender.provider_user_id = Some(user.to_string());
    sender.service = Service::Simple;
    spawn_with(env, settings).await
}

async fn readyz(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200, "a degraded relais still serves");
    response.json().await.unwrap()
}

/// The states after the letter's first `needs_attention`.
fn after_attention(letter: &Value) -> Vec<String> {
    states(letter).into_iter().skip_while(|s| s != "needs_attention").collect()
}

async fn a_provider_outage_longer_than_every_attempt_ends_delivered_with_the_story_on_its_timeline(db: Db) {
    let fake = FakeAr24::start().await;
    let user = fake.add_user(SENDER_EMAIL, true);
    let env = TestEnv::new(db).await;
    let app = spawn_on_fake(&env, &fake, user, Duration::from_millis(400)).await;
    fake.set_maintenance(true);
    let id = app.submit("compta@boulangerie-martin.fr").await;

    let waiting = app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    let detail = waiting["state_detail"].as_str().unwrap();
    assert!(detail.contains("n'a pas pu être joint") && detail.contains("relais letter retry"), "{detail}");
    let notices = app.wait_for_notices(&id, OUTCOME_TIMEOUT).await;
    assert!(notices.iter().any(|n| n.kind == "provider_unreachable"), "{notices:?}");
    let (_, email) = app.emails_about(&id).into_iter().find(|(k, _)| k == "provider_unreachable").expect("email");
    let email = String::from_utf8_lossy(&email).into_owned();
    assert!(email.contains("pas encore partie"), "the requester is told in French: {email}");
    let ready = readyz(&app).await;
    assert_eq!(ready["status"], "degraded", "{ready:#}");
    assert!(ready["problems"][0].as_str().unwrap().contains("need attention"), "{ready:#}");
    let listed: Value = app.get("/v1/letters?state=needs_attention").await.json().await.unwrap();
    assert_eq!(listed["data"][0]["id"], id.as_str());
    // Still down through several resumptions: nothing moves, nothing is sent, nobody is emailed again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.get_letter(&id).await["state"], "needs_attention");
    assert!(fake.mails().is_empty());

    fake.set_maintenance(false);
    let mail = mail_for(&fake, &id).await;
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    fake.advance(mail, Stage::Delivered).await;
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(after_attention(&letter), ["needs_attention", "queued", "submitting", "deposited", "delivered"]);
    assert_eq!(fake.mails().len(), 1, "sent once");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    assert_eq!(readyz(&app).await["status"], "ready");
    app.stop().await;
}

async fn relais_letter_retry_sends_a_waiting_letter_at_once(db: Db) {
    let fake = FakeAr24::start().await;
    let user = fake.add_user(SENDER_EMAIL, true);
    let env = TestEnv::new(db).await;
    // relais would not ask again before an hour: only the operator's retry can move it in this test.
    let app = spawn_on_fake(&env, &fake, user, Duration::from_secs(3600)).await;
    fake.set_maintenance(true);
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    fake.set_maintenance(false);
    app.retry_letter(&id).await;
    mail_for(&fake, &id).await;
    let letter = app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    let events = letter["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["detail"].as_str().unwrap_or("").contains("demandé par un opérateur")));
    assert_eq!(fake.mails().len(), 1);
    app.stop().await;
}

async fn a_letter_whose_job_gave_up_is_found_by_the_sweep_and_resumes(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.worker.enabled = false;
    settings.worker.lease = Duration::from_millis(100);
    let first = spawn_with(&env, settings).await;
    let id = first.submit("oublie@example.fr").await;
    // Every job of the letter gave up (as after a long database outage): nothing would ever move it.
    let mut conn = sqlx::AnyConnection::connect(&env.database_url).await.unwrap();
    sqlx::query("UPDATE jobs SET failed_at = 1, last_error = 'gave up' WHERE letter_id = $1")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    relais::worker::sweep_once(&first.services).await;
    let letter = first.get_letter(&id).await;
    let last = letter["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "received");
    assert!(last["detail"].as_str().unwrap().contains("sans tâche"), "{last}");
    assert_eq!(first.store.pending_jobs(Some(&id.parse().unwrap())).await.unwrap(), 1);
    relais::worker::sweep_once(&first.services).await;
    assert_eq!(first.get_letter(&id).await["events"].as_array().unwrap().len(), 2, "repaired once");
    first.stop().await;

    let second = spawn_with(&env, env.settings()).await;
    second.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(second.store.verify_events(&id.parse().unwrap()).await.unwrap(), 7);
    second.stop().await;
}

fn age_folder(dir: &std::path::Path, by: Duration) {
    let when = std::time::SystemTime::now() - by;
    std::fs::File::open(dir).unwrap().set_modified(when).unwrap();
}

async fn an_attachment_folder_left_by_a_crash_before_its_letter_was_recorded_is_removed_by_the_sweep(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.worker.enabled = false;
    let app = spawn_with(&env, settings).await;
    let kept = app.submit("garde@example.fr").await;
    let make = |name: &str, age: Duration| {
        let dir = app.attachments_dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("facture.pdf"), b"%PDF-1.7").unwrap();
        age_folder(&dir, age);
        dir
    };
    let old = Duration::from_secs(3600);
    let orphan = make(relais::domain::LetterId::generate().as_str(), old);
    let in_flight = make(relais::domain::LetterId::generate().as_str(), Duration::ZERO);
    let letters_own = make(&kept, old);
    relais::worker::sweep_once(&app.services).await;
    assert!(!orphan.exists(), "the folder of a letter never recorded is removed");
    assert!(in_flight.exists(), "a folder being filled for a letter about to be committed stays");
    assert!(letters_own.join("facture.pdf").exists(), "a recorded letter keeps its files");
    app.stop().await;
}

crate::on_both_databases!(
    an_attachment_folder_left_by_a_crash_before_its_letter_was_recorded_is_removed_by_the_sweep,
    a_provider_outage_longer_than_every_attempt_ends_delivered_with_the_story_on_its_timeline,
    relais_letter_retry_sends_a_waiting_letter_at_once,
    a_letter_whose_job_gave_up_is_found_by_the_sweep_and_resumes,
);
