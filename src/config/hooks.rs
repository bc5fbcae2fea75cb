//! `[[hooks]]`: the accounting and billing tools that post their own webhooks to `/v1/hooks/{name}`: how
//! each is authenticated (a verification preset and its secrets), which events count, and how a payload
//! becomes a letter request (a ready mapping and/or handlebars expressions over the payload).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::Secret;
use crate::domain::SenderId;

/// One inbound webhook source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookSettings {
    /// The `{source}` of `/v1/hooks/{source}`.
    pub name: String,
    /// The sender whose letters this source asks for.
    pub sender: SenderId,
    pub preset: Preset,
    /// Secrets (or `whpk_` public keys); several during a rotation, any one of them verifies.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// The same, one secret per file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_files: Vec<PathBuf>,
    /// The letter template of the letters this source asks for.
    pub template: String,
    /// A ready mapping by name (`stripe-invoice`, …); `events`, `conditions` and `map` refine it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// Event types that make a letter; others are answered 200 and ignored. Empty: the ready mapping's.
    #[serde(default)]
    pub events: Vec<String>,
    /// Conditions on the payload, all of which must hold (`data.object.amount_remaining > 0`).
    #[serde(default)]
    pub conditions: Vec<String>,
    #[serde(default)]
    pub map: MapSettings,
    /// Addresses or networks (`203.0.113.7`, `10.1.0.0/16`) the source posts from; required for `none`.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// The generic `hmac` preset's scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacSettings>,
}

/// How a source proves a delivery is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// `Stripe-Signature: t=…,v1=<hex>`, HMAC-SHA256 of `{t}.{body}` keyed with the `whsec_` secret as is.
    Stripe,
    /// `webhook-id/-timestamp/-signature` (or `svix-…`): `v1` HMAC-SHA256 of `{id}.{ts}.{body}` keyed with
    /// the base64-decoded `whsec_` secret, or `v1a` ed25519 against a `whpk_` public key.
    #[serde(alias = "svix")]
    StandardWebhooks,
    /// `Paddle-Signature: ts=…;h1=<hex>`, HMAC-SHA256 of `{ts}:{body}`.
    Paddle,
    /// `X-Pennylane-Signature: t=…,v1=<hex>`, HMAC-SHA256 of `{t}.{body}`.
    Pennylane,
    /// `X-Qonto-Signature: t=…,v1=<hex>`, HMAC-SHA256 of `{t}.{body}`.
    Qonto,
    /// `Webhook-Signature`: hex HMAC-SHA256 of the body.
    Gocardless,
    /// `intuit-signature`: base64 HMAC-SHA256 of the body, keyed with the verifier token.
    Quickbooks,
    /// `x-xero-signature`: base64 HMAC-SHA256 of the body; answers Xero's intent-to-receive checks.
    Xero,
    /// HTTP Basic authentication; each secret is `user:password`.
    Chargebee,
    /// Any HMAC scheme described by `[hooks.hmac]`.
    Hmac,
    /// No signature at all: only with `allowed_ips`.
    None,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Paddle => "paddle",
            Self::Pennylane => "pennylane",
            Self::Qonto => "qonto",
            Self::Gocardless => "gocardless",
            Self::Quickbooks => "quickbooks",
            Self::Xero => "xero",
            Self::Chargebee => "chargebee",
            Self::Hmac => "hmac",
            Self::None => "none",
        }
    }
}

/// The generic HMAC scheme: where the signature is, how it is computed and written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HmacSettings {
    /// The header holding the signature, e.g. `X-Signature`.
    pub header: String,
    #[serde(default)]
    pub algorithm: HmacAlgorithm,
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Text before the signature in the header, e.g. `sha256=`.
    #[serde(default)]
    pub prefix: String,
    /// The header holding a unix timestamp (seconds), checked within 5 minutes; empty: none.
    #[serde(default)]
    pub timestamp_header: String,
    /// What is signed: `{body}`, or with a timestamp header `{timestamp}.{body}` (any text around them).
    #[serde(default = "body_only")]
    pub signed_content: String,
}

fn body_only() -> String {
    "{body}".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HmacAlgorithm {
    #[serde(alias = "sha1")]
    Sha1,
    #[default]
    #[serde(alias = "sha256")]
    Sha256,
    #[serde(alias = "sha512")]
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// How a payload becomes a letter request: each value is a handlebars expression over the payload's JSON
/// (`"{{data.object.customer_email}}"`); a field that renders empty is absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MapSettings {
    /// The source's id of the event: a replayed delivery is recognised by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The event type, matched against `events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// What makes two events one letter (e.g. the invoice id): default, the event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub recipient: RecipientMap,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_email: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub address: AddressMap,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddressMap {
    /// One expression per line; lines that render empty are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl MapSettings {
    /// This mapping with `over`'s fields where it sets them (a hook's own map over a ready mapping).
    pub fn overlaid_with(&self, over: &MapSettings) -> MapSettings {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        let (r, o) = (&self.recipient, &over.recipient);
        let mut variables = self.variables.clone();
        variables.extend(over.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
        MapSettings {
            event_id: pick(&self.event_id, &over.event_id),
            event_type: pick(&self.event_type, &over.event_type),
            idempotency_key: pick(&self.idempotency_key, &over.idempotency_key),
            recipient: RecipientMap {
                kind: pick(&r.kind, &o.kind),
                first_name: pick(&r.first_name, &o.first_name),
                last_name: pick(&r.last_name, &o.last_name),
                company: pick(&r.company, &o.company),
                email: pick(&r.email, &o.email),
                address: AddressMap {
                    lines: o.address.lines.clone().or_else(|| r.address.lines.clone()),
                    postal_code: pick(&r.address.postal_code, &o.address.postal_code),
                    city: pick(&r.address.city, &o.address.city),
                    country: pick(&r.address.country, &o.address.country),
                },
            },
            variables,
            reference: pick(&self.reference, &over.reference),
            notify_email: pick(&self.notify_email, &over.notify_email),
        }
    }
}
