//! relais against a fake Maileva that behaves as its specs document: paper registered letters sent once,
//! followed to their outcome with proofs, callbacks authenticated then re-fetched, an unknown delivery code
//! flagged, a submit lost after Maileva stored it reconciled without a second letter, and paper limits at
//! intake.

use std::time::Duration;

use relais::config::{MailevaSettings, Postage, ProviderSettings, Secret, Service};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::ar24::states;
use crate::fake_maileva::{self, FakeMaileva, FakeSending, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, letter_body, sample_pdf, spawn_with};
use crate::validation::{assert_nothing_written, fields, problem};

pub(crate) fn settings_for(fake: &FakeMaileva) -> MailevaSettings {
    MailevaSettings {
        sandbox: true,
        base_url: Some(fake.base_url().parse().unwrap()),
        auth_url: Some(fake.auth_url().parse().unwrap()),
        client_id: Secret::new(fake_maileva::CLIENT_ID.into()),
        client_id_file: None,
        client_secret: Secret::new(fake_maileva::CLIENT_SECRET.into()),
        client_secret_file: None,
        username: Secret::new(fake_maileva::USERNAME.into()),
        username_file: None,
        password: Secret::new(fake_maileva::PASSWORD.into()),
        password_file: None,
        postage: Postage::RegisteredMailJ2Ar,
        color_printing: false,
        duplex_printing: false,
        address_sheet: false,
        webhooks: true,
        sync_every: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
        resend_after: Duration::from_secs(3),
        max_requests_per_second: None,
    }
}

