//! The console over plain HTTP: signing in (and being refused), sessions that end, CSRF, roles, throttling,
//! and values shown as text.

use std::time::Duration;

use relais::accounts::users::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::people::{PASSWORD, make_user, sign_in, try_sign_in};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, letter_body, spawn_app, spawn_with};

/// A letter to an individual without consent: it waits (cancellable) in `awaiting_consent`.
pub fn waiting_letter(email: &str, last_name: &str) -> Value {
    let mut body = letter_body(email);
    body["recipient"]["kind"] = json!("individual");
    body["recipient"]["last_name"] = json!(last_name);
    body["recipient"].as_object_mut().unwrap().remove("company");
    body
}

async fn the_root_leads_to_the_console_and_pages_need_a_session(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let root = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::SEE_OTHER);
    assert_eq!(root.headers()["location"], "/console/");
    let page = client.get(app.url("/console/letters?state=failed")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/console/login?next=%2Fconsole%2Fletters%3Fstate%3Dfailed");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let post = client.post(app.url("/console/letters/ltr_x/cancel")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn a_person_signs_in_with_the_right_password_only(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let (wrong, person) = try_sign_in(&app, "claire@cabinet.fr", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(person.is_none());
    let page = wrong.text().await.unwrap();
    assert!(page.contains("Adresse e-mail ou mot de passe incorrect."), "{page}");
    assert!(page.contains("value=\"claire@cabinet.fr\""), "what was typed is kept");

    let (right, person) = try_sign_in(&app, "Claire@Cabinet.fr", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "http public_url: no Secure flag");
    let dashboard = person.unwrap().page("/console/").await;
    assert!(dashboard.contains("claire@cabinet.fr"), "{dashboard}");
    app.stop().await;
}

