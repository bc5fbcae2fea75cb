//! Individuals must have consented: their letters wait, the requester is told why, consent releases them.

use serde_json::{Value, json};

use crate::helpers::{Db, OUTCOME_TIMEOUT, letter_body, spawn_app};

fn individual(email: &str) -> Value {
    let mut body = letter_body(email);
    body["recipient"]["kind"] = json!("individual");
    body["recipient"].as_object_mut().unwrap().remove("company");
    body
}

async fn a_letter_to_an_individual_waits_for_consent_and_leaves_once_it_is_recorded(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let response = app.post_letter(&individual("Jeanne.Martin@Example.fr")).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let waiting = app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    assert!(waiting["state_detail"].as_str().unwrap().contains("L.100"), "{waiting}");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    assert!(emails.iter().any(|(k, _)| k == "awaiting_consent"), "the requester is told what to do");

    let none: Value = app.get("/v1/consents?email=jeanne.martin@example.fr").await.json().await.unwrap();
    assert_eq!(none["consented"], false);
    let recorded = app
        .post_json(
            "/v1/consents",
            &json!({"email": "jeanne.martin@example.fr", "given_at": "2026-11-02",
                                           "source": "formulaire signé le 2 novembre 2026",
                                           "proof_base64": "JVBERi0xLjQK"}),
        )
        .await;
    assert_eq!(recorded.status(), 201);
    let recorded: Value = recorded.json().await.unwrap();
    assert_eq!(recorded["released_letters"], 1);
    let listed: Value = app.get("/v1/consents?email=JEANNE.MARTIN@example.fr").await.json().await.unwrap();
    assert_eq!(listed["consented"], true);
    assert_eq!(listed["data"][0]["source"], "formulaire signé le 2 novembre 2026");

    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

async fn a_letter_to_a_recipient_of_unknown_kind_counts_as_an_individual(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut body = letter_body("inconnu@example.fr");
    body["recipient"].as_object_mut().unwrap().remove("kind");
    let response = app.post_letter(&body).await;
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

async fn a_waiting_letter_can_be_cancelled_but_a_deposited_one_cannot(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = app.post_letter(&individual("annule@example.fr")).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    let cancelled = app.post_json(&format!("/v1/letters/{id}/cancel"), &json!({})).await;
    assert_eq!(cancelled.status(), 200);
    assert_eq!(cancelled.json::<Value>().await.unwrap()["state"], "cancelled");
    // Consent recorded afterwards does not revive it.
    app.post_json("/v1/consents", &json!({"email": "annule@example.fr", "source": "portail"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.get_letter(&id).await["state"], "cancelled");

    let sent = app.submit("pro@example.fr").await;
    app.wait_for_state(&sent, "delivered", OUTCOME_TIMEOUT).await;
    let too_late = app.post_json(&format!("/v1/letters/{sent}/cancel"), &json!({})).await;
    assert_eq!(too_late.status(), 409);
    assert_eq!(too_late.json::<Value>().await.unwrap()["code"], "not_cancellable");
    app.stop().await;
}

crate::on_both_databases!(
    a_letter_to_an_individual_waits_for_consent_and_leaves_once_it_is_recorded,
    a_letter_to_a_recipient_of_unknown_kind_counts_as_an_individual,
    a_waiting_letter_can_be_cancelled_but_a_deposited_one_cannot,
);
