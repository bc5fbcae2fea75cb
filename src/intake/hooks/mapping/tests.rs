//! Mappings on realistic payloads (tests/fixtures/hooks/, written from each product's documentation).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Mapping;
use crate::config::MapSettings;
use crate::intake::hooks::ready;

const TEMPLATE_VARIABLES: [&str; 4] = ["invoice_number", "amount_due", "due_date", "invoice_date"];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/hooks/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn ready_mapping(name: &str) -> (Mapping, ready::ReadyMapping) {
    let ready = ready::ready(name).unwrap();
    let offered = ready.map.variables.keys().cloned().collect();
    (Mapping::compile(&ready.map, offered).unwrap(), ready)
}

fn variables() -> Vec<String> {
    TEMPLATE_VARIABLES.iter().map(|v| v.to_string()).collect()
}

fn map_ready(name: &str, payload: &Value) -> (super::Mapped, ready::ReadyMapping, Mapping) {
    let (mapping, ready) = ready_mapping(name);
    let mapped = mapping.map(payload, "mise-en-demeure", &variables()).unwrap();
    (mapped, ready, mapping)
}

fn martin_address() -> Value {
    json!({"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "FR"})
}

#[test]
fn a_stripe_invoice_overdue_event_becomes_a_formal_notice_request() {
    let payload = fixture("stripe-invoice-overdue");
    let (mapped, ready, mapping) = map_ready("stripe-invoice", &payload);
    assert_eq!(
        mapped.letter,
        json!({
            "template": "mise-en-demeure",
            "reference": "F-2026-0042",
            "recipient": {"kind": "professional", "company": "Boulangerie Martin SARL",
                          "email": "compta@boulangerie-martin.fr", "address": martin_address()},
            "variables": {"invoice_number": "F-2026-0042", "amount_due": "1250.00",
                          "due_date": "2026-10-31", "invoice_date": "2026-10-02"}
        })
    );
    assert_eq!(mapped.idempotency_key.as_deref(), Some("in_1Q8xYbLkdIwHu7ixa3K2Ezq7"));
    assert_eq!(mapping.lookup("event_id", &payload).as_deref(), Some("evt_1QHkz2LkdIwHu7ix3sQ9Vb1m"));
    let filter = crate::intake::hooks::filter::Filter::new(ready.events, &ready.conditions).unwrap();
    assert_eq!(filter.reject(mapping.lookup("event_type", &payload).as_deref(), &payload), None);
}

#[test]
fn a_stripe_payment_failure_without_due_date_or_address_still_maps() {
    let payload = fixture("stripe-invoice-payment-failed");
    let (mapped, ..) = map_ready("stripe-invoice", &payload);
    assert_eq!(
        mapped.letter["recipient"],
        json!({"kind": "individual", "company": "Jeanne Martin", "email": "jeanne.martin@example.fr"})
    );
    assert_eq!(mapped.letter["variables"]["amount_due"], "49.00");
    assert_eq!(mapped.letter["variables"]["due_date"], "2026-10-02", "the issue date stands for the due date");
}

#[test]
fn a_stripe_invoice_marked_uncollectible_maps_like_an_overdue_one() {
    let (mapped, ..) = map_ready("stripe-invoice", &fixture("stripe-invoice-marked-uncollectible"));
    let (overdue, ..) = map_ready("stripe-invoice", &fixture("stripe-invoice-overdue"));
    assert_eq!(mapped.letter, overdue.letter);
    assert_eq!(mapped.idempotency_key, overdue.idempotency_key, "the same invoice: one letter");
}

#[test]
fn a_paddle_past_due_transaction_maps_its_custom_data_recipient_and_minor_unit_totals() {
    let payload = fixture("paddle-transaction-past-due");
    let (mapped, ready, mapping) = map_ready("paddle-transaction-past-due", &payload);
    assert_eq!(
        mapped.letter,
        json!({
            "template": "mise-en-demeure",
            "reference": "325-10566",
            "recipient": {"kind": "professional", "company": "Boulangerie Martin SARL",
                          "email": "compta@boulangerie-martin.fr", "address": martin_address()},
            "variables": {"invoice_number": "325-10566", "amount_due": "1250.00",
                          "due_date": "2026-10-31", "invoice_date": "2026-10-01"}
        })
    );
    assert_eq!(mapped.idempotency_key.as_deref(), Some("txn_01jb2k3m4n5p6q7r8s9t0v1w2x"));
    let filter = crate::intake::hooks::filter::Filter::new(ready.events, &ready.conditions).unwrap();
    assert_eq!(filter.reject(mapping.lookup("event_type", &payload).as_deref(), &payload), None);
}

#[test]
fn a_chargebee_payment_failure_counts_only_once_dunning_is_exhausted() {
    let mut payload = fixture("chargebee-payment-failed");
    let (mapped, ready, mapping) = map_ready("chargebee-payment-failed", &payload);
    assert_eq!(
        mapped.letter,
        json!({
            "template": "mise-en-demeure",
            "reference": "inv_2026_0042",
            "recipient": {"kind": "professional", "first_name": "Jeanne", "last_name": "Martin",
                          "company": "Boulangerie Martin SARL", "email": "compta@boulangerie-martin.fr",
                          "address": martin_address()},
            "variables": {"invoice_number": "inv_2026_0042", "amount_due": "1250.00",
                          "due_date": "2026-10-02", "invoice_date": "2026-10-02"}
        })
    );
    let filter = crate::intake::hooks::filter::Filter::new(ready.events, &ready.conditions).unwrap();
    let kind = mapping.lookup("event_type", &payload);
    assert_eq!(filter.reject(kind.as_deref(), &payload), None);
    payload["content"]["invoice"]["dunning_status"] = json!("in_progress");
    let why = filter.reject(kind.as_deref(), &payload).unwrap();
    assert!(why.contains("dunning_status"), "{why}");
}

#[test]
fn an_invoice_ninja_late_invoice_maps_its_primary_contact() {
    let payload = fixture("invoice-ninja-late-invoice");
    let (mapped, ..) = map_ready("invoice-ninja-late-invoice", &payload);
    assert_eq!(
        mapped.letter,
        json!({
            "template": "mise-en-demeure",
            "reference": "0042",
            "recipient": {"kind": "professional", "first_name": "Jeanne", "last_name": "Martin",
                          "company": "Boulangerie Martin SARL", "email": "compta@boulangerie-martin.fr",
                          "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon"}},
            "variables": {"invoice_number": "0042", "amount_due": "1250", "due_date": "2026-10-30",
                          "invoice_date": "2026-09-30"}
        })
    );
    assert_eq!(mapped.idempotency_key.as_deref(), Some("Wpmbk5ezJn"));
}

#[test]
fn the_generic_json_example_maps_field_for_field() {
    let (mapped, ..) = map_ready("generic-json", &fixture("generic-json"));
    assert_eq!(mapped.letter["recipient"]["address"], martin_address());
    assert_eq!(mapped.letter["variables"]["amount_due"], "1250.00");
    assert_eq!(mapped.letter["recipient"]["kind"], "professional");
}

#[test]
fn offered_variables_the_template_lacks_are_left_out_but_declared_ones_stay() {
    let (mapping, _) = ready_mapping("stripe-invoice");
    let payload = fixture("stripe-invoice-overdue");
    let mapped = mapping.map(&payload, "relance", &["invoice_number".into()]).unwrap();
    assert_eq!(mapped.letter["variables"], json!({"invoice_number": "F-2026-0042"}));

    let map: MapSettings = toml::from_str("variables.invoice_url = \"{{data.object.hosted_invoice_url}}\"").unwrap();
    let own = Mapping::compile(&map, BTreeSet::new()).unwrap();
    let mapped = own.map(&payload, "relance", &["invoice_number".into()]).unwrap();
    assert!(mapped.letter["variables"]["invoice_url"].as_str().unwrap().starts_with("https://invoice.stripe.com/"));
}

#[test]
fn a_path_the_payload_lacks_is_reported_under_the_letter_field_with_the_path() {
    let (mapping, _) = ready_mapping("stripe-invoice");
    let mut payload = fixture("stripe-invoice-overdue");
    payload["data"]["object"].as_object_mut().unwrap().remove("customer_email");
    payload["data"]["object"]["amount_remaining"] = Value::Null;
    let errors = mapping.map(&payload, "mise-en-demeure", &variables()).unwrap_err();
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["recipient.email", "variables.amount_due"]);
    assert!(errors.0[0].message.contains("data.object.customer_email"), "{}", errors.0[0].message);
    assert!(errors.0[1].message.contains("data.object.amount_remaining"), "{}", errors.0[1].message);
    assert_eq!(errors.0[0].code, "not_in_payload");
}

