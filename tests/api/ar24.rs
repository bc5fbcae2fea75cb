//! relais against a fake AR24 that behaves as AR24 documents: signatures, encrypted answers, errors,
//! per-letter webhooks, proofs, approvals, and a timeout after the letter was stored.

use std::time::Duration;

use relais::config::{Ar24Settings, ProviderSettings, Secret, Service};
use serde_json::{Value, json};

use crate::fake_ar24::{FakeAr24, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};

pub(crate) const SENDER_EMAIL: &str = "claire@exemple.fr";

/// An app whose default sender sends through the fake AR24.
async fn spawn_ar24(db: Db, service: Service) -> (TestApp, TestEnv, FakeAr24, i64) {
    spawn_ar24_with(db, service, |_| {}).await
}

pub(crate) async fn spawn_ar24_with(
    db: Db,
    service: Service,
    tweak: impl FnOnce(&mut Ar24Settings),
) -> (TestApp, TestEnv, FakeAr24, i64) {
    let fake = FakeAr24::start().await;
    let user = fake.add_user(SENDER_EMAIL, true);
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    let mut ar24 = Ar24Settings {
        base_url: fake.base_url().parse().unwrap(),
        token: Secret::new(fake.token().to_owned()),
        token_file: None,
        private_key: Secret::new(fake.private_key().to_owned()),
        private_key_file: None,
        webhook_allowed_ips: vec![],
        sync_every: Duration::from_secs(3600),
        timeout: Duration::from_secs(2),
        resend_after: Duration::from_secs(3),
        max_requests_per_second: None,
    };
    tweak(&mut ar24);
    settings.providers.insert("ar24".into(), ProviderSettings::Ar24(ar24));
    let sender = &mut settings.senders[0];
    sender.provider = "ar24".into();
    sender.provider_user_id = Some(user.to_string());
    sender.service = service;
    let app = spawn_with(&env, settings).await;
    (app, env, fake, user)
}

/// Waits until the fake holds a letter for `id` and returns its AR24 id.
pub(crate) async fn mail_for(fake: &FakeAr24, id: &str) -> i64 {
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    loop {
        if let Some(mail) = fake.mails().into_iter().find(|m| m.ref_dossier.as_deref() == Some(id)) {
            return mail.id;
        }
        assert!(tokio::time::Instant::now() < deadline, "AR24 never received letter {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn states(letter: &Value) -> Vec<String> {
    letter["events"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap().to_owned()).collect()
}

async fn outcome(db: Db, stage: Stage, state: &str, proof: &str) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    assert!(fake.advance(mail, stage).await, "relais answers AR24's webhook with 200");
    let letter = app.wait_for_state(&id, state, OUTCOME_TIMEOUT).await;
    assert_eq!(states(&letter), ["received", "ready", "queued", "submitting", "deposited", state]);
    assert_eq!(letter["provider"]["reference"], mail.to_string());
    let kinds: Vec<&str> = letter["proofs"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"deposit") && kinds.contains(&proof), "{kinds:?}");
    let stored = fake.mails().into_iter().find(|m| m.id == mail).unwrap();
    assert_eq!(stored.dest_statut.as_deref(), Some("professionnel"));
    assert_eq!(stored.ref_client.as_deref(), Some("dossier-881"));
    assert!(!stored.eidas, "a simple sender sends without eIDAS");
    assert_eq!(stored.attachments.len(), 1, "the letter PDF is uploaded as the first attachment");
    let content = stored.content.as_deref().unwrap_or_default();
    assert!(content.contains("<p>Madame, Monsieur,</p>"), "the rendered letter is the content: {content}");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == state).expect("outcome notice");
    assert_eq!(mail_parser::MessageParser::default().parse(raw).unwrap().attachment_count(), 1);
    app.stop().await;
}

async fn a_letter_sent_through_ar24_is_delivered_with_ar24_proofs(db: Db) {
    outcome(db, Stage::Delivered, "delivered", "receipt").await;
}

async fn a_letter_refused_at_ar24_ends_refused(db: Db) {
    outcome(db, Stage::Refused, "refused", "refusal").await;
}

async fn a_letter_ignored_at_ar24_ends_not_claimed(db: Db) {
    outcome(db, Stage::NotClaimed, "not_claimed", "non_claim").await;
}

