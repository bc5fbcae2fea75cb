//! Email intake through the raw MIME channel: a forwarded email becomes a letter, and the requester is
//! answered; duplicates, missing fields, forged senders and auto-replies are handled without loops.

use base64::Engine;
use mail_parser::MessageParser;
use serde_json::Value;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, sample_pdf, spawn_with};

const INGRESS_KEY: &str = "ingress-test-key";
const TRUSTED_MTA: &str = "mx.relais.example.fr";

fn email_settings(env: &TestEnv) -> relais::config::Settings {
    let mut settings = env.settings();
    settings.intake.mime.ingress_key = relais::config::Secret::new(INGRESS_KEY.into());
    settings.intake.trusted_authserv_ids = vec![TRUSTED_MTA.into()];
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings
}

async fn spawn_email(db: Db) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, email_settings(&env)).await;
    (app, env)
}

/// A request as a mail client sends it, with the upstream MTA's verdict on top.
fn email(message_id: &str, authentication: &str, body: &str, with_pdf: bool) -> Vec<u8> {
    let mut raw = format!(
        "Authentication-Results: {authentication}\r\n\
         From: Paul Comptable <paul@cabinet.example.fr>\r\n\
         To: lre@relais.example.fr\r\n\
         Subject: Relance facture F-2026-0042\r\n\
         Message-ID: <{message_id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\n"
    );
    if with_pdf {
        let pdf = base64::engine::general_purpose::STANDARD.encode(sample_pdf());
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n--b1\r\n\
             Content-Type: application/pdf; name=\"F-2026-0042.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"F-2026-0042.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--b1--\r\n"
        ));
    } else {
        raw.push_str(&format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
        ));
    }
    raw.into_bytes()
}

const PASS: &str =
    "mx.relais.example.fr; dkim=pass header.d=cabinet.example.fr; dmarc=pass header.from=cabinet.example.fr";

const COMPLETE: &str = "Bonjour,\r\n\r\nMerci d'envoyer une relance.\r\n\r\n\
    Destinataire : Jeanne Martin\r\nSociété : Boulangerie Martin SARL\r\nEmail : compta@boulangerie-martin.fr\r\n\
    Type : professionnel\r\nAdresse : 12 rue des Lilas\r\nCode postal : 69003\r\nVille : Lyon\r\n\
    Numéro de facture : F-2026-0042\r\nMontant : 1 250,00 €\r\nÉchéance : 31/10/2026\r\nRéférence : dossier-881\r\n\r\nPaul";

