//! `POST /v1/hooks/{source}`: signed webhooks of billing tools become letters, once each; their deliveries
//! are listed and, after a mapping fix, replayed.

mod presets;
pub mod sign;

use relais::config::{HookSettings, MapSettings, Preset, Secret, Settings};
use relais::store::LetterFilter;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, TestEnv, spawn_with};
use crate::on_both_databases;

const STRIPE_SECRET: &str = "whsec_stripe_test_secret";

pub fn hook(name: &str, preset: Preset, secrets: &[&str], mapping: Option<&str>) -> HookSettings {
    HookSettings {
        name: name.into(),
        sender: "default".parse().unwrap(),
        preset,
        secrets: secrets.iter().map(|s| Secret::new(s.to_string())).collect(),
        secret_files: vec![],
        template: "mise-en-demeure".into(),
        mapping: mapping.map(Into::into),
        events: vec![],
        conditions: vec![],
        map: MapSettings::default(),
        allowed_ips: vec![],
        hmac: None,
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/hooks/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub async fn spawn_with_hooks(db: Db, hooks: Vec<HookSettings>) -> (TestApp, TestEnv, Settings) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.hooks = hooks;
    let app = spawn_with(&env, settings.clone()).await;
    (app, env, settings)
}

/// Posts raw bytes to a hook with the given headers (no API key: the source's scheme authenticates it).
pub async fn post_hook(app: &TestApp, source: &str, headers: &[(String, String)], body: &[u8]) -> reqwest::Response {
    let mut request = app.client.post(app.url(&format!("/v1/hooks/{source}"))).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

pub async fn letter_count(app: &TestApp) -> usize {
    let filter = LetterFilter { limit: 1000, ..Default::default() };
    app.store.list_letters(&"default".parse().unwrap(), &filter).await.unwrap().len()
}

async fn deliveries(app: &TestApp, source: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/hooks/{source}/deliveries")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["deliveries"].as_array().unwrap().clone()
}

async fn post_stripe(app: &TestApp, event: &Value) -> reqwest::Response {
    let body = serde_json::to_vec(event).unwrap();
    let headers = sign::stripe("stripe-signature", STRIPE_SECRET, sign::now(), &body);
    post_hook(app, "stripe", &headers, &body).await
}

async fn a_stripe_invoice_overdue_posted_three_times_makes_exactly_one_letter(db: Db) {
    let stripe = hook("stripe", Preset::Stripe, &[STRIPE_SECRET], Some("stripe-invoice"));
    let (app, _env, _) = spawn_with_hooks(db, vec![stripe]).await;
    let event = fixture("stripe-invoice-overdue");
    let first = post_stripe(&app, &event).await;
    assert_eq!(first.status(), 202, "{}", first.text().await.unwrap());
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["outcome"], "accepted");
    let letter = first["letter"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let again = post_stripe(&app, &event).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!((again["outcome"].as_str(), again["letter"].as_str()), (Some("duplicate"), Some(letter.as_str())));
    }
    // The billing tool fires again for the same invoice, under another event id: still the same letter.
    let mut uncollectible = fixture("stripe-invoice-marked-uncollectible");
    uncollectible["data"]["object"]["amount_remaining"] = json!(100000);
    let other = post_stripe(&app, &uncollectible).await;
    assert_eq!(other.status(), 200);
    assert_eq!(other.json::<Value>().await.unwrap()["letter"], letter.as_str());
    assert_eq!(letter_count(&app).await, 1);

    let shown = app.get_letter(&letter).await;
    assert_eq!(shown["template"]["name"], "mise-en-demeure");
    assert_eq!(shown["reference"], "F-2026-0042");
    let listed = deliveries(&app, "stripe").await;
    assert_eq!(listed.len(), 2, "one record per event id: {listed:#?}");
    let overdue = listed.iter().find(|d| d["event_id"] == "evt_1QHkz2LkdIwHu7ix3sQ9Vb1m").unwrap();
    assert_eq!((overdue["verdict"].as_str(), overdue["attempts"].as_i64()), (Some("accepted"), Some(3)));
    let again = listed.iter().find(|d| d["event_type"] == "invoice.marked_uncollectible").unwrap();
    assert_eq!((again["verdict"].as_str(), again["letter"].as_str()), (Some("duplicate"), Some(letter.as_str())));
}

async fn an_event_the_filter_leaves_out_is_answered_200_with_the_reason_and_makes_nothing(db: Db) {
    let stripe = hook("stripe", Preset::Stripe, &[STRIPE_SECRET], Some("stripe-invoice"));
    let (app, _env, _) = spawn_with_hooks(db, vec![stripe]).await;
    let mut paid = fixture("stripe-invoice-overdue");
    paid["type"] = json!("invoice.paid");
    let response = post_stripe(&app, &paid).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "ignored");
    assert!(body["reason"].as_str().unwrap().contains("invoice.paid"), "{body}");

    let mut opted_out = fixture("stripe-invoice-overdue");
    opted_out["id"] = json!("evt_opted_out");
    opted_out["data"]["object"]["metadata"] = json!({"lre": "false"});
    let body: Value = post_stripe(&app, &opted_out).await.json().await.unwrap();
    assert_eq!(body["outcome"], "ignored");
    assert!(body["reason"].as_str().unwrap().contains("lre"), "{body}");
    assert_eq!(letter_count(&app).await, 0);
    let listed = deliveries(&app, "stripe").await;
    assert!(listed.iter().all(|d| d["verdict"] == "ignored"), "{listed:#?}");
}

