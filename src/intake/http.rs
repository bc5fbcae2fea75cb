//! The HTTP intake of `POST /v1/letters`: a JSON body (attachments in base64) or `multipart/form-data`
//! (a `letter` JSON part plus file parts, streamed to disk). Both end in the same checks.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::IntakeError;
use super::validate::{Draft, check_draft, safe_filename};
use crate::domain::recipient::RawRecipient;
use crate::domain::{FieldError, FieldErrors, SenderId};
use crate::letters::files::{self, looks_like_pdf, remove_dir};
use crate::letters::{LetterRequest, Staged, StagedAttachment};
use crate::services::Services;

/// The JSON of a letter request, as sent. Every field is optional here so that missing ones are reported
/// together, by name, instead of failing on the first.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LetterRequest)]
pub struct RawLetter {
    /// The API key's own sender, if named.
    pub sender: Option<String>,
    /// The letter template (`relance-facture`).
    pub template: Option<String>,
    /// The template's variables (`invoice_number`, `amount_due` as `1250.00` or `1 250,00 €`, `due_date`…).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// `kind` (`professional` or `individual`), `first_name`, `last_name`, `company`, `email`, `address`
    /// (`lines`, `postal_code`, `city`, `country`).
    #[schema(value_type = Option<Object>)]
    pub recipient: Option<RawRecipient>,
    #[serde(default)]
    pub attachments: Vec<RawAttachment>,
    pub reference: Option<String>,
    pub notify_email: Option<String>,
    /// Where this letter's events are delivered (Standard Webhooks), besides the sender's endpoints.
    pub callback_url: Option<String>,
    /// The `whsec_` secret signing them; the sender's `callback_secret` when absent.
    #[schema(value_type = Option<String>)]
    pub callback_secret: Option<crate::config::Secret>,
}

/// The fields the checks read; the sender and the attachments are resolved before.
impl From<RawLetter> for Draft {
    fn from(raw: RawLetter) -> Self {
        Draft {
            template: raw.template,
            variables: raw.variables.unwrap_or_default(),
            recipient: raw.recipient,
            reference: raw.reference,
            notify_email: raw.notify_email,
            callback_url: raw.callback_url,
            callback_secret: raw.callback_secret,
        }
    }
}

/// A letter request as `multipart/form-data`: the `letter` part holds the JSON (without `attachments`), and
/// each other part is one file, streamed to disk.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the form for the OpenAPI document; the parts are read as they stream
pub struct LetterParts {
    /// The letter request as JSON, without `attachments`.
    letter: String,
    /// One part per file, any part name.
    #[schema(format = Binary)]
    files: Option<Vec<String>>,
}

/// A file of a JSON letter request, in base64.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAttachment {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub content_base64: Option<String>,
}

/// Parses one JSON document, naming the field where it went wrong (`recipient.address.lines`); anything
/// but whitespace after the document is refused, never ignored.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IntakeError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        IntakeError::Malformed { field, message: e.into_inner().to_string() }
    })?;
    de.end().map_err(|e| IntakeError::Malformed {
        field: None,
        message: format!("{e}: the body must hold one JSON document and nothing after it"),
    })?;
    Ok(value)
}

/// A JSON letter request from the sender of `caller`.
/// The body is dropped once parsed, so its bytes and the decoded files are not held at once.
pub async fn letter_from_json(
    services: &Services,
    caller: &SenderId,
    body: axum::body::Bytes,
) -> Result<LetterRequest, IntakeError> {
    let mut raw: RawLetter = parse_json(&body)?;
    let request_sha256 = hex::encode(Sha256::digest(&body));
    drop(body);
    let sender = sender_of(services, caller, raw.sender.as_deref())?;
    let staging = services.files.incoming_dir();
    let attachments = std::mem::take(&mut raw.attachments);
    let staged = stage_base64(services, &sender, attachments, &staging).await;
    let staged = match staged {
        Ok(staged) => staged,
        Err(e) => {
            remove_dir(&staging).await;
            return Err(e);
        }
    };
    finish(services, sender, raw, staged, request_sha256, &staging).await
}

