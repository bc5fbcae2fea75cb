//! New letters written together: the rows of a whole batch of submissions (idempotency keys, letters,
//! attachments, first events, acceptance notices, first jobs, callback endpoints) with one multi-row `INSERT`
//! per table, so a batch costs a handful of statements instead of several per letter.

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::events::{GENESIS_HASH, event_hash};
use super::letters::{LetterRecord, NewAttachment, NewLetter};
use super::{StoreError, StoreResult};
use crate::domain::{EmailAddress, JobId, LetterId, LetterState, NoticeId, SenderId};
use crate::store::notices::NoticeState;

/// Rows per statement. Small on purpose: every full chunk is the same SQL text, so its prepared statement
/// stays in the connection's cache (a statement per batch size would be prepared again and again). A batch
/// of 128 letters is still a few statements per table.
pub const ROWS_PER_STATEMENT: usize = 16;

/// An idempotency key claimed by a new letter.
pub struct ArrivalKey<'a> {
    pub sender_id: &'a SenderId,
    pub key: &'a str,
    pub request_sha256: &'a str,
    pub letter_id: &'a LetterId,
    pub at: i64,
}

/// A job created with its letter.
pub struct ArrivalJob<'a> {
    pub id: JobId,
    pub kind: &'a str,
    pub letter_id: &'a LetterId,
    pub payload: String,
    pub at: i64,
}

/// A notice created with its letter.
pub struct ArrivalNotice<'a> {
    pub id: NoticeId,
    pub letter_id: &'a LetterId,
    pub kind: &'a str,
    pub payload: String,
    pub at: i64,
}

/// Everything a batch of new letters writes, table by table.
#[derive(Default)]
pub struct Arrivals<'a> {
    pub keys: Vec<ArrivalKey<'a>>,
    pub letters: Vec<NewLetter<'a>>,
    pub attachments: Vec<&'a NewAttachment>,
    pub notices: Vec<ArrivalNotice<'a>>,
    pub jobs: Vec<ArrivalJob<'a>>,
    /// The letters' own `callback_url`s (few: written one by one).
    pub callback_endpoints: Vec<super::callbacks::EndpointRow>,
    /// What became of the emails that made letters (one by one: an email may have been recorded already).
    pub inbound: Vec<super::InboundRecord>,
}

impl Arrivals<'_> {
    /// Writes every row; each letter also gets its first event, `received` at its `now`.
    pub async fn insert(&self, conn: &mut AnyConnection) -> StoreResult<()> {
        for chunk in self.keys.chunks(ROWS_PER_STATEMENT) {
            insert_keys(conn, chunk).await?;
        }
        for chunk in self.letters.chunks(ROWS_PER_STATEMENT) {
            insert_letters(conn, chunk).await?;
            insert_first_events(conn, chunk).await?;
        }
        for chunk in self.attachments.chunks(ROWS_PER_STATEMENT) {
            insert_attachments(conn, chunk).await?;
        }
        for chunk in self.notices.chunks(ROWS_PER_STATEMENT) {
            insert_notices(conn, chunk).await?;
        }
        for chunk in self.jobs.chunks(ROWS_PER_STATEMENT) {
            insert_jobs(conn, chunk).await?;
        }
        for endpoint in &self.callback_endpoints {
            super::callbacks::insert_endpoint(conn, endpoint).await?;
        }
        for record in &self.inbound {
            super::inbound::record(conn, record).await?;
        }
        Ok(())
    }
}

/// How a statement names its parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Placeholders {
    /// `$1, $2, …`: what PostgreSQL reads.
    Numbered,
    /// `?, ?, …`: SQLite binds them by position, where a numbered parameter is looked up by a scan of the
    /// statement's parameter names, once per parameter (a cost that grows with their square).
    Positional,
}

