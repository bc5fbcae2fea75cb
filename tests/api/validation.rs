//! Bad input gets a problem body naming every field at fault, and leaves nothing behind.

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, files_in, letter_body, sample_pdf, spawn_app};

pub(crate) async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    for key in ["type", "title", "detail", "code"] {
        assert!(body[key].is_string(), "problem body lacks {key}: {body}");
    }
    body
}

pub(crate) fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

pub(crate) async fn assert_nothing_written(app: &TestApp) {
    let letters = app.get("/v1/letters").await.json::<Value>().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 0, "no letter was created");
    assert_eq!(app.store.pending_jobs(None).await.unwrap(), 0, "no job was queued");
    assert!(files_in(&app.attachments_dir).is_empty(), "no file was left: {:?}", files_in(&app.attachments_dir));
}

async fn malformed_json_and_wrong_types_name_the_field(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let p = problem(app.post_raw("/v1/letters", "application/json", "{\"template\": ").await, 400).await;
    assert_eq!(p["code"], "malformed_request");
    let mut body = letter_body("a@example.fr");
    body["recipient"]["address"]["lines"] = json!("12 rue des Lilas");
    let p = problem(app.post_letter(&body).await, 400).await;
    assert_eq!(fields(&p), ["recipient.address.lines"]);
    let mut body = letter_body("a@example.fr");
    body["colour"] = json!("blue");
    let p = problem(app.post_letter(&body).await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("colour"), "{p}");
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn every_invalid_field_is_reported_at_once(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut body = letter_body("not-an-email");
    body["recipient"]["address"]["postal_code"] = json!("6900");
    body["variables"]["amount_due"] = json!("mille euros");
    body["variables"]["colour"] = json!("blue");
    body["variables"].as_object_mut().unwrap().remove("due_date");
    body["notify_email"] = json!("compta@");
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(p["code"], "validation_failed");
    let mut got = fields(&p);
    got.sort();
    assert_eq!(
        got,
        [
            "notify_email",
            "recipient.address.postal_code",
            "recipient.email",
            "variables.amount_due",
            "variables.colour",
            "variables.due_date",
        ]
    );
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn an_unknown_template_is_named_with_the_known_ones(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut body = letter_body("a@example.fr");
    body["template"] = json!("lettre-inconnue");
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["template"]);
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("relance-facture") && message.contains("mise-en-demeure"), "{message}");
    let body = json!({});
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["template", "recipient"]);
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn attachments_must_be_pdf_and_valid_base64(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = letter_body("a@example.fr");
    body["attachments"] = json!([
        {"filename": "ok.pdf", "content_base64": b64(&sample_pdf())},
        {"filename": "facture.docx", "content_base64": b64(b"PK\x03\x04 not a pdf")},
        {"filename": "broken.pdf", "content_base64": "%%%"}
    ]);
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["attachments[1]", "attachments[2].content_base64"]);
    assert_eq!(p["errors"][0]["code"], "not_pdf");
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn attachments_over_the_limit_are_refused_as_too_large(db: Db) {
    let env = crate::helpers::TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.storage.max_attachments_size = relais::config::ByteSize(2_000);
    let app = crate::helpers::spawn_with(&env, settings).await;
    let mut pdf = sample_pdf();
    pdf.resize(3_000, b' ');
    let form = reqwest::multipart::Form::new()
        .part("letter", reqwest::multipart::Part::text(letter_body("a@example.fr").to_string()))
        .part("big", reqwest::multipart::Part::bytes(pdf).file_name("big.pdf"));
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    let p = problem(response, 413).await;
    assert_eq!(fields(&p), ["attachments"]);
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn a_missing_or_unknown_api_key_is_401_and_another_sender_is_403(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let no_key = app.client.post(app.url("/v1/letters")).json(&letter_body("a@example.fr")).send().await.unwrap();
    let p = problem(no_key, 401).await;
    assert_eq!(p["code"], "unauthorized");
    let bad_key = app.client.get(app.url("/v1/letters")).bearer_auth("rls_forged").send().await.unwrap();
    problem(bad_key, 401).await;
    let mut body = letter_body("a@example.fr");
    body["sender"] = json!("someone-else");
    let p = problem(app.post_letter(&body).await, 403).await;
    assert_eq!(p["code"], "forbidden");
    assert_nothing_written(&app).await;
    app.stop().await;
}

crate::on_both_databases!(
    malformed_json_and_wrong_types_name_the_field,
    every_invalid_field_is_reported_at_once,
    an_unknown_template_is_named_with_the_known_ones,
    attachments_must_be_pdf_and_valid_base64,
    attachments_over_the_limit_are_refused_as_too_large,
    a_missing_or_unknown_api_key_is_401_and_another_sender_is_403,
);
