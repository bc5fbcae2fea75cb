//! A template's versions through the API: the history, one version, the draft, publishing, rolling back and
//! the difference between two versions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Addressed, catalog_error, field_error, parse};
use crate::accounts::Scope;
use crate::domain::time::rfc3339;
use crate::http::error::ApiError;
use crate::http::extract::{AppJson, Caller};
use crate::render::catalog::{VersionRef, content_hash, unified_diff};
use crate::services::Services;
use crate::store::PublicationRow;

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
    operation_id = "versions",
    tag = "templates",
    summary = "The published versions of a template",
    params(("name" = String, Path, description = "The template"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The versions", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
pub(super) async fn list(
    State(services): State<Arc<Services>>,
    Addressed { name, scope, .. }: Addressed,
) -> Result<Response, ApiError> {
    let info = services.templates.get(&scope, &name).await.map_err(catalog_error)?;
    let history = services.templates.history(&scope, &name).await.map_err(catalog_error)?;
    let current = info.published_hash.as_deref();
    let entries: Vec<Value> = history.iter().map(|p| history_entry(p, current)).collect();
    Ok(axum::Json(json!({ "name": name, "published_version": current, "versions": entries })).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/templates/{name}/versions/{version}",
    operation_id = "version",
    tag = "templates",
    summary = "One version of a template",
    params(("name" = String, Path, description = "The template"), ("version" = String, Path, description = "Its SHA-256"), ("sender" = Option<String>, Query, description = "A sender's override of the template (its own sender only)")),
    responses((status = 200, description = "The version", body = serde_json::Value), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
pub(super) async fn show(
    State(services): State<Arc<Services>>,
    Addressed { name, scope, .. }: Addressed,
    Path((_, version)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let which = VersionRef::parse(&version)
        .ok_or_else(|| ApiError::not_found(format!("`{version}` is not a version: give its SHA-256")))?;
    let source = services.templates.source_of(&scope, &name, &which).await.map_err(catalog_error)?;
    let hash = content_hash(&source);
    Ok(axum::Json(json!({ "name": name, "version": hash, "source": source })).into_response())
}

/// Who did it, as the history records it.
fn actor(caller: &Caller) -> String {
    format!("api-key {}", caller.key)
}

/// The draft is the body: the template text itself (`text/plain`), or JSON `{"source": "…"}`.
fn draft_source(headers: &HeaderMap, body: &Bytes) -> Result<String, ApiError> {
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
pub(super) async fn save_draft(
    State(services): State<Arc<Services>>,
    Addressed { caller, name, scope }: Addressed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
    let source = draft_source(&headers, &body)?;
    let problems =
        services.templates.save_draft(&scope, &name, &source, &actor(&caller)).await.map_err(catalog_error)?;
    let body = json!({ "name": name, "draft_version": content_hash(&source),
                       "problems": problems, "publishable": problems.is_empty() });
    Ok(axum::Json(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PublishBody {
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
pub(super) async fn publish(
    State(services): State<Arc<Services>>,
    Addressed { caller, name, scope }: Addressed,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
    let body: PublishBody = if body.is_empty() { PublishBody::default() } else { parse(&body)? };
    let by = actor(&caller);
    let hash = services.templates.publish(&scope, &name, body.comment.as_deref(), &by).await.map_err(catalog_error)?;
    Ok(axum::Json(json!({ "name": name, "published_version": hash })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RollbackBody {
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
pub(super) async fn rollback(
    State(services): State<Arc<Services>>,
    Addressed { caller, name, scope }: Addressed,
    AppJson(body): AppJson<RollbackBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Templates)?;
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
pub(super) struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
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
pub(super) async fn diff(
    State(services): State<Arc<Services>>,
    Addressed { name, scope, .. }: Addressed,
    Query(query): Query<DiffQuery>,
) -> Result<Response, ApiError> {
    let side = |field: &str, given: Option<&str>, default: &str| {
        let text = given.filter(|t| !t.is_empty()).unwrap_or(default);
        VersionRef::parse(text)
            .ok_or_else(|| field_error(field, "invalid", "give `draft`, `published` or the SHA-256 of a version"))
    };
    let from = side("from", query.from.as_deref(), "published")?;
    let to = side("to", query.to.as_deref(), "draft")?;
    let old = services.templates.source_of(&scope, &name, &from).await.map_err(catalog_error)?;
    let new = services.templates.source_of(&scope, &name, &to).await.map_err(catalog_error)?;
    let (old_hash, new_hash) = (content_hash(&old), content_hash(&new));
    let text = unified_diff(&format!("{name}@{}", &old_hash[..12]), &old, &format!("{name}@{}", &new_hash[..12]), &new);
    Ok(axum::Json(json!({ "name": name, "from": old_hash, "to": new_hash, "diff": text })).into_response())
}
