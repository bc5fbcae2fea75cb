//! The AR24 HTTP client: every call signed (token + Paris-time date + AES signature, providers.md §1.2),
//! every answer decrypted when it is ciphertext, and read as AR24's envelope.

use reqwest::multipart::{Form, Part};

use super::crypto;
use super::wire::{self, Ar24Error, Envelope};
use crate::config::Ar24Settings;
use crate::providers::SentFile;
use crate::providers::limit::{RateLimiter, wait_for_slot};
use crate::providers::redact;
use crate::store::now_ms;

/// What went wrong talking to AR24, sorted by what it means for a send.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// AR24 could not be reached: nothing arrived there.
    #[error("AR24 could not be reached: {0}")]
    Unreachable(String),
    /// The request left and no usable answer came back (timeout, reset, 5xx, unreadable body).
    #[error("no usable answer from AR24: {0}")]
    NoAnswer(String),
    #[error("AR24 is in maintenance")]
    Maintenance,
    /// AR24 answered with an error slug.
    #[error("AR24 error `{}`: {}", .0.slug, .0.fix())]
    Refused(Ar24Error),
}

pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    token: String,
    private_key: String,
    limiter: Option<RateLimiter>,
}

impl Client {
    pub fn new(settings: &Ar24Settings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client without custom TLS settings always builds");
        let mut base = settings.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Self {
            http,
            base,
            token: settings.token.expose().to_owned(),
            private_key: settings.private_key.expose().to_owned(),
            limiter: RateLimiter::for_account(settings.max_requests_per_second),
        }
    }

    /// The URL of an endpoint with the signing parameters; returns it with the date used. Every request
    /// waits for a slot of the account's rate limit first, so it is signed with the time it leaves at.
    async fn signed_url(&self, path: &str, query: &[(&str, &str)]) -> Result<(url::Url, String), CallError> {
        wait_for_slot(self.limiter.as_ref()).await;
        let date = wire::paris_date(now_ms());
        let mut url = self.base.join(path).map_err(|e| CallError::Unreachable(format!("bad AR24 URL: {e}")))?;
        url.query_pairs_mut().append_pair("token", &self.token).append_pair("date", &date).extend_pairs(query);
        Ok((url, date))
    }

    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<serde_json::Value, CallError> {
        let (url, date) = self.signed_url(path, query).await?;
        let request = self.http.get(url).header("signature", crypto::sign_date(&self.private_key, &date));
        self.read(request, &date).await
    }

    pub async fn post_form(&self, path: &str, form: &[(String, String)]) -> Result<serde_json::Value, CallError> {
        let (url, date) = self.signed_url(path, &[]).await?;
        let request = self.http.post(url).header("signature", crypto::sign_date(&self.private_key, &date)).form(form);
        self.read(request, &date).await
    }

    /// Uploads a file from disk, streamed, as `POST /attachment` (providers.md §1.5); returns its file id.
    pub async fn upload(&self, user: &str, file: &SentFile, name: &str) -> Result<String, CallError> {
        let part = match file {
            SentFile::OnDisk(path) => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| CallError::Unreachable(format!("{}: {e}", path.display())))?;
                let length = file.metadata().await.map(|m| m.len()).unwrap_or_default();
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
                Part::stream_with_length(body, length)
            }
            SentFile::InMemory(bytes) => Part::stream_with_length(bytes.clone(), bytes.len() as u64),
        };
        let part = part.file_name(name.to_owned());
        let form = Form::new().text("id_user", user.to_owned()).text("file_name", name.to_owned()).part("file", part);
        let (url, date) = self.signed_url("attachment", &[]).await?;
        let request =
            self.http.post(url).header("signature", crypto::sign_date(&self.private_key, &date)).multipart(form);
        let result = self.read(request, &date).await?;
        id_field(&result, "file_id").ok_or_else(|| CallError::NoAnswer("the attachment answer has no file_id".into()))
    }

    /// Downloads a proof: proof URLs carry their own token and are fetched with a plain GET (§1.7).
    pub async fn download(&self, url: &str) -> Result<bytes::Bytes, CallError> {
        wait_for_slot(self.limiter.as_ref()).await;
        let response = self.http.get(url).send().await.map_err(classify)?;
        if !response.status().is_success() {
            return Err(CallError::NoAnswer(format!("proof download answered {}", response.status())));
        }
        response.bytes().await.map_err(classify)
    }

    async fn read(&self, request: reqwest::RequestBuilder, date: &str) -> Result<serde_json::Value, CallError> {
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        let body = response.bytes().await.map_err(classify)?;
        if status.is_server_error() {
            return Err(CallError::NoAnswer(format!("AR24 answered HTTP {status}")));
        }
        let decrypt = |text: &str| crypto::decrypt_response(&self.private_key, date, text);
        match wire::parse_envelope(&body, &decrypt).map_err(CallError::NoAnswer)? {
            Envelope::Success(result) => Ok(result),
            Envelope::Error(e) => Err(CallError::Refused(e)),
            Envelope::Maintenance => Err(CallError::Maintenance),
        }
    }
}

/// A connection that never opened is "unreachable"; anything after the request left is "no answer". The
/// URL carries the token: the text comes from `redact::transport_error`, never from the error itself.
fn classify(e: reqwest::Error) -> CallError {
    if e.is_connect() || e.is_builder() {
        CallError::Unreachable(redact::transport_error(e))
    } else {
        CallError::NoAnswer(redact::transport_error(e))
    }
}

/// An id field that AR24 may give as a number or a string.
pub fn id_field(value: &serde_json::Value, key: &str) -> Option<String> {
    match value.get(key)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
