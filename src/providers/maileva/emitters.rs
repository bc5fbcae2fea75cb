//! The senders of electronic letters at Maileva (`electronic_mail_emitter/v1`, v1.48b, providers.md §2.3):
//! a sender's state, and the one-time code that opens a sender's one-hour session for qualified letters.
//!
//! The qualified API's spec: "La clé OTP doit être demandée à l'expéditeur à chaque envoi … Cette clé OTP ne
//! doit pas être stockée dans votre application." relais never sees the key: the sender's person gives a
//! code at approval (API, console or command line), relais passes it to `authenticate_by_otp` at once and
//! keeps only the session's end. Inferred: the session is Maileva's, per sender ("ce code à usage unique est
//! valable 1 heure"), so its answer carries no token to send back; relais stores the expiry as the session.

use reqwest::Method;
use serde::Deserialize;

use super::Maileva;
use super::client::{CallError, EMITTERS};
use super::wire::time_ms;
use crate::config::SenderSettings;
use crate::providers::{ApprovalSession, ProviderError};

/// `ExpirationDateResponse`.
#[derive(Debug, Deserialize)]
struct Expiration {
    #[serde(default)]
    expiration_date: Option<String>,
}

/// `SenderResponse`, only its state.
#[derive(Debug, Deserialize)]
struct SenderState {
    #[serde(default)]
    status: Option<String>,
}

/// How long a session is taken to last when Maileva's date cannot be read: less than the documented hour.
const FALLBACK_SESSION_MS: i64 = 55 * 60 * 1000;

impl Maileva {
    /// `POST /senders/{id}/authenticate_by_otp?otp_code=`: a refused code is `Rejected` (the approval tells
    /// the person so); the code never appears in an error.
    pub(super) async fn authenticate_by_otp(
        &self,
        sender: &SenderSettings,
        code: &str,
    ) -> Result<ApprovalSession, ProviderError> {
        let id = super::wire::ere::sender_id(sender);
        let path = format!("{EMITTERS}/senders/{id}/authenticate_by_otp");
        let hide = |text: String| if code.is_empty() { text } else { text.replace(code, "[code]") };
        let answer: Expiration =
            self.client.json(Method::POST, &path, None::<&()>, &[("otp_code", code.to_owned())]).await.map_err(
                |e| match e {
                    CallError::Refused { status, errors } if status != 429 => ProviderError::Rejected {
                        provider: self.name.clone(),
                        code: errors.first().map(|e| e.code.clone()).unwrap_or_else(|| "OTP_REFUSED".into()),
                        message: hide(self.scrubber.scrub(&super::client::describe(&errors))),
                    },
                    // Every other failure maps to `Unavailable` (nothing was decided about the code).
                    other => match self.error(other, false) {
                        ProviderError::Unavailable { provider, message } => {
                            ProviderError::Unavailable { provider, message: hide(message) }
                        }
                        other => other,
                    },
                },
            )?;
        let expires_at = answer
            .expiration_date
            .as_deref()
            .and_then(time_ms)
            .unwrap_or_else(|| crate::store::now_ms() + FALLBACK_SESSION_MS);
        // What is stored: nothing secret, the end of Maileva's session for this sender.
        let token = answer.expiration_date.unwrap_or_else(|| "maileva-otp-session".into());
        Ok(ApprovalSession { token, expires_at })
    }

    /// The sender's state at Maileva (`VALIDATED` when it can send), for `relais check-config`.
    pub(super) async fn sender_state(&self, sender: &SenderSettings) -> Result<String, ProviderError> {
        let path = format!("{EMITTERS}/senders/{}", super::wire::ere::sender_id(sender));
        let state: SenderState =
            self.client.json(Method::GET, &path, None::<&()>, &[]).await.map_err(|e| self.error(e, false))?;
        Ok(state.status.unwrap_or_else(|| "UNKNOWN".into()))
    }
}
