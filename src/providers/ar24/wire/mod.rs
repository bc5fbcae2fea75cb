//! The AR24 wire format (providers.md §1): response envelopes here; error slugs (`slugs`), letter records
//! (`mail`), Paris times (`time`) and webhook bodies (`webhook`) beside.

mod mail;
mod slugs;
mod time;
mod webhook;

pub use mail::{MailRecord, mail_list};
pub use slugs::{Ar24Error, ErrorClass};
pub use time::{paris_date, paris_time_ms};
pub use webhook::{WebhookEvent, parse_webhook};

use serde_json::{Map, Value};

/// What AR24 answered, once decrypted if it was encrypted.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// `{"status":"SUCCESS","result":…}`
    Success(Value),
    /// `{"status":"ERROR","slug":"…","message":"…"}` (AR24 answers errors with HTTP 200)
    Error(Ar24Error),
    /// `{"status":"maintenance"}`
    Maintenance,
}

/// Parses a clear JSON body. `decrypt` is called with a base64 string when the body (or the `result`
/// field, as one client does) is not JSON but ciphertext; it returns the clear bytes or None. Accepts every
/// documented variant: clear JSON; a whole-body base64 ciphertext; a JSON envelope whose `result` is a
/// base64 ciphertext string of the JSON result. Anything else is an Err with a short description.
pub fn parse_envelope(body: &[u8], decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Envelope, String> {
    let text = std::str::from_utf8(body).map_err(|_| "AR24 answered a body that is not UTF-8".to_owned())?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err("AR24 answered an empty body".into());
    }
    // Most clients decrypt the whole body, some servers send it clear (providers.md §1.2): try JSON first.
    // A JSON string is taken as ciphertext too, in case the server JSON-encodes it.
    let cipher = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(envelope)) => return read_envelope(&envelope, decrypt),
        Ok(Value::String(inner)) => inner,
        _ => text.to_owned(),
    };
    let cipher = compact_base64(&cipher).ok_or("AR24 answered neither JSON nor base64 ciphertext")?;
    let clear = decrypt(&cipher).ok_or("AR24's encrypted answer could not be decrypted")?;
    match serde_json::from_slice::<Value>(&clear) {
        Ok(Value::Object(envelope)) => read_envelope(&envelope, decrypt),
        _ => Err("AR24's decrypted answer is not a JSON object".into()),
    }
}

/// Reads `status` (compared without case: the doc writes `SUCCESS` but `maintenance`) and what goes with it.
fn read_envelope(envelope: &Map<String, Value>, decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Envelope, String> {
    let status = envelope.get("status").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    match status.as_str() {
        "success" => read_result(envelope.get("result"), decrypt).map(Envelope::Success),
        "error" => Ok(Envelope::Error(Ar24Error {
            // A missing slug is read as AR24's own catch-all, so it is retried rather than dropped.
            slug: text_field(envelope, "slug").unwrap_or_else(|| "unknown_error".into()),
            message: raw_text(envelope.get("message")),
        })),
        "maintenance" => Ok(Envelope::Maintenance),
        "" => Err("AR24's answer has no status".into()),
        other => Err(format!("AR24's answer has an unknown status `{other}`")),
    }
}

/// The `result` of a success. One client decrypts `result` alone when it is a string (providers.md §1.2), so a
/// string shaped like AES ciphertext must decrypt to JSON; a short or non-base64 string is kept as it is.
fn read_result(result: Option<&Value>, decrypt: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Value, String> {
    let Some(result) = result else { return Ok(Value::Null) };
    let Value::String(text) = result else { return Ok(result.clone()) };
    // One AES block is 16 bytes, 24 base64 characters: anything shorter is not ciphertext.
    let Some(cipher) = compact_base64(text).filter(|c| c.len() >= 24) else { return Ok(result.clone()) };
    let clear = decrypt(&cipher).ok_or("AR24's encrypted result could not be decrypted")?;
    serde_json::from_slice(&clear).map_err(|_| "AR24's decrypted result is not JSON".into())
}

/// The text without whitespace, if what is left is non-empty base64 (standard or URL-safe alphabet).
fn compact_base64(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let body = compact.trim_end_matches('=');
    let valid = !body.is_empty()
        && compact.len() - body.len() <= 2
        && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_'));
    valid.then_some(compact)
}

/// A message as received: a string untouched, another JSON value as its JSON text, nothing as "".
pub(super) fn raw_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A text field that may come as a string or a number; empty, null, `false` (PHP) and other shapes are None.
pub(super) fn text_field(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A yes/no that PHP may give as a boolean, 0/1, or their strings.
pub(super) fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Some(true),
            "0" | "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// MySQL's zero date, which PHP backends print for "not yet".
pub(super) fn is_zero_date(text: &str) -> bool {
    text.starts_with("0000-00-00")
}

#[cfg(test)]
mod tests;
