//! `relais verify` and the anchors: an edited event, a chain rewritten with recomputed hashes after an
//! anchor, a tampered proof, letter PDF, attachment or consent proof are each reported with their letter; a clean history passes.

mod cli;
mod tsa;

use relais::audit::{Report, Scope, Subject, anchor_chains, verify};
use relais::domain::LetterId;
use relais::store::GENESIS_HASH;
use relais::store::events::event_hash;
use serde_json::Value;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, spawn_app};

/// A letter that reached `delivered` with its proofs, notices sent (its chain no longer moves).
async fn delivered_letter(app: &TestApp) -> LetterId {
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    app.wait_for_jobs(&id, OUTCOME_TIMEOUT).await;
    id.parse().unwrap()
}

async fn run_verify(app: &TestApp, scope: &Scope) -> Report {
    verify(&app.store, &app.services.files, &app.services.settings.audit.anchor_file, scope).await.expect("verify runs")
}

async fn anchor(app: &TestApp) -> relais::audit::Anchored {
    let s = &app.services;
    anchor_chains(&s.store, &s.settings.audit, &s.mailer).await.expect("anchor")
}

/// Runs one statement on the app's database, as someone with write access to it would.
async fn tamper(app: &TestApp, sql: &str, binds: &[&str]) {
    let mut tx = app.store.begin().await.unwrap();
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        query = query.bind(*b);
    }
    query.execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

/// Rewrites event `seq`'s detail and recomputes every hash from there: a chain that verifies on its own.
async fn rewrite_chain(app: &TestApp, letter: &LetterId, seq: i64, detail: &str) {
    let events = app.store.events(letter).await.unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    let mut tx = app.store.begin().await.unwrap();
    for e in &events {
        let detail = if e.seq == seq { Some(detail) } else { e.detail.as_deref() };
        let hash = event_hash(&prev, letter, e.seq, e.at, e.state, detail);
        sqlx::query(
            "UPDATE letter_events SET detail = $1, prev_hash = $2, hash = $3 WHERE letter_id = $4 AND seq = $5",
        )
        .bind(detail)
        .bind(&prev)
        .bind(&hash)
        .bind(letter.as_str())
        .bind(e.seq)
        .execute(&mut *tx)
        .await
        .unwrap();
        prev = hash;
    }
    tx.commit().await.unwrap();
}

async fn a_clean_history_verifies_and_the_letter_shows_its_anchored_chain(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = delivered_letter(&app).await;
    let other = delivered_letter(&app).await;

    let before = app.get_letter(id.as_str()).await;
    assert_eq!(before["chain"]["verified"], true, "{:#}", before["chain"]);
    assert_eq!(before["chain"]["events"], 6);
    assert_eq!(before["chain"]["anchored_at"], Value::Null, "nothing anchored yet");

    let anchored = anchor(&app).await;
    assert!(anchored.findings.is_empty(), "{:?}", anchored.findings);
    assert_eq!(anchored.line.letters, 2);
    assert_eq!(anchored.line.changed.len(), 2);
    let again = anchor(&app).await;
    assert!(again.line.changed.is_empty(), "an anchor records only the heads that moved");
    assert_eq!(again.line.digest, anchored.line.digest, "the same heads give the same digest");

    let (a, b) = tokio::join!(anchor(&app), anchor(&app));
    assert!(a.findings.is_empty() && b.findings.is_empty(), "two anchors at once follow one another");

    let report = run_verify(&app, &Scope::Everything).await;
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!((report.letters, report.events, report.anchors, report.anchored_letters), (2, 12, 4, 2));
    assert_eq!(report.files, 6, "two letter PDFs and four proofs");
    let one = run_verify(&app, &Scope::Letter(other.clone())).await;
    assert!(one.is_clean() && one.letters == 1, "{one:?}");

    let after = app.get_letter(id.as_str()).await;
    assert_eq!(after["chain"]["verified"], true);
    assert_eq!(after["chain"]["anchored_events"], 6);
    assert_eq!(after["chain"]["anchored_at"].as_str().unwrap(), anchored.line.anchored_at);
    app.stop().await;
}