/// An app whose default sender sends paper letters through the fake Maileva, once its webhooks are
/// subscribed.
pub(crate) async fn spawn_maileva(
    db: Db,
    tweak: impl FnOnce(&mut relais::config::Settings),
) -> (TestApp, TestEnv, FakeMaileva) {
    let fake = FakeMaileva::start().await;
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.providers.insert("maileva".into(), ProviderSettings::Maileva(settings_for(&fake)));
    let sender = &mut settings.senders[0];
    sender.provider = "maileva".into();
    sender.service = Service::Paper;
    tweak(&mut settings);
    let app = spawn_with(&env, settings).await;
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while fake.subscriptions().len() < relais::providers::maileva::wire::EVENTS.len() {
        assert!(tokio::time::Instant::now() < deadline, "relais never subscribed its webhooks");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (app, env, fake)
}

/// The README letter to an individual who never consented to electronic letters.
pub(crate) fn paper_letter() -> Value {
    let mut body = letter_body("jeanne.martin@exemple.fr");
    body["recipient"]["kind"] = json!("individual");
    body
}

/// Waits until the fake holds a submitted sending for letter `id`.
pub(crate) async fn submitted(fake: &FakeMaileva, id: &str) -> FakeSending {
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    loop {
        if let Some(sending) = fake.submitted_for(id).into_iter().next() {
            return sending;
        }
        assert!(tokio::time::Instant::now() < deadline, "Maileva never received letter {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn proof_kinds(letter: &Value) -> Vec<String> {
    letter["proofs"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap().to_owned()).collect()
}

async fn outcome(db: Db, stage: Stage, state: &str, proof: &str) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    assert!(fake.advance(&sending.id, stage).await, "relais answers Maileva's callbacks with 201");
    let letter = app.wait_for_state(&id, state, OUTCOME_TIMEOUT).await;
    assert_eq!(states(&letter), ["received", "ready", "queued", "submitting", "deposited", state]);
    let kinds = proof_kinds(&letter);
    assert!(kinds.contains(&"deposit".to_owned()) && kinds.contains(&proof.to_owned()), "{kinds:?}");
    assert_eq!(letter["cost"]["amount"], "7.35", "{letter:#}");
    // What was sent: the options of an LRAR, the letter PDF, the address lines.
    assert_eq!(sending.body["custom_id"], id.as_str());
    assert_eq!(sending.body["acknowledgement_of_receipt"], true);
    assert_eq!(sending.body["postage_type"], "URGENT");
    assert_eq!(
        (sending.body["color_printing"].clone(), sending.body["duplex_printing"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(sending.documents.len(), 1, "the letter PDF is the one document");
    let recipient = sending.recipient.as_ref().unwrap();
    assert_eq!(recipient.body["address_line_1"], "Boulangerie Martin SARL");
    assert_eq!(recipient.body["address_line_2"], "Jeanne Martin");
    assert_eq!(recipient.body["address_line_6"], "69003 LYON");
    assert_eq!(fake.submitted_for(&id).len(), 1);
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == state).expect("outcome notice");
    assert_eq!(mail_parser::MessageParser::default().parse(raw).unwrap().attachment_count(), 1);
    app.stop().await;
}

async fn a_paper_letter_to_an_individual_is_delivered_with_its_scanned_receipt(db: Db) {
    outcome(db, Stage::Delivered, "delivered", "receipt").await;
}

async fn a_paper_letter_refused_at_the_door_ends_refused(db: Db) {
    outcome(db, Stage::Refused, "refused", "refusal").await;
}

async fn a_paper_letter_left_at_the_post_office_ends_not_claimed(db: Db) {
    outcome(db, Stage::NotClaimed, "not_claimed", "non_claim").await;
}

async fn a_paper_letter_to_an_unknown_address_ends_bounced(db: Db) {
    outcome(db, Stage::Bounced, "bounced", "bounce").await;
}

async fn a_recipient_known_only_by_address_gets_a_paper_letter_and_the_requester_its_receipt(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let mut body = paper_letter();
    body["recipient"].as_object_mut().unwrap().remove("email");
    let id = app.submit_letter_value(&body).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    assert!(fake.advance(&sending.id, Stage::Delivered).await);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(letter["recipient"].get("email").is_none_or(Value::is_null), "{letter:#}");
    assert!(proof_kinds(&letter).contains(&"receipt".to_owned()));
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == "delivered").expect("the requester hears of the delivery");
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    assert_eq!(message.attachment_count(), 1, "the scanned acknowledgement of receipt is attached");
    let mut no_address = paper_letter();
    no_address["recipient"].as_object_mut().unwrap().remove("email");
    no_address["recipient"].as_object_mut().unwrap().remove("address");
    let p = problem(app.post_letter(&no_address).await, 422).await;
    assert_eq!(fields(&p), ["recipient.address"]);
    app.stop().await;
}

/// An electronic sender (the sandbox) whose letters that cannot go electronically leave on paper.
pub(crate) async fn spawn_with_fallback(db: Db) -> (TestApp, TestEnv, FakeMaileva) {
    spawn_maileva(db, |s| {
        let sender = &mut s.senders[0];
        sender.provider = "sandbox".into();
        sender.service = Service::Simple;
        sender.fallback = Some(relais::config::Fallback::Paper);
        sender.fallback_provider = Some("maileva".into());
    })
    .await
}

async fn an_individual_without_consent_gets_the_letter_on_paper_through_the_fallback(db: Db) {
    let (app, _env, fake) = spawn_with_fallback(db).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    assert!(fake.advance(&sending.id, Stage::Delivered).await);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["name"], "maileva");
    assert!(!states(&letter).contains(&"awaiting_consent".to_owned()), "it did not wait: {letter:#}");
    let queued = letter["events"].as_array().unwrap().iter().find(|e| e["state"] == "queued").unwrap();
    let why = queued["detail"].as_str().unwrap_or_default();
    assert!(why.contains("paper") && why.contains("not consented"), "the timeline says the route and why: {why}");
    assert!(proof_kinds(&letter).contains(&"receipt".to_owned()));
    assert_eq!(fake.sendings().len(), 1, "sent once");
    // A professional needs no consent: the electronic route.
    let mut professional = paper_letter();
    professional["recipient"]["kind"] = json!("professional");
    let electronic = app.submit_letter_value(&professional).await;
    let letter = app.wait_for(&electronic, "sent", |l| l["provider"]["reference"].is_string()).await;
    assert_eq!(letter["provider"]["name"], "sandbox");
    app.stop().await;
}

async fn a_recipient_without_email_goes_on_paper_at_once_through_the_fallback(db: Db) {
    let (app, _env, fake) = spawn_with_fallback(db).await;
    let mut body = paper_letter();
    body["recipient"]["kind"] = json!("professional");
    body["recipient"].as_object_mut().unwrap().remove("email");
    let id = app.submit_letter_value(&body).await;
    let sending = submitted(&fake, &id).await;
    let letter = app.wait_for(&id, "handed to Maileva", |l| l["provider"]["reference"] == sending.id).await;
    let queued = letter["events"].as_array().unwrap().iter().find(|e| e["state"] == "queued").unwrap();
    assert!(queued["detail"].as_str().unwrap_or_default().contains("no email"), "{letter:#}");
    body["recipient"]["address"]["country"] = json!("BE");
    body["recipient"]["address"]["postal_code"] = json!("1000");
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["recipient.address.country"], "paper rules apply at intake to a letter going on paper");
    app.stop().await;
}

async fn a_submit_lost_after_maileva_stored_it_yields_exactly_one_sending(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    fake.hang_next_submit();
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    // The letter's row and its events are two reads: wait on what the adoption writes (the reference, with
    // the state back to submitting) rather than on a state the timeline may be ahead of.
    let adopted = |l: &Value| {
        l["provider"]["reference"] == sending.id.as_str() && states(l).contains(&"needs_attention".to_owned())
    };
    let letter = app.wait_for(&id, "adopted after the timeout", adopted).await;
    let timeline = states(&letter);
    let after_doubt: Vec<&String> = timeline.iter().skip_while(|s| *s != "needs_attention").collect();
    assert!(!after_doubt.contains(&&"queued".to_owned()), "never queued to be sent again: {timeline:?}");
    assert_eq!(after_doubt.get(1).map(|s| s.as_str()), Some("submitting"), "adopted as submitted: {timeline:?}");
    fake.advance(&sending.id, Stage::Delivered).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(fake.sendings().len(), 1, "never sent twice: {:?}", fake.sendings());
    app.stop().await;
}

async fn a_creation_lost_before_submit_is_sent_once_and_its_draft_never_printed(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    fake.hang_next_create();
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    let letter = app.get_letter(&id).await;
    assert!(!states(&letter).contains(&"needs_attention".to_owned()), "nothing was in doubt: {letter:#}");
    assert_eq!(fake.submitted_for(&id).len(), 1);
    let drafts = fake.sendings().into_iter().filter(|s| !s.submitted).count();
    assert!(drafts <= 1, "at most the draft of the lost creation is left, never submitted");
    app.stop().await;
}

async fn an_unmapped_delivery_code_needs_attention_with_the_code(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    fake.advance(&sending.id, Stage::Deposited).await;
    app.wait_for_state(&id, "deposited", OUTCOME_TIMEOUT).await;
    fake.add_code(&sending.id, "LP24");
    app.queue_sync(&id).await;
    let letter = app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["status"], "LP24");
    assert!(letter["state_detail"].as_str().unwrap().contains("LP24"), "{letter:#}");
    app.stop().await;
}

