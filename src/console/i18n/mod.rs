//! The console's words in French (the default) and English: chosen by the `relais_lang` cookie (the switch
//! in the page footer), else by `Accept-Language`.

use axum::http::HeaderMap;

use crate::domain::LetterState;
use words::WORDS;

mod words;

pub const LANG_COOKIE: &str = "relais_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn of(headers: &HeaderMap) -> Lang {
        match super::session::cookie(headers, LANG_COOKIE) {
            Some("en") => return Lang::En,
            Some("fr") => return Lang::Fr,
            _ => {}
        }
        let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let first = accept
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .find(|t| t.starts_with("en") || t.starts_with("fr"));
        if first.is_some_and(|t| t.starts_with("en")) { Lang::En } else { Lang::Fr }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The word for `key`; the key itself when it has none (a test keeps every key used in the table).
    pub fn t(self, key: &str) -> &'static str {
        match WORDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, fr, en)) => match self {
                Lang::Fr => fr,
                Lang::En => en,
            },
            None => "?",
        }
    }

    /// A letter state in words.
    pub fn state(self, state: LetterState) -> &'static str {
        self.t(state.as_str())
    }

    /// A date and time in the person's language (UTC+1/+2 are the senders' zone: Europe/Paris).
    pub fn datetime(self, ms: i64) -> String {
        use chrono::TimeZone;
        let Some(at) = chrono::Utc.timestamp_millis_opt(ms).single() else { return String::new() };
        let at = at.with_timezone(&chrono_tz::Europe::Paris);
        match self {
            Lang::Fr => at.format("%d/%m/%Y %H:%M").to_string(),
            Lang::En => at.format("%Y-%m-%d %H:%M").to_string(),
        }
    }

    /// Euros from cents: "3,49 €" or "€3.49".
    pub fn money(self, cents: i64) -> String {
        let (units, rest) = (cents / 100, (cents % 100).abs());
        match self {
            Lang::Fr => format!("{units},{rest:02} €"),
            Lang::En => format!("€{units}.{rest:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_words() {
        for state in LetterState::ALL {
            assert_ne!(Lang::Fr.state(state), "?", "{state:?}");
        }
    }

    #[test]
    fn english_is_chosen_by_accept_language_or_the_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::Fr);
        headers.insert("accept-language", "en-GB,en;q=0.9,fr;q=0.5".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert("cookie", "relais_lang=fr".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::Fr);
    }

    #[test]
    fn every_word_a_page_asks_for_is_in_the_table() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/console");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Ok(page) = std::fs::read_to_string(&path) else { continue };
            for piece in page.split("c.t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                if Lang::Fr.t(key) == "?" {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "words missing from the table: {missing:?}");
    }

    #[test]
    fn money_is_written_the_local_way() {
        assert_eq!(Lang::Fr.money(349), "3,49 €");
        assert_eq!(Lang::En.money(1205), "€12.05");
    }
}
