//! What the console shows across senders: letters searched by any field a person remembers, counts by
//! state since a date, and spend per sender.

use sqlx::Row;

use super::letters::{LETTER_COLUMNS, letter_from_row};
use super::{Store, StoreResult};
use crate::domain::{LetterState, SenderId};
use crate::store::LetterRecord;

/// A search of letters; `senders` is never empty (the senders the person may see).
#[derive(Debug, Clone, Default)]
pub struct LetterSearch {
    pub senders: Vec<SenderId>,
    pub state: Option<LetterState>,
    pub template: Option<String>,
    /// Matched, ignoring case, against the reference, the recipient's email and the recipient's names.
    pub text: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `%text%` for LIKE, with the wildcards of `text` taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Letters matching `search`, newest first.
    pub async fn search_letters(&self, search: &LetterSearch) -> StoreResult<Vec<LetterRecord>> {
        let n = search.senders.len();
        let mut sql = format!("SELECT {LETTER_COLUMNS} FROM letters WHERE sender_id IN ({})", placeholders(1, n));
        let mut conditions: Vec<&str> = Vec::new();
        if search.state.is_some() {
            conditions.push("state = $?");
        }
        if search.template.is_some() {
            conditions.push("template = $?");
        }
        if search.text.is_some() {
            conditions.push(
                "(LOWER(COALESCE(reference, '')) LIKE $? ESCAPE '\\' OR LOWER(recipient_email) LIKE $= ESCAPE '\\' \
                 OR LOWER(recipient) LIKE $= ESCAPE '\\')",
            );
        }
        if search.created_from.is_some() {
            conditions.push("created_at >= $?");
        }
        if search.created_to.is_some() {
            conditions.push("created_at < $?");
        }
        let mut next = n + 1;
        for condition in conditions {
            // `$?` is the next parameter; `$=` the same one again.
            sql.push_str(" AND ");
            sql.push_str(&condition.replace("$?", &format!("${next}")).replace("$=", &format!("${next}")));
            next += 1;
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${next} OFFSET ${}", next + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for sender in &search.senders {
            query = query.bind(sender.as_str());
        }
        if let Some(state) = search.state {
            query = query.bind(state.as_str());
        }
        if let Some(template) = &search.template {
            query = query.bind(template.clone());
        }
        if let Some(text) = &search.text {
            query = query.bind(like_pattern(text));
        }
        if let Some(from) = search.created_from {
            query = query.bind(from);
        }
        if let Some(to) = search.created_to {
            query = query.bind(to);
        }
        let rows = query.bind(search.limit).bind(search.offset).fetch_all(&self.reader).await?;
        rows.iter().map(letter_from_row).collect()
    }

    /// How many letters of `senders` created since `since` are in each state.
    pub async fn count_by_state(&self, senders: &[SenderId], since: i64) -> StoreResult<Vec<(LetterState, i64)>> {
        let sql = format!(
            "SELECT state, COUNT(*) AS n FROM letters WHERE sender_id IN ({}) AND created_at >= ${} GROUP BY state",
            placeholders(1, senders.len()),
            senders.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for sender in senders {
            query = query.bind(sender.as_str());
        }
        let rows = query.bind(since).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let state = state.parse().map_err(super::StoreError::Corrupt)?;
                Ok((state, r.try_get("n")?))
            })
            .collect()
    }

    /// How many letters of `senders` are in `state` now, whenever they were created.
    pub async fn count_now_in(&self, senders: &[SenderId], state: LetterState) -> StoreResult<i64> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM letters WHERE sender_id IN ({}) AND state = ${}",
            placeholders(1, senders.len()),
            senders.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for sender in senders {
            query = query.bind(sender.as_str());
        }
        Ok(query.bind(state.as_str()).fetch_one(&self.reader).await?.try_get("n")?)
    }

    /// The cost of the letters of each of `senders` created since `since`, in cents.
    pub async fn spend_by_sender(&self, senders: &[SenderId], since: i64) -> StoreResult<Vec<(String, i64)>> {
        let sql = format!(
            "SELECT sender_id, CAST(COALESCE(SUM(cost_cents), 0) AS BIGINT) AS cents FROM letters WHERE sender_id IN ({}) \
             AND created_at >= ${} GROUP BY sender_id ORDER BY sender_id",
            placeholders(1, senders.len()),
            senders.len() + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for sender in senders {
            query = query.bind(sender.as_str());
        }
        let rows = query.bind(since).fetch_all(&self.reader).await?;
        rows.iter().map(|r| Ok((r.try_get("sender_id")?, r.try_get("cents")?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_wildcards_are_literal() {
        assert_eq!(like_pattern("50%_A"), "%50\\%\\_a%");
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}
