//! AR24's dates: `YYYY-MM-DD HH:mm:ss` in Europe/Paris local time.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Paris;

/// Parses "YYYY-MM-DD HH:mm:ss" as Europe/Paris local time into unix milliseconds. DST folds take the earlier
/// of the two instants; a time inside a DST gap takes the first instant after it (03:00 local, the gap's end).
pub fn paris_time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())?;
    match Paris.from_local_datetime(&naive) {
        LocalResult::Single(at) => Some(at.timestamp_millis()),
        LocalResult::Ambiguous(first, second) => Some(first.timestamp_millis().min(second.timestamp_millis())),
        LocalResult::None => gap_end(naive),
    }
}

/// The first valid local minute after a time in a DST gap (Paris gaps last one hour and end on the hour).
fn gap_end(naive: NaiveDateTime) -> Option<i64> {
    let minute = naive.with_second(0)?;
    (1..=180).find_map(|step| {
        let later = minute.checked_add_signed(TimeDelta::minutes(step))?;
        Paris.from_local_datetime(&later).earliest().map(|at| at.timestamp_millis())
    })
}

/// Formats a unix-ms instant as AR24's `date` parameter: "YYYY-MM-DD HH:mm:ss" in Europe/Paris (providers.md §1.2).
pub fn paris_date(ms: i64) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    at.with_timezone(&Paris).format("%Y-%m-%d %H:%M:%S").to_string()
}