async fn sign_in_is_refused_after_repeated_failures_even_with_the_right_password(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    for _ in 0..relais::accounts::users::MAX_FAILURES_PER_ACCOUNT {
        let (wrong, _) = try_sign_in(&app, "claire@cabinet.fr", "guess guess guess").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let (throttled, person) = try_sign_in(&app, "claire@cabinet.fr", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(person.is_none());
    assert!(throttled.text().await.unwrap().contains("essais infructueux"));
    app.stop().await;
}

async fn sessions_expire_and_signing_out_ends_them(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.console.session_lifetime = Duration::from_secs(4);
    let app = spawn_with(&env, settings).await;
    make_user(&app, "claire@cabinet.fr", Role::Viewer).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    assert_eq!(person.get("/console/").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let expired = person.get("/console/").await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER, "an expired session leads back to sign-in");

    let person = sign_in(&app, "claire@cabinet.fr").await;
    let csrf = person.csrf().await;
    let out = person.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(person.get("/console/").await.status(), StatusCode::SEE_OTHER, "the old cookie opens nothing");
    app.stop().await;
}

async fn a_cancel_without_the_csrf_token_is_refused_and_changes_nothing(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let id = app.submit_letter_value(&waiting_letter("attente@example.fr", "Martin")).await;
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    let path = format!("/console/letters/{id}/cancel");
    assert_eq!(person.post(&path, &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(person.post(&path, &[("csrf", "forged")]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_letter(&id).await["state"], "awaiting_consent");

    let csrf = person.csrf().await;
    let done = person.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get_letter(&id).await["state"], "cancelled");
    let page = person.page(&format!("/console/letters/{id}")).await;
    assert!(page.contains("annulée par claire@cabinet.fr"), "the timeline says who");
    app.stop().await;
}

async fn a_viewer_who_forges_a_post_gets_403_and_nothing_changes(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "lecture@cabinet.fr", Role::Viewer).await;
    let id = app.submit_letter_value(&waiting_letter("attente@example.fr", "Martin")).await;
    app.wait_for_state(&id, "awaiting_consent", OUTCOME_TIMEOUT).await;
    let viewer = sign_in(&app, "lecture@cabinet.fr").await;
    let page = viewer.page(&format!("/console/letters/{id}")).await;
    assert!(!page.contains("cancel-letter"), "a viewer is not offered the button");
    let csrf = viewer.csrf().await;
    let forged = viewer.post(&format!("/console/letters/{id}/cancel"), &[("csrf", &csrf)]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_letter(&id).await["state"], "awaiting_consent");
    app.stop().await;
}

async fn a_recipient_named_like_a_script_is_shown_as_text(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Admin).await;
    let id = app.submit_letter_value(&waiting_letter("xss@example.fr", "<script>alert(1)</script>")).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    for path in
        [format!("/console/letters/{id}"), "/console/letters".to_owned(), "/console/letters?q=script".to_owned()]
    {
        let page = person.page(&path).await;
        assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{path}: {page}");
        assert!(!page.contains("<script>alert(1)"), "{path}");
    }
    app.stop().await;
}

crate::on_both_databases!(
    the_root_leads_to_the_console_and_pages_need_a_session,
    a_person_signs_in_with_the_right_password_only,
    sign_in_is_refused_after_repeated_failures_even_with_the_right_password,
    sessions_expire_and_signing_out_ends_them,
    a_cancel_without_the_csrf_token_is_refused_and_changes_nothing,
    a_viewer_who_forges_a_post_gets_403_and_nothing_changes,
    a_recipient_named_like_a_script_is_shown_as_text,
    a_letter_is_sent_from_the_form_after_a_preview_with_errors_beside_their_fields,
    a_withdrawn_consent_no_longer_counts,
);

/// The new-letter form as a browser posts it (multipart: it carries files).
fn multipart(fields: &[(&str, &str)]) -> reqwest::multipart::Form {
    fields.iter().fold(reqwest::multipart::Form::new(), |form, (k, v)| form.text(k.to_string(), v.to_string()))
}

async fn a_letter_is_sent_from_the_form_after_a_preview_with_errors_beside_their_fields(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let person = sign_in(&app, "claire@cabinet.fr").await;
    let form = person.page("/console/letters/new?template=relance-facture").await;
    assert!(form.contains("name=\"variables.invoice_number\"") && form.contains("Numéro de facture"), "{form}");
    let csrf = person.csrf().await;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("template", "relance-facture"),
        ("variables.invoice_number", "F-2026-0099"),
        ("variables.amount_due", "pas un montant"),
        ("variables.due_date", "2026-10-31"),
        ("recipient.kind", "professional"),
        ("recipient.company", "Boulangerie Martin SARL"),
        ("recipient.email", "pas-une-adresse"),
        ("recipient.address.line", "12 rue des Lilas"),
        ("recipient.address.postal_code", "69003"),
        ("recipient.address.city", "Lyon"),
        ("reference", "dossier-form"),
        ("action", "preview"),
    ];
    let refused = person.post_multipart("/console/letters/new", multipart(&fields)).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("data-field=\"variables.amount_due\""), "{page}");
    assert!(page.contains("data-field=\"recipient.email\""), "{page}");
    assert!(page.contains("value=\"F-2026-0099\""), "what was typed is kept");

    fields[3] = ("variables.amount_due", "1250.00");
    fields[7] = ("recipient.email", "compta@boulangerie.example");
    fields.push(("recipient.last_name", "Martin"));
    let preview = person.post_multipart("/console/letters/new", multipart(&fields)).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let page = preview.text().await.unwrap();
    assert!(page.contains("id=\"letter-preview\"") && page.contains("F-2026-0099"), "{page}");
    let letters: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(letters["data"].as_array().unwrap().len(), 0, "a preview sends nothing");

    let last = fields.len() - 2;
    fields[last] = ("action", "send");
    let sent = person.post_multipart("/console/letters/new", multipart(&fields)).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let location = sent.headers()["location"].to_str().unwrap().to_owned();
    let id = location.strip_prefix("/console/letters/").expect("the letter's page");
    let letter = app.get_letter(id).await;
    assert_eq!(letter["reference"], "dossier-form");
    app.wait_for_state(id, "delivered", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

async fn a_withdrawn_consent_no_longer_counts(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;
    let recorded =
        app.post_json("/v1/consents", &json!({"email": "retrait@example.fr", "source": "formulaire signé"})).await;
    let consent: Value = recorded.json().await.unwrap();
    let id = consent["id"].as_str().unwrap();
    let person = sign_in(&app, "claire@cabinet.fr").await;
    let csrf = person.csrf().await;
    let path = format!("/console/consents/{id}/withdraw");
    let fields = [("csrf", csrf.as_str()), ("sender", "default"), ("email", "retrait@example.fr")];
    assert_eq!(person.post(&path, &fields).await.status(), StatusCode::SEE_OTHER);
    let listed: Value = app.get("/v1/consents?email=retrait@example.fr").await.json().await.unwrap();
    assert_eq!(listed["consented"], false, "{listed}");
    assert!(listed["data"][0]["withdrawn_at"].is_string(), "{listed}");
    let page = person.page("/console/consents?email=retrait@example.fr").await;
    assert!(page.contains("retiré le"), "{page}");
    let letter = app.submit_letter_value(&waiting_letter("retrait@example.fr", "Retrait")).await;
    app.wait_for_state(&letter, "awaiting_consent", OUTCOME_TIMEOUT).await;
    app.stop().await;
}
