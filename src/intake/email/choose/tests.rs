//! The sender choice for a firm that asks for several client companies.

use super::address::Receiving;
use super::*;
use crate::config::Settings;

/// An accounting firm allowed for three clients; a fourth client is someone else's.
fn senders() -> Vec<SenderSettings> {
    let base = Settings::load(None).expect("default settings").senders[0].clone();
    let sender = |id: &str, company: &str, allowed: &[&str]| {
        let mut s = base.clone();
        s.id = id.parse().unwrap();
        s.company = company.to_owned();
        s.allowed_from = allowed.iter().map(|a| (*a).to_owned()).collect();
        s
    };
    let mut durand = sender("durand", "Durand & Fils", &["@cabinet.fr"]);
    durand.intake_address = Some(crate::domain::EmailAddress::parse("durand@relais.example.fr").unwrap());
    vec![
        sender("dupont", "Dupont SARL", &["@cabinet.fr"]),
        sender("martin-btp", "Martin BTP", &["@cabinet.fr"]),
        durand,
        sender("other", "Élodie Conseil", &["boss@other.fr"]),
    ]
}

fn is_template(name: &str) -> bool {
    ["relance-facture", "mise-en-demeure"].contains(&name)
}

fn choice_id(choice: &Choice<'_>) -> Option<String> {
    match choice {
        Choice::Sender(s) => Some(s.id.to_string()),
        _ => None,
    }
}

fn pick(to: &str, subject: &str, line: Option<&str>) -> (Option<String>, Option<String>) {
    let senders = senders();
    let address = Receiving::parse(to);
    let by_address = read_address(address.as_ref(), &senders, is_template);
    let named = read_rest(by_address.named, subject, line, &senders);
    (choice_id(&choose(Some("paul@cabinet.fr"), &named, &senders)), by_address.template_tag)
}

#[test]
fn a_plus_tag_names_the_sender_and_may_name_the_template() {
    assert_eq!(pick("lre+dupont@relais.example.fr", "", None), (Some("dupont".into()), None));
    let both = pick("lre+martin-btp.mise-en-demeure@relais.example.fr", "", None);
    assert_eq!(both, (Some("martin-btp".into()), Some("mise-en-demeure".into())));
}

#[test]
fn a_template_tag_stays_a_template() {
    assert_eq!(pick("lre+mise-en-demeure@relais.example.fr", "[dupont]", None).1, Some("mise-en-demeure".into()));
}

#[test]
fn an_intake_address_names_its_sender_and_its_tag_the_template() {
    let (sender, template) = pick("Durand@relais.example.fr", "", None);
    assert_eq!(sender.as_deref(), Some("durand"));
    assert_eq!(pick("durand+mise-en-demeure@relais.example.fr", "", None).1.as_deref(), Some("mise-en-demeure"));
    assert_eq!(template, None);
}

#[test]
fn a_subject_tag_names_the_sender_by_id_or_company() {
    assert_eq!(pick("lre@relais.example.fr", "TR: Facture impayée [Dupont]", None).0.as_deref(), Some("dupont"));
    assert_eq!(pick("lre@relais.example.fr", "[EXT] [martin btp] relance", None).0.as_deref(), Some("martin-btp"));
}

#[test]
fn a_body_line_names_the_sender_with_accents_and_case_ignored() {
    assert_eq!(pick("lre@relais.example.fr", "", Some("DURAND & FILS")).0.as_deref(), Some("durand"));
}

#[test]
fn the_address_comes_before_the_subject_and_the_subject_before_the_body() {
    assert_eq!(pick("lre+dupont@relais.example.fr", "[martin-btp]", Some("durand")).0.as_deref(), Some("dupont"));
    assert_eq!(pick("lre@relais.example.fr", "[martin-btp]", Some("durand")).0.as_deref(), Some("martin-btp"));
}

#[test]
fn naming_none_of_several_chooses_nothing() {
    let senders = senders();
    let choice = choose(Some("paul@cabinet.fr"), &Named::Nothing, &senders);
    let Choice::Unclear { allowed, named } = choice else { panic!("{choice:?}") };
    let ids: Vec<&str> = allowed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!((ids, named), (vec!["dupont", "martin-btp", "durand"], None));
}

#[test]
fn naming_a_sender_the_address_may_not_use_chooses_nothing() {
    assert_eq!(pick("lre+other@relais.example.fr", "", None).0, None);
    assert_eq!(pick("lre@relais.example.fr", "", Some("Élodie Conseil")).0, None);
    assert_eq!(pick("lre@relais.example.fr", "", Some("Inconnue SA")).0, None);
}

#[test]
fn an_address_allowed_for_one_sender_needs_to_name_none() {
    let senders = senders();
    let choice = choose(Some("boss@other.fr"), &Named::Nothing, &senders);
    assert_eq!(choice_id(&choice).as_deref(), Some("other"));
    assert!(matches!(choose(Some("x@nowhere.fr"), &Named::Nothing, &senders), Choice::NotAllowed));
}

#[test]
fn shared_allow_list_entries_are_listed_with_their_senders() {
    let shared = shared_allow_list_entries(&senders());
    assert_eq!(shared, vec![("@cabinet.fr".to_owned(), vec!["dupont".into(), "martin-btp".into(), "durand".into()])]);
}