async fn post_mime(app: &TestApp, raw: Vec<u8>, key: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/v1/inbound/mime?to=lre%2Brelance-facture%40relais.example.fr"))
        .bearer_auth(key)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn outbox_answers(app: &TestApp) -> Vec<Vec<u8>> {
    app.wait_for_answers().await;
    crate::helpers::files_in(&app.outbox)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("request-"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

async fn a_forwarded_email_becomes_a_letter_and_is_answered(db: Db) {
    let (app, _env) = spawn_email(db).await;
    let (status, body) = post_mime(&app, email("req-1@cabinet.example.fr", PASS, COMPLETE, true), INGRESS_KEY).await;
    assert_eq!(status, 202, "{body}");
    let id = body["letter"].as_str().unwrap().to_owned();
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["recipient"]["email"], "compta@boulangerie-martin.fr");
    assert_eq!(letter["recipient"]["kind"], "professional");
    assert_eq!(letter["reference"], "dossier-881");
    assert_eq!(letter["notify_email"], "paul@cabinet.example.fr");
    assert_eq!(letter["attachments"][0]["filename"], "F-2026-0042.pdf");

    let answers = outbox_answers(&app).await;
    assert_eq!(answers.len(), 1, "one answer");
    let answer = MessageParser::default().parse(&answers[0]).unwrap();
    assert_eq!(answer.to().unwrap().first().unwrap().address().unwrap(), "paul@cabinet.example.fr");
    assert_eq!(answer.in_reply_to().as_text(), Some("req-1@cabinet.example.fr"));
    assert_eq!(answer.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
    assert!(answer.body_text(0).unwrap().contains(&id));
    assert_eq!(answer.attachment_count(), 1, "the rendered letter is attached");
    app.stop().await;
}

/// The answer is owed in the transaction that records the email: relais stopping before it is sent (here,
/// with no worker running) does not lose it; the next start sends it, with the letter rendered once.
async fn an_answer_owed_when_relais_stops_is_sent_after_the_restart(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = email_settings(&env);
    settings.worker.enabled = false;
    let first = spawn_with(&env, settings).await;
    let (status, body) = post_mime(&first, email("req-9@cabinet.example.fr", PASS, COMPLETE, true), INGRESS_KEY).await;
    assert_eq!(status, 202, "{body}");
    let id = body["letter"].as_str().unwrap().to_owned();
    assert!(crate::helpers::files_in(&first.outbox).iter().all(|p| !p.to_string_lossy().contains("request-")));
    first.stop().await;

    let second = spawn_with(&env, email_settings(&env)).await;
    let answers = outbox_answers(&second).await;
    assert_eq!(answers.len(), 1, "one answer, after the restart");
    let answer = MessageParser::default().parse(&answers[0]).unwrap();
    assert_eq!(answer.in_reply_to().as_text(), Some("req-9@cabinet.example.fr"));
    let message_id = answer.message_id().unwrap_or_default();
    assert!(message_id.starts_with(&format!("{id}-request-accepted@")), "one Message-ID per answer: {message_id}");
    let attached = answer.attachments().next().expect("the letter is attached").contents().to_vec();
    let letter = second.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let rendered = std::fs::read(second.services.files.document_of(&id.parse().unwrap())).unwrap();
    assert_eq!(attached, rendered, "the letter attached is the one sent: {letter:#}");
    second.stop().await;
}

/// A letter that could not be rendered after its email was accepted is not announced as leaving: the
/// requester hears of its failure only.
async fn a_letter_that_could_not_be_rendered_gets_no_acceptance(db: Db) {
    use relais::domain::LetterState;
    let env = TestEnv::new(db).await;
    let mut settings = email_settings(&env);
    settings.worker.enabled = false;
    let app = spawn_with(&env, settings).await;
    let (status, body) = post_mime(&app, email("req-11@cabinet.example.fr", PASS, COMPLETE, false), INGRESS_KEY).await;
    assert_eq!(status, 202, "{body}");
    let letter: relais::domain::LetterId = body["letter"].as_str().unwrap().parse().unwrap();
    // As the preparation does when the letter cannot be typeset.
    let mut tx = app.store.begin().await.unwrap();
    let failed = relais::letters::transitions::transition(
        &mut tx,
        &letter,
        LetterState::Received,
        LetterState::Failed,
        Some("the letter could not be typeset"),
        None,
    )
    .await
    .unwrap();
    assert!(failed);
    tx.commit().await.unwrap();
    for _ in 0..5 {
        let now = relais::store::now_ms();
        for job in app.store.claim_jobs("test-worker", now, now + 60_000, 10).await.unwrap() {
            relais::worker::run_claimed(&app.services, "test-worker", job).await;
        }
    }
    assert!(outbox_answers(&app).await.is_empty(), "no acceptance for a failed letter");
    app.stop().await;
}

/// An answer that cannot leave (here, an addressee the mailer refuses) is told on the letter's timeline.
async fn an_answer_that_cannot_leave_is_told_on_the_timeline(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = email_settings(&env);
    settings.worker.enabled = false;
    let app = spawn_with(&env, settings).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    let letter: relais::domain::LetterId = id.parse().unwrap();
    let to = serde_json::json!({"to": {"to": "not an address", "subject": "Relance", "french": true,
                                       "message_id": null, "references": []}});
    let job = relais::store::NewJob {
        kind: relais::letters::jobs::ANSWER,
        letter_id: Some(&letter),
        payload: to,
        run_at: relais::store::now_ms(),
    };
    let mut tx = app.store.begin().await.unwrap();
    relais::store::jobs::enqueue(&mut tx, job, relais::store::now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    for _ in 0..5 {
        let now = relais::store::now_ms();
        for job in app.store.claim_jobs("test-worker", now, now + 60_000, 10).await.unwrap() {
            relais::worker::run_claimed(&app.services, "test-worker", job).await;
        }
    }
    let timeline = app.get_letter(&id).await;
    let told =
        timeline["events"].as_array().unwrap().iter().any(|e| {
            e["detail"].as_str().is_some_and(|d| d.contains("the answer to the email request could not be sent"))
        });
    assert!(told, "{timeline:#}");
    app.stop().await;
}

async fn the_same_email_twice_makes_one_letter_and_one_answer(db: Db) {
    let (app, _env) = spawn_email(db).await;
    let raw = email("req-2@cabinet.example.fr", PASS, COMPLETE, false);
    let (first, body) = post_mime(&app, raw.clone(), INGRESS_KEY).await;
    assert_eq!(first, 202, "{body}");
    // The same message again, as another channel would see it: an extra Received header on top.
    let mut again = b"Received: from mx2 by relais; Thu, 26 Nov 2026 10:00:05 +0100\r\n".to_vec();
    again.extend_from_slice(&raw);
    let (second, body) = post_mime(&app, again, INGRESS_KEY).await;
    assert_eq!(second, 200);
    assert_eq!(body["outcome"], "duplicate");
    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    assert_eq!(outbox_answers(&app).await.len(), 1);
    app.stop().await;
}

async fn missing_fields_are_answered_with_the_lines_to_add(db: Db) {
    let (app, _env) = spawn_email(db).await;
    let body = "Destinataire : Jeanne Martin\r\nMontant : 1 250,00 €\r\n";
    let (status, outcome) = post_mime(&app, email("req-3@cabinet.example.fr", PASS, body, false), INGRESS_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(outcome["outcome"], "rejected");
    let answers = outbox_answers(&app).await;
    assert_eq!(answers.len(), 1);
    let text = MessageParser::default().parse(&answers[0]).unwrap().body_text(0).unwrap().into_owned();
    assert!(text.contains("Email:"), "the answer says which line to add: {text}");
    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert!(all["data"].as_array().unwrap().is_empty());
    app.stop().await;
}

async fn a_forged_sender_is_refused_and_not_answered(db: Db) {
    let (app, _env) = spawn_email(db).await;
    // The sender wrote a flattering Authentication-Results himself: its authserv-id is not the trusted MTA.
    let forged = "evil.example; dmarc=pass header.from=cabinet.example.fr";
    let (status, outcome) = post_mime(&app, email("req-4@evil.example", forged, COMPLETE, false), INGRESS_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(outcome["outcome"], "refused");
    assert!(outbox_answers(&app).await.is_empty(), "no backscatter to a forged sender");
    let all: Value = app.get("/v1/letters").await.json().await.unwrap();
    assert!(all["data"].as_array().unwrap().is_empty());
    app.stop().await;
}

async fn auto_replies_are_ignored_and_the_ingress_key_is_required(db: Db) {
    let (app, _env) = spawn_email(db).await;
    let mut raw = b"Auto-Submitted: auto-replied\r\n".to_vec();
    raw.extend_from_slice(&email("req-5@cabinet.example.fr", PASS, "Je suis absent.", false));
    let (status, outcome) = post_mime(&app, raw, INGRESS_KEY).await;
    assert_eq!(status, 200);
    assert_eq!(outcome["outcome"], "ignored");
    assert!(outbox_answers(&app).await.is_empty(), "an auto-reply is never answered");
    let (status, _) = post_mime(&app, email("req-6@cabinet.example.fr", PASS, COMPLETE, false), "wrong-key").await;
    assert_eq!(status, 401);
    app.stop().await;
}

async fn spawn_confirming(db: Db, within: std::time::Duration) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.mime.ingress_key = relais::config::Secret::new(INGRESS_KEY.into());
    settings.intake.trusted_authserv_ids = vec![TRUSTED_MTA.into()];
    settings.intake.confirm_within = within;
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings.senders[0].confirm = relais::config::Confirm::Always;
    let app = spawn_with(&env, settings).await;
    (app, env)
}

/// The token of the confirmation request in the outbox (from its Message-ID).
fn held_token(app: &TestApp) -> String {
    let asks: Vec<Vec<u8>> = crate::helpers::files_in(&app.outbox)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("request-confirm"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    assert_eq!(asks.len(), 1, "one confirmation request");
    let message = MessageParser::default().parse(&asks[0]).unwrap();
    assert_eq!(message.attachment_count(), 1, "the letter as it would go is attached");
    let id = message.message_id().unwrap().to_owned();
    id.strip_prefix("confirm-").unwrap().strip_suffix("@relais.invalid").unwrap().to_owned()
}

async fn a_held_request_leaves_when_the_requester_replies_ok(db: Db) {
    let (app, _env) = spawn_confirming(db, std::time::Duration::from_secs(3600)).await;
    let (status, body) = post_mime(&app, email("held-1@cabinet.example.fr", PASS, COMPLETE, true), INGRESS_KEY).await;
    assert_eq!((status, body["outcome"].as_str()), (202, Some("awaiting_confirmation")), "{body}");
    assert!(letters_of(&app).await.is_empty(), "nothing is sent before the confirmation");
    let token = held_token(&app);
    let reply = format!(
        "Authentication-Results: {PASS}\r\nFrom: Paul Comptable <paul@cabinet.example.fr>\r\n\
         To: relais <relais@localhost>\r\nSubject: Re: Relance\r\nMessage-ID: <held-1-reply@cabinet.example.fr>\r\n\
         In-Reply-To: <confirm-{token}@relais.invalid>\r\nReferences: <held-1@cabinet.example.fr> <confirm-{token}@relais.invalid>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nOK, merci.\r\n\r\n> Votre demande est complète.\r\n"
    );
    let (status, body) = post_mime(&app, reply.into_bytes(), INGRESS_KEY).await;
    assert_eq!(status, 202, "{body}");
    let id = body["letter"].as_str().unwrap().to_owned();
    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    assert_eq!(letter["attachments"][0]["filename"], "F-2026-0042.pdf", "the held files went with it");
    assert_eq!(letters_of(&app).await.len(), 1);
    app.stop().await;
}

async fn the_confirmation_link_sends_once_and_an_expired_request_sends_nothing(db: Db) {
    let (app, _env) = spawn_confirming(db, std::time::Duration::from_secs(3600)).await;
    post_mime(&app, email("held-2@cabinet.example.fr", PASS, COMPLETE, false), INGRESS_KEY).await;
    let link = app.url(&format!("/v1/confirmations/{}", held_token(&app)));
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"), "a GET only shows a button");
    assert!(letters_of(&app).await.is_empty(), "opening the link sends nothing");
    for _ in 0..2 {
        assert_eq!(app.client.post(&link).send().await.unwrap().status(), 200);
    }
    assert_eq!(letters_of(&app).await.len(), 1, "confirmed twice, sent once");
    app.stop().await;

    let (app, _env) = spawn_confirming(db, std::time::Duration::from_millis(1)).await;
    post_mime(&app, email("held-3@cabinet.example.fr", PASS, COMPLETE, false), INGRESS_KEY).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let token = held_token(&app);
    let link = app.url(&format!("/v1/confirmations/{token}"));
    assert_eq!(app.client.post(&link).send().await.unwrap().status(), 410);
    assert!(letters_of(&app).await.is_empty());
    // The sweep removes the files of what expired.
    let held = app.attachments_dir.join(".pending").join(&token);
    assert!(held.exists());
    let removed = relais::letters::files::remove_abandoned(&app.services.files, &app.store, relais::store::now_ms())
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!held.exists());
    app.stop().await;
}

async fn letters_of(app: &TestApp) -> Vec<Value> {
    app.get("/v1/letters").await.json::<Value>().await.unwrap()["data"].as_array().unwrap().clone()
}

crate::on_both_databases!(
    a_held_request_leaves_when_the_requester_replies_ok,
    the_confirmation_link_sends_once_and_an_expired_request_sends_nothing,
    a_forwarded_email_becomes_a_letter_and_is_answered,
    an_answer_owed_when_relais_stops_is_sent_after_the_restart,
    an_answer_that_cannot_leave_is_told_on_the_timeline,
    a_letter_that_could_not_be_rendered_gets_no_acceptance,
    the_same_email_twice_makes_one_letter_and_one_answer,
    missing_fields_are_answered_with_the_lines_to_add,
    a_forged_sender_is_refused_and_not_answered,
    auto_replies_are_ignored_and_the_ingress_key_is_required,
);
