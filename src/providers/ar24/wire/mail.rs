//! The letter record AR24 returns, read leniently, and what it means for our states and proofs.

use serde_json::Value;

use super::time::paris_time_ms;
use super::{flag, is_zero_date, text_field};
use crate::domain::LetterState;
use crate::providers::{ProofKind, ProofLink};

/// A letter as AR24 returns it from POST /mail, GET /mail?id= and the GET /user/mail list.
/// Lenient: ids and prices may come as numbers or strings, absent/empty/null fields are None, unknown fields ignored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MailRecord {
    pub id: String,
    pub status: String,
    pub ref_dossier: Option<String>,
    pub ref_client: Option<String>,
    /// As given, e.g. "3.49".
    pub price_ht: Option<String>,
    pub is_eidas: Option<bool>,
    pub to_email: Option<String>,
    /// When AR24 recorded the letter. "Y-m-d H:i:s", Europe/Paris, like every AR24 date.
    pub date: Option<String>,
    pub ts_ev_date: Option<String>,
    pub view_date: Option<String>,
    pub refused_date: Option<String>,
    pub negligence_date: Option<String>,
    pub bounced_date: Option<String>,
    /// Also read from `proof_dp_url` when `proof_ev_url` is absent.
    pub proof_ev_url: Option<String>,
    pub proof_ar_url: Option<String>,
    pub proof_rf_url: Option<String>,
    pub proof_ng_url: Option<String>,
    pub proof_bc_url: Option<String>,
}

impl MailRecord {
    /// From the `result` of an envelope (an object), or an error naming what is missing (`id`).
    pub fn from_result(result: &Value) -> Result<Self, String> {
        let fields = result.as_object().ok_or("the AR24 letter is not a JSON object")?;
        let id = text_field(fields, "id").ok_or("the AR24 letter has no `id`")?;
        let text = |key: &str| text_field(fields, key);
        let date = |key: &str| text_field(fields, key).filter(|d| !is_zero_date(d));
        Ok(Self {
            id,
            status: text("status").unwrap_or_default(),
            ref_dossier: text("ref_dossier"),
            ref_client: text("ref_client"),
            price_ht: text("price_ht"),
            is_eidas: fields.get("is_eidas").and_then(flag),
            to_email: text("to_email"),
            date: date("date"),
            ts_ev_date: date("ts_ev_date"),
            view_date: date("view_date"),
            refused_date: date("refused_date"),
            negligence_date: date("negligence_date"),
            bounced_date: date("bounced_date"),
            // php-ar24-client reads `proof_dp_url` for the deposit proof (providers.md §1.7).
            proof_ev_url: text("proof_ev_url").or_else(|| text("proof_dp_url")),
            proof_ar_url: text("proof_ar_url"),
            proof_rf_url: text("proof_rf_url"),
            proof_ng_url: text("proof_ng_url"),
            proof_bc_url: text("proof_bc_url"),
        })
    }

    /// Our state for this record, deciding from the dates and proof URLs first (they are certain) and the
    /// status word second: bounced_date/proof_bc_url → Bounced; view_date/proof_ar_url → Delivered;
    /// refused_date/proof_rf_url → Refused; negligence_date/proof_ng_url → NotClaimed;
    /// ts_ev_date/proof_ev_url → Deposited; status "waiting" (or "draft"/"pending"/"new") → Submitting;
    /// status words "sent"/"ev"/"dp" → Deposited, "AR"/"ar"/"accepted"/"received" → Delivered,
    /// "refused"/"rf" → Refused, "negligence"/"ng"/"not_claimed" → NotClaimed, "bounced"/"bc" → Bounced;
    /// anything else → None (unknown: the caller flags it, keeping the raw status).
    pub fn state(&self) -> Option<LetterState> {
        // Only `waiting` is a confirmed status word; the dates and proof URLs are certain (providers.md §1.7).
        let evidence = [
            (&self.bounced_date, &self.proof_bc_url, LetterState::Bounced),
            (&self.view_date, &self.proof_ar_url, LetterState::Delivered),
            (&self.refused_date, &self.proof_rf_url, LetterState::Refused),
            (&self.negligence_date, &self.proof_ng_url, LetterState::NotClaimed),
            (&self.ts_ev_date, &self.proof_ev_url, LetterState::Deposited),
        ];
        if let Some((_, _, state)) = evidence.iter().find(|(date, url, _)| date.is_some() || url.is_some()) {
            return Some(*state);
        }
        match self.status.trim().to_ascii_lowercase().as_str() {
            "waiting" | "draft" | "pending" | "new" => Some(LetterState::Submitting),
            "sent" | "ev" | "dp" => Some(LetterState::Deposited),
            "ar" | "accepted" | "received" => Some(LetterState::Delivered),
            "refused" | "rf" => Some(LetterState::Refused),
            "negligence" | "ng" | "not_claimed" => Some(LetterState::NotClaimed),
            "bounced" | "bc" => Some(LetterState::Bounced),
            _ => None,
        }
    }

    /// The proofs this record offers, one per present proof URL, in the order of a letter's life.
    pub fn proofs(&self) -> Vec<ProofLink> {
        [
            (ProofKind::Deposit, &self.proof_ev_url),
            (ProofKind::Receipt, &self.proof_ar_url),
            (ProofKind::Refusal, &self.proof_rf_url),
            (ProofKind::NonClaim, &self.proof_ng_url),
            (ProofKind::Bounce, &self.proof_bc_url),
        ]
        .into_iter()
        .filter_map(|(kind, url)| url.clone().map(|locator| ProofLink { kind, locator }))
        .collect()
    }

    /// The deposit time in unix milliseconds (ts_ev_date read as Europe/Paris local time).
    /// When AR24 recorded the letter (unix milliseconds).
    pub fn recorded_at(&self) -> Option<i64> {
        self.date.as_deref().and_then(paris_time_ms)
    }

    pub fn deposited_at(&self) -> Option<i64> {
        self.ts_ev_date.as_deref().and_then(paris_time_ms)
    }

    /// price_ht in euro cents ("3.49" → 349, "3,49" → 349, 3.99 → 399), rounded half up past the cent.
    pub fn price_cents(&self) -> Option<i64> {
        self.price_ht.as_deref().and_then(cents)
    }
}

/// A decimal euro amount in cents, read without floating point so "3.49" is exactly 349.
fn cents(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('€').trim().replace(',', ".");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let digit = |i: usize| fraction.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let round = i64::from(digit(2) >= 5);
    let value = whole.checked_mul(100)?.checked_add(digit(0) * 10 + digit(1) + round)?;
    Some(if negative { -value } else { value })
}

/// The list of letters in a GET /user/mail result: `result` may be an array, or an object holding an
/// array under `mails`, `emails` or `list` (accept each); each item parsed with MailRecord::from_result.
/// A null result is an empty list, and an object keyed by id stands for an array (PHP encodes a
/// non-sequential array so).
pub fn mail_list(result: &Value) -> Result<Vec<MailRecord>, String> {
    // The clients disagree on the key (providers.md §1.7 lists the route, not the shape): accept each.
    let items = match result {
        Value::Object(fields) => ["mails", "emails", "list"]
            .iter()
            .find_map(|key| fields.get(*key))
            .ok_or("the AR24 letter list has none of `mails`, `emails`, `list`")?,
        other => other,
    };
    let items: Vec<&Value> = match items {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        Value::Object(by_id) => by_id.values().collect(),
        _ => return Err("the AR24 letter list is not an array".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(n, item)| MailRecord::from_result(item).map_err(|e| format!("letter {n} of the list: {e}")))
        .collect()
}
