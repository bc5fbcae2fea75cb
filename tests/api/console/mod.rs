//! The web console: HTTP-level checks (sign-in, sessions, CSRF, roles, escaping) and browser tests in a
//! real headless Chromium driven over WebDriver.

mod approvals;
mod browser;
mod flows;
mod http;
mod people;