async fn a_letter_bounced_at_ar24_ends_bounced(db: Db) {
    outcome(db, Stage::Bounced, "bounced", "bounce").await;
}

async fn a_timeout_after_ar24_stored_the_letter_yields_exactly_one_ar24_letter(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    fake.timeout_next_mail();
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    let adopted = |l: &Value| l["state"] == "submitting" && states(l).contains(&"needs_attention".to_owned());
    let letter = app.wait_for(&id, "adopted after the timeout", adopted).await;
    let states = states(&letter);
    let after_doubt: Vec<&String> = states.iter().skip_while(|s| *s != "needs_attention").collect();
    assert!(!after_doubt.contains(&&"queued".to_owned()), "never queued to be sent again: {states:?}");
    assert_eq!(letter["provider"]["reference"], mail.to_string(), "AR24's letter was adopted: {letter:#}");
    assert_eq!(fake.mails().iter().filter(|m| m.ref_dossier.as_deref() == Some(id.as_str())).count(), 1);
    fake.advance(mail, Stage::Delivered).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(fake.mails().len(), 1, "never sent twice");
    app.stop().await;
}

async fn ar24_errors_fail_the_letter_with_a_fix_or_are_retried(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    fake.fail_next_mail("user_no_payment");
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let failed = app.wait_for_state(&id, "failed", OUTCOME_TIMEOUT).await;
    assert!(failed["state_detail"].as_str().unwrap().contains("payment method"), "{failed}");
    assert!(fake.mails().is_empty());

    fake.set_maintenance(true);
    let later = app.submit("compta@boulangerie-martin.fr").await;
    let put_back = |l: &Value| l["state"] == "queued" && states(l).contains(&"submitting".to_owned());
    let queued = app.wait_for(&later, "put back in the queue", put_back).await;
    assert!(queued["state_detail"].as_str().unwrap().contains("maintenance"), "{queued}");
    fake.set_maintenance(false);
    app.stop().await;
}

