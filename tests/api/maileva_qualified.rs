//! Qualified electronic registered letters through Maileva (`electronic_qualified_registered_mail/v1`): a letter
//! waits for its sender's one-time code, which relais passes to `electronic_mail_emitter` and never keeps; it
//! then leaves once, with the spec's bodies, and ends with the proof of the recipient's answer archived and
//! emailed. A session Maileva ended before relais thought puts the letter back to wait, nothing sent; a lost
//! submit is reconciled by `custom_id`; a recipient the qualified API cannot take is a `422` at intake; and
//! `relais check-config` says whether the sender's account is set up.

use relais::config::{ProviderSettings, Service};
use serde_json::{Value, json};

use crate::ar24::states;
use crate::fake_maileva::{Api, FakeMaileva, FakeSending};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, letter_body};
use crate::maileva::{proof_kinds, spawn_maileva, submitted};

const MAILEVA_SENDER: &str = "6c1e9a47-2b3d-4f58-8e9a-1d2c3b4a5f60";
const APPROVALS: &str = "/v1/senders/default/approvals";

/// An app whose default sender sends qualified letters through the fake Maileva, synced every 200 ms.
async fn spawn_qualified(db: Db) -> (TestApp, TestEnv, FakeMaileva) {
    spawn_maileva(db, |s| {
        let sender = &mut s.senders[0];
        sender.service = Service::Qualified;
        sender.maileva_sender_id = Some(MAILEVA_SENDER.into());
        if let Some(ProviderSettings::Maileva(m)) = s.providers.get_mut("maileva") {
            m.sync_every = std::time::Duration::from_millis(200);
        }
    })
    .await
}

/// The one sending Maileva holds for a letter: qualified and submitted.
fn the_sending(fake: &FakeMaileva, id: &str) -> FakeSending {
    let all: Vec<FakeSending> = fake.sendings().into_iter().filter(|s| s.custom_id() == Some(id)).collect();
    assert_eq!(all.len(), 1, "exactly one sending for {id}: {all:#?}");
    assert!(all[0].api == Api::Qualified && all[0].submitted, "{all:#?}");
    all.into_iter().next().unwrap()
}

fn submits(fake: &FakeMaileva) -> usize {
    fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/submit")).count()
}

/// Approves the default sender with the code its authenticator shows now; the answer's body.
async fn approve(app: &TestApp, fake: &FakeMaileva, code: &str) -> Value {
    fake.show_otp_code(MAILEVA_SENDER, code);
    let approved = app.post_json(APPROVALS, &json!({"code": code})).await;
    assert_eq!(approved.status(), 201);
    approved.json().await.unwrap()
}

async fn a_qualified_letter_leaves_with_the_senders_code_and_ends_with_its_proofs(db: Db) {
    let (app, _env, fake) = spawn_qualified(db).await;
    let id = app.submit_letter_value(&letter_body("compta@boulangerie-martin.fr")).await;
    let waiting = app.wait_for_state(&id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    assert!(waiting["state_detail"].as_str().unwrap().contains(APPROVALS), "{waiting:#}");
    assert!(fake.sendings().is_empty(), "nothing leaves before the code");

    // A code the authenticator does not show is refused by Maileva and opens nothing.
    fake.show_otp_code(MAILEVA_SENDER, "482915");
    let wrong = app.post_json(APPROVALS, &json!({"code": "111111"})).await;
    assert_eq!(wrong.status(), 422);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["errors"][0]["field"], "code", "{wrong:#}");
    assert!(!wrong.to_string().contains("111111"), "the code is not repeated: {wrong:#}");
    assert_eq!(app.get_letter(&id).await["state"], "awaiting_approval");

    let approved = approve(&app, &fake, "482915").await;
    assert_eq!(approved["released_letters"], 1, "{approved:#}");
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(
        states(&letter),
        ["received", "ready", "awaiting_approval", "queued", "submitting", "deposited", "delivered"]
    );
    let sending = the_sending(&fake, &id);
    assert_eq!(letter["provider"]["reference"], format!("lre:{}", sending.id));
    let kinds = proof_kinds(&letter);
    assert!(kinds.contains(&"deposit".to_owned()) && kinds.contains(&"receipt".to_owned()), "{kinds:?}");
    // The spec's bodies: no field the qualified API does not have, the recipient named.
    assert_eq!(sending.body["custom_id"], id.as_str());
    assert_eq!(sending.body["sender_id"], MAILEVA_SENDER);
    assert!(sending.body.get("notification_language").is_none(), "{:#}", sending.body);
    let recipient = &sending.recipient.as_ref().unwrap().body;
    assert_eq!(
        (recipient["legal_status"].as_str(), recipient["first_name"].as_str()),
        (Some("PROFESSIONAL"), Some("Jeanne"))
    );
    assert_eq!(sending.documents.len(), 1, "the letter PDF");
    // The outcome is emailed to the requester with its proof.
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == "delivered").expect("the outcome is emailed");
    assert_eq!(mail_parser::MessageParser::default().parse(raw).unwrap().attachment_count(), 1);
    // The code was given to Maileva and to nobody else: not in the timeline, not stored.
    let timeline = app.get_letter(&id).await.to_string();
    assert!(!timeline.contains("482915"), "{timeline}");
    assert_eq!(submits(&fake), 1);

    // The account check names the sender's state; a sender not set up is an error saying what to do.
    let sender = app.services.settings.senders[0].clone();
    let provider = app.services.providers.get("maileva").unwrap().clone();
    let report = provider.check_account(&sender).await.unwrap();
    assert!(report.contains("qualified electronic sendings visible") && report.contains("VALIDATED"), "{report}");
    fake.set_sender_state(MAILEVA_SENDER, "VALIDATING");
    let problem = provider.check_account(&sender).await.unwrap_err().to_string();
    assert!(problem.contains("VALIDATING") && problem.contains("link"), "{problem}");
    app.stop().await;
}