async fn a_payload_missing_a_field_is_a_422_naming_it_and_a_replay_after_the_fix_makes_one_letter(db: Db) {
    let mut generic = hook("billing", Preset::Stripe, &[STRIPE_SECRET], Some("generic-json"));
    generic.map.recipient.email = Some("{{customer.contact_email}}".into());
    let (app, env, mut settings) = spawn_with_hooks(db, vec![generic]).await;
    let event = fixture("generic-json");
    let body = serde_json::to_vec(&event).unwrap();
    let response =
        post_hook(&app, "billing", &sign::stripe("stripe-signature", STRIPE_SECRET, sign::now(), &body), &body).await;
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "unmapped");
    assert_eq!(problem["errors"][0]["field"], "recipient.email");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("customer.contact_email"), "{problem}");
    assert_eq!(letter_count(&app).await, 0, "nothing stored but the delivery's record");
    let listed = deliveries(&app, "billing").await;
    assert_eq!(listed[0]["verdict"], "unmapped");
    assert!(listed[0]["error"].as_str().unwrap().contains("recipient.email"));
    let id = listed[0]["id"].as_str().unwrap().to_owned();

    // Replaying before the fix fails the same way.
    let replay = app.post_json(&format!("/v1/hooks/billing/deliveries/{id}/replay"), &json!({})).await;
    assert_eq!(replay.status(), 422);
    app.stop().await;

    settings.hooks[0].map.recipient.email = Some("{{customer.email}}".into());
    let app = spawn_with(&env, settings).await;
    let replay = app.post_json(&format!("/v1/hooks/billing/deliveries/{id}/replay"), &json!({})).await;
    assert_eq!(replay.status(), 202, "{}", replay.text().await.unwrap());
    let letter = replay.json::<Value>().await.unwrap()["letter"].as_str().unwrap().to_owned();
    let twice = app.post_json(&format!("/v1/hooks/billing/deliveries/{id}/replay"), &json!({})).await;
    assert_eq!(twice.status(), 200);
    assert_eq!(twice.json::<Value>().await.unwrap()["letter"], letter.as_str());
    // The source's own retry of the event now finds it handled.
    let retried =
        post_hook(&app, "billing", &sign::stripe("stripe-signature", STRIPE_SECRET, sign::now(), &body), &body).await;
    assert_eq!(retried.status(), 200);
    assert_eq!(letter_count(&app).await, 1);
    let listed = deliveries(&app, "billing").await;
    assert_eq!((listed.len(), listed[0]["verdict"].as_str()), (1, Some("accepted")));
}

/// GoCardless batches its events (`{"events": [...]}`, one signature over the batch): each event is decided
/// on its own — here one overdue invoice, one event the filter leaves out, one missing a field.
async fn a_gocardless_batch_is_decided_event_by_event_and_a_redelivery_makes_nothing_more(db: Db) {
    let gocardless = hook("gocardless", Preset::Gocardless, &["gc-secret"], Some("generic-json"));
    let (app, _env, _) = spawn_with_hooks(db, vec![gocardless]).await;
    let overdue = fixture("generic-json");
    let mut paid = fixture("generic-json");
    (paid["id"], paid["type"]) = (json!("EV_paid"), json!("invoice.paid"));
    let mut incomplete = fixture("generic-json");
    incomplete["id"] = json!("EV_incomplete");
    incomplete["customer"].as_object_mut().unwrap().remove("email");
    let body = serde_json::to_vec(&json!({ "events": [overdue, paid, incomplete] })).unwrap();
    let headers = sign::body_hex("webhook-signature", "gc-secret", &body);

    let response = post_hook(&app, "gocardless", &headers, &body).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "events[2].recipient.email", "{problem}");
    assert_eq!(letter_count(&app).await, 1, "the overdue invoice of the batch made its letter");
    let listed = deliveries(&app, "gocardless").await;
    let mut verdicts: Vec<(&str, &str)> =
        listed.iter().map(|d| (d["event_id"].as_str().unwrap(), d["verdict"].as_str().unwrap())).collect();
    verdicts.sort();
    assert_eq!(verdicts, [("EV_incomplete", "unmapped"), ("EV_paid", "ignored"), ("evt_8f3c2a", "accepted")]);

    // GoCardless retries the batch: nothing new for the events decided, the incomplete one fails alone again.
    let retried = post_hook(&app, "gocardless", &headers, &body).await;
    assert_eq!(retried.status(), 422);
    assert_eq!(letter_count(&app).await, 1);
    let tampered = post_hook(&app, "gocardless", &headers, &[&body[..], b" "].concat()).await;
    assert_eq!(tampered.status(), 401);

    let decided = serde_json::to_vec(&json!({ "events": [fixture("generic-json")] })).unwrap();
    let headers = sign::body_hex("webhook-signature", "gc-secret", &decided);
    let again = post_hook(&app, "gocardless", &headers, &decided).await;
    assert_eq!(again.status(), 200);
    let answer: Value = again.json().await.unwrap();
    assert_eq!(
        (answer["events"][0]["outcome"].as_str(), answer["events"][0]["event_id"].as_str()),
        (Some("duplicate"), Some("evt_8f3c2a"))
    );
    app.stop().await;
}

