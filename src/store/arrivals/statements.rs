//! A batch's `INSERT`s as one statement text, with the placeholders of the connection's database.

use sqlx::any::AnyArguments;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};

use crate::store::{Backend, StoreError, StoreResult};

/// The batch's `INSERT`s, sent to the database as one statement text: each trip to the database costs a
/// hand-over to SQLite's connection thread and back (two thread switches), or a round trip to PostgreSQL.
/// SQLite runs `;`-separated statements in order, binding their parameters one after the other; PostgreSQL
/// takes one statement per query that has parameters, so there they become the data-modifying parts of one
/// `WITH` statement (no table they write has a foreign key that would need an order among them).
pub(super) struct Statements {
    placeholders: Placeholders,
    statements: Vec<String>,
    arguments: AnyArguments,
    parameters: usize,
}

impl Statements {
    pub(super) fn new(placeholders: Placeholders) -> Self {
        Self { placeholders, statements: Vec::new(), arguments: AnyArguments::default(), parameters: 0 }
    }

    /// Adds `INSERT INTO {table} ({columns}) VALUES …` for `rows` rows; `bind` adds each row's values.
    pub(super) fn push<R>(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[R],
        mut bind: impl FnMut(&mut Row<'_>, &R) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.statements.push(insert_sql(self.placeholders, table, columns, rows.len(), self.parameters));
        self.parameters += columns.len() * rows.len();
        for row in rows {
            bind(&mut Row(&mut self.arguments), row)?;
        }
        Ok(())
    }

    /// The statements as one text.
    fn text(&self) -> String {
        match (self.placeholders, self.statements.as_slice()) {
            (_, [one]) => one.clone(),
            (Placeholders::Positional, all) => all.join(";\n"),
            (Placeholders::Numbered, [parts @ .., last]) => {
                let parts = parts.iter().enumerate().map(|(i, sql)| format!("s{i} AS ({sql})"));
                format!("WITH {} {last}", parts.collect::<Vec<_>>().join(", "))
            }
            (Placeholders::Numbered, []) => String::new(),
        }
    }

    pub(super) async fn execute(self, conn: &mut AnyConnection) -> StoreResult<()> {
        if self.statements.is_empty() {
            return Ok(());
        }
        let text = self.text();
        sqlx::query_with(sqlx::AssertSqlSafe(text), self.arguments).execute(&mut *conn).await?;
        Ok(())
    }

    /// SQLite: the statements between `BEGIN` and `COMMIT`, as one text run by the connection's thread in one
    /// hand-over; the connection is given back once committed. A failing statement stops the text inside its
    /// transaction, which is then rolled back; a connection that may still be in it (the future dropped meanwhile,
    /// the rollback failed) is closed, not returned to the pool.
    pub(super) async fn execute_in_transaction(self, conn: PoolConnection<Any>) -> StoreResult<PoolConnection<Any>> {
        let mut conn = ClosedUnlessReturned(Some(conn));
        if self.statements.is_empty() {
            return Ok(conn.release());
        }
        let text = format!("BEGIN;\n{};\nCOMMIT", self.text());
        let result = sqlx::query_with(sqlx::AssertSqlSafe(text), self.arguments).execute(&mut **conn.live()).await;
        match result {
            Ok(_) => Ok(conn.release()),
            Err(e) => {
                // Back to the pool only once rolled back; when `BEGIN` itself failed, there is nothing to roll
                // back, the rollback fails and the connection is closed, which is harmless too.
                if conn.live().execute("ROLLBACK").await.is_ok() {
                    drop(conn.release());
                }
                Err(e.into())
            }
        }
    }
}

/// A connection whose transaction may be open: closed if dropped before `release`, not returned to the pool.
struct ClosedUnlessReturned(Option<PoolConnection<Any>>);

impl ClosedUnlessReturned {
    fn live(&mut self) -> &mut PoolConnection<Any> {
        self.0.as_mut().expect("live until released")
    }

    /// Out of its transaction: free to go back to the pool, or to be kept for the next one.
    fn release(mut self) -> PoolConnection<Any> {
        self.0.take().expect("live until released")
    }
}

impl Drop for ClosedUnlessReturned {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.0 {
            conn.close_on_drop();
        }
    }
}

/// The values of one row, added in the order of its statement's columns.
pub(super) struct Row<'a>(&'a mut AnyArguments);

impl Row<'_> {
    pub(super) fn add<'t, T: sqlx::Encode<'t, sqlx::Any> + sqlx::Type<sqlx::Any>>(
        &mut self,
        value: T,
    ) -> StoreResult<&mut Self> {
        sqlx::Arguments::add(self.0, value).map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
        Ok(self)
    }
}

/// How a statement names its parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(in crate::store) enum Placeholders {
    /// `$1, $2, …`: what PostgreSQL reads.
    Numbered,
    /// `?, ?, …`: SQLite binds them by position, where a numbered parameter is looked up by a scan of the
    /// statement's parameter names, once per parameter (a cost that grows with their square).
    Positional,
}

impl Placeholders {
    pub(in crate::store) fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") { Self::Positional } else { Self::Numbered }
    }

    pub(in crate::store) fn of_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::Positional,
            Backend::Postgres => Self::Numbered,
        }
    }

    /// Appends the `n`th parameter (from 1) to `sql`.
    pub(in crate::store) fn push(self, sql: &mut String, n: usize) {
        match self {
            Self::Numbered => {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            Self::Positional => sql.push('?'),
        }
    }
}

/// `INSERT INTO {table} ({columns}) VALUES (…), (…)` for `rows` rows, with the placeholders of the
/// connection's database, numbered row by row after the `before` parameters of earlier statements.
fn insert_sql(placeholders: Placeholders, table: &str, columns: &[&str], rows: usize, before: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = before;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns.len() {
            n += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            placeholders.push(&mut sql, n);
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        let sql = insert_sql(Placeholders::Numbered, "t", &["a", "b"], 2, 0);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        let sql = insert_sql(Placeholders::Numbered, "t", &["a", "b"], 1, 4);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES ($5, $6)");
        let sql = insert_sql(Placeholders::Positional, "t", &["a", "b"], 2, 0);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
    }

    fn two_tables(placeholders: Placeholders) -> String {
        let mut statements = Statements::new(placeholders);
        statements.push("t", &["a", "b"], &[1_i64, 2], |row, v| row.add(*v)?.add(*v).map(drop)).unwrap();
        statements.push("u", &["c"], &[3_i64], |row, v| row.add(*v).map(drop)).unwrap();
        assert_eq!(sqlx::Arguments::len(&statements.arguments), 5);
        statements.text()
    }

    /// SQLite gets the statements one after the other; PostgreSQL one `WITH` statement, its parameters numbered
    /// across the parts.
    #[test]
    fn a_batch_s_statements_make_one_text() {
        assert_eq!(
            two_tables(Placeholders::Positional),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?);\nINSERT INTO u (c) VALUES (?)"
        );
        assert_eq!(
            two_tables(Placeholders::Numbered),
            "WITH s0 AS (INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)) INSERT INTO u (c) VALUES ($5)"
        );
    }
}
