//! The configured sources, compiled once at start: verifier, filter and mapping of each `[[hooks]]` entry.
//! Every mistake in the configuration is reported with its key (`hooks[1].map.recipient.email`).

use std::collections::BTreeSet;

use super::filter::Filter;
use super::mapping::Mapping;
use super::ready::{self, ReadyMapping};
use super::verify::Verifier;
use crate::config::{ConfigError, HookSettings, Settings};
use crate::domain::SenderId;

/// One source, ready to take deliveries.
#[derive(Debug)]
pub struct Hook {
    pub name: String,
    pub sender: SenderId,
    pub template: String,
    pub verifier: Verifier,
    pub filter: Filter,
    pub mapping: Mapping,
}

/// Every configured source.
#[derive(Debug, Default)]
pub struct Hooks(Vec<Hook>);

fn invalid(key: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

impl Hooks {
    pub fn build(settings: &Settings) -> Result<Self, ConfigError> {
        let mut hooks: Vec<Hook> = Vec::with_capacity(settings.hooks.len());
        for (i, hook) in settings.hooks.iter().enumerate() {
            let at = format!("hooks[{i}]");
            let name_ok = !hook.name.is_empty()
                && hook.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !name_ok {
                return Err(invalid(format!("{at}.name"), "use lowercase letters, digits, - and _ (it is in the URL)"));
            }
            if hooks.iter().any(|h| h.name == hook.name) {
                return Err(invalid(format!("{at}.name"), format!("`{}` is used twice", hook.name)));
            }
            if settings.sender(&hook.sender).is_none() {
                return Err(invalid(format!("{at}.sender"), format!("no sender `{}` in [[senders]]", hook.sender)));
            }
            if hook.template.trim().is_empty() {
                return Err(invalid(format!("{at}.template"), "name the letter template, e.g. mise-en-demeure"));
            }
            hooks.push(compile(hook, &at)?);
        }
        Ok(Self(hooks))
    }

    pub fn get(&self, name: &str) -> Option<&Hook> {
        self.0.iter().find(|h| h.name == name)
    }
}

fn compile(hook: &HookSettings, at: &str) -> Result<Hook, ConfigError> {
    let ready: Option<ReadyMapping> = match &hook.mapping {
        None => None,
        Some(name) => Some(ready::ready(name).ok_or_else(|| {
            invalid(format!("{at}.mapping"), format!("no ready mapping `{name}`; known: {}", ready::names().join(", ")))
        })?),
    };
    let (events, conditions, map, offered) = match ready {
        Some(r) => {
            let offered: BTreeSet<String> =
                r.map.variables.keys().filter(|k| !hook.map.variables.contains_key(*k)).cloned().collect();
            let events = if hook.events.is_empty() { r.events } else { hook.events.clone() };
            let conditions = if hook.conditions.is_empty() { r.conditions } else { hook.conditions.clone() };
            (events, conditions, r.map.overlaid_with(&hook.map), offered)
        }
        None => {
            let empty = hook.map.recipient.email.is_none() && hook.map.variables.is_empty();
            if empty {
                return Err(invalid(format!("{at}.map"), "give a ready `mapping` or map the letter in [hooks.map]"));
            }
            (hook.events.clone(), hook.conditions.clone(), hook.map.clone(), BTreeSet::new())
        }
    };
    let secrets: Vec<String> = hook.secrets.iter().map(|s| s.expose().to_owned()).collect();
    let verifier = Verifier::new(hook, &secrets, at).map_err(|(key, message)| invalid(key, message))?;
    let filter =
        Filter::new(events, &conditions).map_err(|(j, message)| invalid(format!("{at}.conditions[{j}]"), message))?;
    let mapping =
        Mapping::compile(&map, offered).map_err(|(field, message)| invalid(format!("{at}.map.{field}"), message))?;
    Ok(Hook {
        name: hook.name.clone(),
        sender: hook.sender.clone(),
        template: hook.template.clone(),
        verifier,
        filter,
        mapping,
    })
}
