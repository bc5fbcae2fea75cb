//! A new letter from a form built from the chosen template's declared variables: the same intake checks as
//! `POST /v1/letters` (each error shown beside its field, what was typed kept), a preview before sending,
//! then the same `submit_letter`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde_json::{Map, Value, json};

use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::domain::{FieldErrors, SenderId};
use crate::intake::IntakeError;
use crate::intake::http::letter_from_json;
use crate::letters::preview::{PreviewError, PreviewRequest, preview_letter};
use crate::letters::{Submitted, submit_letter};
use crate::render::VariableKind;
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/console/letters/new", get(form).post(submit))
}

/// One field of the form: its name in the request, label, input type, and what was typed.
pub struct Field {
    pub name: String,
    pub label: String,
    pub input: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/new_letter.html")]
struct NewLetterPage {
    c: Chrome,
    templates: Vec<(String, String)>,
    template: String,
    senders: Vec<String>,
    sender: String,
    variables: Vec<Field>,
    recipient: Vec<Field>,
    kind: String,
    other: Vec<Field>,
    general: Vec<String>,
    preview: Option<String>,
}

const RECIPIENT_FIELDS: [(&str, &str, &str, bool); 8] = [
    ("recipient.first_name", "first_name", "text", false),
    ("recipient.last_name", "last_name", "text", true),
    ("recipient.company", "company", "text", false),
    ("recipient.email", "email", "email", true),
    ("recipient.address.line", "address_line", "text", true),
    ("recipient.address.postal_code", "postal_code", "text", true),
    ("recipient.address.city", "city", "text", true),
    ("recipient.address.country", "country", "text", false),
];

fn input_of(kind: VariableKind) -> &'static str {
    match kind {
        VariableKind::Text => "text",
        VariableKind::LongText => "textarea",
        VariableKind::Amount => "number",
        VariableKind::Date => "date",
    }
}

fn build(
    services: &Services,
    signed: &Signed,
    typed: &BTreeMap<String, String>,
    errors: &FieldErrors,
    preview: Option<String>,
) -> Result<NewLetterPage, ConsoleError> {
    let names = services.templates.names();
    let template = typed.get("template").filter(|t| names.contains(t)).cloned().or_else(|| names.first().cloned());
    let template = template.ok_or(ConsoleError::NotFound)?;
    let spec = services.templates.current(&template).ok_or(ConsoleError::NotFound)?;
    let lang = signed.lang;
    let value = |name: &str| typed.get(name).cloned().unwrap_or_default();
    let error = |name: &str| {
        let matching: Vec<&str> = errors
            .0
            .iter()
            .filter(|e| {
                e.field == name || (name == "recipient.address.line" && e.field.starts_with("recipient.address.lines"))
            })
            .map(|e| e.message.as_str())
            .collect();
        (!matching.is_empty()).then(|| matching.join(" ; "))
    };
    let field = |name: String, label: String, input: &'static str, required: bool| Field {
        value: value(&name),
        error: error(&name),
        name,
        label,
        input,
        required,
    };
    let variables = spec
        .variables
        .iter()
        .map(|v| field(format!("variables.{}", v.name), v.label.clone(), input_of(v.kind), v.required))
        .collect();
    let recipient = RECIPIENT_FIELDS
        .iter()
        .map(|(name, key, input, required)| field((*name).to_owned(), lang.t(key).to_owned(), input, *required))
        .collect();
    let other = vec![
        field("reference".into(), lang.t("reference").into(), "text", false),
        field("notify_email".into(), lang.t("notify_email").into(), "email", false),
    ];
    let shown: Vec<&str> = ["template", "sender", "reference", "notify_email", "recipient.kind"].into();
    let general = errors
        .0
        .iter()
        .filter(|e| {
            !(e.field.starts_with("variables.") || e.field.starts_with("recipient."))
                || shown.contains(&e.field.as_str())
        })
        .map(|e| format!("{} : {}", e.field, e.message))
        .collect();
    Ok(NewLetterPage {
        c: Chrome::new(signed, "letters"),
        templates: names.iter().map(|n| (n.clone(), services.templates.title(n))).collect(),
        template,
        senders: signed.senders.iter().map(|s| s.to_string()).collect(),
        sender: value("sender"),
        variables,
        recipient,
        kind: typed.get("recipient.kind").cloned().unwrap_or_else(|| "professional".into()),
        other,
        general,
        preview,
    })
}

