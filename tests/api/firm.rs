//! An accounting firm asking for letters on behalf of its clients, through the SMTP receiver: each email
//! names the client company it is for, an email that names none (or another firm's client) sends nothing
//! and lists the clients the address may name, and a reply to a rejection completes its request.

use base64::Engine;
use mail_parser::MessageParser;
use relais::config::Settings;
use relais::domain::SenderId;
use relais::store::{LetterFilter, LetterRecord};

use crate::helpers::{Db, TestApp, TestEnv, sample_pdf};
use crate::smtp::{spawn_smtp_with, swaks};

const FIRM: &str = "paul@cabinet.example.fr";
pub(crate) const CLIENTS: [&str; 4] = ["dupont", "martin-btp", "durand", "elodie"];

/// Three clients of the firm (`@cabinet.example.fr`), and one that only its own boss may ask for.
pub(crate) fn clients(settings: &mut Settings) {
    let base = settings.senders[0].clone();
    let client = |id: &str, company: &str, allowed: &str| {
        let mut sender = base.clone();
        sender.id = id.parse().unwrap();
        sender.company = company.to_owned();
        sender.allowed_from = vec![allowed.to_owned()];
        sender
    };
    settings.senders = vec![
        client("dupont", "Dupont SARL", "@cabinet.example.fr"),
        client("martin-btp", "Martin BTP", "@cabinet.example.fr"),
        client("durand", "Durand & Fils", "@cabinet.example.fr"),
        client("elodie", "Élodie Conseil", "boss@elodie.example.fr"),
    ];
}

async fn spawn_firm(db: Db, adjust: impl FnOnce(&mut Settings)) -> (TestApp, TestEnv, u16) {
    spawn_smtp_with(db, |settings| {
        clients(settings);
        adjust(settings);
    })
    .await
}

const LINES: &str = "Destinataire : Jeanne Martin\r\nSociété : Boulangerie Martin SARL\r\n\
Type : professionnel\r\nNuméro de facture : F-2026-0042\r\nMontant : 1 250,00 €\r\nÉchéance : 31/10/2026\r\n";
const EMAIL_LINE: &str = "Email : compta@boulangerie-martin.fr\r\n";

/// An email from the firm; `extra` headers (In-Reply-To …) go on top, the invoice PDF is attached when asked.
fn email(to: &str, subject: &str, message_id: &str, extra: &str, body: &str, with_pdf: bool) -> String {
    let mut raw = format!(
        "{extra}From: Paul Comptable <{FIRM}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
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
    raw
}

async fn send(env: &TestEnv, port: u16, envelope_to: &str, raw: &str) {
    let sent = swaks(env, port, FIRM, envelope_to, raw, &[]).await;
    let transcript = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.status.success() && transcript.contains("250 2.0.0"), "{transcript}");
}

/// Every client's letters.
async fn letters(app: &TestApp) -> Vec<LetterRecord> {
    let mut all = vec![];
    for client in CLIENTS {
        let sender: SenderId = client.parse().unwrap();
        let filter = LetterFilter { limit: 100, ..LetterFilter::default() };
        all.extend(app.store.list_letters(&sender, &filter).await.unwrap());
    }
    all
}

/// The answers in the outbox, oldest first: (Message-ID, body text).
async fn answers(app: &TestApp) -> Vec<(String, String)> {
    app.wait_for_answers().await;
    let mut files: Vec<_> = crate::helpers::files_in(&app.outbox)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("request-"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, std::fs::read(&p).ok()?)))
        .collect();
    files.sort_by_key(|(modified, _)| *modified);
    files
        .into_iter()
        .map(|(_, raw)| {
            let message = MessageParser::default().parse(&raw).unwrap();
            let id = message.message_id().unwrap_or_default().to_owned();
            (id, message.body_text(0).unwrap_or_default().into_owned())
        })
        .collect()
}

