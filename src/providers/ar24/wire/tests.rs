//! Tests of the AR24 wire format.

use super::slugs::SLUGS;
use super::*;
use crate::domain::LetterState;
use crate::providers::{ProofKind, ProofLink};
use ErrorClass::{Configuration, NeedsApproval, Permanent, Transient};
use chrono::{TimeZone, Utc};
use serde_json::json;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            let c = if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' };
            out.push(c);
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let values: Option<Vec<u32>> =
        text.trim_end_matches('=').bytes().map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32)).collect();
    let mut out = Vec::new();
    for chunk in values?.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, v)| n | v << (18 - 6 * i));
        out.extend((0..chunk.len().saturating_sub(1)).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

/// A toy cipher: reversed bytes, base64. The real AES is tested with the crypto module.
fn encrypt(clear: &str) -> String {
    b64_encode(&clear.bytes().rev().collect::<Vec<_>>())
}

fn decrypt(text: &str) -> Option<Vec<u8>> {
    b64_decode(text).map(|bytes| bytes.into_iter().rev().collect())
}

fn never(_: &str) -> Option<Vec<u8>> {
    panic!("clear JSON must not be decrypted")
}

#[test]
fn toy_cipher_round_trips() {
    for text in ["", "a", "ab", "abc", "{\"status\":\"SUCCESS\"}"] {
        assert_eq!(decrypt(&encrypt(text)).as_deref(), Some(text.as_bytes()));
    }
}

#[test]
fn clear_envelopes() {
    let success = br#"{"status":"SUCCESS","result":{"id":42}}"#;
    assert_eq!(parse_envelope(success, &never), Ok(Envelope::Success(json!({"id": 42}))));
    let error = br#"{"status":"ERROR","slug":"user_no_payment","message":"No payment method"}"#;
    let expected = Ar24Error { slug: "user_no_payment".into(), message: "No payment method".into() };
    assert_eq!(parse_envelope(error, &never), Ok(Envelope::Error(expected)));
    assert_eq!(parse_envelope(br#"{"status":"maintenance"}"#, &never), Ok(Envelope::Maintenance));
    assert_eq!(parse_envelope(br#"  {"status":"success"}  "#, &never), Ok(Envelope::Success(Value::Null)));
}

#[test]
fn whole_body_ciphertext() {
    let body = encrypt(r#"{"status":"SUCCESS","result":{"id":"7"}}"#);
    assert_eq!(parse_envelope(body.as_bytes(), &decrypt), Ok(Envelope::Success(json!({"id": "7"}))));
    let quoted = format!("\"{body}\"\n");
    assert_eq!(parse_envelope(quoted.as_bytes(), &decrypt), Ok(Envelope::Success(json!({"id": "7"}))));
}

#[test]
fn encrypted_result_field() {
    let result = encrypt(r#"{"id":"7","status":"waiting"}"#);
    let body = format!(r#"{{"status":"SUCCESS","result":"{result}"}}"#);
    let expected = json!({"id": "7", "status": "waiting"});
    assert_eq!(parse_envelope(body.as_bytes(), &decrypt), Ok(Envelope::Success(expected)));
    // A short plain string is not ciphertext and is kept.
    let plain = br#"{"status":"SUCCESS","result":"ok"}"#;
    assert_eq!(parse_envelope(plain, &never), Ok(Envelope::Success(json!("ok"))));
}

#[test]
fn garbage_is_an_error() {
    let refuse = |_: &str| None;
    assert!(parse_envelope(b"<html>502 Bad Gateway</html>", &decrypt).is_err());
    assert!(parse_envelope(b"", &decrypt).is_err());
    assert!(parse_envelope(&[0xff, 0xfe, 0x00], &decrypt).is_err());
    assert!(parse_envelope(b"[1,2]", &decrypt).is_err());
    assert!(parse_envelope(br#"{"status":"weird"}"#, &decrypt).is_err());
    assert!(parse_envelope(br#"{"result":{}}"#, &decrypt).is_err());
    assert!(parse_envelope(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", &refuse).is_err());
    // Decrypts, but not to JSON.
    assert!(parse_envelope(encrypt("not json at all").as_bytes(), &decrypt).is_err());
}

/// Every slug of providers.md §1.3, written out again so the table is checked against the reference.
const DOCUMENTED: &[&str] = &[
    "unknown_error",
    "status_invalid",
    "token_invalid",
    "token_missing",
    "empty_date",
    "invalid_date",
    "expired_date",
    "date_in_future",
    "missing_email",
    "same_sender_recipients_emails",
    "invalid_recipient",
    "invalid_email",
    "group_not_exist",
    "user_not_exist",
    "user_account_not_confirmed",
    "user_eula_not_accepted",
    "user_name_empty",
    "user_no_payment",
    "user_unavailable",
    "attachment_not_exists",
    "attachment_unavailable",
    "attachment_too_big",
    "content_exceeds_limit",
    "forbidden_html",
    "error_no_content_no_attachment",
    "authentication_otp_hash_invalid",
    "authentication_otp_invalid",
    "authentication_missing",
    "missing_erm_id",
    "missing_firstname",
    "missing_lastname",
    "missing_address",
    "missing_city",
    "missing_zipcode",
    "missing_country",
    "email_wrong_format",
    "error_country",
    "error_gender",
    "missing_company_siret",
    "missing_company_tva",
    "error_company_siret",
    "user_not_created",
    "user_already_exist",
    "attachment_empty_name",
    "attachment_missing_file",
    "missing_user_id",
];

fn error(slug: &str) -> Ar24Error {
    Ar24Error { slug: slug.into(), message: "AR24 says so".into() }
}

#[test]
fn every_documented_slug_has_a_specific_fix() {
    for slug in DOCUMENTED {
        let e = error(slug);
        assert!(e.known().is_some(), "{slug} is not in the table");
        let fix = e.fix();
        assert!(!fix.trim().is_empty(), "{slug} has an empty fix");
        assert!(!fix.contains("AR24 says so") && !fix.contains(slug), "{slug} has the generic fix: {fix}");
    }
    let unique: std::collections::HashSet<_> = SLUGS.iter().map(|(slug, _, _)| slug).collect();
    assert_eq!(unique.len(), SLUGS.len(), "a slug appears twice in the table");
}

#[test]
fn slug_classes() {
    let e = error("user_no_payment");
    assert_eq!(e.class(), Permanent);
    assert!(e.fix().contains("payment method"));
    assert!(!e.is_transient());
    assert!(error("maintenance").is_transient());
    assert!(error("unknown_error").is_transient());
    for slug in ["authentication_otp_invalid", "authentication_otp_hash_invalid", "authentication_missing"] {
        assert_eq!(error(slug).class(), NeedsApproval, "{slug}");
    }
    for slug in ["token_invalid", "token_missing", "expired_date", "date_in_future", "invalid_date", "empty_date"] {
        assert_eq!(error(slug).class(), Configuration, "{slug}");
    }
    for slug in ["invalid_email", "user_already_exist", "attachment_too_big", "missing_erm_id"] {
        assert_eq!(error(slug).class(), Permanent, "{slug}");
    }
    assert_eq!(error(" Token_Invalid ").class(), Configuration);
}

#[test]
fn unknown_slugs() {
    assert_eq!(error("gateway_timeout").class(), Transient);
    assert_eq!(error("something_unknown").class(), Transient);
    assert_eq!(error("planned_maintenance").class(), Transient);
    let e = error("brand_new_slug");
    assert_eq!(e.class(), Permanent);
    assert_eq!(e.fix(), "AR24 refused the request with `brand_new_slug`: \"AR24 says so\"");
    let silent = Ar24Error { slug: "brand_new_slug".into(), message: String::new() };
    assert!(silent.fix().contains("brand_new_slug") && silent.fix().contains("no message"));
}

#[test]
fn error_without_slug_is_unknown_error() {
    let body = br#"{"status":"ERROR","message":{"field":"bad"}}"#;
    let Ok(Envelope::Error(e)) = parse_envelope(body, &never) else { panic!("an error envelope") };
    assert_eq!(e.slug, "unknown_error");
    assert_eq!(e.message, r#"{"field":"bad"}"#);
}

/// The documented example's shape (providers.md §1.7), with a numeric id and price.
fn example() -> Value {
    let text = r#"{
        "id": 123, "type": "lre", "status": "waiting", "date": "2026-11-26 17:55:00",
        "full_hash_sha256": "ab12", "send_fail": 0, "is_eidas": "1", "price_ht": 3.99, "payment_slug": "card",
        "id_sender": 9, "id_creator": 9, "from_name": "Alice Martin", "from_email": "alice@example.fr",
        "address1": "1 rue de la Paix", "address2": "", "city": "Paris", "zipcode": "75002",
        "to_name": "Bob Durand", "to_firstname": "Bob", "to_lastname": "Durand", "to_company": null,
        "to_email": "bob@example.fr", "dest_statut": "particulier", "ref_dossier": "D-1", "ref_client": "",
        "ref_facturation": null, "proof_ev_url": "", "ts_ev_date": null, "proof_ar_url": "", "view_date": null,
        "proof_ng_url": "", "negligence_date": null, "proof_rf_url": "", "refused_date": null,
        "proof_bc_url": "", "bounced_date": null, "pdf_content": "", "zip": "", "attachments": [],
        "attachments_details": [], "req_notify_ev": 1, "req_notify_ar": 1, "req_notify_rf": 1,
        "req_notify_ng": 1, "update": []
    }"#;
    serde_json::from_str(text).expect("the example is JSON")
}

fn record(changes: Value) -> MailRecord {
    let mut value = example();
    if let (Some(fields), Value::Object(changes)) = (value.as_object_mut(), changes) {
        fields.extend(changes);
    }
    MailRecord::from_result(&value).expect("a valid record")
}

fn proof(kind: &str) -> String {
    format!("https://sandbox.ar24.fr/get/proof/{kind}-123?token=abc")
}

#[test]
fn record_from_the_documented_example() {
    let r = record(json!({}));
    assert_eq!(r.id, "123");
    assert_eq!(r.status, "waiting");
    assert_eq!(r.price_ht.as_deref(), Some("3.99"));
    assert_eq!(r.price_cents(), Some(399));
    assert_eq!(r.is_eidas, Some(true));
    assert_eq!(r.to_email.as_deref(), Some("bob@example.fr"));
    assert_eq!(r.ref_dossier.as_deref(), Some("D-1"));
    assert_eq!((&r.ref_client, &r.ts_ev_date, &r.proof_ev_url), (&None, &None, &None));
    assert_eq!(r.state(), Some(LetterState::Submitting));
    assert!(r.proofs().is_empty());
    assert_eq!(r.deposited_at(), None);
}

#[test]
fn record_needs_an_id() {
    let mut value = example();
    value["id"] = json!("");
    assert!(MailRecord::from_result(&value).unwrap_err().contains("`id`"));
    assert!(MailRecord::from_result(&json!([1])).is_err());
}

#[test]
fn state_at_each_stage() {
    let sent = record(json!({"status": "sent", "ts_ev_date": "2026-11-26 18:00:00", "proof_ev_url": proof("ev")}));
    assert_eq!(sent.state(), Some(LetterState::Deposited));
    let ar = record(json!({"status": "AR", "ts_ev_date": "2026-11-26 18:00:00", "view_date": "2026-11-27 09:00:00"}));
    assert_eq!(ar.state(), Some(LetterState::Delivered));
    let refused = record(json!({"status": "refused", "refused_date": "2026-11-27 09:00:00"}));
    assert_eq!(refused.state(), Some(LetterState::Refused));
    let negligence = record(json!({"status": "negligence", "proof_ng_url": proof("ng")}));
    assert_eq!(negligence.state(), Some(LetterState::NotClaimed));
    let bounced = record(json!({"status": "bounced", "bounced_date": "2026-11-26 18:05:00"}));
    assert_eq!(bounced.state(), Some(LetterState::Bounced));
    for (word, state) in [("ev", LetterState::Deposited), ("ar", LetterState::Delivered), ("rf", LetterState::Refused)]
    {
        assert_eq!(record(json!({ "status": word })).state(), Some(state), "{word}");
    }
}

#[test]
fn dates_beat_the_status_word() {
    let r = record(json!({"status": "waiting", "view_date": "2026-11-27 09:00:00"}));
    assert_eq!(r.state(), Some(LetterState::Delivered));
    let r = record(json!({"status": "AR", "bounced_date": "2026-11-26 18:05:00"}));
    assert_eq!(r.state(), Some(LetterState::Bounced));
    let r = record(json!({"status": "sent", "proof_rf_url": proof("rf")}));
    assert_eq!(r.state(), Some(LetterState::Refused));
    // MySQL's zero date means "not yet".
    let r = record(json!({"status": "sent", "view_date": "0000-00-00 00:00:00"}));
    assert_eq!((r.view_date.clone(), r.state()), (None, Some(LetterState::Deposited)));
}

#[test]
fn unknown_status_without_dates_is_none() {
    assert_eq!(record(json!({"status": "archived"})).state(), None);
    assert_eq!(record(json!({"status": null})).state(), None);
}

#[test]
fn proofs_listing() {
    let r = record(json!({
        "proof_ev_url": proof("ev"), "proof_ar_url": proof("ar"), "proof_rf_url": "",
        "proof_ng_url": proof("ng"), "proof_bc_url": proof("bc")
    }));
    let kinds: Vec<ProofKind> = r.proofs().iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProofKind::Deposit, ProofKind::Receipt, ProofKind::NonClaim, ProofKind::Bounce]);
    assert_eq!(r.proofs()[1], ProofLink { kind: ProofKind::Receipt, locator: proof("ar") });
    let mut value = example();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("proof_ev_url");
        fields.insert("proof_dp_url".into(), json!(proof("dp")));
    }
    let dp = MailRecord::from_result(&value).expect("a valid record");
    assert_eq!(dp.proofs(), [ProofLink { kind: ProofKind::Deposit, locator: proof("dp") }]);
    assert_eq!(dp.state(), Some(LetterState::Deposited));
}

#[test]
fn prices() {
    let cents_of = |price: Value| record(json!({ "price_ht": price })).price_cents();
    assert_eq!(cents_of(json!("3.49")), Some(349));
    assert_eq!(cents_of(json!("3,49")), Some(349));
    assert_eq!(cents_of(json!(3.99)), Some(399));
    assert_eq!(cents_of(json!(4)), Some(400));
    assert_eq!(cents_of(json!("3.5")), Some(350));
    assert_eq!(cents_of(json!("3.495")), Some(350));
    assert_eq!(cents_of(json!(" 3.49 € ")), Some(349));
    assert_eq!(cents_of(json!("free")), None);
    assert_eq!(cents_of(json!("")), None);
    assert_eq!(cents_of(json!(".")), None);
}

#[test]
fn deposit_times() {
    let winter = record(json!({"ts_ev_date": "2026-11-26 18:00:00"}));
    let expected = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 0).single().map(|t| t.timestamp_millis());
    assert_eq!(winter.deposited_at(), expected);
    // 02:30 does not exist in Paris on 2026-03-29: the clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    let gap = record(json!({"ts_ev_date": "2026-03-29 02:30:00"}));
    let expected = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).single().map(|t| t.timestamp_millis());
    assert_eq!(gap.deposited_at(), expected);
    // 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC) is taken.
    let fold = Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).single().map(|t| t.timestamp_millis());
    assert_eq!(paris_time_ms("2026-10-25 02:30:00"), fold);
    assert_eq!(paris_time_ms("26/11/2026 18:00"), None);
}

#[test]
fn paris_dates_round_trip() {
    let winter = Utc.with_ymd_and_hms(2026, 1, 15, 11, 4, 5).single().map(|t| t.timestamp_millis());
    let summer = Utc.with_ymd_and_hms(2026, 7, 14, 8, 0, 59).single().map(|t| t.timestamp_millis());
    let (Some(winter), Some(summer)) = (winter, summer) else { panic!("valid instants") };
    assert_eq!(paris_date(winter), "2026-01-15 12:04:05");
    assert_eq!(paris_date(summer), "2026-07-14 10:00:59");
    assert_eq!(paris_time_ms(&paris_date(winter)), Some(winter));
    assert_eq!(paris_time_ms(&paris_date(summer)), Some(summer));
    assert_eq!(paris_date(winter + 999), "2026-01-15 12:04:05");
}

const FORM: &str = concat!(
    "id_mail=123&new_state=AR&view_date=2017-11-15+19:15:01",
    "&proof_url=https%3A%2F%2Fsandbox.ar24.fr%2Fget%2Fproof%2Far-123%3Ftoken%3Dabc"
);

fn ar_event() -> WebhookEvent {
    WebhookEvent {
        id_mail: Some("123".into()),
        new_state: Some("AR".into()),
        proof_url: Some("https://sandbox.ar24.fr/get/proof/ar-123?token=abc".into()),
        id_user: None,
    }
}

#[test]
fn form_webhook() {
    let content_type = Some("application/x-www-form-urlencoded; charset=UTF-8");
    assert_eq!(parse_webhook(content_type, FORM.as_bytes()), Ok(ar_event()));
    assert_eq!(parse_webhook(None, FORM.as_bytes()), Ok(ar_event()));
}

#[test]
fn json_webhook() {
    let body = concat!(
        r#"{"id_mail":123,"new_state":"AR","view_date":"2017-11-15 19:15:01","#,
        r#""proof_url":"https://sandbox.ar24.fr/get/proof/ar-123?token=abc"}"#
    )
    .as_bytes();
    assert_eq!(parse_webhook(Some("application/json"), body), Ok(ar_event()));
    assert_eq!(parse_webhook(None, body), Ok(ar_event()));
    // A mislabelled body is still read.
    assert_eq!(parse_webhook(Some("application/x-www-form-urlencoded"), body), Ok(ar_event()));
}

#[test]
fn multipart_webhook() {
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"id_mail\"\r\n\r\n123\r\n--XyZ\r\n\
                Content-Disposition: form-data; name=\"new_state\"\r\n\r\nAR\r\n--XyZ\r\n\
                Content-Disposition: form-data; name=\"proof_url\"\r\n\r\n\
                https://sandbox.ar24.fr/get/proof/ar-123?token=abc\r\n--XyZ--\r\n";
    assert_eq!(parse_webhook(Some("multipart/form-data; boundary=XyZ"), body.as_bytes()), Ok(ar_event()));
}

#[test]
fn user_webhook() {
    let event = parse_webhook(Some("application/x-www-form-urlencoded"), b"id_user=77&new_state=confirmed");
    let expected = WebhookEvent {
        id_mail: None,
        new_state: Some("confirmed".into()),
        proof_url: None,
        id_user: Some("77".into()),
    };
    assert_eq!(event, Ok(expected.clone()));
    assert_eq!(parse_webhook(Some("application/json"), br#"{"id_user":"77","new_state":"confirmed"}"#), Ok(expected));
}

#[test]
fn garbage_webhook() {
    assert!(parse_webhook(None, b"hello world").is_err());
    assert!(parse_webhook(Some("application/json"), b"{not json").is_err());
    assert!(parse_webhook(Some("application/x-www-form-urlencoded"), b"new_state=AR").is_err());
    assert!(parse_webhook(None, b"").is_err());
    assert!(parse_webhook(Some("application/json"), br#"{"id_mail":""}"#).is_err());
}

#[test]
fn mail_lists() {
    let items =
        json!([{"id": 1, "status": "waiting"}, {"id": "2", "status": "sent", "ts_ev_date": "2026-01-01 10:00:00"}]);
    let ids = |list: Result<Vec<MailRecord>, String>| list.map(|l| l.into_iter().map(|r| r.id).collect::<Vec<_>>());
    let both = Ok(vec!["1".to_owned(), "2".to_owned()]);
    assert_eq!(ids(mail_list(&items)), both);
    for key in ["mails", "emails", "list"] {
        assert_eq!(ids(mail_list(&json!({ key: items.clone(), "total": 2 }))), both, "{key}");
    }
    let by_id = json!({"mails": {"1": {"id": 1}, "2": {"id": 2}}});
    assert_eq!(ids(mail_list(&by_id)), both);
    assert_eq!(mail_list(&json!([])), Ok(vec![]));
    assert_eq!(mail_list(&Value::Null), Ok(vec![]));
    assert_eq!(mail_list(&items).map(|l| l[1].state()), Ok(Some(LetterState::Deposited)));
    assert!(mail_list(&json!({"users": []})).is_err());
    assert!(mail_list(&json!("nope")).is_err());
    assert!(mail_list(&json!([{"status": "waiting"}])).unwrap_err().contains("`id`"));
}
