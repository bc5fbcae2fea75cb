//! Tests of the shipped templates, strict mode, variable checks and the emails.

use serde_json::{Value, json};

use super::*;

fn template(name: &str) -> LetterTemplate {
    shipped_letter_templates().into_iter().find(|t| t.name == name).expect("shipped")
}

/// A context as the letters pipeline builds it, every optional field given.
fn full_context(kind: &str) -> Value {
    json!({
        "invoice_number": "F-2026-0042", "amount_due": "1250.00", "due_date": "2026-10-31",
        "invoice_date": "2026-09-30", "payment_deadline_days": "15", "late_interest_rate": "12 % l'an",
        "sender": {"company": "Exemple SAS", "name": "Claire Dubois", "siret": "12345678900011", "email": "contact@exemple.fr",
                   "address": {"lines": ["1 rue Exemple"], "postal_code": "75001", "city": "Paris", "country": "FR"}},
        "recipient": {"kind": kind, "first_name": "Jeanne", "last_name": "Martin", "company": "Boulangerie Martin SARL",
                      "email": "compta@boulangerie-martin.fr",
                      "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "FR"}},
        "letter": {"id": "ltr_01", "reference": "dossier-881", "date": "2026-11-26", "city": "Paris"}
    })
}

/// The least a context may hold: optional variables null, optional fields null or absent altogether.
fn bare_context(kind: &str) -> Value {
    json!({
        "invoice_number": "F-2026-0042", "amount_due": "1250.00", "due_date": "2026-10-31",
        "invoice_date": null, "payment_deadline_days": null, "late_interest_rate": null,
        "sender": {"company": "Exemple SAS", "name": null, "email": "contact@exemple.fr",
                   "address": {"lines": ["1 rue Exemple"], "postal_code": "75001", "city": "Paris", "country": "FR"}},
        "recipient": {"kind": kind, "last_name": "Martin", "email": "jeanne@martin.fr", "address": null},
        "letter": {"id": "ltr_01", "date": "2026-11-26", "city": "Paris"}
    })
}

/// The body of a rendered letter as it reads (escapes undone, French typography applied).
fn read(letter: &RenderedLetter) -> String {
    document::body_text(&letter.body)
}

#[test]
fn every_shipped_letter_renders_from_the_examples_of_its_variables() {
    let shipped = shipped_letter_templates();
    let names: Vec<&str> = shipped.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["relance-facture", "mise-en-demeure", "relance-amiable", "resiliation", "lettre-libre"]);
    for t in shipped {
        assert!(!t.title.is_empty() && !t.description.is_empty(), "{}", t.name);
        let examples: serde_json::Map<String, Value> = t
            .variables
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    json!(v.example.clone().unwrap_or_else(|| panic!("{}: {} has no example", t.name, v.name))),
                )
            })
            .collect();
        let variables = check_variables(&t, &examples).unwrap_or_else(|e| panic!("{}: {e:?}", t.name));
        let mut context = full_context("professional");
        context.as_object_mut().unwrap().extend(variables);
        let letter = render_letter(&t, context.clone()).unwrap_or_else(|e| panic!("{}: {e}", t.name));
        let text = read(&letter);
        assert!(text.starts_with("Madame, Monsieur,\n\n"), "{}: {text}", t.name);
        assert!(text.ends_with("l'expression de nos salutations distinguées."), "{}: {text}", t.name);
        assert!(!letter.subject.is_empty() && !letter.subject.contains('\n'));
        assert!(!letter.body.contains("{{") && !letter.body.contains("title ="), "no front matter or tags left");
        assert!(!text.contains("Objet") && !text.contains("Exemple SAS"), "the layout places object and sender");
    }
}

