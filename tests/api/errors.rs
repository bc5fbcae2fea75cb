//! Errors tell the client the truth: a busy or lost database is a 503 to retry with the same key, every
//! error of every route is problem+json, and French notices say things in French.

use std::time::Duration;

use sqlx::Connection;

use crate::helpers::{Db, TestEnv, letter_body, spawn_app, spawn_with};
use crate::validation::problem;

/// Holds the database's write lock from another connection while a letter is submitted, then makes the
/// committer's statement fail as a busy or lost database does: SQLite answers BUSY after `busy_timeout`;
/// PostgreSQL has the waiting connection terminated, as a failover or restart would.
async fn a_transient_store_failure_in_group_commit_is_503_with_retry_after(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.database.busy_timeout = Duration::from_millis(300);
    let app = spawn_with(&env, settings).await;
    let body = letter_body("a@example.fr");
    let response = match db {
        Db::Sqlite => {
            let mut blocker = sqlx::SqliteConnection::connect(&env.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
            let response = app.post_letter_with_key(&body, Some("retry-me")).await;
            sqlx::raw_sql("ROLLBACK").execute(&mut blocker).await.unwrap();
            response
        }
        Db::Postgres => {
            let mut blocker = sqlx::PgConnection::connect(&env.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN; LOCK TABLE letters IN ACCESS EXCLUSIVE MODE").execute(&mut blocker).await.unwrap();
            let request = app.post_letter_with_key(&body, Some("retry-me"));
            let terminate = async {
                let mut admin = sqlx::PgConnection::connect(&env.database_url).await.unwrap();
                for _ in 0..200 {
                    let killed: Vec<(bool,)> = sqlx::query_as(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
                         AND pid <> pg_backend_pid() AND query LIKE '%INSERT INTO letters%' AND wait_event_type = 'Lock'",
                    )
                    .fetch_all(&mut admin)
                    .await
                    .unwrap();
                    if !killed.is_empty() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                panic!("the submission never waited on the lock");
            };
            let (response, ()) = tokio::join!(request, terminate);
            sqlx::raw_sql("ROLLBACK").execute(&mut blocker).await.unwrap();
            response
        }
    };
    assert!(response.headers().get("retry-after").is_some(), "a 503 says when to retry");
    let p = problem(response, 503).await;
    assert_eq!(p["code"], "unavailable");
    let retried = app.post_letter_with_key(&body, Some("retry-me")).await;
    assert_eq!(retried.status(), 202, "the retry with the same key succeeds");
    app.stop().await;
}

async fn every_error_of_every_route_is_problem_json(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.mime.ingress_key = relais::config::Secret::new("ingress-key-for-tests".into());
    settings.intake.max_message_size = relais::config::ByteSize(1_000);
    let app = spawn_with(&env, settings).await;

    let response = app.client.delete(app.url("/v1/letters")).bearer_auth(&app.api_key).send().await.unwrap();
    assert!(response.headers().get("allow").is_some(), "405 keeps its Allow header");
    assert_eq!(problem(response, 405).await["code"], "method_not_allowed");

    let p = problem(app.get("/v1/letters?limit=many").await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("query"), "{p}");

    // The server may answer 413 and close while the client still writes: the client then sees a reset,
    // not the answer, so the request is tried again.
    let too_large = |path: &'static str, size: usize| {
        let request = app
            .client
            .post(app.url(path))
            .bearer_auth("ingress-key-for-tests")
            .header("content-type", "message/rfc822")
            .body(vec![b'x'; size]);
        async move {
            for _ in 0..5 {
                if let Ok(response) = request.try_clone().unwrap().send().await {
                    return response;
                }
            }
            panic!("no answer from {path}");
        }
    };
    assert_eq!(problem(too_large("/v1/providers/sandbox/webhooks", 3_000_000).await, 413).await["code"], "too_large");
    assert_eq!(problem(too_large("/v1/inbound/mime", 200_000).await, 413).await["code"], "too_large");
    app.stop().await;
}

async fn a_request_slower_than_the_timeout_is_a_503_problem(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.server.request_timeout = Duration::from_millis(300);
    let app = spawn_with(&env, settings).await;
    let chunks = futures_util::stream::unfold(0, |n| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        (n < 10).then(|| (Ok::<_, std::io::Error>(vec![b' '; 10]), n + 1))
    });
    let response = app.post_raw("/v1/letters", "application/json", reqwest::Body::wrap_stream(chunks)).await;
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(problem(response, 503).await["code"], "timeout");
    app.stop().await;
}

async fn cancelling_speaks_french_in_emails_and_says_what_is_true_twice(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut body = letter_body("jean@example.fr");
    body["recipient"]["kind"] = "individual".into();
    body["recipient"].as_object_mut().unwrap().remove("company");
    let id = app.submit_letter_value(&body).await;
    app.wait_for_state(&id, "awaiting_consent", Duration::from_secs(10)).await;
    let cancel = || app.client.post(app.url(&format!("/v1/letters/{id}/cancel"))).bearer_auth(&app.api_key).send();
    assert_eq!(cancel().await.unwrap().status(), 200);
    let again = problem(cancel().await.unwrap(), 409).await;
    let detail = again["detail"].as_str().unwrap();
    assert!(detail.contains("already cancelled") && !detail.contains("handed"), "{detail}");
    app.wait_for_jobs(&id, Duration::from_secs(10)).await;
    let emails: Vec<(String, String)> =
        app.emails_about(&id).into_iter().map(|(kind, bytes)| (kind, decoded_text(&bytes))).collect();
    let text_of = |kind: &str| emails.iter().find(|(k, _)| k == kind).map(|(_, t)| t.clone()).unwrap_or_default();
    let consent = text_of("awaiting_consent");
    assert!(consent.contains("le destinataire est un particulier"), "{consent}");
    assert!(!consent.contains("the recipient is an individual"), "{consent}");
    let cancelled = text_of("cancelled");
    assert!(cancelled.contains("annulée à la demande du demandeur"), "{cancelled}");
    assert!(!cancelled.contains("cancelled by the requester"), "{cancelled}");
    app.stop().await;
}

/// The text of an email, its transfer encoding undone.
fn decoded_text(raw: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).expect("an email");
    message.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

crate::on_both_databases!(
    a_transient_store_failure_in_group_commit_is_503_with_retry_after,
    every_error_of_every_route_is_problem_json,
    a_request_slower_than_the_timeout_is_a_503_problem,
    cancelling_speaks_french_in_emails_and_says_what_is_true_twice,
    the_raw_mime_route_refuses_a_wrong_ingress_key_before_reading_the_body,
    a_json_request_over_max_json_size_is_413_naming_multipart,
);

/// An unauthenticated raw-MIME request is refused before its body is read: the answer comes while the
/// client has sent only the headers and the first bytes of a body it never finishes.
async fn the_raw_mime_route_refuses_a_wrong_ingress_key_before_reading_the_body(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.mime.ingress_key = relais::config::Secret::new("ingress-key-for-tests".into());
    let app = spawn_with(&env, settings).await;
    let endless = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(vec![b'x'; 1024]), ()))
    });
    let request = app
        .client
        .post(app.url("/v1/inbound/mime"))
        .bearer_auth("not-the-key")
        .body(reqwest::Body::wrap_stream(endless))
        .send();
    let response = tokio::time::timeout(Duration::from_secs(5), request).await.expect("answered without the body");
    let p = problem(response.unwrap(), 401).await;
    assert_eq!(p["code"], "unauthorized");
    app.stop().await;
}

async fn a_json_request_over_max_json_size_is_413_naming_multipart(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.server.max_json_size = relais::config::ByteSize(10_000);
    let app = spawn_with(&env, settings).await;
    let mut body = letter_body("a@example.fr");
    body["reference"] = "x".repeat(20_000).into();
    let p = problem(app.post_letter(&body).await, 413).await;
    assert!(p["detail"].as_str().unwrap().contains("multipart"), "{p}");
    app.stop().await;
}
