//! A qualified sender's letters approved from the console with the one-time code, against the fake AR24.

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

crate::on_both_databases!(a_person_approves_qualified_letters_with_the_code_in_a_browser);
