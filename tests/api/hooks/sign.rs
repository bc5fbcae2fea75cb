//! Signing deliveries as each source does, for the tests: HMACs by aws-lc-rs, headers by hand.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn mac(algorithm: hmac::Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut context = hmac::Context::with_key(&hmac::Key::new(algorithm, key));
    for part in parts {
        context.update(part);
    }
    context.sign().as_ref().to_vec()
}

fn pair(name: &str, value: String) -> Vec<(String, String)> {
    vec![(name.to_owned(), value)]
}

/// `t=…,v1=<hex>` over `{t}.{body}` (Stripe, Pennylane, Qonto under their own header names).
pub fn stripe(header: &str, secret: &str, t: i64, body: &[u8]) -> Vec<(String, String)> {
    let sig = hex::encode(mac(hmac::HMAC_SHA256, secret.as_bytes(), &[format!("{t}.").as_bytes(), body]));
    pair(header, format!("t={t},v1={sig}"))
}

pub fn paddle(secret: &str, t: i64, body: &[u8]) -> Vec<(String, String)> {
    let sig = hex::encode(mac(hmac::HMAC_SHA256, secret.as_bytes(), &[format!("{t}:").as_bytes(), body]));
    pair("paddle-signature", format!("ts={t};h1={sig}"))
}

pub fn standard(prefix: &str, secret: &str, id: &str, t: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let sig = STANDARD.encode(mac(hmac::HMAC_SHA256, &key, &[format!("{id}.{t}.").as_bytes(), body]));
    vec![
        (format!("{prefix}-id"), id.to_owned()),
        (format!("{prefix}-timestamp"), t.to_string()),
        (format!("{prefix}-signature"), format!("v1,{sig}")),
    ]
}

pub fn body_hex(header: &str, secret: &str, body: &[u8]) -> Vec<(String, String)> {
    pair(header, hex::encode(mac(hmac::HMAC_SHA256, secret.as_bytes(), &[body])))
}

pub fn body_base64(header: &str, secret: &str, body: &[u8]) -> Vec<(String, String)> {
    pair(header, STANDARD.encode(mac(hmac::HMAC_SHA256, secret.as_bytes(), &[body])))
}

pub fn basic(credentials: &str) -> Vec<(String, String)> {
    pair("authorization", format!("Basic {}", STANDARD.encode(credentials)))
}

/// The generic scheme as configured in the preset tests: `sha512=<hex>` of `{timestamp}.{body}`.
pub fn generic(secret: &str, t: i64, body: &[u8]) -> Vec<(String, String)> {
    let sig = hex::encode(mac(hmac::HMAC_SHA512, secret.as_bytes(), &[format!("{t}.").as_bytes(), body]));
    vec![("x-signature".into(), format!("sha512={sig}")), ("x-timestamp".into(), t.to_string())]
}
