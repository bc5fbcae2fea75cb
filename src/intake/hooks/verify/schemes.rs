//! The schemes, one function each: which header, what is signed, how the signature is written.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Arrival, GenericHmac, Verified, Verifier, VerifyError, fresh, mac, same};
use crate::config::{HmacAlgorithm, Preset, SignatureEncoding};

pub(super) fn verify(verifier: &Verifier, arrival: &Arrival<'_>) -> Result<Verified, VerifyError> {
    match verifier.preset {
        Preset::Stripe => timestamped_hex(verifier, arrival, "stripe-signature", ',', "t", "v1", b"."),
        Preset::Pennylane => timestamped_hex(verifier, arrival, "x-pennylane-signature", ',', "t", "v1", b"."),
        Preset::Qonto => timestamped_hex(verifier, arrival, "x-qonto-signature", ',', "t", "v1", b"."),
        Preset::Paddle => timestamped_hex(verifier, arrival, "paddle-signature", ';', "ts", "h1", b":"),
        Preset::StandardWebhooks => standard_webhooks(verifier, arrival),
        Preset::Gocardless => body_only(verifier, arrival, "webhook-signature", SignatureEncoding::Hex),
        Preset::Quickbooks => body_only(verifier, arrival, "intuit-signature", SignatureEncoding::Base64),
        Preset::Xero => body_only(verifier, arrival, "x-xero-signature", SignatureEncoding::Base64),
        Preset::Chargebee => basic(verifier, arrival),
        Preset::Hmac => match &verifier.generic {
            Some(generic) => generic_hmac(verifier, generic, arrival),
            None => Err(VerifyError::Mismatch),
        },
        Preset::None => Ok(Verified::default()),
    }
}

fn header<'a>(arrival: &Arrival<'a>, name: &'static str) -> Result<&'a str, VerifyError> {
    arrival.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).ok_or(VerifyError::MissingHeader(name))
}

/// `t=…,v1=<hex>[,v1=…]` (Stripe, Pennylane, Qonto) or `ts=…;h1=<hex>` (Paddle): an HMAC-SHA256 of
/// `{t}{separator}{body}` keyed with the secret as written; any listed signature may match (rotation).
fn timestamped_hex(
    verifier: &Verifier,
    arrival: &Arrival<'_>,
    name: &'static str,
    list_separator: char,
    timestamp_key: &str,
    signature_key: &str,
    separator: &[u8],
) -> Result<Verified, VerifyError> {
    let value = header(arrival, name)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in value.split(list_separator) {
        match item.trim().split_once('=') {
            Some((k, v)) if k == timestamp_key => timestamp = Some(v),
            Some((k, v)) if k == signature_key => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::MalformedHeader(name))?;
    if signatures.is_empty() {
        return Err(VerifyError::MalformedHeader(name));
    }
    let signed = [timestamp.as_bytes(), separator, arrival.body];
    let matched = verifier.hmac_keys().any(|key| {
        let expected = mac(HmacAlgorithm::Sha256, key, &signed);
        signatures.iter().any(|s| same(&expected, s))
    });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    fresh(timestamp, arrival.now_secs, name)?;
    Ok(Verified::default())
}

/// Standard Webhooks, with the `webhook-` or the `svix-` headers: `v1,<base64>` HMAC-SHA256 or
/// `v1a,<base64>` ed25519 over `{id}.{timestamp}.{body}`.
fn standard_webhooks(verifier: &Verifier, arrival: &Arrival<'_>) -> Result<Verified, VerifyError> {
    let svix = arrival.headers.contains_key("svix-id");
    let (id_name, ts_name, sig_name) = if svix {
        ("svix-id", "svix-timestamp", "svix-signature")
    } else {
        ("webhook-id", "webhook-timestamp", "webhook-signature")
    };
    let id = header(arrival, id_name)?;
    let timestamp = header(arrival, ts_name)?;
    let signatures = header(arrival, sig_name)?;
    fresh(timestamp, arrival.now_secs, ts_name)?;
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", arrival.body];
    let mut matched = false;
    for entry in signatures.split_whitespace() {
        let Some((version, b64)) = entry.split_once(',') else { continue };
        let Ok(presented) = STANDARD.decode(b64) else { continue };
        matched |= match version {
            "v1" => verifier.hmac_keys().any(|key| same(&mac(HmacAlgorithm::Sha256, key, &signed), &presented)),
            "v1a" => {
                let message = signed.concat();
                verifier.ed25519_keys().any(|key| {
                    let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, key);
                    key.verify(&message, &presented).is_ok()
                })
            }
            _ => false,
        };
    }
    if matched { Ok(Verified { event_id: Some(id.to_owned()) }) } else { Err(VerifyError::Mismatch) }
}

/// An HMAC-SHA256 of the body alone, in hex (GoCardless) or base64 (QuickBooks, Xero).
fn body_only(
    verifier: &Verifier,
    arrival: &Arrival<'_>,
    name: &'static str,
    encoding: SignatureEncoding,
) -> Result<Verified, VerifyError> {
    let presented = decode(encoding, header(arrival, name)?).ok_or(VerifyError::MalformedHeader(name))?;
    let matched = verifier.hmac_keys().any(|key| same(&mac(HmacAlgorithm::Sha256, key, &[arrival.body]), &presented));
    if matched { Ok(Verified::default()) } else { Err(VerifyError::Mismatch) }
}

/// HTTP Basic credentials (Chargebee signs nothing); each secret is `user:password`.
fn basic(verifier: &Verifier, arrival: &Arrival<'_>) -> Result<Verified, VerifyError> {
    let value = header(arrival, "authorization")?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or(VerifyError::MalformedHeader("authorization"))?;
    let presented = STANDARD.decode(encoded.trim()).map_err(|_| VerifyError::MalformedHeader("authorization"))?;
    if verifier.hmac_keys().any(|credentials| same(credentials, &presented)) {
        Ok(Verified::default())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn generic_hmac(verifier: &Verifier, scheme: &GenericHmac, arrival: &Arrival<'_>) -> Result<Verified, VerifyError> {
    let value = header(arrival, scheme.header)?;
    let value = value.strip_prefix(scheme.prefix.as_str()).ok_or(VerifyError::MalformedHeader(scheme.header))?;
    let presented = decode(scheme.encoding, value).ok_or(VerifyError::MalformedHeader(scheme.header))?;
    let timestamp = match scheme.timestamp_header {
        Some(name) => Some(header(arrival, name)?),
        None => None,
    };
    let fill = |text: &str| text.replace("{timestamp}", timestamp.unwrap_or_default());
    let (before, after) = (fill(&scheme.before), fill(&scheme.after));
    let signed = [before.as_bytes(), arrival.body, after.as_bytes()];
    let matched = verifier.hmac_keys().any(|key| same(&mac(scheme.algorithm, key, &signed), &presented));
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    if let (Some(name), Some(ts)) = (scheme.timestamp_header, timestamp) {
        fresh(ts, arrival.now_secs, name)?;
    }
    Ok(Verified::default())
}

fn decode(encoding: SignatureEncoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        SignatureEncoding::Hex => hex::decode(text.trim()).ok(),
        SignatureEncoding::Base64 => STANDARD.decode(text.trim()).ok(),
    }
}
