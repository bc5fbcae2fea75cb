use std::io::Write as _;
use std::process::Command;

use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::domain::recipient::RawRecipient;
use crate::render::{parse_letter_template, render_letter, shipped_letter_templates};

/// 2026-11-02 09:30 UTC.
fn created_at() -> i64 {
    chrono::Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap().timestamp_millis()
}

fn sender() -> SenderSettings {
    let mut sender = crate::config::Settings::load(None).expect("default settings").senders[0].clone();
    sender.siret = "123 456 789 00012".into();
    sender.legal_form = "SAS".into();
    sender.capital = "10 000 €".into();
    sender.rcs = "Paris B 123 456 789".into();
    sender.signature_role = "Gérante".into();
    sender
}

fn recipient(first: &str, last: &str, company: Option<&str>, lines: &[&str], city: &str) -> Recipient {
    let raw: RawRecipient = serde_json::from_value(json!({
        "kind": "professional", "first_name": first, "last_name": last, "company": company,
        "email": "destinataire@example.com",
        "address": {"lines": lines, "postal_code": "69003", "city": city},
    }))
    .unwrap();
    Recipient::parse(raw).unwrap()
}

fn lukasz() -> Recipient {
    recipient("Łukasz", "Dvořák", Some("Nguyễn & Ștefănescu SRL"), &["12 rue des Lilas", "Bâtiment B"], "Lyon")
}

fn relance(recipient: &Recipient, variables: serde_json::Value) -> LetterDocument {
    let template = shipped_letter_templates().into_iter().find(|t| t.name == "relance-facture").unwrap();
    letter_from(&template, recipient, variables)
}

fn letter_from(
    template: &crate::render::LetterTemplate,
    recipient: &Recipient,
    variables: serde_json::Value,
) -> LetterDocument {
    let sender = sender();
    let id = crate::domain::LetterId::generate();
    let variables = crate::render::check_variables(template, variables.as_object().unwrap()).unwrap();
    let context =
        crate::letters::context::letter_context(&id, &sender, recipient, &variables, Some("dossier-881"), created_at());
    let rendered = render_letter(template, context).unwrap();
    LetterDocument::new(&sender, recipient, &rendered, Some("dossier-881"), created_at()).unwrap()
}

fn invoice() -> serde_json::Value {
    json!({"invoice_number": "F-2026-0042", "amount_due": "1250", "due_date": "2026-10-31"})
}

/// Runs a poppler tool on the PDF and returns what it prints.
pub(crate) fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.push(&path);
    if tool == "pdftotext" {
        all.push("-");
    }
    let out = Command::new(tool).args(&all).output().unwrap_or_else(|e| panic!("{tool} runs (poppler-utils): {e}"));
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Text compared whitespace-normalised; hyphens are left out too, because pdftotext drops a hyphen that
/// ends a line (it takes it for a word cut), and typst may break a line after one.
fn without_spaces(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect()
}

#[test]
fn a_letter_is_a_pdf_a_2b_with_every_font_embedded_and_the_names_spelt_right() {
    let pdf = relance(&lukasz(), invoice()).to_pdf().unwrap();
    let fonts = poppler("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let columns: Vec<&str> = row.split_whitespace().collect();
        let n = columns.len();
        assert_eq!(&columns[n - 5..n - 2], ["yes", "yes", "yes"], "embedded, subset, unicode: {row}");
    }
    let meta = poppler("pdfinfo", &["-meta"], &pdf);
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>") || meta.contains("pdfaid:part=\"2\""), "{meta}");
    assert!(meta.contains("<pdfaid:conformance>B</pdfaid:conformance>") || meta.contains("pdfaid:conformance=\"B\""));
    let info = poppler("pdfinfo", &[], &pdf);
    assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
    let text = poppler("pdftotext", &["-layout"], &pdf);
    for expected in ["Łukasz Dvořák", "Nguyễn & Ștefănescu SRL", "69003 LYON", "F-2026-0042", "1 250,00 €", "Gérante"]
    {
        assert!(without_spaces(&text).contains(&without_spaces(expected)), "{expected} in:\n{text}");
    }
    assert!(text.contains("Paris, le 2 novembre 2026"), "{text}");
    assert!(text.contains("SIRET 123 456 789 00012"), "{text}");
}

#[test]
fn czech_polish_romanian_and_vietnamese_letters_survive_the_trip() {
    let names = "Łódź Żółć Dvořák Čapek Šťastný ůňěď Ștefan Țurcanu șț ăâî Nguyễn Trần Đặng ươ ỹ";
    let template = parse_letter_template("free", include_str!("../../../templates/letters/lettre-libre.hbs")).unwrap();
    let doc = letter_from(&template, &lukasz(), json!({"subject": "Test", "body": names}));
    let text = poppler("pdftotext", &[], &doc.to_pdf().unwrap());
    assert!(text.contains(names), "{text}");
}

#[test]
fn the_recipients_name_lies_inside_the_envelope_window() {
    let pdf = relance(&lukasz(), invoice()).to_pdf().unwrap();
    let html = poppler("pdftotext", &["-bbox"], &pdf);
    let mm = |pt: f64| pt * 25.4 / 72.0;
    let mut found = 0;
    for line in html.lines().filter(|l| l.contains(">Łukasz<") || l.contains(">Dvořák<") || l.contains(">LYON<")) {
        let attr = |name: &str| -> f64 {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..].split('"').next().unwrap().parse().unwrap()
        };
        let (x0, y0, x1, y1) = (mm(attr("xMin")), mm(attr("yMin")), mm(attr("xMax")), mm(attr("yMax")));
        assert!(x0 >= 110.0 && x1 <= 195.0 && y0 >= 55.0 && y1 <= 88.0, "{line}: ({x0},{y0})-({x1},{y1}) mm");
        found += 1;
    }
    assert_eq!(found, 3, "{html}");
}

