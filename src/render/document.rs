//! The letter as a document: the rendered text laid out as a PDF (the seam where a typeset renderer goes).

use chrono::{TimeZone, Utc};

use super::RenderedLetter;
use super::pdf::{Block, TextDocument, write_pdf};

/// Lays a rendered letter out: blank lines separate paragraphs; the object line is set in bold.
pub fn letter_pdf(letter: &RenderedLetter, title: &str, author: &str, created_at_ms: i64) -> Vec<u8> {
    let created = Utc.timestamp_millis_opt(created_at_ms).single().unwrap_or_default();
    let mut blocks = Vec::new();
    for paragraph in letter.body.split("\n\n").map(|p| p.trim_matches('\n')) {
        if paragraph.trim().is_empty() {
            continue;
        }
        let is_object = paragraph.starts_with("Objet") && !paragraph.contains('\n');
        blocks.push(if is_object {
            Block::Heading(paragraph.to_owned())
        } else {
            Block::Paragraph(paragraph.to_owned())
        });
    }
    write_pdf(&TextDocument {
        title: if letter.subject.is_empty() { title.to_owned() } else { letter.subject.clone() },
        author: author.to_owned(),
        created: created.format("D:%Y%m%d%H%M%SZ").to_string(),
        watermark: None,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_become_blocks_and_the_pdf_is_deterministic() {
        let letter = RenderedLetter {
            subject: "Relance : facture n° F-1".into(),
            body: "Exemple SAS\n1 rue Exemple\n\nObjet : relance\n\nMadame, Monsieur,\n\n\nCordialement.".into(),
        };
        let a = letter_pdf(&letter, "Relance", "Exemple SAS", 0);
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, letter_pdf(&letter, "Relance", "Exemple SAS", 0));
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("(Madame, Monsieur,)"));
    }
}
