//! What a person does in the console, in a real browser: sign in, read the dashboard, find and open a
//! letter, check a proof's SHA-256, cancel, record a consent, edit a template with its live preview,
//! publish and roll back, revoke a key; and values shown as text, forged forms refused.

use std::time::Duration;

use relais::accounts::users::Role;
use serde_json::json;

use super::browser::Browser;
use super::http::waiting_letter;
use super::people::{PASSWORD, make_user};
use crate::helpers::{Db, OUTCOME_TIMEOUT, letter_body, spawn_app};

const ADMIN: &str = "claire@cabinet.fr";

async fn a_person_follows_cancels_and_releases_letters_in_a_browser(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, ADMIN, Role::Admin).await;
    let delivered = app.submit_letter_value(&letter_body("jeanne@boulangerie.example")).await;
    let mut xss = waiting_letter("xss@example.fr", "<script>alert(1)</script>");
    xss["reference"] = json!("dossier-xss");
    let xss = app.submit_letter_value(&xss).await;
    let mut waiting = waiting_letter("consent@example.fr", "Durand");
    waiting["reference"] = json!("dossier-consent");
    let waiting = app.submit_letter_value(&waiting).await;
    app.wait_for_state(&delivered, "delivered", OUTCOME_TIMEOUT).await;
    app.wait_for_state(&xss, "awaiting_consent", OUTCOME_TIMEOUT).await;
    app.wait_for_state(&waiting, "awaiting_consent", OUTCOME_TIMEOUT).await;

    let b = Browser::start(&app.address, db, "letters").await;
    b.sign_in(ADMIN, "not the password").await;
    b.wait_for_text("Adresse e-mail ou mot de passe incorrect.").await;
    b.screenshot("login-refused").await;
    b.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(b.text_of("#attention strong[data-state=awaiting_consent]").await, "2");
    assert_eq!(b.text_of("#counts-today strong[data-state=delivered]").await, "1");
    b.screenshot("dashboard").await;

    b.open("/console/letters").await;
    b.fill("input[name=q]", "dossier-881").await;
    b.click(".filters button[type=submit]").await;
    b.wait_for_text("name=\"q\" value=\"dossier-881\"").await;
    assert_eq!(b.client.find_all(fantoccini::Locator::Css("#letters tbody tr")).await.unwrap().len(), 1);
    b.screenshot("letters-search").await;
    b.click("#letters a.ref").await;
    assert_eq!(b.text_of("#letter-state").await, "remise");
    assert!(b.text_of("#chain").await.contains("vérifiée"));
    // The proof downloads, and its bytes hash to the SHA-256 the page shows.
    let proof = b.client.find(fantoccini::Locator::Css("#proofs li")).await.unwrap();
    let shown = proof.find(fantoccini::Locator::Css("code")).await.unwrap().text().await.unwrap();
    let computed = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(document.querySelector('a.proof').href).then(r => r.arrayBuffer())
               .then(bytes => crypto.subtle.digest('SHA-256', bytes))
               .then(d => done(Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('')));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, format!("SHA-256 {}", computed.as_str().unwrap()));
    b.screenshot("letter-delivered").await;

    b.open(&format!("/console/letters/{xss}")).await;
    assert!(b.text_of("h1").await.contains("<script>alert(1)</script>"), "the name is shown as text");
    assert!(b.client.get_alert_text().await.is_err(), "no script ran");
    b.click("#cancel-letter").await;
    b.client.accept_alert().await.unwrap();
    b.wait_for_text("La lettre est annulée.").await;
    assert!(b.text_of("#timeline").await.contains(&format!("annulée par {ADMIN}")));
    assert_eq!(app.get_letter(&xss).await["state"], "cancelled");
    b.screenshot("letter-cancelled").await;

    b.open("/console/consents?email=consent@example.fr").await;
    assert!(b.text_of("#waiting").await.contains("dossier-consent"));
    b.fill("#consent-form input[name=email]", "consent@example.fr").await;
    b.fill("#consent-form input[name=source]", "formulaire signé le 2 novembre").await;
    b.click("#consent-form button[type=submit]").await;
    b.wait_for_text("1 lettre(s) en attente partent").await;
    assert!(b.text_of("#consents").await.contains("formulaire signé le 2 novembre"));
    app.wait_for(&waiting, "left awaiting_consent", |l| l["state"] != "awaiting_consent").await;
    b.open(&format!("/console/letters/{waiting}")).await;
    let timeline = b.text_of("#timeline").await;
    assert!(timeline.contains(&format!("enregistré par {ADMIN} pour consent@example.fr")), "{timeline}");
    b.open("/console/consents?email=consent@example.fr").await;
    b.text_of("#no-waiting").await;
    b.screenshot("consents").await;
    b.open("/console/letters/new?template=mise-en-demeure").await;
    b.text_of("#letter-form").await;
    b.screenshot("new-letter").await;
    b.stop().await;
    app.stop().await;
}

