//! `[callbacks]`: how signed callbacks reach requesters' endpoints, and which addresses they may never reach.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::values::Secret;
use super::{ConfigError, invalid};
use crate::notify::callbacks::guard::Network;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSettings {
    /// Endpoints must be https unless this is true.
    pub allow_http: bool,
    /// Networks an endpoint may resolve to although they are loopback, private or link-local (CIDR).
    pub allow_networks: Vec<String>,
    /// Fixed addresses for host names, looked up before DNS (like /etc/hosts).
    pub hosts: Vec<HostAddress>,
    /// How long one attempt may take, connection included.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The delay before each retry after a failed attempt (the Standard Webhooks schedule by default).
    pub retry_schedule: Vec<humantime_serde::Serde<Duration>>,
    /// After failing this long, an endpoint's sender is emailed.
    #[serde(with = "humantime_serde")]
    pub warn_after: Duration,
    /// How long the proof links in a callback work.
    #[serde(with = "humantime_serde")]
    pub proof_links_valid: Duration,
}

/// One fixed address of a host name.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostAddress {
    pub name: String,
    pub address: IpAddr,
}

/// A default endpoint of a sender, from `[[senders.callbacks]]`: it hears of every letter of the sender.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SenderCallback {
    pub url: url::Url,
    /// Event types (`letter.delivered`…); every one when empty.
    #[serde(default)]
    pub events: Vec<String>,
    /// The `whsec_` secret the endpoint verifies signatures with.
    #[serde(default)]
    pub secret: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<std::path::PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SenderCallback {
    /// The event types subscribed: the ones listed, or all of them.
    pub fn event_types(&self) -> Vec<String> {
        if self.events.is_empty() {
            crate::notify::callbacks::EVENT_TYPES.iter().map(|e| e.to_string()).collect()
        } else {
            self.events.clone()
        }
    }

    /// Checks the secret and the event types; `key` is `senders[i].callbacks[j]`. The URL is checked against
    /// the address guard when the endpoints are applied, at start.
    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.secret.is_empty() {
            return Err(invalid(format!("{key}.secret"), "give secret or secret_file (a whsec_ secret)"));
        }
        check_secret(self.secret.expose()).map_err(|m| invalid(format!("{key}.secret"), m))?;
        for (k, event) in self.events.iter().enumerate() {
            if !crate::notify::callbacks::EVENT_TYPES.contains(&event.as_str()) {
                let known = crate::notify::callbacks::EVENT_TYPES.join(", ");
                return Err(invalid(format!("{key}.events[{k}]"), format!("`{event}` is not one of {known}")));
            }
        }
        Ok(())
    }
}

/// A callback secret as Standard Webhooks has it: `whsec_` then base64 of 24 to 64 random bytes. The
/// message never quotes the secret.
pub fn check_secret(secret: &str) -> Result<(), String> {
    use base64::Engine;
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return Err("a callback secret starts with whsec_ (Standard Webhooks)".into());
    };
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(bytes) if (24..=64).contains(&bytes.len()) => Ok(()),
        Ok(_) => Err("a callback secret is whsec_ then base64 of 24 to 64 random bytes".into()),
        Err(_) => Err("a callback secret is whsec_ then base64; this one is not valid base64".into()),
    }
}

impl CallbackSettings {
    /// The retry delays, in order.
    pub fn retry_delays(&self) -> Vec<Duration> {
        self.retry_schedule.iter().map(|d| **d).collect()
    }

    /// The allowed networks, parsed.
    pub fn networks(&self) -> Vec<Network> {
        self.allow_networks.iter().filter_map(|n| n.parse().ok()).collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (i, network) in self.allow_networks.iter().enumerate() {
            network.parse::<Network>().map_err(|e| invalid(format!("callbacks.allow_networks[{i}]"), e))?;
        }
        if self.retry_schedule.is_empty() {
            return Err(invalid("callbacks.retry_schedule", "give at least one delay"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("callbacks.timeout", "must be more than zero"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_secret;
    use crate::config::{Secret, SenderCallback, Settings};

    #[test]
    fn a_callback_secret_is_whsec_and_base64_of_enough_bytes() {
        assert!(check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(check_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err().contains("whsec_"));
        assert!(check_secret("whsec_c2hvcnQ=").unwrap_err().contains("24 to 64"));
        let message = check_secret("whsec_not base64!").unwrap_err();
        assert!(message.contains("base64") && !message.contains("not base64!"), "never quotes the secret");
    }

    #[test]
    fn a_configured_endpoint_without_a_good_secret_or_with_an_unknown_event_names_the_key() {
        let mut settings = Settings::load(None).unwrap();
        let mut callback = SenderCallback {
            url: "https://erp.example.fr/hook".parse().unwrap(),
            events: vec![],
            secret: Secret::default(),
            secret_file: None,
            description: None,
        };
        settings.senders[0].callbacks = vec![callback.clone()];
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].callbacks[0].secret"), "{message}");
        callback.secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        callback.events = vec!["letter.lost".into()];
        settings.senders[0].callbacks = vec![callback.clone()];
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].callbacks[0].events[0]"), "{message}");
        callback.events = vec!["letter.delivered".into()];
        settings.senders[0].callbacks = vec![callback];
        settings.senders[0].callback_secret = Secret::new("hunter2".into());
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("senders[0].callback_secret") && !message.contains("hunter2"), "{message}");
    }
}