async fn a_qualified_letter_waits_for_the_senders_code_and_an_expired_session_waits_again(db: Db) {
    let (app, _env, fake, user) = spawn_ar24(db, Service::Qualified).await;
    fake.set_otp(user, "246810");
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let waiting = app.wait_for_state(&id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    assert!(waiting["state_detail"].as_str().unwrap().contains("/v1/senders/default/approvals"));
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    assert!(app.emails_about(&id).iter().any(|(k, _)| k == "awaiting_approval"));

    let wrong = app.post_json("/v1/senders/default/approvals", &json!({"code": "000000"})).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(wrong.json::<Value>().await.unwrap()["errors"][0]["field"], "code");
    let malformed = app.post_json("/v1/senders/default/approvals", &json!({"code": "12ab"})).await;
    assert_eq!(malformed.status(), 422);
    let other = app.post_json("/v1/senders/someone-else/approvals", &json!({"code": "246810"})).await;
    assert_eq!(other.status(), 403);

    let approved = app.post_json("/v1/senders/default/approvals", &json!({"code": "246810"})).await;
    assert_eq!(approved.status(), 201);
    assert_eq!(approved.json::<Value>().await.unwrap()["released_letters"], 1);
    let mail = mail_for(&fake, &id).await;
    let stored = fake.mails().into_iter().find(|m| m.id == mail).unwrap();
    assert!(stored.eidas, "a qualified letter is sent with eidas=1 and the session hash");
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;

    // AR24 ends the session early: the next letter is refused by AR24 and waits for a new code.
    fake.expire_otp_sessions();
    let next = app.submit("compta@boulangerie-martin.fr").await;
    let again = app.wait_for_state(&next, "awaiting_approval", OUTCOME_TIMEOUT).await;
    assert!(states(&again).contains(&"submitting".to_owned()), "it was tried under the expired session");
    assert_eq!(fake.mails().len(), 1, "nothing was sent under the expired session");
    let renewed = app.post_json("/v1/senders/default/approvals", &json!({"code": "246810"})).await;
    assert_eq!(renewed.json::<Value>().await.unwrap()["released_letters"], 1);
    mail_for(&fake, &next).await;
    app.stop().await;
}

async fn forged_ar24_webhooks_change_nothing(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    let events = states(&app.get_letter(&id).await).len();
    let form = [("id_mail", mail.to_string()), ("new_state", "AR".to_owned())];
    let post = |path: String| app.client.post(app.url(&path)).form(&form).send();
    let wrong_secret =
        post(format!("/v1/providers/ar24/webhooks/{id}/0123456789abcdef0123456789abcdef")).await.unwrap();
    assert_eq!(wrong_secret.status(), 401);
    let no_letter = post("/v1/providers/ar24/webhooks".to_owned()).await.unwrap();
    assert_eq!(no_letter.status(), 401);
    let unknown = post("/v1/providers/ar24/webhooks/ltr_01jzzzzzzzzzzzzzzzzzzzzzzz/00".to_owned()).await.unwrap();
    assert_eq!(unknown.status(), 401, "an unknown letter cannot have a valid secret");
    let after = app.get_letter(&id).await;
    assert_eq!(after["state"], "submitting");
    assert_eq!(states(&after).len(), events);
    app.stop().await;
}

async fn an_unknown_ar24_status_needs_attention_and_keeps_the_raw_status(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    fake.set_unknown_status(mail, "archived_by_robot");
    app.queue_sync(&id).await;
    let letter = app.wait_for_state(&id, "needs_attention", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["provider"]["status"], "archived_by_robot");
    assert!(letter["state_detail"].as_str().unwrap().contains("archived_by_robot"));
    fake.advance(mail, Stage::Delivered).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

async fn attachments_over_ar24s_limit_fail_the_letter_with_a_fix(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    fake.set_attachment_limit(1_000);
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let failed = app.wait_for_state(&id, "failed", OUTCOME_TIMEOUT).await;
    let detail = failed["state_detail"].as_str().unwrap();
    assert!(detail.to_lowercase().contains("too big") || detail.contains("size"), "{detail}");
    assert!(fake.mails().is_empty(), "no letter was sent");
    app.stop().await;
}

/// A small attachment (kept in the database) and a large one (kept in a file) reach AR24 byte for byte, with
/// their names, after the letter itself.
async fn attachments_kept_in_the_database_or_on_disk_reach_ar24_unchanged(db: Db) {
    use base64::Engine;
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let small = crate::helpers::sample_pdf();
    let mut large = small.clone();
    large.resize(300 * 1024, b'%'); // past what the database keeps
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = crate::helpers::letter_body("compta@boulangerie-martin.fr");
    body["attachments"] = json!([
        {"filename": "facture.pdf", "content_base64": b64(&small)},
        {"filename": "releve.pdf", "content_base64": b64(&large)}
    ]);
    let response = app.post_letter(&body).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let mail = mail_for(&fake, &id).await;
    let stored = fake.mails().into_iter().find(|m| m.id == mail).unwrap();
    let uploaded = fake.attachments();
    let sent: Vec<(String, String)> = stored
        .attachments
        .iter()
        .map(|a| uploaded.iter().find(|u| u.id == *a).unwrap())
        .map(|u| (u.file_name.clone(), u.sha256.clone()))
        .collect();
    let sha256 = |bytes: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    assert_eq!(sent.len(), 3, "the letter, then its two files: {sent:?}");
    assert_eq!(sent[1], ("facture.pdf".to_owned(), sha256(&small)));
    assert_eq!(sent[2], ("releve.pdf".to_owned(), sha256(&large)));
    app.stop().await;
}

async fn the_account_check_makes_a_signed_call_and_reports_the_identity(db: Db) {
    let (app, _env, fake, user) = spawn_ar24(db, Service::Qualified).await;
    let sender = app.services.settings.senders[0].clone();
    let provider = app.services.providers.get("ar24").unwrap().clone();
    let report = provider.check_account(&sender).await.unwrap();
    assert!(report.contains("credentials work") && report.contains("identity verified"), "{report}");
    fake.set_user_flag(user, "is_identity_verified", false);
    let report = provider.check_account(&sender).await.unwrap();
    assert!(report.contains("NOT verified"), "{report}");
    assert!(fake.requests().iter().any(|r| r.path.ends_with("/user") && r.signature.is_some()));
    app.stop().await;
}

async fn linking_a_sender_creates_its_ar24_user_or_requests_access(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let provider = app.services.providers.get("ar24").unwrap().clone();
    let mut newcomer = app.services.settings.senders[0].clone();
    newcomer.siret = "12345678900011".into();
    newcomer.email = relais::domain::EmailAddress::parse("nouveau@exemple.fr").unwrap();
    let outcome = provider.link_sender(&newcomer).await.unwrap();
    let relais::providers::LinkOutcome::Created { user_id } = outcome else { panic!("{outcome:?}") };
    assert!(fake.users().iter().any(|u| u.id.to_string() == user_id && u.email == "nouveau@exemple.fr"));
    let existing = app.services.settings.senders[0].clone();
    let mut known = existing.clone();
    known.siret = "12345678900011".into();
    known.email = relais::domain::EmailAddress::parse(SENDER_EMAIL).unwrap();
    assert_eq!(provider.link_sender(&known).await.unwrap(), relais::providers::LinkOutcome::AccessRequested);
    assert!(fake.access_requests().iter().any(|e| e == SENDER_EMAIL), "{:?}", fake.access_requests());
    app.stop().await;
}

async fn webhooks_from_outside_the_allow_list_are_refused_and_the_sweep_catches_up(db: Db) {
    let only_ar24 = |a: &mut Ar24Settings| {
        a.webhook_allowed_ips = vec!["185.183.140.195".parse().unwrap()];
        a.sync_every = Duration::from_millis(500);
    };
    let (app, _env, fake, _) = spawn_ar24_with(db, Service::Simple, only_ar24).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    app.wait_for_state(&id, "submitting", OUTCOME_TIMEOUT).await;
    assert!(!fake.advance(mail, Stage::Delivered).await, "a webhook from 127.0.0.1 is refused");
    // The provider's record is the truth: the periodic sync finds the outcome the webhook could not bring.
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(states(&letter), ["received", "ready", "queued", "submitting", "deposited", "delivered"]);
    app.stop().await;
}

async fn a_garbage_webhook_on_the_right_url_changes_nothing(db: Db) {
    let (app, _env, fake, _) = spawn_ar24(db, Service::Simple).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let mail = mail_for(&fake, &id).await;
    // Once relais knows AR24's id for the letter, a webhook naming another id is refused.
    app.wait_for(&id, "given its AR24 id", |l| l["provider"]["reference"].is_string()).await;
    let url = fake.mail(mail).unwrap().webhook.expect("relais gave AR24 a per-letter webhook URL");
    assert!(url.contains(&id), "{url}");
    let garbage = app.client.post(&url).header("content-type", "application/octet-stream").body(vec![0xff, 0x00, 0x13]);
    assert_eq!(garbage.send().await.unwrap().status(), 401);
    let other = fake.mails().len();
    let lying = app.client.post(&url).form(&[("id_mail", "999999"), ("new_state", "AR")]).send().await.unwrap();
    assert_eq!(lying.status(), 404, "the id_mail must be this letter's");
    assert_eq!(app.get_letter(&id).await["state"], "submitting");
    assert_eq!(fake.mails().len(), other);
    app.stop().await;
}

crate::on_both_databases!(
    webhooks_from_outside_the_allow_list_are_refused_and_the_sweep_catches_up,
    a_garbage_webhook_on_the_right_url_changes_nothing,
    linking_a_sender_creates_its_ar24_user_or_requests_access,
    attachments_over_ar24s_limit_fail_the_letter_with_a_fix,
    attachments_kept_in_the_database_or_on_disk_reach_ar24_unchanged,
    the_account_check_makes_a_signed_call_and_reports_the_identity,
    a_letter_sent_through_ar24_is_delivered_with_ar24_proofs,
    a_letter_refused_at_ar24_ends_refused,
    a_letter_ignored_at_ar24_ends_not_claimed,
    a_letter_bounced_at_ar24_ends_bounced,
    a_timeout_after_ar24_stored_the_letter_yields_exactly_one_ar24_letter,
    ar24_errors_fail_the_letter_with_a_fix_or_are_retried,
    a_qualified_letter_waits_for_the_senders_code_and_an_expired_session_waits_again,
    forged_ar24_webhooks_change_nothing,
    an_unknown_ar24_status_needs_attention_and_keeps_the_raw_status,
);
