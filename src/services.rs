//! What the HTTP handlers, the workers and the CLI share: configuration, database, providers, templates,
//! mailer and file locations. Built once by `startup`, held as `Arc<Services>`.

use std::sync::Arc;

use crate::config::Settings;
use crate::intake::email::authenticate::Authenticator;
use crate::intake::email::sink::Channels;
use crate::letters::committer::Committer;
use crate::letters::files::LetterFiles;
use crate::notify::Mailer;
use crate::notify::callbacks::CallbackClient;
use crate::providers::Providers;
use crate::render::EmailTemplates;
use crate::render::catalog::TemplateCatalog;
use crate::store::Store;

pub struct Services {
    pub settings: Arc<Settings>,
    pub store: Store,
    /// Group commit of new letters.
    pub committer: Committer,
    pub providers: Providers,
    pub templates: TemplateCatalog,
    /// The emails relais sends, as the catalog last compiled them.
    pub emails: Arc<EmailTemplates>,
    pub mailer: Mailer,
    /// The HTTP client of callbacks, behind the address guard.
    pub callbacks: CallbackClient,
    /// `server.public_url`, with the real port when the configured one was 0.
    pub public_url: url::Url,
    pub files: LetterFiles,
    /// Decides whether an emailed request comes from an allowed, authenticated sender.
    pub authenticator: Authenticator,
    /// Liveness of the email channels (IMAP, SMTP), shown by `/readyz`.
    pub channels: Channels,
    /// The inbound webhook sources (`[[hooks]]`), compiled.
    pub hooks: crate::intake::hooks::Hooks,
    /// Memory that requests buffering a large body (JSON letters, raw emails) may hold together.
    pub intake_memory: crate::intake::MemoryBudget,
}