async fn an_email_naming_each_client_goes_out_in_that_clients_name(db: Db) {
    let (app, env, port) = spawn_firm(db, |_| {}).await;
    let body = format!("{LINES}{EMAIL_LINE}");
    let by_tag = email("lre+dupont@relais.example.fr", "Relance", "firm-1@cabinet.example.fr", "", &body, false);
    send(&env, port, "lre+dupont@relais.example.fr", &by_tag).await;
    let by_subject =
        email("lre@relais.example.fr", "TR: facture [Martin BTP]", "firm-2@cabinet.example.fr", "", &body, false);
    send(&env, port, "lre@relais.example.fr", &by_subject).await;
    let with_line = format!("Bonjour,\r\n\r\nPour le compte de : DURAND & FILS\r\n{body}");
    let by_line = email("lre@relais.example.fr", "Relance", "firm-3@cabinet.example.fr", "", &with_line, false);
    send(&env, port, "lre@relais.example.fr", &by_line).await;

    let mut senders: Vec<String> = letters(&app).await.iter().map(|l| l.sender_id.to_string()).collect();
    senders.sort();
    assert_eq!(senders, ["dupont", "durand", "martin-btp"], "answers: {:?}", answers(&app).await);
    app.stop().await;
}

async fn an_email_naming_no_client_or_another_firms_client_sends_nothing_and_lists_the_clients(db: Db) {
    let (app, env, port) = spawn_firm(db, |_| {}).await;
    let body = format!("{LINES}{EMAIL_LINE}");
    let unnamed = email("lre@relais.example.fr", "Relance", "firm-4@cabinet.example.fr", "", &body, false);
    send(&env, port, "lre@relais.example.fr", &unnamed).await;
    let foreign = format!("Expéditeur : elodie\r\n{body}");
    let foreign = email("lre@relais.example.fr", "Relance", "firm-5@cabinet.example.fr", "", &foreign, false);
    send(&env, port, "lre@relais.example.fr", &foreign).await;

    assert!(letters(&app).await.is_empty(), "nothing is sent in anyone's name");
    let answers = answers(&app).await;
    assert_eq!(answers.len(), 2, "{answers:?}");
    for (_, text) in &answers {
        for listed in
            ["Dupont SARL (dupont)", "Martin BTP (martin-btp)", "Durand & Fils (durand)", "Expéditeur : dupont"]
        {
            assert!(text.contains(listed), "the answer lists {listed}: {text}");
        }
        assert!(!text.contains("Élodie Conseil ("), "another firm's client is not listed: {text}");
    }
    assert!(answers[1].1.contains("« elodie »"), "the answer says which name it may not use: {}", answers[1].1);
    app.stop().await;
}

async fn a_reply_with_the_missing_line_makes_one_letter_with_the_original_attachment(db: Db) {
    let (app, env, port) = spawn_firm(db, |_| {}).await;
    let to = "lre+dupont.mise-en-demeure@relais.example.fr";
    let original = email(to, "TR: Facture F-2026-0042 impayée", "firm-6@cabinet.example.fr", "", LINES, true);
    send(&env, port, to, &original).await;
    assert!(letters(&app).await.is_empty());
    let answered = answers(&app).await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    let (rejection, text) = &answered[0];
    assert!(text.contains("Email"), "the rejection asks for the email line: {text}");

    // The reply goes to relais's address without the +tag: the thread remembers the client and the template.
    let thread = format!("In-Reply-To: <{rejection}>\r\nReferences: <firm-6@cabinet.example.fr> <{rejection}>\r\n");
    let quoted = text.lines().map(|l| format!("> {l}\r\n")).collect::<String>();
    let reply_body = format!("{EMAIL_LINE}\r\n{quoted}");
    let reply =
        email("lre@relais.example.fr", "Re: TR: Facture", "firm-7@cabinet.example.fr", &thread, &reply_body, false);
    send(&env, port, "lre@relais.example.fr", &reply).await;

    let made = letters(&app).await;
    assert_eq!(made.len(), 1, "answers: {:?}", answers(&app).await);
    let letter = &made[0];
    assert_eq!((letter.sender_id.as_str(), letter.template.as_str()), ("dupont", "mise-en-demeure"));
    assert_eq!(letter.recipient.email_text(), "compta@boulangerie-martin.fr");
    let files = app.store.attachments(&letter.id).await.unwrap();
    assert_eq!(files.iter().map(|f| f.filename.as_str()).collect::<Vec<_>>(), ["F-2026-0042.pdf"]);

    // The same reply written again, once the first is answered: still one letter, and the requester is told so.
    app.wait_for_answers().await;
    let again =
        email("lre@relais.example.fr", "Re: TR: Facture", "firm-8@cabinet.example.fr", &thread, &reply_body, false);
    send(&env, port, "lre@relais.example.fr", &again).await;
    assert_eq!(letters(&app).await.len(), 1);
    let last = answers(&app).await.pop().unwrap().1;
    assert!(last.contains("déjà été reçue") && last.contains(letter.id.as_str()), "{last}");
    app.stop().await;
}

