//! Input that used to be accepted and then silently wrong: it is refused, naming the field, and leaves
//! nothing behind.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{Db, TestEnv, letter_body, sample_pdf, spawn_app, spawn_with};
use crate::validation::{assert_nothing_written, fields, problem};

fn post_form(app: &crate::helpers::TestApp, form: Form) -> impl Future<Output = reqwest::Response> + '_ {
    let request = app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form);
    async move { request.send().await.unwrap() }
}

async fn a_multipart_letter_part_carrying_attachments_is_refused(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut letter = letter_body("a@example.fr");
    letter["attachments"] = json!([{"filename": "f.pdf", "content_base64": "JVBERi0xLjQK"}]);
    let form = Form::new()
        .part("letter", Part::text(letter.to_string()))
        .part("file", Part::bytes(sample_pdf()).file_name("facture.pdf"));
    let p = problem(post_form(&app, form).await, 422).await;
    assert_eq!(fields(&p), ["letter.attachments"]);
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn two_letter_parts_are_refused_instead_of_the_last_winning(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut second = letter_body("b@example.fr");
    second["reference"] = json!("the other one");
    let form = Form::new()
        .part("letter", Part::text(letter_body("a@example.fr").to_string()))
        .part("letter", Part::text(second.to_string()));
    let p = problem(post_form(&app, form).await, 422).await;
    assert_eq!(fields(&p), ["letter"]);
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn amounts_not_above_zero_and_implausible_dates_are_refused(db: Db) {
    let (app, _env) = spawn_app(db).await;
    for (amount, date) in [("0", "0000-01-01"), ("-12.50", "9999-12-31"), ("0,00 €", "31/12/1850")] {
        let mut body = letter_body("a@example.fr");
        body["variables"]["amount_due"] = json!(amount);
        body["variables"]["due_date"] = json!(date);
        let p = problem(app.post_letter(&body).await, 422).await;
        let mut got = fields(&p);
        got.sort();
        assert_eq!(got, ["variables.amount_due", "variables.due_date"], "{amount} {date}: {p}");
    }
    assert_nothing_written(&app).await;
    app.stop().await;
}

async fn bytes_after_the_json_document_are_refused(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let body = format!("{}{}", letter_body("a@example.fr"), r#"{"template": "mise-en-demeure"}"#);
    let p = problem(app.post_raw("/v1/letters", "application/json", body).await, 400).await;
    assert!(p["detail"].as_str().unwrap().contains("one JSON document"), "{p}");
    let body = format!("{} \n", letter_body("a@example.fr"));
    assert_eq!(app.post_raw("/v1/letters", "application/json", body).await.status(), 202, "whitespace is fine");
    app.stop().await;
}

async fn attachment_names_are_cleaned_and_their_number_capped(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.storage.max_attachments = 2;
    let app = spawn_with(&env, settings).await;
    let long = format!("{}.pdf", "x".repeat(400));
    let form = Form::new()
        .part("letter", Part::text(letter_body("a@example.fr").to_string()))
        .part("a", Part::bytes(sample_pdf()).file_name("facture\u{202E}fdp.exe"))
        .part("b", Part::bytes(sample_pdf()).file_name(long));
    let response = post_form(&app, form).await;
    assert_eq!(response.status(), 202);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let letter = app.get_letter(&id).await;
    let names: Vec<&str> =
        letter["attachments"].as_array().unwrap().iter().map(|a| a["filename"].as_str().unwrap()).collect();
    assert_eq!(names[0], "facturefdp.exe");
    assert!(names[1].len() == 255 && names[1].ends_with(".pdf"), "{}", names[1]);

    let form = (0..3).fold(Form::new().part("letter", Part::text(letter_body("a@example.fr").to_string())), |f, i| {
        f.part(format!("f{i}"), Part::bytes(sample_pdf()).file_name(format!("{i}.pdf")))
    });
    let p = problem(post_form(&app, form).await, 422).await;
    assert_eq!(fields(&p), ["attachments"]);
    let mut body = letter_body("a@example.fr");
    let pdf = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sample_pdf());
    body["attachments"] = (0..3).map(|i| json!({"filename": format!("{i}.pdf"), "content_base64": pdf})).collect();
    let p = problem(app.post_letter(&body).await, 422).await;
    assert_eq!(fields(&p), ["attachments"]);
    let letters = app.get("/v1/letters").await.json::<Value>().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 1, "only the first letter was made");
    app.stop().await;
}

async fn a_default_template_that_does_not_exist_stops_the_start_naming_the_key(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.senders[0].default_template = "relance-factur".into();
    let Err(error) = relais::startup::Application::build(settings).await else {
        panic!("the app must refuse to start")
    };
    let message = error.to_string();
    assert!(message.contains("senders[0].default_template") && message.contains("relance-factur"), "{message}");
}

crate::on_both_databases!(
    a_multipart_letter_part_carrying_attachments_is_refused,
    two_letter_parts_are_refused_instead_of_the_last_winning,
    amounts_not_above_zero_and_implausible_dates_are_refused,
    bytes_after_the_json_document_are_refused,
    attachment_names_are_cleaned_and_their_number_capped,
    a_default_template_that_does_not_exist_stops_the_start_naming_the_key,
);

/// `relais check-config --offline` with `intake.dns.records_file` set to `zone`: (success, stderr).
fn check_config_with_zone(zone: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.zone");
    std::fs::write(&file, zone).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["check-config", "--offline"])
        .env("RELAIS__INTAKE__DNS__RECORDS_FILE", &file)
        .output()
        .expect("relais runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_config_accepts_a_master_file_and_refuses_a_broken_one_as_the_server_would() {
    let (ok, said) = check_config_with_zone("$TTL 300\n$ORIGIN example.fr.\n@ IN TXT \"v=spf1 -all\"\n");
    assert!(ok, "{said}");
    let (ok, said) = check_config_with_zone("$TTL 300\nexample.fr. IN TXT \"v=spf1 -all\n");
    assert!(!ok, "a file the server refuses is refused by check-config");
    assert!(said.contains("intake.dns.records_file") && said.contains("line 2"), "{said}");
}
