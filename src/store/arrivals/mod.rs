//! New letters written together: the rows of a whole batch of submissions (idempotency keys, letters,
//! attachments, first events, acceptance notices, first jobs) as multi-row `INSERT`s sent in one trip to the
//! database, with their commit; the few callback endpoints and inbound records follow one by one.

use sqlx::AnyConnection;

use super::events::{GENESIS_HASH, event_hash};
use super::letters::{NewAttachment, NewLetter};
use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::{EmailAddress, JobId, LetterId, LetterState, NoticeId, SenderId};
use crate::store::notices::NoticeState;

mod statements;
mod turn;

pub(super) use statements::Placeholders;
use statements::Statements;
pub use turn::{LONGEST_TURN, WriterTurn};

/// Rows per statement (an `INSERT`, or a lookup of keys). A batch's text is prepared once per shape and cached by the
/// connection; chunks of a fixed size keep each statement, and its parameters, small (128 letters are eight).
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
    /// Writes every row inside the caller's transaction; each letter also gets its first event, `received` at its
    /// `now`.
    pub async fn insert(&self, conn: &mut AnyConnection) -> StoreResult<()> {
        self.statements(Placeholders::of(conn))?.execute(conn).await?;
        self.insert_one_by_one(conn).await
    }

    /// Writes every row and commits them, in a transaction of their own. When every row goes in the batched
    /// statements (no callback endpoint, no inbound record: nearly always), that is one trip to the database: on
    /// SQLite the statements between `BEGIN` and `COMMIT` in one text, on PostgreSQL the one `WITH` statement,
    /// which is a transaction by itself, on the writer connection of `turn`, kept for the next batch once committed.
    /// Otherwise: begin, insert, commit, the turn ended first.
    pub async fn commit(&self, store: &Store, turn: &mut WriterTurn) -> StoreResult<()> {
        if !self.callback_endpoints.is_empty() || !self.inbound.is_empty() {
            turn.end();
            let mut tx = store.begin().await?;
            self.insert(&mut tx).await?;
            tx.commit().await?;
            return Ok(());
        }
        // Made before the writer is taken, and without it: nothing here needs the connection.
        let statements = self.statements(Placeholders::of_backend(store.backend))?;
        let (mut conn, since) = turn.take(store).await?;
        match store.backend {
            Backend::Postgres => statements.execute(&mut conn).await?,
            Backend::Sqlite => conn = statements.execute_in_transaction(conn).await?,
        }
        turn.keep(conn, since);
        Ok(())
    }

    fn statements(&self, placeholders: Placeholders) -> StoreResult<Statements> {
        let mut statements = Statements::new(placeholders);
        for chunk in self.keys.chunks(ROWS_PER_STATEMENT) {
            push_keys(&mut statements, chunk)?;
        }
        for chunk in self.letters.chunks(ROWS_PER_STATEMENT) {
            push_letters(&mut statements, chunk)?;
            push_first_events(&mut statements, chunk)?;
        }
        for chunk in self.attachments.chunks(ROWS_PER_STATEMENT) {
            push_attachments(&mut statements, chunk)?;
        }
        for chunk in self.notices.chunks(ROWS_PER_STATEMENT) {
            push_notices(&mut statements, chunk)?;
        }
        for chunk in self.jobs.chunks(ROWS_PER_STATEMENT) {
            push_jobs(&mut statements, chunk)?;
        }
        Ok(statements)
    }

    async fn insert_one_by_one(&self, conn: &mut AnyConnection) -> StoreResult<()> {
        for endpoint in &self.callback_endpoints {
            super::callbacks::insert_endpoint(conn, endpoint).await?;
        }
        for record in &self.inbound {
            super::inbound::record(conn, record).await?;
        }
        Ok(())
    }
}

fn push_keys(statements: &mut Statements, keys: &[ArrivalKey<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 5] = ["sender_id", "key", "request_sha256", "letter_id", "created_at"];
    statements.push("idempotency_keys", &COLUMNS, keys, |row, k| {
        row.add(k.sender_id.as_str())?.add(k.key)?.add(k.request_sha256)?.add(k.letter_id.as_str())?.add(k.at)?;
        Ok(())
    })
}