async fn a_person_edits_a_template_and_manages_keys_in_a_browser(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, ADMIN, Role::Admin).await;
    let b = Browser::start(&app.address, db, "templates").await;
    b.sign_in(ADMIN, PASSWORD).await;
    b.text_of("#attention").await;

    b.open("/console/templates").await;
    b.screenshot("templates").await;
    b.open("/console/templates/relance-facture").await;
    let rendered = || async {
        b.client
            .find(fantoccini::Locator::Css("#preview"))
            .await
            .unwrap()
            .attr("srcdoc")
            .await
            .unwrap()
            .unwrap_or_default()
    };
    for _ in 0..100 {
        if !rendered().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rendered().await.contains("F-2026-0042"), "the preview shows the example data");
    let original =
        b.client.find(fantoccini::Locator::Css("#source")).await.unwrap().prop("value").await.unwrap().unwrap();
    b.client
        .find(fantoccini::Locator::Css("#source"))
        .await
        .unwrap()
        .send_keys("\nPhrase ajoutée pour l'aperçu.")
        .await
        .unwrap();
    for _ in 0..100 {
        if rendered().await.contains("Phrase ajoutée pour l") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rendered().await.contains("Phrase ajoutée pour l"), "the preview follows the typing");
    b.screenshot("template-editor").await;

    b.client.find(fantoccini::Locator::Css("#source")).await.unwrap().send_keys("\n{{#if broken}}").await.unwrap();
    b.wait_for_text("data-line=").await;
    let flagged = b.text_of("#problems li[data-line]").await;
    let typed = b.client.find(fantoccini::Locator::Css("#source")).await.unwrap().prop("value").await.unwrap().unwrap();
    let line = typed[..typed.find("{{#if broken}}").unwrap()].matches('\n').count() + 1;
    assert!(flagged.starts_with(&format!("ligne {line} :")), "{flagged}");
    b.screenshot("template-syntax-error").await;

    let fixed = format!("{}\nPhrase ajoutée pour l'aperçu.\n", original.trim_end());
    b.client.execute("document.getElementById('source').value = arguments[0];", vec![json!(fixed)]).await.unwrap();
    b.click("#save-draft").await;
    b.wait_for_text("Brouillon enregistré.").await;
    b.fill("#publish-comment", "une phrase de plus").await;
    b.click("#publish").await;
    b.wait_for_text("Version publiée").await;
    let current = app.services.templates.current("relance-facture").unwrap();
    assert!(current.source.contains("Phrase ajoutée pour l"));
    assert!(b.text_of("#history").await.contains("une phrase de plus"));
    b.click("#history button.rollback").await;
    b.wait_for_text("Version précédente remise en service.").await;
    assert!(!app.services.templates.current("relance-facture").unwrap().source.contains("Phrase ajoutée"));
    b.screenshot("template-history").await;
    b.open("/console/templates/relance-facture").await;
    let diff = b
        .client
        .find(fantoccini::Locator::Css("#history tbody tr:nth-child(2) a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    b.open(&diff).await;
    b.text_of("#diff").await;
    b.screenshot("template-diff").await;

    // A forged form (its CSRF token replaced) is refused and creates nothing.
    b.open("/console/keys").await;
    let keys_before = app.store.api_keys(None).await.unwrap().len();
    b.client
        .execute("document.querySelector('form[action=\"/console/keys\"] input[name=csrf]').value = 'forged';", vec![])
        .await
        .unwrap();
    b.click("#create-key").await;
    b.wait_for_text("Le formulaire a expiré").await;
    assert_eq!(app.store.api_keys(None).await.unwrap().len(), keys_before);

    b.open("/console/keys").await;
    let prefix = &app.api_key[..10];
    assert_eq!(app.get("/v1/letters").await.status(), 200);
    b.click(&format!("tr[data-prefix=\"{prefix}\"] button.revoke")).await;
    b.client.accept_alert().await.unwrap();
    b.wait_for_text("révoquée le").await;
    assert_eq!(app.get("/v1/letters").await.status(), 401, "a revoked key is refused at once");
    b.screenshot("keys").await;
    for page in ["users", "senders", "approvals", "callbacks"] {
        b.open(&format!("/console/{page}")).await;
        b.text_of("h1").await;
        b.screenshot(page).await;
    }
    b.stop().await;
    app.stop().await;
}

crate::on_both_databases!(
    a_person_follows_cancels_and_releases_letters_in_a_browser,
    a_person_edits_a_template_and_manages_keys_in_a_browser,
);
