//! The `relais` command line: serve, migrate, check-config, api-key, sender, verify, anchor, template, letter
//! retry, notice resend, user.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use relais::accounts::{Scope, Scopes};
use relais::config::Settings;
use relais::domain::{ApiKeyId, SenderId};
use relais::letters::approval;
use relais::letters::files::LetterFiles;
use relais::notify::Mailer;
use relais::providers::LinkOutcome;
use relais::startup::{self, Application, build_services};
use relais::store::Store;
use relais::{accounts, audit, http, telemetry};

mod allocator;
mod cli;

#[derive(Parser)]
#[command(name = "relais", version, about = "Self-hosted gateway for registered letters")]
struct Cli {
    /// Configuration file, layered over the embedded defaults (then RELAIS__SECTION__KEY variables).
    #[arg(long, global = true, env = "RELAIS_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API, the workers and the providers until SIGTERM or Ctrl-C.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Validate the configuration, print it (secrets redacted), and check each sender's provider account.
    CheckConfig {
        /// Only validate the file; make no call to providers.
        #[arg(long)]
        offline: bool,
    },
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Link senders to their provider account and approve their qualified letters.
    #[command(subcommand)]
    Sender(SenderCommand),
    /// Check every letter's event chain, its files (letter PDF, attachments, proofs) against their SHA-256,
    /// and the chains against the anchor file; exit 1 with each difference.
    Verify {
        /// Check this letter only.
        #[arg(long)]
        letter: Option<String>,
        /// When everything verifies, anchor the chains now.
        #[arg(long)]
        anchor: bool,
    },
    /// Anchor every letter's event chain now: append the digest of all chain heads to the anchor file,
    /// time-stamp it and email it as configured in [audit].
    Anchor,
    /// List, check, preview and publish letter and email templates.
    #[command(subcommand)]
    Template(cli::template::TemplateCommand),
    /// Letters from a CSV of overdue invoices: every row checked first, then submitted once.
    Import(cli::import::ImportArgs),
    /// Act on one letter.
    #[command(subcommand)]
    Letter(LetterCommand),
    /// Print the API's OpenAPI 3.1 document (what GET /openapi.json serves): `relais openapi > openapi.json`.
    Openapi,
    /// Act on the notice emails sent to requesters.
    #[command(subcommand)]
    Notice(NoticeCommand),
    /// Manage the people who sign in to the web console.
    #[command(subcommand)]
    User(cli::user::UserCommand),
}

#[derive(Subcommand)]
enum LetterCommand {
    /// Move a waiting letter onward now (after a provider outage, for example); a letter whose send is in
    /// doubt is reconciled with its provider first, never sent twice.
    Retry { id: String },
}

#[derive(Subcommand)]
enum NoticeCommand {
    /// Send again a notice that gave up (see GET /v1/notices?state=failed), with the same Message-ID.
    Resend { id: String },
}

