//! The sandbox provider's own records: what it was asked to send and when each stage happens.

use sqlx::Row;

use super::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxLetter {
    pub provider_ref: String,
    pub account: String,
    pub letter_id: String,
    /// JSON: the facts printed on the proofs (parties, content hash).
    pub facts: String,
    pub outcome: String,
    pub submitted_at: i64,
    pub deposit_at: i64,
    pub outcome_at: i64,
    /// 0: nothing announced yet, 1: deposit announced, 2: outcome announced.
    pub notified_stage: i64,
}

const COLUMNS: &str =
    "provider_ref, account, letter_id, facts, outcome, submitted_at, deposit_at, outcome_at, notified_stage";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<SandboxLetter> {
    Ok(SandboxLetter {
        provider_ref: r.try_get("provider_ref")?,
        account: r.try_get("account")?,
        letter_id: r.try_get("letter_id")?,
        facts: r.try_get("facts")?,
        outcome: r.try_get("outcome")?,
        submitted_at: r.try_get("submitted_at")?,
        deposit_at: r.try_get("deposit_at")?,
        outcome_at: r.try_get("outcome_at")?,
        notified_stage: r.try_get("notified_stage")?,
    })
}

impl Store {
    /// Stores a sandbox letter; the same letter id for the same account is stored once (the provider's own
    /// duplicate guard, like a real provider's client reference).
    pub async fn insert_sandbox_letter(&self, l: &SandboxLetter) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sandbox_letters (provider_ref, account, letter_id, facts, outcome, submitted_at, deposit_at, \
             outcome_at, notified_stage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (account, letter_id) DO NOTHING",
        )
        .bind(&l.provider_ref)
        .bind(&l.account)
        .bind(&l.letter_id)
        .bind(&l.facts)
        .bind(&l.outcome)
        .bind(l.submitted_at)
        .bind(l.deposit_at)
        .bind(l.outcome_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn sandbox_letter(&self, account: &str, provider_ref: &str) -> StoreResult<Option<SandboxLetter>> {
        let sql = format!("SELECT {COLUMNS} FROM sandbox_letters WHERE account = $1 AND provider_ref = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(provider_ref).fetch_optional(&self.reader).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn sandbox_letter_by_letter(&self, account: &str, letter_id: &str) -> StoreResult<Option<SandboxLetter>> {
        let sql = format!("SELECT {COLUMNS} FROM sandbox_letters WHERE account = $1 AND letter_id = $2");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(letter_id).fetch_optional(&self.reader).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Sandbox letters with a stage due (deposit or outcome) that has not been announced by webhook yet.
    pub async fn sandbox_letters_due(&self, account: &str, now: i64) -> StoreResult<Vec<SandboxLetter>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sandbox_letters WHERE account = $1 AND \
             ((notified_stage < 1 AND deposit_at <= $2) OR (notified_stage < 2 AND outcome_at <= $2)) LIMIT 100"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(now).fetch_all(&self.reader).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn mark_sandbox_notified(&self, provider_ref: &str, stage: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sandbox_letters SET notified_stage = $1 WHERE provider_ref = $2 AND notified_stage < $1")
            .bind(stage)
            .bind(provider_ref)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
