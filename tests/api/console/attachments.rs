//! Files attached from the new-letter form: the API's limits and field errors, the files kept while the form
//! comes back with errors or a preview, the address typed on several lines; in a real browser too.

use relais::accounts::users::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::browser::Browser;
use super::people::{PASSWORD, Person, hidden_value, make_user, sign_in};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, sample_pdf, spawn_app, spawn_with};

/// The form's text fields; `email` may be at fault.
fn fields(email: &str, action: &str) -> Vec<(&'static str, String)> {
    [
        ("template", "relance-facture"),
        ("variables.invoice_number", "F-2026-0123"),
        ("variables.amount_due", "1250.00"),
        ("variables.due_date", "2026-10-31"),
        ("recipient.kind", "professional"),
        ("recipient.company", "Boulangerie Martin SARL"),
        ("recipient.last_name", "Martin"),
        ("recipient.email", email),
        ("recipient.address.line", "Bâtiment B\r\n12 rue des Lilas\r\n"),
        ("recipient.address.postal_code", "69003"),
        ("recipient.address.city", "Lyon"),
        ("reference", "dossier-pj"),
        ("action", action),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The multipart body of the form: the text fields, the held token, the files chosen now.
fn form_of(fields: &[(&'static str, String)], held: &str, files: &[(&str, Vec<u8>)]) -> Form {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text(*k, v.clone());
    }
    form = form.text("held", held.to_owned());
    if files.is_empty() {
        // What a browser sends for a file input left empty.
        form = form.part("attachments", Part::bytes(Vec::new()).file_name(""));
    }
    for (name, bytes) in files {
        form = form.part(
            "attachments",
            Part::bytes(bytes.clone()).file_name(name.to_string()).mime_str("application/pdf").unwrap(),
        );
    }
    form
}

async fn post(person: &Person, form: Form) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let response = person.post_multipart("/console/letters/new", form).await;
    let status = response.status();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap(), headers)
}

async fn files_chosen_once_are_kept_through_errors_and_the_preview_and_sent_with_the_letter(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    let form = person.page("/console/letters/new?template=relance-facture").await;
    assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("name=\"attachments\""), "{form}");
    assert!(form.contains("<textarea name=\"recipient.address.line\""), "the address is a text area: {form}");

    let pdf = sample_pdf();
    let (status, page, _) =
        post(&person, form_of(&fields("pas-une-adresse", "preview"), "", &[("facture <F-0123>.pdf", pdf.clone())]))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("data-field=\"recipient.email\""), "{page}");
    assert!(page.contains("facture &#60;F-0123&#62;.pdf"), "the file is kept and named as text: {page}");
    assert!(page.contains("rows=\"3\">Bâtiment B\r\n12 rue des Lilas"), "the address lines are kept: {page}");
    let held = hidden_value(&page, "held").expect("the form carries its held files");
    assert!(!held.is_empty());

    // Another person cannot use the token.
    make_user(&app, "autre@cabinet.fr", Role::Member).await;
    let other = sign_in(&app, "autre@cabinet.fr").await;
    let (status, page, _) = post(&other, form_of(&fields("compta@boulangerie.example", "preview"), &held, &[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("choisissez-les de nouveau"), "{page}");

    let (status, page, _) = post(&person, form_of(&fields("compta@boulangerie.example", "preview"), &held, &[])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"letter-preview\"") && page.contains("F-0123"), "{page}");
    assert_eq!(hidden_value(&page, "held").as_deref(), Some(held.as_str()));
    let letters: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 0, "a preview sends nothing");

    let (status, _, headers) = post(&person, form_of(&fields("compta@boulangerie.example", "send"), &held, &[])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = headers["location"].to_str().unwrap().strip_prefix("/console/letters/").unwrap().to_owned();
    let letter = app.get_letter(&id).await;
    let attachments = letter["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{letter}");
    assert_eq!(attachments[0]["sha256"], hex::encode(Sha256::digest(&pdf)));
    assert_eq!(letter["recipient"]["address"]["lines"], serde_json::json!(["Bâtiment B", "12 rue des Lilas"]));
    assert_eq!(letter["events"][0]["detail"], "sent by claire@cabinet.fr", "the first event says who sent it");
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;

    // Sent: the token names nothing any more, and the form says to choose the files again.
    let (status, page, _) = post(&person, form_of(&fields("compta@boulangerie.example", "send"), &held, &[])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("choisissez-les de nouveau"), "{page}");
    app.stop().await;
}

