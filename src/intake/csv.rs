//! Bulk intake from a CSV as accounting software exports it (`;` or `,`, UTF-8 or Windows-1252, decimal
//! commas, dates like 31/10/2026): every row is checked first, with the same rules as every channel, and
//! each row's key is its idempotency key, so importing the same file again sends nothing twice.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::IntakeError;
use super::validate::{Draft, check_draft};
use crate::domain::recipient::RawRecipient;
use crate::domain::{ApiKeyId, FieldError, LetterId, SenderId};
use crate::intake::email::parse::fold;
use crate::letters::files::sha256_hex;
use crate::letters::{LetterRequest, SubmitError, Submitted, submit_letter};
use crate::render::LetterTemplate;
use crate::services::Services;

/// A CSV file, decoded: its header and its rows, each with its line number in the file.
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    pub delimiter: char,
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the file is not a CSV: {0}")]
    Unreadable(String),
    #[error("the file has a header but no row")]
    Empty,
    #[error("`--map {0}`: {1}")]
    BadMapping(String, String),
    #[error("--key: no column `{0}` in the file")]
    NoKeyColumn(String),
}

/// Reads a CSV: UTF-8 (with or without BOM), else Windows-1252; `;` when the header has more of them than
/// commas, else `,`.
pub fn read_table(bytes: &[u8]) -> Result<Table, CsvError> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    };
    // Line numbers are counted on \n: exports from Windows end lines with \r\n.
    let text = text.replace("\r\n", "\n");
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() { ';' } else { ',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> =
        reader.headers().map_err(|e| CsvError::Unreadable(e.to_string()))?.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| CsvError::Unreadable(e.to_string()))?;
        let line = record.position().map_or(rows.len() + 2, |p| p.line() as usize);
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, record.iter().map(str::to_owned).collect()));
    }
    if rows.is_empty() {
        return Err(CsvError::Empty);
    }
    Ok(Table { headers, rows, delimiter })
}

/// Where a column goes in the letter request (`recipient.email`, `variables.amount_due`, `reference`…).
pub type Mapping = BTreeMap<usize, String>;

/// The usual French and English column names of an export, folded (lowercase, no accents).
const KNOWN_COLUMNS: &[(&str, &str)] = &[
    ("type", "recipient.kind"),
    ("kind", "recipient.kind"),
    ("type de destinataire", "recipient.kind"),
    ("prenom", "recipient.first_name"),
    ("first name", "recipient.first_name"),
    ("nom", "recipient.last_name"),
    ("last name", "recipient.last_name"),
    ("nom du contact", "recipient.last_name"),
    ("societe", "recipient.company"),
    ("raison sociale", "recipient.company"),
    ("client", "recipient.company"),
    ("company", "recipient.company"),
    ("entreprise", "recipient.company"),
    ("email", "recipient.email"),
    ("e-mail", "recipient.email"),
    ("courriel", "recipient.email"),
    ("adresse", "recipient.address.line1"),
    ("adresse 1", "recipient.address.line1"),
    ("address", "recipient.address.line1"),
    ("adresse 2", "recipient.address.line2"),
    ("complement d'adresse", "recipient.address.line2"),
    ("code postal", "recipient.address.postal_code"),
    ("cp", "recipient.address.postal_code"),
    ("postal code", "recipient.address.postal_code"),
    ("ville", "recipient.address.city"),
    ("city", "recipient.address.city"),
    ("pays", "recipient.address.country"),
    ("country", "recipient.address.country"),
    ("reference", "reference"),
    ("ref", "reference"),
    ("notify email", "notify_email"),
];

/// Maps each column by its header: a known column name, a field path written as is, or one of the
/// template's variables by name, label or alias; `overrides` (`column=field`) win. An unmapped column is
/// ignored; an override naming no column or no field is an error.
pub fn map_columns(headers: &[String], template: &LetterTemplate, overrides: &[String]) -> Result<Mapping, CsvError> {
    let mut mapping = Mapping::new();
    for (i, header) in headers.iter().enumerate() {
        if let Some(field) = field_of(header, template) {
            mapping.insert(i, field);
        }
    }
    for spec in overrides {
        let (column, field) = spec
            .split_once('=')
            .ok_or_else(|| CsvError::BadMapping(spec.clone(), "write it as column=field".into()))?;
        let index = headers
            .iter()
            .position(|h| fold(h) == fold(column.trim()))
            .ok_or_else(|| CsvError::BadMapping(spec.clone(), format!("no column `{}` in the file", column.trim())))?;
        let field = field.trim();
        let field = if template.variables.iter().any(|v| v.name == field) {
            format!("variables.{field}")
        } else {
            field.to_owned()
        };
        if !is_field(&field, template) {
            return Err(CsvError::BadMapping(spec.clone(), format!("`{field}` is not a field of a letter request")));
        }
        mapping.insert(index, field);
    }
    Ok(mapping)
}

/// The column that identifies a row, by its header (case does not matter).
pub fn key_column(headers: &[String], name: &str) -> Result<usize, CsvError> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| CsvError::NoKeyColumn(name.to_owned()))
}

fn field_of(header: &str, template: &LetterTemplate) -> Option<String> {
    let folded = fold(header.trim());
    if let Some((_, field)) = KNOWN_COLUMNS.iter().find(|(name, _)| *name == folded) {
        return Some(field.to_string());
    }
    if is_field(header.trim(), template) {
        return Some(header.trim().to_owned());
    }
    template
        .variables
        .iter()
        .find(|v| fold(&v.name) == folded || fold(&v.label) == folded || v.aliases.iter().any(|a| fold(a) == folded))
        .map(|v| format!("variables.{}", v.name))
}