async fn callbacks_are_authenticated_then_refetched_never_trusted(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    let before = states(&app.get_letter(&id).await).len();
    let subscription = fake.subscriptions().into_iter().next().unwrap();
    let forged = json!({"event_type": "ON_MAIN_DELIVERY_STATUS_DELIVERED", "resource_type": "registered_mail/v4/recipients",
                        "resource_id": "whatever", "resource_custom_id": id});
    let url = app.url("/v1/providers/maileva/webhooks");
    let none = app.client.post(&url).json(&forged).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong =
        app.client.post(&url).basic_auth(&subscription.login, Some("guessed")).json(&forged).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app.client.post(&url).basic_auth(&subscription.login, Some(&subscription.password)).json(&forged);
    assert_eq!(right.send().await.unwrap().status(), 201, "an authenticated callback is answered 201");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = app.get_letter(&id).await;
    assert_eq!(after["state"], "submitting", "the callback's claim was checked against the API: {after:#}");
    assert_eq!(states(&after).len(), before);
    assert!(
        !subscription.password.is_empty()
            && !app.services.settings.printable().unwrap().contains(&subscription.password)
    );
    app.stop().await;
}

async fn a_lost_callback_is_caught_by_the_periodic_sync(db: Db) {
    let fast_sync = |s: &mut relais::config::Settings| {
        if let Some(ProviderSettings::Maileva(m)) = s.providers.get_mut("maileva") {
            m.sync_every = Duration::from_millis(300);
        }
    };
    let (app, _env, fake) = spawn_maileva(db, fast_sync).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    fake.advance_silently(&sending.id, Stage::Delivered);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"receipt".to_owned()));
    app.stop().await;
}

