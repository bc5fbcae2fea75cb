//! Plain reports typeset by the same engine as letters: a title, paragraphs and label/value rows, with an
//! optional watermark on every page (the sandbox provider's proofs, "no legal value").

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{InputFile, Layout, PdfError, typeset};

/// One block of a report, top to bottom.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A bold title line.
    Heading { text: String },
    /// A paragraph; a '\n' inside is a line break.
    Paragraph { text: String },
    /// A "label: value" row, the label in bold (facts like "Letter id").
    Field { label: String, value: String },
    /// Vertical space of one line.
    Spacer,
}

impl Block {
    pub fn heading(text: impl Into<String>) -> Self {
        Self::Heading { text: text.into() }
    }

    pub fn paragraph(text: impl Into<String>) -> Self {
        Self::Paragraph { text: text.into() }
    }

    pub fn field(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Field { label: label.into(), value: value.into() }
    }
}

/// A report ready to be laid out on A4 pages.
#[derive(Debug, Clone, Serialize)]
pub struct TextDocument {
    /// The document's title in its metadata.
    pub title: String,
    /// The document's author in its metadata.
    pub author: String,
    /// The date the document says it was made: the same document and date give the same bytes.
    #[serde(skip)]
    pub created: DateTime<Utc>,
    /// Printed in red at the top and bottom of every page, e.g. "SANDBOX — no legal value".
    pub watermark: Option<String>,
    pub blocks: Vec<Block>,
}

/// The report as a PDF/A-2b file.
pub fn write_pdf(document: &TextDocument) -> Result<Vec<u8>, PdfError> {
    let data = serde_json::to_vec(document).map_err(|e| PdfError::Typeset(e.to_string()))?;
    typeset(Layout::Report, &[InputFile::new("/data.json", data)], document.created)?.to_pdf()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn sample() -> TextDocument {
        TextDocument {
            title: "Preuve de dépôt".into(),
            author: "relais sandbox".into(),
            created: Utc.with_ymd_and_hms(2026, 11, 26, 17, 43, 0).unwrap(),
            watermark: Some("SANDBOX — no legal value".into()),
            blocks: vec![
                Block::heading("Preuve de dépôt — #set page(width: 1cm)"),
                Block::paragraph("Łukasz Dvořák, line one\nline two [x] *y* _z_ $w$ @ref <b> \\ "),
                Block::Spacer,
                Block::field("Letter id", "ltr_01"),
            ],
        }
    }

    #[test]
    fn a_report_is_a_reproducible_pdf_a() {
        let a = write_pdf(&sample()).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, write_pdf(&sample()).unwrap(), "same document and date, same bytes");
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("pdfaid:part>2<") || text.contains("pdfaid:part=\"2\""), "PDF/A-2 metadata");
    }
}
