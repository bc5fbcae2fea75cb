//! The variables a letter template declares: checking the declarations, and checking and normalizing the
//! values a request gives for them.

use serde_json::{Map, Value};

use super::{LetterTemplate, VariableError, VariableKind, VariableSpec};

/// Names that templates see as context objects, never as variables.
const RESERVED: [&str; 3] = ["sender", "recipient", "letter"];

/// Checks what a template declares: names usable as handlebars paths, unique, not reserved, with a label.
pub(super) fn check_declarations(variables: &[VariableSpec]) -> Result<(), String> {
    for (i, spec) in variables.iter().enumerate() {
        let name = spec.name.as_str();
        let identifier = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!("variable name `{name}` must be letters, digits and underscores, like `amount_due`"));
        }
        if RESERVED.contains(&name) {
            return Err(format!("`{name}` is reserved for the context and cannot be a variable"));
        }
        if variables[..i].iter().any(|other| other.name == name) {
            return Err(format!("variable `{name}` is declared twice"));
        }
        if spec.label.trim().is_empty() {
            return Err(format!("variable `{name}` needs a label"));
        }
    }
    Ok(())
}

/// Checks request variables against the template's declarations and reports every problem at once: a
/// required variable absent (or null, or blank) is "missing", an undeclared key "unknown", an amount or date
/// that does not parse "invalid". Returns them normalized — amounts "1250.00", dates "2026-10-31", text
/// trimmed — with absent optional ones as null, so templates can test them with `{{#if}}` in strict mode.
pub fn check_variables(
    template: &LetterTemplate,
    variables: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<VariableError>> {
    let mut errors = Vec::new();
    let mut normalized = Map::new();
    for spec in &template.variables {
        let given = variables.get(&spec.name).filter(|v| !v.is_null() && value_text(v).is_none_or(|t| !t.is_empty()));
        match given {
            None if spec.required => errors.push(VariableError {
                name: spec.name.clone(),
                code: "missing",
                message: format!(
                    "`{}` ({}) is required by the template `{}`: add it to the variables",
                    spec.name, spec.label, template.name
                ),
            }),
            None => {
                normalized.insert(spec.name.clone(), Value::Null);
            }
            Some(value) => match normalize(spec, value) {
                Ok(v) => {
                    normalized.insert(spec.name.clone(), v);
                }
                Err((code, message)) => errors.push(VariableError { name: spec.name.clone(), code, message }),
            },
        }
    }
    let known = || template.variables.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    for name in variables.keys().filter(|k| !template.variables.iter().any(|s| &s.name == *k)) {
        errors.push(VariableError {
            name: name.clone(),
            code: "unknown",
            message: format!(
                "the template `{}` has no variable `{name}`: remove it or use one of {}",
                template.name,
                known()
            ),
        });
    }
    if errors.is_empty() { Ok(normalized) } else { Err(errors) }
}

/// The longest value of a text kind, in characters: a name or a line, or a free letter body.
pub fn max_chars(kind: VariableKind) -> usize {
    match kind {
        VariableKind::LongText => 20_000,
        _ => 2_000,
    }
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The normalized value, or the error's code ("invalid", "too_long") and message.
fn normalize(spec: &VariableSpec, value: &Value) -> Result<Value, (&'static str, String)> {
    let name = &spec.name;
    let text =
        value_text(value).ok_or_else(|| ("invalid", format!("`{name}` must be a text or a number, not `{value}`")))?;
    match spec.kind {
        VariableKind::Text | VariableKind::LongText => {
            let max = max_chars(spec.kind);
            let count = text.chars().count();
            if count > max {
                return Err((
                    "too_long",
                    format!(
                        "`{name}` has {count} characters, more than the {max} a {} variable may have{}",
                        if spec.kind == VariableKind::Text { "text" } else { "long_text" },
                        if spec.kind == VariableKind::Text { ": declare it `long_text` for a free body" } else { "" }
                    ),
                ));
            }
            Ok(Value::String(text))
        }
        VariableKind::Amount => {
            super::parse_amount(&text).map(|a| Value::String(format!("{:.2}", a.round_dp(2)))).ok_or_else(|| {
                let message = format!(
                    "`{name}`: `{text}` is not an amount in euros with at most 2 decimals; write it like 1250.00"
                );
                ("invalid", message)
            })
        }
        VariableKind::Date => {
            super::parse_date(&text).map(|d| Value::String(d.format("%Y-%m-%d").to_string())).ok_or_else(|| {
                (
                    "invalid",
                    format!("`{name}`: `{text}` is not a calendar date; write it like 2026-10-31 or 31/10/2026"),
                )
            })
        }
    }
}
