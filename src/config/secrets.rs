//! Secrets given as files (`*_file` keys), read into the settings at load: each file's content, trailing
//! newline dropped, replaces the inline value; a mailbox logs in exactly one way.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, ImapMailboxSettings, ProviderSettings, Secret, Settings, invalid};

impl Settings {
    pub(super) fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        read_secret_file(&mut self.mail.smtp_password, &self.mail.smtp_password_file, "mail.smtp_password_file")?;
        let mime = &mut self.intake.mime;
        read_secret_file(&mut mime.ingress_key, &mime.ingress_key_file, "intake.mime.ingress_key_file")?;
        for (i, mailbox) in self.intake.imap.iter_mut().enumerate() {
            read_mailbox_secrets(mailbox, &format!("intake.imap[{i}]"))?;
            if mailbox.idle_renew >= Duration::from_secs(29 * 60) {
                return Err(invalid(format!("intake.imap[{i}].idle_renew"), "must stay under 29 minutes"));
            }
        }
        for (i, hook) in self.hooks.iter_mut().enumerate() {
            for (j, path) in hook.secret_files.iter().enumerate() {
                let mut secret = Secret::default();
                read_secret_file(&mut secret, &Some(path.clone()), &format!("hooks[{i}].secret_files[{j}]"))?;
                hook.secrets.push(secret);
            }
        }
        for (i, sender) in self.senders.iter_mut().enumerate() {
            let key = format!("senders[{i}].callback_secret_file");
            read_secret_file(&mut sender.callback_secret, &sender.callback_secret_file, &key)?;
            for (j, callback) in sender.callbacks.iter_mut().enumerate() {
                let key = format!("senders[{i}].callbacks[{j}].secret_file");
                read_secret_file(&mut callback.secret, &callback.secret_file, &key)?;
            }
        }
        for (name, provider) in &mut self.providers {
            match provider {
                ProviderSettings::Ar24(ar24) => {
                    read_secret_file(&mut ar24.token, &ar24.token_file, &format!("providers.{name}.token_file"))?;
                    let key = format!("providers.{name}.private_key_file");
                    read_secret_file(&mut ar24.private_key, &ar24.private_key_file, &key)?;
                }
                ProviderSettings::Maileva(maileva) => maileva.read_secret_files(name)?,
                ProviderSettings::Sandbox(_) => {}
            }
        }
        Ok(())
    }
}

/// A mailbox logs in with exactly one of: a password, an access token file, or the OAuth2 refresh grant.
fn read_mailbox_secrets(mailbox: &mut ImapMailboxSettings, key: &str) -> Result<(), ConfigError> {
    read_secret_file(&mut mailbox.password, &mailbox.password_file, &format!("{key}.password_file"))?;
    let ways = [!mailbox.password.is_empty(), mailbox.oauth2_token_file.is_some(), mailbox.oauth2.is_some()];
    let message = "give one of password, password_file, oauth2_token_file or an [intake.imap.oauth2] table";
    if ways.iter().filter(|&&way| way).count() != 1 {
        return Err(invalid(format!("{key}.password"), message));
    }
    if let Some(file) = &mailbox.oauth2_token_file {
        let mut token = Secret::default();
        read_secret_file(&mut token, &Some(file.clone()), &format!("{key}.oauth2_token_file"))?;
        if token.is_empty() {
            return Err(invalid(format!("{key}.oauth2_token_file"), "the file is empty"));
        }
    }
    if let Some(oauth2) = &mut mailbox.oauth2 {
        let key = format!("{key}.oauth2");
        read_secret_file(&mut oauth2.client_secret, &oauth2.client_secret_file, &format!("{key}.client_secret_file"))?;
        read_secret_file(&mut oauth2.refresh_token, &oauth2.refresh_token_file, &format!("{key}.refresh_token_file"))?;
        if oauth2.refresh_token.is_empty() {
            return Err(invalid(format!("{key}.refresh_token"), "give refresh_token or refresh_token_file"));
        }
        if oauth2.client_id.is_empty() {
            return Err(invalid(format!("{key}.client_id"), "must not be empty"));
        }
        check_token_url(&oauth2.token_url).map_err(|message| invalid(format!("{key}.token_url"), message))?;
    }
    Ok(())
}

/// The token endpoint receives the refresh token: `https`, or plain `http` to this machine only.
fn check_token_url(url: &str) -> Result<(), &'static str> {
    let parsed = url::Url::parse(url).map_err(|_| "must be an absolute URL")?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("must use https (plain http only to a loopback address)"),
        _ => Err("must be an https URL"),
    }
}

/// Replaces `secret` by the content of `file` when a file is given (trailing newline dropped).
pub(super) fn read_secret_file(secret: &mut Secret, file: &Option<PathBuf>, key: &str) -> Result<(), ConfigError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| invalid(key, format!("{}: {e}", path.display())))?;
        *secret = Secret::new(text.trim_end().to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_logs_in_one_way_and_sends_its_refresh_token_only_over_https_or_loopback() {
        let mailbox = |extra: &str| -> ImapMailboxSettings {
            toml::from_str(&format!("host = \"imap.example.fr\"\nusername = \"lre@example.fr\"\n{extra}")).unwrap()
        };
        let oauth2 = |url: &str| format!("[oauth2]\ntoken_url = \"{url}\"\nclient_id = \"c\"\nrefresh_token = \"r\"");
        let check =
            |mut m: ImapMailboxSettings| read_mailbox_secrets(&mut m, "intake.imap[0]").map_err(|e| e.to_string());
        assert!(check(mailbox("password = \"p\"")).is_ok());
        assert!(check(mailbox(&oauth2("https://oauth2.googleapis.com/token"))).is_ok());
        assert!(check(mailbox(&oauth2("http://127.0.0.1:8080/token"))).is_ok());
        assert!(check(mailbox(&oauth2("http://[::1]/token"))).is_ok());
        let plain = check(mailbox(&oauth2("http://login.example.fr/token"))).unwrap_err();
        assert!(plain.contains("intake.imap[0].oauth2.token_url") && plain.contains("https"), "{plain}");
        assert!(check(mailbox("")).unwrap_err().contains("intake.imap[0].password"));
        let both = check(mailbox(&format!("password = \"p\"\n{}", oauth2("https://a.example/t")))).unwrap_err();
        assert!(both.contains("give one of"), "{both}");
        let no_refresh = "[oauth2]\ntoken_url = \"https://a.example/t\"\nclient_id = \"c\"";
        assert!(check(mailbox(no_refresh)).unwrap_err().contains("oauth2.refresh_token"));
    }
}
