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

/// Requests that share a key but not their body, sent together (so that several commit in one batch): one
/// letter; the requests like the one that made it are answered with it, the others with a conflict naming it.
async fn concurrent_requests_with_one_key_and_two_bodies_create_one_letter(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let body = letter_body("split@example.fr");
    let mut other = body.clone();
    other["variables"]["amount_due"] = "99.00".into();
    let bodies: Vec<&Value> = (0..12).map(|i| if i % 2 == 0 { &body } else { &other }).collect();
    let requests = bodies.iter().map(|b| app.post_letter_with_key(b, Some("split-key")));
    let responses = futures_util::future::join_all(requests).await;
    let mut made = Vec::new();
    let mut answers = Vec::new();
    for (response, body) in responses.into_iter().zip(&bodies) {
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        if status == 202 {
            made.push((answer["id"].as_str().unwrap().to_owned(), *body));
        }
        answers.push((status, answer, *body));
    }
    assert_eq!(made.len(), 1, "one request made the letter: {answers:?}");
    let (letter, winner) = &made[0];
    for (status, answer, body) in &answers {
        match *status {
            202 => {}
            200 => {
                assert_eq!(body, winner, "a retry is answered only when its body is the letter's own");
                assert_eq!(answer["id"], *letter);
            }
            409 => {
                assert_ne!(body, winner, "a conflict is only for another body");
                assert_eq!(answer["code"], "idempotency_conflict");
                assert!(answer.to_string().contains(letter.as_str()), "the conflict names the letter: {answer}");
            }
            other => panic!("unexpected status {other}: {answer}"),
        }
    }
    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    app.stop().await;
}

crate::on_both_databases!(
    letter_submission_is_idempotent,
    concurrent_retries_with_one_key_create_one_letter,
    concurrent_requests_with_one_key_and_two_bodies_create_one_letter
);
