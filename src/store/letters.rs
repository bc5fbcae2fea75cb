//! Letters and their attachments (their idempotency keys are in `idempotency`).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::events::ChainHead;
use super::{Store, StoreError, StoreResult};
use crate::domain::{EmailAddress, LetterId, LetterState, Recipient, SenderId};

/// A letter as stored.
#[derive(Debug, Clone)]
pub struct LetterRecord {
    pub id: LetterId,
    pub sender_id: SenderId,
    pub api_key_id: Option<String>,
    pub state: LetterState,
    pub state_detail: Option<String>,
    pub template: String,
    pub template_hash: String,
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub recipient: Recipient,
    pub reference: Option<String>,
    pub notify_email: Option<EmailAddress>,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub provider_status: Option<String>,
    pub content_sha256: Option<String>,
    pub cost_cents: Option<i64>,
    pub request_sha256: String,
    pub send_attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deposited_at: Option<i64>,
    pub synced_at: Option<i64>,
    /// When the first attempt to hand the letter over started.
    pub send_started_at: Option<i64>,
    /// When the last request to hand it over whose outcome is unknown ended (its connection closed).
    pub send_closed_at: Option<i64>,
}

/// What `letters::submit` inserts.
pub struct NewLetter<'a> {
    pub id: &'a LetterId,
    pub sender_id: &'a SenderId,
    pub api_key_id: Option<&'a str>,
    pub template: &'a str,
    pub template_hash: &'a str,
    pub variables: &'a serde_json::Map<String, serde_json::Value>,
    pub recipient: &'a Recipient,
    pub reference: Option<&'a str>,
    pub notify_email: Option<&'a EmailAddress>,
    pub provider: &'a str,
    pub request_sha256: &'a str,
    /// The console user who sent it, named in its first event.
    pub submitted_by: Option<&'a str>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub letter_id: LetterId,
    pub position: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// The file holding the bytes; `None` when the database keeps them ([`Store::attachment_content`]).
    pub path: Option<String>,
}

/// An attachment as its letter is committed: its record, and its bytes when the database keeps them.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub record: AttachmentRecord,
    pub content: Option<bytes::Bytes>,
}

/// Filters of `GET /v1/letters`; `after` is the cursor (the last id of the previous page).
#[derive(Debug, Clone, Default)]
pub struct LetterFilter {
    pub state: Option<LetterState>,
    pub reference: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub after: Option<LetterId>,
    pub limit: i64,
}

pub(super) const LETTER_COLUMNS: &str = "id, sender_id, api_key_id, state, state_detail, template, template_hash, variables, \
     recipient, reference, notify_email, provider, provider_ref, provider_status, content_sha256, cost_cents, \
     request_sha256, send_attempts, created_at, updated_at, deposited_at, synced_at, send_started_at, send_closed_at";

pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn letter_from_row(row: &AnyRow) -> StoreResult<LetterRecord> {
    let text = |c: &str| row.try_get::<String, _>(c);
    let opt = |c: &str| row.try_get::<Option<String>, _>(c);
    let int_opt = |c: &str| row.try_get::<Option<i64>, _>(c);
    Ok(LetterRecord {
        id: text("id")?.parse().map_err(|e| corrupt("letter id", e))?,
        sender_id: text("sender_id")?.parse().map_err(|e| corrupt("sender id", e))?,
        api_key_id: opt("api_key_id")?,
        state: text("state")?.parse().map_err(|e| corrupt("state", e))?,
        state_detail: opt("state_detail")?,
        template: text("template")?,
        template_hash: text("template_hash")?,
        variables: serde_json::from_str(&text("variables")?).map_err(|e| corrupt("variables", e))?,
        recipient: serde_json::from_str(&text("recipient")?).map_err(|e| corrupt("recipient", e))?,
        reference: opt("reference")?,
        notify_email: opt("notify_email")?
            .map(|e| EmailAddress::parse(&e).map_err(|e| corrupt("notify_email", e.message)))
            .transpose()?,
        provider: text("provider")?,
        provider_ref: opt("provider_ref")?,
        provider_status: opt("provider_status")?,
        content_sha256: opt("content_sha256")?,
        cost_cents: int_opt("cost_cents")?,
        request_sha256: text("request_sha256")?,
        send_attempts: row.try_get("send_attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deposited_at: int_opt("deposited_at")?,
        synced_at: int_opt("synced_at")?,
        send_started_at: int_opt("send_started_at")?,
        send_closed_at: int_opt("send_closed_at")?,
    })
}

/// Moves a letter from `from` to `to` only if it is still in `from` (compare-and-set), and returns the head
/// of its event chain for the event the move appends; `None` if the letter moved. On SQLite the head rides
/// in the update's `RETURNING` (one statement on the one writer): its writer runs one transaction at a
/// time, so nothing appends in between. PostgreSQL reads it after the update: a `RETURNING` subquery sees
/// the statement's snapshot, which may predate an event committed while the update waited for the row.
pub async fn update_state(
    conn: &mut AnyConnection,
    id: &LetterId,
    from: LetterState,
    to: LetterState,
    detail: Option<&str>,
    now: i64,
) -> StoreResult<Option<ChainHead>> {
    const UPDATE: &str =
        "UPDATE letters SET state = $1, state_detail = $2, updated_at = $3 WHERE id = $4 AND state = $5";
    const WITH_HEAD: &str = "UPDATE letters SET state = $1, state_detail = $2, updated_at = $3 WHERE id = $4 AND state = $5 \
         RETURNING (SELECT seq FROM letter_events WHERE letter_id = $4 ORDER BY seq DESC LIMIT 1) AS last_seq, \
                   (SELECT hash FROM letter_events WHERE letter_id = $4 ORDER BY seq DESC LIMIT 1) AS last_hash";
    let sqlite = conn.backend_name() == "SQLite";
    let query = sqlx::query(if sqlite { WITH_HEAD } else { UPDATE })
        .bind(to.as_str())
        .bind(detail)
        .bind(now)
        .bind(id.as_str())
        .bind(from.as_str());
    if !sqlite {
        let moved = query.execute(&mut *conn).await?.rows_affected() == 1;
        return if moved { Ok(Some(super::events::chain_head(conn, id).await?)) } else { Ok(None) };
    }
    let Some(row) = query.fetch_optional(conn).await? else { return Ok(None) };
    match (row.try_get("last_seq")?, row.try_get("last_hash")?) {
        (Some(seq), Some(hash)) => Ok(Some(ChainHead { seq, hash })),
        _ => Ok(Some(ChainHead::genesis())),
    }
}

/// Records what the provider said about the letter: its reference, raw status, price and deposit time.
pub async fn record_provider_facts(
    conn: &mut AnyConnection,
    id: &LetterId,
    provider_ref: &str,
    provider_status: &str,
    cost_cents: Option<i64>,
    deposited_at: Option<i64>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE letters SET provider_ref = $1, provider_status = $2, cost_cents = COALESCE($3, cost_cents), \
         deposited_at = COALESCE(deposited_at, $4), synced_at = $5, updated_at = $5 WHERE id = $6",
    )
    .bind(provider_ref)
    .bind(provider_status)
    .bind(cost_cents)
    .bind(deposited_at)
    .bind(now)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_content(conn: &mut AnyConnection, id: &LetterId, sha256: &str) -> StoreResult<()> {
    sqlx::query("UPDATE letters SET content_sha256 = $1 WHERE id = $2")
        .bind(sha256)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Hands a letter not yet sent to another provider account (the paper fallback of an electronic letter).
pub async fn switch_provider(conn: &mut AnyConnection, id: &LetterId, provider: &str) -> StoreResult<()> {
    sqlx::query("UPDATE letters SET provider = $1 WHERE id = $2 AND provider_ref IS NULL")
        .bind(provider)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts an attempt to hand the letter over, starting `now`; the first one's start is kept.
pub async fn count_send_attempt(conn: &mut AnyConnection, id: &LetterId, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE letters SET send_attempts = send_attempts + 1, send_started_at = COALESCE(send_started_at, $1) \
         WHERE id = $2",
    )
    .bind(now)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that a request whose outcome is unknown ended at `at` (no re-send before `at + resend_after`).
pub async fn record_send_closed(conn: &mut AnyConnection, id: &LetterId, at: i64) -> StoreResult<()> {
    sqlx::query("UPDATE letters SET send_closed_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_synced(conn: &mut AnyConnection, id: &LetterId, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE letters SET synced_at = $1 WHERE id = $2").bind(now).bind(id.as_str()).execute(conn).await?;
    Ok(())
}

pub async fn letter_in(conn: &mut AnyConnection, id: &LetterId) -> StoreResult<Option<LetterRecord>> {
    let sql = format!("SELECT {LETTER_COLUMNS} FROM letters WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(conn).await?;
    row.as_ref().map(letter_from_row).transpose()
}

/// Letters of a sender waiting for the consent of `email`.
pub async fn awaiting_consent(conn: &mut AnyConnection, sender: &SenderId, email: &str) -> StoreResult<Vec<LetterId>> {
    let rows = sqlx::query("SELECT id FROM letters WHERE sender_id = $1 AND recipient_email = $2 AND state = $3")
        .bind(sender.as_str())
        .bind(email.to_lowercase())
        .bind(LetterState::AwaitingConsent.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.try_get::<String, _>("id")?.parse().map_err(|e| corrupt("letter id", e))).collect()
}

pub async fn attachments_in(conn: &mut AnyConnection, id: &LetterId) -> StoreResult<Vec<AttachmentRecord>> {
    let rows = sqlx::query(
        "SELECT position, filename, content_type, size, sha256, path FROM attachments WHERE letter_id = $1 ORDER BY position",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AttachmentRecord {
                letter_id: id.clone(),
                position: r.try_get("position")?,
                filename: r.try_get("filename")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                path: r.try_get("path")?,
            })
        })
        .collect()
}

impl Store {
    pub async fn letter(&self, id: &LetterId) -> StoreResult<Option<LetterRecord>> {
        let mut conn = self.reader.acquire().await?;
        letter_in(&mut conn, id).await
    }

    pub async fn attachments(&self, id: &LetterId) -> StoreResult<Vec<AttachmentRecord>> {
        let mut conn = self.reader.acquire().await?;
        attachments_in(&mut conn, id).await
    }

    /// The bytes of an attachment the database keeps; `None` for one kept in a file (or none at all).
    pub async fn attachment_content(&self, id: &LetterId, position: i64) -> StoreResult<Option<Vec<u8>>> {
        let mut conn = self.reader.acquire().await?;
        let row = sqlx::query("SELECT content FROM attachments WHERE letter_id = $1 AND position = $2")
            .bind(id.as_str())
            .bind(position)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<Vec<u8>>, _>("content")?,
            None => None,
        })
    }

    /// A page of a sender's letters, newest first, after the cursor.
    pub async fn list_letters(&self, sender: &SenderId, f: &LetterFilter) -> StoreResult<Vec<LetterRecord>> {
        let sql = format!(
            "SELECT {LETTER_COLUMNS} FROM letters WHERE sender_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR reference = $3) \
             AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
             AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(sender.as_str())
            .bind(f.state.map(LetterState::as_str))
            .bind(f.reference.as_deref())
            .bind(f.created_from)
            .bind(f.created_to)
            .bind(f.after.as_ref().map(LetterId::as_str))
            .bind(f.limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(letter_from_row).collect()
    }

    /// Letters handed to `provider` and not yet final whose last news is older than `before`.
    pub async fn letters_to_sync(&self, provider: &str, before: i64, limit: i64) -> StoreResult<Vec<LetterId>> {
        let rows = sqlx::query(
            "SELECT id FROM letters WHERE state IN ('submitting', 'deposited', 'needs_attention') AND provider_ref IS NOT NULL \
             AND provider = $3 AND COALESCE(synced_at, 0) < $1 ORDER BY COALESCE(synced_at, 0) LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .bind(provider)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| r.try_get::<String, _>("id")?.parse().map_err(|e| corrupt("letter id", e))).collect()
    }

    /// Deposited letters with no outcome although they were deposited before `before`.
    pub async fn overdue_letters(&self, before: i64, limit: i64) -> StoreResult<Vec<LetterId>> {
        let rows = sqlx::query("SELECT id FROM letters WHERE state = 'deposited' AND deposited_at < $1 LIMIT $2")
            .bind(before)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| r.try_get::<String, _>("id")?.parse().map_err(|e| corrupt("letter id", e))).collect()
    }

    /// The letter a provider knows by `provider_ref`.
    pub async fn letter_by_provider_ref(&self, provider: &str, provider_ref: &str) -> StoreResult<Option<LetterId>> {
        let row = sqlx::query("SELECT id FROM letters WHERE provider = $1 AND provider_ref = $2")
            .bind(provider)
            .bind(provider_ref)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| r.try_get::<String, _>("id")?.parse().map_err(|e| corrupt("letter id", e))).transpose()
    }
}
