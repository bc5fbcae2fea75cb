//! The anchor file: one JSON line per anchor, appended and synced, never rewritten. Each line carries the
//! digest over every chain head at that time, the heads that changed since the line before (so the file
//! grows with activity, not with the number of letters), the SHA-256 of the line before it, and the name of
//! its time-stamp token. Reading the file replays it and checks each line against the ones before.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chain::AnchoredEvent;
use super::findings::{Finding, Subject};
use crate::store::GENESIS_HASH;

/// A letter's head in a line: `[letter id, event seq, event hash]`; seq 0 and an empty hash record that the
/// letter had no event any more when the anchor was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadEntry(pub String, pub i64, pub String);

/// One anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorLine {
    /// RFC 3339, UTC, milliseconds.
    pub anchored_at: String,
    /// SHA-256 over the sorted lines `LETTER_ID SEQ HASH\n` of every letter with events.
    pub digest: String,
    /// How many letters the digest covers.
    pub letters: usize,
    /// SHA-256 of the line before (its text without the newline); zeros for the first line.
    pub previous: String,
    /// The heads that changed since the line before.
    pub changed: Vec<HeadEntry>,
    /// The RFC 3161 TimeStampResp over `digest`, a file beside this one.
    pub timestamp_token: Option<String>,
}

/// The anchor file replayed.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Every line read, with its number (1-based).
    pub lines: Vec<(usize, AnchorLine)>,
    /// Each letter's current head according to the file.
    pub heads: BTreeMap<String, (i64, String)>,
    /// Every head ever anchored, per letter, oldest first.
    pub history: BTreeMap<String, Vec<AnchoredEvent>>,
    /// SHA-256 of the last line: the next line's `previous`.
    pub last_line_hash: String,
    /// Lines that do not follow from the ones before.
    pub problems: Vec<Finding>,
}

impl Ledger {
    pub fn last(&self) -> Option<&AnchorLine> {
        self.lines.last().map(|(_, line)| line)
    }
}

/// The digest of a set of heads, given in letter id order.
pub fn digest<'a>(heads: impl Iterator<Item = (&'a str, i64, &'a str)>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (letter, seq, hash) in heads {
        for part in [letter.as_bytes(), b" ", seq.to_string().as_bytes(), b" ", hash.as_bytes(), b"\n"] {
            hasher.update(part);
        }
    }
    hasher.finalize().into()
}

fn line_problem(line: usize, expected: impl Into<String>, found: impl Into<String>) -> Finding {
    Finding::new(None, Subject::AnchorLine { line }, expected, found)
}

/// Reads and replays the anchor file; a missing file is an empty ledger.
pub fn read(path: &Path) -> std::io::Result<Ledger> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut ledger = Ledger { last_line_hash: GENESIS_HASH.to_owned(), ..Ledger::default() };
    for (i, raw) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let number = i + 1;
        let this_hash = hex::encode(Sha256::digest(raw.as_bytes()));
        match serde_json::from_str::<AnchorLine>(raw) {
            Ok(line) => {
                replay(&mut ledger, number, &line);
                ledger.lines.push((number, line));
            }
            Err(e) => ledger.problems.push(line_problem(number, "an anchor (one JSON object)", e.to_string())),
        }
        ledger.last_line_hash = this_hash;
    }
    Ok(ledger)
}

fn replay(ledger: &mut Ledger, number: usize, line: &AnchorLine) {
    if line.previous != ledger.last_line_hash {
        let expected = format!("previous {}", ledger.last_line_hash);
        ledger.problems.push(line_problem(number, expected, format!("previous {}", line.previous)));
    }
    for HeadEntry(letter, seq, hash) in &line.changed {
        if *seq == 0 {
            ledger.heads.remove(letter);
            continue;
        }
        ledger.heads.insert(letter.clone(), (*seq, hash.clone()));
        let anchored = AnchoredEvent { seq: *seq, hash: hash.clone(), anchored_at: line.anchored_at.clone() };
        ledger.history.entry(letter.clone()).or_default().push(anchored);
    }
    let replayed = hex::encode(digest(ledger.heads.iter().map(|(l, (s, h))| (l.as_str(), *s, h.as_str()))));
    if replayed != line.digest || ledger.heads.len() != line.letters {
        let expected = format!("digest {replayed} over {} letter(s)", ledger.heads.len());
        ledger.problems.push(line_problem(
            number,
            expected,
            format!("digest {} over {} letter(s)", line.digest, line.letters),
        ));
    }
}

/// Appends `line` and syncs it to disk.
pub fn append(path: &Path, line: &AnchorLine) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut text = serde_json::to_string(line).map_err(std::io::Error::other)?;
    text.push('\n');
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Locks the anchor file for one anchor (exclusive, advisory); released when the returned file is dropped.
pub fn lock(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.lock()?;
    Ok(file)
}

/// Where a line's time-stamp token lives: beside the anchor file.
pub fn token_path(anchor_file: &Path, name: &str) -> PathBuf {
    anchor_file.parent().unwrap_or(Path::new(".")).join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(previous: &str, changed: Vec<HeadEntry>, heads: &[(&str, i64, &str)]) -> AnchorLine {
        AnchorLine {
            anchored_at: "2026-11-29T00:00:00.000Z".into(),
            digest: hex::encode(digest(heads.iter().copied())),
            letters: heads.len(),
            previous: previous.into(),
            changed,
            timestamp_token: None,
        }
    }

    #[test]
    fn lines_replay_into_heads_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let first = line(GENESIS_HASH, vec![HeadEntry("ltr_a".into(), 2, "h2".into())], &[("ltr_a", 2, "h2")]);
        append(&path, &first).unwrap();
        let previous = read(&path).unwrap().last_line_hash;
        let second = line(&previous, vec![HeadEntry("ltr_a".into(), 3, "h3".into())], &[("ltr_a", 3, "h3")]);
        append(&path, &second).unwrap();
        let ledger = read(&path).unwrap();
        assert!(ledger.problems.is_empty(), "{:?}", ledger.problems);
        assert_eq!(ledger.heads["ltr_a"], (3, "h3".to_owned()));
        assert_eq!(ledger.history["ltr_a"].len(), 2);
    }

    #[test]
    fn an_edited_or_removed_line_breaks_the_lines_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, &line(GENESIS_HASH, vec![HeadEntry("ltr_a".into(), 1, "h1".into())], &[("ltr_a", 1, "h1")]))
            .unwrap();
        let previous = read(&path).unwrap().last_line_hash;
        append(&path, &line(&previous, vec![], &[("ltr_a", 1, "h1")])).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"h1\"", "\"hX\"", 1)).unwrap();
        let ledger = read(&path).unwrap();
        let mut lines: Vec<_> = ledger.problems.iter().map(|p| p.subject.clone()).collect();
        lines.dedup();
        assert_eq!(lines, [Subject::AnchorLine { line: 1 }, Subject::AnchorLine { line: 2 }]);
    }
}
