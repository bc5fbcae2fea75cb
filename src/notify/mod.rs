//! What relais sends back: notices by email (file outbox or SMTP), signed callbacks to requesters' endpoints,
//! and the signatures of its webhooks.

pub mod callbacks;
pub mod email;
pub mod french;
pub mod notices;
pub mod signing;

pub use email::{EmailAttachment, MailError, Mailer, OutgoingEmail, Thread};
