//! Callbacks that do not come from `POST /v1/callbacks`: a letter's own `callback_url` (signed with the
//! request's `callback_secret`, else the sender's), and the sender's default endpoints from the configuration,
//! applied once however often relais starts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use relais::config::{Secret, SenderCallback};
use serde_json::{Value, json};

use crate::callbacks::{Answer, Receiver, loopback_settings, types};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, letter_body, spawn_app, spawn_with};

fn secret(byte: u8) -> String {
    format!("whsec_{}", STANDARD.encode([byte; 32]))
}

async fn problem_fields(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

async fn a_letters_callback_url_hears_of_that_letter_only_signed_with_its_secret(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, loopback_settings(&env)).await;
    let receiver = Receiver::start(vec![Answer::Status(200)]).await;
    let own = secret(7);
    let mut body = letter_body("compta@boulangerie-martin.fr");
    body["callback_url"] = json!(receiver.url());
    body["callback_secret"] = json!(own);
    let id = app.submit_letter_value(&body).await;
    let other = app.submit("autre@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.wait_for_state(&other, "delivered", OUTCOME_TIMEOUT).await;
    receiver.wait_for("the three events of the letter", |d| d.len() >= 3).await;

    let bodies = receiver.verified(&own);
    assert_eq!(types(&bodies), ["letter.accepted", "letter.deposited", "letter.delivered"]);
    assert!(bodies.iter().all(|b| b["data"]["id"] == id.as_str()), "the other letter is not told here");
    let letter = app.get_letter(&id).await;
    assert_eq!(letter["callback"]["url"], receiver.url());
    let endpoint = letter["callback"]["id"].as_str().unwrap();
    let attempts: Value = app.get(&format!("/v1/callbacks/{endpoint}/attempts")).await.json().await.unwrap();
    assert!(attempts["attempts"].as_array().unwrap().len() >= 3, "{attempts}");
    let listed: Value = app.get("/v1/callbacks").await.json().await.unwrap();
    assert_eq!(listed["callbacks"], json!([]), "a letter's endpoint is not one of the sender's");
    let answer = app.get_letter(&other).await;
    assert_eq!(answer["callback"], Value::Null);
    assert!(!letter.to_string().contains(&own), "the secret is never shown");
    app.stop().await;
}

async fn a_callback_url_needs_a_secret_and_an_address_the_guard_accepts(db: Db) {
    let (app, env) = spawn_app(db).await;
    let mut body = letter_body("compta@boulangerie-martin.fr");
    body["callback_url"] = json!("https://127.0.0.1:9/hook");
    body["callback_secret"] = json!(secret(1));
    assert_eq!(problem_fields(app.post_letter(&body).await).await, ["callback_url"]);
    body["callback_url"] = json!("https://erp.example.fr/hook");
    body["callback_secret"] = json!("not-a-whsec");
    assert_eq!(problem_fields(app.post_letter(&body).await).await, ["callback_secret"]);
    body.as_object_mut().unwrap().remove("callback_secret");
    assert_eq!(problem_fields(app.post_letter(&body).await).await, ["callback_url"], "no secret to sign with");
    let form = reqwest::multipart::Form::new().part("letter", reqwest::multipart::Part::text(body.to_string()));
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    assert_eq!(problem_fields(response).await, ["callback_url"], "the same rules in a multipart request");
    let listed: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(listed["data"], json!([]), "nothing was written");
    app.stop().await;

    // With the sender's callback secret configured, a callback_url alone is signed with it.
    let mut settings = loopback_settings(&env);
    let senders = secret(9);
    settings.senders[0].callback_secret = Secret::new(senders.clone());
    let app = spawn_with(&env, settings).await;
    let receiver = Receiver::start(vec![Answer::Status(204)]).await;
    body["callback_url"] = json!(receiver.url());
    let form = reqwest::multipart::Form::new().part("letter", reqwest::multipart::Part::text(body.to_string()));
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    receiver.wait_for("the accepted event", |d| !d.is_empty()).await;
    assert_eq!(types(&receiver.verified(&senders))[0], "letter.accepted");
    app.stop().await;
}

async fn configured_endpoints_are_applied_once_however_often_relais_starts(db: Db) {
    let env = TestEnv::new(db).await;
    let receiver = Receiver::start(vec![Answer::Status(200)]).await;
    let configured = secret(3);
    let mut settings = loopback_settings(&env);
    settings.senders[0].callbacks = vec![SenderCallback {
        url: receiver.url().parse().unwrap(),
        events: vec!["letter.delivered".into()],
        secret: Secret::new(configured.clone()),
        secret_file: None,
        description: Some("ERP".into()),
    }];
    let app = spawn_with(&env, settings.clone()).await;
    app.stop().await;
    let app = spawn_with(&env, settings.clone()).await;
    let listed: Value = app.get("/v1/callbacks").await.json().await.unwrap();
    let endpoints = listed["callbacks"].as_array().unwrap();
    assert_eq!(endpoints.len(), 1, "two starts, one endpoint: {listed}");
    assert_eq!(
        (endpoints[0]["origin"].as_str(), endpoints[0]["events"].clone()),
        (Some("config"), json!(["letter.delivered"]))
    );
    assert!(!listed.to_string().contains(&configured), "the secret is never shown");
    let endpoint = endpoints[0]["id"].as_str().unwrap().to_owned();
    let deleted = app.client.delete(app.url(&format!("/v1/callbacks/{endpoint}"))).bearer_auth(&app.api_key);
    assert_eq!(deleted.send().await.unwrap().status(), 409, "changed in the configuration, not through the API");

    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    receiver.wait_for("the delivered event", |d| !d.is_empty()).await;
    assert_eq!(types(&receiver.verified(&configured)), ["letter.delivered"]);
    app.stop().await;

    settings.senders[0].callbacks.clear();
    let app = spawn_with(&env, settings).await;
    let listed: Value = app.get("/v1/callbacks").await.json().await.unwrap();
    assert_eq!(listed["callbacks"], json!([]), "removed from the configuration, removed at start");
    app.stop().await;
}

async fn a_configured_endpoint_the_guard_refuses_stops_the_start_naming_the_key(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.senders[0].callbacks = vec![SenderCallback {
        url: "https://10.0.0.8/hook".parse().unwrap(),
        events: vec![],
        secret: Secret::new(secret(4)),
        secret_file: None,
        description: None,
    }];
    let error = relais::startup::Application::build(settings).await.err().expect("refused");
    assert!(error.to_string().contains("senders[0].callbacks[0].url"), "{error}");
}

crate::on_both_databases!(
    a_letters_callback_url_hears_of_that_letter_only_signed_with_its_secret,
    a_callback_url_needs_a_secret_and_an_address_the_guard_accepts,
    configured_endpoints_are_applied_once_however_often_relais_starts,
    a_configured_endpoint_the_guard_refuses_stops_the_start_naming_the_key,
);
