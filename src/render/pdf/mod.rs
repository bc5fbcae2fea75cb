//! Minimal PDF 1.4 writer owning the layout and serialisation of text documents (letters, proofs).

use std::fmt::Write as _;

/// One block of a document, laid out top to bottom.
pub enum Block {
    /// A bold line, larger type.
    Heading(String),
    /// Wrapped text. Single '\n' inside forces a line break; the paragraph is followed by a gap.
    Paragraph(String),
    /// A "label: value" table row (label in bold) — used by proofs for facts like "Letter id".
    Field { label: String, value: String },
    /// Vertical space of one line.
    Spacer,
}

/// A text document ready to be laid out on A4 pages.
pub struct TextDocument {
    /// Written to the document info `/Title`.
    pub title: String,
    /// Written to the document info `/Author`.
    pub author: String,
    /// Already formatted as a PDF date, e.g. "D:20261126174300Z"; written verbatim into `/CreationDate`.
    pub created: String,
    /// Printed in red at the top and bottom of every page, e.g. "SANDBOX — no legal value".
    pub watermark: Option<String>,
    /// The content, top to bottom.
    pub blocks: Vec<Block>,
}

const PAGE_WIDTH: f64 = 595.0;
const PAGE_HEIGHT: f64 = 842.0;
const MARGIN: f64 = 56.0;
const TEXT_WIDTH: f64 = PAGE_WIDTH - 2.0 * MARGIN;
const TOP: f64 = PAGE_HEIGHT - MARGIN;
const BOTTOM: f64 = MARGIN;
const BODY_SIZE: f64 = 11.0;
const HEADING_SIZE: f64 = 14.0;
const FOOTER_SIZE: f64 = 8.0;
const WATERMARK_SIZE: f64 = 9.0;
const LEADING: f64 = 1.35;
/// Values of field rows line up in one column unless the label needs more room.
const LABEL_COLUMN: f64 = 150.0;
const LABEL_GAP: f64 = 8.0;
const FOOTER_Y: f64 = 28.0;
/// Sits between the footer and the lowest possible body line.
const WATERMARK_BOTTOM_Y: f64 = 42.0;
/// Sits above the top margin, clear of the first body line.
const WATERMARK_TOP_Y: f64 = PAGE_HEIGHT - 36.0;

mod fonts;
#[cfg(test)]
mod tests;

use fonts::{Font, text_width, to_win_ansi};

/// A piece of text placed at an absolute position on a page.
#[derive(Clone, Debug, PartialEq)]
struct Run {
    font: Font,
    size: f64,
    x: f64,
    y: f64,
    text: Vec<u8>,
}

type Page = Vec<Run>;

/// Breaks one line of text (no '\n') into lines no wider than `max_width`.
fn wrap(text: &[u8], font: Font, size: f64, max_width: f64) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    // Runs of spaces collapse: spacing comes from the blocks, not from the text.
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if !current.is_empty() {
            let mut candidate = current.clone();
            candidate.push(b' ');
            candidate.extend_from_slice(word);
            if text_width(&candidate, font, size) <= max_width {
                current = candidate;
                continue;
            }
            lines.push(std::mem::take(&mut current));
        }
        let mut pieces = split_long_word(word, font, size, max_width);
        current = pieces.pop().unwrap_or_default();
        lines.extend(pieces);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Cuts a word wider than the line into line-sized pieces; each piece holds at least one character.
fn split_long_word(word: &[u8], font: Font, size: f64, max_width: f64) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut current = Vec::new();
    for &b in word {
        let wider = text_width(&current, font, size) + text_width(&[b], font, size);
        if !current.is_empty() && wider > max_width {
            pieces.push(std::mem::take(&mut current));
        }
        current.push(b);
    }
    pieces.push(current);
    pieces
}

/// Wraps text whose '\n' are hard line breaks.
fn wrap_paragraph(text: &str, font: Font, size: f64, max_width: f64) -> Vec<Vec<u8>> {
    text.split('\n').flat_map(|line| wrap(&to_win_ansi(line), font, size, max_width)).collect()
}

