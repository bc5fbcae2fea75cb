//! Consent requests through Maileva's `electronic_consents/v1`: an accepted one records the consent with
//! Maileva's proof and releases the letter waiting for it; a refused one sends that letter on paper through
//! the fallback; asking twice sends nothing new; bad input is named.

use std::time::Duration;

use relais::config::{Fallback, ProviderSettings, Service, Settings};
use serde_json::{Value, json};

use crate::ar24::states;
use crate::fake_maileva::FakeMaileva;
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_app};
use crate::maileva::{paper_letter, spawn_maileva, submitted};
use crate::validation::{fields, problem};

const MAILEVA_SENDER: &str = "4f9c0b2e-7d1a-4c3e-9b8a-2f6d5e4c3b2a";

/// An electronic sender (the sandbox) with a paper fallback through Maileva after a long wait, so that its
/// letters to individuals wait for consent; Maileva's answers are looked at every 300 ms.
async fn spawn_asking(db: Db) -> (TestApp, TestEnv, FakeMaileva) {
    spawn_maileva(db, |s: &mut Settings| {
        let sender = &mut s.senders[0];
        sender.provider = "sandbox".into();
        sender.service = Service::Simple;
        sender.fallback = Some(Fallback::Paper);
        sender.fallback_provider = Some("maileva".into());
        sender.fallback_after = Duration::from_secs(3600);
        sender.maileva_sender_id = Some(MAILEVA_SENDER.into());
        if let Some(ProviderSettings::Maileva(m)) = s.providers.get_mut("maileva") {
            m.sync_every = Duration::from_millis(300);
        }
    })
    .await
}

async fn ask(app: &TestApp, body: &Value) -> reqwest::Response {
    let url = app.url("/v1/consents/requests");
    app.client.post(url).bearer_auth(&app.api_key).json(body).send().await.unwrap()
}

async fn requests_to(app: &TestApp, email: &str) -> Value {
    let url = app.url(&format!("/v1/consents/requests?email={email}"));
    app.client.get(url).bearer_auth(&app.api_key).send().await.unwrap().json().await.unwrap()
}

/// A letter to an individual at `email`, waiting for their consent.
async fn waiting_letter(app: &TestApp, email: &str) -> String {
    let mut body = paper_letter();
    body["recipient"]["email"] = json!(email);
    let id = app.submit_letter_value(&body).await;
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    id
}

