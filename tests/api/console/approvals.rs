//! A qualified sender's letters approved from the console with the one-time code, against the fake AR24:
//! all those waiting from the approvals page, or one from its own page.

use relais::accounts::users::Role;
use relais::config::Service;

use super::browser::Browser;
use super::people::{PASSWORD, make_user};
use crate::ar24::spawn_ar24_with;
use crate::helpers::{Db, OUTCOME_TIMEOUT};

async fn a_person_approves_qualified_letters_with_the_code_in_a_browser(db: Db) {
    let (app, _env, fake, user) = spawn_ar24_with(db, Service::Qualified, |_| {}).await;
    fake.set_otp(user, "246810");
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;

    let b = Browser::start(&app.address, db, "approvals").await;
    b.sign_in("claire@cabinet.fr", PASSWORD).await;
    b.text_of("#attention").await;
    b.open("/console/approvals").await;
    assert!(b.text_of("#approve-default").await.contains("dossier-881"));
    b.fill("#approve-default input[name=code]", "000000").await;
    b.click("#approve-default button[type=submit]").await;
    b.wait_for_text("Code refusé").await;
    assert_eq!(app.get_letter(&id).await["state"], "awaiting_approval", "a wrong code releases nothing");
    b.screenshot("approvals-wrong-code").await;
    b.fill("#approve-default input[name=code]", "246810").await;
    b.click("#approve-default button[type=submit]").await;
    b.wait_for_text("Validé : 1 lettre(s) envoyée(s).").await;
    app.wait_for(&id, "left awaiting_approval", |l| l["state"] != "awaiting_approval").await;
    b.screenshot("approvals-done").await;
    b.stop().await;
    app.stop().await;
}

async fn a_person_approves_one_letter_from_its_page_in_a_browser(db: Db) {
    let (app, _env, fake, user) = spawn_ar24_with(db, Service::Qualified, |_| {}).await;
    fake.set_otp(user, "135790");
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let other = app.submit("autre@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "awaiting_approval", OUTCOME_TIMEOUT).await;
    app.wait_for_state(&other, "awaiting_approval", OUTCOME_TIMEOUT).await;
    make_user(&app, "claire@cabinet.fr", Role::Member).await;

    let b = Browser::start(&app.address, db, "approve-one").await;
    b.sign_in("claire@cabinet.fr", PASSWORD).await;
    b.text_of("#attention").await;
    b.open(&format!("/console/letters/{id}")).await;
    b.text_of("#approve-letter").await;
    b.fill("#approve-letter input[name=code]", "000000").await;
    b.click("#approve-letter button[type=submit]").await;
    b.wait_for_text("Code refusé").await;
    assert_eq!(app.get_letter(&id).await["state"], "awaiting_approval", "a wrong code releases nothing");
    b.screenshot("letter-wrong-code").await;
    b.fill("#approve-letter input[name=code]", "135790").await;
    b.click("#approve-letter button[type=submit]").await;
    b.wait_for_text("Validée : la lettre part chez le prestataire.").await;
    assert!(
        b.text_of("#timeline").await.contains("validée par claire@cabinet.fr avec le code à usage unique"),
        "the timeline says who approved"
    );
    b.screenshot("letter-approved").await;
    app.wait_for(&id, "left awaiting_approval", |l| l["state"] != "awaiting_approval").await;
    assert_eq!(app.get_letter(&other).await["state"], "awaiting_approval", "only the letter approved leaves");
    let letter = app.get_letter(&id).await;
    let approved = letter["events"].as_array().unwrap().iter().find(|e| e["state"] == "queued").unwrap().clone();
    assert_eq!(approved["detail"], "approved by claire@cabinet.fr with the sender's one-time code");
    b.stop().await;
    app.stop().await;
}

crate::on_both_databases!(
    a_person_approves_qualified_letters_with_the_code_in_a_browser,
    a_person_approves_one_letter_from_its_page_in_a_browser,
);
