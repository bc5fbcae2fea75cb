//! Crashes and restarts: a dead worker's job is taken over, letters in flight survive a restart, and a send
//! interrupted mid-way is reconciled with the provider, never repeated blindly.

use std::time::Duration;

use relais::domain::{LetterId, LetterState};
use relais::letters::transitions::transition;
use relais::providers::Lookup;
use relais::store::now_ms;
use serde_json::Value;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};

fn states(letter: &Value) -> Vec<String> {
    letter["events"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap().to_owned()).collect()
}

/// An app that takes requests but runs no worker: jobs stay queued until the test runs them.
async fn api_only(env: &TestEnv) -> TestApp {
    let mut settings = env.settings();
    settings.worker.enabled = false;
    spawn_with(env, settings).await
}

/// Runs the due jobs of this letter by hand, as a worker would, until `state` is reached.
async fn run_jobs_until(app: &TestApp, id: &str, state: &str) {
    for _ in 0..20 {
        if app.get_letter(id).await["state"] == state {
            return;
        }
        let now = now_ms();
        for job in app.store.claim_jobs("test-worker", now, now + 60_000, 10).await.unwrap() {
            relais::worker::run_claimed(&app.services, "test-worker", job).await;
        }
    }
    panic!("letter {id} did not reach {state}");
}

async fn a_job_held_by_a_dead_worker_is_taken_over_when_its_lease_expires(db: Db) {
    let env = TestEnv::new(db).await;
    let first = api_only(&env).await;
    let id = first.submit("lease@example.fr").await;
    let now = now_ms();
    let claimed = first.store.claim_jobs("worker-that-dies", now, now + 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "the acceptance notice and the prepare job");
    first.stop().await;

    let second = spawn_with(&env, env.settings()).await;
    let letter = second.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(states(&letter), ["received", "ready", "queued", "submitting", "deposited", "delivered"]);
    second.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let accepted = second.emails_about(&id).iter().filter(|(k, _)| k == "accepted").count();
    assert_eq!(accepted, 1, "the notice held by the dead worker was sent once, by the next one");
    second.stop().await;
}

async fn letters_in_flight_survive_a_restart(db: Db) {
    let env = TestEnv::new(db).await;
    let first = spawn_with(&env, env.settings()).await;
    let ids = [first.submit("restart-1@example.fr").await, first.submit("refuse-restart@example.fr").await];
    first.wait_for_state(&ids[0], "deposited", OUTCOME_TIMEOUT).await;
    first.stop().await;

    let second = spawn_with(&env, env.settings()).await;
    let delivered = second.wait_for_state(&ids[0], "delivered", OUTCOME_TIMEOUT).await;
    let refused = second.wait_for_state(&ids[1], "refused", OUTCOME_TIMEOUT).await;
    assert_eq!(states(&delivered), ["received", "ready", "queued", "submitting", "deposited", "delivered"]);
    assert_eq!(states(&refused), ["received", "ready", "queued", "submitting", "deposited", "refused"]);
    for id in &ids {
        assert_eq!(second.store.verify_events(&id.parse().unwrap()).await.unwrap(), 6);
    }
    second.stop().await;
}

/// Leaves the letter as a crash right after `queued → submitting` would: the send job still pending.
async fn crash_while_submitting(app: &TestApp, id: &str) {
    run_jobs_until(app, id, "queued").await;
    let letter: LetterId = id.parse().unwrap();
    let mut tx = app.store.begin().await.unwrap();
    assert!(
        transition(&mut tx, &letter, LetterState::Queued, LetterState::Submitting, Some("handing over"), None)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
}

async fn an_interrupted_send_the_provider_never_got_is_sent_once_after_reconciliation(db: Db) {
    let env = TestEnv::new(db).await;
    let first = api_only(&env).await;
    let id = first.submit("jamais-deux@example.fr").await;
    crash_while_submitting(&first, &id).await;
    first.stop().await;

    let second = spawn_with(&env, env.settings()).await;
    let letter = second.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let states = states(&letter);
    assert_eq!(
        states,
        [
            "received",
            "ready",
            "queued",
            "submitting",
            "needs_attention",
            "queued",
            "submitting",
            "deposited",
            "delivered"
        ]
    );
    let sandbox = second.services.providers.get("sandbox").unwrap();
    let sender = second.services.settings.senders[0].clone();
    let Lookup::Found(found) = sandbox.find_by_reference(&id.parse().unwrap(), &sender, 0).await.unwrap() else {
        panic!("the sandbox holds the letter");
    };
    assert_eq!(letter["provider"]["reference"], found.provider_ref.as_str());
    second.stop().await;
}

async fn an_interrupted_send_the_provider_did_get_is_adopted_not_repeated(db: Db) {
    let env = TestEnv::new(db).await;
    let first = api_only(&env).await;
    let id = first.submit("adopte@example.fr").await;
    crash_while_submitting(&first, &id).await;
    // The request reached the provider before the crash: the provider has the letter, relais does not know.
    let record = first.store.letter(&id.parse().unwrap()).await.unwrap().unwrap();
    let sender = first.services.settings.sender(&record.sender_id).unwrap();
    let outgoing = relais::providers::OutgoingLetter {
        letter_id: &record.id,
        sender,
        recipient: &record.recipient,
        reference: record.reference.as_deref(),
        subject: "Relance",
        body: "Madame, Monsieur,",
        document: first.services.files.document_of(&record.id),
        content_sha256: record.content_sha256.as_deref().unwrap(),
        attachments: vec![],
        approval: None,
    };
    let sent = first.services.providers.get("sandbox").unwrap().send(&outgoing).await.unwrap();
    first.stop().await;

    let second = spawn_with(&env, env.settings()).await;
    let letter = second.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["reference"], sent.provider_ref.as_str(), "the provider's letter was adopted");
    let states = states(&letter);
    let after_doubt: Vec<&String> = states.iter().skip_while(|s| *s != "needs_attention").collect();
    assert!(!after_doubt.is_empty(), "the unknown outcome was recorded: {states:?}");
    assert!(!after_doubt.contains(&&"queued".to_owned()), "never queued to be sent again: {states:?}");
    second.stop().await;
}

async fn a_graceful_stop_finishes_and_a_new_start_resumes(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, env.settings()).await;
    let id = app.submit("arret@example.fr").await;
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("stops within the grace period");
    let again = spawn_with(&env, env.settings()).await;
    again.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    again.stop().await;
}

crate::on_both_databases!(
    a_job_held_by_a_dead_worker_is_taken_over_when_its_lease_expires,
    letters_in_flight_survive_a_restart,
    an_interrupted_send_the_provider_never_got_is_sent_once_after_reconciliation,
    an_interrupted_send_the_provider_did_get_is_adopted_not_repeated,
    a_graceful_stop_finishes_and_a_new_start_resumes,
);
