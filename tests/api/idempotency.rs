//! A retried request with the same Idempotency-Key returns the same letter; a different request is a conflict.

use serde_json::Value;

use crate::helpers::{Db, letter_body, spawn_app};

async fn letter_submission_is_idempotent(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let body = letter_body("idem@example.fr");
    let first = app.post_letter_with_key(&body, Some("order-42")).await;
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let again = app.post_letter_with_key(&body, Some("order-42")).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    let mut other = body.clone();
    other["variables"]["amount_due"] = "99.00".into();
    let conflict = app.post_letter_with_key(&other, Some("order-42")).await;
    assert_eq!(conflict.status(), 409);
    let problem: Value = conflict.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_conflict");

    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1, "one letter for one key");
    app.stop().await;
}

async fn concurrent_retries_with_one_key_create_one_letter(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let body = letter_body("race@example.fr");
    let requests = (0..8).map(|_| app.post_letter_with_key(&body, Some("same-key")));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = Vec::new();
    for r in responses {
        assert!(r.status() == 200 || r.status() == 202, "{}", r.status());
        ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry got the same letter");
    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    app.stop().await;
}

crate::on_both_databases!(letter_submission_is_idempotent, concurrent_retries_with_one_key_create_one_letter);
