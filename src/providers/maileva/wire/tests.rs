use serde_json::json;

use super::*;
use crate::domain::recipient::RawRecipient;
use crate::domain::{LetterState, Recipient};
use crate::providers::ProofKind;

fn recipient(company: Option<&str>, lines: &[&str], country: &str) -> Recipient {
    let raw: RawRecipient = serde_json::from_value(json!({
        "kind": "individual", "first_name": "Jeanne", "last_name": "Martin", "company": company,
        "email": "jeanne@martin.fr",
        "address": {"lines": lines, "postal_code": if country == "FR" { "69003" } else { "1000" }, "city": "Lyon",
                    "country": country}
    }))
    .unwrap();
    Recipient::parse(raw).unwrap()
}

#[test]
fn identity_goes_on_lines_one_and_two_and_the_town_on_line_six() {
    let r = recipient(Some("Boulangerie Martin SARL"), &["12 rue des Lilas"], "FR");
    let lines = recipient_lines(&r, "ltr_1").unwrap();
    assert_eq!(lines.address_line_1.as_deref(), Some("Boulangerie Martin SARL"));
    assert_eq!(lines.address_line_2.as_deref(), Some("Jeanne Martin"));
    assert_eq!(lines.address_line_3, None);
    assert_eq!(lines.address_line_4.as_deref(), Some("12 rue des Lilas"));
    assert_eq!(lines.address_line_6, "69003 LYON");
    assert_eq!(lines.country_code, "FR");
    assert_eq!(lines.custom_id, "ltr_1");
    let body = serde_json::to_value(&lines).unwrap();
    assert!(body.get("address_line_3").is_none(), "empty lines are left out: {body}");
}

#[test]
fn four_street_lines_fit_only_without_a_company() {
    let streets = ["Bâtiment B", "Résidence des Peupliers", "33 avenue de Paris", "BP 356"];
    let lines = recipient_lines(&recipient(None, &streets, "FR"), "ltr_1").unwrap();
    assert_eq!(lines.address_line_1.as_deref(), Some("Jeanne Martin"));
    assert_eq!(lines.address_line_5.as_deref(), Some("BP 356"));
    let errors = recipient_lines(&recipient(Some("SARL"), &streets, "FR"), "ltr_1").unwrap_err();
    assert_eq!(errors.0[0].field, "address.lines");
}

#[test]
fn a_country_maileva_does_not_post_to_is_refused_naming_the_field() {
    let errors = recipient_lines(&recipient(None, &["1 rue Haute"], "BE"), "ltr_1").unwrap_err();
    assert_eq!(errors.0[0].field, "address.country");
    assert!(errors.0[0].message.contains("FR"), "{}", errors.0[0].message);
    let mut no_address = recipient(None, &["1 rue Haute"], "FR");
    no_address.address = None;
    assert_eq!(recipient_lines(&no_address, "ltr_1").unwrap_err().0[0].field, "address");
}

#[test]
fn a_company_name_over_38_characters_is_named() {
    let r = recipient(Some("Société Coopérative de Boulangerie Martin"), &["1 rue Haute"], "FR");
    let errors = recipient_lines(&r, "ltr_1").unwrap_err();
    assert_eq!(errors.0[0].field, "company");
}

fn sending(status: &str) -> Sending {
    Sending { id: "s1".into(), custom_id: Some("ltr_1".into()), status: status.into(), status_detail: None }
}

fn with_codes(codes: &[&str]) -> RecipientRecord {
    let delivery_statuses = codes
        .iter()
        .enumerate()
        .map(|(i, code)| DeliveryStatus {
            date: Some(format!("2026-10-{:02}T08:00:00Z", i + 1)),
            code: (*code).into(),
            label: None,
        })
        .collect();
    RecipientRecord {
        id: "r1".into(),
        status: "PROCESSED".into(),
        delivery_statuses,
        deposit_proof_url: Some("/sendings/s1/recipients/r1/download_deposit_proof".into()),
        deposit_proof_date: Some("2026-10-02T08:00:00Z".into()),
        ..Default::default()
    }
}

#[test]
fn a_submitted_sending_is_still_submitting_until_la_poste_has_it() {
    let reading = read_delivery(&sending("ACCEPTED"), None, true);
    assert_eq!(reading.state, Some(LetterState::Submitting));
    assert_eq!(reading.raw_status, "ACCEPTED");
    let pending = RecipientRecord { id: "r1".into(), status: "PENDING".into(), ..Default::default() };
    assert_eq!(read_delivery(&sending("PENDING"), Some(&pending), true).state, Some(LetterState::Submitting));
}

#[test]
fn the_deposit_proof_makes_it_deposited_and_is_offered() {
    let reading = read_delivery(&sending("PROCESSED"), Some(&with_codes(&["LP01", "LP02", "LP03"])), true);
    assert_eq!(reading.state, Some(LetterState::Deposited));
    assert_eq!(reading.proofs[0].kind, ProofKind::Deposit);
    assert_eq!(reading.deposited_at, time_ms("2026-10-02T08:00:00Z"));
    assert_eq!(reading.raw_status, "LP03");
}

