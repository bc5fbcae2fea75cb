//! Tests of the PDF writer.

use super::fonts::*;
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
