//! Standard Webhooks signatures: HMAC-SHA256 over "{id}.{timestamp}.{body}", sent as `v1,<base64>`,
//! verified over the raw bytes in constant time with a timestamp tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a webhook's timestamp may be from our clock (replay window).
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// The secret's bytes: a `whsec_` secret is base64 (the Standard Webhooks form); anything else is used as is.
fn key_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_bytes(secret)).expect("HMAC takes keys of any length");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the webhook-id, webhook-timestamp or webhook-signature header is missing")]
    MissingHeader,
    #[error("the webhook timestamp is not a number")]
    BadTimestamp,
    #[error("the webhook timestamp is outside the {TOLERANCE_SECS}s tolerance")]
    Expired,
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a message against the space-separated signatures of a `webhook-signature` header.
pub fn verify(
    secret: &str,
    msg_id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let (Some(msg_id), Some(timestamp), Some(signatures)) = (msg_id, timestamp, signatures) else {
        return Err(SignatureError::MissingHeader);
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    if (now_secs - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    let expected = sign(secret, msg_id, ts, body);
    let matches =
        signatures.split_whitespace().any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected.as_bytes())));
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn signs_the_specification_example() {
        assert_eq!(sign(SECRET, ID, TS, BODY), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_among_several_signatures_and_refuses_tampering() {
        let header = format!("v1,bogus {}", sign(SECRET, ID, TS, BODY));
        assert_eq!(verify(SECRET, Some(ID), Some(&TS.to_string()), Some(&header), BODY, TS + 10), Ok(()));
        assert_eq!(
            verify(SECRET, Some(ID), Some(&TS.to_string()), Some(&header), b"{\"test\": 1}", TS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_messages_are_refused() {
        let sig = sign(SECRET, ID, TS, BODY);
        let result = verify(SECRET, Some(ID), Some(&TS.to_string()), Some(&sig), BODY, TS + TOLERANCE_SECS + 1);
        assert_eq!(result, Err(SignatureError::Expired));
    }
}
