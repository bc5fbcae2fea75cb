//! The typesetting engine: typst as a library over fonts compiled into the binary, producing PDF/A-2b. A
//! layout is a typst program shipped in the binary; what it lays out comes in as data (`/data.json`, images),
//! never as typst code, so no text of a letter can change its layout.

mod report;
mod world;

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Timelike, Utc};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::Source;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

pub use report::{Block, TextDocument, write_pdf};
use world::{RenderWorld, file_id};

/// The layouts shipped in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The French business letter (`letter.typ`).
    Letter,
    /// A plain report: title, paragraphs, label/value rows, an optional watermark (`report.typ`).
    Report,
}

impl Layout {
    /// The layout's typst program.
    pub fn text(self) -> &'static str {
        match self {
            Layout::Letter => include_str!("letter.typ"),
            Layout::Report => include_str!("report.typ"),
        }
    }

    /// The layout's source, parsed once per process.
    fn source(self) -> Source {
        static LETTER: OnceLock<Source> = OnceLock::new();
        static REPORT: OnceLock<Source> = OnceLock::new();
        let (cell, path) = match self {
            Layout::Letter => (&LETTER, "/letter.typ"),
            Layout::Report => (&REPORT, "/report.typ"),
        };
        cell.get_or_init(|| Source::new(file_id(path), self.text().to_owned())).clone()
    }
}

/// A file the layout reads: `/data.json`, or an image it names.
pub struct InputFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl InputFile {
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { path: path.into(), bytes }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the document could not be typeset: {0}")]
    Typeset(String),
    #[error("the PDF could not be written: {0}")]
    Export(String),
}

/// A document laid out on pages, not yet written as PDF.
pub struct Typeset {
    document: PagedDocument,
    created: DateTime<Utc>,
}

impl Typeset {
    pub fn pages(&self) -> usize {
        self.document.pages().len()
    }

    /// Writes the PDF/A-2b file: fonts embedded and subset, the document date pinned to `created`, so the
    /// same layout, data and date give the same bytes.
    pub fn to_pdf(&self) -> Result<Vec<u8>, PdfError> {
        let standards = PdfStandards::new(&[PdfStandard::A_2b]).map_err(|e| PdfError::Export(e.message().into()))?;
        let options = PdfOptions {
            ident: Smart::Auto,
            creator: Smart::Custom(Some("relais".into())),
            timestamp: Some(Timestamp::new_utc(datetime(self.created))),
            standards,
            ..PdfOptions::default()
        };
        typst_pdf::pdf(&self.document, &options).map_err(|errors| PdfError::Export(messages(&errors)))
    }
}

fn datetime(at: DateTime<Utc>) -> Datetime {
    let time = (at.year(), at.month() as u8, at.day() as u8, at.hour() as u8, at.minute() as u8, at.second() as u8);
    Datetime::from_ymd_hms(time.0, time.1, time.2, time.3, time.4, time.5).expect("a chrono date is a valid date")
}

fn messages(errors: &[typst::diag::SourceDiagnostic]) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
}

/// Lays `files` out with `layout`; `created` is the date the document says it was made (and `today` in it).
pub fn typeset(layout: Layout, files: &[InputFile], created: DateTime<Utc>) -> Result<Typeset, PdfError> {
    let files: Vec<_> = files.iter().map(|f| (file_id(&f.path), Bytes::new(f.bytes.clone()))).collect();
    let world = RenderWorld { main: layout.source(), files: &files, today: datetime(created) };
    let result = typst::compile::<PagedDocument>(&world).output;
    // Memoised layout work is kept for the documents compiled recently (the same layout, the same fonts),
    // and dropped after a while so that memory stays flat.
    typst::comemo::evict(30);
    let document = result.map_err(|errors| PdfError::Typeset(messages(&errors[..])))?;
    Ok(Typeset { document, created })
}