async fn deliveries_are_shown_only_with_an_api_key_of_the_hooks_sender(db: Db) {
    let stripe = hook("stripe", Preset::Stripe, &[STRIPE_SECRET], Some("stripe-invoice"));
    let (app, _env, _) = spawn_with_hooks(db, vec![stripe]).await;
    let anonymous = app.client.get(app.url("/v1/hooks/stripe/deliveries")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.get("/v1/hooks/nothing/deliveries").await.status(), 404);
    let unknown = post_hook(&app, "nothing", &[], b"{}").await;
    assert_eq!(unknown.status(), 404);
}

on_both_databases!(
    a_stripe_invoice_overdue_posted_three_times_makes_exactly_one_letter,
    an_event_the_filter_leaves_out_is_answered_200_with_the_reason_and_makes_nothing,
    a_payload_missing_a_field_is_a_422_naming_it_and_a_replay_after_the_fix_makes_one_letter,
    deliveries_are_shown_only_with_an_api_key_of_the_hooks_sender,
    a_gocardless_batch_is_decided_event_by_event_and_a_redelivery_makes_nothing_more,
);

#[test]
fn a_source_without_signature_or_allow_list_is_refused_at_start_naming_the_key() {
    let mut settings = Settings::load(None).unwrap();
    settings.hooks = vec![hook("odoo", Preset::None, &[], Some("generic-json"))];
    let message = settings.validate().unwrap_err().to_string();
    assert!(message.contains("hooks[0].allowed_ips"), "{message}");
    settings.hooks[0].allowed_ips = vec!["192.0.2.10".into()];
    assert!(settings.validate().is_ok());
    settings.hooks[0].mapping = Some("quickbooks-magic".into());
    assert!(settings.validate().unwrap_err().to_string().contains("hooks[0].mapping"));
}

#[test]
fn a_hook_written_as_the_readme_shows_loads_from_a_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("stripe-webhook");
    std::fs::write(&secret, "whsec_from_file\n").unwrap();
    let file = dir.path().join("relais.toml");
    let text = format!(
        r#"
[[hooks]]
name = "stripe"
sender = "default"
preset = "stripe"
secret_files = ["{}"]
template = "mise-en-demeure"
mapping = "stripe-invoice"
events = ["invoice.overdue"]
map.recipient.kind = "professional"

[[hooks]]
name = "scripted"
sender = "default"
preset = "hmac"
secrets = ["s3cret"]
template = "relance-facture"
[hooks.hmac]
header = "X-Signature"
prefix = "sha256="
[hooks.map]
recipient.email = "{{{{customer.email}}}}"
recipient.address.lines = ["{{{{customer.line1}}}}", "{{{{customer.line2}}}}"]
variables.amount_due = "{{{{cents_to_euros invoice.amount_cents}}}}"
variables.invoice_number = "{{{{invoice.number}}}}"
"#,
        secret.display()
    );
    std::fs::write(&file, text).unwrap();
    let settings = Settings::load(Some(&file)).unwrap();
    let stripe = &settings.hooks[0];
    assert_eq!(stripe.secrets.len(), 1);
    assert_eq!(stripe.secrets[0].expose(), "whsec_from_file");
    assert_eq!(stripe.map.recipient.kind.as_deref(), Some("professional"));
    let scripted = &settings.hooks[1];
    assert_eq!(scripted.map.recipient.address.lines.as_ref().unwrap().len(), 2);
    assert_eq!(scripted.map.variables["amount_due"], "{{cents_to_euros invoice.amount_cents}}");
    assert_eq!(scripted.hmac.as_ref().unwrap().prefix, "sha256=");
    assert!(!format!("{settings:?}").contains("whsec_from_file"), "secrets are not printed");
}
