//! The seam between an email channel (IMAP, SMTP, raw MIME) and the pipeline: a channel hands over the
//! bytes and acknowledges the message only according to the answer. Channels also report their liveness.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;

use super::authenticate::Arrival;
use crate::store::now_ms;

/// One message as a channel received it.
pub struct Delivery<'a> {
    pub raw: &'a [u8],
    pub arrival: Arrival,
    /// The address it was delivered to (envelope recipient, or the mailbox address).
    pub recipient: &'a str,
    /// `imap`, `smtp` or `mime`.
    pub channel: &'static str,
}

/// What the channel should do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Committed (a letter, a rejection answered, ignored, or a duplicate): acknowledge it (SMTP 250; IMAP
    /// move to the done folder when `accepted`, else to the rejected folder).
    Done { accepted: bool, summary: String },
    /// Nothing was committed and it may work later: SMTP 4xx; IMAP leaves the message for the next pass.
    Transient(String),
    /// It will never work (too large, unreadable): SMTP 5xx with the reason; IMAP moves it to rejected.
    Permanent(String),
}

/// Where channels deliver messages.
#[async_trait]
pub trait MessageSink: Send + Sync {
    async fn deliver(&self, delivery: Delivery<'_>) -> DeliveryResult;
}

/// A channel's health, for `/readyz` and the logs: a listener that is down says so.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChannelStatus {
    pub name: String,
    pub up: bool,
    /// Unix ms of the last successful poll, login or accepted connection.
    pub last_ok_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub delivered: u64,
}

/// A shared, cheap handle on one channel's status.
#[derive(Debug, Clone, Default)]
pub struct Liveness(Arc<Mutex<ChannelStatus>>);

impl Liveness {
    pub fn new(name: impl Into<String>) -> Self {
        Self(Arc::new(Mutex::new(ChannelStatus { name: name.into(), ..ChannelStatus::default() })))
    }

    /// The channel works (logged in, polled, listening).
    pub fn ok(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.up = true;
            s.last_ok_at = Some(now_ms());
        }
    }

    /// The channel failed; it is down until the next `ok`.
    pub fn error(&self, error: &str) {
        tracing::warn!(channel = %self.snapshot().name, %error, "email channel down");
        if let Ok(mut s) = self.0.lock() {
            s.up = false;
            s.last_error = Some(error.to_owned());
            s.last_error_at = Some(now_ms());
        }
    }

    pub fn delivered(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.delivered += 1;
        }
    }

    pub fn snapshot(&self) -> ChannelStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Every running channel's liveness.
#[derive(Debug, Clone, Default)]
pub struct Channels(Arc<Mutex<Vec<Liveness>>>);

impl Channels {
    pub fn register(&self, name: impl Into<String>) -> Liveness {
        let liveness = Liveness::new(name);
        if let Ok(mut all) = self.0.lock() {
            all.push(liveness.clone());
        }
        liveness
    }

    pub fn statuses(&self) -> Vec<ChannelStatus> {
        self.0.lock().map(|all| all.iter().map(Liveness::snapshot).collect()).unwrap_or_default()
    }
}
