//! Proof links in callbacks: a URL that serves one proof of one letter without an API key, until it
//! expires, signed with the endpoint's secret (so a link is only as shareable as the callback it came in).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::LetterId;

/// The signature of a proof link: hex HMAC-SHA256 of `{letter}/{kind}/{expires}` keyed with the secret.
pub fn proof_link_signature(secret: &str, letter: &LetterId, kind: &str, expires: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{letter}/{kind}/{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// True when `signature` is the link's signature under one of `secrets` and `expires` (unix seconds) has not
/// passed at `now_secs`.
pub fn verify_proof_link(
    secrets: &[&str],
    letter: &LetterId,
    kind: &str,
    expires: i64,
    signature: &str,
    now_secs: i64,
) -> bool {
    if expires < now_secs {
        return false;
    }
    secrets.iter().any(|secret| {
        let expected = proof_link_signature(secret, letter, kind, expires);
        bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_until_it_expires_and_only_with_its_secret() {
        let letter = LetterId::generate();
        let sig = proof_link_signature("whsec_a", &letter, "receipt", 1_000);
        assert!(verify_proof_link(&["whsec_a"], &letter, "receipt", 1_000, &sig, 999));
        assert!(!verify_proof_link(&["whsec_a"], &letter, "receipt", 1_000, &sig, 1_001), "expired");
        assert!(!verify_proof_link(&["whsec_b"], &letter, "receipt", 1_000, &sig, 999), "another secret");
        assert!(!verify_proof_link(&["whsec_a"], &letter, "deposit", 1_000, &sig, 999), "another proof");
        assert!(!verify_proof_link(&["whsec_a"], &letter, "receipt", 2_000, &sig, 999), "a longer life");
    }
}