#[test]
fn every_shipped_letter_passes_the_template_checks() {
    for (name, source) in templates::LETTERS {
        let problems = checks::check_template(TemplateKind::Letter, name, source, &[]);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}

#[test]
fn invoice_letters_show_french_amounts_and_dates() {
    for name in ["relance-facture", "mise-en-demeure", "relance-amiable"] {
        for context in [full_context("professional"), bare_context("individual")] {
            let text = read(&render_letter(&template(name), context.clone()).unwrap());
            assert!(text.contains("1\u{202F}250,00\u{A0}€") && text.contains("31 octobre 2026"), "{name}: {text}");
        }
    }
}

#[test]
fn optional_variables_show_only_when_given() {
    let t = template("relance-facture");
    let full = render_letter(&t, full_context("professional")).unwrap();
    assert_eq!(full.subject, "Relance\u{A0}: facture n°\u{A0}F-2026-0042 du 30 septembre 2026");
    assert!(read(&full).contains("dans un délai de 15 jours"), "{}", full.body);
    let bare = render_letter(&t, bare_context("individual")).unwrap();
    assert_eq!(bare.subject, "Relance\u{A0}: facture n°\u{A0}F-2026-0042");
    assert!(read(&bare).contains("dans un délai de huit jours"));
    assert!(!read(&bare).contains(" du "), "{}", bare.body);
}

#[test]
fn the_formal_notice_cites_commercial_penalties_only_to_professionals() {
    let t = template("mise-en-demeure");
    for context in [full_context as fn(&str) -> Value, bare_context] {
        let pro = read(&render_letter(&t, context("professional")).unwrap());
        let individual = read(&render_letter(&t, context("individual")).unwrap());
        assert!(pro.contains("L. 441-10") && pro.contains("40\u{A0}€"), "{pro}");
        assert!(!individual.contains("L. 441-10") && !individual.contains("40\u{A0}€"), "{individual}");
        for body in [&pro, &individual] {
            assert!(body.contains("Par la présente, nous vous mettons en demeure de nous régler"));
            assert!(body.contains("injonction de payer"));
            assert!(body.contains("La présente lettre vaut mise en demeure au sens de l'article 1344 du Code civil."));
        }
    }
    let pro = read(&render_letter(&t, full_context("professional")).unwrap());
    assert!(pro.contains("au taux de 12 % l'an") && pro.contains("dans un délai de 15 jours"), "{pro}");
}

#[test]
fn strict_mode_names_the_missing_variable() {
    let t = template("relance-facture");
    let mut ctx = full_context("professional");
    ctx.as_object_mut().unwrap().remove("amount_due");
    let err = render_letter(&t, ctx).unwrap_err();
    assert!(matches!(err, RenderError::MissingVariable { ref variable } if variable == "amount_due"), "{err:?}");

    let mut ctx = full_context("professional");
    ctx["sender"].as_object_mut().unwrap().remove("email");
    let err = render_letter(&t, ctx).unwrap_err();
    assert!(matches!(err, RenderError::MissingVariable { ref variable } if variable == "sender.email"), "{err:?}");
}

#[test]
fn text_variables_are_limited_and_long_text_allows_a_letter_body() {
    let t = template("relance-facture");
    let long = "x".repeat(2_001);
    let vars = json!({"invoice_number": long, "amount_due": "1", "due_date": "2026-10-31"});
    let errors = check_variables(&t, vars.as_object().unwrap()).unwrap_err();
    assert_eq!((errors[0].name.as_str(), errors[0].code), ("invoice_number", "too_long"));
    let free = template("lettre-libre");
    let vars = json!({"subject": "Objet", "body": "y".repeat(20_000)});
    assert!(check_variables(&free, vars.as_object().unwrap()).is_ok());
    let vars = json!({"subject": "Objet", "body": "y".repeat(20_001)});
    let errors = check_variables(&free, vars.as_object().unwrap()).unwrap_err();
    assert_eq!((errors[0].name.as_str(), errors[0].code), ("body", "too_long"));
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
    for e in &errors {
        assert!(e.message.contains(&format!("`{}`", e.name)), "the message names its variable: {}", e.message);
    }

    let vars = json!({"invoice_number": " F-1 ", "amount_due": "1 250,00 €", "due_date": "31/10/2026"});
    let ok = check_variables(&t, vars.as_object().unwrap()).unwrap();
    assert_eq!(ok["invoice_number"], "F-1");
    assert_eq!(ok["amount_due"], "1250.00");
    assert_eq!(ok["due_date"], "2026-10-31");
    assert_eq!(ok["invoice_date"], Value::Null, "absent optional variables are null, so strict mode accepts them");
    let number = json!({"invoice_number": 42, "amount_due": 1250.5, "due_date": "2026-10-31"});
    let ok = check_variables(&t, number.as_object().unwrap()).unwrap();
    assert_eq!((&ok["invoice_number"], &ok["amount_due"]), (&json!("42"), &json!("1250.50")));
    for (amount, normalized) in [("1250", "1250.00"), ("1250.5", "1250.50"), ("1250,00 €", "1250.00")] {
        let vars = json!({"invoice_number": "F-1", "amount_due": amount, "due_date": "2026-10-31"});
        assert_eq!(check_variables(&t, vars.as_object().unwrap()).unwrap()["amount_due"], normalized);
    }
    for amount in [json!("12.345"), json!(""), json!(true), json!(null)] {
        let vars = json!({"invoice_number": "F-1", "amount_due": amount, "due_date": "2026-10-31"});
        assert!(check_variables(&t, vars.as_object().unwrap()).is_err(), "{amount}");
    }
}

#[test]
fn a_template_must_declare_sound_variables_and_have_front_matter() {
    let with = |vars: &str| format!("{{{{!--\ntitle = \"x\"\n{vars}--}}}}\nbody");
    let var = |name: &str| format!("[[variables]]\nname = \"{name}\"\nlabel = \"x\"\nkind = \"text\"\n");
    for (bad, name) in [
        (with(&var("sender")), "sender"),
        (with(&var("recipient")), "recipient"),
        (with(&var("montant dû")), "montant dû"),
        (with(&(var("a") + &var("a"))), "a"),
    ] {
        match parse_letter_template("x", &bad) {
            Err(RenderError::InvalidTemplate { reason, .. }) => {
                assert!(reason.contains(&format!("`{name}`")), "{reason}")
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(parse_letter_template("x", &with(&var("amount_due"))).is_ok());
    for bad in ["Bonjour {{name}}", "{{!--\ntitle = \"x\"\n--}}\n{{#if a}}unclosed", "{{!--\ntitle = 3\n--}}\n"] {
        assert!(matches!(parse_letter_template("x", bad), Err(RenderError::InvalidTemplate { .. })), "{bad}");
    }
}

#[test]
fn the_hash_is_the_sha256_of_the_source_and_follows_it() {
    for t in shipped_letter_templates() {
        assert_eq!(t.hash, hex::encode(Sha256::digest(t.source.as_bytes())));
        assert_eq!(t.hash.len(), 64);
        assert!(t.hash.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }
    let v1 = parse_letter_template("x", "{{!--\ntitle = \"x\"\n--}}\nv1").unwrap();
    let v2 = parse_letter_template("x", "{{!--\ntitle = \"x\"\n--}}\nv2").unwrap();
    assert_ne!(v1.hash, v2.hash);
    assert_eq!(v1.hash, parse_letter_template("y", &v1.source).unwrap().hash, "the version is the content");
}

fn email_context(proof: Value, reference: Value) -> Value {
    json!({
        "letter": {"id": "ltr_01", "state": "delivered", "template_title": "Relance de facture impayée",
                   "reference": reference, "recipient_name": "Jeanne Martin (Boulangerie Martin SARL)",
                   "recipient_email": "compta@boulangerie-martin.fr", "url": "http://127.0.0.1:8080/console/letters/ltr_01",
                   "created_at": "2026-11-26T17:43:00Z", "provider": "sandbox"},
        "event": {"at": "2026-11-26T17:44:02Z", "detail": null},
        "proof": proof,
        "consent_url": "http://127.0.0.1:8080/console/consents?email=compta%40boulangerie-martin.fr"
    })
}

const KINDS: [&str; 11] = [
    "accepted",
    "awaiting_consent",
    "awaiting_approval",
    "deposited",
    "delivered",
    "refused",
    "not_claimed",
    "bounced",
    "failed",
    "needs_attention",
    "cancelled",
];

#[test]
fn every_email_renders_with_and_without_a_proof_or_a_reference() {
    let emails = EmailTemplates::shipped().unwrap();
    let proof =
        json!({"kind": "receipt", "label": "preuve de réception", "filename": "ltr_01-receipt.pdf", "sha256": "ab12"});
    for kind in KINDS {
        for (proof, reference) in [(Value::Null, Value::Null), (proof.clone(), json!("dossier-881"))] {
            let email = emails.render(kind, &email_context(proof.clone(), reference.clone())).unwrap();
            assert!(!email.subject.trim().is_empty() && !email.subject.contains('\n'), "{kind}");
            assert!(email.body.starts_with("Bonjour,\n\n") && email.body.ends_with("\n\n— relais\n"), "{kind}");
            assert!(
                email.body.contains("ltr_01") && email.body.contains("http://127.0.0.1:8080/console/letters/ltr_01")
            );
            assert_eq!(email.body.contains("est jointe à ce message (ltr_01-receipt.pdf"), !proof.is_null(), "{kind}");
            assert_eq!(email.body.contains("dossier-881"), !reference.is_null(), "{kind}");
            assert!(!email.body.contains("\n\n\n"), "{kind}");
        }
    }
    let detail = json!({"letter": email_context(Value::Null, Value::Null)["letter"],
                        "event": {"at": "2026-11-26T17:44:02Z", "detail": "adresse refusée par le prestataire"},
                        "proof": null, "consent_url": "c"});
    assert!(emails.render("failed", &detail).unwrap().body.contains("adresse refusée par le prestataire"));
    assert!(matches!(emails.render("nope", &detail), Err(RenderError::UnknownTemplate(_))));
    assert!(matches!(emails.render("failed.subject", &detail), Err(RenderError::UnknownTemplate(_))));
}

#[test]
fn emails_state_the_legal_effect_of_each_outcome() {
    let emails = EmailTemplates::shipped().unwrap();
    let body = |kind| emails.render(kind, &email_context(Value::Null, Value::Null)).unwrap().body;
    for kind in ["refused", "not_claimed"] {
        assert!(body(kind).contains("réputée avoir été présentée"), "{kind}");
    }
    assert!(body("refused").contains("mêmes effets qu'une lettre reçue"));
    assert!(body("not_claimed").contains("mêmes effets qu'un refus") && body("not_claimed").contains("« négligence »"));
    assert!(body("delivered").contains("même valeur qu'un avis de réception"));
    assert!(body("deposited").contains("établit la date d'envoi"));
    assert!(body("bounced").contains("PAS été remise") && body("bounced").contains("recommandée papier"));
    assert!(
        body("awaiting_consent").contains("L. 100")
            && body("awaiting_consent").contains("ouvrez http://127.0.0.1:8080/console/consents?email=")
            && body("awaiting_consent").contains("cliquez sur « Enregistrer »")
            && !body("awaiting_consent").contains("POST")
    );
    assert!(body("needs_attention").contains("ne la renverra pas"));
    assert!(body("failed").contains("rien n'a été facturé"));
    assert!(body("delivered").contains("26 novembre 2026 à 18 h 44"), "event times are shown in Paris time");
}

#[test]
fn a_paper_letter_is_told_as_paper_and_an_electronic_one_as_electronic() {
    let emails = EmailTemplates::shipped().unwrap();
    let body = |kind, paper: bool| {
        let mut context = email_context(Value::Null, Value::Null);
        context["letter"]["paper"] = json!(paper);
        let email = emails.render(kind, &context).unwrap();
        assert!(!email.body.contains("\n\n\n") && email.body.contains("\n\nLettre : "), "{kind}: {}", email.body);
        email.body
    };
    for kind in ["deposited", "delivered", "refused", "not_claimed", "bounced"] {
        let (paper, electronic) = (body(kind, true), body(kind, false));
        assert!(paper.contains("recommandée papier") && !paper.contains("électronique"), "{kind}: {paper}");
        assert!(electronic.contains("recommandée électronique"), "{kind}: {electronic}");
    }
    assert!(body("deposited", true).contains("déposée à La Poste") && !body("deposited", true).contains("e-mail"));
    assert!(!body("bounced", true).contains("ne fonctionne pas"), "a paper letter has no email address to blame");
    let proof =
        json!({"kind": "content", "label": "preuve de contenu", "filename": "ltr_01-content.pdf", "sha256": "ab12"});
    let content = emails.render("content_proof", &email_context(proof, Value::Null)).unwrap();
    assert!(content.subject.starts_with("Preuve de contenu"), "{}", content.subject);
    assert!(
        content.body.contains("La preuve de contenu est jointe à ce message (ltr_01-content.pdf"),
        "{}",
        content.body
    );
}

#[test]
fn renderers_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync>() {}
    shared::<EmailTemplates>();
    shared::<LetterTemplate>();
    shared::<&'static Handlebars<'static>>();
}
