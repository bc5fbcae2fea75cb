//! The web console: HTTP-level checks (sign-in, sessions, CSRF, roles, escaping) and browser tests in a
//! real headless Chromium driven over WebDriver; the `relais user` commands.

mod approvals;
mod attachments;
mod browser;
mod callbacks;
mod cli;
mod flows;
mod http;
pub(crate) mod people;
mod template_roles;
