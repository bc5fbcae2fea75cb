//! Building the application (bind, database, services, workers) and running it until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::{self, CreatedKey};
use crate::config::Settings;
use crate::intake::email::authenticate::{Authenticator, DnsRecords};
use crate::intake::email::sink::{Channels, MessageSink};
use crate::intake::email::{imap, smtp};
use crate::letters::committer::Committer;
use crate::letters::files::LetterFiles;
use crate::notify::Mailer;
use crate::notify::callbacks::CallbackClient;
use crate::providers::Providers;
use crate::render::catalog::TemplateCatalog;
use crate::services::Services;
use crate::store::{Backend, Store};
use crate::{http, worker};

/// A built application: listening, migrated, not yet serving.
pub struct Application {
    listener: TcpListener,
    /// `[intake.smtp]`, bound: a taken port stops the start as the HTTP one does.
    smtp: Option<(smtp::SmtpSettings, TcpListener)>,
    services: Arc<Services>,
    shutdown: CancellationToken,
}

impl Application {
    /// Binds `server.listen` and `intake.smtp.listen` (port 0 picks one), connects and migrates the database,
    /// builds every service.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.server.listen).await?;
        let smtp = match smtp_settings(&settings)? {
            Some(smtp) => match TcpListener::bind(smtp.listen).await {
                Ok(bound) => Some((smtp, bound)),
                Err(e) => anyhow::bail!("intake.smtp.listen: cannot listen on {}: {e}", smtp.listen),
            },
            None => None,
        };
        let port = listener.local_addr()?.port();
        let mut public_url = settings.server.public_url.clone();
        if public_url.port() == Some(0) {
            let _ = public_url.set_port(Some(port));
        }
        crate::intake::email::choose::report_shared_allow_lists(&settings.senders);
        let services = build_services(settings, public_url).await?;
        Ok(Self { listener, smtp, services: Arc::new(services), shutdown: CancellationToken::new() })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where the SMTP/LMTP receiver listens, when `[intake.smtp]` is on.
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().map(|(_, bound)| bound.local_addr().expect("a bound listener has an address"))
    }

    pub fn services(&self) -> Arc<Services> {
        self.services.clone()
    }

    /// Cancelling this token stops the application as a shutdown signal would.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The very first start (no API key in the database, SQLite or PostgreSQL) creates an `admin` key for
    /// the first configured sender, so the quickstart needs no extra command. Returns it to be shown once.
    pub async fn create_first_key(&self) -> anyhow::Result<Option<CreatedKey>> {
        let sender = &self.services.settings.senders[0].id;
        Ok(accounts::create_first_api_key(&self.services.store, sender).await?)
    }

    /// The very first start (no console user yet) creates an `admin` user, `console.first_admin_email`, with
    /// a generated password. Returns what to print once: where to sign in, the email and the password.
    pub async fn create_first_admin(&self) -> anyhow::Result<Option<String>> {
        let console = &self.services.settings.console;
        if !console.enabled {
            return Ok(None);
        }
        let Some((user, password)) =
            crate::accounts::users::create_first_admin(&self.services.store, &console.first_admin_email).await?
        else {
            return Ok(None);
        };
        let base = self.services.public_url.as_str().trim_end_matches('/');
        Ok(Some(format!(
            "First start: the web console has an admin, shown only this once:\n\n    {base}/console/\n    email:    \
             {}\n    password: {password}\n\nMore users: relais user create --email … --role admin|member|viewer\n",
            user.email
        )))
    }

    /// Serves HTTP, runs the workers and the providers' background tasks, until SIGTERM, Ctrl-C or the
    /// shutdown token. Intake stops first; jobs in hand get `server.shutdown_grace` to finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { listener, smtp, services, shutdown } = self;
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signal.cancel();
        });
        let mut workers = if services.settings.worker.enabled {
            worker::spawn_workers(services.clone(), shutdown.clone())
        } else {
            tokio::task::JoinSet::new()
        };
        if let Some((smtp, bound)) = smtp {
            let liveness = services.channels.register("smtp");
            let (sink, token) = (services.clone() as Arc<dyn MessageSink>, shutdown.clone());
            workers.spawn(async move {
                if let Err(e) = smtp::serve(bound, smtp, sink, liveness, token).await {
                    tracing::error!(error = %e, "the SMTP receiver stopped");
                }
            });
        }
        for mailbox in imap_settings(&services.settings) {
            let liveness = services.channels.register(format!("imap {}@{}", mailbox.username, mailbox.host));
            let (sink, token) = (services.clone() as Arc<dyn MessageSink>, shutdown.clone());
            workers.spawn(imap::watch(mailbox, sink, liveness, token));
        }
        if services.store.backend() == Backend::Postgres {
            workers.spawn(follow_template_publications(services.clone(), shutdown.clone()));
        }
        for provider in services.providers.iter() {
            let (provider, token) = (provider.clone(), shutdown.clone());
            workers.spawn(async move { provider.run(token).await });
        }
        let app = http::router(services.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await?;
        let grace = services.settings.server.shutdown_grace;
        if tokio::time::timeout(grace, async { while workers.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(
                ?grace,
                "jobs still running after the grace period; their leases will expire and they will run again"
            );
            workers.abort_all();
        }
        services.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Instances sharing a PostgreSQL database see each other's template publications within a few seconds.
async fn follow_template_publications(services: Arc<Services>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(e) = services.templates.reload().await {
            tracing::warn!(error = %e, "reloading the published templates failed; keeping the ones in memory");
        }
    }
}

/// Connects and migrates the database and builds every service; `public_url` is where providers and
/// emailed links reach this relais. Used by `serve` and by the CLI commands that act on letters.
pub async fn build_services(mut settings: Settings, public_url: url::Url) -> anyhow::Result<Services> {
    // Settings changed after loading (tests do) may name images not read yet.
    settings.load_images()?;
    let database = &settings.database;
    let store = Store::connect_with(&database.url, database.max_connections, database.busy_timeout).await?;
    let templates = TemplateCatalog::load(store.clone(), Some(&settings.storage.templates_dir)).await?;
    for (i, sender) in settings.senders.iter().enumerate() {
        if templates.current_for(&sender.id, &sender.default_template).is_none() {
            anyhow::bail!(
                "senders[{i}].default_template: no template `{}`; known: {}",
                sender.default_template,
                templates.names().join(", ")
            );
        }
    }
    let emails = templates.emails();
    let mailer = Mailer::from_settings(&settings.mail)?;
    let callbacks = CallbackClient::from_settings(&settings.callbacks)?;
    crate::notify::callbacks::apply_configured_endpoints(&store, &settings, &callbacks).await?;
    let providers = Providers::from_settings(&settings, &store, &public_url);
    let files = LetterFiles {
        attachments_dir: settings.storage.attachments_dir.clone(),
        proofs_dir: settings.storage.proofs_dir.clone(),
    };
    let authenticator = email_authenticator(&settings)?;
    let hooks = crate::intake::hooks::Hooks::build(&settings)?;
    let settings_memory = settings.server.intake_memory.0;
    Ok(Services {
        settings: Arc::new(settings),
        committer: Committer::start(store.clone(), files.attachments_dir.clone()),
        store,
        providers,
        templates,
        emails,
        mailer,
        callbacks,
        public_url,
        files,
        authenticator,
        channels: Channels::default(),
        hooks,
        intake_memory: crate::intake::MemoryBudget::new(settings_memory),
    })
}

/// Each `[[intake.imap]]` mailbox as the listener's settings.
fn imap_settings(settings: &Settings) -> Vec<imap::ImapSettings> {
    let limit = settings.intake.max_message_size.0;
    settings
        .intake
        .imap
        .iter()
        .map(|m| imap::ImapSettings {
            host: m.host.clone(),
            port: m.port,
            tls: m.tls,
            tls_ca_file: m.tls_ca_file.clone(),
            username: m.username.clone(),
            credentials: imap_credentials(m),
            folder: m.folder.clone(),
            done_folder: m.done_folder.clone(),
            rejected_folder: m.rejected_folder.clone(),
            address: if m.address.is_empty() { m.username.clone() } else { m.address.clone() },
            poll_interval: m.poll_interval,
            idle_renew: m.idle_renew,
            command_timeout: m.command_timeout,
            max_message_size: limit,
        })
        .collect()
}

/// A mailbox's login: the refresh grant, an access token file, or its password (the configuration allows
/// exactly one).
fn imap_credentials(m: &crate::config::ImapMailboxSettings) -> imap::ImapCredentials {
    use imap::{AccessTokens, ImapCredentials, RefreshingTokens};
    match (&m.oauth2, &m.oauth2_token_file) {
        (Some(oauth2), _) => {
            let tokens = AccessTokens::Refreshed(Box::new(RefreshingTokens::new(oauth2.clone())));
            ImapCredentials::OAuth2(Arc::new(tokens))
        }
        (None, Some(file)) => ImapCredentials::OAuth2(Arc::new(AccessTokens::File(file.clone()))),
        (None, None) => ImapCredentials::Password(m.password.clone()),
    }
}

/// `[intake.smtp]` as the receiver's settings; `None` when it is off.
fn smtp_settings(settings: &Settings) -> anyhow::Result<Option<smtp::SmtpSettings>> {
    let s = &settings.intake.smtp;
    if s.listen.is_empty() {
        return Ok(None);
    }
    let tls = if s.tls_cert_file.as_os_str().is_empty() {
        None
    } else {
        Some(smtp::tls_config(&s.tls_cert_file, &s.tls_key_file).map_err(|e| anyhow::anyhow!("intake.smtp: {e}"))?)
    };
    Ok(Some(smtp::SmtpSettings {
        listen: s.listen.parse()?,
        lmtp: s.lmtp,
        max_message_size: s.max_message_size.0,
        accept_domains: s.accept_domains.clone(),
        hostname: s.hostname.clone(),
        tls,
        require_tls: s.require_tls,
        command_timeout: s.command_timeout,
        data_timeout: s.data_timeout,
    }))
}

/// The sender checks of email intake, with the fixed DNS records when `intake.dns.records_file` is set
/// (`check-config` calls it too, so a file the server would refuse is refused there).
pub fn email_authenticator(settings: &Settings) -> anyhow::Result<Authenticator> {
    let file = &settings.intake.dns.records_file;
    let records = if file.as_os_str().is_empty() {
        None
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("intake.dns.records_file: {}: {e}", file.display()))?;
        Some(DnsRecords::parse(&text).map_err(|e| anyhow::anyhow!("intake.dns.records_file: {e}"))?)
    };
    Authenticator::new(records, settings.intake.trusted_authserv_ids.clone()).map_err(anyhow::Error::msg)
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
