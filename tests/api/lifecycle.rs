//! A letter's whole path on the sandbox: every outcome, proofs archived and downloadable, notices emailed.

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::helpers::{Db, OUTCOME_TIMEOUT, spawn_app};

async fn a_letter_reaches_delivered_with_its_proofs_and_notices(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;

    let letter = app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let states: Vec<&str> = letter["events"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["received", "ready", "queued", "submitting", "deposited", "delivered"]);
    assert_eq!(letter["template"]["name"], "relance-facture");
    assert_eq!(letter["template"]["version"].as_str().unwrap().len(), 64);
    assert_eq!(letter["cost"]["amount"], "3.49");
    assert_eq!(letter["reference"], "dossier-881");
    assert!(letter["provider"]["reference"].as_str().unwrap().starts_with("sbx_"));
    assert_eq!(app.store.verify_events(&id.parse().unwrap()).await.unwrap(), 6, "the event chain verifies");

    // Both proofs are archived, downloadable, and match their SHA-256.
    let proofs = letter["proofs"].as_array().unwrap();
    let kinds: Vec<&str> = proofs.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"deposit") && kinds.contains(&"receipt"), "{kinds:?}");
    for proof in proofs {
        let response = app.get(&format!("/v1/letters/{id}/proofs/{}", proof["kind"].as_str().unwrap())).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert_eq!(hex::encode(Sha256::digest(&bytes)), proof["sha256"].as_str().unwrap());
        crate::poppler::assert_pdf_a_with_embedded_fonts(&bytes);
        let text = crate::poppler::pdf_text(&bytes);
        assert!(text.contains("SANDBOX"), "the proof is marked as having no legal value");
        assert!(text.contains(&id), "the proof names the letter");
    }
    let archived = crate::helpers::files_in(&app.proofs_dir.join(&id));
    assert_eq!(archived.len(), 2, "the proofs are archived under the proofs folder: {archived:?}");
    let document = app.get(&format!("/v1/letters/{id}/document")).await;
    assert_eq!(document.status(), 200);
    assert_eq!(
        hex::encode(Sha256::digest(document.bytes().await.unwrap())),
        letter["content_sha256"].as_str().unwrap()
    );

    // The requester was told at each step, in French, with the proof attached to the deposit and the outcome.
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let kinds: Vec<&str> = emails.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for expected in ["accepted", "deposited", "delivered"] {
        assert!(kinds.contains(&expected), "{expected} missing from {kinds:?}");
    }
    for (kind, raw) in &emails {
        let message = MessageParser::default().parse(raw).expect("a parseable email");
        assert_eq!(message.to().unwrap().first().unwrap().address().unwrap(), "compta@mon-cabinet.fr");
        assert!(!message.subject().unwrap_or_default().is_empty());
        assert_eq!(message.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
        let body = message.body_text(0).unwrap();
        assert!(body.contains(&id), "the {kind} email names the letter");
        let pdfs: Vec<_> =
            message.attachments().filter(|a| a.content_type().is_some_and(|c| c.subtype() == Some("pdf"))).collect();
        match kind.as_str() {
            "accepted" => assert!(pdfs.is_empty()),
            "deposited" | "delivered" => {
                assert_eq!(pdfs.len(), 1, "the {kind} email carries its proof");
                assert!(pdfs[0].contents().starts_with(b"%PDF-"));
            }
            _ => unreachable!(),
        }
    }
    app.stop().await;
}

async fn outcome_for(db: Db, email: &str, state: &str, proof: &str, notice: &str) {
    let (app, _env) = spawn_app(db).await;
    let id = app.submit(email).await;
    let letter = app.wait_for_state(&id, state, OUTCOME_TIMEOUT).await;
    let kinds: Vec<&str> = letter["proofs"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"deposit") && kinds.contains(&proof), "{kinds:?}");
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    let emails = app.emails_about(&id);
    let (_, raw) = emails.iter().find(|(k, _)| k == notice).unwrap_or_else(|| panic!("no {notice} email"));
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    assert_eq!(message.attachment_count(), 1, "the {notice} email carries the {proof} proof");
    app.stop().await;
}

async fn a_refused_letter_ends_refused_with_a_refusal_proof(db: Db) {
    outcome_for(db, "refuse.martin@example.fr", "refused", "refusal", "refused").await;
}

async fn an_ignored_letter_ends_not_claimed_with_a_non_claim_proof(db: Db) {
    outcome_for(db, "ignore-moi@example.fr", "not_claimed", "non_claim", "not_claimed").await;
}

async fn a_bad_address_ends_bounced_with_a_bounce_proof(db: Db) {
    outcome_for(db, "bounce@example.fr", "bounced", "bounce", "bounced").await;
}