/// A multipart letter request: a `letter` part holding the JSON (without base64 attachments) and one
/// part per file. Files are streamed to disk, hashed on the way, and counted against the size limit.
pub async fn letter_from_multipart(
    services: &Services,
    caller: &SenderId,
    multipart: Multipart,
) -> Result<LetterRequest, IntakeError> {
    let staging = services.files.incoming_dir();
    let result = read_multipart(services, multipart, &staging).await;
    let (letter_json, staged, digest) = match result {
        Ok(parts) => parts,
        Err(e) => {
            remove_dir(&staging).await;
            return Err(e);
        }
    };
    let outcome = async {
        let raw: RawLetter = parse_json(&letter_json)?;
        if !raw.attachments.is_empty() {
            let message = "in a multipart request, send each file as its own part, not in the letter JSON";
            return Err(FieldError::new("letter.attachments", "not_allowed_here", message).into());
        }
        let sender = sender_of(services, caller, raw.sender.as_deref())?;
        check_pdf_files(services, &sender, &staged).await?;
        Ok::<_, IntakeError>((raw, sender))
    }
    .await;
    match outcome {
        Ok((raw, sender)) => finish(services, sender, raw, staged, digest, &staging).await,
        Err(e) => {
            remove_dir(&staging).await;
            Err(e)
        }
    }
}

/// A letter request whose files are already staged by the caller (the console keeps the files a person chose
/// across a preview and a form answered with errors): the checks of a multipart request. Nothing is removed
/// on failure: the files stay the caller's until `submit_letter` moves them into the letter.
pub async fn letter_from_staged(
    services: &Services,
    caller: &SenderId,
    letter_json: &[u8],
    staged: Vec<StagedAttachment>,
) -> Result<LetterRequest, IntakeError> {
    let raw: RawLetter = parse_json(letter_json)?;
    let mut digest = Sha256::new();
    digest.update(letter_json);
    staged.iter().for_each(|f| digest.update(f.sha256.as_bytes()));
    let sender = sender_of(services, caller, raw.sender.as_deref())?;
    check_pdf_files(services, &sender, &staged).await?;
    let draft = Draft::from(raw);
    check_draft(services, sender, draft, staged, hex::encode(digest.finalize()))
}

async fn finish(
    services: &Services,
    sender: SenderId,
    raw: RawLetter,
    staged: Vec<StagedAttachment>,
    request_sha256: String,
    staging: &Path,
) -> Result<LetterRequest, IntakeError> {
    let draft = Draft::from(raw);
    match check_draft(services, sender, draft, staged, request_sha256) {
        Ok(request) => Ok(request),
        Err(e) => {
            remove_dir(staging).await;
            Err(e)
        }
    }
}

fn sender_of(services: &Services, caller: &SenderId, named: Option<&str>) -> Result<SenderId, IntakeError> {
    match named {
        Some(name) if name != caller.as_str() => Err(IntakeError::Forbidden(format!(
            "this API key belongs to sender `{caller}` and cannot send letters for `{name}`"
        ))),
        _ if services.settings.sender(caller).is_none() => {
            Err(IntakeError::Forbidden(format!("sender `{caller}` is no longer configured")))
        }
        _ => Ok(caller.clone()),
    }
}

