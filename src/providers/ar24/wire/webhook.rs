//! AR24 webhook bodies: form-encoded by default, JSON or multipart accepted too (providers.md §1.8).

use serde_json::{Map, Value};

use super::text_field;

/// An AR24 webhook: form-encoded (the default) or JSON. AR24 does not sign it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id_mail: Option<String>,
    pub new_state: Option<String>,
    pub proof_url: Option<String>,
    /// User-status webhooks carry a user id instead of a mail id.
    pub id_user: Option<String>,
}

/// Parses a webhook body by its content type (application/x-www-form-urlencoded, multipart/form-data,
/// application/json, or unknown: try form then JSON). The encoding is unverified (providers.md §1.8), so when the
/// declared one yields nothing the other is tried. A body with neither id_mail nor id_user is an Err.
pub fn parse_webhook(content_type: Option<&str>, body: &[u8]) -> Result<WebhookEvent, String> {
    let media = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let multipart = content_type.filter(|_| media == "multipart/form-data").and_then(boundary);
    let json_first = media == "application/json" || media.ends_with("+json");
    let readers: [FieldReader; 2] = if json_first { [json_fields, form_fields] } else { [form_fields, json_fields] };
    let from_multipart = multipart.map(|b| multipart_fields(body, &b));
    from_multipart
        .into_iter()
        .chain(readers.iter().filter_map(|read| read(body)))
        .map(|fields| webhook_event(&fields))
        .find(|event| event.id_mail.is_some() || event.id_user.is_some())
        .ok_or_else(|| "the webhook body carries neither id_mail nor id_user".into())
}

/// Reads a body's fields, if it has this encoding.
type FieldReader = fn(&[u8]) -> Option<Map<String, Value>>;

fn webhook_event(fields: &Map<String, Value>) -> WebhookEvent {
    WebhookEvent {
        id_mail: text_field(fields, "id_mail"),
        new_state: text_field(fields, "new_state"),
        proof_url: text_field(fields, "proof_url"),
        id_user: text_field(fields, "id_user"),
    }
}

/// Form fields, through `url`'s decoder (a dependency the crate already has); `+` is a space.
fn form_fields(body: &[u8]) -> Option<Map<String, Value>> {
    let fields =
        url::form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), Value::String(value.into_owned())));
    Some(fields.collect())
}

fn json_fields(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body).ok()? {
        Value::Object(fields) => Some(fields),
        _ => None,
    }
}

/// The `boundary` parameter of a multipart content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary")).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The text fields of a multipart/form-data body: PHP's curl posts an array of fields this way.
fn multipart_fields(body: &[u8], boundary: &str) -> Map<String, Value> {
    let body = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut fields = Map::new();
    for part in body.split(delimiter.as_str()) {
        let Some((headers, value)) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n")) else {
            continue;
        };
        let name = headers.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim().trim_matches('"'));
        if let Some(name) = name {
            let value = value.strip_suffix("\r\n").or_else(|| value.strip_suffix('\n')).unwrap_or(value);
            fields.insert(name.to_owned(), Value::String(value.to_owned()));
        }
    }
    fields
}
