//! The one place where a transport error or a provider's words become text: URLs lose their query string
//! and credentials (AR24 signs with `token=` in the query), and a provider's secrets are masked wherever
//! they appear. Text made here may reach logs, events, `state_detail`, job errors and emails.

use std::error::Error as _;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// A transport error in words, without its URL: the cause chain (connection refused, timed out…) is kept.
pub fn transport_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = source.and_then(|s| s.source());
    }
    strip_urls(&text)
}

/// A URL fit to show: scheme, host, port and path only.
pub fn display_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Replaces every URL in `text` by its displayable form (a cause deep in a chain may still print one).
pub fn strip_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = first_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end =
            tail.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ',')).unwrap_or(tail.len());
        match url::Url::parse(&tail[..end]) {
            Ok(url) => out.push_str(display_url(&url).trim_end_matches('/')),
            Err(_) => out.push_str("[url]"),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

fn first_url(text: &str) -> Option<usize> {
    ["http://", "https://"].iter().filter_map(|scheme| text.find(scheme)).min()
}

/// Masks known secrets in text that came from elsewhere (a provider's error message may echo a request).
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    /// Secrets shorter than 6 characters are not masked: they would mask ordinary words.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        Self { secrets: secrets.into_iter().filter(|s| s.len() >= 6).map(str::to_owned).collect() }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut text = strip_urls(text);
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_in_an_error_loses_its_query_and_credentials() {
        let text = "error sending request for url (http://user:pw@127.0.0.1:1/api/mail?token=abc123&date=x): refused";
        let shown = strip_urls(text);
        assert_eq!(shown, "error sending request for url (http://127.0.0.1:1/api/mail): refused");
    }

    #[test]
    fn text_without_urls_is_unchanged() {
        assert_eq!(strip_urls("connection refused (os error 111)"), "connection refused (os error 111)");
    }

    #[test]
    fn known_secrets_are_masked_wherever_they_appear() {
        let scrubber = Scrubber::new(["s3cret-token", "abc"]);
        assert_eq!(scrubber.scrub("AR24 said: bad token s3cret-token (abc)"), "AR24 said: bad token [redacted] (abc)");
    }

    #[tokio::test]
    async fn a_refused_connection_is_described_without_its_url() {
        let e = reqwest::Client::new().get("http://127.0.0.1:1/api/mail?token=leaky-token").send().await.unwrap_err();
        let text = transport_error(e);
        assert!(!text.contains("leaky-token") && !text.contains("token="), "{text}");
        assert!(text.contains("connect") || text.contains("refused"), "the cause is kept: {text}");
    }
}
