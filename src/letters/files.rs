//! Files kept for letters: attachments and the rendered letter under `attachments_dir/{letter}/`, proofs
//! under `proofs_dir/{letter}/`. Written under a temporary name, synced, then renamed into place.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{Staged, StagedAttachment};
use crate::domain::LetterId;
use crate::providers::SentFile;
use crate::store::{AttachmentRecord, NewAttachment};

/// Where a letter's files live.
#[derive(Debug, Clone)]
pub struct LetterFiles {
    pub attachments_dir: PathBuf,
    pub proofs_dir: PathBuf,
}

impl LetterFiles {
    pub fn attachments_of(&self, letter: &LetterId) -> PathBuf {
        self.attachments_dir.join(letter.as_str())
    }

    pub fn document_of(&self, letter: &LetterId) -> PathBuf {
        self.attachments_of(letter).join("letter.pdf")
    }

    /// A file of its own for one download of a proof: two syncs archiving the same proof at once never write
    /// the same file, so the row kept points at the bytes its SHA-256 was computed from.
    pub fn proof_path(&self, letter: &LetterId, kind: &str) -> PathBuf {
        let unique = ulid::Ulid::new().to_string().to_ascii_lowercase();
        self.proofs_dir.join(letter.as_str()).join(format!("{kind}-{unique}.pdf"))
    }

    /// A fresh folder for the files of a request that has no letter id yet.
    pub fn incoming_dir(&self) -> PathBuf {
        incoming_root(&self.attachments_dir).join(ulid::Ulid::new().to_string().to_ascii_lowercase())
    }

    /// The attachments as the letter commits them. A file kept in memory (a small one) goes into the database
    /// with the letter: no file, folder or sync of its own. Staged files move into the letter's folder (same
    /// file system: renames, no copy), in one call to the blocking pool. A request's own staging folder holding
    /// exactly its files, named as a letter's are, becomes the letter's folder with one rename: no folder is
    /// created and none removed, which on ext4 makes every later inode allocation scan past the recently freed
    /// ones. Otherwise the files move one by one and their staging folders go.
    pub async fn place_attachments(
        &self,
        id: &LetterId,
        staged: &[StagedAttachment],
    ) -> std::io::Result<Vec<NewAttachment>> {
        let dir = self.attachments_of(id);
        let mut moves: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut placed = Vec::with_capacity(staged.len());
        for (i, file) in staged.iter().enumerate() {
            let (path, content) = match &file.content {
                Staged::Memory(bytes) => (None, Some(bytes.clone())),
                Staged::File(from) => {
                    let to = dir.join(format!("{i}.bin"));
                    moves.push((from.clone(), to.clone()));
                    (Some(to.to_string_lossy().into_owned()), None)
                }
            };
            let record = AttachmentRecord {
                letter_id: id.clone(),
                position: i as i64,
                filename: file.filename.clone(),
                content_type: file.content_type.clone(),
                size: file.size as i64,
                sha256: file.sha256.clone(),
                path,
            };
            placed.push(NewAttachment { record, content });
        }
        if moves.is_empty() {
            return Ok(placed); // no folder for a letter without files on disk
        }
        let incoming = incoming_root(&self.attachments_dir);
        blocking(move || {
            if let Some(folder) = folder_of_exactly(&moves, &incoming)
                && std::fs::rename(folder, &dir).is_ok()
            {
                return Ok(());
            }
            std::fs::create_dir_all(&dir)?;
            for (from, to) in &moves {
                std::fs::rename(from, to)?;
            }
            let mut staging: Vec<_> = moves.iter().filter_map(|(from, _)| from.parent()).collect();
            staging.dedup();
            for folder in staging {
                let _ = std::fs::remove_dir_all(folder); // what is left there belongs to no letter
            }
            Ok(())
        })
        .await?;
        Ok(placed)
    }
}

/// Files at most this large are kept inside the database, committed with their letter, instead of in files
/// of their own: an invoice of a few pages costs no inode, no folder and no fsync at intake.
pub const KEPT_IN_DATABASE_AT_MOST: u64 = 256 * 1024;

/// True when a received file of `size` bytes is kept in the database.
pub fn kept_in_database(size: u64) -> bool {
    size <= KEPT_IN_DATABASE_AT_MOST
}

/// An attachment's bytes as a provider sends them: its file, or what the database keeps.
pub async fn attachment_for_sending(
    store: &crate::store::Store,
    attachment: &AttachmentRecord,
) -> crate::store::StoreResult<SentFile> {
    if let Some(path) = &attachment.path {
        return Ok(SentFile::OnDisk(PathBuf::from(path)));
    }
    let content = store.attachment_content(&attachment.letter_id, attachment.position).await?;
    let content = content.ok_or_else(|| {
        let what = format!("attachment {} of letter {}", attachment.position, attachment.letter_id);
        crate::store::StoreError::Corrupt(format!("{what} has neither a file nor content"))
    })?;
    Ok(SentFile::InMemory(content.into()))
}

