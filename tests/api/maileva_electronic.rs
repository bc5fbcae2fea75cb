//! Simple electronic registered letters through Maileva (`secured_electronic_mail/v1`): sent once with the
//! letter, its recipient and our letter id, followed by the periodic sync alone (never subscribed), ended
//! with the proof of its outcome archived and emailed; a lost submit reconciled by `custom_id`; an
//! individual's letter waiting for their consent; a status the spec does not list flagged, never guessed.

use std::time::Duration;

use relais::config::{ProviderSettings, Service};
use serde_json::{Value, json};

use crate::ar24::states;
use crate::fake_maileva::{Api, FakeMaileva, FakeSending};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, letter_body};
use crate::maileva::{paper_letter, proof_kinds, spawn_maileva, submitted};

const MAILEVA_SENDER: &str = "0b7f3c2a-51d4-4e8b-9a61-7c2e4d9f1a35";

/// An app whose default sender sends simple electronic letters through the fake Maileva, looked at every
/// 200 ms by the periodic sync.
async fn spawn_electronic(db: Db) -> (TestApp, TestEnv, FakeMaileva) {
    spawn_maileva(db, |s| {
        let sender = &mut s.senders[0];
        sender.service = Service::Simple;
        sender.maileva_sender_id = Some(MAILEVA_SENDER.into());
        if let Some(ProviderSettings::Maileva(m)) = s.providers.get_mut("maileva") {
            m.sync_every = Duration::from_millis(200);
        }
    })
    .await
}

/// The one sending Maileva holds for a letter, electronic, and nothing sent on paper.
fn the_sending(fake: &FakeMaileva, id: &str) -> FakeSending {
    let all: Vec<FakeSending> = fake.sendings().into_iter().filter(|s| s.custom_id() == Some(id)).collect();
    assert_eq!(all.len(), 1, "exactly one sending for {id}: {all:#?}");
    assert!(all[0].api == Api::Simple && all[0].submitted, "{all:#?}");
    all.into_iter().next().unwrap()
}

/// The proofs of a letter: (kind, sha256).
fn proofs(letter: &Value) -> Vec<(String, String)> {
    let list = letter["proofs"].as_array().unwrap();
    list.iter().map(|p| (p["kind"].as_str().unwrap().to_owned(), p["sha256"].as_str().unwrap().to_owned())).collect()
}

async fn ends(app: &TestApp, fake: &FakeMaileva, email: &str, state: &str, proof: &str) -> (String, FakeSending) {
    let id = app.submit_letter_value(&letter_body(email)).await;
    let letter = app.wait_for_state(&id, state, OUTCOME_TIMEOUT).await;
    assert_eq!(states(&letter), ["received", "ready", "queued", "submitting", "deposited", state]);
    let sending = the_sending(fake, &id);
    assert_eq!(letter["provider"]["reference"], format!("ere:{}", sending.id));
    let archived = proofs(&letter);
    let kinds: Vec<&str> = archived.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"deposit") && kinds.contains(&proof), "{kinds:?}");
    assert!(archived.iter().all(|(_, sha)| sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit())));
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == state).expect("the outcome is emailed to the requester");
    assert_eq!(mail_parser::MessageParser::default().parse(raw).unwrap().attachment_count(), 1, "with its proof");
    (id, sending)
}

async fn a_simple_letter_to_a_professional_is_delivered_with_its_proofs(db: Db) {
    let (app, _env, fake) = spawn_electronic(db).await;
    let (id, sending) = ends(&app, &fake, "compta@boulangerie-martin.fr", "delivered", "receipt").await;
    assert_eq!(sending.body["custom_id"], id.as_str());
    assert_eq!(sending.body["sender_id"], MAILEVA_SENDER);
    assert_eq!(sending.documents.len(), 1, "the letter PDF is the one document");
    let recipient = &sending.recipient.as_ref().unwrap().body;
    assert_eq!(recipient["legal_status"], "PROFESSIONAL");
    assert_eq!(recipient["email"], "compta@boulangerie-martin.fr");
    assert_eq!(recipient["company"], "Boulangerie Martin SARL");
    assert_eq!((recipient["first_name"].clone(), recipient["last_name"].clone()), (json!("Jeanne"), json!("Martin")));
    // Followed by the sync: nothing subscribed for electronic sendings, nothing sent on paper.
    assert!(fake.subscriptions().iter().all(|s| s.resource_type.starts_with("registered_mail/v4/")));
    let paper = fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == "/registered_mail/v4/sendings");
    assert_eq!(paper.count(), 0);
    // The account check looks at the electronic sendings of an electronic sender.
    let sender = app.services.settings.senders[0].clone();
    let provider = app.services.providers.get("maileva").unwrap().clone();
    let report = provider.check_account(&sender).await.unwrap();
    assert!(report.contains("credentials work") && report.contains("1 electronic sendings visible"), "{report}");
    app.stop().await;
}

