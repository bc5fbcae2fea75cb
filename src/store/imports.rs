//! CSV imports made through the API, and what became of each of their rows.

use super::{Store, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRecord {
    pub id: String,
    pub sender_id: String,
    pub template: String,
    pub filename: Option<String>,
    /// `submitted` or `checked` (a dry run).
    pub state: String,
    /// 1 for a dry run.
    pub dry_run: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRowRecord {
    pub import_id: String,
    /// The row's line in the file (the header is line 1).
    pub line: i64,
    /// The row's idempotency key.
    pub row_key: String,
    /// `created`, `already_sent`, `valid`, `invalid` or `failed`.
    pub outcome: String,
    pub letter_id: Option<String>,
    /// The row's problems, a JSON array of `{field, code, message}`.
    pub errors: Option<String>,
}

impl Store {
    /// Stores an import with all its rows, in one transaction.
    pub async fn insert_import(&self, import: &ImportRecord, rows: &[ImportRowRecord]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO imports (id, sender_id, template, filename, state, dry_run, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&import.id)
        .bind(&import.sender_id)
        .bind(&import.template)
        .bind(&import.filename)
        .bind(&import.state)
        .bind(import.dry_run)
        .bind(import.created_at)
        .execute(&mut *tx)
        .await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO import_rows (import_id, line, row_key, outcome, letter_id, errors) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&row.import_id)
            .bind(row.line)
            .bind(&row.row_key)
            .bind(&row.outcome)
            .bind(&row.letter_id)
            .bind(&row.errors)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An import of `sender`, with its rows in file order.
    pub async fn import(&self, id: &str, sender: &str) -> StoreResult<Option<(ImportRecord, Vec<ImportRowRecord>)>> {
        let import: Option<ImportRecord> = sqlx::query_as(
            "SELECT id, sender_id, template, filename, state, dry_run, created_at FROM imports \
             WHERE id = $1 AND sender_id = $2",
        )
        .bind(id)
        .bind(sender)
        .fetch_optional(&self.reader)
        .await?;
        let Some(import) = import else { return Ok(None) };
        let rows = sqlx::query_as(
            "SELECT import_id, line, row_key, outcome, letter_id, errors FROM import_rows WHERE import_id = $1 \
             ORDER BY line",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        Ok(Some((import, rows)))
    }
}
