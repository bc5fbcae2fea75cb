//! The files a person chooses in the new-letter form, held between the preview and the send (and while the
//! form comes back with errors) so that nobody has to choose them twice. They live in a staging folder named
//! by a random token the form carries, with a manifest naming the person who chose them; `submit_letter`
//! moves them into the letter. Held files nobody sent go with the other abandoned staging folders (an hour).

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ConsoleError;
use crate::domain::{FieldError, UserId};
use crate::intake::validate::safe_filename;
use crate::letters::{Staged, StagedAttachment};
use crate::services::Services;

const MANIFEST: &str = "manifest.json";
/// The largest text field of the form read (a long free-text variable fits many times over).
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// One held file, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldFile {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    user: String,
    files: Vec<HeldFile>,
}

/// The files held for one form, and the token that finds them again.
#[derive(Debug)]
pub struct Held {
    pub token: String,
    dir: PathBuf,
    user: String,
    pub files: Vec<HeldFile>,
}

/// What the form's multipart body held: its text fields, the held files to drop, and the field errors of
/// the files chosen this time (too many, too large: the same as the API's).
pub struct Posted {
    pub typed: std::collections::BTreeMap<String, String>,
    pub held: Held,
    /// The token the form carried named files that are gone (sent already, or abandoned for an hour).
    pub expired: bool,
    pub errors: Vec<FieldError>,
}