async fn a_simple_letter_refused_by_its_recipient_ends_refused_with_the_refusal_proof(db: Db) {
    let (app, _env, fake) = spawn_electronic(db).await;
    ends(&app, &fake, "refus@boulangerie-martin.fr", "refused", "refusal").await;
    app.stop().await;
}

async fn a_submit_lost_after_maileva_stored_it_is_reconciled_without_a_second_sending(db: Db) {
    let (app, _env, fake) = spawn_electronic(db).await;
    fake.hang_next_submit();
    let id = app.submit_letter_value(&letter_body("compta@boulangerie-martin.fr")).await;
    let sent = submitted(&fake, &id).await;
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["reference"], format!("ere:{}", sent.id), "{letter:#}");
    let sending = the_sending(&fake, &id);
    assert_eq!(sending.id, sent.id);
    let submits = fake.requests().into_iter().filter(|r| r.path.ends_with("/submit")).count();
    assert_eq!(submits, 1, "submitted once");
    app.stop().await;
}

async fn an_individual_without_consent_waits_then_leaves_once_it_is_recorded(db: Db) {
    let (app, _env, fake) = spawn_electronic(db).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let waiting = app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    assert!(waiting["state_detail"].as_str().unwrap().contains("L.100"), "{waiting:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fake.sendings().is_empty(), "nothing leaves before the consent (Maileva does not check it)");
    let recorded =
        app.post_json("/v1/consents", &json!({"email": "jeanne.martin@exemple.fr", "source": "portail"})).await;
    assert_eq!(recorded.status(), 201);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"receipt".to_owned()));
    let sending = the_sending(&fake, &id);
    let recipient = &sending.recipient.as_ref().unwrap().body;
    assert_eq!(recipient["legal_status"], "INDIVIDUAL");
    app.stop().await;
}

async fn a_status_the_spec_does_not_list_needs_attention_with_its_name(db: Db) {
    let (app, _env, _fake) = spawn_electronic(db).await;
    let id = app.submit_letter_value(&letter_body("etrange@boulangerie-martin.fr")).await;
    let letter = app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    let detail = letter["state_detail"].as_str().unwrap_or_default();
    assert!(detail.contains("RETURNED_TO_SPACE"), "{letter:#}");
    let rejected = app.submit_letter_value(&letter_body("rejet@boulangerie-martin.fr")).await;
    let letter = app.wait_for_state(&rejected, "needs_attention", OUTCOME_TIMEOUT).await;
    assert!(letter["state_detail"].as_str().unwrap_or_default().contains("INVALID_DATA"), "{letter:#}");
    app.stop().await;
}

async fn a_refusal_in_the_specs_bare_array_is_read_with_its_code(db: Db) {
    let (app, _env, fake) = spawn_electronic(db).await;
    fake.fail_next_submit(400, "INVALID_SENDER_STATUS");
    let id = app.submit_letter_value(&letter_body("compta@boulangerie-martin.fr")).await;
    let letter =
        app.wait_for(&id, "refused by Maileva", |l| l["state"] == "failed" || l["state"] == "needs_attention").await;
    let detail = letter["state_detail"].as_str().unwrap_or_default();
    assert!(detail.contains("INVALID_SENDER_STATUS"), "{letter:#}");
    assert!(fake.sendings().iter().all(|s| !s.submitted), "nothing left");
    app.stop().await;
}

crate::on_both_databases!(
    a_refusal_in_the_specs_bare_array_is_read_with_its_code,
    a_simple_letter_to_a_professional_is_delivered_with_its_proofs,
    a_simple_letter_refused_by_its_recipient_ends_refused_with_the_refusal_proof,
    a_submit_lost_after_maileva_stored_it_is_reconciled_without_a_second_sending,
    an_individual_without_consent_waits_then_leaves_once_it_is_recorded,
    a_status_the_spec_does_not_list_needs_attention_with_its_name,
);