async fn form(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Query(typed): Query<BTreeMap<String, String>>,
) -> PageResult {
    signed.require(crate::accounts::users::Role::Member)?;
    Ok(render(&build(&services, &signed, &typed, &FieldErrors::default(), None)?))
}

/// The request the API would receive, from the form's fields (empty ones left out).
fn request_of(typed: &BTreeMap<String, String>) -> Value {
    let get = |k: &str| typed.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut variables = Map::new();
    for (k, v) in typed {
        if let Some(name) = k.strip_prefix("variables.")
            && !v.trim().is_empty()
        {
            variables.insert(name.to_owned(), json!(v.trim()));
        }
    }
    json!({
        "sender": get("sender"),
        "template": get("template"),
        "variables": variables,
        "recipient": {
            "kind": get("recipient.kind"), "first_name": get("recipient.first_name"),
            "last_name": get("recipient.last_name"), "company": get("recipient.company"),
            "email": get("recipient.email"),
            "address": {
                "lines": get("recipient.address.line").map(|l| l.lines().map(str::to_owned).collect::<Vec<_>>()).unwrap_or_default(),
                "postal_code": get("recipient.address.postal_code").unwrap_or_default(),
                "city": get("recipient.address.city").unwrap_or_default(),
                "country": get("recipient.address.country"),
            },
        },
        "reference": get("reference"),
        "notify_email": get("notify_email"),
    })
}

fn again(page: NewLetterPage) -> PageResult {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

async fn submit(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Form(mut typed): Form<BTreeMap<String, String>>,
) -> PageResult {
    let sender: SenderId = typed
        .get("sender")
        .and_then(|s| s.parse().ok())
        .or_else(|| signed.senders.first().cloned())
        .ok_or(ConsoleError::Forbidden)?;
    signed.require_act_for(&sender)?;
    typed.insert("sender".into(), sender.to_string());
    let request = request_of(&typed);
    let action = typed.get("action").cloned().unwrap_or_default();
    let body =
        axum::body::Bytes::from(serde_json::to_vec(&request).map_err(|e| ConsoleError::Internal(e.to_string()))?);
    let letter = match letter_from_json(&services, &sender, body).await {
        Ok(letter) => letter,
        Err(IntakeError::Invalid(errors)) => return again(build(&services, &signed, &typed, &errors, None)?),
        Err(IntakeError::Forbidden(_)) => return Err(ConsoleError::Forbidden),
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    };
    if action != "send" {
        let preview = PreviewRequest {
            variables: request["variables"].as_object().cloned().unwrap_or_default(),
            recipient: serde_json::from_value(request["recipient"].clone()).ok(),
            ..PreviewRequest::default()
        };
        let name = typed.get("template").cloned().unwrap_or_default();
        return match preview_letter(&services, &sender, false, &name, preview).await {
            Ok(p) => Ok(render(&build(&services, &signed, &typed, &FieldErrors::default(), Some(p.html))?)),
            Err(PreviewError::Invalid(errors)) => again(build(&services, &signed, &typed, &errors, None)?),
            Err(e) => Err(ConsoleError::Internal(e.to_string())),
        };
    }
    let id = match submit_letter(&services, letter, None, None).await {
        Ok(Submitted::Created(id) | Submitted::Replayed(id)) => id,
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    };
    tracing::info!(letter = %id, by = %signed.email(), "letter submitted from the console");
    Ok(Redirect::to(&format!("/console/letters/{id}")).into_response())
}
