//! A new letter from a form built from the chosen template's declared variables: the same intake checks as
//! `POST /v1/letters` (each error shown beside its field, what was typed kept), files attached with the same
//! limits (held across the preview and errors, in `uploads`), a preview before sending, then the same
//! `submit_letter`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::session::Signed;
use super::uploads::{Held, HeldFile, Posted, read_form};
use super::{Chrome, ConsoleError, PageResult, render};
use crate::accounts::users::Role;
use crate::domain::{FieldError, FieldErrors, SenderId};
use crate::intake::IntakeError;
use crate::intake::http::letter_from_staged;
use crate::letters::preview::{PreviewError, PreviewRequest, preview_letter};
use crate::letters::submit_letter;
use crate::render::VariableKind;
use crate::services::Services;

/// Room in the form's body for its text fields, besides the attachments.
const TEXT_ROOM: usize = 1024 * 1024;

pub fn router(services: &Services) -> Router<Arc<Services>> {
    let limit = services.settings.storage.max_attachments_size.0 as usize + TEXT_ROOM;
    Router::new().route("/console/letters/new", get(form).post(submit).layer(DefaultBodyLimit::max(limit)))
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
    /// The token of the files held for this form, and those files.
    held: String,
    files: Vec<HeldFile>,
    attachments_error: Option<String>,
    /// "at most 20 files, 256 MB in all".
    limits: String,
    preview: Option<String>,
}

const RECIPIENT_FIELDS: [(&str, &str, &str, bool); 8] = [
    ("recipient.first_name", "first_name", "text", false),
    ("recipient.last_name", "last_name", "text", true),
    ("recipient.company", "company", "text", false),
    ("recipient.email", "email", "email", true),
    ("recipient.address.line", "address_line", "textarea", true),
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
    held: Option<&Held>,
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
            !(e.field.starts_with("variables.")
                || e.field.starts_with("recipient.")
                || e.field.starts_with("attachments"))
                || shown.contains(&e.field.as_str())
        })
        .map(|e| format!("{} : {}", e.field, e.message))
        .collect();
    let attachments: Vec<&str> =
        errors.0.iter().filter(|e| e.field.starts_with("attachments")).map(|e| e.message.as_str()).collect();
    let storage = &services.settings.storage;
    let megabytes = storage.max_attachments_size.0.div_ceil(1_000_000);
    let limits = match lang {
        super::i18n::Lang::Fr => format!("au plus {} fichiers, {megabytes} Mo en tout", storage.max_attachments),
        super::i18n::Lang::En => format!("at most {} files, {megabytes} MB in all", storage.max_attachments),
    };
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
        held: held.filter(|h| !h.files.is_empty()).map(|h| h.token.clone()).unwrap_or_default(),
        files: held.map(|h| h.files.clone()).unwrap_or_default(),
        attachments_error: (!attachments.is_empty()).then(|| attachments.join(" ; ")),
        limits,
        preview,
    })
}

async fn form(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Query(typed): Query<BTreeMap<String, String>>,
) -> PageResult {
    signed.require(Role::Member)?;
    Ok(render(&build(&services, &signed, &typed, &FieldErrors::default(), None, None)?))
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
                "lines": get("recipient.address.line").map(|l| address_lines(&l)).unwrap_or_default(),
                "postal_code": get("recipient.address.postal_code").unwrap_or_default(),
                "city": get("recipient.address.city").unwrap_or_default(),
                "country": get("recipient.address.country"),
            },
        },
        "reference": get("reference"),
        "notify_email": get("notify_email"),
    })
}

/// The lines of the address as typed in its text area, blank ones left out.
fn address_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn again(page: NewLetterPage) -> PageResult {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

async fn submit(State(services): State<Arc<Services>>, signed: Signed, multipart: Multipart) -> PageResult {
    signed.require(Role::Member)?;
    let Posted { mut typed, held, expired, errors: file_errors } =
        read_form(&services, &signed.session.user.id, multipart).await?;
    let sender: Option<SenderId> =
        typed.get("sender").and_then(|s| s.parse().ok()).or_else(|| signed.senders.first().cloned());
    let Some(sender) = sender.filter(|s| signed.require_act_for(s).is_ok()) else {
        held.discard().await;
        return Err(ConsoleError::Forbidden);
    };
    typed.insert("sender".into(), sender.to_string());
    let mut file_errors = FieldErrors(file_errors);
    if expired {
        let message = signed.lang.t("files_expired");
        file_errors.push(FieldError::new("attachments", "expired", message));
    }
    let request = request_of(&typed);
    let action = typed.get("action").cloned().unwrap_or_default();
    let body = serde_json::to_vec(&request).map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let mut letter = match letter_from_staged(&services, &sender, &body, held.staged()).await {
        Ok(letter) => letter,
        Err(IntakeError::Invalid(mut errors)) => {
            errors.0.extend(file_errors.0);
            return again(build(&services, &signed, &typed, &errors, Some(&held), None)?);
        }
        Err(IntakeError::Forbidden(_)) => return Err(ConsoleError::Forbidden),
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    };
    if !file_errors.is_empty() {
        return again(build(&services, &signed, &typed, &file_errors, Some(&held), None)?);
    }
    if action != "send" {
        let preview = PreviewRequest {
            variables: request["variables"].as_object().cloned().unwrap_or_default(),
            recipient: serde_json::from_value(request["recipient"].clone()).ok(),
            ..PreviewRequest::default()
        };
        let name = typed.get("template").cloned().unwrap_or_default();
        let page = match preview_letter(&services, &sender, false, &name, preview).await {
            Ok(p) => build(&services, &signed, &typed, &FieldErrors::default(), Some(&held), Some(p.html))?,
            Err(PreviewError::Invalid(errors)) => {
                return again(build(&services, &signed, &typed, &errors, Some(&held), None)?);
            }
            Err(e) => return Err(ConsoleError::Internal(e.to_string())),
        };
        return Ok(render(&page));
    }
    letter.submitted_by = Some(signed.email().to_owned());
    let id = match submit_letter(&services, letter, None, None).await {
        Ok(submitted) => submitted.id(),
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    };
    tracing::info!(letter = %id, by = %signed.email(), "letter submitted from the console");
    Ok(Redirect::to(&format!("/console/letters/{id}")).into_response())
}