async fn the_form_refuses_files_past_the_limits_of_the_api(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.storage.max_attachments = 2;
    settings.storage.max_attachments_size = relais::config::ByteSize(sample_pdf().len() as u64 * 2 + 10);
    let app = spawn_with(&env, settings).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    let pdf = sample_pdf();
    let ok = fields("compta@boulangerie.example", "send");

    let three: Vec<(&str, Vec<u8>)> = vec![("1.pdf", pdf.clone()), ("2.pdf", pdf.clone()), ("3.pdf", pdf.clone())];
    let (status, page, _) = post(&person, form_of(&ok, "", &three)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("data-field=\"attachments\"") && page.contains("at most 2 attachments"), "{page}");
    assert!(!page.contains("1.pdf"), "none of the files chosen with the one too many is kept");

    let big = vec![b'%'; pdf.len() * 3];
    let (status, page, _) = post(&person, form_of(&ok, "", &[("gros.pdf", big)])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("may total"), "{page}");

    // One file kept, then one more that goes past the total: the first stays, the second is refused.
    let (status, page, _) = post(&person, form_of(&fields("x", "preview"), "", &[("1.pdf", pdf.clone())])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let held = hidden_value(&page, "held").unwrap();
    let (status, page, _) = post(&person, form_of(&ok, &held, &[("2.pdf", [pdf.clone(), pdf.clone()].concat())])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("may total") && page.contains("1.pdf") && !page.contains("2.pdf"), "{page}");
    let letters: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 0, "nothing is sent while a file is refused");

    // A file ticked for removal goes; the letter leaves with the others.
    let page = {
        let mut form = form_of(&ok, &held, &[("2.pdf", pdf.clone())]);
        let first = page.split("name=\"remove\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        form = form.text("remove", first);
        post(&person, form).await
    };
    assert_eq!(page.0, StatusCode::SEE_OTHER, "{}", page.1);
    let id = page.2["location"].to_str().unwrap().strip_prefix("/console/letters/").unwrap().to_owned();
    let letter = app.get_letter(&id).await;
    let names: Vec<&str> =
        letter["attachments"].as_array().unwrap().iter().map(|a| a["filename"].as_str().unwrap()).collect();
    assert_eq!(names, ["2.pdf"]);
    app.stop().await;
}

async fn a_person_attaches_a_file_and_types_the_address_on_lines_in_a_browser(db: Db) {
    let (app, env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let file = env.dir.path().join("facture F-0777.pdf");
    std::fs::write(&file, sample_pdf()).unwrap();

    let b = Browser::start(&app.address, db, "attachments").await;
    b.sign_in("claire@cabinet.fr", PASSWORD).await;
    b.text_of("#attention").await;
    b.open("/console/letters/new?template=relance-facture").await;
    // Number and date inputs take their value as the browser's locale types it: set it as a script would.
    b.client
        .execute(
            "document.querySelector(\"input[name='variables.amount_due']\").value = '980.50';
             document.querySelector(\"input[name='variables.due_date']\").value = '2026-10-31';",
            vec![],
        )
        .await
        .unwrap();
    b.fill("input[name='recipient.company']", "Boulangerie Martin SARL").await;
    b.fill("input[name='recipient.last_name']", "Martin").await;
    b.fill("input[name='recipient.email']", "compta@boulangerie.example").await;
    b.fill("textarea[name='recipient.address.line']", "Bâtiment B\n12 rue des Lilas").await;
    b.fill("input[name='recipient.address.postal_code']", "69003").await;
    b.fill("input[name='recipient.address.city']", "Lyon").await;
    b.fill("input[name='reference']", "dossier-navigateur").await;
    let input = b.client.find(fantoccini::Locator::Css("#attachments-input")).await.unwrap();
    input.send_keys(file.to_str().unwrap()).await.unwrap();
    b.click("#preview-letter").await;
    b.wait_for_text("data-field=\"variables.invoice_number\"").await;
    assert!(b.text_of("#held-files").await.contains("facture F-0777.pdf"), "the file is kept");
    b.screenshot("new-letter-errors-with-file").await;
    b.fill("input[name='variables.invoice_number']", "F-0777").await;
    b.click("#preview-letter").await;
    b.wait_for_text("id=\"send-letter\"").await;
    assert!(b.text_of("#held-files").await.contains("facture F-0777.pdf"));
    b.screenshot("new-letter-preview-with-file").await;
    b.click("#send-letter").await;
    b.wait_for_text("id=\"letter-state\"").await;
    assert!(b.source().await.contains("facture F-0777.pdf"), "the letter page lists the file");
    assert!(b.text_of("#timeline").await.contains("envoyée par claire@cabinet.fr"), "the timeline says who");
    assert!(b.text_of(".facts").await.contains("Bâtiment B\n12 rue des Lilas"), "the address on its lines");
    b.screenshot("letter-with-file").await;
    b.stop().await;
    app.stop().await;
}

crate::on_both_databases!(
    files_chosen_once_are_kept_through_errors_and_the_preview_and_sent_with_the_letter,
    the_form_refuses_files_past_the_limits_of_the_api,
    a_person_attaches_a_file_and_types_the_address_on_lines_in_a_browser,
);