#[derive(Subcommand)]
enum SenderCommand {
    /// Create the sender's account at its provider, or request access to the existing one.
    Link {
        #[arg(long, default_value = "default")]
        sender: String,
    },
    /// Approve the sender's waiting qualified letters with their 6-digit one-time code.
    Approve {
        #[arg(long, default_value = "default")]
        sender: String,
        #[arg(long)]
        code: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key for a sender and print it (it is shown only once).
    Create {
        #[arg(long, default_value = "default")]
        sender: String,
        #[arg(long)]
        label: Option<String>,
        /// What the key may do: letters (the default), templates, admin (implies the others). Repeatable.
        #[arg(long = "scope", value_parser = parse_scope)]
        scopes: Vec<Scope>,
    },
    /// List the keys (all senders, or one), with their scopes, last use and revocation; never the secrets.
    List {
        #[arg(long)]
        sender: Option<String>,
    },
    /// Revoke a key by its id (`key_…`): it is refused from its next request on.
    Revoke { id: String },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Openapi) {
        print!("{}", relais::http::openapi::document_json());
        return Ok(());
    }
    telemetry::init(cli.json_logs);
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            Store::connect(&settings.database.url, 1).await?;
            println!("migrations applied to {}", relais::config::redact_url(&settings.database.url));
            Ok(())
        }
        Command::CheckConfig { offline } => check_config(settings, offline).await,
        Command::Sender(command) => sender_command(settings, command).await,
        Command::Verify { letter, anchor } => verify(settings, letter, anchor).await,
        Command::Anchor => {
            let store = Store::connect(&settings.database.url, 2).await?;
            anchor(&settings, &store).await
        }
        Command::ApiKey(command) => api_key_command(settings, command).await,
        Command::Template(command) => cli::template::run(settings, command).await,
        Command::User(command) => cli::user::run(settings, command).await,
        Command::Import(args) => cli::import::run(settings, args).await,
        Command::Openapi => unreachable!("printed before the configuration is loaded"),
        Command::Letter(LetterCommand::Retry { id }) => {
            let id = id.parse().map_err(anyhow::Error::msg)?;
            let public_url = settings.server.public_url.clone();
            let services = build_services(settings, public_url).await?;
            let kind = relais::letters::jobs::retry_letter(&services, &id).await?;
            eprintln!("letter {id}: its `{kind}` job runs now (a running relais picks it up)");
            Ok(())
        }
        Command::Notice(NoticeCommand::Resend { id }) => {
            let id = id.parse().map_err(anyhow::Error::msg)?;
            let public_url = settings.server.public_url.clone();
            let services = build_services(settings, public_url).await?;
            let notice = relais::letters::notices::resend_notice(&services, &id).await?;
            eprintln!("notice {id} ({}) of letter {} queued again", notice.kind, notice.letter_id);
            Ok(())
        }
    }
}

async fn api_key_command(settings: Settings, command: ApiKeyCommand) -> anyhow::Result<()> {
    let find = |id: &str| -> anyhow::Result<SenderId> {
        let id: SenderId = id.parse().map_err(anyhow::Error::msg)?;
        anyhow::ensure!(settings.sender(&id).is_some(), "no sender `{id}` in the configuration ([[senders]])");
        Ok(id)
    };
    match command {
        ApiKeyCommand::Create { sender, label, scopes } => {
            let sender = find(&sender)?;
            let store = Store::connect(&settings.database.url, 1).await?;
            let key = accounts::create_api_key(&store, &sender, label.as_deref(), Scopes::new(scopes)).await?;
            println!("{}", key.secret);
            eprintln!(
                "API key {} for sender `{sender}`, scopes {}: keep it now, it will not be shown again",
                key.id, key.scopes
            );
        }
        ApiKeyCommand::List { sender } => {
            let sender = sender.as_deref().map(find).transpose()?;
            let store = Store::connect(&settings.database.url, 1).await?;
            for key in store.api_keys(sender.as_ref()).await? {
                println!("{}", serde_json::to_string(&http::routes::api_keys::key_view(&key))?);
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let id: ApiKeyId = id.parse().map_err(anyhow::Error::msg)?;
            let store = Store::connect(&settings.database.url, 1).await?;
            let key = accounts::revoke_api_key(&store, &id).await?.with_context(|| format!("no API key {id}"))?;
            eprintln!(
                "API key {} ({}…) of sender `{}` is revoked; running instances refuse it within a second",
                key.id, key.prefix, key.sender_id
            );
        }
    }
    Ok(())
}

async fn verify(settings: Settings, letter: Option<String>, and_anchor: bool) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database.url, 2).await?;
    let scope = match letter {
        Some(id) => audit::Scope::Letter(id.parse().map_err(anyhow::Error::msg)?),
        None => audit::Scope::Everything,
    };
    let files = LetterFiles {
        attachments_dir: settings.storage.attachments_dir.clone(),
        proofs_dir: settings.storage.proofs_dir.clone(),
    };
    let report = audit::verify(&store, &files, &settings.audit.anchor_file, &scope).await?;
    for finding in &report.findings {
        println!("{finding}");
    }
    println!("{}", report.summary());
    if !report.is_clean() {
        std::process::exit(1);
    }
    if and_anchor {
        anchor(&settings, &store).await?;
    }
    Ok(())
}

