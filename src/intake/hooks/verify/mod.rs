//! Verification of an inbound webhook by its source's preset: over the raw body bytes, in constant time,
//! with a 5-minute timestamp tolerance where the scheme has a timestamp, and an IP allow-list when set.

mod schemes;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use crate::config::{HmacAlgorithm, HookSettings, Preset, SignatureEncoding};

/// How far a signed timestamp may be from our clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// One delivery as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: Option<IpAddr>,
    pub now_secs: i64,
}

/// What the scheme itself says about the delivery, once verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The message id carried in a header (Standard Webhooks), when the scheme has one.
    pub event_id: Option<String>,
}

/// Why a delivery is not the source's. Never says anything about the secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the `{0}` header is missing or unreadable")]
    MissingHeader(&'static str),
    #[error("the `{0}` header is not in the source's format")]
    MalformedHeader(&'static str),
    #[error("the signed timestamp is more than 5 minutes away from now")]
    Expired,
    #[error("no signature matches a secret of this source")]
    Mismatch,
    #[error("this source does not post from {0}")]
    AddressNotAllowed(String),
}

/// A key as the scheme uses it: HMAC key bytes, an ed25519 public key, or Basic credentials.
#[derive(Clone)]
enum Key {
    Hmac(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The generic scheme, checked once at start.
#[derive(Debug, Clone)]
struct GenericHmac {
    header: &'static str,
    algorithm: HmacAlgorithm,
    encoding: SignatureEncoding,
    prefix: String,
    timestamp_header: Option<&'static str>,
    /// Signed content: `before` (with `{timestamp}` replaced), the body, then `after`.
    before: String,
    after: String,
}

/// A source's verifier, built from its settings at start.
#[derive(Debug, Clone)]
pub struct Verifier {
    preset: Preset,
    keys: Vec<Key>,
    generic: Option<GenericHmac>,
    allowed: Vec<Network>,
}

impl Verifier {
    /// Checks the settings of `[[hooks]]` entry `at` (e.g. `hooks[0]`); errors name the key at fault.
    pub fn new(settings: &HookSettings, secrets: &[String], at: &str) -> Result<Self, (String, String)> {
        let fail = |key: &str, message: String| (format!("{at}.{key}"), message);
        let allowed = settings
            .allowed_ips
            .iter()
            .map(|text| Network::parse(text).ok_or_else(|| fail("allowed_ips", format!("`{text}` is not an address"))))
            .collect::<Result<Vec<_>, _>>()?;
        let preset = settings.preset;
        if preset == Preset::None {
            if allowed.is_empty() {
                return Err(fail(
                    "allowed_ips",
                    "preset `none` checks no signature: list the source's addresses".into(),
                ));
            }
            return Ok(Self { preset, keys: vec![], generic: None, allowed });
        }
        if secrets.iter().all(|s| s.trim().is_empty()) {
            return Err(fail("secrets", format!("preset `{}` needs at least one secret", preset.as_str())));
        }
        let mut keys = Vec::new();
        for (i, secret) in secrets.iter().map(|s| s.trim()).enumerate().filter(|(_, s)| !s.is_empty()) {
            keys.push(key_of(preset, secret).map_err(|m| fail(&format!("secrets[{i}]"), m))?);
        }
        let generic = match (preset, &settings.hmac) {
            (Preset::Hmac, None) => return Err(fail("hmac", "preset `hmac` needs a [hooks.hmac] table".into())),
            (Preset::Hmac, Some(h)) => Some(GenericHmac::new(h).map_err(|m| fail("hmac", m))?),
            _ => None,
        };
        Ok(Self { preset, keys, generic, allowed })
    }

    pub fn preset(&self) -> Preset {
        self.preset
    }

    /// Verifies a delivery: the sender's address first, then the preset's scheme.
    pub fn verify(&self, arrival: &Arrival<'_>) -> Result<Verified, VerifyError> {
        if !self.allowed.is_empty() {
            let peer = arrival.peer.ok_or_else(|| VerifyError::AddressNotAllowed("an unknown address".into()))?;
            if !self.allowed.iter().any(|n| n.contains(peer)) {
                return Err(VerifyError::AddressNotAllowed(peer.to_string()));
            }
        }
        schemes::verify(self, arrival)
    }

    fn hmac_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().filter_map(|k| match k {
            Key::Hmac(bytes) => Some(bytes.as_slice()),
            Key::Ed25519(_) => None,
        })
    }

    fn ed25519_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.keys.iter().filter_map(|k| match k {
            Key::Ed25519(bytes) => Some(bytes.as_slice()),
            Key::Hmac(_) => None,
        })
    }
}

fn key_of(preset: Preset, secret: &str) -> Result<Key, String> {
    match preset {
        Preset::StandardWebhooks => {
            let (prefix, b64) = secret
                .split_once('_')
                .filter(|(p, _)| matches!(*p, "whsec" | "whpk"))
                .ok_or("a Standard Webhooks secret starts with whsec_ (or whpk_ for an ed25519 public key)")?;
            let bytes = STANDARD.decode(b64).map_err(|_| format!("the text after {prefix}_ is not base64"))?;
            if prefix == "whpk" {
                if bytes.len() != 32 {
                    return Err("a whpk_ public key is 32 bytes in base64".into());
                }
                return Ok(Key::Ed25519(bytes));
            }
            Ok(Key::Hmac(bytes))
        }
        Preset::Chargebee if !secret.contains(':') => {
            Err("a Chargebee secret is the webhook's Basic credentials, `user:password`".into())
        }
        _ => Ok(Key::Hmac(secret.as_bytes().to_vec())),
    }
}

impl GenericHmac {
    fn new(h: &crate::config::HmacSettings) -> Result<Self, String> {
        let header = leak_header(&h.header).ok_or("`header` must name a header")?;
        let timestamp_header = match h.timestamp_header.trim() {
            "" => None,
            name => Some(leak_header(name).ok_or("`timestamp_header` must name a header")?),
        };
        let (before, after) = h.signed_content.split_once("{body}").ok_or("`signed_content` must contain {body}")?;
        if after.contains("{body}") {
            return Err("`signed_content` contains {body} once".into());
        }
        let uses_timestamp = before.contains("{timestamp}") || after.contains("{timestamp}");
        if uses_timestamp && timestamp_header.is_none() {
            return Err("`signed_content` uses {timestamp}: set `timestamp_header`".into());
        }
        Ok(Self {
            header,
            algorithm: h.algorithm,
            encoding: h.encoding,
            prefix: h.prefix.clone(),
            timestamp_header,
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }
}

/// Header names live as long as the process (a handful, read once at start).
fn leak_header(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase();
    axum::http::HeaderName::from_bytes(name.as_bytes()).ok()?;
    Some(Box::leak(name.into_boxed_str()))
}

/// HMAC of the concatenated parts.
fn mac(algorithm: HmacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    use aws_lc_rs::hmac;
    let algorithm = match algorithm {
        HmacAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        HmacAlgorithm::Sha256 => hmac::HMAC_SHA256,
        HmacAlgorithm::Sha512 => hmac::HMAC_SHA512,
    };
    let mut context = hmac::Context::with_key(&hmac::Key::new(algorithm, key));
    for part in parts {
        context.update(part);
    }
    context.sign().as_ref().to_vec()
}

/// Constant-time equality of a computed tag with a presented one.
fn same(expected: &[u8], presented: &[u8]) -> bool {
    bool::from(expected.ct_eq(presented))
}

/// Checks a signed unix timestamp (seconds) against the tolerance.
fn fresh(timestamp: &str, now_secs: i64, header: &'static str) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::MalformedHeader(header))?;
    if (now_secs - ts).abs() > TOLERANCE_SECS { Err(VerifyError::Expired) } else { Ok(()) }
}

/// An address or a network in CIDR notation.
#[derive(Debug, Clone, Copy)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let bits = |a: IpAddr| -> u128 {
            match a {
                IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if ip.is_ipv4() != self.address.is_ipv4() {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        // IPv4 sits in the top 32 bits, so one mask works for both families.
        let mask = u128::MAX << (128 - u32::from(self.prefix));
        bits(ip) & mask == bits(self.address) & mask
    }
}
