//! The data a letter template sees: its variables at top level, plus `sender`, `recipient` and `letter`.

use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde_json::{Value, json};

use crate::config::SenderSettings;
use crate::domain::{LetterId, Recipient};

fn non_empty(text: &str) -> Value {
    if text.trim().is_empty() { Value::Null } else { Value::String(text.to_owned()) }
}

/// Builds the rendering context. `created_at` (unix ms) gives the letter's date, in Paris time.
pub fn letter_context(
    id: &LetterId,
    sender: &SenderSettings,
    recipient: &Recipient,
    variables: &serde_json::Map<String, Value>,
    reference: Option<&str>,
    created_at: i64,
) -> Value {
    let date = Utc.timestamp_millis_opt(created_at).single().unwrap_or_default().with_timezone(&Paris);
    let mut context = variables.clone();
    context.insert(
        "sender".into(),
        json!({
            "company": sender.company,
            "name": non_empty(&sender.name),
            "siret": non_empty(&sender.siret),
            "email": sender.email.as_str(),
            "address": sender.address,
        }),
    );
    context.insert("recipient".into(), serde_json::to_value(recipient).unwrap_or(Value::Null));
    if let Some(Value::Object(r)) = context.get_mut("recipient") {
        for key in ["first_name", "company", "address"] {
            r.entry(key).or_insert(Value::Null);
        }
    }
    context.insert(
        "letter".into(),
        json!({
            "id": id.as_str(),
            "reference": reference,
            "date": date.format("%Y-%m-%d").to_string(),
            "city": sender.address.city,
        }),
    );
    Value::Object(context)
}