async fn anchor(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let mailer = Mailer::from_settings(&settings.mail)?;
    let anchored = audit::anchor_chains(store, &settings.audit, &mailer).await?;
    let line = &anchored.line;
    println!("{}", line.digest);
    eprintln!(
        "anchored {} letter(s) ({} changed) at {}, appended to {}",
        line.letters,
        line.changed.len(),
        line.anchored_at,
        settings.audit.anchor_file.display()
    );
    match (&line.timestamp_token, &anchored.timestamp_error) {
        (Some(name), _) => eprintln!("time-stamped: {name} beside the anchor file"),
        (None, Some(error)) => eprintln!("not time-stamped: {error}"),
        (None, None) => {}
    }
    match (settings.audit.operator(), &anchored.email_error) {
        (Some(to), None) => eprintln!("emailed to {to}"),
        (Some(to), Some(error)) => eprintln!("not emailed to {to}: {error}"),
        (None, _) => {}
    }
    for finding in &anchored.findings {
        println!("{finding}");
    }
    anyhow::ensure!(anchored.findings.is_empty(), "{} difference(s) with the earlier anchors", anchored.findings.len());
    Ok(())
}

async fn check_config(settings: Settings, offline: bool) -> anyhow::Result<()> {
    println!("{}", settings.printable().context("printing the configuration")?);
    startup::email_authenticator(&settings)?;
    eprintln!("configuration is valid");
    if offline {
        return Ok(());
    }
    let public_url = settings.server.public_url.clone();
    let senders = settings.senders.clone();
    let services = build_services(settings, public_url).await?;
    let mut failed = false;
    for sender in &senders {
        let Some(provider) = services.providers.get(&sender.provider) else { continue };
        match provider.check_account(sender).await {
            Ok(line) => eprintln!("sender `{}`: {line}", sender.id),
            Err(e) => {
                failed = true;
                eprintln!("sender `{}`: {e}", sender.id);
            }
        }
    }
    anyhow::ensure!(!failed, "some provider accounts do not work");
    Ok(())
}

async fn sender_command(settings: Settings, command: SenderCommand) -> anyhow::Result<()> {
    let public_url = settings.server.public_url.clone();
    let services = build_services(settings, public_url).await?;
    let find = |id: &str| -> anyhow::Result<SenderId> {
        let id: SenderId = id.parse().map_err(anyhow::Error::msg)?;
        anyhow::ensure!(services.settings.sender(&id).is_some(), "no sender `{id}` in the configuration");
        Ok(id)
    };
    match command {
        SenderCommand::Link { sender } => {
            let id = find(&sender)?;
            let settings = services.settings.sender(&id).context("sender")?;
            let provider = services.providers.get(&settings.provider).context("provider")?;
            match provider.link_sender(settings).await? {
                LinkOutcome::Created { user_id } => {
                    println!("{user_id}");
                    eprintln!("account created: set `provider_user_id = \"{user_id}\"` for sender `{id}`");
                }
                LinkOutcome::WebhooksSubscribed { url, events } => {
                    eprintln!("{} calls relais back at {url} for {events} kinds of event", settings.provider)
                }
                LinkOutcome::AccessRequested => eprintln!(
                    "an account already exists for {}: access was requested, and the sender must approve it \
                     from the email the provider sent; then set its user id as provider_user_id",
                    settings.email
                ),
            }
        }
        SenderCommand::Approve { sender, code } => {
            let id = find(&sender)?;
            let approved = approval::approve(&services, &id, code.trim(), "the command line").await?;
            eprintln!("approved: {} letter(s) released", approved.released);
        }
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let database = relais::config::redact_url(&settings.database.url);
    let providers: Vec<String> = settings.providers.keys().cloned().collect();
    let mail = match settings.mail.transport {
        relais::config::MailTransportKind::File => format!("emails to {}", settings.mail.outbox_dir.display()),
        relais::config::MailTransportKind::Smtp => format!("emails via {}", settings.mail.smtp_host),
    };
    let proofs = settings.storage.proofs_dir.display().to_string();
    let app = Application::build(settings).await?;
    let public_url = app.services().public_url.clone();
    tracing::info!(
        "relais listening on http://{} — database {database}, providers {}, proofs in {proofs}, {mail}",
        app.local_addr(),
        providers.join(", ")
    );
    if let Some(key) = app.create_first_key().await? {
        println!("{}", accounts::first_key_message(&key, public_url.as_str()));
    }
    if let Some(message) = app.create_first_admin().await? {
        println!("{message}");
    }
    app.run_until_stopped().await
}