#[test]
fn the_content_proof_is_offered_once_its_date_is_set() {
    let mut record = with_codes(&["LP01", "LP02", "LP03"]);
    record.content_proof_url = Some("/sendings/s1/recipients/r1/download_content_proof".into());
    let kinds = |r: &RecipientRecord| -> Vec<ProofKind> {
        read_delivery(&sending("PROCESSED"), Some(r), true).proofs.iter().map(|p| p.kind).collect()
    };
    assert_eq!(kinds(&record), [ProofKind::Deposit], "not before its date");
    record.content_proof_date = Some("2026-10-02T08:00:00Z".into());
    assert_eq!(kinds(&record), [ProofKind::Deposit, ProofKind::Content]);
    let reading = read_delivery(&sending("PROCESSED"), Some(&record), true);
    assert_eq!(reading.state, Some(LetterState::Deposited), "the content proof decides no state");
}

#[test]
fn delivered_waits_for_the_scanned_acknowledgement_of_receipt() {
    let mut record = with_codes(&["LP03", "LP09", "LP15"]);
    assert_eq!(read_delivery(&sending("PROCESSED"), Some(&record), true).state, Some(LetterState::Deposited));
    assert_eq!(read_delivery(&sending("PROCESSED"), Some(&record), false).state, Some(LetterState::Delivered));
    record.acknowledgement_of_receipt_url = Some("/ar".into());
    let reading = read_delivery(&sending("PROCESSED"), Some(&record), true);
    assert_eq!(reading.state, Some(LetterState::Delivered));
    assert!(reading.proofs.iter().any(|p| p.kind == ProofKind::Receipt && p.locator == "/ar"));
}

#[test]
fn returned_letters_map_from_their_codes_or_reason_once_scanned() {
    for (codes, reason, state, kind) in [
        (&["LP09", "LP19", "LP17"][..], None, LetterState::NotClaimed, ProofKind::NonClaim),
        (&["LP09", "LP22"][..], None, LetterState::Refused, ProofKind::Refusal),
        (&["LP21"][..], None, LetterState::Bounced, ProofKind::Bounce),
        (&["LP20"][..], None, LetterState::Bounced, ProofKind::Bounce),
        (&["LP25"][..], None, LetterState::NotClaimed, ProofKind::NonClaim),
        (&["LP09", "LP17"][..], Some("N05"), LetterState::Refused, ProofKind::Refusal),
    ] {
        let mut record = with_codes(codes);
        record.undelivered_mail_reason = reason.map(Into::into);
        assert_eq!(read_delivery(&sending("PROCESSED"), Some(&record), true).state, Some(LetterState::Deposited));
        record.undelivered_mail_url = Some("/pnd".into());
        let reading = read_delivery(&sending("PROCESSED"), Some(&record), true);
        assert_eq!(reading.state, Some(state), "{codes:?}");
        assert!(reading.proofs.iter().any(|p| p.kind == kind), "{codes:?}");
    }
}

#[test]
fn an_unmapped_code_is_never_guessed() {
    for code in ["LP24", "LP27", "LP00", "LP99"] {
        let reading = read_delivery(&sending("PROCESSED"), Some(&with_codes(&["LP03", code])), true);
        assert_eq!(reading.state, None, "{code}");
        assert_eq!(reading.raw_status, code);
    }
    let back = read_delivery(&sending("PROCESSED"), Some(&with_codes(&["LP17"])), true);
    assert_eq!((back.state, back.raw_status.as_str()), (None, "LP17"), "returned without a reason");
}

#[test]
fn a_rejected_sending_fails_and_an_unknown_word_needs_attention() {
    assert_eq!(read_delivery(&sending("REJECTED"), None, true).state, Some(LetterState::Failed));
    let reading = read_delivery(&sending("ARCHIVED_BY_ROBOT"), None, true);
    assert_eq!((reading.state, reading.raw_status.as_str()), (None, "ARCHIVED_BY_ROBOT"));
}

#[test]
fn errors_are_read_in_every_documented_shape() {
    let many = br#"{"errors":[{"code":"ADDRESS_LINE_1_TOO_LONG","message":"38 max"}]}"#;
    assert_eq!(read_errors(many)[0].code, "ADDRESS_LINE_1_TOO_LONG");
    assert_eq!(read_errors(br#"{"code":"SENDING_NOT_FOUND","message":"x"}"#)[0].code, "SENDING_NOT_FOUND");
    let bare = br#"[{"code":"INVALID_RECIPIENT","message":"email"}]"#;
    assert_eq!(read_errors(bare)[0].code, "INVALID_RECIPIENT");
    assert!(read_errors(b"<html>").is_empty());
}

#[test]
fn a_sending_asks_for_the_receipt_two_day_postage_and_plain_printing_by_default() {
    let settings: crate::config::MailevaSettings = toml::from_str("sandbox = true").unwrap();
    let sender = crate::config::Settings::load(None).unwrap().senders[0].clone();
    let body = serde_json::to_value(NewSending::new("Relance", "ltr_1", &settings, &sender)).unwrap();
    assert_eq!(body["custom_id"], "ltr_1");
    assert_eq!(body["acknowledgement_of_receipt"], true);
    assert_eq!(body["postage_type"], "URGENT");
    assert_eq!(body["color_printing"], false);
    assert_eq!(body["duplex_printing"], false);
    assert_eq!(body["sender_address_line_6"], "75001 Paris");
    assert_eq!(cents(5.79), 579);
}
