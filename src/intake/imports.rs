//! A CSV import through the API (`POST /v1/imports`): the same reading, mapping, checks and row keys as
//! `relais import` (`intake::csv`), every row checked before any is sent, and a record of what became of
//! each row.

use super::IntakeError;
use super::csv::{CheckedRow, CsvError, RowOutcome, check_rows, key_column, map_columns, read_table, submit_row};
use crate::domain::{ApiKeyId, FieldError, FieldErrors, ImportId, SenderId};
use crate::services::Services;
use crate::store::imports::{ImportRecord, ImportRowRecord};
use crate::store::now_ms;

/// The options of an import, as `relais import` takes them.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub template: Option<String>,
    /// `column=field`, as `--map`.
    pub maps: Vec<String>,
    /// The column that identifies a row, as `--key`.
    pub key: Option<String>,
    pub dry_run: bool,
    pub filename: Option<String>,
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFate {
    /// A new letter.
    Created,
    /// Imported before (same key, same values): its letter, nothing sent again.
    AlreadySent,
    /// A dry run found nothing wrong.
    Valid,
    /// A dry run found problems.
    Invalid,
    /// Checked, but its submission failed (the same key with other values, or the database).
    Failed,
}

impl RowFate {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::AlreadySent => "already_sent",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Failed => "failed",
        }
    }
}

/// Reads, checks and (unless a dry run) submits a CSV for `sender`, then records the import. A file, a
/// mapping or a row at fault is a `422` naming it (`rows[3].recipient.email`: line 3 of the file) and
/// nothing is sent nor recorded; a dry run records what it found and sends nothing.
pub async fn run_import(
    services: &Services,
    sender: &SenderId,
    api_key: Option<&ApiKeyId>,
    options: ImportOptions,
    bytes: &[u8],
) -> Result<ImportId, IntakeError> {
    let name = options.template.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let name = name.ok_or_else(|| FieldError::new("template", "required", "name the template of every row"))?;
    let template = services.templates.current_for(sender, name).ok_or_else(|| {
        let known = services.templates.names().join(", ");
        FieldError::new("template", "unknown_template", format!("no template `{name}`; known: {known}"))
    })?;
    let table = read_table(bytes).map_err(|e| FieldError::new("file", "unreadable", e.to_string()))?;
    let mapping = map_columns(&table.headers, &template, &options.maps).map_err(|e| match e {
        CsvError::BadMapping(spec, message) => FieldError::new("map", "invalid", format!("`{spec}`: {message}")),
        other => FieldError::new("map", "invalid", other.to_string()),
    })?;
    let key = match options.key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(name) => Some(key_column(&table.headers, name).map_err(|e| {
            FieldError::new("key", "unknown_column", e.to_string().trim_start_matches("--key: ").to_owned())
        })?),
        None => None,
    };
    let rows = check_rows(services, sender, &template, &table, &mapping, key);
    if !options.dry_run {
        refuse_invalid_rows(&rows)?;
    }
    let id = ImportId::generate();
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(settle_row(services, &id, api_key, row, options.dry_run).await);
    }
    let import = ImportRecord {
        id: id.to_string(),
        sender_id: sender.to_string(),
        template: template.name.clone(),
        filename: options.filename,
        state: if options.dry_run { "checked" } else { "submitted" }.into(),
        dry_run: i64::from(options.dry_run),
        created_at: now_ms(),
    };
    services.store.insert_import(&import, &records).await?;
    Ok(id)
}

/// Every problem of every row, each under `rows[LINE].field`; nothing is sent when there is one.
fn refuse_invalid_rows(rows: &[CheckedRow]) -> Result<(), IntakeError> {
    let mut errors = FieldErrors::default();
    for row in rows {
        for e in row.result.as_ref().err().into_iter().flatten() {
            errors.push(FieldError::new(format!("rows[{}].{}", row.line, e.field), e.code.clone(), e.message.clone()));
        }
    }
    errors.into_result(|| ()).map_err(IntakeError::Invalid)
}

async fn settle_row(
    services: &Services,
    import: &ImportId,
    api_key: Option<&ApiKeyId>,
    row: CheckedRow,
    dry_run: bool,
) -> ImportRowRecord {
    let (fate, letter, errors) = match row.result {
        Err(errors) => (RowFate::Invalid, None, errors),
        Ok(_) if dry_run => (RowFate::Valid, None, vec![]),
        Ok(request) => match submit_row(services, request, api_key, &row.key).await {
            Ok(RowOutcome::Created(id)) => (RowFate::Created, Some(id.to_string()), vec![]),
            Ok(RowOutcome::AlreadySent(id)) => (RowFate::AlreadySent, Some(id.to_string()), vec![]),
            Err(e) => (RowFate::Failed, None, vec![FieldError::new("row", "not_submitted", e.to_string())]),
        },
    };
    ImportRowRecord {
        import_id: import.to_string(),
        line: row.line as i64,
        row_key: row.key,
        outcome: fate.as_str().into(),
        letter_id: letter,
        errors: (!errors.is_empty()).then(|| serde_json::to_string(&errors).unwrap_or_default()),
    }
}
