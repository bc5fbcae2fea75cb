//! The fake AR24's request authentication: `token` + `date` + `signature` header (providers.md §1.2).

use chrono::{NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use super::wire::Incoming;

/// How far the signed date may be from now, either way (providers.md §1.2: "+10 minutes").
const WINDOW_MINUTES: i64 = 10;

/// Checks the credentials of an `/api/` request; returns the date it was signed with (the response key
/// needs it) or the slug AR24 answers.
pub fn check(incoming: &Incoming, token: &str, private_key: &str) -> Result<String, &'static str> {
    match incoming.param("token") {
        None => return Err("token_missing"),
        Some(sent) if sent != token => return Err("token_invalid"),
        Some(_) => {}
    }
    let date = incoming.param("date").ok_or("empty_date")?;
    check_window(date)?;
    // AR24 documents no slug for a bad signature; a signature that does not decrypt to the date is treated
    // like a wrong token (the fake's own choice).
    let signed =
        incoming.signature.as_deref().and_then(|s| relais::providers::ar24::crypto::signed_date(private_key, s));
    if signed.as_deref() != Some(date) {
        return Err("token_invalid");
    }
    Ok(date.to_string())
}

/// The date is Europe/Paris local time `YYYY-MM-DD HH:mm:ss` (providers.md §1.2).
fn check_window(date: &str) -> Result<(), &'static str> {
    let naive = NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S").map_err(|_| "invalid_date")?;
    // A local time that does not exist (spring-forward gap) cannot be a real Paris clock reading.
    let at = Paris.from_local_datetime(&naive).earliest().ok_or("invalid_date")?.with_timezone(&Utc);
    let offset = at - Utc::now();
    let window = TimeDelta::minutes(WINDOW_MINUTES);
    if offset < -window {
        Err("expired_date")
    } else if offset > window {
        Err("date_in_future")
    } else {
        Ok(())
    }
}
