//! What a check found different from what was recorded: the letter, the thing, expected and found.

use crate::domain::{ConsentId, LetterId};

/// The thing that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An event does not follow from the one before it (edited, inserted or deleted in the database).
    Event {
        seq: i64,
    },
    /// An event differs from the head an anchor recorded: the chain was rewritten after that anchor.
    AnchoredEvent {
        seq: i64,
        anchored_at: String,
    },
    /// The letter an anchor covered is gone from the database.
    AnchoredLetter {
        anchored_at: String,
    },
    /// The rendered letter PDF.
    Document,
    Attachment {
        position: i64,
        filename: String,
    },
    Proof {
        kind: String,
    },
    /// The evidence file of a recipient's consent.
    ConsentProof {
        consent: ConsentId,
    },
    /// A line of the anchor file itself.
    AnchorLine {
        line: usize,
    },
    /// The time-stamp token of an anchor line.
    TimestampToken {
        line: usize,
    },
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Event { seq } => write!(f, "event {seq}"),
            Self::AnchoredEvent { seq, anchored_at } => write!(f, "event {seq}, anchored at {anchored_at}"),
            Self::AnchoredLetter { anchored_at } => write!(f, "letter anchored at {anchored_at}"),
            Self::Document => f.write_str("letter PDF"),
            Self::Attachment { position, filename } => write!(f, "attachment {position} ({filename})"),
            Self::Proof { kind } => write!(f, "{kind} proof"),
            Self::ConsentProof { .. } => f.write_str("consent proof"),
            Self::AnchorLine { line } => write!(f, "anchor file line {line}"),
            Self::TimestampToken { line } => write!(f, "time-stamp of anchor line {line}"),
        }
    }
}

/// One difference. `letter` is none for consents and for the anchor file's own lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub letter: Option<LetterId>,
    pub subject: Subject,
    pub expected: String,
    pub found: String,
}

impl Finding {
    pub fn new(
        letter: Option<&LetterId>,
        subject: Subject,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self { letter: letter.cloned(), subject, expected: expected.into(), found: found.into() }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whose = match (&self.letter, &self.subject) {
            (Some(letter), _) => letter.as_str(),
            (None, Subject::ConsentProof { consent }) => consent.as_str(),
            (None, _) => "anchors",
        };
        write!(f, "{whose}  {}: expected {}, found {}", self.subject, self.expected, self.found)
    }
}

/// The result of `verify`: what was checked, and every difference.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub letters: usize,
    pub events: usize,
    pub files: usize,
    pub anchors: usize,
    /// Letters whose chain was compared with an anchored head.
    pub anchored_letters: usize,
    pub timestamps: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// One line saying what was checked.
    pub fn summary(&self) -> String {
        format!(
            "{} letter(s), {} event(s), {} file(s) checked; {} anchor(s) read, {} letter(s) compared with their \
             anchored head, {} time-stamp(s) matched; {} difference(s)",
            self.letters,
            self.events,
            self.files,
            self.anchors,
            self.anchored_letters,
            self.timestamps,
            self.findings.len()
        )
    }
}
