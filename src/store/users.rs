//! Console users, their server-side sessions, and the failed sign-ins that throttle password guessing.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult};
use crate::accounts::users::Role;
use crate::domain::{SenderId, UserId};

/// A console user as stored (the password hash never leaves `accounts::users`).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    /// The senders this user acts for; empty means every configured sender.
    pub senders: Vec<SenderId>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// A live session and the user it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub hash: String,
    pub user: UserRecord,
    pub csrf_token: String,
    pub expires_at: i64,
}

const USER_COLUMNS: &str = "u.id, u.email, u.password_hash, u.role, u.senders, u.created_at, u.disabled_at";

fn user_from_row(r: &AnyRow) -> StoreResult<UserRecord> {
    let senders: String = r.try_get("senders")?;
    Ok(UserRecord {
        id: r.try_get::<String, _>("id")?.parse().map_err(StoreError::Corrupt)?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get::<String, _>("role")?.parse().map_err(StoreError::Corrupt)?,
        senders: senders
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, String>>()
            .map_err(StoreError::Corrupt)?,
        created_at: r.try_get("created_at")?,
        disabled_at: r.try_get("disabled_at")?,
    })
}

fn senders_storage(senders: &[SenderId]) -> String {
    senders.iter().map(SenderId::as_str).collect::<Vec<_>>().join(",")
}

impl Store {
    /// Inserts a user; false when the email is taken (or, with `only_if_none`, when any user exists).
    pub async fn insert_user(&self, user: &UserRecord, only_if_none: bool) -> StoreResult<bool> {
        let guard = if only_if_none {
            " WHERE NOT EXISTS (SELECT 1 FROM console_users)"
        } else {
            " WHERE NOT EXISTS (SELECT 1 FROM console_users WHERE email = $2)"
        };
        let sql = format!(
            "INSERT INTO console_users (id, email, password_hash, role, senders, created_at, password_changed_at) \
             SELECT $1, $2, $3, $4, $5, $6, $6{guard}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.id.as_str())
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(senders_storage(&user.senders))
            .bind(user.created_at)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users u ORDER BY u.email");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.reader).await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users u WHERE u.email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(&self.reader).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM console_users u WHERE u.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&self.reader).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Disables a user and revokes their sessions, in one transaction.
    pub async fn disable_user(&self, id: &UserId, now: i64) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE console_users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        revoke_sessions_in(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a new password hash and revokes every session of the user (the old password's sessions end).
    pub async fn set_password(&self, id: &UserId, hash: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE console_users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        revoke_sessions_in(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_session(
        &self,
        hash: &str,
        user: &UserId,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO console_sessions (hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash)
        .bind(user.as_str())
        .bind(csrf_token)
        .bind(now)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The session with this hash, when it is neither revoked nor expired and its user is not disabled.
    pub async fn live_session(&self, hash: &str, now: i64) -> StoreResult<Option<SessionRecord>> {
        let sql = format!(
            "SELECT s.hash, s.csrf_token, s.expires_at, {USER_COLUMNS} FROM console_sessions s \
             JOIN console_users u ON u.id = s.user_id \
             WHERE s.hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).bind(now).fetch_optional(&self.reader).await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            hash: row.try_get("hash")?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
            user: user_from_row(&row)?,
        }))
    }

    pub async fn revoke_session(&self, hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE console_sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records a failed sign-in for each subject (`account:…`, `ip:…`) and forgets those older than `before`.
    pub async fn record_login_failure(&self, subjects: &[String], now: i64, before: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM console_login_failures WHERE at < $1").bind(before).execute(&mut *tx).await?;
        for subject in subjects {
            sqlx::query("INSERT INTO console_login_failures (subject, at) VALUES ($1, $2)")
                .bind(subject)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Failed sign-ins of `subject` since `since`.
    pub async fn login_failures(&self, subject: &str, since: i64) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM console_login_failures WHERE subject = $1 AND at >= $2")
            .bind(subject)
            .bind(since)
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Forgets an account's failures after it signed in.
    pub async fn clear_login_failures(&self, subject: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_login_failures WHERE subject = $1")
            .bind(subject)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

async fn revoke_sessions_in(tx: &mut super::Tx, user: &UserId, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE console_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
