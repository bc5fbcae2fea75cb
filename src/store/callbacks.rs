//! Callback endpoints, their deliveries (one per letter event and endpoint) and every attempt made.

use sqlx::AnyConnection;

use super::{Store, StoreResult};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub sender_id: String,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    /// Event types, comma-separated.
    pub events: String,
    pub description: Option<String>,
    /// `enabled` or `disabled`.
    pub state: String,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub warned_at: Option<i64>,
    pub created_at: i64,
    /// Where the endpoint comes from: `api`, `config` or `letter`.
    pub origin: String,
    /// The one letter a `letter` endpoint hears of.
    pub letter_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: String,
    pub endpoint_id: String,
    pub letter_id: String,
    pub seq: i64,
    pub event: String,
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub endpoint_id: String,
    pub attempt: i64,
    pub at: i64,
    pub status: Option<i64>,
    pub duration_ms: i64,
    pub response: Option<String>,
    pub error: Option<String>,
}

const ENDPOINT_COLUMNS: &str = "id, sender_id, url, secret, previous_secret, previous_until, events, description, \
    state, disabled_reason, failing_since, warned_at, created_at, origin, letter_id";
const DELIVERY_COLUMNS: &str =
    "id, endpoint_id, letter_id, seq, event, payload, state, attempts, created_at, delivered_at";

/// Stores a delivery unless this endpoint already has one for this letter event; true when it is new.
pub async fn insert_delivery(conn: &mut AnyConnection, d: &DeliveryRow) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO callback_deliveries (id, endpoint_id, letter_id, seq, event, payload, state, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7) ON CONFLICT (endpoint_id, letter_id, seq) DO NOTHING",
    )
    .bind(&d.id)
    .bind(&d.endpoint_id)
    .bind(&d.letter_id)
    .bind(d.seq)
    .bind(&d.event)
    .bind(&d.payload)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts a failed delivery back in line (a replay after the endpoint is enabled again), in the transaction
/// that enqueues its job: a job that ran before the delivery was pending again would find nothing to do.
pub async fn requeue_delivery(conn: &mut AnyConnection, delivery: &str) -> StoreResult<()> {
    sqlx::query("UPDATE callback_deliveries SET state = 'pending' WHERE id = $1").bind(delivery).execute(conn).await?;
    Ok(())
}

