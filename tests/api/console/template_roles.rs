//! Who may change which template from the console: shared templates are the admins'; a member makes and
//! publishes their sender's own version, which the other senders never see; forged forms change nothing.

use relais::accounts::users::{self, Role};
use relais::render::TemplateScope;
use reqwest::StatusCode;

use super::people::{PASSWORD, make_user, sign_in};
use crate::helpers::{Db, TestEnv, spawn_with};

const TEMPLATE: &str = "relance-facture";

async fn members_change_their_senders_version_and_never_the_shared_template(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    let mut other = settings.senders[0].clone();
    other.id = "cabinet-dupont".parse().unwrap();
    settings.senders.push(other);
    let app = spawn_with(&env, settings).await;
    let own = app.services.settings.senders[0].id.clone();
    users::create_user(&app.store, "claire@cabinet.fr", PASSWORD, Role::Member, vec![own.clone()]).await.unwrap();
    make_user(&app, "lecture@cabinet.fr", Role::Viewer).await;
    let shared_before = app.services.templates.current(TEMPLATE).unwrap().source.clone();

    // The shared template: read, not changed, by a member; a forged draft is refused and stores nothing.
    let member = sign_in(&app, "claire@cabinet.fr").await;
    let page = member.page(&format!("/console/templates/{TEMPLATE}")).await;
    assert!(!page.contains("id=\"save-draft\""), "a member is not offered to change a shared template");
    assert!(page.contains("id=\"customise\""), "a member is offered a version of their sender's own");
    let csrf = member.csrf().await;
    let forged = [("csrf", csrf.as_str()), ("source", "Texte imposé"), ("version", "0000"), ("comment", "")];
    for action in ["draft", "publish", "rollback"] {
        let answer = member.post(&format!("/console/templates/{TEMPLATE}/{action}"), &forged).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let shared = app.services.templates.get(&TemplateScope::Shared, TEMPLATE).await.unwrap();
    assert!(shared.draft.is_none(), "nothing was written to the shared template");

    // Their sender's own version: made from the shared text, changed, published for that sender only.
    let sender = own.to_string();
    let made =
        member.post(&format!("/console/templates/{TEMPLATE}/customise"), &[("csrf", &csrf), ("sender", &sender)]).await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let editor = format!("/console/senders/{sender}/templates/{TEMPLATE}");
    assert_eq!(made.headers()["location"], format!("{editor}?done=draft_saved"));
    let page = member.page(&editor).await;
    assert!(page.contains("id=\"save-draft\"") && page.contains("id=\"template-sender\""), "{page}");
    let changed = format!("{}\nPhrase propre au cabinet.\n", shared_before.trim_end());
    let saved = member.post(&format!("{editor}/draft"), &[("csrf", &csrf), ("source", &changed)]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let published =
        member.post(&format!("{editor}/publish"), &[("csrf", &csrf), ("comment", "phrase du cabinet")]).await;
    assert_eq!(published.headers()["location"], format!("{editor}?done=published"));
    let theirs = app.services.templates.current_for(&own, TEMPLATE).unwrap();
    assert!(theirs.source.contains("Phrase propre au cabinet."));
    assert_eq!(app.services.templates.current(TEMPLATE).unwrap().source, shared_before, "the shared one is as it was");
    let other: relais::domain::SenderId = "cabinet-dupont".parse().unwrap();
    assert_eq!(app.services.templates.current_for(&other, TEMPLATE).unwrap().source, shared_before);
    let list = member.page("/console/templates").await;
    assert!(list.contains(&format!("href=\"{editor}\"")), "the list shows their sender's version");

    // Another sender's version is not there for them; a viewer may read but not change.
    let elsewhere = member.get(&format!("/console/senders/cabinet-dupont/templates/{TEMPLATE}")).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let viewer = sign_in(&app, "lecture@cabinet.fr").await;
    let page = viewer.page(&editor).await;
    assert!(!page.contains("id=\"save-draft\"") && !page.contains("id=\"customise\""));
    let csrf = viewer.csrf().await;
    let forged = viewer.post(&format!("{editor}/draft"), &[("csrf", &csrf), ("source", "Texte imposé")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let theirs = app.services.templates.get(&TemplateScope::Sender(own), TEMPLATE).await.unwrap();
    assert!(theirs.draft.is_none(), "the viewer's forged draft stored nothing");

    // Anyone may see the text as typed as the PDF that would be sent, on the data typed beside it.
    let typed = format!("{}\nPhrase vue dans le PDF.\n", shared_before.trim_end());
    let data = r#"{"invoice_number": "F-2099-0007"}"#;
    let pdf = viewer
        .post(&format!("{editor}/preview.pdf"), &[("csrf", &csrf), ("source", &typed), ("variables", data)])
        .await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = crate::poppler::pdf_text(&pdf.bytes().await.unwrap()).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Phrase vue dans le PDF.") && text.contains("F-2099-0007"), "{text}");
    let bad = viewer
        .post(&format!("{editor}/preview.pdf"), &[("csrf", &csrf), ("source", &typed), ("variables", "[1]")])
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("variables"));
    app.stop().await;
}

crate::on_both_databases!(members_change_their_senders_version_and_never_the_shared_template);