/// Decodes each base64 attachment, one at a time: a small file stays in memory, to be committed inside the
/// letter's transaction; a large one goes to its staging file, its text freed as soon as its bytes are on disk,
/// so memory holds the request's text, the small files and one large file at most.
async fn stage_base64(
    services: &Services,
    sender: &SenderId,
    raw: Vec<RawAttachment>,
    staging: &Path,
) -> Result<Vec<StagedAttachment>, IntakeError> {
    let limit = services.settings.storage.max_attachments_size.0;
    let require_pdf = services.settings.sender(sender).is_some_and(|s| s.require_pdf);
    let max_files = services.settings.storage.max_attachments;
    if raw.len() > max_files {
        let message =
            format!("a letter has at most {max_files} attachments (storage.max_attachments), not {}", raw.len());
        return Err(FieldError::new("attachments", "too_many", message).into());
    }
    let estimated: u64 = raw.iter().map(|a| a.content_base64.as_ref().map_or(0, |c| c.len() as u64 / 4 * 3)).sum();
    if estimated > limit + 3 * raw.len() as u64 {
        return Err(IntakeError::TooLarge { limit });
    }
    let mut errors = FieldErrors::default();
    let mut staged = Vec::with_capacity(raw.len());
    let mut total = 0u64;
    for (i, a) in raw.into_iter().enumerate() {
        let field = format!("attachments[{i}]");
        let RawAttachment { filename, content_type, content_base64 } = a;
        let Some(content) = content_base64 else {
            let message = "give the file content in base64";
            errors.push(FieldError::new(format!("{field}.content_base64"), "required", message));
            continue;
        };
        let decoded = if content.bytes().any(|b| b.is_ascii_whitespace()) {
            let cleaned: Vec<u8> = content.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            drop(content);
            STANDARD.decode(&cleaned)
        } else {
            let bytes = STANDARD.decode(content.as_bytes());
            drop(content);
            bytes
        };
        let bytes = match decoded {
            Ok(bytes) if require_pdf && !looks_like_pdf(&bytes) => {
                let message = "this sender accepts PDF attachments only; the file does not start like a PDF";
                errors.push(FieldError::new(field, "not_pdf", message));
                continue;
            }
            Ok(bytes) => bytes,
            Err(e) => {
                let message = format!("not valid base64: {e}");
                errors.push(FieldError::new(format!("{field}.content_base64"), "invalid_base64", message));
                continue;
            }
        };
        total += bytes.len() as u64;
        if total > limit {
            return Err(IntakeError::TooLarge { limit });
        }
        if !errors.is_empty() {
            continue; // the request fails anyway: nothing more to write
        }
        let sha256 = files::sha256_hex(&bytes);
        let size = bytes.len() as u64;
        let content = if files::kept_in_database(size) {
            Staged::Memory(bytes.into())
        } else {
            let path = staging.join(format!("{i}.bin"));
            files::write_staged(&path, bytes.into()).await?;
            Staged::File(path)
        };
        staged.push(StagedAttachment {
            filename: safe_filename(filename.as_deref(), i),
            content_type: content_type.unwrap_or_else(|| "application/pdf".into()),
            content,
            size,
            sha256,
        });
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(staged)
}

async fn read_multipart(
    services: &Services,
    mut multipart: Multipart,
    staging: &Path,
) -> Result<(Vec<u8>, Vec<StagedAttachment>, String), IntakeError> {
    let limit = services.settings.storage.max_attachments_size.0;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        let message = e.body_text();
        if message.contains("length limit") {
            IntakeError::TooLarge { limit }
        } else {
            IntakeError::Malformed { field: None, message }
        }
    };
    let max_files = services.settings.storage.max_attachments;
    let mut letter = None;
    let mut staged = Vec::new();
    let mut digest = Sha256::new();
    let mut total = 0u64;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() == Some("letter") {
            if letter.is_some() {
                let message = "a multipart request has exactly one `letter` part";
                return Err(FieldError::new("letter", "duplicate", message).into());
            }
            let bytes = field.bytes().await.map_err(malformed)?;
            digest.update(&bytes);
            letter = Some(bytes.to_vec());
            continue;
        }
        let position = staged.len();
        if position >= max_files {
            let message = format!("a letter has at most {max_files} attachments (storage.max_attachments)");
            return Err(FieldError::new("attachments", "too_many", message).into());
        }
        let filename = safe_filename(field.file_name(), position);
        let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
        let path: PathBuf = staging.join(format!("{position}.bin"));
        tokio::fs::create_dir_all(staging).await?;
        let mut file = tokio::fs::File::create(&path).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            size += chunk.len() as u64;
            total += chunk.len() as u64;
            if total > limit {
                return Err(IntakeError::TooLarge { limit });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        // Synced with the rest of its batch by the committer, before the letter's transaction.
        file.flush().await?;
        let sha256 = hex::encode(hasher.finalize());
        digest.update(sha256.as_bytes());
        staged.push(StagedAttachment { filename, content_type, content: Staged::File(path), size, sha256 });
    }
    let letter = letter.ok_or_else(|| IntakeError::Malformed {
        field: Some("letter".into()),
        message: "a multipart request needs a `letter` part holding the letter JSON".into(),
    })?;
    Ok((letter, staged, hex::encode(digest.finalize())))
}

async fn check_pdf_files(
    services: &Services,
    sender: &SenderId,
    staged: &[StagedAttachment],
) -> Result<(), IntakeError> {
    if !services.settings.sender(sender).is_some_and(|s| s.require_pdf) {
        return Ok(());
    }
    let mut errors = FieldErrors::default();
    for (i, file) in staged.iter().enumerate() {
        let mut head = [0u8; 5];
        let n = match &file.content {
            Staged::File(path) => {
                tokio::io::AsyncReadExt::read(&mut tokio::fs::File::open(path).await?, &mut head).await?
            }
            Staged::Memory(bytes) => {
                let n = bytes.len().min(head.len());
                head[..n].copy_from_slice(&bytes[..n]);
                n
            }
        };
        if !looks_like_pdf(&head[..n]) {
            errors.push(FieldError::new(
                format!("attachments[{i}]"),
                "not_pdf",
                format!("`{}`: this sender accepts PDF attachments only", file.filename),
            ));
        }
    }
    errors.into_result(|| ()).map_err(IntakeError::Invalid)
}