/// The one request folder (in `incoming`) holding every file to move, when its files have their names in the
/// letter's folder already and it holds nothing else.
fn folder_of_exactly<'a>(moves: &'a [(PathBuf, PathBuf)], incoming: &Path) -> Option<&'a Path> {
    let folder = moves.first()?.0.parent().filter(|folder| folder.parent() == Some(incoming))?;
    let same_names = moves.iter().all(|(from, to)| from.parent() == Some(folder) && from.file_name() == to.file_name());
    let entries = std::fs::read_dir(folder).ok()?.count();
    (same_names && entries == moves.len()).then_some(folder)
}

/// Where requests' folders wait for their letters, under `attachments_dir`.
pub fn incoming_root(attachments_dir: &Path) -> PathBuf {
    attachments_dir.join(".incoming")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True when the bytes start like a PDF file.
pub fn looks_like_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// Writes `bytes` durably at `path` (temp file, fsync, rename); returns their SHA-256.
pub async fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<String> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let partial = path.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&partial, path).await?;
    Ok(sha256_hex(bytes))
}

/// Writes a staged attachment, its folder created if need be, without syncing it: the committer makes every
/// file of a batch durable with one [`sync_all`] before the batch's transaction, instead of one fsync per
/// file per request. One call to the blocking pool; the bytes are shared, not copied.
pub async fn write_staged(path: &Path, bytes: bytes::Bytes) -> std::io::Result<()> {
    let path = path.to_owned();
    blocking(move || {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &bytes)
    })
    .await
}

/// Runs file system calls on the blocking pool, as one hop.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(std::io::Error::other)?
}

/// Past this many files and folders, one `syncfs` of their file system costs less than syncing each.
const SYNC_EACH_AT_MOST: usize = 4;

/// Makes files written with [`write_staged`] and moved into place durable: each file, each folder holding
/// one, and `root` (which holds the folders). A few are synced one by one, together; more, with one `syncfs`
/// of the file system holding `root` (on Linux): on a file system without a journal every fsync writes its
/// own inode and waits for it, where one sync of the file system writes them all in one pass.
pub async fn sync_all(root: &Path, files: impl IntoIterator<Item = PathBuf>) -> std::io::Result<()> {
    let mut paths: Vec<PathBuf> = vec![root.to_owned()];
    for file in files {
        if let Some(parent) = file.parent() {
            paths.push(parent.to_owned());
        }
        paths.push(file);
    }
    paths.sort();
    paths.dedup();
    #[cfg(target_os = "linux")]
    if paths.len() > SYNC_EACH_AT_MOST {
        let root = root.to_owned();
        return blocking(move || sync_file_system(&root)).await;
    }
    let syncs = paths.into_iter().map(|path| blocking(move || std::fs::File::open(path)?.sync_all()));
    for done in futures_util::future::join_all(syncs).await {
        done?;
    }
    Ok(())
}

/// Writes everything pending on the file system holding `path` to disk, and reports a write that failed.
#[cfg(target_os = "linux")]
fn sync_file_system(path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let folder = std::fs::File::open(path)?;
    // SAFETY: `syncfs` takes an open descriptor, which `folder` holds until after the call.
    match unsafe { libc::syncfs(folder.as_raw_fd()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Removes a folder and what it holds, ignoring a folder that is already gone.
pub async fn remove_dir(path: &Path) {
    if let Err(e) = tokio::fs::remove_dir_all(path).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove a folder");
    }
}

/// How long a request's staging folder may live before it counts as abandoned (a crash mid-request).
const STAGING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A letter's folder is filled just before the letter is committed: one without a letter this long after
/// was left by a crash (or a failed commit) between the two.
pub const ORPHAN_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes what no letter will ever use: staging folders of requests that died half-way, letter folders
/// whose letter was never committed, and the files of held email requests that expired unconfirmed (or
/// whose record is gone). Returns how many folders went.
pub async fn remove_abandoned(files: &LetterFiles, store: &crate::store::Store, now_ms: i64) -> std::io::Result<usize> {
    let mut removed = 0;
    for dir in subfolders(&incoming_root(&files.attachments_dir)).await? {
        let age = tokio::fs::metadata(&dir).await?.modified()?.elapsed().unwrap_or_default();
        if age > STAGING_MAX_AGE {
            remove_dir(&dir).await;
            removed += 1;
        }
    }
    for dir in subfolders(&files.attachments_dir).await? {
        let Some(letter) = dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<LetterId>().ok()) else {
            continue;
        };
        let age = tokio::fs::metadata(&dir).await?.modified()?.elapsed().unwrap_or_default();
        if age > ORPHAN_MIN_AGE && store.letter(&letter).await.map_err(std::io::Error::other)?.is_none() {
            tracing::info!(folder = %dir.display(), "removing the files of a letter that was never recorded");
            remove_dir(&dir).await;
            removed += 1;
        }
    }
    for dir in subfolders(&files.attachments_dir.join(".pending")).await? {
        let token = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let held = store.confirmation(&token).await.map_err(std::io::Error::other)?;
        let abandoned = match held {
            None => true,
            Some(c) => c.letter_id.is_none() && c.expires_at < now_ms,
        };
        if abandoned {
            remove_dir(&dir).await;
            removed += 1;
        }
    }
    Ok(removed)
}

async fn subfolders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        if entry.file_type().await?.is_dir() {
            found.push(entry.path());
        }
    }
    Ok(found)
}
