//! Vectors: the Standard Webhooks spec's published one; the others computed from each vendor's documented
//! scheme with an independent HMAC implementation (Python's `hmac`).

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::config::{HmacSettings, HookSettings, MapSettings};

const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.overdue"}"#;

fn settings(preset: Preset) -> HookSettings {
    HookSettings {
        name: "test".into(),
        sender: "default".parse().unwrap(),
        preset,
        secrets: vec![],
        secret_files: vec![],
        template: "relance-facture".into(),
        mapping: None,
        events: vec![],
        conditions: vec![],
        map: MapSettings::default(),
        allowed_ips: vec![],
        hmac: None,
    }
}

fn verifier(preset: Preset, secrets: &[&str]) -> Verifier {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    Verifier::new(&settings(preset), &secrets, "hooks[0]").unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    map
}

fn check(v: &Verifier, pairs: &[(&str, &str)], body: &[u8], now_secs: i64) -> Result<Verified, VerifyError> {
    v.verify(&Arrival { headers: &headers(pairs), body, peer: None, now_secs })
}

const STRIPE_SIG: &str = "6c41d4173feb36835808b6855e837e6edbc5adfa8726162d2196671913e6547f";

#[test]
fn the_standard_webhooks_published_vector_verifies() {
    let v = verifier(Preset::StandardWebhooks, &["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]);
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let pairs = [
        ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
        ("webhook-timestamp", "1649367553"),
        ("webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
    ];
    let verified = check(&v, &pairs, body, 1649367553 + 10).unwrap();
    assert_eq!(verified.event_id.as_deref(), Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"));
    assert_eq!(check(&v, &pairs, b"{}", 1649367553), Err(VerifyError::Mismatch));
    assert_eq!(check(&v, &pairs, body, 1649367553 + 301), Err(VerifyError::Expired));
    let svix: Vec<(&str, &str)> =
        pairs.iter().map(|(k, v)| (k.replace("webhook-", "svix-").leak() as &str, *v)).collect();
    assert!(check(&v, &svix, body, 1649367553).is_ok(), "the svix- headers carry the same scheme");
    let rotated =
        [pairs[0], pairs[1], ("webhook-signature", "v1,Zm9v v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")];
    assert!(check(&v, &rotated, body, 1649367553).is_ok(), "any of several signatures may match");
}

#[test]
fn standard_webhooks_v1a_signatures_verify_with_the_whpk_public_key() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let pair = Ed25519KeyPair::generate().unwrap();
    let public = format!("whpk_{}", STANDARD.encode(pair.public_key().as_ref()));
    let signature = pair.sign(&[b"msg_1.1700000000.".as_slice(), BODY].concat());
    let header = format!("v1a,{}", STANDARD.encode(signature.as_ref()));
    let pairs = [("webhook-id", "msg_1"), ("webhook-timestamp", "1700000000"), ("webhook-signature", header.as_str())];
    let v = verifier(Preset::StandardWebhooks, &[&public]);
    assert!(check(&v, &pairs, BODY, 1700000000).is_ok());
    assert_eq!(check(&v, &pairs, b"{\"id\":\"evt_2\"}", 1700000000), Err(VerifyError::Mismatch));
    let other = Ed25519KeyPair::generate().unwrap();
    let stranger = verifier(Preset::StandardWebhooks, &[&format!("whpk_{}", STANDARD.encode(other.public_key()))]);
    assert_eq!(check(&stranger, &pairs, BODY, 1700000000), Err(VerifyError::Mismatch));
}

#[test]
fn stripe_signs_the_timestamp_and_body_with_the_literal_secret() {
    let v = verifier(Preset::Stripe, &["whsec_test_secret"]);
    let header = format!("t=1700000000,v1={STRIPE_SIG}");
    assert!(check(&v, &[("stripe-signature", &header)], BODY, 1700000100).is_ok());
    let tampered = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    assert_eq!(check(&v, &[("stripe-signature", &header)], tampered, 1700000100), Err(VerifyError::Mismatch));
    assert_eq!(check(&v, &[("stripe-signature", &header)], BODY, 1700000000 + 400), Err(VerifyError::Expired));
    let wrong = verifier(Preset::Stripe, &["whsec_other"]);
    assert_eq!(check(&wrong, &[("stripe-signature", &header)], BODY, 1700000000), Err(VerifyError::Mismatch));
    let rotating = verifier(Preset::Stripe, &["whsec_other", "whsec_test_secret"]);
    assert!(check(&rotating, &[("stripe-signature", &header)], BODY, 1700000000).is_ok());
    let two = format!("t=1700000000,v1=00ff,v1={STRIPE_SIG},v0=abc");
    assert!(check(&v, &[("stripe-signature", &two)], BODY, 1700000000).is_ok());
    assert_eq!(check(&v, &[], BODY, 1700000000), Err(VerifyError::MissingHeader("stripe-signature")));
}

#[test]
fn pennylane_and_qonto_use_the_stripe_scheme_under_their_own_headers() {
    let header = format!("t=1700000000,v1={STRIPE_SIG}");
    let pennylane = verifier(Preset::Pennylane, &["whsec_test_secret"]);
    assert!(check(&pennylane, &[("x-pennylane-signature", &header)], BODY, 1700000000).is_ok());
    assert!(check(&pennylane, &[("stripe-signature", &header)], BODY, 1700000000).is_err());
    let qonto = verifier(Preset::Qonto, &["whsec_test_secret"]);
    assert!(check(&qonto, &[("x-qonto-signature", &header)], BODY, 1700000000).is_ok());
}

#[test]
fn paddle_signs_the_timestamp_colon_body() {
    let v = verifier(Preset::Paddle, &["pdl_ntfset_01_secret"]);
    let header = "ts=1700000000;h1=7703bcb75740e70775c3caca4850620f0cc6a35bf4178fa880cda32f3530761b";
    assert!(check(&v, &[("paddle-signature", header)], BODY, 1700000000).is_ok());
    assert_eq!(check(&v, &[("paddle-signature", header)], BODY, 1700000000 - 301), Err(VerifyError::Expired));
}

#[test]
fn gocardless_quickbooks_and_xero_sign_the_body_alone() {
    let gc = verifier(Preset::Gocardless, &["gc-secret"]);
    let sig = "7a40b321ea12d1c37ee2b39450914b2ac7598a869c1d828680d46b3217271270";
    assert!(check(&gc, &[("webhook-signature", sig)], BODY, 0).is_ok());
    assert_eq!(check(&gc, &[("webhook-signature", sig)], b"{}", 0), Err(VerifyError::Mismatch));
    let b64 = "TqX5/GycuxJC9DfcgQKUfaeacIQGBH4GlOzwcrZ/R/M=";
    assert!(check(&verifier(Preset::Quickbooks, &["verifier-token"]), &[("intuit-signature", b64)], BODY, 0).is_ok());
    assert!(check(&verifier(Preset::Xero, &["verifier-token"]), &[("x-xero-signature", b64)], BODY, 0).is_ok());
    assert!(check(&verifier(Preset::Xero, &["other"]), &[("x-xero-signature", b64)], BODY, 0).is_err());
}

#[test]
fn chargebee_is_authenticated_by_its_basic_credentials() {
    let v = verifier(Preset::Chargebee, &["relais:correct horse"]);
    let good = format!("Basic {}", STANDARD.encode("relais:correct horse"));
    assert!(check(&v, &[("authorization", &good)], BODY, 0).is_ok());
    let bad = format!("Basic {}", STANDARD.encode("relais:wrong"));
    assert_eq!(check(&v, &[("authorization", &bad)], BODY, 0), Err(VerifyError::Mismatch));
    assert!(Verifier::new(&settings(Preset::Chargebee), &["no-colon".into()], "hooks[0]").is_err());
}

#[test]
fn the_generic_hmac_scheme_follows_its_settings() {
    let mut s = settings(Preset::Hmac);
    s.hmac = Some(HmacSettings {
        header: "X-Hub-Signature".into(),
        algorithm: HmacAlgorithm::Sha1,
        encoding: SignatureEncoding::Hex,
        prefix: "sha1=".into(),
        timestamp_header: String::new(),
        signed_content: "{body}".into(),
    });
    let v = Verifier::new(&s, &["s3cret".into()], "hooks[0]").unwrap();
    let sig = "sha1=98a32319d424f566a81349f0da5eaac4b2e3f5fd";
    assert!(check(&v, &[("x-hub-signature", sig)], BODY, 0).is_ok());
    assert!(check(&v, &[("x-hub-signature", &sig[5..])], BODY, 0).is_err(), "the prefix is required");

    s.hmac = Some(HmacSettings {
        header: "X-Signature".into(),
        algorithm: HmacAlgorithm::Sha512,
        encoding: SignatureEncoding::Base64,
        prefix: String::new(),
        timestamp_header: "X-Timestamp".into(),
        signed_content: "{timestamp}.{body}".into(),
    });
    let v = Verifier::new(&s, &["s3cret".into()], "hooks[0]").unwrap();
    let sig = "PIP7f/YhLWvtqDEkDi+z2mkXga1P3mvibnVoS7mII048UoG4y0IoZiRRT6SwCW0+VTQNlfiB83yb7MKHnQRHmw==";
    let pairs = [("x-signature", sig), ("x-timestamp", "1700000000")];
    assert!(check(&v, &pairs, BODY, 1700000000).is_ok());
    assert_eq!(check(&v, &pairs, BODY, 1700000000 + 600), Err(VerifyError::Expired));
    assert_eq!(check(&v, &[pairs[0], ("x-timestamp", "1700000001")], BODY, 1700000000), Err(VerifyError::Mismatch));

    s.hmac.as_mut().unwrap().timestamp_header = String::new();
    let error = Verifier::new(&s, &["s3cret".into()], "hooks[2]").unwrap_err();
    assert_eq!(error.0, "hooks[2].hmac");
}

#[test]
fn preset_none_is_refused_without_an_allow_list_and_checks_the_address_with_one() {
    let error = Verifier::new(&settings(Preset::None), &[], "hooks[1]").unwrap_err();
    assert_eq!(error.0, "hooks[1].allowed_ips");
    let mut s = settings(Preset::None);
    s.allowed_ips = vec!["192.0.2.0/24".into(), "2001:db8::1".into()];
    let v = Verifier::new(&s, &[], "hooks[1]").unwrap();
    let at = |ip: &str| {
        let headers = HeaderMap::new();
        v.verify(&Arrival { headers: &headers, body: BODY, peer: Some(ip.parse().unwrap()), now_secs: 0 })
    };
    assert!(at("192.0.2.77").is_ok());
    assert!(at("::ffff:192.0.2.77").is_ok(), "an IPv4-mapped address is its IPv4 address");
    assert!(at("2001:db8::1").is_ok());
    assert!(matches!(at("192.0.3.1"), Err(VerifyError::AddressNotAllowed(_))));
    assert!(matches!(at("2001:db8::2"), Err(VerifyError::AddressNotAllowed(_))));
}

#[test]
fn a_preset_with_a_signature_needs_a_secret_and_standard_webhooks_a_whsec_one() {
    assert_eq!(Verifier::new(&settings(Preset::Stripe), &[], "hooks[0]").unwrap_err().0, "hooks[0].secrets");
    let error = Verifier::new(&settings(Preset::StandardWebhooks), &["plain".into()], "hooks[0]").unwrap_err();
    assert_eq!(error.0, "hooks[0].secrets[0]");
}
