//! The content proof of a paper letter: archived with its SHA-256 beside the deposit proof and emailed to the
//! requester once, however many syncs see it; and the requester's notices tell a paper letter as paper.

use mail_parser::MimeHeaders;
use serde_json::Value;

use crate::ar24::states;
use crate::fake_maileva::Stage;
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp};
use crate::maileva::{paper_letter, proof_kinds, spawn_maileva, spawn_with_fallback, submitted};

/// The emails of `kind` about a letter, parsed: (subject, body, attachment names).
fn emails_of(app: &TestApp, id: &str, kind: &str) -> Vec<(String, String, Vec<String>)> {
    app.emails_about(id)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, raw)| {
            let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let names = message.attachments().map(|a| a.attachment_name().unwrap_or_default().to_owned()).collect();
            let subject = message.subject().unwrap_or_default().to_owned();
            (subject, message.body_text(0).unwrap_or_default().into_owned(), names)
        })
        .collect()
}

async fn the_content_proof_is_archived_and_emailed_once_however_many_syncs_see_it(db: Db) {
    let (app, _env, fake) = spawn_maileva(db, |_| {}).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    app.wait_for(&id, "given its sending id", |l| l["provider"]["reference"] == sending.id).await;
    fake.advance_silently(&sending.id, Stage::Deposited);
    // The callback's sync and the periodic one may run together: both download the proof, one row is kept.
    let letter_id: relais::domain::LetterId = id.parse().unwrap();
    let syncs = (0..4).map(|_| relais::letters::sync::sync_letter(&app.services, &letter_id));
    for outcome in futures_util::future::join_all(syncs).await {
        outcome.unwrap();
    }
    app.queue_sync(&id).await;
    let letter = app.wait_for(&id, "its content proof archived", |l| proof_kinds(l).contains(&"content".into())).await;
    assert_eq!(letter["state"], "deposited");
    let proofs = letter["proofs"].as_array().unwrap();
    let content = proofs.iter().find(|p| p["kind"] == "content").unwrap();
    let sha256 = content["sha256"].as_str().unwrap();
    assert!(sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit()), "{content:#}");
    assert_eq!(proofs.iter().filter(|p| p["kind"] == "content").count(), 1);
    assert!(fake.advance(&sending.id, Stage::Delivered).await);
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.queue_sync(&id).await;
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let told = emails_of(&app, &id, "content_proof");
    assert_eq!(told.len(), 1, "the requester gets the content proof once: {told:?}");
    let (subject, body, attachments) = &told[0];
    assert!(subject.starts_with("Preuve de contenu"), "{subject}");
    assert!(body.contains(sha256), "the email gives the proof's SHA-256: {body}");
    assert_eq!(attachments, &[format!("{id}-content.pdf")]);
    let deposited = emails_of(&app, &id, "deposited");
    assert_eq!(deposited.len(), 1);
    assert!(deposited[0].1.contains("recommandée papier") && !deposited[0].1.contains("électronique"), "{deposited:?}");
    assert_eq!(deposited[0].2, [format!("{id}-deposit.pdf")], "the deposit notice carries the deposit proof alone");
    app.stop().await;
}

async fn a_letter_sent_on_paper_through_the_fallback_is_told_as_paper(db: Db) {
    let (app, _env, fake) = spawn_with_fallback(db).await;
    let id = app.submit_letter_value(&paper_letter()).await;
    let sending = submitted(&fake, &id).await;
    assert!(fake.advance(&sending.id, Stage::Delivered).await);
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert!(proof_kinds(&letter).contains(&"content".to_owned()), "{letter:#}");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    for kind in ["deposited", "delivered"] {
        let told = emails_of(&app, &id, kind);
        let body = told.first().map(|(_, body, _)| body.as_str()).unwrap_or_default();
        assert!(body.contains("recommandée papier") && !body.contains("électronique"), "{kind}: {body}");
    }
    // An electronic letter of the same sender is still told as electronic.
    let mut professional = paper_letter();
    professional["recipient"]["kind"] = Value::from("professional");
    let electronic = app.submit_letter_value(&professional).await;
    let deposited = |l: &Value| states(l).contains(&"deposited".to_owned());
    app.wait_for(&electronic, "deposited through the sandbox", deposited).await;
    app.wait_for_jobs(&electronic, OUTCOME_TIMEOUT).await;
    let told = emails_of(&app, &electronic, "deposited");
    assert!(told.first().is_some_and(|(_, body, _)| body.contains("recommandée électronique")), "{told:?}");
    app.stop().await;
}

crate::on_both_databases!(
    the_content_proof_is_archived_and_emailed_once_however_many_syncs_see_it,
    a_letter_sent_on_paper_through_the_fallback_is_told_as_paper,
);
