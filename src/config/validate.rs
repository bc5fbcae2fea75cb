//! What the types alone cannot check, checked at load: references between sections (senders, providers,
//! fallbacks), URL shapes, non-zero limits, the SMTP receiver's settings.

use std::net::SocketAddr;

use super::{ConfigError, Fallback, ProviderSettings, SenderSettings, Settings, invalid, maileva};

impl Settings {
    /// Checks what the types alone cannot: references between sections, URL shapes, non-zero limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid("database.url", "must start with sqlite: or postgres://"));
        }
        if !matches!(self.server.public_url.scheme(), "http" | "https") {
            return Err(invalid("server.public_url", "must be an http(s) URL"));
        }
        if self.render.max_pages == 0 {
            return Err(invalid("render.max_pages", "must be at least 1"));
        }
        if self.worker.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        if self.worker.retry_delays.is_empty() {
            return Err(invalid("worker.retry_delays", "give at least one delay"));
        }
        self.validate_providers()?;
        self.validate_smtp()?;
        self.audit.validate()?;
        self.callbacks.validate()?;
        crate::intake::hooks::Hooks::build(self)?;
        if self.senders.is_empty() {
            return Err(invalid("senders", "at least one sender is needed"));
        }
        for (i, sender) in self.senders.iter().enumerate() {
            if !self.providers.contains_key(&sender.provider) {
                return Err(invalid(
                    format!("senders[{i}].provider"),
                    format!("no provider named `{}` in [providers]", sender.provider),
                ));
            }
            if self.senders.iter().filter(|s| s.id == sender.id).count() > 1 {
                return Err(invalid(format!("senders[{i}].id"), format!("`{}` is used twice", sender.id)));
            }
            sender.validate(i)?;
        }
        Ok(())
    }

    fn validate_smtp(&self) -> Result<(), ConfigError> {
        let smtp = &self.intake.smtp;
        if smtp.listen.is_empty() {
            return Ok(());
        }
        smtp.listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("intake.smtp.listen", format!("`{}` is not an address and port: {e}", smtp.listen)))?;
        if smtp.max_message_size.0 == 0 {
            return Err(invalid("intake.smtp.max_message_size", "must be more than 0"));
        }
        if smtp.accept_domains.is_empty() {
            return Err(invalid("intake.smtp.accept_domains", "name the domains relais receives mail for"));
        }
        let (cert, key) = (smtp.tls_cert_file.as_os_str().is_empty(), smtp.tls_key_file.as_os_str().is_empty());
        if cert != key {
            return Err(invalid("intake.smtp.tls_cert_file", "give both tls_cert_file and tls_key_file, or neither"));
        }
        if smtp.require_tls && cert {
            return Err(invalid("intake.smtp.require_tls", "requires tls_cert_file and tls_key_file"));
        }
        Ok(())
    }

    fn validate_providers(&self) -> Result<(), ConfigError> {
        for (name, provider) in &self.providers {
            if let ProviderSettings::Maileva(maileva) = provider {
                maileva.validate(name)?;
            }
            if let ProviderSettings::Ar24(ar24) = provider {
                if ar24.token.is_empty() {
                    return Err(invalid(format!("providers.{name}.token"), "give the AR24 API token (or token_file)"));
                }
                if ar24.private_key.is_empty() {
                    let message = "give the AR24 private key (or private_key_file)";
                    return Err(invalid(format!("providers.{name}.private_key"), message));
                }
            }
        }
        for (i, sender) in self.senders.iter().enumerate() {
            let is_ar24 = matches!(self.providers.get(&sender.provider), Some(ProviderSettings::Ar24(_)));
            if is_ar24 && sender.provider_user_id.is_none() {
                let message = "an AR24 sender needs its AR24 user id (`relais sender link` creates or finds it)";
                return Err(invalid(format!("senders[{i}].provider_user_id"), message));
            }
            self.validate_fallback(i, sender)?;
            let Some(provider) = self.providers.get(&sender.provider) else { continue };
            if let ProviderSettings::Maileva(_) = provider {
                maileva::check_sender(i, sender)?;
            }
            if !provider.services().contains(&sender.service) {
                let offered: Vec<&str> = provider.services().iter().map(|s| s.as_str()).collect();
                let message = format!(
                    "provider `{}` does not send `{}` letters here; use service = \"{}\"",
                    sender.provider,
                    sender.service.as_str(),
                    offered.join("\" or \"")
                );
                return Err(invalid(format!("senders[{i}].service"), message));
            }
        }
        Ok(())
    }

    /// A paper fallback names a Maileva account, for a sender whose own letters are electronic.
    fn validate_fallback(&self, i: usize, sender: &SenderSettings) -> Result<(), ConfigError> {
        if sender.fallback.is_none() && !sender.fallback_after.is_zero() {
            return Err(invalid(
                format!("senders[{i}].fallback_after"),
                "set fallback = \"paper\" too, or leave it out",
            ));
        }
        let Some(Fallback::Paper) = sender.fallback else { return Ok(()) };
        let key = format!("senders[{i}].fallback_provider");
        if sender.service.is_paper() {
            return Err(invalid(format!("senders[{i}].fallback"), "a paper sender needs no paper fallback"));
        }
        let Some(name) = &sender.fallback_provider else {
            return Err(invalid(key, "name the Maileva account of [providers] that sends the paper letters"));
        };
        match self.providers.get(name) {
            // The letter's account tells its route (a letter switched to the fallback account goes on paper).
            Some(ProviderSettings::Maileva(_)) if *name == sender.provider => Err(invalid(
                key,
                format!(
                    "the paper fallback is another account than the sender's own `{name}`: declare a second \
                     [providers] entry for the paper letters (it may use the same Maileva credentials)"
                ),
            )),
            Some(ProviderSettings::Maileva(_)) => Ok(()),
            Some(_) => Err(invalid(key, format!("`{name}` does not send paper letters: name a Maileva account"))),
            None => Err(invalid(key, format!("no provider named `{name}` in [providers]"))),
        }
    }
}