/// Places rows of runs top to bottom, opening a new page when a row would cross the bottom margin.
struct Layout {
    pages: Vec<Page>,
    cursor: f64,
}

impl Layout {
    fn new() -> Self {
        Layout { pages: Vec::new(), cursor: TOP }
    }

    /// Places one row; each cell is (font, size, x, text), all sharing one baseline.
    fn row(&mut self, size: f64, cells: Vec<(Font, f64, f64, Vec<u8>)>) {
        let height = size * LEADING;
        if self.pages.is_empty() || self.cursor - height < BOTTOM {
            self.pages.push(Vec::new());
            self.cursor = TOP;
        }
        let baseline = self.cursor - size;
        self.cursor -= height;
        if let Some(page) = self.pages.last_mut() {
            for (font, size, x, text) in cells {
                page.push(Run { font, size, x, y: baseline, text });
            }
        }
    }

    fn lines(&mut self, lines: Vec<Vec<u8>>, font: Font, size: f64) {
        for line in lines {
            self.row(size, vec![(font, size, MARGIN, line)]);
        }
    }

    /// Gaps never open a page on their own; the next row does if needed.
    fn gap(&mut self, height: f64) {
        self.cursor -= height;
    }

    fn field(&mut self, label: &str, value: &str) {
        let label_text = format!("{label}:");
        let label_width = text_width(&to_win_ansi(&label_text), Font::Bold, BODY_SIZE);
        let column = (label_width + LABEL_GAP).clamp(LABEL_COLUMN, TEXT_WIDTH / 2.0);
        let labels = wrap_paragraph(&label_text, Font::Bold, BODY_SIZE, column - LABEL_GAP);
        let values = wrap_paragraph(value, Font::Regular, BODY_SIZE, TEXT_WIDTH - column);
        let rows = labels.len().max(values.len());
        let mut labels = labels.into_iter();
        let mut values = values.into_iter();
        for _ in 0..rows {
            let mut cells = Vec::new();
            if let Some(text) = labels.next() {
                cells.push((Font::Bold, BODY_SIZE, MARGIN, text));
            }
            if let Some(text) = values.next() {
                cells.push((Font::Regular, BODY_SIZE, MARGIN + column, text));
            }
            self.row(BODY_SIZE, cells);
        }
    }

    fn block(&mut self, block: &Block) {
        let body_line = BODY_SIZE * LEADING;
        match block {
            Block::Heading(text) => {
                let lines = wrap_paragraph(text, Font::Bold, HEADING_SIZE, TEXT_WIDTH);
                self.lines(lines, Font::Bold, HEADING_SIZE);
                self.gap(body_line * 0.4);
            }
            Block::Paragraph(text) => {
                let lines = wrap_paragraph(text, Font::Regular, BODY_SIZE, TEXT_WIDTH);
                self.lines(lines, Font::Regular, BODY_SIZE);
                self.gap(body_line * 0.6);
            }
            Block::Field { label, value } => self.field(label, value),
            Block::Spacer => self.gap(body_line),
        }
    }
}

/// Lays the blocks out on pages; there is always at least one page.
fn layout(blocks: &[Block]) -> Vec<Page> {
    let mut state = Layout::new();
    for block in blocks {
        state.block(block);
    }
    if state.pages.is_empty() {
        state.pages.push(Vec::new());
    }
    state.pages
}