fn push_letters(statements: &mut Statements, letters: &[NewLetter<'_>]) -> StoreResult<()> {
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
    statements.push("letters", &COLUMNS, letters, |row, l| {
        let variables =
            serde_json::to_string(l.variables).map_err(|e| StoreError::Corrupt(format!("variables: {e}")))?;
        let recipient =
            serde_json::to_string(l.recipient).map_err(|e| StoreError::Corrupt(format!("recipient: {e}")))?;
        row.add(l.id.as_str())?
            .add(l.sender_id.as_str())?
            .add(l.api_key_id)?
            .add(LetterState::Received.as_str())?
            .add(l.template)?
            .add(l.template_hash)?
            .add(variables)?
            .add(recipient)?
            .add(l.recipient.email_text().to_lowercase())?
            .add(l.reference)?
            .add(l.notify_email.map(EmailAddress::as_str))?
            .add(l.provider)?
            .add(l.request_sha256)?
            .add(l.now)?
            .add(l.now)?;
        Ok(())
    })
}

/// Each letter's first event: sequence 1, chained to the genesis hash, so nothing needs reading first.
fn push_first_events(statements: &mut Statements, letters: &[NewLetter<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 7] = ["letter_id", "seq", "at", "state", "detail", "prev_hash", "hash"];
    const DETAIL: &str = "request accepted";
    statements.push("letter_events", &COLUMNS, letters, |row, l| {
        let detail = l.submitted_by.map_or_else(|| DETAIL.to_owned(), |by| format!("sent by {by}"));
        let hash = event_hash(GENESIS_HASH, l.id, 1, l.now, LetterState::Received, Some(&detail));
        row.add(l.id.as_str())?
            .add(1_i64)?
            .add(l.now)?
            .add(LetterState::Received.as_str())?
            .add(detail)?
            .add(GENESIS_HASH)?
            .add(hash)?;
        Ok(())
    })
}

/// Each attachment with its file's path, or with its bytes when the database keeps them.
fn push_attachments(statements: &mut Statements, attachments: &[&NewAttachment]) -> StoreResult<()> {
    const COLUMNS: [&str; 8] =
        ["letter_id", "position", "filename", "content_type", "size", "sha256", "path", "content"];
    statements.push("attachments", &COLUMNS, attachments, |row, attachment| {
        let NewAttachment { record: a, content } = *attachment;
        row.add(a.letter_id.as_str())?
            .add(a.position)?
            .add(a.filename.as_str())?
            .add(a.content_type.as_str())?
            .add(a.size)?
            .add(a.sha256.as_str())?
            .add(a.path.as_deref())?
            .add(content.as_ref().map(|bytes| bytes.to_vec()))?;
        Ok(())
    })
}

fn push_notices(statements: &mut Statements, notices: &[ArrivalNotice<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 6] = ["id", "letter_id", "kind", "payload", "state", "created_at"];
    statements.push("notices", &COLUMNS, notices, |row, n| {
        row.add(n.id.as_str())?
            .add(n.letter_id.as_str())?
            .add(n.kind)?
            .add(n.payload.as_str())?
            .add(NoticeState::Pending.as_str())?
            .add(n.at)?;
        Ok(())
    })
}

fn push_jobs(statements: &mut Statements, jobs: &[ArrivalJob<'_>]) -> StoreResult<()> {
    const COLUMNS: [&str; 7] = ["id", "kind", "letter_id", "payload", "run_at", "attempts", "created_at"];
    statements.push("jobs", &COLUMNS, jobs, |row, j| {
        row.add(j.id.as_str())?
            .add(j.kind)?
            .add(j.letter_id.as_str())?
            .add(j.payload.as_str())?
            .add(j.at)?
            .add(0_i64)?
            .add(j.at)?;
        Ok(())
    })
}
