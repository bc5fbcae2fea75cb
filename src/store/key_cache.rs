//! The live API keys this process has seen, by hash, so that a request does not read its key from the
//! database each time. A revocation made through this `Store` removes the key at once (before the revoking
//! call returns); one made elsewhere (`relais api-key revoke`, another instance on the same PostgreSQL) is
//! seen when the entry is next checked against the database, at most [`RECHECK`] after the last check.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::ApiKeyRecord;
use crate::domain::ApiKeyId;

/// How long a cached key is trusted before it is read again: the longest a revocation made by another
/// process goes unseen here.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Entries beyond this many are dropped all at once (keys are few; this only bounds memory).
const CAPACITY: usize = 10_000;

struct Entry {
    key: ApiKeyRecord,
    checked: Instant,
}

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped by every revocation: a lookup that read the database before a revocation finished does not
    /// put what it read back into the cache.
    revocations: AtomicU64,
}

/// Where a lookup stands: a fresh cached key, or the revocation count to pass back to [`KeyCache::put`]
/// after reading the database.
pub enum Cached {
    Fresh(ApiKeyRecord),
    Stale { revocations: u64 },
}

impl KeyCache {
    pub fn get(&self, hash: &str) -> Cached {
        // Read before the entry: a revocation that lands after this read makes the later `put` a no-op.
        let revocations = self.revocations.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        match entries.get(hash) {
            Some(entry) if entry.checked.elapsed() < RECHECK => Cached::Fresh(entry.key.clone()),
            _ => Cached::Stale { revocations },
        }
    }

    /// Records what the database said of `hash` (a live key, or none), unless a revocation happened since
    /// the lookup that read it began.
    pub fn put(&self, hash: &str, key: Option<&ApiKeyRecord>, revocations: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.revocations.load(Ordering::Acquire) != revocations {
            entries.remove(hash);
            return;
        }
        match key {
            Some(key) => {
                if entries.len() >= CAPACITY && !entries.contains_key(hash) {
                    entries.clear();
                }
                let mut key = key.clone();
                // A use claimed since this lookup read the row (its write may not be committed yet) stays claimed.
                let claimed = entries.get(hash).and_then(|entry| entry.key.last_used_at);
                key.last_used_at = key.last_used_at.max(claimed);
                entries.insert(hash.to_owned(), Entry { key, checked: Instant::now() });
            }
            None => {
                entries.remove(hash);
            }
        }
    }

    /// Claims the recording of the key's use at `at` when its last recorded use is older than `stale_before`:
    /// true for one caller only, however many requests with the key arrive at once. A key not cached is
    /// judged by `read`, the row as its caller read it.
    pub fn claim_use(&self, hash: &str, read: &ApiKeyRecord, at: i64, stale_before: i64) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let last_used = match entries.get_mut(hash) {
            Some(entry) => &mut entry.key.last_used_at,
            None => return read.last_used_at.is_none_or(|used| used < stale_before),
        };
        if last_used.is_some_and(|used| used >= stale_before) {
            return false;
        }
        *last_used = Some(at);
        true
    }

    /// Forgets the key `id`: called once its revocation is committed.
    pub fn revoke(&self, id: &ApiKeyId) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.revocations.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, entry| entry.key.id != *id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Scopes;

    fn key(id: &ApiKeyId) -> ApiKeyRecord {
        ApiKeyRecord {
            id: id.clone(),
            sender_id: "default".parse().unwrap(),
            prefix: "rls_abcdef".into(),
            label: None,
            scopes: Scopes::default(),
            created_at: 0,
            last_used_at: None,
            revoked_at: None,
        }
    }

    fn id() -> ApiKeyId {
        ApiKeyId::generate()
    }

    #[test]
    fn a_key_read_once_is_served_from_memory_until_revoked() {
        let cache = KeyCache::default();
        let id = id();
        let Cached::Stale { revocations } = cache.get("h") else { panic!("an empty cache has nothing fresh") };
        cache.put("h", Some(&key(&id)), revocations);
        assert!(matches!(cache.get("h"), Cached::Fresh(k) if k.id == id));
        cache.revoke(&id);
        assert!(matches!(cache.get("h"), Cached::Stale { .. }), "a revoked key is read from the database again");
    }

    /// Requests that all read the key from the database at once (the first ones after a start) record its use
    /// once: the first claims it, and a lookup finishing later does not undo the claim.
    #[test]
    fn concurrent_first_uses_of_a_key_are_recorded_once() {
        let cache = KeyCache::default();
        let read = key(&id());
        let Cached::Stale { revocations } = cache.get("h") else { panic!() };
        cache.put("h", Some(&read), revocations);
        assert!(cache.claim_use("h", &read, 1_000, 500), "the first request records the use");
        cache.put("h", Some(&read), revocations);
        assert!(!cache.claim_use("h", &read, 1_001, 501), "another lookup's row does not undo the claim");
        assert!(cache.claim_use("h", &read, 100_000, 99_000), "a use a while later is recorded again");
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_does_not_bring_the_key_back() {
        let cache = KeyCache::default();
        let id = id();
        let Cached::Stale { revocations } = cache.get("h") else { panic!() };
        // The lookup read the key as live, then the revocation committed before it could cache it.
        cache.revoke(&id);
        cache.put("h", Some(&key(&id)), revocations);
        assert!(matches!(cache.get("h"), Cached::Stale { .. }));
    }
}
