//! `[callbacks]`: how signed callbacks reach requesters' endpoints, and which addresses they may never reach.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
