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

/// The WinAnsi byte that stands in for characters the fonts cannot show.
const UNMAPPABLE: u8 = b'?';
const NO_BREAK_SPACE: u8 = 0xA0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    fn widths(self) -> &'static [u16; 256] {
        match self {
            Font::Regular => &HELVETICA_WIDTHS,
            Font::Bold => &HELVETICA_BOLD_WIDTHS,
        }
    }
}

/// Width in points of WinAnsi-encoded text.
fn text_width(bytes: &[u8], font: Font, size: f64) -> f64 {
    let table = font.widths();
    let units: u32 = bytes.iter().map(|&b| u32::from(table[usize::from(b)])).sum();
    f64::from(units) * size / 1000.0
}

/// Maps one character to its Windows-1252 byte, which is what `/WinAnsiEncoding` means.
fn win_ansi_byte(c: char) -> u8 {
    match c {
        // French typography puts these before ; : ! ? » and inside numbers; they must not break.
        '\u{A0}' | '\u{202F}' | '\u{2009}' => NO_BREAK_SPACE,
        '\t' => b' ',
        ' '..='~' => c as u8,
        '\u{A1}'..='\u{FF}' => c as u8,
        _ => win_ansi_extra(c),
    }
}

/// The 0x80-0x9F range, where Windows-1252 departs from Latin-1.
fn win_ansi_extra(c: char) -> u8 {
    match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        _ => UNMAPPABLE,
    }
}

fn to_win_ansi(text: &str) -> Vec<u8> {
    text.chars().map(win_ansi_byte).collect()
}

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

/// Adobe AFM advance widths of Helvetica, indexed by WinAnsi code.
const HELVETICA_WIDTHS: [u16; 256] = [
    278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278,
    278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333,
    278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722,
    667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278,
    278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333,
    500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350, 556, 350, 222, 556, 333, 1000, 556, 556, 333,
    1000, 667, 333, 1000, 350, 611, 350, 350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500,
    667, 278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556,
    537, 278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278,
    278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556,
    556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556,
    556, 556, 500, 556, 500,
];

