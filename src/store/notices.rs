//! Notices to requesters, one row per email: what it says (the payload), its Message-ID once chosen, and
//! whether it was sent or gave up.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreResult};
use crate::domain::{LetterId, NoticeId, SenderId};

/// Where a notice is. Storage and API names are the snake_case variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeState {
    Pending,
    Sent,
    Failed,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for NoticeState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a notice state (pending, sent, failed)"))
    }
}

#[derive(Debug, Clone)]
pub struct NoticeRecord {
    pub id: NoticeId,
    pub letter_id: LetterId,
    /// The email template (`delivered`, `needs_attention`, …).
    pub kind: String,
    pub payload: serde_json::Value,
    pub message_id: Option<String>,
    pub state: NoticeState,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub failed_at: Option<i64>,
}

const COLUMNS: &str = "n.id, n.letter_id, n.kind, n.payload, n.message_id, n.state, n.last_error, n.created_at, \
                       n.sent_at, n.failed_at";

fn notice_from_row(row: &AnyRow) -> StoreResult<NoticeRecord> {
    let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("notice {what}: {e}"));
    let payload: String = row.try_get("payload")?;
    Ok(NoticeRecord {
        id: row.try_get::<String, _>("id")?.parse().map_err(|e| corrupt("id", e))?,
        letter_id: row.try_get::<String, _>("letter_id")?.parse().map_err(|e| corrupt("letter", e))?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("payload", e.to_string()))?,
        message_id: row.try_get("message_id")?,
        state: row.try_get::<String, _>("state")?.parse().map_err(|e| corrupt("state", e))?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        failed_at: row.try_get("failed_at")?,
    })
}

/// Records a notice to send, inside the transaction of the state change it tells about.
pub async fn insert_notice(
    conn: &mut AnyConnection,
    letter: &LetterId,
    kind: &str,
    payload: &serde_json::Value,
    now: i64,
) -> StoreResult<NoticeId> {
    let id = NoticeId::generate();
    sqlx::query(
        "INSERT INTO notices (id, letter_id, kind, payload, state, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(letter.as_str())
    .bind(kind)
    .bind(payload.to_string())
    .bind(NoticeState::Pending.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// The notice already recorded for this letter, kind and payload (a job from before notices were recorded,
/// run again).
pub async fn notice_with_payload(
    conn: &mut AnyConnection,
    letter: &LetterId,
    kind: &str,
    payload: &serde_json::Value,
) -> StoreResult<Option<NoticeId>> {
    let row = sqlx::query("SELECT id FROM notices WHERE letter_id = $1 AND kind = $2 AND payload = $3")
        .bind(letter.as_str())
        .bind(kind)
        .bind(payload.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)).transpose()
}

/// Moves a notice to `state`, with the error that stopped it when it failed.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: &NoticeId,
    state: NoticeState,
    error: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE notices SET state = $1, last_error = COALESCE($2, last_error), \
         sent_at = CASE WHEN $1 = 'sent' THEN $3 ELSE sent_at END, \
         failed_at = CASE WHEN $1 = 'failed' THEN $3 ELSE NULL END WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn notice_in(conn: &mut AnyConnection, id: &NoticeId) -> StoreResult<Option<NoticeRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM notices n WHERE n.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(conn).await?;
    row.as_ref().map(notice_from_row).transpose()
}

impl Store {
    pub async fn notice(&self, id: &NoticeId) -> StoreResult<Option<NoticeRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM notices n WHERE n.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&self.reader).await?;
        row.as_ref().map(notice_from_row).transpose()
    }

    /// Keeps `message_id` as the notice's Message-ID unless one was already chosen; returns the one to use.
    /// Stored before the first attempt, so an attempt after a crash carries the same one.
    pub async fn choose_message_id(&self, id: &NoticeId, message_id: &str) -> StoreResult<String> {
        sqlx::query("UPDATE notices SET message_id = $1 WHERE id = $2 AND message_id IS NULL")
            .bind(message_id)
            .bind(id.as_str())
            .execute(&self.writer)
            .await?;
        let row = sqlx::query("SELECT message_id FROM notices WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(&self.reader)
            .await?;
        let chosen: Option<String> = row.try_get("message_id")?;
        chosen.ok_or_else(|| StoreError::Corrupt(format!("notice {id} has no Message-ID after choosing one")))
    }

    pub async fn mark_notice_sent(&self, id: &NoticeId, now: i64) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await?;
        set_state(&mut conn, id, NoticeState::Sent, None, now).await?;
        Ok(())
    }

    /// The notices of `sender`'s letters, newest first; only those in `state` when given.
    pub async fn notices_of(
        &self,
        sender: &SenderId,
        state: Option<NoticeState>,
        limit: i64,
    ) -> StoreResult<Vec<NoticeRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notices n JOIN letters l ON l.id = n.letter_id \
             WHERE l.sender_id = $1 AND ($2 IS NULL OR n.state = $2) ORDER BY n.created_at DESC, n.id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(sender.as_str())
            .bind(state.map(NoticeState::as_str))
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// The notices of one letter, oldest first.
    pub async fn notices_of_letter(&self, letter: &LetterId) -> StoreResult<Vec<NoticeRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM notices n WHERE n.letter_id = $1 ORDER BY n.created_at, n.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(letter.as_str()).fetch_all(&self.reader).await?;
        rows.iter().map(notice_from_row).collect()
    }

    /// Counts the notices that gave up and were not sent again.
    pub async fn failed_notices(&self) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM notices WHERE state = 'failed'").fetch_one(&self.reader).await?;
        Ok(row.try_get("n")?)
    }
}