async fn a_reply_after_the_request_expired_sends_nothing_and_says_so(db: Db) {
    let (app, env, port) = spawn_firm(db, |s| s.intake.confirm_within = std::time::Duration::from_millis(300)).await;
    let to = "lre+dupont@relais.example.fr";
    send(&env, port, to, &email(to, "Relance", "firm-9@cabinet.example.fr", "", LINES, true)).await;
    let rejection = answers(&app).await[0].0.clone();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let thread = format!("In-Reply-To: <{rejection}>\r\n");
    send(&env, port, to, &email(to, "Re: Relance", "firm-10@cabinet.example.fr", &thread, EMAIL_LINE, false)).await;
    assert!(letters(&app).await.is_empty());
    let last = answers(&app).await.pop().unwrap().1;
    assert!(last.contains("expiré"), "{last}");

    // The sweep removes the expired request's email from disk; a later reply is still told it expired.
    let drafts = app.attachments_dir.join(".drafts");
    assert_eq!(std::fs::read_dir(&drafts).unwrap().count(), 1);
    let swept = relais::intake::email::drafts::sweep_expired(&app.services).await.unwrap();
    assert_eq!(swept, 1);
    assert_eq!(std::fs::read_dir(&drafts).unwrap().count(), 0, "no email of an expired request is kept");
    assert_eq!(relais::intake::email::drafts::sweep_expired(&app.services).await.unwrap(), 0);
    send(&env, port, to, &email(to, "Re: Relance", "firm-12@cabinet.example.fr", &thread, EMAIL_LINE, false)).await;
    assert!(letters(&app).await.is_empty());
    assert!(answers(&app).await.pop().unwrap().1.contains("expiré"));
    app.stop().await;
}

async fn the_plus_tag_of_the_to_header_wins_over_a_bare_envelope(db: Db) {
    let (app, env, port) = spawn_firm(db, |_| {}).await;
    let body = format!("{LINES}{EMAIL_LINE}");
    let raw = email(
        "lre+dupont.mise-en-demeure@relais.example.fr",
        "Relance",
        "firm-11@cabinet.example.fr",
        "",
        &body,
        false,
    );
    send(&env, port, "lre@relais.example.fr", &raw).await;
    let made = letters(&app).await;
    assert_eq!(made.len(), 1, "answers: {:?}", answers(&app).await);
    assert_eq!((made[0].sender_id.as_str(), made[0].template.as_str()), ("dupont", "mise-en-demeure"));
    app.stop().await;
}

async fn the_same_file_sent_twice_is_answered_once_with_its_letter(db: Db) {
    let (app, env, port) = spawn_firm(db, |_| {}).await;
    let body = format!("{LINES}{EMAIL_LINE}");
    // No Message-ID: swaks sends the file as written, so both copies have the same content hash.
    let raw =
        email("lre+dupont@relais.example.fr", "Relance", "x", "", &body, false).replace("Message-ID: <x>\r\n", "");
    for _ in 0..3 {
        send(&env, port, "lre+dupont@relais.example.fr", &raw).await;
    }
    let made = letters(&app).await;
    assert_eq!(made.len(), 1);
    let answered = answers(&app).await;
    assert_eq!(answered.len(), 2, "the acceptance and one answer to the copies: {answered:?}");
    let copies: Vec<&(String, String)> = answered.iter().filter(|(_, text)| text.contains("déjà été reçue")).collect();
    assert_eq!(copies.len(), 1, "{answered:?}");
    assert!(copies[0].1.contains(made[0].id.as_str()));
    app.stop().await;
}

crate::on_both_databases!(
    an_email_naming_each_client_goes_out_in_that_clients_name,
    an_email_naming_no_client_or_another_firms_client_sends_nothing_and_lists_the_clients,
    a_reply_with_the_missing_line_makes_one_letter_with_the_original_attachment,
    a_reply_after_the_request_expired_sends_nothing_and_says_so,
    the_plus_tag_of_the_to_header_wins_over_a_bare_envelope,
    the_same_file_sent_twice_is_answered_once_with_its_letter,
);