/// Adobe AFM advance widths of Helvetica-Bold, indexed by WinAnsi code.
const HELVETICA_BOLD_WIDTHS: [u16; 256] = [
    278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 278,
    278, 278, 278, 278, 278, 278, 278, 278, 278, 278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333,
    278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722,
    667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333,
    278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389,
    556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350, 556, 350, 278, 556, 500, 1000, 556, 556, 333,
    1000, 667, 333, 1000, 350, 611, 350, 350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500,
    667, 278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611,
    556, 278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278,
    278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, 556, 556, 556, 556,
    556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611,
    611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(blocks: Vec<Block>) -> TextDocument {
        TextDocument {
            title: "Lettre recommandée n° 42".to_string(),
            author: "relais".to_string(),
            created: "D:20261126174300Z".to_string(),
            watermark: Some("SANDBOX — no legal value".to_string()),
            blocks,
        }
    }

    fn long_doc() -> TextDocument {
        let blocks = (0..200)
            .map(|i| {
                Block::Paragraph(format!(
                    "Paragraphe {i} : le destinataire accuse réception de l’envoi recommandé, \
                     pour un montant de 1\u{202F}250,00\u{A0}€ « toutes taxes comprises »."
                ))
            })
            .collect();
        doc(blocks)
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).filter(|w| *w == needle).count()
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Parses the xref table: (startxref value, in-use offsets in object order).
    fn xref(pdf: &[u8]) -> (usize, Vec<usize>) {
        let tail = text(pdf);
        let start_at = tail.rfind("startxref\n").expect("startxref");
        let start: usize = tail[start_at + 10..].lines().next().and_then(|l| l.parse().ok()).expect("startxref offset");
        let table = &pdf[start..];
        let header_end = find(table, b"0000000000 65535 f \n").expect("free entry") + 20;
        let mut offsets = Vec::new();
        let mut rest = &table[header_end..];
        while rest.len() >= 20 && rest[17] == b'n' {
            assert_eq!(&rest[18..20], b" \n", "each xref entry is 20 bytes");
            offsets.push(text(&rest[..10]).parse().expect("offset digits"));
            rest = &rest[20..];
        }
        (start, offsets)
    }

    #[test]
    fn header_trailer_and_xref_offsets_are_exact() {
        let pdf = write_pdf(&long_doc());
        assert!(pdf.starts_with(b"%PDF-1.4\n%"));
        assert!(pdf[10..14].iter().all(|&b| b >= 0x80));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let (start, offsets) = xref(&pdf);
        assert!(pdf[start..].starts_with(b"xref\n0 "));
        assert!(offsets.len() > 6);
        for (i, offset) in offsets.iter().enumerate() {
            let expected = format!("{} 0 obj\n", i + 1);
            assert!(pdf[*offset..].starts_with(expected.as_bytes()), "object {}", i + 1);
        }
        let size = format!("/Size {} ", offsets.len() + 1);
        assert!(find(&pdf, size.as_bytes()).is_some());
    }

    #[test]
    fn stream_lengths_match_their_content() {
        let pdf = write_pdf(&long_doc());
        let mut rest = &pdf[..];
        let mut streams = 0;
        while let Some(at) = find(rest, b"<< /Length ") {
            rest = &rest[at + 11..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let length: usize = text(&rest[..digits]).parse().expect("length");
            let data = find(rest, b"stream\n").expect("stream keyword") + 7;
            assert!(rest[data + length..].starts_with(b"endstream"));
            assert!(rest[data..data + length].is_ascii());
            streams += 1;
        }
        assert_eq!(streams, layout(&long_doc().blocks).len());
    }

    #[test]
    fn long_document_spans_pages_with_numbered_footers() {
        let pdf = write_pdf(&long_doc());
        let pages = count(&pdf, b"/Type /Page ");
        assert!(pages > 3, "200 paragraphs need several pages, got {pages}");
        let count_entry = format!("/Count {pages} >>");
        assert!(find(&pdf, count_entry.as_bytes()).is_some());
        for n in 1..=pages {
            let footer = format!("(page {n} / {pages}) Tj");
            assert_eq!(count(&pdf, footer.as_bytes()), 1, "footer of page {n}");
        }
        assert_eq!(count(&pdf, b"1 0 0 rg"), pages);
        let mark = b"(SANDBOX \\227 no legal value) Tj";
        assert_eq!(count(&pdf, mark), 2 * pages);
    }

    #[test]
    fn empty_document_has_one_page() {
        let pdf = write_pdf(&doc(Vec::new()));
        assert!(find(&pdf, b"/Count 1 >>").is_some());
        assert!(find(&pdf, b"(page 1 / 1) Tj").is_some());
    }

    #[test]
    fn maps_unicode_to_win_ansi() {
        assert_eq!(to_win_ansi("é€«»’œ"), vec![0xE9, 0x80, 0xAB, 0xBB, 0x92, 0x9C]);
        assert_eq!(to_win_ansi("ÉÀÇŒ…–—°“”‘"), vec![0xC9, 0xC0, 0xC7, 0x8C, 0x85, 0x96, 0x97, 0xB0, 0x93, 0x94, 0x91]);
        assert_eq!(win_ansi_byte('\u{202F}'), 0xA0);
        assert_eq!(win_ansi_byte('\u{2009}'), 0xA0);
        assert_eq!(win_ansi_byte('\u{A0}'), 0xA0);
        assert_eq!(win_ansi_byte('😀'), b'?');
        assert_eq!(win_ansi_byte('\u{7}'), b'?');
        assert_eq!(win_ansi_byte('Ω'), b'?');
    }

    #[test]
    fn escapes_pdf_strings() {
        assert_eq!(pdf_string(b"a(b)c\\"), "(a\\(b\\)c\\\\)");
        assert_eq!(pdf_string(&to_win_ansi("é€")), "(\\351\\200)");
        assert_eq!(pdf_text_string("Lé"), "<FEFF004C00E9>");
        assert_eq!(pdf_text_string("😀"), "<FEFFD83DDE00>");
    }

    #[test]
    fn info_dictionary_keeps_non_ascii_title() {
        let pdf = write_pdf(&long_doc());
        let title = format!("/Title {}", pdf_text_string("Lettre recommandée n° 42"));
        assert!(find(&pdf, title.as_bytes()).is_some());
        assert!(find(&pdf, b"/Producer (relais)").is_some());
        assert!(find(&pdf, b"/CreationDate (D:20261126174300Z)").is_some());
        assert!(find(&pdf, b"/Encoding /WinAnsiEncoding").is_some());
    }

    #[test]
    fn uses_afm_widths() {
        assert_eq!(text_width(b"W", Font::Regular, 1000.0), 944.0);
        assert_eq!(text_width(b"aeim ", Font::Regular, 1000.0), 2445.0);
        assert_eq!(text_width(b"m", Font::Bold, 1000.0), 889.0);
        assert_eq!(text_width(&[0xE9, 0x80], Font::Regular, 1000.0), 1112.0);
    }

    #[test]
    fn no_line_is_wider_than_the_text_width() {
        let mut blocks = long_doc().blocks;
        blocks.push(Block::Heading("Objet : mise en demeure ".repeat(10)));
        blocks.push(Block::Paragraph("W".repeat(300)));
        blocks.push(Block::Field { label: "Letter id".to_string(), value: "0123456789abcdef".repeat(20) });
        let pages = layout(&blocks);
        let mut runs = 0;
        for run in pages.iter().flatten() {
            let right = run.x + text_width(&run.text, run.font, run.size);
            assert!(right <= MARGIN + TEXT_WIDTH + 1e-9, "{:?}", text(&run.text));
            assert!(run.y >= BOTTOM, "run below the bottom margin");
            assert!(run.y < TOP, "run above the top margin");
            runs += 1;
        }
        assert!(runs > 400);
    }

    #[test]
    fn long_word_is_broken_by_characters() {
        let lines = wrap_paragraph(&"W".repeat(300), Font::Regular, BODY_SIZE, TEXT_WIDTH);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 300);
        // 483 pt / (944 * 11 / 1000) pt per W = 46.5 W per line.
        assert_eq!(lines[0].len(), 46);
    }

    #[test]
    fn hard_breaks_and_wrapping_follow_spaces() {
        let lines = wrap_paragraph("un\ndeux  trois\n\nquatre", Font::Regular, BODY_SIZE, 1000.0);
        let lines: Vec<String> = lines.iter().map(|l| text(l)).collect();
        assert_eq!(lines, ["un", "deux trois", "", "quatre"]);
        let narrow = wrap_paragraph("aa bb cc", Font::Regular, 10.0, 12.0);
        assert_eq!(narrow.len(), 3);
    }

    #[test]
    fn non_breaking_spaces_keep_amounts_together() {
        let amount = "1\u{202F}250,00\u{A0}€";
        let text_in = format!("Montant réclamé : {amount} ; ").repeat(60);
        let lines = wrap_paragraph(&text_in, Font::Regular, BODY_SIZE, TEXT_WIDTH);
        assert!(lines.len() > 5);
        let whole = to_win_ansi(amount);
        assert_eq!(whole, b"1\xA0250,00\xA0\x80");
        let mut seen = 0;
        for line in &lines {
            assert_eq!(count(line, &whole), count(line, b"250,00"));
            assert_eq!(count(line, &whole), count(line, b"\x80"));
            seen += count(line, &whole);
        }
        assert_eq!(seen, 60);
    }

    #[test]
    fn field_rows_put_bold_label_beside_value() {
        let pages = layout(&[Block::Field { label: "Letter id".to_string(), value: "LR-2026-000042".to_string() }]);
        let runs = &pages[0];
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].font, runs[0].text.as_slice()), (Font::Bold, &b"Letter id:"[..]));
        assert_eq!(runs[1].font, Font::Regular);
        assert_eq!(runs[0].y, runs[1].y);
        assert_eq!(runs[1].x, MARGIN + LABEL_COLUMN);
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(write_pdf(&long_doc()), write_pdf(&long_doc()));
    }
}