#[test]
fn the_same_letter_and_date_give_the_same_bytes() {
    let a = relance(&lukasz(), invoice()).to_pdf().unwrap();
    let b = relance(&lukasz(), invoice()).to_pdf().unwrap();
    assert_eq!(a, b);
    let mut later = relance(&lukasz(), invoice());
    later.created_at += chrono::Duration::days(1);
    assert_ne!(a, later.to_pdf().unwrap(), "the date is part of the document");
}

#[test]
fn a_long_letter_is_numbered_from_its_second_page_and_limited() {
    let template = parse_letter_template("free", include_str!("../../../templates/letters/lettre-libre.hbs")).unwrap();
    let body =
        vec!["Un paragraphe assez long pour remplir une ligne entière de la lettre, et même un peu plus encore."; 80]
            .join("\n\n");
    let doc = letter_from(&template, &lukasz(), json!({"subject": "Long", "body": body}));
    let typeset = doc.typeset().unwrap();
    let pages = typeset.pages();
    assert!(pages >= 3, "{pages}");
    let text = poppler("pdftotext", &[], &typeset.to_pdf().unwrap());
    assert!(text.contains(&format!("1/{pages}")) && text.contains(&format!("{pages}/{pages}")), "{text}");
    assert!(doc.check_pages(pages).is_ok());
    assert!(matches!(doc.check_pages(2), Err(DocumentError::TooManyPages { max: 2, .. })));
    let short = relance(&lukasz(), invoice());
    assert_eq!(short.typeset().unwrap().pages(), 1);
    let text = poppler("pdftotext", &[], &short.to_pdf().unwrap());
    assert!(!text.contains("1/1"), "a one-page letter has no page number");
}

#[test]
fn the_text_of_a_letter_reads_as_the_paper_one() {
    let text = relance(&lukasz(), invoice()).to_text();
    let object = text.find("Objet\u{A0}: Relance\u{A0}: facture n°\u{A0}F-2026-0042").expect(&text);
    assert!(text.find("Łukasz Dvořák").unwrap() < object);
    assert!(text.contains("N/Réf.\u{A0}: dossier-881"), "{text}");
    assert!(text.contains("Facture        | Échéance        | Montant dû\n"), "{text}");
    assert!(text.contains("Claire Exemple\nGérante"), "{text}");
}

#[test]
fn an_address_too_long_for_the_window_names_its_field() {
    let long = recipient("Jean", "Martin", Some("Société Anonyme des Établissements Martin"), &["1 rue A"], "Lyon");
    let errors = address_lines(&long).unwrap_err();
    assert_eq!(errors.0[0].field, "company");
    assert_eq!(errors.0[0].code, "too_long");
    let many = recipient(
        "Jean",
        "Martin",
        Some("Martin SA"),
        &["Bâtiment B", "Escalier 3", "12 rue des Lilas", "BP 12"],
        "Lyon",
    );
    let errors = address_lines(&many).unwrap_err();
    assert_eq!(errors.0[0].field, "address.lines");
    let fits = address_lines(&recipient("Jean", "Martin", Some("Martin SA"), &["12 rue des Lilas"], "Lyon")).unwrap();
    assert_eq!(fits, ["Martin SA", "À l'attention de Jean Martin", "12 rue des Lilas", "69003 LYON"]);
}

/// Values a request could hold: markup of every kind, French and Central European letters, line breaks.
fn value() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("#set page(width: 1cm)".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("- item".to_owned()),
        Just("1. item".to_owned()),
        Just("| a | b |".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        "[*_\\]\\[$@#`~<>|&!?:;«»°=+\\\\-]{1,3}",
        "[a-zA-Z0-9éèàçôŁłřšțșễĐ]{1,8}",
        Just(" ".to_owned()),
    ];
    proptest::collection::vec(atoms, 1..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_value_prints_as_itself(value in value()) {
        prop_assume!(!value.trim().is_empty());
        let template = parse_letter_template(
            "probe",
            "{{!--\ntitle = \"Probe\"\nsubject = \"Objet {{v}}\"\n[[variables]]\nname = \"v\"\nlabel = \"V\"\nkind = \"text\"\n--}}\nAvant {{v}} après.\n\n| A |\n|---|\n| {{v}} |\n",
        )
        .unwrap();
        let doc = letter_from(&template, &lukasz(), json!({"v": value}));
        let pdf = doc.to_pdf().unwrap();
        // `-raw`: the order the text is drawn in; the layout analysis may reorder justified lines.
        let text = without_spaces(&poppler("pdftotext", &["-raw"], &pdf));
        let expected = without_spaces(&value);
        prop_assert!(text.contains(&format!("Avant{expected}après.")), "{:?} not in {}", value, text);
        prop_assert!(without_spaces(&doc.subject).contains(&expected), "subject {:?}", doc.subject);
        prop_assert_eq!(doc.body.len(), 2, "one paragraph and one table: {:?}", doc.body);
    }
}
