//! Who may act: console users (`users`), and sender accounts' API keys: 256-bit random secrets shown once, stored as SHA-256, looked up by hash; their
//! scopes, last use and revocation.

mod scope;
pub mod users;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::domain::{ApiKeyId, SenderId};
use crate::letters::files::sha256_hex;
use crate::store::{ApiKeyRecord, NewApiKey, Store, StoreResult, now_ms};
pub use scope::{Scope, Scopes};

/// The visible start of every key, so leaked keys are easy to find in logs and code scanners.
pub const KEY_PREFIX: &str = "rls_";

/// A key's last use is written at most this often (milliseconds): no write per request on the hot path.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// A key just created: the secret exists only here and in the caller's hands.
pub struct CreatedKey {
    pub id: ApiKeyId,
    pub sender: SenderId,
    pub scopes: Scopes,
    pub secret: String,
}

/// Makes a key, stores its hash (only while no key exists when `first`), and hands the secret back.
async fn make_key(
    store: &Store,
    sender: &SenderId,
    label: Option<&str>,
    scopes: Scopes,
    first: bool,
) -> StoreResult<Option<CreatedKey>> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id = ApiKeyId::generate();
    let hash = sha256_hex(secret.as_bytes());
    let key = NewApiKey {
        id: &id,
        sender_id: sender,
        hash: &hash,
        prefix: &secret[..KEY_PREFIX.len() + 6],
        label,
        scopes: &scopes,
        now: now_ms(),
    };
    let stored =
        if first { store.insert_first_api_key(&key).await? } else { store.insert_api_key(&key).await.map(|_| true)? };
    Ok(stored.then(|| CreatedKey { id, sender: sender.clone(), scopes, secret }))
}

/// Creates a key for `sender` with `scopes` and stores its hash.
pub async fn create_api_key(
    store: &Store,
    sender: &SenderId,
    label: Option<&str>,
    scopes: Scopes,
) -> StoreResult<CreatedKey> {
    let created = make_key(store, sender, label, scopes, false).await?;
    Ok(created.expect("an unconditional insert stores the key"))
}

/// The first key of a new installation, with the `admin` scope, for `sender`: created only while no key
/// exists at all (so instances starting together on one PostgreSQL database do not each make one).
pub async fn create_first_api_key(store: &Store, sender: &SenderId) -> StoreResult<Option<CreatedKey>> {
    if store.count_api_keys().await? > 0 {
        return Ok(None);
    }
    make_key(store, sender, Some("created at first start"), Scopes::new([Scope::Admin]), true).await
}

/// The live key matching a presented secret. Keys are kept in memory once read: a key revoked through this
/// process (the API, the console) is refused from the next request on; one revoked by another process
/// within a second (see `store::key_cache`). Its last use is recorded in the background when the stored one
/// is older than [`LAST_USED_RESOLUTION_MS`].
pub async fn authenticate(store: &Store, presented: &str) -> StoreResult<Option<ApiKeyRecord>> {
    if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
        return Ok(None);
    }
    let hash = sha256_hex(presented.as_bytes());
    let Some(key) = store.api_key_by_hash(&hash).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let stale_before = now - LAST_USED_RESOLUTION_MS;
    if store.claim_api_key_use(&hash, &key, now, stale_before) {
        let (store, id) = (store.clone(), key.id.clone());
        tokio::spawn(async move {
            if let Err(e) = store.touch_api_key(&id, now, stale_before).await {
                tracing::warn!(key = %id, error = %e, "could not record the API key's last use");
            }
        });
    }
    Ok(Some(key))
}

/// Revokes a key: it is refused from its next request on. `None` when no such key exists.
pub async fn revoke_api_key(store: &Store, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>> {
    store.revoke_api_key(id, now_ms()).await
}

/// What the first start prints: the key, the sender it really belongs to, its scopes, and how to try it.
pub fn first_key_message(key: &CreatedKey, base: &str) -> String {
    let base = base.trim_end_matches('/');
    let (secret, sender, scopes) = (&key.secret, &key.sender, &key.scopes);
    format!(
        "\nFirst start: an API key ({scopes}) was created for sender `{sender}`. It is shown only this once:\n\n    \
         {secret}\n\nTry it:\n\n    curl -s {base}/v1/letters -H 'Authorization: Bearer {secret}' \
         -H 'Content-Type: application/json' \\\n      -d @examples/letter.json\n\n\
         More keys: relais api-key create --sender {sender} --scope letters\n"
    )
}
