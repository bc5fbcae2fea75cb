//! Timestamps as the API, the callbacks and the emails show them: RFC 3339 in UTC, from the unix
//! milliseconds the store keeps. One formatter, so no two places disagree on the form.

use chrono::{SecondsFormat, TimeZone, Utc};

/// `2026-11-29T20:48:42.123Z`.
pub fn rfc3339(ms: i64) -> String {
    format_ms(ms, SecondsFormat::Millis)
}

/// `2026-11-29T20:48:42Z`, where a second is precise enough (emails, consents, keys).
pub fn rfc3339_secs(ms: i64) -> String {
    format_ms(ms, SecondsFormat::Secs)
}

fn format_ms(ms: i64, precision: SecondsFormat) -> String {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().to_rfc3339_opts(precision, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_since_the_epoch_become_utc_rfc3339() {
        assert_eq!(rfc3339(1_764_449_322_123), "2025-11-29T20:48:42.123Z");
        assert_eq!(rfc3339_secs(1_764_449_322_123), "2025-11-29T20:48:42Z");
    }
}
