//! `/v1/imports`: a CSV of overdue invoices as letters, with the options of `relais import`, and the import's
//! per-row results afterwards.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::Scope;
use crate::domain::time::rfc3339;
use crate::domain::{FieldError, SenderId};
use crate::http::error::ApiError;
use crate::http::extract::Caller;
use crate::intake::imports::{ImportOptions, run_import};
use crate::services::Services;
use crate::store::imports::{ImportRecord, ImportRowRecord};

pub fn router(services: &Services) -> Router<Arc<Services>> {
    let limit = services.settings.server.max_json_size.0 as usize;
    Router::new()
        .route("/v1/imports", post(create).layer(DefaultBodyLimit::max(limit)))
        .route("/v1/imports/{id}", get(show))
}

/// An import and what became of each row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    /// `submitted`, or `checked` for a dry run (nothing sent).
    pub state: String,
    pub dry_run: bool,
    pub template: String,
    pub filename: Option<String>,
    pub created_at: String,
    pub summary: ImportSummary,
    pub rows: Vec<ImportRowView>,
}

/// How many rows ended each way.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportSummary {
    pub rows: usize,
    pub created: usize,
    pub already_sent: usize,
    pub valid: usize,
    pub invalid: usize,
    pub failed: usize,
}

/// One row: its line in the file (the header is line 1), its idempotency key, its outcome (`created`,
/// `already_sent`, `valid`, `invalid`, `failed`), its letter and its problems.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowView {
    pub line: i64,
    pub key: String,
    pub outcome: String,
    pub letter: Option<String>,
    pub errors: Vec<FieldError>,
}

/// The parts of `POST /v1/imports` (multipart/form-data), as the options of `relais import`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the form for the OpenAPI document; the parts are read one by one
pub struct ImportForm {
    /// The CSV file (`;` or `,`, UTF-8 or Windows-1252, a header line).
    #[schema(format = Binary, content_media_type = "text/csv")]
    file: String,
    /// The letter template of every row.
    template: String,
    /// `column=field`, one part per column (`N° facture=invoice_number`).
    map: Option<Vec<String>>,
    /// The column that identifies a row (its idempotency key); else all its values.
    key: Option<String>,
    /// `true`: check every row and send nothing.
    dry_run: Option<bool>,
    /// The API key's own sender, if named.
    sender: Option<String>,
}

fn view(import: ImportRecord, rows: Vec<ImportRowRecord>) -> ImportView {
    let mut summary = ImportSummary { rows: rows.len(), ..ImportSummary::default() };
    for row in &rows {
        match row.outcome.as_str() {
            "created" => summary.created += 1,
            "already_sent" => summary.already_sent += 1,
            "valid" => summary.valid += 1,
            "invalid" => summary.invalid += 1,
            _ => summary.failed += 1,
        }
    }
    let rows = rows
        .into_iter()
        .map(|r| ImportRowView {
            line: r.line,
            key: r.row_key,
            outcome: r.outcome,
            letter: r.letter_id,
            errors: r.errors.and_then(|e| serde_json::from_str(&e).ok()).unwrap_or_default(),
        })
        .collect();
    ImportView {
        id: import.id,
        state: import.state,
        dry_run: import.dry_run != 0,
        template: import.template,
        filename: import.filename,
        created_at: rfc3339(import.created_at),
        summary,
        rows,
    }
}

/// The parts of an import request: `file` (the CSV), `template`, `map` (repeated: `column=field`), `key`,
/// `dry_run` (`true`), and `sender` (the key's own, if named).
async fn read_parts(mut multipart: Multipart) -> Result<(Vec<u8>, Option<String>, ImportOptions), ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| ApiError::malformed(None, e.body_text());
    let invalid =
        |field: &str, code: &str, message: String| ApiError::invalid(FieldError::new(field, code, message).into());
    let (mut file, mut sender, mut options) = (None, None, ImportOptions::default());
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            options.filename = field.file_name().map(str::to_owned);
            file = Some(field.bytes().await.map_err(malformed)?.to_vec());
            continue;
        }
        let text = field.text().await.map_err(malformed)?.trim().to_owned();
        match name.as_str() {
            "template" => options.template = Some(text),
            "map" => options.maps.push(text),
            "key" => options.key = Some(text),
            "sender" => sender = Some(text),
            "dry_run" => {
                options.dry_run = match text.as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" | "" => false,
                    _ => return Err(invalid("dry_run", "invalid", format!("`{text}` is not true or false"))),
                }
            }
            other => {
                let message = "the parts are file, template, map, key, dry_run and sender".to_owned();
                return Err(invalid(other, "unknown_part", message));
            }
        }
    }
    let file = file.ok_or_else(|| invalid("file", "required", "send the CSV as a `file` part".into()))?;
    Ok((file, sender, options))
}

#[utoipa::path(
    post,
    path = "/v1/imports",
    tag = "imports",
    summary = "Import a CSV of overdue invoices as letters (options as relais import)",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The import and each row's outcome", body = ImportView), (status = 200, description = "A dry run: each row checked, nothing sent", body = ImportView), crate::http::openapi::KeyErrors, (status = 422, description = "The file, a mapping or rows at fault (rows[LINE].field): nothing sent", body = crate::http::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = []))
)]
async fn create(
    State(services): State<Arc<Services>>,
    caller: Caller,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    let (file, sender, options) = read_parts(multipart).await?;
    if let Some(named) = sender.filter(|s| s != caller.sender.as_str()) {
        let detail = format!("this API key belongs to sender `{}` and cannot import for `{named}`", caller.sender);
        return Err(ApiError::forbidden(detail));
    }
    let dry_run = options.dry_run;
    let id = run_import(&services, &caller.sender, Some(&caller.key), options, &file).await?;
    let body = load(&services, &caller.sender, id.as_str()).await?;
    let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, [(header::LOCATION, format!("/v1/imports/{id}"))], axum::Json(body)).into_response())
}

async fn load(services: &Services, sender: &SenderId, id: &str) -> Result<ImportView, ApiError> {
    let (import, rows) = services
        .store
        .import(id, sender.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no import {id}")))?;
    Ok(view(import, rows))
}

#[utoipa::path(
    get,
    path = "/v1/imports/{id}",
    tag = "imports",
    summary = "An import and what became of each row",
    params(("id" = String, Path, description = "imp_…")),
    responses((status = 200, description = "The import", body = ImportView), crate::http::openapi::OwnedErrors),
    security(("api_key" = []))
)]
async fn show(
    State(services): State<Arc<Services>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Letters)?;
    Ok(axum::Json(load(&services, &caller.sender, &id).await?).into_response())
}
