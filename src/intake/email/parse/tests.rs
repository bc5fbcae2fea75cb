//! The fixture corpus is the spec: each `tests/fixtures/emails/NNN-*.eml` parses to the `Parsed` in the
//! `.json` beside it. `UPDATE_FIXTURES=1` rewrites the JSON files (review every diff by eye).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::render::{VariableKind, VariableSpec};

const DEFAULT_TEMPLATE: &str = "relance-facture";

fn spec(name: &str, label: &str, aliases: &[&str], kind: VariableKind, required: bool) -> VariableSpec {
    VariableSpec {
        name: name.to_owned(),
        label: label.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        kind,
        required,
        example: None,
    }
}

fn template(name: &str, title: &str, variables: Vec<VariableSpec>) -> LetterTemplate {
    LetterTemplate {
        name: name.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        source: String::new(),
        hash: String::new(),
        variables,
    }
}

/// The two shipped templates.
fn templates() -> Vec<Arc<LetterTemplate>> {
    let invoice_number = || {
        let aliases = ["Facture", "N° de facture", "Numéro facture", "Invoice", "Invoice number"];
        spec("invoice_number", "Numéro de facture", &aliases, VariableKind::Text, true)
    };
    let amount_due = || {
        let aliases = ["Montant", "Somme due", "Reste à payer", "Amount", "Amount due"];
        spec("amount_due", "Montant dû", &aliases, VariableKind::Amount, true)
    };
    let due_date = || {
        let aliases = ["Échéance", "Echeance", "Date limite", "Due date"];
        spec("due_date", "Date d'échéance", &aliases, VariableKind::Date, true)
    };
    let deadline = || {
        let aliases = ["Délai", "Delai", "Payment deadline"];
        spec("payment_deadline_days", "Délai de paiement (jours)", &aliases, VariableKind::Text, false)
    };
    let invoice_date = {
        let aliases = ["Date facture", "Émise le", "Invoice date"];
        spec("invoice_date", "Date de la facture", &aliases, VariableKind::Date, false)
    };
    let interest = {
        let aliases = ["Pénalités", "Taux de pénalités", "Late interest"];
        spec("late_interest_rate", "Taux des pénalités de retard", &aliases, VariableKind::Text, false)
    };
    vec![
        template(
            "relance-facture",
            "Relance de facture impayée",
            vec![invoice_number(), amount_due(), due_date(), invoice_date, deadline()],
        ),
        template(
            "mise-en-demeure",
            "Mise en demeure de payer",
            vec![invoice_number(), amount_due(), due_date(), deadline(), interest],
        ),
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emails")
}

/// The address the message was delivered to, as the receiving MTA recorded it in `Delivered-To`.
fn delivered_to(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let header = text.lines().take_while(|l| !l.trim().is_empty()).find_map(|l| l.strip_prefix("Delivered-To:"));
    header.map_or_else(|| "lre@relais.example.fr".to_owned(), |v| v.trim().to_owned())
}

fn parse_fixture(path: &Path) -> Parsed {
    let raw = std::fs::read(path).expect("fixture readable");
    parse_email(&raw, &delivered_to(&raw), &templates(), DEFAULT_TEMPLATE)
}

#[test]
fn fixtures_parse_as_their_json() {
    let mut emails: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    emails.sort();
    assert!(emails.len() >= 30, "the corpus has {} emails", emails.len());
    let update = std::env::var("UPDATE_FIXTURES").is_ok_and(|v| v == "1");
    let mut failures = vec![];
    for eml in &emails {
        let actual = serde_json::to_value(parse_fixture(eml)).expect("serializable");
        let json = eml.with_extension("json");
        if update {
            let text = serde_json::to_string_pretty(&actual).expect("serializable") + "\n";
            std::fs::write(&json, text).expect("json written");
            continue;
        }
        let expected: serde_json::Value = match std::fs::read_to_string(&json) {
            Ok(text) => serde_json::from_str(&text).expect("valid json"),
            Err(e) => panic!("{}: {e}", json.display()),
        };
        if actual != expected {
            let pretty = serde_json::to_string_pretty(&actual).unwrap_or_default();
            failures.push(format!("{}:\n{pretty}", eml.display()));
        }
    }
    assert!(failures.is_empty(), "fixtures differ from their JSON:\n{}", failures.join("\n\n"));
}

/// A phone scan of a long invoice: 2 MB of base64 is kept byte for byte. Built here, not committed.
#[test]
fn two_megabyte_attachment_is_kept() {
    let bytes: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut raw = String::from(
        "From: Claire Martin <claire@atelier-martin.fr>\r\nTo: lre@relais.example.fr\r\nSubject: Relance\r\n\
         Message-ID: <big@atelier-martin.fr>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Destinataire: Paul Durand\r\nEmail: paul@durand.fr\r\nFacture: F-9\r\nMontant: 10 €\r\nÉchéance: 01/02/2025\r\n\r\n\
         --b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    let encoded = base64_encode(&bytes);
    for chunk in encoded.as_bytes().chunks(76) {
        raw.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        raw.push_str("\r\n");
    }
    raw.push_str("--b--\r\n");
    let Parsed::Request(request) = parse_email(raw.as_bytes(), "lre@relais.example.fr", &templates(), DEFAULT_TEMPLATE)
    else {
        panic!("a complete request");
    };
    assert_eq!(request.attachments.len(), 1);
    assert_eq!(request.attachments[0].size, bytes.len());
    assert_eq!(request.attachments[0].bytes, bytes);
    assert_eq!(request.attachments[0].sha256, hex::encode(Sha256::digest(&bytes)));
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn attachment_bytes_are_the_decoded_file() {
    let raw = std::fs::read(fixture_dir().join("020-gmail-pdf-attachment.eml")).expect("fixture");
    let Parsed::Request(request) = parse_email(&raw, "lre@relais.example.fr", &templates(), DEFAULT_TEMPLATE) else {
        panic!("a complete request");
    };
    assert!(request.attachments[0].bytes.starts_with(b"%PDF-1."));
    assert!(request.attachments[0].bytes.ends_with(b"%%EOF\n"));
}

/// The HTML half of a multipart/alternative says what its text half says (the HTML path is the one HTML-only
/// emails take).
#[test]
fn html_alternatives_read_like_their_text() {
    let templates = templates();
    let every_variable = fields::TemplateChoice { name: String::new(), known: false };
    let specs = every_variable.variables(&templates);
    let read = |text: String| fields::assemble(&lines::scan(&[text], &specs));
    for name in [
        "002-gmail-forward-qp-utf8",
        "003-outlook-forward-windows-1252",
        "020-gmail-pdf-attachment",
        "040-apple-mail-english-forward-html",
    ] {
        let raw = std::fs::read(fixture_dir().join(format!("{name}.eml"))).expect("fixture");
        let message = MessageParser::default().parse(&raw).expect("parsable");
        let html = message.html_body.iter().find_map(|&id| match &message.parts[id as usize].body {
            mail_parser::PartType::Html(html) => Some(html.to_string()),
            _ => None,
        });
        let from_html = read(html::to_text(&html.expect("an HTML part")));
        let from_text = read(message.body_text(0).expect("a text part").to_string());
        assert_eq!(from_html.recipient, from_text.recipient, "{name}");
        assert_eq!(from_html.variables, from_text.variables, "{name}");
        assert!(!from_text.variables.is_empty(), "{name}");
    }
}

#[test]
fn html_entities_and_blocks_become_lines() {
    let text = html::to_text(
        "<html><head><style>p{}</style></head><body><div>Montant&nbsp;: 1&#160;250,00&nbsp;&euro;</div>\
         <div>Ville : Saint-&Eacute;tienne<br/>Pays: France</div><!-- x --><p>A &amp; B &#xE9; &bogus; &</p></body></html>",
    );
    assert_eq!(text, "Montant\u{a0}: 1\u{a0}250,00\u{a0}€\nVille : Saint-Étienne\nPays: France\nA & B é &bogus; &");
}

#[test]
fn keys_match_without_case_accents_or_spacing() {
    for key in ["Échéance", "ECHEANCE", "échéance ", "**Échéance**", "- Echéance", "E\u{301}che\u{301}ance"] {
        assert_eq!(lines::normalize_key(key), "echeance", "{key}");
    }
    assert_eq!(lines::normalize_key("Délai de paiement (jours)"), "delai de paiement");
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_email(&raw, "lre+x@relais.example.fr", &templates(), DEFAULT_TEMPLATE);
    }

    #[test]
    fn damaged_fixtures_never_panic(index in 0usize..64, cut in 0usize..100_000, flip in any::<u8>()) {
        let mut emails: Vec<PathBuf> = std::fs::read_dir(fixture_dir()).expect("fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        emails.sort();
        let mut raw = std::fs::read(&emails[index % emails.len()]).expect("fixture");
        let cut = cut % (raw.len() + 1);
        raw.truncate(cut);
        if let Some(byte) = raw.get_mut(cut / 2) {
            *byte ^= flip;
        }
        let _ = parse_email(&raw, "lre@relais.example.fr", &templates(), DEFAULT_TEMPLATE);
    }
}
