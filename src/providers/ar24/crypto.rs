//! AR24 request signatures and response encryption: AES-256-CBC (PKCS#7) keyed from SHA-256 hex digests,
//! exactly as AR24 documents it (the official test vector is a unit test below).

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha2::{Digest, Sha256};

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Key and IV of the request signature: key = the first 32 characters of hex(sha256(private key)), IV =
/// the first 16 characters of hex(sha256(that hex)). (PHP's openssl truncates the 64-character key.)
fn signature_key_iv(private_key: &str) -> ([u8; 32], [u8; 16]) {
    let h = sha256_hex(private_key.as_bytes());
    let iv_source = sha256_hex(h.as_bytes());
    (first::<32>(&h), first::<16>(&iv_source))
}

/// The response key: the first 32 characters of hex(sha256(date + private key)), with the signature's IV.
fn response_key_iv(private_key: &str, date: &str) -> ([u8; 32], [u8; 16]) {
    let (_, iv) = signature_key_iv(private_key);
    (first::<32>(&sha256_hex(format!("{date}{private_key}").as_bytes())), iv)
}

fn first<const N: usize>(hex: &str) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&hex.as_bytes()[..N]);
    out
}

fn encrypt(key: [u8; 32], iv: [u8; 16], plaintext: &[u8]) -> String {
    let ciphertext = cbc::Encryptor::<Aes256>::new(&key.into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    STANDARD.encode(ciphertext)
}

fn decrypt(key: [u8; 32], iv: [u8; 16], base64: &str) -> Option<Vec<u8>> {
    let ciphertext = STANDARD.decode(base64.trim()).ok()?;
    cbc::Decryptor::<Aes256>::new(&key.into(), &iv.into()).decrypt_padded_vec_mut::<Pkcs7>(&ciphertext).ok()
}

/// The `signature` header of a request sent at `date` (`YYYY-MM-DD HH:mm:ss`, Europe/Paris).
pub fn sign_date(private_key: &str, date: &str) -> String {
    let (key, iv) = signature_key_iv(private_key);
    encrypt(key, iv, date.as_bytes())
}

/// Reads the date back out of a signature (what AR24 does to check it).
pub fn signed_date(private_key: &str, signature: &str) -> Option<String> {
    let (key, iv) = signature_key_iv(private_key);
    decrypt(key, iv, signature).and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Encrypts a response body the way AR24 does for the request sent at `date`.
pub fn encrypt_response(private_key: &str, date: &str, body: &[u8]) -> String {
    let (key, iv) = response_key_iv(private_key, date);
    encrypt(key, iv, body)
}

/// Decrypts an encrypted response body; `None` when it is not ciphertext for this key and date.
pub fn decrypt_response(private_key: &str, date: &str, body: &str) -> Option<Vec<u8>> {
    let (key, iv) = response_key_iv(private_key, date);
    decrypt(key, iv, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The official test vector of AR24's documentation.
    const PRIVATE_KEY: &str = "7X9gx9E3Qx4EiUdB63nc";
    const DATE: &str = "2021-05-26 14:00:00";

    #[test]
    fn the_signature_matches_the_official_test_vector() {
        let (key, iv) = signature_key_iv(PRIVATE_KEY);
        assert_eq!(&key, b"a41fc962645608f492041e736202ca27");
        assert_eq!(&iv, b"18ca5cfff8d04d9b");
        assert_eq!(sign_date(PRIVATE_KEY, DATE), "bDop0cbjKpkySlpvnNGvBMg7PuYFFgPPqTTS2RAHoY0=");
        assert_eq!(signed_date(PRIVATE_KEY, "bDop0cbjKpkySlpvnNGvBMg7PuYFFgPPqTTS2RAHoY0=").as_deref(), Some(DATE));
    }

    #[test]
    fn the_response_decrypts_as_in_the_official_test_vector() {
        let (key, _) = response_key_iv(PRIVATE_KEY, DATE);
        assert_eq!(&key, b"0ff908ad560ccd391a927570b9a4956f");
        let clear = decrypt_response(PRIVATE_KEY, DATE, "WwBOU6s8DaMWmYdctBJwfuoujFgVygBUjhsbdf8eWqQ=").unwrap();
        // The documentation's plaintext is written JavaScript-style, not as strict JSON.
        assert_eq!(String::from_utf8_lossy(&clear), r#"{status: "SUCCESS"}"#);
    }

    #[test]
    fn responses_round_trip_and_another_date_does_not_decrypt() {
        let body = br#"{"status":"SUCCESS","result":{"id":42}}"#;
        let sealed = encrypt_response(PRIVATE_KEY, DATE, body);
        assert_eq!(decrypt_response(PRIVATE_KEY, DATE, &sealed).unwrap(), body);
        let other = decrypt_response(PRIVATE_KEY, "2021-05-26 14:00:01", &sealed);
        assert!(other.is_none_or(|b| b != body));
    }
}