#[test]
fn helpers_convert_cents_and_unix_times_and_fall_back_to_defaults() {
    let map: MapSettings = toml::from_str(
        r#"
        reference = "{{default missing.path 'sans référence'}}"
        variables.a = "{{cents_to_euros cents}}"
        variables.b = "{{cents_to_euros text_cents}}"
        variables.c = "{{unix_to_date at}}"
        variables.d = "{{unix_to_date iso}}"
        variables.e = "{{default empty fallback}}"
        "#,
    )
    .unwrap();
    let mapping = Mapping::compile(&map, BTreeSet::new()).unwrap();
    let payload = json!({"cents": -5, "text_cents": "123456", "at": 1793404800, "iso": "2026-10-31T23:30:00Z",
                         "empty": "", "fallback": "ok"});
    let mapped = mapping.map(&payload, "t", &[]).unwrap();
    assert_eq!(mapped.letter["reference"], "sans référence");
    assert_eq!(
        mapped.letter["variables"],
        json!({"a": "-0.05", "b": "1234.56", "c": "2026-10-31", "d": "2026-11-01", "e": "ok"})
    );
    let wrong = mapping.map(&json!({"cents": "lots"}), "t", &[]).unwrap_err();
    assert!(wrong.0.iter().any(|e| e.field == "variables.a" && e.message.contains("lots")), "{wrong:?}");
}

#[test]
fn an_expression_that_does_not_compile_is_refused_naming_its_field() {
    let map: MapSettings = toml::from_str("recipient.email = \"{{#if}}\"").unwrap();
    assert_eq!(Mapping::compile(&map, BTreeSet::new()).unwrap_err().0, "recipient.email");
}
