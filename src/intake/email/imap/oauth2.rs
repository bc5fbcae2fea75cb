//! XOAUTH2 access tokens for a mailbox: a fixed token read from a file at each login, or one obtained from
//! the mail provider's token endpoint with a refresh token (RFC 6749 §6) and kept until shortly before it
//! expires. Gmail and Microsoft 365 mailboxes are reached this way once basic authentication is off.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{ImapOAuth2Settings, Secret};

/// A token is renewed this long before the expiry the endpoint announced, so a login never races it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Assumed lifetime when the endpoint does not say (`expires_in` is only RECOMMENDED by RFC 6749).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The token endpoint must answer within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why no access token could be had. The texts name the endpoint's error code, never a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the access token file {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("the access token file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("token endpoint unreachable: {0}")]
    Unreachable(String),
    /// The endpoint refused the refresh token (`invalid_grant` when it was revoked or expired).
    #[error("token endpoint refused the refresh: {0}")]
    Refused(String),
    #[error("token endpoint answered HTTP {0} without an OAuth error")]
    Status(u16),
    #[error("token endpoint answered without an access token")]
    Malformed,
}

/// Where a mailbox's XOAUTH2 access token comes from.
#[derive(Debug)]
pub enum AccessTokens {
    /// A token kept fresh by something else (a sidecar, a cron job): read again at every login.
    File(PathBuf),
    /// Obtained and renewed by relais from a refresh token.
    Refreshed(Box<RefreshingTokens>),
}

impl AccessTokens {
    /// A token to log in with now.
    pub async fn current(&self) -> Result<Secret, TokenError> {
        match self {
            AccessTokens::File(path) => read_token_file(path),
            AccessTokens::Refreshed(source) => source.current().await,
        }
    }

    /// The server refused the last token: forget it, so the next login asks for a new one.
    pub async fn rejected(&self) {
        if let AccessTokens::Refreshed(source) = self {
            source.cached.lock().await.access = None;
        }
    }
}

fn read_token_file(path: &Path) -> Result<Secret, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::File(path.to_owned(), e))?;
    match text.trim() {
        "" => Err(TokenError::EmptyFile(path.to_owned())),
        token => Ok(Secret::new(token.to_owned())),
    }
}

/// The refresh-token grant against one token endpoint.
#[derive(Debug)]
pub struct RefreshingTokens {
    settings: ImapOAuth2Settings,
    client: reqwest::Client,
    cached: Mutex<Cached>,
}

#[derive(Debug)]
struct Cached {
    /// The newest refresh token: some providers (Microsoft) hand out a new one with each access token.
    refresh: Secret,
    access: Option<(Secret, Instant)>,
}

/// RFC 6749 §5.1 (success) and §5.2 (error) in one shape; unknown fields are ignored.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
}

impl RefreshingTokens {
    pub fn new(settings: ImapOAuth2Settings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with only a timeout and no redirects builds");
        let refresh = settings.refresh_token.clone();
        Self { settings, client, cached: Mutex::new(Cached { refresh, access: None }) }
    }

    /// The cached token while it has more than a minute to live, else a new one. Holding the lock across
    /// the request makes concurrent logins share one refresh.
    async fn current(&self) -> Result<Secret, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = &cached.access
            && Instant::now() + EXPIRY_MARGIN < *until
        {
            return Ok(token.clone());
        }
        let answer = self.refresh(&cached.refresh).await?;
        let token = Secret::new(answer.access_token.ok_or(TokenError::Malformed)?);
        let lifetime = answer.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME);
        cached.access = Some((token.clone(), Instant::now() + lifetime));
        if let Some(rotated) = answer.refresh_token.filter(|r| !r.is_empty() && r != cached.refresh.expose()) {
            cached.refresh = Secret::new(rotated);
            self.keep_rotated(&cached.refresh);
        }
        Ok(token)
    }

    async fn refresh(&self, refresh_token: &Secret) -> Result<TokenAnswer, TokenError> {
        let s = &self.settings;
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", s.client_id.as_str()),
        ];
        if !s.client_secret.is_empty() {
            form.push(("client_secret", s.client_secret.expose()));
        }
        if let Some(scope) = &s.scope {
            form.push(("scope", scope.as_str()));
        }
        let response = self
            .client
            .post(&s.token_url)
            .form(&form)
            .send()
            .await
            // Without the URL: reqwest's text would repeat it, and nothing else in the error is secret.
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let answer: Option<TokenAnswer> = response.json().await.ok();
        match answer {
            Some(TokenAnswer { error: Some(code), .. }) => Err(TokenError::Refused(printable(&code))),
            Some(answer) if status.is_success() => Ok(answer),
            _ if status.is_success() => Err(TokenError::Malformed),
            _ => Err(TokenError::Status(status.as_u16())),
        }
    }

    /// Writes a rotated refresh token back to `refresh_token_file`, so a restart does not fall back to one
    /// the provider may since have retired. The old file stays whole if the write fails.
    fn keep_rotated(&self, refresh: &Secret) {
        let Some(path) = &self.settings.refresh_token_file else { return };
        match replace_file(path, refresh.expose()) {
            Ok(()) => tracing::info!(file = %path.display(), "IMAP OAuth2 refresh token rotated and saved"),
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot save the rotated refresh token"),
        }
    }
}

/// Writes `secret` to a new file readable by its owner only, flushed to disk, then renames it over `path`.
fn replace_file(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&partial)?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// An error code from the endpoint, cut short and stripped of anything but visible ASCII.
fn printable(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}
