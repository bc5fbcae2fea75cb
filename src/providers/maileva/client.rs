//! The Maileva HTTP client: every call with a bearer token (refreshed once after a 401), JSON in and out,
//! errors read from `{"errors":[{code,message}]}`, and sorted by what they mean for a send.

use bytes::Bytes;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::Tokens;
use super::wire::{ApiError, read_errors};
use crate::config::MailevaSettings;
use crate::providers::limit::{RateLimiter, wait_for_slot};
use crate::providers::redact;

/// The paper registered letters API.
pub const REGISTERED_MAIL: &str = "registered_mail/v4";
/// The simple electronic registered letters API (ERE).
pub const SECURED_MAIL: &str = "secured_electronic_mail/v1";
/// The qualified electronic registered letters API (LRE qualifiée).
pub const QUALIFIED_MAIL: &str = "electronic_qualified_registered_mail/v1";
/// The senders of electronic letters: their one-time codes.
pub const EMITTERS: &str = "electronic_mail_emitter/v1";
/// The webhooks API.
pub const NOTIFICATIONS: &str = "notification_center/v2";

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Maileva could not be reached: nothing arrived there.
    #[error("Maileva could not be reached: {0}")]
    Unreachable(String),
    /// The request left and no usable answer came back (timeout, reset, 5xx, unreadable body).
    #[error("no usable answer from Maileva: {0}")]
    NoAnswer(String),
    /// The credentials or the token were refused.
    #[error("{0}")]
    Auth(String),
    /// Maileva answered with an error.
    #[error("Maileva answered {status}: {}", describe(.errors))]
    Refused { status: u16, errors: Vec<ApiError> },
}

impl CallError {
    /// The first error code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }
}

/// `CODE: message; CODE: message`.
pub fn describe(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no error detail".into();
    }
    errors.iter().map(|e| format!("{}: {}", e.code, e.message)).collect::<Vec<_>>().join("; ")
}

pub struct Client {
    http: reqwest::Client,
    api: url::Url,
    tokens: Tokens,
    limiter: Option<RateLimiter>,
}

impl Client {
    pub fn new(settings: &MailevaSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client without custom TLS settings always builds");
        let mut api = settings.api_url();
        if !api.path().ends_with('/') {
            api.set_path(&format!("{}/", api.path()));
        }
        Self {
            http,
            api,
            tokens: Tokens::new(settings),
            limiter: RateLimiter::for_account(settings.max_requests_per_second),
        }
    }

    /// `{api}/{path}`, where `path` is `registered_mail/v4/sendings`…
    fn url(&self, path: &str) -> Result<url::Url, CallError> {
        self.api.join(path.trim_start_matches('/')).map_err(|e| CallError::Unreachable(format!("bad Maileva URL: {e}")))
    }

    /// A call with a JSON body (or none), read as JSON.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        query: &[(&str, String)],
    ) -> Result<T, CallError> {
        let bytes = self.call(method, path, body, query).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::NoAnswer(format!("unreadable answer to {path}: {e}")))
    }

    /// A call whose answer body does not matter (submit, delete, patch).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + Sync)>,
        query: &[(&str, String)],
    ) -> Result<Bytes, CallError> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        self.send(|token| {
            let mut request = self.http.request(method.clone(), url.clone()).bearer_auth(token);
            if method == Method::PATCH {
                // notification_center v2.8 documents PATCH bodies as JSON merge patches.
                request = request.header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json");
            }
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
        .await
    }

    /// `POST …/documents`: the file as the `document` part, its metadata as the `metadata` part (JSON), and
    /// with `name_part` its name again as a `name` part (the qualified API's text asks for the metadata, its
    /// schema shows a `name` part: both are sent).
    pub async fn upload(
        &self,
        path: &str,
        content: Bytes,
        name: &str,
        metadata: &str,
        name_part: bool,
    ) -> Result<(), CallError> {
        let url = self.url(path)?;
        self.send(|token| {
            let document = Part::stream(content.clone()).file_name(name.to_owned()).mime_str("application/pdf");
            let metadata = Part::text(metadata.to_owned()).mime_str("application/json");
            let mut form = Form::new();
            if let (Ok(document), Ok(metadata)) = (document, metadata) {
                form = form.part("document", document).part("metadata", metadata);
            }
            if name_part {
                form = form.text("name", name.to_owned());
            }
            self.http.post(url.clone()).bearer_auth(token).multipart(form)
        })
        .await
        .map(drop)
    }

    /// Downloads a document by the URL a recipient record gives (relative to the API, or absolute on the
    /// API's own host: the token is never sent elsewhere).
    pub async fn download(&self, locator: &str) -> Result<Bytes, CallError> {
        let url = match url::Url::parse(locator) {
            Ok(absolute) if absolute.origin() == self.api.origin() => absolute,
            Ok(other) => {
                let shown = redact::display_url(&other);
                return Err(CallError::Unreachable(format!("a proof URL outside the Maileva API: {shown}")));
            }
            // A path that names its API (the electronic proofs) is taken as it is; the paper API's own URLs are
            // relative to it.
            Err(_) if locator.starts_with(SECURED_MAIL) || locator.starts_with(QUALIFIED_MAIL) => self.url(locator)?,
            Err(_) => self.url(&format!("{REGISTERED_MAIL}/{}", locator.trim_start_matches('/')))?,
        };
        self.send(|token| self.http.get(url.clone()).bearer_auth(token).header("accept", "application/pdf")).await
    }

    /// Sends with a valid token; a 401 forgets the token and tries once more with a new one (a request
    /// refused for its token was not carried out). Each request waits for a slot of the account's rate
    /// limit; the token endpoint, another service, is not counted.
    async fn send(&self, build: impl Fn(&str) -> reqwest::RequestBuilder) -> Result<Bytes, CallError> {
        let mut refused_once = false;
        loop {
            let token = self.tokens.access(&self.http).await?;
            wait_for_slot(self.limiter.as_ref()).await;
            let response = build(&token).send().await.map_err(classify)?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && !refused_once {
                refused_once = true;
                self.tokens.forget().await;
                continue;
            }
            let body = response.bytes().await.map_err(|e| CallError::NoAnswer(redact::transport_error(e)))?;
            if status.is_server_error() {
                return Err(CallError::NoAnswer(format!("Maileva answered HTTP {status}")));
            }
            if status == reqwest::StatusCode::UNAUTHORIZED {
                return Err(CallError::Auth("Maileva refused a fresh access token (HTTP 401)".into()));
            }
            if !status.is_success() {
                return Err(CallError::Refused { status: status.as_u16(), errors: read_errors(&body) });
            }
            return Ok(body);
        }
    }
}

/// A connection that never opened is "unreachable"; anything after the request left is "no answer".
fn classify(e: reqwest::Error) -> CallError {
    if e.is_connect() || e.is_builder() {
        CallError::Unreachable(redact::transport_error(e))
    } else {
        CallError::NoAnswer(redact::transport_error(e))
    }
}