/// Stores a new endpoint, enabled; one whose id exists already is left as it is.
pub async fn insert_endpoint(conn: &mut AnyConnection, e: &EndpointRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO callback_endpoints (id, sender_id, url, secret, events, description, state, created_at, origin, \
         letter_id) VALUES ($1, $2, $3, $4, $5, $6, 'enabled', $7, $8, $9) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&e.id)
    .bind(&e.sender_id)
    .bind(&e.url)
    .bind(&e.secret)
    .bind(&e.events)
    .bind(&e.description)
    .bind(e.created_at)
    .bind(&e.origin)
    .bind(&e.letter_id)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    pub async fn insert_callback_endpoint(&self, e: &EndpointRow) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await?;
        insert_endpoint(&mut conn, e).await
    }

    /// The endpoints of a sender that hear of all its letters (created through the API or configured).
    pub async fn callback_endpoints(&self, sender: &str) -> StoreResult<Vec<EndpointRow>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM callback_endpoints WHERE sender_id = $1 AND letter_id IS NULL ORDER BY id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(sender).fetch_all(&self.reader).await?)
    }

    /// The endpoints that hear of one letter: its sender's, and the letter's own.
    pub async fn callback_endpoints_of_letter(&self, sender: &str, letter: &str) -> StoreResult<Vec<EndpointRow>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM callback_endpoints WHERE sender_id = $1 \
             AND (letter_id IS NULL OR letter_id = $2) ORDER BY id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(sender).bind(letter).fetch_all(&self.reader).await?)
    }

    /// The endpoint a letter's own `callback_url` became, if it named one.
    pub async fn letter_callback_endpoint(&self, letter: &str) -> StoreResult<Option<EndpointRow>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM callback_endpoints WHERE letter_id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(letter).fetch_optional(&self.reader).await?)
    }

    /// The endpoints that came from the configuration, of every sender.
    pub async fn configured_callback_endpoints(&self) -> StoreResult<Vec<EndpointRow>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM callback_endpoints WHERE origin = 'config' ORDER BY id");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.writer).await?)
    }

    /// Brings a configured endpoint in step with its configuration (URL, events, description).
    pub async fn update_configured_endpoint(&self, e: &EndpointRow) -> StoreResult<()> {
        sqlx::query("UPDATE callback_endpoints SET url = $2, events = $3, description = $4 WHERE id = $1")
            .bind(&e.id)
            .bind(&e.url)
            .bind(&e.events)
            .bind(&e.description)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn callback_endpoint(&self, id: &str) -> StoreResult<Option<EndpointRow>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM callback_endpoints WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.writer).await?)
    }

    /// Removes an endpoint of `sender`; its deliveries and attempts stay as history.
    pub async fn delete_callback_endpoint(&self, id: &str, sender: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM callback_endpoints WHERE id = $1 AND sender_id = $2")
            .bind(id)
            .bind(sender)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables an endpoint with the reason, or (reason `None`) enables it again with a clean failure record.
    pub async fn set_callback_endpoint_state(&self, id: &str, disabled: Option<&str>) -> StoreResult<()> {
        let sql = match disabled {
            Some(_) => "UPDATE callback_endpoints SET state = 'disabled', disabled_reason = $2 WHERE id = $1",
            None => {
                "UPDATE callback_endpoints SET state = 'enabled', disabled_reason = $2, failing_since = NULL, \
                 warned_at = NULL WHERE id = $1"
            }
        };
        sqlx::query(sql).bind(id).bind(disabled).execute(&self.writer).await?;
        Ok(())
    }

    /// Records when an endpoint started failing (kept while it fails; cleared by a success).
    pub async fn set_callback_failing(&self, id: &str, since: Option<i64>) -> StoreResult<()> {
        let sql = match since {
            Some(_) => "UPDATE callback_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
            None => "UPDATE callback_endpoints SET failing_since = $2, warned_at = NULL WHERE id = $1",
        };
        sqlx::query(sql).bind(id).bind(since).execute(&self.writer).await?;
        Ok(())
    }

    pub async fn set_callback_warned(&self, id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE callback_endpoints SET warned_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A new secret; the previous one keeps signing alongside until `until`.
    pub async fn rotate_callback_secret(&self, id: &str, secret: &str, until: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE callback_endpoints SET previous_secret = secret, previous_until = $3, secret = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(secret)
        .bind(until)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn callback_delivery(&self, id: &str) -> StoreResult<Option<DeliveryRow>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.writer).await?)
    }

    /// The deliveries of an endpoint not delivered (pending or failed), oldest first: what a replay resends.
    pub async fn undelivered_callbacks(&self, endpoint: &str) -> StoreResult<Vec<DeliveryRow>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM callback_deliveries WHERE endpoint_id = $1 AND state <> 'delivered' \
             ORDER BY created_at, id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(endpoint).fetch_all(&self.reader).await?)
    }

    /// Records one attempt and its effect on the delivery (`pending`, `delivered` or `failed`) together.
    pub async fn record_callback_attempt(&self, a: &AttemptRow, delivery_state: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO callback_attempts (delivery_id, endpoint_id, attempt, at, status, duration_ms, response, error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (delivery_id, attempt) DO NOTHING",
        )
        .bind(&a.delivery_id)
        .bind(&a.endpoint_id)
        .bind(a.attempt)
        .bind(a.at)
        .bind(a.status)
        .bind(a.duration_ms)
        .bind(&a.response)
        .bind(&a.error)
        .execute(&mut *tx)
        .await?;
        let delivered_at = (delivery_state == "delivered").then_some(a.at);
        sqlx::query(
            "UPDATE callback_deliveries SET attempts = $2, state = $3, delivered_at = COALESCE($4, delivered_at) \
             WHERE id = $1",
        )
        .bind(&a.delivery_id)
        .bind(a.attempt)
        .bind(delivery_state)
        .bind(delivered_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest attempts made to an endpoint, newest first.
    pub async fn callback_attempts(&self, endpoint: &str, limit: i64) -> StoreResult<Vec<AttemptRow>> {
        Ok(sqlx::query_as(
            "SELECT delivery_id, endpoint_id, attempt, at, status, duration_ms, response, error FROM callback_attempts \
             WHERE endpoint_id = $1 ORDER BY at DESC, attempt DESC LIMIT $2",
        )
        .bind(endpoint)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?)
    }
}
