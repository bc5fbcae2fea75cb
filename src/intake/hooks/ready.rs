//! Ready mappings, chosen by name in `[[hooks]] mapping = "…"`: the event types, conditions and expressions
//! for what can signal an unpaid invoice by itself. Each is a documented file under `config/hooks/`.

use serde::Deserialize;

use crate::config::MapSettings;

/// The ready mappings, by name.
const READY: [(&str, &str); 5] = [
    ("stripe-invoice", include_str!("../../../config/hooks/stripe-invoice.toml")),
    ("paddle-transaction-past-due", include_str!("../../../config/hooks/paddle-transaction-past-due.toml")),
    ("chargebee-payment-failed", include_str!("../../../config/hooks/chargebee-payment-failed.toml")),
    ("invoice-ninja-late-invoice", include_str!("../../../config/hooks/invoice-ninja-late-invoice.toml")),
    ("generic-json", include_str!("../../../config/hooks/generic-json.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyMapping {
    pub description: String,
    pub events: Vec<String>,
    pub conditions: Vec<String>,
    pub map: MapSettings,
}

/// The ready mapping called `name`.
pub fn ready(name: &str) -> Option<ReadyMapping> {
    let (_, text) = READY.iter().find(|(n, _)| *n == name)?;
    Some(toml::from_str(text).unwrap_or_else(|e| panic!("the embedded ready mapping `{name}` is invalid: {e}")))
}

pub fn names() -> Vec<&'static str> {
    READY.iter().map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_ready_mapping_parses_and_compiles() {
        for name in super::names() {
            let ready = super::ready(name).unwrap();
            let offered = ready.map.variables.keys().cloned().collect();
            super::super::mapping::Mapping::compile(&ready.map, offered).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            super::super::filter::Filter::new(ready.events, &ready.conditions).unwrap();
        }
    }
}
