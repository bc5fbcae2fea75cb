//! `relais user create|list|disable|reset-password`: the people who sign in to the web console. Passwords
//! are read from standard input or a file, never from the command line (where `ps` and shell history see it).

use std::io::Read;
use std::path::PathBuf;

use clap::Subcommand;
use relais::accounts::users::{self, Role};
use relais::config::Settings;
use relais::domain::SenderId;
use relais::store::Store;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a console user; the password is read from standard input (or --password-file).
    Create {
        #[arg(long)]
        email: String,
        /// admin (everything), member (letters and templates of their senders), viewer (read only).
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A sender the user acts for (repeatable); none means every configured sender.
        #[arg(long = "sender")]
        senders: Vec<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List the users, their role, senders and whether they are disabled.
    List,
    /// Disable a user: their sessions end at once and they cannot sign in again.
    Disable { email: String },
    /// Set a new password (from standard input or --password-file); the user's sessions end.
    ResetPassword {
        email: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// The password from the file, or the first line of standard input.
fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let text = match file {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--password-file {}: {e}", path.display()))?
        }
        None => {
            eprintln!("password (then Enter):");
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let password = text.lines().next().unwrap_or_default().to_owned();
    anyhow::ensure!(!password.is_empty(), "no password given on standard input or in --password-file");
    Ok(password)
}

pub async fn run(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let store = Store::connect(&settings.database.url, 1).await?;
    match command {
        UserCommand::Create { email, role, senders, password_file } => {
            let senders = senders
                .iter()
                .map(|s| {
                    let id: SenderId = s.parse().map_err(anyhow::Error::msg)?;
                    anyhow::ensure!(settings.sender(&id).is_some(), "--sender: no sender `{id}` in the configuration");
                    Ok(id)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let password = read_password(password_file.as_ref())?;
            let user = users::create_user(&store, &email, &password, role, senders).await?;
            eprintln!(
                "user {} ({}) created: they sign in at {}console/",
                user.email, user.role, settings.server.public_url
            );
        }
        UserCommand::List => {
            for user in store.users().await? {
                let senders = if user.senders.is_empty() {
                    "every sender".to_owned()
                } else {
                    user.senders.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                };
                let state = if user.disabled_at.is_some() { "disabled" } else { "active" };
                println!("{}\t{}\t{senders}\t{state}", user.email, user.role);
            }
        }
        UserCommand::Disable { email } => {
            let user = users::disable_user(&store, &email).await?;
            eprintln!("user {} is disabled; their sessions ended", user.email);
        }
        UserCommand::ResetPassword { email, password_file } => {
            let password = read_password(password_file.as_ref())?;
            let user = users::reset_password(&store, &email, &password).await?;
            eprintln!("the password of {} is changed; their sessions ended", user.email);
        }
    }
    Ok(())
}
