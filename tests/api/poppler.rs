//! What a person would check in a PDF, with poppler-utils: its text, fonts, PDF/A metadata, where words
//! lie on the page, and the images it holds.

use std::io::Write as _;
use std::process::Command;

/// Runs a poppler tool on the PDF and returns what it prints.
pub fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(pdf).unwrap();
    let path = file.path().to_str().unwrap().to_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.push(&path);
    if tool == "pdftotext" {
        all.push("-");
    }
    let out = Command::new(tool).args(&all).output().unwrap_or_else(|e| panic!("{tool} runs (poppler-utils): {e}"));
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn pdf_text(pdf: &[u8]) -> String {
    poppler("pdftotext", &[], pdf)
}

/// Asserts a PDF/A-2b whose every font is embedded and subset.
pub fn assert_pdf_a_with_embedded_fonts(pdf: &[u8]) {
    let fonts = poppler("pdffonts", &[], pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let columns: Vec<&str> = row.split_whitespace().collect();
        let n = columns.len();
        assert_eq!(&columns[n - 5..n - 3], ["yes", "yes"], "embedded and subset: {row}");
    }
    let meta = poppler("pdfinfo", &["-meta"], pdf);
    assert!(meta.contains("<pdfaid:part>2</pdfaid:part>") || meta.contains("pdfaid:part=\"2\""), "{meta}");
    assert!(meta.contains("<pdfaid:conformance>B</pdfaid:conformance>") || meta.contains("pdfaid:conformance=\"B\""));
}

/// The boxes (in mm from the top left corner of the page) of the words equal to `word`.
pub fn word_boxes(pdf: &[u8], word: &str) -> Vec<(f64, f64, f64, f64)> {
    let html = poppler("pdftotext", &["-bbox"], pdf);
    let mm = |pt: f64| pt * 25.4 / 72.0;
    html.lines()
        .filter(|l| l.contains(&format!(">{word}<")))
        .map(|line| {
            let attr = |name: &str| -> f64 {
                let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                mm(line[start..].split('"').next().unwrap().parse().unwrap())
            };
            (attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax"))
        })
        .collect()
}
