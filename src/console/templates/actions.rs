//! What the editor does to a template: the live preview of the text as typed, save a draft, publish it
//! with a comment, roll back to an earlier version, and start a sender's own version of a shared template.
//! Changes need the right to edit the template (see `scope`); a forged form gets 403 and changes nothing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::session::Signed;
use super::super::{ConsoleError, PageResult};
use super::catalog_error;
use super::scope::{Scoped, may_edit};
use crate::domain::SenderId;
use crate::letters::preview::{PreviewError, PreviewRequest, preview_source};
use crate::render::TemplateScope;
use crate::render::catalog::CatalogError;
use crate::services::Services;

#[derive(Debug, Deserialize)]
pub(super) struct PreviewBody {
    source: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// The sender a preview is rendered for: the template's, or for a shared one the person's first sender.
fn preview_sender(signed: &Signed, template: &Scoped) -> Result<SenderId, ConsoleError> {
    match &template.scope {
        TemplateScope::Sender(sender) => Ok(sender.clone()),
        TemplateScope::Shared => signed.senders.first().cloned().ok_or(ConsoleError::Forbidden),
    }
}

/// The live preview: the text as typed (not saved) rendered with the data given; answers JSON with the
/// problems at their line and the letter as HTML (shown in a sandboxed frame), or the fields at fault.
pub(super) async fn preview(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Json(body): Json<PreviewBody>,
) -> PageResult {
    let sender = preview_sender(&signed, &template)?;
    let name = &template.name;
    let problems = services.templates.check(name, &body.source);
    let request = PreviewRequest { variables: body.variables, ..PreviewRequest::default() };
    let answer = match preview_source(&services, &sender, name, &body.source, request).await {
        Ok(p) => json!({ "html": p.html, "subject": p.subject, "problems": problems, "errors": [] }),
        Err(PreviewError::Invalid(errors)) => json!({ "html": null, "problems": problems, "errors": errors.0 }),
        Err(PreviewError::Problems(_)) => json!({ "html": null, "problems": problems, "errors": [] }),
        Err(e) => {
            json!({ "html": null, "problems": problems, "errors": [{ "field": "template", "message": e.to_string() }] })
        }
    };
    Ok(Json(answer).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PdfForm {
    source: String,
    /// The preview's data as the JSON typed beside it; empty for the template's examples.
    #[serde(default)]
    variables: String,
}

/// The letter exactly as it would be printed: the PDF of the text as typed, on the data beside it (the
/// editor's "PDF" button opens it in a new tab). A text that cannot be rendered answers with the reasons.
pub(super) async fn preview_pdf(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Form(form): Form<PdfForm>,
) -> PageResult {
    let sender = preview_sender(&signed, &template)?;
    let variables = match form.variables.trim() {
        "" => Map::new(),
        text => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => return Ok(unrenderable(vec!["variables: not a JSON object".into()])),
        },
    };
    let source = form.source.replace("\r\n", "\n");
    let request = PreviewRequest { variables, ..PreviewRequest::default() };
    match preview_source(&services, &sender, &template.name, &source, request).await {
        Ok(p) => Ok(([(header::CONTENT_TYPE, "application/pdf"), (header::CONTENT_DISPOSITION, "inline")], p.pdf)
            .into_response()),
        Err(PreviewError::Invalid(errors)) => {
            Ok(unrenderable(errors.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect()))
        }
        Err(PreviewError::Problems(problems)) => Ok(unrenderable(
            problems
                .iter()
                .map(|p| format!("{}: {}", p.line.map(|l| l.to_string()).unwrap_or_default(), p.message))
                .collect(),
        )),
        Err(e) => Ok(unrenderable(vec![e.to_string()])),
    }
}

/// Why a PDF preview could not be made, as plain text (422).
fn unrenderable(reasons: Vec<String>) -> axum::response::Response {
    let body =
        format!("The letter cannot be rendered / La lettre ne peut pas être composée:\n{}\n", reasons.join("\n"));
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SourceForm {
    source: String,
}

pub(super) async fn save_draft(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Form(form): Form<SourceForm>,
) -> PageResult {
    template.require_edit()?;
    let source = form.source.replace("\r\n", "\n");
    services
        .templates
        .save_draft(&template.scope, &template.name, &source, &signed.actor())
        .await
        .map_err(catalog_error)?;
    Ok(Redirect::to(&format!("{}?done=draft_saved", template.base())).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PublishForm {
    #[serde(default)]
    comment: String,
}

pub(super) async fn publish(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Form(form): Form<PublishForm>,
) -> PageResult {
    template.require_edit()?;
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    let done = match services.templates.publish(&template.scope, &template.name, comment, &signed.actor()).await {
        Ok(_) => "published",
        Err(CatalogError::Problems(_)) => "not_publishable",
        Err(CatalogError::NoDraft(_)) => "no_draft",
        Err(e) => return Err(catalog_error(e)),
    };
    Ok(Redirect::to(&format!("{}?done={done}", template.base())).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct RollbackForm {
    version: String,
    #[serde(default)]
    comment: String,
}

pub(super) async fn rollback(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Form(form): Form<RollbackForm>,
) -> PageResult {
    template.require_edit()?;
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    services
        .templates
        .rollback(&template.scope, &template.name, &form.version, comment, &signed.actor())
        .await
        .map_err(catalog_error)?;
    Ok(Redirect::to(&format!("{}?done=rolled_back", template.base())).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CustomiseForm {
    sender: String,
}

/// A sender's own version of a shared template: its first draft is the shared text, to be changed and
/// published for that sender's letters only. When the sender already has one, its editor opens as it is.
pub(super) async fn customise(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<CustomiseForm>,
) -> PageResult {
    let sender: SenderId = form.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    let scope = TemplateScope::Sender(sender.clone());
    if !signed.may_see(&sender) {
        return Err(ConsoleError::NotFound);
    }
    if !may_edit(&signed, &scope) {
        return Err(ConsoleError::Forbidden);
    }
    let editor = format!("/console/senders/{sender}/templates/{name}");
    match services.templates.get(&scope, &name).await {
        Ok(_) => return Ok(Redirect::to(&editor).into_response()),
        Err(CatalogError::UnknownTemplate(_)) => {}
        Err(e) => return Err(catalog_error(e)),
    }
    let shared = services.templates.get(&TemplateScope::Shared, &name).await.map_err(catalog_error)?;
    let source = shared.published_source.ok_or(ConsoleError::NotFound)?;
    services.templates.save_draft(&scope, &name, &source, &signed.actor()).await.map_err(catalog_error)?;
    Ok(Redirect::to(&format!("{editor}?done=draft_saved")).into_response())
}
