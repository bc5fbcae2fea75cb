//! The mapping of a source: handlebars expressions over the payload's JSON, compiled at start, rendered into
//! a letter request. A path the payload lacks is reported by the letter field it was meant for.

mod helpers;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use handlebars::{Handlebars, RenderErrorReason};
use serde_json::{Map, Value, json};

use crate::config::MapSettings;
use crate::domain::{FieldError, FieldErrors};

/// A compiled mapping; each expression is a template named after the letter field it fills.
pub struct Mapping {
    registry: Handlebars<'static>,
    /// The fields with an expression, in the order they are reported.
    fields: Vec<String>,
    /// Variables a ready mapping offers: dropped when the template has no such variable.
    offered: BTreeSet<String>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping").field("fields", &self.fields).finish()
    }
}

/// What a payload says, once mapped: the letter request's JSON (as `POST /v1/letters` takes it) and the keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub letter: Value,
    pub idempotency_key: Option<String>,
}

const ADDRESS_LINES: &str = "recipient.address.lines";

impl Mapping {
    /// Compiles `map`; `offered` names the variables that came from a ready mapping. Errors name the field.
    pub fn compile(map: &MapSettings, offered: BTreeSet<String>) -> Result<Self, (String, String)> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut registry);
        let mut fields = Vec::new();
        for (field, expression) in expressions(map) {
            registry
                .register_template_string(&field, expression)
                .map_err(|e| (field.clone(), format!("not a handlebars expression: {}", e.reason())))?;
            fields.push(field);
        }
        Ok(Self { registry, fields, offered })
    }

    /// Renders one field leniently: `None` when it has no expression, renders empty, or the payload lacks it.
    pub fn lookup(&self, field: &str, payload: &Value) -> Option<String> {
        if !self.fields.iter().any(|f| f == field) {
            return None;
        }
        self.registry.render(field, payload).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// Maps a payload into a letter request for `template`, whose variables are `template_variables`.
    pub fn map(&self, payload: &Value, template: &str, template_variables: &[String]) -> Result<Mapped, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut letter = json!({ "template": template });
        let mut lines = Vec::new();
        let mut idempotency_key = None;
        for field in &self.fields {
            if matches!(field.as_str(), "event_id" | "event_type") {
                continue;
            }
            if let Some(name) = field.strip_prefix("variables.")
                && self.offered.contains(name)
                && !template_variables.iter().any(|v| v == name)
            {
                continue;
            }
            let value = match self.registry.render(field, payload) {
                Ok(text) => text.trim().to_owned(),
                Err(e) => {
                    errors.push(not_found(field, e.reason()));
                    continue;
                }
            };
            if value.is_empty() {
                continue;
            }
            if field.starts_with(ADDRESS_LINES) {
                lines.push(Value::String(value));
            } else if field == "idempotency_key" {
                idempotency_key = Some(value);
            } else {
                place(&mut letter, field, Value::String(value));
            }
        }
        if !lines.is_empty() {
            place(&mut letter, ADDRESS_LINES, Value::Array(lines));
        }
        errors.into_result(|| Mapped { letter, idempotency_key })
    }
}

/// The error for a field whose expression failed: the payload path it could not find, when that is why.
fn not_found(field: &str, reason: &RenderErrorReason) -> FieldError {
    let field = if field.starts_with(ADDRESS_LINES) { ADDRESS_LINES } else { field };
    match reason {
        RenderErrorReason::MissingVariable(Some(path)) => FieldError::new(
            field,
            "not_in_payload",
            format!("the payload has no `{path}` (or it is null), which the mapping of `{field}` reads"),
        ),
        other => FieldError::new(field, "mapping_failed", format!("the mapping of `{field}` failed: {other}")),
    }
}

/// Sets `value` at a dotted path of a JSON object, creating the objects on the way.
fn place(target: &mut Value, path: &str, value: Value) {
    let mut node = target;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        node = map.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Every expression of a mapping with its letter field, in a stable order.
fn expressions(map: &MapSettings) -> Vec<(String, &str)> {
    let r = &map.recipient;
    let mut all: Vec<(String, Option<&String>)> = vec![
        ("event_id".into(), map.event_id.as_ref()),
        ("event_type".into(), map.event_type.as_ref()),
        ("idempotency_key".into(), map.idempotency_key.as_ref()),
        ("recipient.kind".into(), r.kind.as_ref()),
        ("recipient.first_name".into(), r.first_name.as_ref()),
        ("recipient.last_name".into(), r.last_name.as_ref()),
        ("recipient.company".into(), r.company.as_ref()),
        ("recipient.email".into(), r.email.as_ref()),
    ];
    for (i, line) in r.address.lines.iter().flatten().enumerate() {
        all.push((format!("{ADDRESS_LINES}[{i}]"), Some(line)));
    }
    all.extend([
        ("recipient.address.postal_code".into(), r.address.postal_code.as_ref()),
        ("recipient.address.city".into(), r.address.city.as_ref()),
        ("recipient.address.country".into(), r.address.country.as_ref()),
        ("reference".into(), map.reference.as_ref()),
        ("notify_email".into(), map.notify_email.as_ref()),
    ]);
    all.extend(map.variables.iter().map(|(name, e)| (format!("variables.{name}"), Some(e))));
    all.into_iter().filter_map(|(field, e)| e.map(|e| (field, e.as_str()))).collect()
}
