//! Every verification preset end to end: a valid delivery makes a letter, its replay none, and a tampered
//! body, a wrong secret or an old timestamp are refused with 401 and leave nothing behind.

use relais::config::{HmacAlgorithm, HmacSettings, HookSettings, Preset, SignatureEncoding};
use serde_json::{Value, json};

use super::{fixture, hook, letter_count, post_hook, sign, spawn_with_hooks};
use crate::helpers::Db;
use crate::on_both_databases;

type Headers = Vec<(String, String)>;

struct Case {
    hook: HookSettings,
    secret: &'static str,
    wrong: &'static str,
    /// Signs (secret, timestamp, event id, body); `None` for a scheme without a timestamp.
    sign: fn(&str, i64, &str, &[u8]) -> Headers,
    timestamped: bool,
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WHSEC_OTHER: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn case(
    name: &str,
    preset: Preset,
    secret: &'static str,
    wrong: &'static str,
    sign: fn(&str, i64, &str, &[u8]) -> Headers,
    timestamped: bool,
) -> Case {
    Case { hook: hook(name, preset, &[secret], Some("generic-json")), secret, wrong, sign, timestamped }
}

fn cases() -> Vec<Case> {
    let mut generic = case("generic", Preset::Hmac, "s3cret", "other", |s, t, _, b| sign::generic(s, t, b), true);
    generic.hook.hmac = Some(HmacSettings {
        header: "X-Signature".into(),
        algorithm: HmacAlgorithm::Sha512,
        encoding: SignatureEncoding::Hex,
        prefix: "sha512=".into(),
        timestamp_header: "X-Timestamp".into(),
        signed_content: "{timestamp}.{body}".into(),
    });
    vec![
        case(
            "stripe",
            Preset::Stripe,
            "whsec_abc",
            "whsec_def",
            |s, t, _, b| sign::stripe("stripe-signature", s, t, b),
            true,
        ),
        case(
            "standard",
            Preset::StandardWebhooks,
            WHSEC,
            WHSEC_OTHER,
            |s, t, id, b| sign::standard("webhook", s, id, t, b),
            true,
        ),
        case(
            "svix",
            Preset::StandardWebhooks,
            WHSEC,
            WHSEC_OTHER,
            |s, t, id, b| sign::standard("svix", s, id, t, b),
            true,
        ),
        case("paddle", Preset::Paddle, "pdl_ntfset_1", "pdl_ntfset_2", |s, t, _, b| sign::paddle(s, t, b), true),
        case(
            "pennylane",
            Preset::Pennylane,
            "pl-secret",
            "pl-other",
            |s, t, _, b| sign::stripe("x-pennylane-signature", s, t, b),
            true,
        ),
        case(
            "qonto",
            Preset::Qonto,
            "qonto-secret",
            "qonto-other",
            |s, t, _, b| sign::stripe("x-qonto-signature", s, t, b),
            true,
        ),
        case(
            "gocardless",
            Preset::Gocardless,
            "gc-secret",
            "gc-other",
            |s, _, _, b| sign::body_hex("webhook-signature", s, b),
            false,
        ),
        case(
            "quickbooks",
            Preset::Quickbooks,
            "verifier",
            "other",
            |s, _, _, b| sign::body_base64("intuit-signature", s, b),
            false,
        ),
        case(
            "xero",
            Preset::Xero,
            "xero-key",
            "other-key",
            |s, _, _, b| sign::body_base64("x-xero-signature", s, b),
            false,
        ),
        case("chargebee", Preset::Chargebee, "relais:pass", "relais:nope", |s, _, _, _| sign::basic(s), false),
        generic,
    ]
}

/// The generic JSON example with its own event and invoice, so each source makes its own letter.
fn event(source: &str, n: u32) -> Value {
    let mut event = fixture("generic-json");
    event["id"] = json!(format!("evt_{source}_{n}"));
    event["invoice"]["id"] = json!(format!("inv_{source}_{n}"));
    event
}

async fn every_preset_takes_a_valid_delivery_once_and_refuses_forgeries(db: Db) {
    let cases = cases();
    let mut hooks: Vec<HookSettings> = cases.iter().map(|c| c.hook.clone()).collect();
    let mut open = hook("open", Preset::None, &[], Some("generic-json"));
    open.allowed_ips = vec!["127.0.0.0/8".into()];
    let mut elsewhere = hook("elsewhere", Preset::None, &[], Some("generic-json"));
    elsewhere.allowed_ips = vec!["192.0.2.10".into()];
    hooks.extend([open, elsewhere]);
    let (app, _env, _) = spawn_with_hooks(db, hooks).await;
    let now = sign::now();
    let mut made = 0;
    for c in &cases {
        let name = c.hook.name.as_str();
        let body = serde_json::to_vec(&event(name, 1)).unwrap();
        let headers = (c.sign)(c.secret, now, &format!("msg_{name}_1"), &body);
        let valid = post_hook(&app, name, &headers, &body).await;
        assert_eq!(valid.status(), 202, "{name}: {}", valid.text().await.unwrap());
        let letter = valid.json::<Value>().await.unwrap()["letter"].as_str().unwrap().to_owned();

        let replayed = post_hook(&app, name, &headers, &body).await;
        assert_eq!(replayed.status(), 200, "{name}: a replay is recognised");
        assert_eq!(replayed.json::<Value>().await.unwrap()["letter"], letter.as_str(), "{name}");

        let mut tampered = event(name, 2);
        tampered["invoice"]["amount_due"] = json!("1.00");
        let signed_body = serde_json::to_vec(&event(name, 2)).unwrap();
        let headers = (c.sign)(c.secret, now, &format!("msg_{name}_2"), &signed_body);
        let forged = post_hook(&app, name, &headers, &serde_json::to_vec(&tampered).unwrap()).await;
        if c.hook.preset == Preset::Chargebee {
            // Basic credentials do not cover the body: a tampered body with the right password is the source's.
            assert_eq!(forged.status(), 202, "{name}");
        } else {
            assert_eq!(forged.status(), 401, "{name}: a tampered body");
            let problem: Value = forged.json().await.unwrap();
            assert_eq!(problem["code"], "invalid_signature", "{name}");
        }

        let body = serde_json::to_vec(&event(name, 3)).unwrap();
        let headers = (c.sign)(c.wrong, now, &format!("msg_{name}_3"), &body);
        assert_eq!(post_hook(&app, name, &headers, &body).await.status(), 401, "{name}: a wrong secret");

        if c.timestamped {
            let body = serde_json::to_vec(&event(name, 4)).unwrap();
            let headers = (c.sign)(c.secret, now - 6 * 60, &format!("msg_{name}_4"), &body);
            let old = post_hook(&app, name, &headers, &body).await;
            assert_eq!(old.status(), 401, "{name}: an old timestamp");
            assert!(old.text().await.unwrap().contains("5 minutes"), "{name}");
        }
        let expected = if c.hook.preset == Preset::Chargebee { 2 } else { 1 };
        made += expected;
        let listed: Value = app.get(&format!("/v1/hooks/{name}/deliveries")).await.json().await.unwrap();
        assert_eq!(
            listed["deliveries"].as_array().unwrap().len(),
            expected,
            "{name}: refused deliveries are not stored"
        );
        assert_eq!(letter_count(&app).await, made, "{name}: one letter per accepted delivery");
    }
    let body = serde_json::to_vec(&event("open", 1)).unwrap();
    assert_eq!(post_hook(&app, "open", &[], &body).await.status(), 202, "an allowed address needs no signature");
    assert_eq!(post_hook(&app, "open", &[], &body).await.status(), 200, "a replay is recognised by its event id");
    assert_eq!(post_hook(&app, "elsewhere", &[], &body).await.status(), 401, "another address is refused");
    assert_eq!(letter_count(&app).await, cases.len() + 2, "one letter per source, and the tampered Chargebee one");
}

async fn xero_intent_to_receive_gets_an_empty_200_only_when_correctly_signed(db: Db) {
    let (app, _env, _) =
        spawn_with_hooks(db, vec![hook("xero", Preset::Xero, &["xero-key"], Some("generic-json"))]).await;
    let body = br#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}"#;
    let good = post_hook(&app, "xero", &sign::body_base64("x-xero-signature", "xero-key", body), body).await;
    assert_eq!(good.status(), 200);
    assert!(good.bytes().await.unwrap().is_empty(), "Xero wants no response body");
    let bad = post_hook(&app, "xero", &sign::body_base64("x-xero-signature", "not-the-key", body), body).await;
    assert_eq!(bad.status(), 401);
    let listed: Value = app.get("/v1/hooks/xero/deliveries").await.json().await.unwrap();
    assert_eq!(listed["deliveries"], json!([]));
}

on_both_databases!(
    every_preset_takes_a_valid_delivery_once_and_refuses_forgeries,
    xero_intent_to_receive_gets_an_empty_200_only_when_correctly_signed,
);
