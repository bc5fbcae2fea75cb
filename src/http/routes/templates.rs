//! `/v1/templates`: templates as versioned data. Any key reads; writing, publishing and rolling back need the
//! `templates` scope. `?sender=ID` addresses that sender's override of a shared template.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::Scope;
use crate::domain::time::rfc3339;
use crate::domain::{FieldError, FieldErrors, SenderId};
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::letters::preview::{PreviewError, PreviewRequest, preview_letter};
use crate::render::catalog::{CatalogError, TemplateInfo, VersionRef, unified_diff};
use crate::render::{TemplateProblem, TemplateScope};
use crate::services::Services;
use crate::store::PublicationRow;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/v1/templates", get(list))
        .route("/v1/templates/{name}", get(show))
        .route("/v1/templates/{name}/versions", get(versions))
        .route("/v1/templates/{name}/versions/{version}", get(version))
        .route("/v1/templates/{name}/draft", put(save_draft))
        .route("/v1/templates/{name}/publish", post(publish))
        .route("/v1/templates/{name}/rollback", post(rollback))
        .route("/v1/templates/{name}/diff", get(diff))
        .route("/v1/templates/{name}/preview", post(preview))
}

#[derive(Debug, Default, Deserialize)]
struct ScopeQuery {
    sender: Option<String>,
}

/// The template scope a request addresses: shared, or a sender's override. A key reaches its own sender's
/// overrides only.
fn scope_of(caller: &Caller, query: &ScopeQuery) -> Result<TemplateScope, ApiError> {
    let Some(sender) = query.sender.as_deref().filter(|s| !s.is_empty()) else { return Ok(TemplateScope::Shared) };
    let sender: SenderId = sender.parse().map_err(|e: String| field_error("sender", "invalid", e))?;
    if sender != caller.sender {
        return Err(ApiError::forbidden(format!(
            "this API key belongs to sender `{}`: it cannot reach the templates of `{sender}`",
            caller.sender
        )));
    }
    Ok(TemplateScope::Sender(sender))
}

fn field_error(field: &str, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(FieldError::new(field, code, message).into())
}

