//! `/v1/templates`: templates as versioned data. Any key reads; writing, publishing and rolling back need the
//! `templates` scope. `?sender=ID` addresses that sender's override of a shared template.

pub(crate) mod versions;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::time::rfc3339;
use crate::domain::{FieldError, FieldErrors, SenderId};
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::letters::preview::{PreviewError, PreviewRequest, preview_letter};
use crate::render::catalog::{CatalogError, TemplateInfo};
use crate::render::{TemplateProblem, TemplateScope};
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/v1/templates", get(list))
        .route("/v1/templates/{name}", get(show))
        .route("/v1/templates/{name}/versions", get(versions::list))
        .route("/v1/templates/{name}/versions/{version}", get(versions::show))
        .route("/v1/templates/{name}/draft", put(versions::save_draft))
        .route("/v1/templates/{name}/publish", post(versions::publish))
        .route("/v1/templates/{name}/rollback", post(versions::rollback))
        .route("/v1/templates/{name}/diff", get(versions::diff))
        .route("/v1/templates/{name}/preview", post(preview))
}

#[derive(Debug, Default, Deserialize)]
struct ScopeQuery {
    sender: Option<String>,
}

/// The template a request addresses, with its caller: `{name}` in the path, and `?sender=ID` for that
/// sender's override of a shared template (shared otherwise). A key reaches its own sender's overrides only.
struct Addressed {
    caller: Caller,
    name: String,
    scope: TemplateScope,
}

impl FromRequestParts<Arc<Services>> for Addressed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, services: &Arc<Services>) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, services).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, services)
            .await
            .map_err(|e| ApiError::not_found(e.body_text()))?;
        let name = params.get("name").cloned().unwrap_or_default();
        let Query(query) = Query::<ScopeQuery>::from_request_parts(parts, services)
            .await
            .map_err(|e| field_error("sender", "invalid", e.body_text()))?;
        let scope = match query.sender.as_deref().filter(|s| !s.is_empty()) {
            None => TemplateScope::Shared,
            Some(sender) => {
                let sender: SenderId = sender.parse().map_err(|e: String| field_error("sender", "invalid", e))?;
                if sender != caller.sender {
                    return Err(ApiError::forbidden(format!(
                        "this API key belongs to sender `{}`: it cannot reach the templates of `{sender}`",
                        caller.sender
                    )));
                }
                TemplateScope::Sender(sender)
            }
        };
        Ok(Self { caller, name, scope })
    }
}

pub(super) fn field_error(field: &str, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(FieldError::new(field, code, message).into())
}

pub(super) fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::UnknownTemplate(name) => ApiError::not_found(format!("no template {name}")),
        CatalogError::UnknownVersion { name, hash } => {
            ApiError::not_found(format!("template {name} has no version {hash}"))
        }
        CatalogError::NoDraft(name) => ApiError::new(
            StatusCode::CONFLICT,
            "no_draft",
            "The template has no draft",
            format!("template {name} has no draft: save one with PUT /v1/templates/{name}/draft"),
        ),
        CatalogError::InvalidName(message) => field_error("name", "invalid_name", message),
        CatalogError::Problems(problems) => problems_error(&problems),
        CatalogError::Store(s) => s.into(),
        other => ApiError::internal(&other),
    }
}

/// A 422 listing every problem of a template at its line and column.
fn problems_error(problems: &[TemplateProblem]) -> ApiError {
    let mut errors = FieldErrors::default();
    for p in problems {
        errors.push(FieldError::new(&p.field, p.code, &p.message).at(p.line, p.column));
    }
    let mut e = ApiError::invalid(errors);
    e.code = "template_invalid";
    e.title = "The template has problems";
    e
}

fn summary(t: &TemplateInfo) -> Value {
    let letter = t.letter.as_ref();
    json!({
        "name": t.name,
        "kind": t.kind,
        "sender": t.scope.sender().map(SenderId::as_str),
        "title": letter.map(|l| l.title.as_str()),
        "description": letter.map(|l| l.description.as_str()),
        "published_version": t.published_hash,
        "has_draft": t.draft.is_some(),
        "variables": letter.map(|l| &l.variables),
    })
}

#[utoipa::path(
    get,
    path = "/v1/templates",
    tag = "templates",
    summary = "The letter templates",
    responses((status = 200, description = "The templates", body = serde_json::Value), crate::http::openapi::KeyErrors),
    security(("api_key" = []))
)]
async fn list(State(services): State<Arc<Services>>, caller: Caller) -> Result<Response, ApiError> {
    let templates = services.templates.list().await.map_err(catalog_error)?;
    let visible: Vec<Value> =
        templates.iter().filter(|t| t.scope.sender().is_none_or(|s| *s == caller.sender)).map(summary).collect();
    Ok(axum::Json(json!({ "templates": visible })).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/templates/{name}",
    tag = "templates",
    summary = "A template: its current version, variables and draft",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The template", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn show(
    State(services): State<Arc<Services>>,
    Addressed { name, scope, .. }: Addressed,
) -> Result<Response, ApiError> {
    let info = services.templates.get(&scope, &name).await.map_err(catalog_error)?;
    let mut body = summary(&info);
    body["source"] = json!(info.published_source);
    body["draft"] = match &info.draft {
        Some(d) => json!({
            "source": d.source, "updated_at": rfc3339(d.updated_at), "updated_by": d.updated_by,
            "problems": services.templates.check(&name, &d.source),
        }),
        None => Value::Null,
    };
    Ok(axum::Json(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct PreviewQuery {
    format: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/templates/{name}/preview",
    tag = "templates",
    summary = "Render the template with sample or given data",
    params(("name" = String, Path, description = "The template"), ("format" = Option<String>, Query, description = "pdf (default) or text")),
    request_body(content = serde_json::Value, description = "Optional: variables, recipient, reference"),
    responses((status = 200, description = "The letter as it would go", content_type = "application/pdf", body = Vec<u8>), crate::http::openapi::OwnedErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn preview(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<PreviewQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: PreviewRequest = if body.is_empty() { PreviewRequest::default() } else { parse(&body)? };
    let format = query.format.as_deref().unwrap_or("pdf");
    if !matches!(format, "pdf" | "html" | "json") {
        return Err(field_error("format", "invalid", "format is pdf (default), html or json"));
    }
    let preview = preview_letter(&services, &caller.sender, false, &name, request).await.map_err(|e| match e {
        PreviewError::Catalog(c) => catalog_error(c),
        PreviewError::Problems(p) => problems_error(&p),
        PreviewError::Invalid(errors) => ApiError::invalid(errors),
        PreviewError::Forbidden(message) => ApiError::forbidden(message),
    })?;
    Ok(match format {
        "json" => axum::Json(json!({
            "name": name, "version": preview.version, "subject": preview.subject, "text": preview.text,
            "problems": preview.problems,
        }))
        .into_response(),
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], preview.html).into_response(),
        _ => ([(header::CONTENT_TYPE, "application/pdf")], preview.pdf).into_response(),
    })
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::intake::http::parse_json(body).map_err(ApiError::from)
}
