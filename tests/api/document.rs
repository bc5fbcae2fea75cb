//! The letter as a document, end to end: what the sandbox delivers is a PDF/A with every font embedded, the
//! recipient's name spelt right inside the envelope window and the sender's logo; what cannot be printed
//! properly is refused at intake.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, letter_body, sample_pdf, spawn_with};
use crate::poppler::{assert_pdf_a_with_embedded_fonts, pdf_text, poppler, word_boxes};

/// A small PNG logo: the sample invoice rendered at a low resolution.
fn logo_png(env: &TestEnv) -> std::path::PathBuf {
    let pdf = env.path("logo.pdf");
    std::fs::write(&pdf, sample_pdf()).unwrap();
    let stem = env.path("logo");
    let status = Command::new("pdftoppm").args(["-png", "-r", "8", "-singlefile"]).arg(&pdf).arg(&stem).status();
    assert!(status.unwrap().success(), "pdftoppm makes the logo");
    stem.with_extension("png")
}

async fn app_with_logo(db: Db) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.senders[0].logo_file = Some(logo_png(&env));
    settings.senders[0].signature_role = "Gérante".into();
    let app = spawn_with(&env, settings).await;
    (app, env)
}

fn to_lukasz(email: &str) -> Value {
    let mut body = letter_body(email);
    body["recipient"] = json!({"kind": "professional", "first_name": "Łukasz", "last_name": "Dvořák",
        "email": email, "address": {"lines": ["ul. Świętokrzyska 12"], "postal_code": "69003", "city": "Lyon"}});
    body
}

async fn a_letter_to_lukasz_dvorak_is_delivered_as_a_pdf_a_spelt_right_in_the_window(db: Db) {
    let (app, _env) = app_with_logo(db).await;
    let response = app.post_letter(&to_lukasz("lukasz@dvorak.example")).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let pdf = app.get(&format!("/v1/letters/{id}/document")).await.bytes().await.unwrap().to_vec();

    assert_pdf_a_with_embedded_fonts(&pdf);
    let text = pdf_text(&pdf);
    for expected in ["Łukasz Dvořák", "ul. Świętokrzyska 12", "69003 LYON", "F-2026-0042", "Gérante"] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    for word in ["Łukasz", "Dvořák", "LYON"] {
        let boxes = word_boxes(&pdf, word);
        let (x0, y0, x1, y1) = boxes[0];
        assert!(x0 >= 110.0 && x1 <= 195.0 && y0 >= 55.0 && y1 <= 88.0, "{word} at ({x0},{y0})-({x1},{y1}) mm");
    }
    let images = poppler("pdfimages", &["-list"], &pdf);
    assert_eq!(images.lines().skip(2).filter(|l| !l.trim().is_empty()).count(), 1, "the logo: {images}");
}

async fn an_address_too_long_for_the_window_is_refused_naming_the_field(db: Db) {
    let (app, _env) = app_with_logo(db).await;
    let mut body = to_lukasz("lukasz@dvorak.example");
    body["recipient"]["company"] = json!("Société Anonyme des Établissements Dvořák et Fils");
    let response = app.post_letter(&body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["recipient.company"], "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("38"), "{problem}");
    assert_nothing_stored(&app).await;
}

async fn an_over_long_variable_is_refused_naming_it(db: Db) {
    let (app, _env) = app_with_logo(db).await;
    let mut body = to_lukasz("lukasz@dvorak.example");
    body["variables"]["invoice_number"] = json!("F".repeat(5_000));
    let response = app.post_letter(&body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "variables.invoice_number", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "too_long", "{problem}");
    assert_nothing_stored(&app).await;
}

async fn a_letter_longer_than_the_page_limit_is_refused(db: Db) {
    let (app, _env) = app_with_logo(db).await;
    let mut body = to_lukasz("lukasz@dvorak.example");
    body["template"] = json!("lettre-libre");
    let lines = vec!["Une ligne."; 1_500].join("\n");
    body["variables"] = json!({"subject": "Très long", "body": lines});
    let response = app.post_letter(&body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "variables.body", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "too_many_pages", "{problem}");
    assert_nothing_stored(&app).await;
}

async fn assert_nothing_stored(app: &TestApp) {
    let letters = app.get("/v1/letters").await.json::<Value>().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 0, "no letter was created");
    assert_eq!(app.store.pending_jobs(None).await.unwrap(), 0, "no job was queued");
}

crate::on_both_databases!(
    a_letter_to_lukasz_dvorak_is_delivered_as_a_pdf_a_spelt_right_in_the_window,
    an_address_too_long_for_the_window_is_refused_naming_the_field,
    an_over_long_variable_is_refused_naming_it,
    a_letter_longer_than_the_page_limit_is_refused,
);