/// Formats a coordinate with two decimals at most, so output is compact and stable.
fn num(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// A PDF literal string; non-ASCII bytes become octal escapes so content streams stay ASCII.
fn pdf_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// A text string for the info dictionary: UTF-16BE with BOM, so any title survives.
fn pdf_text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

fn show_text(out: &mut String, font: Font, size: f64, x: f64, y: f64, text: &[u8]) {
    let _ =
        writeln!(out, "BT /{} {} Tf {} {} Td {} Tj ET", font.resource(), num(size), num(x), num(y), pdf_string(text));
}

/// The drawing operators of one page: body, optional watermark, footer.
fn page_content(page: &Page, number: usize, total: usize, watermark: Option<&str>) -> String {
    let mut out = String::new();
    for run in page {
        show_text(&mut out, run.font, run.size, run.x, run.y, &run.text);
    }
    if let Some(mark) = watermark {
        let mark = to_win_ansi(mark);
        out.push_str("q 1 0 0 rg\n");
        for y in [WATERMARK_TOP_Y, WATERMARK_BOTTOM_Y] {
            show_text(&mut out, Font::Bold, WATERMARK_SIZE, MARGIN, y, &mark);
        }
        out.push_str("Q\n");
    }
    let footer = format!("page {number} / {total}").into_bytes();
    let x = (PAGE_WIDTH - text_width(&footer, Font::Regular, FOOTER_SIZE)) / 2.0;
    show_text(&mut out, Font::Regular, FOOTER_SIZE, x, FOOTER_Y, &footer);
    out
}

/// Accumulates numbered objects in order and remembers where each starts, for the xref table.
struct PdfWriter {
    buf: Vec<u8>,
    offsets: Vec<usize>,
}

impl PdfWriter {
    fn new() -> Self {
        let mut buf = b"%PDF-1.4\n".to_vec();
        // High bytes tell transfer tools the file is binary.
        buf.extend_from_slice(b"%\xE2\xE3\xCF\xD3\n");
        PdfWriter { buf, offsets: Vec::new() }
    }

    /// Appends the next object; objects must be added in number order starting at 1.
    fn object(&mut self, body: &str) {
        self.offsets.push(self.buf.len());
        let number = self.offsets.len();
        self.buf.extend_from_slice(format!("{number} 0 obj\n{body}\nendobj\n").as_bytes());
    }

    fn stream(&mut self, content: &str) {
        let body = format!("<< /Length {} >>\nstream\n{content}endstream", content.len());
        self.object(&body);
    }

    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        let xref = self.buf.len();
        let size = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {size}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ =
            write!(table, "trailer\n<< /Size {size} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        self.buf.extend_from_slice(table.as_bytes());
        self.buf
    }
}

const CATALOG: usize = 1;
const PAGES: usize = 2;
const INFO: usize = 5;
const FIRST_PAGE: usize = 6;

fn page_object(index: usize) -> usize {
    FIRST_PAGE + 2 * index
}

fn info_dictionary(doc: &TextDocument) -> String {
    format!(
        "<< /Title {} /Author {} /Producer (relais) /CreationDate {} >>",
        pdf_text_string(&doc.title),
        pdf_text_string(&doc.author),
        pdf_string(doc.created.as_bytes())
    )
}

/// Lays the document out on A4 pages and returns the PDF bytes. Deterministic: same input, same bytes.
pub fn write_pdf(doc: &TextDocument) -> Vec<u8> {
    let pages = layout(&doc.blocks);
    let total = pages.len();
    let kids: Vec<String> = (0..total).map(|i| format!("{} 0 R", page_object(i))).collect();

    let mut pdf = PdfWriter::new();
    pdf.object(&format!("<< /Type /Catalog /Pages {PAGES} 0 R >>"));
    pdf.object(&format!("<< /Type /Pages /Kids [{}] /Count {total} >>", kids.join(" ")));
    for base in ["Helvetica", "Helvetica-Bold"] {
        pdf.object(&format!("<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"));
    }
    pdf.object(&info_dictionary(doc));
    for (index, page) in pages.iter().enumerate() {
        pdf.object(&format!(
            "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {} {}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            num(PAGE_WIDTH),
            num(PAGE_HEIGHT),
            page_object(index) + 1
        ));
        pdf.stream(&page_content(page, index + 1, total, doc.watermark.as_deref()));
    }
    pdf.finish(CATALOG, INFO)
}
