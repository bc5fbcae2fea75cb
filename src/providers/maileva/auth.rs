//! Maileva's OAuth2 tokens (api-authentication v2.1, providers.md §2.1): the password grant with the
//! application's Basic credentials, cached and refreshed (`refresh_token` grant) before they expire.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::client::CallError;
use super::wire::{TokenAnswer, read_errors};
use crate::config::MailevaSettings;
use crate::providers::redact;

/// A token is renewed this long before Maileva says it expires (clocks and slow requests).
const MARGIN: Duration = Duration::from_secs(30);
/// When Maileva gives no `expires_in`, the token is kept this long (an inference: Keycloak's default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

struct Token {
    access: String,
    expires: Instant,
    refresh: Option<(String, Instant)>,
}

pub struct Tokens {
    url: url::Url,
    client_id: String,
    client_secret: String,
    username: String,
    password: String,
    cached: Mutex<Option<Token>>,
}

impl Tokens {
    pub fn new(settings: &MailevaSettings) -> Self {
        Self {
            url: settings.token_url(),
            client_id: settings.client_id.expose().to_owned(),
            client_secret: settings.client_secret.expose().to_owned(),
            username: settings.username.expose().to_owned(),
            password: settings.password.expose().to_owned(),
            cached: Mutex::new(None),
        }
    }

    /// A valid access token: the cached one, a refreshed one, or a new one from the password grant.
    pub async fn access(&self, http: &reqwest::Client) -> Result<String, CallError> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(token) = cached.as_ref().filter(|t| t.expires > now + MARGIN) {
            return Ok(token.access.clone());
        }
        let refresh = cached.as_ref().and_then(|t| t.refresh.clone()).filter(|(_, until)| *until > now + MARGIN);
        let fresh = match refresh {
            Some((refresh, _)) => {
                match self.grant(http, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await {
                    Ok(token) => token,
                    // A refresh token Maileva no longer honours: start again from the password.
                    Err(CallError::Auth(_)) => self.password_grant(http).await?,
                    Err(e) => return Err(e),
                }
            }
            None => self.password_grant(http).await?,
        };
        let access = fresh.access.clone();
        *cached = Some(fresh);
        Ok(access)
    }

    /// Forgets the cached token (after a 401: it was revoked or expired early).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn password_grant(&self, http: &reqwest::Client) -> Result<Token, CallError> {
        let form =
            [("grant_type", "password"), ("username", self.username.as_str()), ("password", self.password.as_str())];
        self.grant(http, &form).await
    }

    async fn grant(&self, http: &reqwest::Client, form: &[(&str, &str)]) -> Result<Token, CallError> {
        let started = Instant::now();
        let response = http
            .post(self.url.clone())
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(form)
            .send()
            .await
            .map_err(|e| {
                CallError::Unreachable(format!("the Maileva token endpoint: {}", redact::transport_error(e)))
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| CallError::Unreachable(redact::transport_error(e)))?;
        if !status.is_success() {
            let errors = read_errors(&body);
            // Keycloak answers `{"error":"invalid_grant"}`; the spec documents `{"errors":[…]}`: both are read.
            let keycloak = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
            let code = errors.first().map(|e| e.code.clone()).or(keycloak).unwrap_or_default();
            let message = format!(
                "the Maileva token endpoint answered {status} {code}: check client_id, client_secret, username and \
                 password of this account"
            );
            return Err(CallError::Auth(message));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| CallError::Unreachable(format!("unreadable answer of the Maileva token endpoint: {e}")))?;
        let lifetime = answer.expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME);
        let refresh = answer
            .refresh_token
            .map(|r| (r, started + answer.refresh_expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME)));
        Ok(Token { access: answer.access_token, expires: started + lifetime, refresh })
    }
}
