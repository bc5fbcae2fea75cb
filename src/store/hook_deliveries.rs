//! Deliveries of inbound webhooks, one per source and event id: their verdict, letter and error.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult};
use crate::domain::{HookDeliveryId, LetterId};

/// What relais decided about a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookVerdict {
    /// A letter was made.
    Accepted,
    /// The letter for this event, or for this key (the same invoice), already exists.
    Duplicate,
    /// Not an event that makes a letter (its type, or a condition); the reason is kept.
    Ignored,
    /// The mapping could not make a valid letter request; fix it and replay.
    Unmapped,
}

impl HookVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Unmapped => "unmapped",
        }
    }

    fn parse(text: &str) -> StoreResult<Self> {
        Ok(match text {
            "accepted" => Self::Accepted,
            "duplicate" => Self::Duplicate,
            "ignored" => Self::Ignored,
            "unmapped" => Self::Unmapped,
            other => return Err(StoreError::Corrupt(format!("unknown hook delivery verdict `{other}`"))),
        })
    }

    /// A letter exists for it: neither a redelivery nor a replay makes another.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Accepted | Self::Duplicate)
    }
}

#[derive(Debug, Clone)]
pub struct HookDelivery {
    pub id: HookDeliveryId,
    pub hook: String,
    pub sender_id: String,
    pub event_id: String,
    pub event_type: Option<String>,
    pub verdict: HookVerdict,
    pub letter_id: Option<LetterId>,
    pub error: Option<String>,
    pub body: String,
    pub attempts: i64,
    pub received_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, hook, sender_id, event_id, event_type, verdict, letter_id, error, body, attempts, received_at, updated_at";

fn from_row(r: &AnyRow) -> StoreResult<HookDelivery> {
    let letter: Option<String> = r.try_get("letter_id")?;
    let id: String = r.try_get("id")?;
    Ok(HookDelivery {
        id: id.parse().map_err(StoreError::Corrupt)?,
        hook: r.try_get("hook")?,
        sender_id: r.try_get("sender_id")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        verdict: HookVerdict::parse(&r.try_get::<String, _>("verdict")?)?,
        letter_id: letter.map(|l| l.parse()).transpose().map_err(StoreError::Corrupt)?,
        error: r.try_get("error")?,
        body: r.try_get("body")?,
        attempts: r.try_get("attempts")?,
        received_at: r.try_get("received_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Records a delivery, or what became of it this time when its event was delivered before (the row keeps
    /// its id and first arrival, and counts the attempts; a concurrent twin that found the letter made does
    /// not turn `accepted` into `duplicate`). Returns the delivery as stored.
    pub async fn record_hook_delivery(&self, d: &HookDelivery) -> StoreResult<HookDelivery> {
        sqlx::query(
            "INSERT INTO hook_deliveries (id, hook, sender_id, event_id, event_type, verdict, letter_id, error, body, \
             attempts, received_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10) \
             ON CONFLICT (hook, event_id) DO UPDATE SET event_type = excluded.event_type, \
             verdict = CASE WHEN hook_deliveries.verdict = 'accepted' AND excluded.verdict = 'duplicate' \
             THEN 'accepted' ELSE excluded.verdict END, \
             letter_id = excluded.letter_id, error = excluded.error, \
             body = excluded.body, attempts = hook_deliveries.attempts + 1, updated_at = excluded.updated_at",
        )
        .bind(d.id.as_str())
        .bind(&d.hook)
        .bind(&d.sender_id)
        .bind(&d.event_id)
        .bind(d.event_type.as_deref())
        .bind(d.verdict.as_str())
        .bind(d.letter_id.as_ref().map(|l| l.as_str()))
        .bind(d.error.as_deref())
        .bind(&d.body)
        .bind(d.updated_at)
        .execute(&self.writer)
        .await?;
        self.hook_delivery_by_event(&d.hook, &d.event_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a hook delivery vanished after being recorded".into()))
    }

    /// Counts one more arrival of an event already handled.
    pub async fn count_hook_redelivery(&self, id: &HookDeliveryId, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE hook_deliveries SET attempts = attempts + 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.as_str())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn hook_delivery(&self, id: &HookDeliveryId) -> StoreResult<Option<HookDelivery>> {
        let sql = format!("SELECT {COLUMNS} FROM hook_deliveries WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&self.reader).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn hook_delivery_by_event(&self, hook: &str, event_id: &str) -> StoreResult<Option<HookDelivery>> {
        let sql = format!("SELECT {COLUMNS} FROM hook_deliveries WHERE hook = $1 AND event_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hook).bind(event_id).fetch_optional(&self.reader).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The latest deliveries of a source, newest first.
    pub async fn hook_deliveries(&self, hook: &str, limit: i64) -> StoreResult<Vec<HookDelivery>> {
        let sql =
            format!("SELECT {COLUMNS} FROM hook_deliveries WHERE hook = $1 ORDER BY updated_at DESC, id DESC LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hook).bind(limit).fetch_all(&self.reader).await?;
        rows.iter().map(from_row).collect()
    }
}