async fn refused_and_unclaimed_qualified_letters_end_with_their_proofs(db: Db) {
    let (app, _env, fake) = spawn_qualified(db).await;
    let refused = app.submit_letter_value(&letter_body("refus@boulangerie-martin.fr")).await;
    let unclaimed = app.submit_letter_value(&letter_body("neglige@boulangerie-martin.fr")).await;
    let broken = app.submit_letter_value(&letter_body("panne@boulangerie-martin.fr")).await;
    for id in [&refused, &unclaimed, &broken] {
        app.wait_for_state(id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    }
    assert_eq!(approve(&app, &fake, "730114").await["released_letters"], 3, "one code releases the sender's letters");
    let letter = app.wait_for_state(&refused, "refused", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"refusal".to_owned()), "{letter:#}");
    let letter = app.wait_for_state(&unclaimed, "not_claimed", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"non_claim".to_owned()), "{letter:#}");
    let letter = app.wait_for_state(&broken, "needs_attention", OUTCOME_TIMEOUT).await;
    assert!(letter["state_detail"].as_str().unwrap_or_default().contains("ERROR"), "{letter:#}");
    assert_eq!(submits(&fake), 3);
    app.stop().await;
}

async fn a_session_maileva_ended_sends_nothing_and_the_letter_waits_for_a_new_code(db: Db) {
    let (app, _env, fake) = spawn_qualified(db).await;
    approve(&app, &fake, "915203").await;
    // Maileva ends the session while relais still counts on it.
    fake.end_otp_sessions();
    let id = app.submit_letter_value(&letter_body("compta@boulangerie-martin.fr")).await;
    let again = app.wait_for_state(&id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    assert!(states(&again).contains(&"submitting".to_owned()), "it was tried under the ended session: {again:#}");
    assert!(fake.sendings().iter().all(|s| !s.submitted), "nothing submitted");
    assert!(fake.sendings().is_empty(), "the draft made for it was deleted");
    let renewed = approve(&app, &fake, "204768").await;
    assert_eq!(renewed["released_letters"], 1);
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    the_sending(&fake, &id);
    app.stop().await;
}

async fn a_lost_submit_is_reconciled_in_the_qualified_api_without_a_second_sending(db: Db) {
    let (app, _env, fake) = spawn_qualified(db).await;
    approve(&app, &fake, "551902").await;
    fake.hang_next_submit();
    let id = app.submit_letter_value(&letter_body("compta@boulangerie-martin.fr")).await;
    let sent = submitted(&fake, &id).await;
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["reference"], format!("lre:{}", sent.id), "{letter:#}");
    assert_eq!(the_sending(&fake, &id).id, sent.id);
    assert_eq!(submits(&fake), 1, "submitted once");
    app.stop().await;
}

async fn a_recipient_the_qualified_api_cannot_take_is_refused_at_intake(db: Db) {
    let (app, _env, fake) = spawn_qualified(db).await;
    let mut nameless = letter_body("compta@boulangerie-martin.fr");
    nameless["recipient"].as_object_mut().unwrap().remove("first_name");
    let mut long_company = letter_body("compta@boulangerie-martin.fr");
    long_company["recipient"]["company"] = json!("Boulangerie-Pâtisserie Martin et Fils Associés SARL");
    for (body, field) in [(nameless, "recipient.first_name"), (long_company, "recipient.company")] {
        let response = app.post_letter(&body).await;
        assert_eq!(response.status(), 422);
        let answer: Value = response.json().await.unwrap();
        let fields: Vec<&str> =
            answer["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!(fields, [field], "{answer:#}");
    }
    let letters = app.get("/v1/letters").await.json::<Value>().await.unwrap();
    assert!(letters["data"].as_array().unwrap().is_empty(), "nothing half-written: {letters:#}");
    assert!(fake.sendings().is_empty());
    app.stop().await;
}

crate::on_both_databases!(
    a_qualified_letter_leaves_with_the_senders_code_and_ends_with_its_proofs,
    refused_and_unclaimed_qualified_letters_end_with_their_proofs,
    a_session_maileva_ended_sends_nothing_and_the_letter_waits_for_a_new_code,
    a_lost_submit_is_reconciled_in_the_qualified_api_without_a_second_sending,
    a_recipient_the_qualified_api_cannot_take_is_refused_at_intake,
);
