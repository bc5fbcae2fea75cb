//! Sender accounts' API keys: 256-bit random secrets shown once, stored as SHA-256, looked up by hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::domain::{ApiKeyId, SenderId};
use crate::letters::files::sha256_hex;
use crate::store::{ApiKeyRecord, NewApiKey, Store, StoreResult, now_ms};

/// The visible start of every key, so leaked keys are easy to find in logs and code scanners.
pub const KEY_PREFIX: &str = "rls_";

/// A key just created: the secret exists only here and in the caller's hands.
pub struct CreatedKey {
    pub id: ApiKeyId,
    pub secret: String,
}

/// Creates a key for `sender` and stores its hash.
pub async fn create_api_key(store: &Store, sender: &SenderId, label: Option<&str>) -> StoreResult<CreatedKey> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = ApiKeyId::generate();
    let hash = sha256_hex(secret.as_bytes());
    store
        .insert_api_key(&NewApiKey {
            id: &id,
            sender_id: sender,
            hash: &hash,
            prefix: &secret[..KEY_PREFIX.len() + 6],
            label,
            now: now_ms(),
        })
        .await?;
    Ok(CreatedKey { id, secret })
}

/// The live key matching a presented secret.
pub async fn authenticate(store: &Store, presented: &str) -> StoreResult<Option<ApiKeyRecord>> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Ok(None);
    }
    store.api_key_by_hash(&sha256_hex(presented.as_bytes())).await
}