fn is_field(field: &str, template: &LetterTemplate) -> bool {
    const FIELDS: [&str; 12] = [
        "recipient.kind",
        "recipient.first_name",
        "recipient.last_name",
        "recipient.company",
        "recipient.email",
        "recipient.address.line1",
        "recipient.address.line2",
        "recipient.address.line3",
        "recipient.address.postal_code",
        "recipient.address.city",
        "recipient.address.country",
        "reference",
    ];
    FIELDS.contains(&field)
        || field == "notify_email"
        || field.strip_prefix("variables.").is_some_and(|v| template.variables.iter().any(|s| s.name == v))
}

/// One row checked: the request ready to submit with its idempotency key, or its problems.
pub struct CheckedRow {
    pub line: usize,
    pub key: String,
    pub result: Result<LetterRequest, Vec<FieldError>>,
}

/// Checks every row as a letter request of `sender` with `template`; a field at fault is named by its
/// column. The key of a row is its `key_column`, or the SHA-256 of the row's values.
pub fn check_rows(
    services: &Services,
    sender: &SenderId,
    template: &LetterTemplate,
    table: &Table,
    mapping: &Mapping,
    key_column: Option<usize>,
) -> Vec<CheckedRow> {
    table
        .rows
        .iter()
        .map(|(line, values)| {
            let draft = draft_of(template, values, mapping);
            let row_text = values.join("\u{1f}");
            let key = match key_column.and_then(|k| values.get(k)).filter(|v| !v.is_empty()) {
                Some(value) => format!("import:{}:{value}", template.name),
                None => format!("import:{}", sha256_hex(format!("{}\u{1e}{row_text}", template.name).as_bytes())),
            };
            let result = match check_draft(services, sender.clone(), draft, Vec::new(), sha256_hex(row_text.as_bytes()))
            {
                Ok(request) => Ok(request),
                Err(IntakeError::Invalid(errors)) => {
                    Err(errors.0.into_iter().map(|e| name_column(e, table, mapping)).collect())
                }
                Err(other) => Err(vec![FieldError::new("row", "invalid", other.to_string())]),
            };
            CheckedRow { line: *line, key, result }
        })
        .collect()
}

/// Says which column a field came from, when it came from one.
fn name_column(mut error: FieldError, table: &Table, mapping: &Mapping) -> FieldError {
    let column = mapping.iter().find(|(_, f)| **f == error.field || error.field.starts_with(&format!("{f}.")));
    if let Some((index, _)) = column {
        error.message = format!("column `{}`: {}", table.headers[*index], error.message);
    }
    error
}

fn draft_of(template: &LetterTemplate, values: &[String], mapping: &Mapping) -> Draft {
    let mut recipient = Map::new();
    let mut address = Map::new();
    let mut lines = Vec::new();
    let mut draft = Draft { template: Some(template.name.clone()), ..Draft::default() };
    for (index, field) in mapping {
        let Some(value) = values.get(*index).map(|v| v.trim()).filter(|v| !v.is_empty()) else { continue };
        match field.split_once('.') {
            Some(("variables", name)) => {
                draft.variables.insert(name.to_owned(), json!(value));
            }
            Some(("recipient", "address.line1" | "address.line2" | "address.line3")) => lines.push(value.to_owned()),
            Some(("recipient", rest)) => match rest.strip_prefix("address.") {
                Some(key) => {
                    address.insert(key.to_owned(), json!(value));
                }
                None => {
                    recipient.insert(rest.to_owned(), json!(value));
                }
            },
            _ if field == "reference" => draft.reference = Some(value.to_owned()),
            _ if field == "notify_email" => draft.notify_email = Some(value.to_owned()),
            _ => {}
        }
    }
    if !lines.is_empty() || !address.is_empty() {
        address.insert("lines".into(), json!(lines));
        recipient.insert("address".into(), Value::Object(address));
    }
    if !recipient.is_empty() {
        draft.recipient = serde_json::from_value::<RawRecipient>(Value::Object(recipient)).ok();
    }
    draft
}

/// What happened to one submitted row.
pub enum RowOutcome {
    Created(LetterId),
    AlreadySent(LetterId),
}

/// Submits one checked row under its key: a row imported before answers with its letter, sending nothing.
pub async fn submit_row(
    services: &Services,
    request: LetterRequest,
    api_key: Option<&ApiKeyId>,
    key: &str,
) -> Result<RowOutcome, SubmitError> {
    Ok(match submit_letter(services, request, api_key, Some(key)).await? {
        Submitted::Created(letter) => RowOutcome::Created(letter.id),
        Submitted::Replayed(id) => RowOutcome::AlreadySent(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_and_windows_1252_are_read_as_exported() {
        let bytes = b"Soci\xe9t\xe9;Email;Montant\r\nBoulangerie \xc9toile;a@b.fr;1 250,40\r\n;;\r\n";
        let table = read_table(bytes).unwrap();
        assert_eq!(table.delimiter, ';');
        assert_eq!(table.headers, ["Société", "Email", "Montant"]);
        assert_eq!(table.rows, vec![(2, vec!["Boulangerie Étoile".to_owned(), "a@b.fr".into(), "1 250,40".into()])]);
    }

    #[test]
    fn commas_and_quoted_fields_and_a_bom_are_read_too() {
        let table = read_table("\u{feff}nom,adresse\n\"Martin, Jeanne\",\"12 rue des Lilas\"\n".as_bytes()).unwrap();
        assert_eq!(table.delimiter, ',');
        assert_eq!(table.headers, ["nom", "adresse"]);
        assert_eq!(table.rows[0].1, ["Martin, Jeanne", "12 rue des Lilas"]);
        assert!(matches!(read_table(b"nom;email\n"), Err(CsvError::Empty)));
    }
}
