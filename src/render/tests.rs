//! Tests of the shipped templates, strict mode and variable checks.

use serde_json::{Value, json};

use super::*;

fn template(name: &str) -> LetterTemplate {
    shipped_letter_templates().into_iter().find(|t| t.name == name).expect("shipped")
}

fn context(kind: &str) -> Value {
    json!({
        "invoice_number": "F-2026-0042", "amount_due": "1250.00", "due_date": "2026-10-31",
        "invoice_date": null, "payment_deadline_days": null, "late_interest_rate": null,
        "sender": {"company": "Exemple SAS", "name": "Claire Dubois", "siret": null, "email": "contact@exemple.fr",
                   "address": {"lines": ["1 rue Exemple"], "postal_code": "75001", "city": "Paris", "country": "FR"}},
        "recipient": {"kind": kind, "first_name": "Jeanne", "last_name": "Martin", "company": null,
                      "email": "jeanne@martin.fr", "address": null},
        "letter": {"id": "ltr_01", "reference": null, "date": "2026-11-26", "city": "Paris"}
    })
}

#[test]
fn every_shipped_letter_renders_with_french_amounts_and_dates() {
    for t in shipped_letter_templates() {
        assert_eq!(t.hash, hex::encode(Sha256::digest(t.source.as_bytes())));
        let letter = render_letter(&t, &context("professional")).unwrap();
        assert!(letter.body.contains("1\u{202F}250,00\u{A0}€"), "{}", letter.body);
        assert!(letter.body.contains("31 octobre 2026"));
        assert!(letter.body.contains("Paris, le 26 novembre 2026"));
        assert!(letter.body.contains("Objet :"));
        assert!(!letter.subject.is_empty());
        assert!(!letter.body.contains("\n\n\n"), "paragraphs are separated by one blank line");
    }
}

#[test]
fn the_formal_notice_cites_commercial_penalties_only_to_professionals() {
    let t = template("mise-en-demeure");
    let pro = render_letter(&t, &context("professional")).unwrap().body;
    let individual = render_letter(&t, &context("individual")).unwrap().body;
    assert!(pro.contains("L. 441-10") && pro.contains("40 €"));
    assert!(!individual.contains("L. 441-10"));
    assert!(individual.contains("article 1344 du Code civil"));
}

#[test]
fn strict_mode_names_the_missing_variable() {
    let mut ctx = context("professional");
    ctx.as_object_mut().unwrap().remove("amount_due");
    let err = render_letter(&template("relance-facture"), &ctx).unwrap_err();
    assert!(matches!(err, RenderError::MissingVariable { ref variable } if variable == "amount_due"), "{err:?}");
}

#[test]
fn variables_are_checked_all_at_once_and_normalized() {
    let t = template("relance-facture");
    let vars = json!({"amount_due": "mille", "due_date": "2026-02-30", "colour": "blue"});
    let errors = check_variables(&t, vars.as_object().unwrap()).unwrap_err();
    let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.name.as_str(), e.code)).collect();
    assert_eq!(
        got,
        [("invoice_number", "missing"), ("amount_due", "invalid"), ("due_date", "invalid"), ("colour", "unknown")]
    );

    let vars = json!({"invoice_number": " F-1 ", "amount_due": "1 250,00 €", "due_date": "31/10/2026"});
    let ok = check_variables(&t, vars.as_object().unwrap()).unwrap();
    assert_eq!(ok["invoice_number"], "F-1");
    assert_eq!(ok["amount_due"], "1250.00");
    assert_eq!(ok["due_date"], "2026-10-31");
    assert_eq!(ok["invoice_date"], Value::Null, "absent optional variables are null, so strict mode accepts them");
    let number = json!({"invoice_number": 42, "amount_due": 1250.5, "due_date": "2026-10-31"});
    assert_eq!(check_variables(&t, number.as_object().unwrap()).unwrap()["amount_due"], "1250.50");
}

#[test]
fn a_template_cannot_declare_a_reserved_name_or_skip_its_front_matter() {
    let reserved = "{{!--\ntitle = \"x\"\n[[variables]]\nname = \"sender\"\nlabel = \"x\"\nkind = \"text\"\n--}}\nbody";
    assert!(matches!(parse_letter_template("x", reserved), Err(RenderError::InvalidTemplate { .. })));
    assert!(matches!(parse_letter_template("x", "Bonjour {{name}}"), Err(RenderError::InvalidTemplate { .. })));
    let changed = parse_letter_template("x", "{{!--\ntitle = \"x\"\n--}}\nv2").unwrap();
    assert_ne!(changed.hash, parse_letter_template("x", "{{!--\ntitle = \"x\"\n--}}\nv1").unwrap().hash);
}

#[test]
fn every_email_renders_with_and_without_a_proof() {
    let emails = EmailTemplates::shipped().unwrap();
    for (kind, _) in templates::EMAILS {
        for proof in [
            Value::Null,
            json!({"kind": "receipt", "label": "preuve de réception", "filename": "ltr_01-receipt.pdf", "sha256": "ab"}),
        ] {
            let ctx = json!({
                "letter": {"id": "ltr_01", "state": kind, "template_title": "Relance de facture impayée", "reference": null,
                           "recipient_name": "Jeanne Martin", "recipient_email": "jeanne@martin.fr",
                           "url": "http://127.0.0.1:8080/v1/letters/ltr_01", "created_at": "2026-11-26T17:43:00Z", "provider": "sandbox"},
                "event": {"at": "2026-11-26T17:44:02Z", "detail": null},
                "proof": proof.clone(),
                "consent_url": "http://127.0.0.1:8080/v1/consents"
            });
            let email = emails.render(kind, &ctx).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(!email.subject.is_empty(), "{kind}");
            assert!(email.body.contains("ltr_01"), "{kind}");
            assert_eq!(email.body.contains("ltr_01-receipt.pdf"), !proof.is_null(), "{kind}");
        }
    }
}

#[test]
fn refusal_and_non_claim_emails_state_their_legal_effect() {
    let emails = EmailTemplates::shipped().unwrap();
    let ctx = json!({"letter": {"id": "ltr_01", "state": "refused", "template_title": "t", "reference": "r",
                     "recipient_name": "J", "recipient_email": "j@x.fr", "url": "u", "created_at": "2026-11-26T17:43:00Z",
                     "provider": "sandbox"}, "event": {"at": "2026-11-26T17:44:02Z", "detail": null}, "proof": null,
                     "consent_url": "c"});
    for kind in ["refused", "not_claimed"] {
        let body = emails.render(kind, &ctx).unwrap().body;
        assert!(body.contains("réputée avoir été présentée"), "{kind}: {body}");
    }
    let delivered = emails.render("delivered", &ctx).unwrap().body;
    assert!(delivered.contains("26 novembre 2026 à 18 h 44"), "event times are shown in Paris time: {delivered}");
    assert!(matches!(emails.render("nope", &ctx), Err(RenderError::UnknownTemplate(_))));
}