fn catalog_error(e: CatalogError) -> ApiError {
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
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Response, ApiError> {
    let scope = scope_of(&caller, &query)?;
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

fn history_entry(p: &PublicationRow, current: Option<&str>) -> Value {
    json!({
        "version": p.hash, "action": p.action, "published_at": rfc3339(p.published_at),
        "published_by": p.published_by, "comment": p.comment, "id": p.id,
        "current": current == Some(p.hash.as_str()),
    })
}

#[utoipa::path(
    get,
    path = "/v1/templates/{name}/versions",
    tag = "templates",
    summary = "The published versions of a template",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The versions", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn versions(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ScopeQuery>,
) -> Result<Response, ApiError> {
    let scope = scope_of(&caller, &query)?;
    let info = services.templates.get(&scope, &name).await.map_err(catalog_error)?;
    let history = services.templates.history(&scope, &name).await.map_err(catalog_error)?;
    let current = info.published_hash.as_deref();
    let entries: Vec<Value> = history.iter().map(|p| history_entry(p, current)).collect();
    Ok(axum::Json(json!({ "name": name, "published_version": current, "versions": entries })).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/templates/{name}/versions/{version}",
    tag = "templates",
    summary = "One version of a template",
    params(("name" = String, Path, description = "The template"), ("version" = String, Path, description = "Its SHA-256"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The version", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn version(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<ScopeQuery>,
) -> Result<Response, ApiError> {
    let scope = scope_of(&caller, &query)?;
    let which = VersionRef::parse(&version)
        .ok_or_else(|| ApiError::not_found(format!("`{version}` is not a version: give its SHA-256")))?;
    let source = services.templates.source_of(&scope, &name, &which).await.map_err(catalog_error)?;
    let hash = crate::render::catalog::content_hash(&source);
    Ok(axum::Json(json!({ "name": name, "version": hash, "source": source })).into_response())
}

/// Who did it, as the history records it.
fn actor(caller: &Caller) -> String {
    format!("api-key {}", caller.key)
}

/// The draft is the body: the template text itself (`text/plain`), or JSON `{"source": "…"}`.
fn draft_source(headers: &axum::http::HeaderMap, body: &Bytes) -> Result<String, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text =
        std::str::from_utf8(body).map_err(|_| field_error("source", "not_utf8", "the template must be UTF-8 text"))?;
    let source = if is_json {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            source: String,
        }
        crate::intake::http::parse_json::<Body>(body).map_err(ApiError::from)?.source
    } else {
        text.to_owned()
    };
    if source.trim().is_empty() {
        return Err(field_error("source", "required", "send the template text as the body"));
    }
    if source.len() > 256 * 1024 {
        return Err(field_error("source", "too_long", "a template has at most 256 KB"));
    }
    Ok(source)
}

#[utoipa::path(
    put,
    path = "/v1/templates/{name}/draft",
    tag = "templates",
    summary = "Save a draft of the template (its problems are listed)",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    request_body(content = String, content_type = "text/plain", description = "The template source (front matter and body)"),
    responses((status = 200, description = "The draft and its problems", body = serde_json::Value), crate::http::openapi::KeyErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn save_draft(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ScopeQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
    let scope = scope_of(&caller, &query)?;
    let source = draft_source(&headers, &body)?;
    let problems =
        services.templates.save_draft(&scope, &name, &source, &actor(&caller)).await.map_err(catalog_error)?;
    let body = json!({ "name": name, "draft_version": crate::render::catalog::content_hash(&source),
                       "problems": problems, "publishable": problems.is_empty() });
    Ok(axum::Json(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    comment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/templates/{name}/publish",
    tag = "templates",
    summary = "Publish the draft as the current version",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The published version", body = serde_json::Value), crate::http::openapi::OwnedErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn publish(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ScopeQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
    let scope = scope_of(&caller, &query)?;
    let body: PublishBody = if body.is_empty() { PublishBody::default() } else { parse(&body)? };
    let by = actor(&caller);
    let hash = services.templates.publish(&scope, &name, body.comment.as_deref(), &by).await.map_err(catalog_error)?;
    Ok(axum::Json(json!({ "name": name, "published_version": hash })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    version: Option<String>,
    comment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/templates/{name}/rollback",
    tag = "templates",
    summary = "Make an earlier version current again",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    request_body(content = serde_json::Value, description = "{\"version\": \"<sha256>\"}"),
    responses((status = 200, description = "The current version", body = serde_json::Value), crate::http::openapi::OwnedErrors, crate::http::openapi::InvalidFields),
    security(("api_key" = []))
)]
async fn rollback(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<ScopeQuery>,
    AppJson(body): AppJson<RollbackBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
    let scope = scope_of(&caller, &query)?;
    let hash = match body.version.as_deref().map(VersionRef::parse) {
        Some(Some(VersionRef::Hash(hash))) => hash,
        _ => return Err(field_error("version", "invalid", "give the SHA-256 of a version from the history")),
    };
    let by = actor(&caller);
    let hash =
        services.templates.rollback(&scope, &name, &hash, body.comment.as_deref(), &by).await.map_err(catalog_error)?;
    Ok(axum::Json(json!({ "name": name, "published_version": hash })).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
    sender: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/templates/{name}/diff",
    tag = "templates",
    summary = "The difference between two versions (or the draft)",
    params(("name" = String, Path, description = "The template"), ("from" = Option<String>, Query, description = "A version"), ("to" = Option<String>, Query, description = "A version, or draft"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "A unified diff", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn diff(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<DiffQuery>,
) -> Result<Response, ApiError> {
    let scope = scope_of(&caller, &ScopeQuery { sender: query.sender.clone() })?;
    let side = |field: &str, given: Option<&str>, default: &str| {
        let text = given.filter(|t| !t.is_empty()).unwrap_or(default);
        VersionRef::parse(text)
            .ok_or_else(|| field_error(field, "invalid", "give `draft`, `published` or the SHA-256 of a version"))
    };
    let from = side("from", query.from.as_deref(), "published")?;
    let to = side("to", query.to.as_deref(), "draft")?;
    let old = services.templates.source_of(&scope, &name, &from).await.map_err(catalog_error)?;
    let new = services.templates.source_of(&scope, &name, &to).await.map_err(catalog_error)?;
    let (old_hash, new_hash) = (crate::render::catalog::content_hash(&old), crate::render::catalog::content_hash(&new));
    let text = unified_diff(&format!("{name}@{}", &old_hash[..12]), &old, &format!("{name}@{}", &new_hash[..12]), &new);
    Ok(axum::Json(json!({ "name": name, "from": old_hash, "to": new_hash, "diff": text })).into_response())
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

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    crate::intake::http::parse_json(body).map_err(ApiError::from)
}