fn is_token(token: &str) -> bool {
    token.len() == 26 && token.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

impl Held {
    fn fresh(services: &Services, user: &UserId) -> Held {
        let dir = services.files.incoming_dir();
        let token = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Held { token, dir, user: user.to_string(), files: Vec::new() }
    }

    /// The files held under `token` for `user`; `None` when there are none (or they are someone else's).
    async fn find(services: &Services, user: &UserId, token: &str) -> Option<Held> {
        if !is_token(token) {
            return None;
        }
        let dir = services.files.incoming_dir().with_file_name(token);
        let manifest: Manifest = serde_json::from_slice(&tokio::fs::read(dir.join(MANIFEST)).await.ok()?).ok()?;
        let mine = manifest.user == user.as_str();
        mine.then(|| Held { token: token.to_owned(), dir, user: manifest.user, files: manifest.files })
    }

    fn path_of(&self, file: &HeldFile) -> PathBuf {
        self.dir.join(format!("{}.bin", file.id))
    }

    pub fn total(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The held files as the intake takes them.
    pub fn staged(&self) -> Vec<StagedAttachment> {
        self.files
            .iter()
            .map(|f| StagedAttachment {
                filename: f.filename.clone(),
                content_type: f.content_type.clone(),
                content: Staged::File(self.path_of(f)),
                size: f.size,
                sha256: f.sha256.clone(),
            })
            .collect()
    }

    /// Forgets the held files (a form refused as a whole).
    pub async fn discard(self) {
        crate::letters::files::remove_dir(&self.dir).await;
    }

    async fn drop_files(&mut self, ids: &[String]) {
        let (gone, kept): (Vec<HeldFile>, Vec<HeldFile>) = self.files.drain(..).partition(|f| ids.contains(&f.id));
        for file in &gone {
            let _ = tokio::fs::remove_file(self.path_of(file)).await;
        }
        self.files = kept;
    }

    async fn save(&self) -> Result<(), ConsoleError> {
        if self.files.is_empty() {
            crate::letters::files::remove_dir(&self.dir).await;
            return Ok(());
        }
        let manifest = Manifest { user: self.user.clone(), files: self.files.clone() };
        let bytes = serde_json::to_vec(&manifest).map_err(|e| ConsoleError::Internal(e.to_string()))?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        tokio::fs::write(self.dir.join(MANIFEST), bytes).await.map_err(io)
    }
}

fn io(e: std::io::Error) -> ConsoleError {
    ConsoleError::Internal(format!("holding the files of a form: {e}"))
}

fn too_large(limit: u64) -> FieldError {
    // The words of the API's 413 (`IntakeError::TooLarge`).
    let message = format!("the attachments of a letter may total {limit} bytes at most");
    FieldError::new("attachments", "too_large", message)
}

fn too_many(max: usize) -> FieldError {
    let message = format!("a letter has at most {max} attachments (storage.max_attachments)");
    FieldError::new("attachments", "too_many", message)
}

/// Streams one chosen file to `path`, counting it against what `room` is left; `Ok(None)` when it did not fit.
async fn write_file(field: &mut Field<'_>, path: &Path, room: u64) -> Result<Option<(u64, String)>, ConsoleError> {
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if !is_length_limit(&e) => return Err(malformed(e)),
            Err(_) => {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
                return Ok(None);
            }
        };
        size += chunk.len() as u64;
        if size > room {
            drop(file);
            let _ = tokio::fs::remove_file(path).await;
            return Ok(None);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(Some((size, hex::encode(hasher.finalize()))))
}

/// The body went past the route's limit (the attachments' limit plus room for the text).
fn is_length_limit(e: &axum::extract::multipart::MultipartError) -> bool {
    e.body_text().contains("length limit")
}

fn malformed(e: axum::extract::multipart::MultipartError) -> ConsoleError {
    ConsoleError::Internal(format!("reading the new-letter form: {}", e.body_text()))
}

async fn text_of(field: &mut Field<'_>) -> Result<String, ConsoleError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_BYTES {
            return Err(ConsoleError::Internal("a text field of the new-letter form is too long".into()));
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the new-letter form: text fields, then the files already held (the `held` field must come before
/// the file input, as the form orders it), less those ticked for removal, plus the files chosen now.
/// Files past the limits are not kept (and what was chosen with them this time goes too): the form says why.
pub async fn read_form(services: &Services, user: &UserId, mut multipart: Multipart) -> Result<Posted, ConsoleError> {
    let limit = services.settings.storage.max_attachments_size.0;
    let max_files = services.settings.storage.max_attachments;
    let mut posted =
        Posted { typed: Default::default(), held: Held::fresh(services, user), expired: false, errors: Vec::new() };
    let mut removed = Vec::new();
    let mut chosen: Vec<HeldFile> = Vec::new();
    loop {
        let next = multipart.next_field().await;
        let mut field = match next {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if is_length_limit(&e) => {
                if posted.errors.is_empty() {
                    posted.errors.push(too_large(limit));
                }
                break;
            }
            Err(e) => return Err(malformed(e)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "held" => {
                let token = text_of(&mut field).await?;
                if token.is_empty() {
                    continue;
                }
                match Held::find(services, user, &token).await {
                    Some(held) => posted.held = held,
                    None => posted.expired = true,
                }
            }
            "remove" => removed.push(text_of(&mut field).await?),
            "attachments" => {
                let Some(filename) = field.file_name().map(str::to_owned).filter(|f| !f.is_empty()) else {
                    continue; // the file input left empty
                };
                if !posted.errors.is_empty() {
                    continue;
                }
                let position = posted.held.files.len() + chosen.len();
                if position >= max_files {
                    posted.errors.push(too_many(max_files));
                    continue;
                }
                let id = ulid::Ulid::new().to_string().to_ascii_lowercase();
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                tokio::fs::create_dir_all(&posted.held.dir).await.map_err(io)?;
                let path = posted.held.dir.join(format!("{id}.bin"));
                let used = posted.held.total() + chosen.iter().map(|f| f.size).sum::<u64>();
                match write_file(&mut field, &path, limit.saturating_sub(used)).await? {
                    Some((size, sha256)) => {
                        let filename = safe_filename(Some(&filename), position);
                        chosen.push(HeldFile { id, filename, content_type, size, sha256 });
                    }
                    None => posted.errors.push(too_large(limit)),
                }
            }
            _ => {
                let text = text_of(&mut field).await?;
                posted.typed.insert(name, text);
            }
        }
    }
    posted.held.drop_files(&removed).await;
    if posted.errors.is_empty() {
        posted.held.files.extend(chosen);
    } else {
        for file in &chosen {
            let _ = tokio::fs::remove_file(posted.held.path_of(file)).await;
        }
    }
    posted.held.save().await?;
    Ok(posted)
}
