//! Subcommands of the `relais` binary that are more than a few lines, one module each.

pub mod import;
pub mod template;
pub mod user;
