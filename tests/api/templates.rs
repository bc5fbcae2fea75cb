//! Templates as versioned data: drafts, checks, publish, rollback, diff, preview, the seed files, and letters
//! that keep the version they pinned.

use std::time::Duration;

use relais::accounts::{self, Scope, Scopes};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, letter_body, spawn_app, spawn_with};

const SENTENCE: &str = "Sauf erreur de notre part";

/// A key of the default sender that may edit templates.
async fn templates_key(app: &TestApp) -> String {
    let sender = "default".parse().unwrap();
    let scopes = Scopes::new([Scope::Letters, Scope::Templates]);
    accounts::create_api_key(&app.store, &sender, Some("templates"), scopes).await.unwrap().secret
}

/// `name` may end with a query (`relance-facture?sender=default`).
async fn put_draft(app: &TestApp, key: &str, name: &str, source: &str) -> reqwest::Response {
    let (name, query) = name.split_once('?').map_or((name, String::new()), |(n, q)| (n, format!("?{q}")));
    let url = app.url(&format!("/v1/templates/{name}/draft{query}"));
    app.client
        .put(url)
        .bearer_auth(key)
        .header("content-type", "text/plain")
        .body(source.to_owned())
        .send()
        .await
        .unwrap()
}

async fn post_with(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(key).json(body).send().await.unwrap()
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body:#}");
    body
}

async fn published_source(app: &TestApp, name: &str) -> (String, String) {
    let t = json_of(app.get(&format!("/v1/templates/{name}")).await, 200).await;
    (t["published_version"].as_str().unwrap().to_owned(), t["source"].as_str().unwrap().to_owned())
}

fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn document_of(app: &TestApp, id: &str) -> Vec<u8> {
    let response = app.get(&format!("/v1/letters/{id}/document")).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

async fn templates_are_listed_with_their_variables(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let list = json_of(app.get("/v1/templates").await, 200).await;
    let templates = list["templates"].as_array().unwrap();
    let notice = templates.iter().find(|t| t["name"] == "mise-en-demeure").expect("the formal notice is listed");
    assert_eq!(notice["kind"], "letter");
    assert_eq!(notice["has_draft"], false);
    assert_eq!(notice["published_version"].as_str().unwrap().len(), 64);
    assert!(!notice["title"].as_str().unwrap().is_empty());
    let variables = notice["variables"].as_array().unwrap();
    let amount = variables.iter().find(|v| v["name"] == "amount_due").unwrap();
    assert_eq!((amount["kind"].as_str(), amount["required"].as_bool()), (Some("amount"), Some(true)));
    assert!(amount["aliases"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(templates.iter().any(|t| t["name"] == "email.delivered" && t["kind"] == "email"), "emails are templates");
    app.stop().await;
}

async fn a_published_edit_reaches_new_letters_while_an_accepted_letter_keeps_its_version(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let key = templates_key(&app).await;
    let before = app.submit("compta@boulangerie-martin.fr").await;
    let (v1, source) = published_source(&app, "relance-facture").await;
    assert!(source.contains(SENTENCE), "the shipped reminder has the sentence this test edits");

    let edited = source.replace(SENTENCE, "Selon nos livres de comptes");
    let draft = json_of(put_draft(&app, &key, "relance-facture", &edited).await, 200).await;
    assert_eq!(draft["problems"], json!([]));
    let shown = json_of(app.get("/v1/templates/relance-facture").await, 200).await;
    assert_eq!((shown["has_draft"].as_bool(), shown["published_version"].as_str()), (Some(true), Some(v1.as_str())));
    let published =
        json_of(post_with(&app, &key, "/v1/templates/relance-facture/publish", &json!({"comment": "ton"})).await, 200)
            .await;
    let v2 = published["published_version"].as_str().unwrap().to_owned();
    assert_eq!(v2, hex::encode(Sha256::digest(edited.as_bytes())), "a version is the SHA-256 of its source");
    let after = app.submit("compta@boulangerie-martin.fr").await;

    let old = app.wait_for_state(&before, "delivered", OUTCOME_TIMEOUT).await;
    let new = app.wait_for_state(&after, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(old["template"]["version"], v1.as_str());
    assert_eq!(new["template"]["version"], v2.as_str());
    let (old_pdf, new_pdf) = (document_of(&app, &before).await, document_of(&app, &after).await);
    assert!(pdf_text(&old_pdf).contains(SENTENCE), "the letter accepted before the publish has the old text");
    assert!(pdf_text(&new_pdf).contains("Selon nos livres de comptes"));

    // The letter re-renders byte for byte from its pinned version and its data.
    let record = app.store.letter(&before.parse().unwrap()).await.unwrap().unwrap();
    let again = relais::letters::pipeline::render_document(&app.services, &record).await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&again)), old["content_sha256"].as_str().unwrap());
    assert_eq!(again, old_pdf);

    let history = json_of(app.get("/v1/templates/relance-facture/versions").await, 200).await;
    let versions = history["versions"].as_array().unwrap();
    let actions: Vec<&str> = versions.iter().map(|v| v["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["seed", "publish"]);
    assert_eq!(versions[1]["comment"], "ton");
    assert!(versions[1]["published_by"].as_str().unwrap().starts_with("api-key key_"));
    assert_eq!(versions[1]["current"], true);
    app.stop().await;
}

async fn a_draft_with_problems_is_saved_but_not_published(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let key = templates_key(&app).await;
    let (v1, source) = published_source(&app, "mise-en-demeure").await;
    let broken = source.replace("{{euros amount_due}}", "{{euros amount_due}").replacen("Madame", "{{madame}}", 1);
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let draft = json_of(put_draft(&app, &key, "mise-en-demeure", &broken).await, 200).await;
    assert_eq!(draft["publishable"], false);
    let problems = draft["problems"].as_array().unwrap();
    let syntax = problems.iter().find(|p| p["code"] == "syntax").expect("the syntax error is reported");
    assert_eq!(syntax["line"].as_u64().unwrap() as usize, line_of("{{euros amount_due}"));
    assert!(syntax["column"].as_u64().is_some());

    let refused = post_with(&app, &key, "/v1/templates/mise-en-demeure/publish", &json!({})).await;
    let problem = json_of(refused, 422).await;
    assert_eq!(problem["code"], "template_invalid");
    assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["code"] == "syntax" && e["line"].is_u64()));
    assert_eq!(published_source(&app, "mise-en-demeure").await.0, v1, "nothing was published");

    // Undeclared variables and unknown helpers are named at their line too.
    let unknown = source.replacen("Madame, Monsieur,", "{{madame}} {{shout amount_due}}", 1);
    let draft = json_of(put_draft(&app, &key, "mise-en-demeure", &unknown).await, 200).await;
    let codes: Vec<(&str, u64)> = draft["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap(), p["line"].as_u64().unwrap()))
        .collect();
    let line = unknown.lines().position(|l| l.contains("{{madame}}")).unwrap() as u64 + 1;
    assert!(codes.contains(&("undeclared_variable", line)) && codes.contains(&("unknown_helper", line)), "{codes:?}");
    app.stop().await;
}

async fn a_rollback_publishes_an_old_version_again_as_a_new_history_entry(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let key = templates_key(&app).await;
    let (v1, source) = published_source(&app, "relance-facture").await;
    json_of(put_draft(&app, &key, "relance-facture", &source.replace(SENTENCE, "Selon nous")).await, 200).await;
    let diff = json_of(app.get("/v1/templates/relance-facture/diff").await, 200).await;
    let text = diff["diff"].as_str().unwrap();
    assert!(text.contains(&format!("-{}", source.lines().find(|l| l.contains(SENTENCE)).unwrap())), "{text}");
    assert!(text.contains("+") && text.contains("Selon nous"), "{text}");
    json_of(post_with(&app, &key, "/v1/templates/relance-facture/publish", &json!({})).await, 200).await;

    let back = json!({"version": v1, "comment": "retour"});
    let back = post_with(&app, &key, "/v1/templates/relance-facture/rollback", &back).await;
    assert_eq!(json_of(back, 200).await["published_version"], v1.as_str());
    let history = json_of(app.get("/v1/templates/relance-facture/versions").await, 200).await;
    let actions: Vec<&str> =
        history["versions"].as_array().unwrap().iter().map(|v| v["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["seed", "publish", "rollback"], "the history is only ever appended to");
    assert_eq!(history["published_version"], v1.as_str());
    let id = app.submit("compta@boulangerie-martin.fr").await;
    assert_eq!(app.get_letter(&id).await["template"]["version"], v1.as_str());

    let version = json_of(app.get(&format!("/v1/templates/relance-facture/versions/{v1}")).await, 200).await;
    assert_eq!(version["source"], source.as_str());
    let unknown = json!({"version": "ab".repeat(32)});
    let unknown = post_with(&app, &key, "/v1/templates/relance-facture/rollback", &unknown).await;
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

async fn changing_templates_needs_the_templates_scope(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let (_, source) = published_source(&app, "relance-facture").await;
    let response = put_draft(&app, &app.api_key, "relance-facture", &source).await;
    let problem = json_of(response, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("templates"), "{problem}");
    let publish = post_with(&app, &app.api_key, "/v1/templates/relance-facture/publish", &json!({})).await;
    assert_eq!(publish.status(), 403);
    assert!(!json_of(app.get("/v1/templates/relance-facture").await, 200).await["has_draft"].as_bool().unwrap());
    app.stop().await;
}

async fn a_preview_renders_with_examples_and_names_bad_variables(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let pdf = app.post_json("/v1/templates/mise-en-demeure/preview", &json!({})).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    let body = json!({"variables": {"invoice_number": "F-77", "amount_due": "980,40", "due_date": "2026-10-01"},
                      "recipient": {"kind": "individual", "first_name": "Łukasz", "last_name": "Dvořák",
                                    "email": "lukasz@example.com"}});
    let json = json_of(app.post_json("/v1/templates/mise-en-demeure/preview?format=json", &body).await, 200).await;
    assert!(json["subject"].as_str().unwrap().contains("F-77"));
    assert!(json["text"].as_str().unwrap().contains("980,40"), "{}", json["text"]);
    let html = app.post_json("/v1/templates/mise-en-demeure/preview?format=html", &body).await;
    assert!(html.text().await.unwrap().contains("F-77"));

    let bad = json!({"variables": {"amount_due": "beaucoup", "colour": "bleu"}});
    let problem = json_of(app.post_json("/v1/templates/mise-en-demeure/preview", &bad).await, 422).await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"variables.amount_due") && fields.contains(&"variables.colour"), "{fields:?}");
    app.stop().await;
}

async fn an_edited_template_file_is_published_at_the_next_start(db: Db) {
    let env = crate::helpers::TestEnv::new(db).await;
    let folder = env.path("templates");
    std::fs::create_dir_all(folder.join("letters")).unwrap();
    let shipped = std::fs::read_to_string("templates/letters/relance-facture.hbs").unwrap();
    std::fs::write(folder.join("letters/relance-facture.hbs"), &shipped).unwrap();
    let mut settings = env.settings();
    settings.storage.templates_dir = folder.clone();

    let app = spawn_with(&env, settings.clone()).await;
    let (v1, _) = published_source(&app, "relance-facture").await;
    app.stop().await;

    std::fs::write(folder.join("letters/relance-facture.hbs"), shipped.replace(SENTENCE, "D'après nos comptes"))
        .unwrap();
    let app = spawn_with(&env, settings.clone()).await;
    let (v2, source) = published_source(&app, "relance-facture").await;
    assert_ne!(v1, v2);
    assert!(source.contains("D'après nos comptes"));
    app.stop().await;

    // Starting again with the same files publishes nothing more; a rollback through the API is kept.
    let app = spawn_with(&env, settings).await;
    let history = json_of(app.get("/v1/templates/relance-facture/versions").await, 200).await;
    let actions: Vec<&str> =
        history["versions"].as_array().unwrap().iter().map(|v| v["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["seed", "seed"]);
    assert!(history["versions"][1]["published_by"].as_str().unwrap().ends_with("letters/relance-facture.hbs"));
    app.stop().await;
}

async fn a_senders_override_is_used_for_its_letters_and_emails_are_editable(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let key = templates_key(&app).await;
    let (shared, source) = published_source(&app, "relance-facture").await;
    let overridden = source.replace(SENTENCE, "Pour le compte de notre client");
    json_of(put_draft(&app, &key, "relance-facture?sender=default", &overridden).await, 200).await;
    let published =
        json_of(post_with(&app, &key, "/v1/templates/relance-facture/publish?sender=default", &json!({})).await, 200)
            .await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    assert_eq!(app.get_letter(&id).await["template"]["version"], published["published_version"]);
    assert_eq!(published_source(&app, "relance-facture").await.0, shared, "the shared template is unchanged");
    let other = put_draft(&app, &key, "relance-facture?sender=someone-else", &overridden).await;
    assert_eq!(other.status(), 403);

    // The acceptance email is a template too: its new subject is used from the next notice on.
    let (_, email) = published_source(&app, "email.accepted").await;
    let subject_line = email.lines().find(|l| l.starts_with("subject")).unwrap().to_owned();
    let edited = email.replace(&subject_line, "subject = \"Bien reçu : {{letter.template_title}}\"");
    json_of(put_draft(&app, &key, "email.accepted", &edited).await, 200).await;
    json_of(post_with(&app, &key, "/v1/templates/email.accepted/publish", &json!({})).await, 200).await;
    let id = app.post_letter(&letter_body("jeanne@martin.fr")).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_jobs(&id, Duration::from_secs(20)).await;
    let accepted = app.emails_about(&id).into_iter().find(|(k, _)| k == "accepted").expect("an acceptance email");
    let message = mail_parser::MessageParser::default().parse(&accepted.1).unwrap();
    assert!(message.subject().unwrap().starts_with("Bien reçu : "), "the edited subject is used");
    app.stop().await;
}

crate::on_both_databases!(
    templates_are_listed_with_their_variables,
    a_published_edit_reaches_new_letters_while_an_accepted_letter_keeps_its_version,
    a_draft_with_problems_is_saved_but_not_published,
    a_rollback_publishes_an_old_version_again_as_a_new_history_entry,
    changing_templates_needs_the_templates_scope,
    a_preview_renders_with_examples_and_names_bad_variables,
    an_edited_template_file_is_published_at_the_next_start,
    a_senders_override_is_used_for_its_letters_and_emails_are_editable,
);
