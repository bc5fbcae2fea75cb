//! Consent requests made to recipients through a provider: one row each, with the provider's consent id
//! and where the request stands. At most one is pending per sender and address (a unique index).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError, StoreResult};
use crate::domain::{ConsentId, ConsentRequestId, SenderId};

/// Where a consent request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Asked, waiting for the recipient's answer.
    Pending,
    /// The recipient consented: the consent is recorded in the registry.
    Accepted,
    Refused,
    /// The recipient did not answer in time.
    Expired,
    /// The provider refused the request: nobody was asked.
    Failed,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Expired => "expired",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for RequestState {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        [Self::Pending, Self::Accepted, Self::Refused, Self::Expired, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a consent request state"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequestRecord {
    pub id: ConsentRequestId,
    pub sender_id: SenderId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: Option<String>,
    pub waiting_days: Option<i64>,
    /// The provider account asked through, and its id of the consent once created.
    pub provider: String,
    pub provider_ref: Option<String>,
    pub state: RequestState,
    pub state_detail: Option<String>,
    /// The consent recorded in the registry when the recipient accepted.
    pub consent_id: Option<ConsentId>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, sender_id, email, first_name, last_name, company, waiting_days, provider, provider_ref, \
                       state, state_detail, consent_id, created_at, updated_at";

fn read(r: &AnyRow) -> StoreResult<ConsentRequestRecord> {
    let corrupt = |e: String| StoreError::Corrupt(e);
    let id: String = r.try_get("id")?;
    let sender: String = r.try_get("sender_id")?;
    let state: String = r.try_get("state")?;
    let consent: Option<String> = r.try_get("consent_id")?;
    Ok(ConsentRequestRecord {
        id: id.parse().map_err(corrupt)?,
        sender_id: sender.parse().map_err(corrupt)?,
        email: r.try_get("email")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        company: r.try_get("company")?,
        waiting_days: r.try_get("waiting_days")?,
        provider: r.try_get("provider")?,
        provider_ref: r.try_get("provider_ref")?,
        state: state.parse().map_err(corrupt)?,
        state_detail: r.try_get("state_detail")?,
        consent_id: consent.map(|c| c.parse()).transpose().map_err(corrupt)?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Inserts a pending request; false, inserting nothing, when one is already pending for its sender and
/// address.
pub async fn insert_pending(conn: &mut AnyConnection, r: &ConsentRequestRecord) -> StoreResult<bool> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO consent_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14) ON CONFLICT DO NOTHING"
    )))
    .bind(r.id.as_str())
    .bind(r.sender_id.as_str())
    .bind(r.email.to_lowercase())
    .bind(&r.first_name)
    .bind(&r.last_name)
    .bind(&r.company)
    .bind(r.waiting_days)
    .bind(&r.provider)
    .bind(&r.provider_ref)
    .bind(RequestState::Pending.as_str())
    .bind(&r.state_detail)
    .bind(r.consent_id.as_ref().map(ConsentId::as_str))
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The pending request of `sender` to `email`, if any.
pub async fn pending(
    conn: &mut AnyConnection,
    sender: &SenderId,
    email: &str,
) -> StoreResult<Option<ConsentRequestRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM consent_requests WHERE sender_id = $1 AND email = $2 AND state = 'pending'"
    )))
    .bind(sender.as_str())
    .bind(email.to_lowercase())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(read).transpose()
}

/// Records the provider's consent id of a pending request.
pub async fn set_provider_ref(
    conn: &mut AnyConnection,
    id: &ConsentRequestId,
    provider_ref: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE consent_requests SET provider_ref = $1, updated_at = $2 WHERE id = $3")
        .bind(provider_ref)
        .bind(now)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves a pending request to where it ends; false when it was no longer pending.
pub async fn settle(
    conn: &mut AnyConnection,
    id: &ConsentRequestId,
    state: RequestState,
    detail: Option<&str>,
    consent: Option<&ConsentId>,
    now: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE consent_requests SET state = $1, state_detail = $2, consent_id = $3, updated_at = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(detail)
    .bind(consent.map(ConsentId::as_str))
    .bind(now)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// The requests of `sender` to `email`, newest first.
    pub async fn consent_requests(&self, sender: &SenderId, email: &str) -> StoreResult<Vec<ConsentRequestRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM consent_requests WHERE sender_id = $1 AND email = $2 ORDER BY created_at DESC, id"
        )))
        .bind(sender.as_str())
        .bind(email.to_lowercase())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(read).collect()
    }

    pub async fn consent_request(&self, id: &ConsentRequestId) -> StoreResult<Option<ConsentRequestRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM consent_requests WHERE id = $1")))
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(read).transpose()
    }
}
