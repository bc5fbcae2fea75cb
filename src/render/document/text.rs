//! The letter as plain text, laid out as on paper: for the email answers and for providers that carry the
//! letter's text (AR24's content).

use super::LetterDocument;
use super::markup::{Block, inlines_text};

/// The body's blocks as text: paragraphs separated by blank lines, lists with `- ` or `1. `, tables with
/// their columns padded.
pub fn blocks_text(blocks: &[Block]) -> String {
    blocks.iter().map(block_text).collect::<Vec<_>>().join("\n\n")
}

fn block_text(block: &Block) -> String {
    match block {
        Block::Paragraph(inlines) => inlines_text(inlines),
        Block::Bullets(items) => items.iter().map(|item| indent_item("- ", item)).collect::<Vec<_>>().join("\n"),
        Block::Numbered { start, items } => items
            .iter()
            .enumerate()
            .map(|(i, item)| indent_item(&format!("{}. ", start + i as u64), item))
            .collect::<Vec<_>>()
            .join("\n"),
        Block::Table(table) => {
            let rows: Vec<Vec<String>> = std::iter::once(&table.head)
                .chain(&table.rows)
                .map(|row| row.iter().map(|cell| inlines_text(cell).replace('\n', " ")).collect())
                .collect();
            let widths: Vec<usize> =
                (0..table.align.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
            let line = |row: &Vec<String>| {
                let cells = row.iter().zip(&widths).zip(&table.align).map(|((cell, &width), align)| {
                    let pad = " ".repeat(width - cell.chars().count());
                    if *align == "right" { format!("{pad}{cell}") } else { format!("{cell}{pad}") }
                });
                cells.collect::<Vec<_>>().join(" | ").trim_end().to_owned()
            };
            let rule = widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-");
            let mut lines = vec![line(&rows[0]), rule];
            lines.extend(rows[1..].iter().map(line));
            lines.join("\n")
        }
    }
}

fn indent_item(marker: &str, item: &[Block]) -> String {
    let text = blocks_text(item);
    let pad = " ".repeat(marker.chars().count());
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(if line.is_empty() { "" } else { &pad });
        } else {
            out.push_str(marker);
        }
        out.push_str(line);
    }
    if out.is_empty() { marker.trim_end().to_owned() } else { out }
}

/// The whole letter as text: sender, recipient, place and date, reference, object, body, signature, and
/// the sender's legal mentions.
pub fn letter_text(letter: &LetterDocument) -> String {
    let mut parts = vec![letter.sender.lines.join("\n"), letter.recipient.join("\n"), letter.place_date.clone()];
    let mut object = String::new();
    if let Some(reference) = &letter.reference {
        object.push_str(&format!("N/Réf.\u{A0}: {reference}\n"));
    }
    object.push_str(&format!("Objet\u{A0}: {}", letter.subject));
    parts.push(object);
    parts.push(blocks_text(&letter.body));
    let mut signature = letter.signature.name.clone();
    if let Some(role) = &letter.signature.role {
        signature.push('\n');
        signature.push_str(role);
    }
    parts.push(signature);
    parts.push(format!("--\n{}", letter.footer.join(" · ")));
    parts.retain(|p| !p.trim().is_empty());
    parts.join("\n\n") + "\n"
}
