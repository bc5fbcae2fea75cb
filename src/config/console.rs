//! `[console]`: the web console for people (on by default), its sessions and its first administrator.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Serve the console at /console/ (and redirect / there).
    pub enabled: bool,
    /// How long a sign-in lasts; then the person signs in again.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// The email of the `admin` user created, with a generated password shown once, on the first start.
    pub first_admin_email: String,
}