impl Placeholders {
    pub(super) fn of(conn: &AnyConnection) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") { Self::Positional } else { Self::Numbered }
    }

    /// Appends the `n`th parameter (from 1) to `sql`.
    pub(super) fn push(self, sql: &mut String, n: usize) {
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
/// connection's database, numbered row by row.
fn insert_sql(placeholders: Placeholders, table: &str, columns: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
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

type AnyQuery<'q> = Query<'q, sqlx::Any, AnyArguments>;

async fn run(conn: &mut AnyConnection, query: AnyQuery<'_>) -> StoreResult<()> {
    query.execute(conn).await?;
    Ok(())
}

impl NewLetter<'_> {
    /// The letter as `insert_letters` writes it: what reading it back right after the commit would give, so
    /// the answer to a submission needs no second read.
    pub fn record(&self) -> LetterRecord {
        LetterRecord {
            id: self.id.clone(),
            sender_id: self.sender_id.clone(),
            api_key_id: self.api_key_id.map(str::to_owned),
            state: LetterState::Received,
            state_detail: None,
            template: self.template.to_owned(),
            template_hash: self.template_hash.to_owned(),
            variables: self.variables.clone(),
            recipient: self.recipient.clone(),
            reference: self.reference.map(str::to_owned),
            notify_email: self.notify_email.cloned(),
            provider: self.provider.to_owned(),
            provider_ref: None,
            provider_status: None,
            content_sha256: None,
            cost_cents: None,
            request_sha256: self.request_sha256.to_owned(),
            send_attempts: 0,
            created_at: self.now,
            updated_at: self.now,
            deposited_at: None,
            synced_at: None,
            send_started_at: None,
            send_closed_at: None,
        }
    }
}

async fn insert_keys(conn: &mut AnyConnection, keys: &[ArrivalKey<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 5] = ["sender_id", "key", "request_sha256", "letter_id", "created_at"];
    let sql = insert_sql(Placeholders::of(conn), "idempotency_keys", &COLUMNS, keys.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for k in keys {
        query = query
            .bind(k.sender_id.as_str().to_owned())
            .bind(k.key.to_owned())
            .bind(k.request_sha256.to_owned())
            .bind(k.letter_id.as_str().to_owned())
            .bind(k.at);
    }
    run(conn, query).await
}

async fn insert_letters(conn: &mut AnyConnection, letters: &[NewLetter<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 15] = [
        "id",
        "sender_id",
        "api_key_id",
        "state",
        "template",
        "template_hash",
        "variables",
        "recipient",
        "recipient_email",
        "reference",
        "notify_email",
        "provider",
        "request_sha256",
        "created_at",
        "updated_at",
    ];
    let sql = insert_sql(Placeholders::of(conn), "letters", &COLUMNS, letters.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for l in letters {
        let variables = serde_json::Value::Object(l.variables.clone()).to_string();
        let recipient =
            serde_json::to_string(l.recipient).map_err(|e| StoreError::Corrupt(format!("recipient: {e}")))?;
        query = query
            .bind(l.id.as_str().to_owned())
            .bind(l.sender_id.as_str().to_owned())
            .bind(l.api_key_id.map(str::to_owned))
            .bind(LetterState::Received.as_str())
            .bind(l.template.to_owned())
            .bind(l.template_hash.to_owned())
            .bind(variables)
            .bind(recipient)
            .bind(l.recipient.email_text().to_lowercase())
            .bind(l.reference.map(str::to_owned))
            .bind(l.notify_email.map(|e| EmailAddress::as_str(e).to_owned()))
            .bind(l.provider.to_owned())
            .bind(l.request_sha256.to_owned())
            .bind(l.now)
            .bind(l.now);
    }
    run(conn, query).await
}

/// Each letter's first event: sequence 1, chained to the genesis hash, so nothing needs reading first.
async fn insert_first_events(conn: &mut AnyConnection, letters: &[NewLetter<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 7] = ["letter_id", "seq", "at", "state", "detail", "prev_hash", "hash"];
    const DETAIL: &str = "request accepted";
    let sql = insert_sql(Placeholders::of(conn), "letter_events", &COLUMNS, letters.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for l in letters {
        let detail = l.submitted_by.map_or_else(|| DETAIL.to_owned(), |by| format!("sent by {by}"));
        let hash = event_hash(GENESIS_HASH, l.id, 1, l.now, LetterState::Received, Some(&detail));
        query = query
            .bind(l.id.as_str().to_owned())
            .bind(1_i64)
            .bind(l.now)
            .bind(LetterState::Received.as_str())
            .bind(detail)
            .bind(GENESIS_HASH)
            .bind(hash);
    }
    run(conn, query).await
}

/// Each attachment with its file's path, or with its bytes when the database keeps them.
async fn insert_attachments(conn: &mut AnyConnection, attachments: &[&NewAttachment]) -> StoreResult<()> {
    const COLUMNS: [&str; 8] =
        ["letter_id", "position", "filename", "content_type", "size", "sha256", "path", "content"];
    let sql = insert_sql(Placeholders::of(conn), "attachments", &COLUMNS, attachments.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for NewAttachment { record: a, content } in attachments.iter().copied() {
        query = query
            .bind(a.letter_id.as_str().to_owned())
            .bind(a.position)
            .bind(a.filename.clone())
            .bind(a.content_type.clone())
            .bind(a.size)
            .bind(a.sha256.clone())
            .bind(a.path.clone())
            .bind(content.as_ref().map(|bytes| bytes.to_vec()));
    }
    run(conn, query).await
}

async fn insert_notices(conn: &mut AnyConnection, notices: &[ArrivalNotice<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 6] = ["id", "letter_id", "kind", "payload", "state", "created_at"];
    let sql = insert_sql(Placeholders::of(conn), "notices", &COLUMNS, notices.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for n in notices {
        query = query
            .bind(n.id.as_str().to_owned())
            .bind(n.letter_id.as_str().to_owned())
            .bind(n.kind)
            .bind(n.payload.clone())
            .bind(NoticeState::Pending.as_str())
            .bind(n.at);
    }
    run(conn, query).await
}

async fn insert_jobs(conn: &mut AnyConnection, jobs: &[ArrivalJob<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 7] = ["id", "kind", "letter_id", "payload", "run_at", "attempts", "created_at"];
    let sql = insert_sql(Placeholders::of(conn), "jobs", &COLUMNS, jobs.len());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for j in jobs {
        query = query
            .bind(j.id.as_str().to_owned())
            .bind(j.kind)
            .bind(j.letter_id.as_str().to_owned())
            .bind(j.payload.clone())
            .bind(j.at)
            .bind(0_i64)
            .bind(j.at);
    }
    run(conn, query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        let sql = insert_sql(Placeholders::Numbered, "t", &["a", "b"], 2);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        let sql = insert_sql(Placeholders::Positional, "t", &["a", "b"], 2);
        assert_eq!(sql, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
    }
}