/// The text of the requester's `paper_fallback` email about a letter, once sent (the letter keeps a job for
/// the end of its wait, so its jobs are never all done).
async fn paper_fallback_email(app: &TestApp, id: &str) -> String {
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    loop {
        let emails = app.emails_about(id);
        if let Some((_, raw)) = emails.iter().find(|(k, _)| k == "paper_fallback") {
            let message = mail_parser::MessageParser::default().parse(raw).unwrap();
            return message.body_text(0).unwrap_or_default().into_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no paper_fallback email about {id}: {emails:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn request_for(email: &str, last_name: &str) -> Value {
    json!({"sender": "default", "email": email, "first_name": "Jeanne", "last_name": last_name})
}

async fn an_accepted_request_records_the_consent_with_its_proof_and_releases_the_letter(db: Db) {
    let (app, _env, fake) = spawn_asking(db).await;
    let email = "jeanne.martin@exemple.fr";
    let id = waiting_letter(&app, email).await;
    let answer = ask(&app, &request_for(email, "Martin")).await;
    assert_eq!(answer.status(), 202);
    let request: Value = answer.json().await.unwrap();
    assert_eq!(request["state"], "pending", "{request:#}");
    let consents = fake.consents();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].body["sender_id"], MAILEVA_SENDER);
    assert_eq!(consents[0].body["custom_id"], request["id"]);
    assert_eq!(request["provider_reference"], consents[0].id.as_str());
    let letter = app.wait_for(&id, "released by the consent", |l| l["provider"]["reference"].is_string()).await;
    assert_eq!(letter["provider"]["name"], "sandbox", "released electronically: {letter:#}");
    assert!(states(&letter).iter().skip_while(|s| *s != "awaiting_consent").any(|s| s == "ready"));
    let listed = requests_to(&app, email).await;
    assert_eq!(listed["data"][0]["state"], "accepted", "{listed:#}");
    let consent_id = listed["data"][0]["consent_id"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/v1/consents?email={email}"));
    let registry: Value = app.client.get(url).bearer_auth(&app.api_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(registry["consented"], true);
    let recorded = &registry["data"][0];
    assert_eq!(recorded["id"], consent_id.as_str());
    let sha256 = recorded["proof_sha256"].as_str().unwrap_or_default();
    assert_eq!(sha256.len(), 64, "Maileva's proof is archived with its SHA-256: {registry:#}");
    assert!(fake.sendings().is_empty(), "nothing went on paper");
    app.stop().await;
}

async fn a_refused_request_sends_the_waiting_letter_on_paper_through_the_fallback(db: Db) {
    let (app, _env, fake) = spawn_asking(db).await;
    let email = "paul.refus@exemple.fr";
    let id = waiting_letter(&app, email).await;
    assert_eq!(ask(&app, &request_for(email, "Refus")).await.status(), 202);
    let sending = submitted(&fake, &id).await;
    let letter = app.wait_for(&id, "handed to Maileva", |l| l["provider"]["reference"] == sending.id).await;
    assert_eq!(letter["provider"]["name"], "maileva");
    let queued = letter["events"].as_array().unwrap().iter().rfind(|e| e["state"] == "queued").unwrap();
    let why = queued["detail"].as_str().unwrap_or_default();
    assert!(why.contains("paper") && why.contains("refused the consent request"), "{why}");
    let listed = requests_to(&app, email).await;
    assert_eq!(listed["data"][0]["state"], "refused", "{listed:#}");
    assert!(listed["data"][0]["consent_id"].is_null());
    let url = app.url(&format!("/v1/consents?email={email}"));
    let registry: Value = app.client.get(url).bearer_auth(&app.api_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(registry["consented"], false);
    assert_eq!(fake.submitted_for(&id).len(), 1);
    let told = paper_fallback_email(&app, &id).await;
    assert!(told.contains("a refusé la demande de consentement"), "the requester is told why, in French: {told}");
    // A request left unanswered until it expires sends the letter on paper the same way.
    let email = "lucie.expire@exemple.fr";
    let id = waiting_letter(&app, email).await;
    assert_eq!(ask(&app, &request_for(email, "Expire")).await.status(), 202);
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "handed to Maileva", |l| l["provider"]["reference"] == sending.id).await;
    assert_eq!(requests_to(&app, email).await["data"][0]["state"], "expired");
    assert!(paper_fallback_email(&app, &id).await.contains("n'a pas répondu à temps"));
    app.stop().await;
}

async fn asking_again_while_a_request_is_pending_answers_it_and_sends_nothing(db: Db) {
    let (app, _env, fake) = spawn_asking(db).await;
    let email = "lea.silence@exemple.fr";
    let first = ask(&app, &request_for(email, "Silence")).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let mut shouted = request_for("Lea.Silence@Exemple.fr", "Silence");
    shouted["company"] = json!("Atelier Silence");
    let second = ask(&app, &shouted).await;
    assert_eq!(second.status(), 200, "the pending request is answered");
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    let consents = fake.consents();
    assert_eq!(consents.len(), 1, "one consent at Maileva");
    assert_eq!(consents[0].requests.len(), 1, "the recipient was asked once");
    // The follow-up keeps looking without asking again.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(fake.consents()[0].requests.len(), 1);
    assert_eq!(requests_to(&app, email).await["data"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn a_request_abandoned_before_maileva_answered_is_replaced_not_kept_pending(db: Db) {
    let (app, _env, fake) = spawn_asking(db).await;
    let email = "marc.durand@exemple.fr";
    let long_ago = relais::store::now_ms() - 3_600_000;
    let stale = relais::store::ConsentRequestRecord {
        id: relais::domain::ConsentRequestId::generate(),
        sender_id: "default".parse().unwrap(),
        email: email.into(),
        first_name: "Marc".into(),
        last_name: "Durand".into(),
        company: None,
        waiting_days: None,
        provider: "maileva".into(),
        provider_ref: None,
        state: relais::store::RequestState::Pending,
        state_detail: None,
        consent_id: None,
        created_at: long_ago,
        updated_at: long_ago,
    };
    let mut tx = app.store.begin().await.unwrap();
    assert!(relais::store::consent_requests::insert_pending(&mut tx, &stale).await.unwrap());
    tx.commit().await.unwrap();
    let answer = ask(&app, &request_for(email, "Durand")).await;
    assert_eq!(answer.status(), 202, "a new request, not the abandoned one");
    let listed = requests_to(&app, email).await;
    let by_state =
        |id: &str| listed["data"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()["state"].clone();
    assert_eq!(by_state(stale.id.as_str()), "failed", "{listed:#}");
    assert_eq!(fake.consents().len(), 1);
    app.stop().await;
}

async fn bad_requests_are_refused_naming_the_field(db: Db) {
    let (app, _env, fake) = spawn_asking(db).await;
    let cases = [
        (json!({"email": "jeanne.martin@exemple.fr", "first_name": "Jeanne"}), vec!["last_name"]),
        (json!({"email": "pas-une-adresse", "first_name": "Jeanne", "last_name": "Martin"}), vec!["email"]),
        (json!({"first_name": " ", "last_name": "Martin"}), vec!["email", "first_name"]),
        (
            json!({"email": "j@exemple.fr", "first_name": "J", "last_name": "M", "waiting_days": 45}),
            vec!["waiting_days"],
        ),
    ];
    for (body, expected) in cases {
        let p = problem(ask(&app, &body).await, 422).await;
        assert_eq!(fields(&p), expected, "{body}: {p:#}");
    }
    let unknown =
        ask(&app, &json!({"email": "j@exemple.fr", "first_name": "J", "last_name": "M", "message": "x"})).await;
    assert_eq!(unknown.status(), 400, "an unknown field is refused, as everywhere in the API");
    let other = json!({"sender": "someone-else", "email": "j@exemple.fr", "first_name": "J", "last_name": "M"});
    assert_eq!(ask(&app, &other).await.status(), 403);
    let p =
        problem(app.client.get(app.url("/v1/consents/requests")).bearer_auth(&app.api_key).send().await.unwrap(), 422)
            .await;
    assert_eq!(fields(&p), ["email"]);
    fake.fail_next_consent_request("INVALID_EMAIL");
    let refused = ask(&app, &request_for("jeanne.martin@exemple.fr", "Martin")).await;
    assert_eq!(refused.status(), 502);
    assert!(fake.consents().is_empty(), "the consent nobody was asked for is deleted");
    let listed = requests_to(&app, "jeanne.martin@exemple.fr").await;
    assert_eq!(listed["data"][0]["state"], "failed", "{listed:#}");
    assert_eq!(ask(&app, &request_for("jeanne.martin@exemple.fr", "Martin")).await.status(), 202, "asked anew");
    app.stop().await;
    // A sender without a Maileva account cannot ask.
    let (app, _env) = spawn_app(db).await;
    let p = problem(ask(&app, &request_for("jeanne.martin@exemple.fr", "Martin")).await, 422).await;
    assert_eq!(fields(&p), ["sender"]);
    app.stop().await;
}

crate::on_both_databases!(
    an_accepted_request_records_the_consent_with_its_proof_and_releases_the_letter,
    a_refused_request_sends_the_waiting_letter_on_paper_through_the_fallback,
    asking_again_while_a_request_is_pending_answers_it_and_sends_nothing,
    a_request_abandoned_before_maileva_answered_is_replaced_not_kept_pending,
    bad_requests_are_refused_naming_the_field,
);