async fn tokens_are_refreshed_before_expiry_and_renewed_after_a_401(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    fake.set_token_lifetime(Duration::from_secs(31));
    fake.revoke_tokens();
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    assert_eq!(fake.grants().iter().filter(|g| *g == "password").count(), 2, "a 401 gets a new token once");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.advance(&sending.id, Stage::Delivered).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(fake.grants().contains(&"refresh_token".to_owned()), "{:?}", fake.grants());
    app.stop().await;
}

async fn paper_limits_are_checked_at_intake(db: Db) {
    let more_files = |s: &mut relais::config::Settings| s.storage.max_attachments = 40;
    let (app, _env, fake) = spawn_maileva(db, more_files).await;
    let mut body = paper_letter();
    body["recipient"]["address"]["country"] = json!("BE");
    body["recipient"]["address"]["postal_code"] = json!("1000");
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["recipient.address.country"]);
    let mut form = Form::new().part("letter", Part::text(paper_letter().to_string()));
    for i in 0..30 {
        form = form.part(format!("f{i}"), Part::bytes(sample_pdf()).file_name(format!("piece-{i}.pdf")));
    }
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    let p = problem(response, 422).await;
    assert_eq!(fields(&p), ["attachments"]);
    assert_eq!(p["errors"][0]["code"], "too_many");
    let mut big = sample_pdf();
    big.resize(19_500_000, b' ');
    let form = Form::new()
        .part("letter", Part::text(paper_letter().to_string()))
        .part("big", Part::bytes(big).file_name("big.pdf"));
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    let p = problem(response, 422).await;
    assert_eq!(p["errors"][0]["code"], "too_large", "{p:#}");
    assert_nothing_written(&app).await;
    assert!(fake.sendings().is_empty());
    app.stop().await;
}

async fn the_account_check_obtains_a_token_and_counts_the_subscriptions(db: Db) {
    let (app, _env, _fake) = spawn_maileva(db, |_| {}).await;
    let sender = app.services.settings.senders[0].clone();
    let provider = app.services.providers.get("maileva").unwrap().clone();
    let report = provider.check_account(&sender).await.unwrap();
    assert!(report.contains("credentials work") && report.contains("9 of 9"), "{report}");
    assert!(!report.contains(fake_maileva::PASSWORD) && !report.contains(fake_maileva::CLIENT_SECRET));
    app.stop().await;
}

crate::on_both_databases!(
    a_paper_letter_to_an_individual_is_delivered_with_its_scanned_receipt,
    a_paper_letter_refused_at_the_door_ends_refused,
    a_paper_letter_left_at_the_post_office_ends_not_claimed,
    a_paper_letter_to_an_unknown_address_ends_bounced,
    a_submit_lost_after_maileva_stored_it_yields_exactly_one_sending,
    an_individual_without_consent_gets_the_letter_on_paper_through_the_fallback,
    a_recipient_without_email_goes_on_paper_at_once_through_the_fallback,
    a_recipient_known_only_by_address_gets_a_paper_letter_and_the_requester_its_receipt,
    a_creation_lost_before_submit_is_sent_once_and_its_draft_never_printed,
    an_unmapped_delivery_code_needs_attention_with_the_code,
    callbacks_are_authenticated_then_refetched_never_trusted,
    a_lost_callback_is_caught_by_the_periodic_sync,
    tokens_are_refreshed_before_expiry_and_renewed_after_a_401,
    paper_limits_are_checked_at_intake,
    the_account_check_obtains_a_token_and_counts_the_subscriptions,
);

/// The README's Maileva configuration, loaded as written: it must start.
#[test]
fn the_readme_maileva_configuration_loads_as_written() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("```toml\n[providers.maileva]").expect("the README shows a Maileva configuration") + 8;
    let block = &readme[start..start + readme[start..].find("\n```").unwrap() + 1];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relais.toml");
    std::fs::write(&file, block).unwrap();
    let settings = relais::config::Settings::load(Some(&file)).unwrap_or_else(|e| panic!("{e}\n{block}"));
    let sender = &settings.senders[0];
    assert_eq!((sender.provider.as_str(), sender.service), ("maileva", Service::Paper));
    let ProviderSettings::Maileva(maileva) = &settings.providers["maileva"] else { panic!("not a Maileva account") };
    assert_eq!(maileva.api_url().as_str(), "https://api.sandbox.maileva.net/");
    assert!(!settings.printable().unwrap().contains("my-password"));
}
