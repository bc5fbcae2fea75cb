//! Endpoints that do not come from `POST /v1/callbacks`: a sender's defaults from `[[senders.callbacks]]`,
//! applied at every start, and the endpoint of one letter's own `callback_url`.

use sha2::{Digest, Sha256};

use super::{CallbackClient, EVENT_TYPES};
use crate::config::Settings;
use crate::domain::{EndpointId, LetterId, SenderId};
use crate::store::callbacks::EndpointRow;
use crate::store::{Store, now_ms};

/// How long the previous secret of a configured endpoint keeps signing after the configuration changed it.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

/// The id of a configured endpoint: derived from its sender and URL, so that every start (and every
/// instance sharing the database) finds the same row instead of adding one.
fn configured_id(sender: &SenderId, url: &url::Url) -> EndpointId {
    let digest = Sha256::digest(format!("{sender}\u{1f}{url}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let ulid = ulid::Ulid::from_bytes(bytes);
    format!("{}_{}", EndpointId::PREFIX, ulid.to_string().to_ascii_lowercase())
        .parse()
        .expect("a ULID built from 16 bytes is a valid id")
}

/// Makes the configured endpoints of the database match `[[senders.callbacks]]`: new ones are added, changed
/// ones updated (a changed secret is rotated: the previous one keeps signing for a day), and ones no longer
/// configured removed (their deliveries stay as history). Running it twice changes nothing the second time.
pub async fn apply_configured_endpoints(
    store: &Store,
    settings: &Settings,
    client: &CallbackClient,
) -> anyhow::Result<()> {
    let existing = store.configured_callback_endpoints().await?;
    let mut wanted = Vec::new();
    for (i, sender) in settings.senders.iter().enumerate() {
        for (j, callback) in sender.callbacks.iter().enumerate() {
            client
                .check_url(&callback.url, settings.callbacks.allow_http)
                .map_err(|reason| anyhow::anyhow!("senders[{i}].callbacks[{j}].url: {reason}"))?;
            let row = EndpointRow {
                id: configured_id(&sender.id, &callback.url).to_string(),
                sender_id: sender.id.to_string(),
                url: callback.url.to_string(),
                secret: callback.secret.expose().to_owned(),
                previous_secret: None,
                previous_until: None,
                events: callback.event_types().join(","),
                description: callback.description.clone(),
                state: "enabled".into(),
                disabled_reason: None,
                failing_since: None,
                warned_at: None,
                created_at: now_ms(),
                origin: "config".into(),
                letter_id: None,
            };
            match existing.iter().find(|e| e.id == row.id) {
                None => store.insert_callback_endpoint(&row).await?,
                Some(old) => {
                    store.update_configured_endpoint(&row).await?;
                    if old.secret != row.secret {
                        store.rotate_callback_secret(&row.id, &row.secret, now_ms() + ROTATION_OVERLAP_MS).await?;
                    }
                }
            }
            wanted.push(row.id);
        }
    }
    for gone in existing.iter().filter(|e| !wanted.contains(&e.id)) {
        store.delete_callback_endpoint(&gone.id, &gone.sender_id).await?;
        tracing::info!(endpoint = %gone.id, sender = %gone.sender_id, "configured callback endpoint removed");
    }
    Ok(())
}

/// The endpoint of a letter's own `callback_url`: it hears of every event of that letter, and of no other.
pub fn letter_endpoint(sender: &SenderId, letter: &LetterId, url: &url::Url, secret: &str, now: i64) -> EndpointRow {
    EndpointRow {
        id: EndpointId::generate().to_string(),
        sender_id: sender.to_string(),
        url: url.to_string(),
        secret: secret.to_owned(),
        previous_secret: None,
        previous_until: None,
        events: EVENT_TYPES.join(","),
        description: None,
        state: "enabled".into(),
        disabled_reason: None,
        failing_since: None,
        warned_at: None,
        created_at: now,
        origin: "letter".into(),
        letter_id: Some(letter.to_string()),
    }
}