async fn an_edited_event_is_reported_with_its_letter(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = delivered_letter(&app).await;
    let untouched = delivered_letter(&app).await;
    tamper(&app, "UPDATE letter_events SET detail = 'refused' WHERE letter_id = $1 AND seq = 6", &[id.as_str()]).await;

    let report = run_verify(&app, &Scope::Everything).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.letter.as_ref(), Some(&id));
    assert_eq!(finding.subject, Subject::Event { seq: 6 });
    assert!(finding.expected.contains("recomputed"), "{finding}");
    assert!(run_verify(&app, &Scope::Letter(untouched)).await.is_clean());

    let letter = app.get_letter(id.as_str()).await;
    assert_eq!(letter["chain"]["verified"], false);
    assert!(letter["chain"]["problem"].as_str().unwrap().contains("event 6"), "{:#}", letter["chain"]);
    app.stop().await;
}

async fn a_chain_rewritten_with_recomputed_hashes_after_an_anchor_is_reported(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = delivered_letter(&app).await;
    let untouched = delivered_letter(&app).await;
    anchor(&app).await;
    rewrite_chain(&app, &id, 5, "deposited on another day").await;
    assert!(app.store.verify_events(&id).await.is_ok(), "the rewritten chain holds on its own");

    let report = run_verify(&app, &Scope::Everything).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(finding.letter.as_ref(), Some(&id), "{finding}");
    assert!(matches!(finding.subject, Subject::AnchoredEvent { seq: 6, .. }), "{finding}");
    assert!(finding.to_string().contains(id.as_str()));

    // The next anchor notices it, and anchoring the rewritten state does not make it pass.
    let next = anchor(&app).await;
    assert_eq!(next.findings.len(), 1, "{:?}", next.findings);
    assert_eq!(next.findings[0].letter.as_ref(), Some(&id));
    let report = run_verify(&app, &Scope::Letter(id.clone())).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert!(run_verify(&app, &Scope::Letter(untouched)).await.is_clean());

    // A letter deleted after the anchor is reported too.
    tamper(&app, "DELETE FROM letter_events WHERE letter_id = $1", &[id.as_str()]).await;
    tamper(&app, "DELETE FROM letters WHERE id = $1", &[id.as_str()]).await;
    let report = run_verify(&app, &Scope::Everything).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.letter.as_ref() == Some(&id) && matches!(f.subject, Subject::AnchoredLetter { .. })),
        "{:?}",
        report.findings
    );
    app.stop().await;
}

async fn a_tampered_proof_or_letter_pdf_is_reported_with_both_hashes(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let id = delivered_letter(&app).await;
    let proofs = app.store.proofs(&id).await.unwrap();
    let receipt = proofs.iter().find(|p| p.kind == "receipt").unwrap();
    let mut bytes = std::fs::read(&receipt.path).unwrap();
    bytes.extend_from_slice(b"\n% appended\n");
    std::fs::write(&receipt.path, &bytes).unwrap();
    let document = app.services.files.document_of(&id);
    std::fs::remove_file(&document).unwrap();

    let report = run_verify(&app, &Scope::Letter(id.clone())).await;
    assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
    let proof = report.findings.iter().find(|f| f.subject == Subject::Proof { kind: "receipt".into() }).unwrap();
    assert_eq!(proof.letter.as_ref(), Some(&id));
    assert_eq!(proof.expected, format!("SHA-256 {}", receipt.sha256));
    assert_eq!(proof.found, format!("SHA-256 {}", relais::letters::files::sha256_hex(&bytes)));
    let pdf = report.findings.iter().find(|f| f.subject == Subject::Document).unwrap();
    assert!(pdf.found.contains("no readable file"), "{pdf}");
    app.stop().await;
}