async fn letters_are_listed_with_filters_and_a_cursor(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut body = crate::helpers::letter_body("liste@example.fr");
        body["reference"] = format!("ref-{n}").into();
        let response = app.post_letter(&body).await;
        assert_eq!(response.status(), 202);
        ids.push(response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let page: serde_json::Value = app.get("/v1/letters?limit=2").await.json().await.unwrap();
    let first: Vec<&str> = page["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(first, [ids[2].as_str(), ids[1].as_str()], "newest first");
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let next: serde_json::Value = app.get(&format!("/v1/letters?limit=2&cursor={cursor}")).await.json().await.unwrap();
    assert_eq!(next["data"][0]["id"], ids[0].as_str());
    assert!(next["next_cursor"].is_null());
    let by_ref: serde_json::Value = app.get("/v1/letters?reference=ref-1").await.json().await.unwrap();
    assert_eq!(by_ref["data"].as_array().unwrap().len(), 1);
    assert_eq!(by_ref["data"][0]["id"], ids[1].as_str());
    let bad = app.get("/v1/letters?state=lost").await;
    assert_eq!(bad.status(), 422);
    let problem: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "state");
    app.stop().await;
}

async fn a_multipart_request_streams_its_attachments_to_the_letter(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let pdf = crate::helpers::sample_pdf();
    let form = reqwest::multipart::Form::new()
        .part(
            "letter",
            reqwest::multipart::Part::text(crate::helpers::letter_body("multi@example.fr").to_string())
                .mime_str("application/json")
                .unwrap(),
        )
        .part(
            "invoice",
            reqwest::multipart::Part::bytes(pdf.clone())
                .file_name("F-2026-0042.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&app.api_key).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let letter = app.get_letter(&id).await;
    assert_eq!(letter["attachments"][0]["filename"], "F-2026-0042.pdf");
    assert_eq!(letter["attachments"][0]["size"], pdf.len());
    assert_eq!(letter["attachments"][0]["sha256"], hex::encode(Sha256::digest(&pdf)));
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.stop().await;
}

/// A JSON request's small files are kept in the database, committed with the letter: no folder, no file;
/// a large one ends in the letter's folder under its position. Nothing is left in staging.
async fn a_json_request_keeps_small_files_in_the_database_and_large_ones_in_the_letter_s_folder(db: Db) {
    use base64::Engine;
    let env = crate::helpers::TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.worker.enabled = false; // no letter PDF written into the letters' folders meanwhile
    let app = crate::helpers::spawn_with(&env, settings).await;
    let first = crate::helpers::sample_pdf();
    let mut second = first.clone();
    second.extend_from_slice(b"% a second invoice\n");
    let mut large = first.clone();
    large.resize(300 * 1024, b'%');
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let post = |files: serde_json::Value| {
        let mut body = crate::helpers::letter_body("dossier@example.fr");
        body["attachments"] = files;
        let app = &app;
        async move {
            let response = app.post_letter(&body).await;
            assert_eq!(response.status(), 202);
            response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap()
        }
    };
    let small: relais::domain::LetterId = post(serde_json::json!([
        {"filename": "F-1.pdf", "content_base64": b64(&first)},
        {"filename": "F-2.pdf", "content_base64": b64(&second)}
    ]))
    .await;
    assert!(!app.attachments_dir.join(small.as_str()).exists(), "no folder for a letter whose files are small");
    for (position, bytes) in [(0, &first), (1, &second)] {
        let kept = app.store.attachment_content(&small, position).await.unwrap();
        assert_eq!(kept.as_ref(), Some(bytes), "file {position} is in the database");
    }
    let letter = app.get_letter(small.as_str()).await;
    assert_eq!(letter["attachments"][1]["sha256"], hex::encode(Sha256::digest(&second)));

    let mixed: relais::domain::LetterId = post(serde_json::json!([
        {"filename": "F-1.pdf", "content_base64": b64(&first)},
        {"filename": "releve.pdf", "content_base64": b64(&large)}
    ]))
    .await;
    let folder = app.attachments_dir.join(mixed.as_str());
    assert_eq!(std::fs::read(folder.join("1.bin")).unwrap(), large);
    assert!(!folder.join("0.bin").exists(), "the small file is not written beside it");
    assert_eq!(app.store.attachment_content(&mixed, 0).await.unwrap(), Some(first.clone()));
    assert_eq!(app.store.attachment_content(&mixed, 1).await.unwrap(), None, "the large one is not in the database");
    let staging = crate::helpers::files_in(&app.attachments_dir.join(".incoming"));
    assert!(staging.is_empty(), "nothing stays in staging: {staging:?}");
    let staging_folders = std::fs::read_dir(app.attachments_dir.join(".incoming")).unwrap().count();
    assert_eq!(staging_folders, 0, "the staging folder became the letter's");
    app.stop().await;
}

crate::on_both_databases!(
    a_letter_reaches_delivered_with_its_proofs_and_notices,
    a_refused_letter_ends_refused_with_a_refusal_proof,
    an_ignored_letter_ends_not_claimed_with_a_non_claim_proof,
    a_bad_address_ends_bounced_with_a_bounce_proof,
    letters_are_listed_with_filters_and_a_cursor,
    a_multipart_request_streams_its_attachments_to_the_letter,
    a_json_request_keeps_small_files_in_the_database_and_large_ones_in_the_letter_s_folder,
);
