//! The fake AR24's `POST /attachment`: multipart `file`, `file_name`, `id_user` (providers.md §1.5).

use serde_json::json;
use sha2::{Digest, Sha256};

use super::Shared;
use super::model::{FakeAttachment, paris};
use super::users::{Reply, sender};
use super::wire::Incoming;

pub fn upload(shared: &Shared, incoming: &Incoming) -> Reply {
    let mut state = shared.state();
    if incoming.param("id_user").is_none() {
        return Err("missing_user_id");
    }
    let user_id = sender(&state, incoming)?.id;
    let file = incoming.files.iter().find(|f| f.field == "file").ok_or("attachment_missing_file")?;
    // `file_name` names the document; the part's own filename is a fallback (the fake's choice).
    let file_name = incoming.param("file_name").or(file.file_name.as_deref()).filter(|n| !n.trim().is_empty());
    let file_name = file_name.ok_or("attachment_empty_name")?.to_string();
    if file.bytes.len() > state.attachment_limit {
        return Err("attachment_too_big");
    }
    let attachment = FakeAttachment {
        id: state.next_id(),
        user_id,
        file_name,
        size: file.bytes.len(),
        sha256: hex::encode(Sha256::digest(&file.bytes)),
    };
    // Besides `file_id`, the item fields of providers.md §1.5.
    let reply = json!({
        "file_id": attachment.id,
        "id_api_attachment": attachment.id,
        "hash": attachment.sha256,
        "filesize": attachment.size,
        "filename": attachment.file_name,
        "id_user": user_id,
        "upload_date": paris(chrono::Utc::now()),
    });
    state.attachments.push(attachment);
    Ok(reply)
}