/// An attachment the database keeps is checked as a file is: its bytes against the SHA-256 recorded at intake.
async fn a_tampered_attachment_in_the_database_or_on_disk_is_reported(db: Db) {
    use base64::Engine;
    let (app, _env) = spawn_app(db).await;
    let small = crate::helpers::sample_pdf();
    let mut large = small.clone();
    large.resize(300 * 1024, b'%');
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut body = crate::helpers::letter_body("compta@boulangerie-martin.fr");
    body["attachments"] = serde_json::json!([
        {"filename": "facture.pdf", "content_base64": b64(&small)},
        {"filename": "releve.pdf", "content_base64": b64(&large)}
    ]);
    let response = app.post_letter(&body).await;
    assert_eq!(response.status(), 202);
    let id: LetterId = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().parse().unwrap();
    app.wait_for_state(id.as_str(), "delivered", OUTCOME_TIMEOUT).await;
    app.wait_for_jobs(id.as_str(), OUTCOME_TIMEOUT).await;
    let report = run_verify(&app, &Scope::Letter(id.clone())).await;
    assert!(report.is_clean(), "{:?}", report.findings);

    let mut forged = small.clone();
    forged.extend_from_slice(b"% edited\n");
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE attachments SET content = $1 WHERE letter_id = $2 AND position = 0")
        .bind(forged.clone())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let on_disk = app.store.attachments(&id).await.unwrap()[1].path.clone().expect("the large file is on disk");
    std::fs::remove_file(on_disk).unwrap();

    let report = run_verify(&app, &Scope::Letter(id.clone())).await;
    assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
    let kept = Subject::Attachment { position: 0, filename: "facture.pdf".into() };
    let kept = report.findings.iter().find(|f| f.subject == kept).expect("the edited bytes are reported");
    assert_eq!(kept.found, format!("SHA-256 {}", relais::letters::files::sha256_hex(&forged)));
    let file = Subject::Attachment { position: 1, filename: "releve.pdf".into() };
    let file = report.findings.iter().find(|f| f.subject == file).expect("the missing file is reported");
    assert!(file.found.contains("no readable file"), "{file}");
    app.stop().await;
}

async fn a_tampered_consent_proof_is_reported_with_its_consent(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let body = serde_json::json!({"email": "jeanne.martin@example.fr", "given_at": "2026-11-02",
                                  "source": "formulaire signé", "proof_base64": "JVBERi0xLjQK"});
    let recorded: Value = app.post_json("/v1/consents", &body).await.json().await.unwrap();
    let consent = recorded["id"].as_str().unwrap().to_owned();
    let report = run_verify(&app, &Scope::Everything).await;
    assert!(report.is_clean() && report.files == 1, "{report:?}");

    let path = app.proofs_dir.join("consents").join(format!("{consent}.bin"));
    std::fs::write(&path, b"%PDF-1.4 another form").unwrap();
    let report = run_verify(&app, &Scope::Everything).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].subject, Subject::ConsentProof { consent: consent.parse().unwrap() });
    assert!(report.findings[0].to_string().starts_with(&consent), "{}", report.findings[0]);
    app.stop().await;
}

async fn the_workers_anchor_on_their_schedule(db: Db) {
    let env = crate::helpers::TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.audit.anchor_every = std::time::Duration::from_millis(300);
    let app = crate::helpers::spawn_with(&env, settings).await;
    let id = delivered_letter(&app).await;
    let file = app.services.settings.audit.anchor_file.clone();
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    loop {
        let ledger = relais::audit::ledger::read(&file).unwrap();
        if ledger.heads.get(id.as_str()).is_some_and(|(seq, _)| *seq == 6) && ledger.lines.len() >= 2 {
            assert!(ledger.problems.is_empty(), "{:?}", ledger.problems);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no scheduled anchor covered the letter");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

crate::on_both_databases!(
    a_clean_history_verifies_and_the_letter_shows_its_anchored_chain,
    an_edited_event_is_reported_with_its_letter,
    a_chain_rewritten_with_recomputed_hashes_after_an_anchor_is_reported,
    a_tampered_proof_or_letter_pdf_is_reported_with_both_hashes,
    a_tampered_consent_proof_is_reported_with_its_consent,
    a_tampered_attachment_in_the_database_or_on_disk_is_reported,
    the_workers_anchor_on_their_schedule,
);
