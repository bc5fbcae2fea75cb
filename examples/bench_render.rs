//! Rendering benchmark: one-page letters (the reminder, with a logo) made by relais — template rendered,
//! laid out, written as PDF/A-2b — against a bare typst compile and PDF export of the same layout and the
//! same data, in the same run. The ratio is on the last line.
//!
//! Usage: bench_render [COUNT, default 300] [--out letter.pdf]   (run from the repository root)

// The allocator relais ships with, so that the figures are those of the binary.
#[path = "../src/allocator.rs"]
mod allocator;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use relais::config::Settings;
use relais::domain::{LetterId, Recipient};
use relais::letters::context::{LetterParts, compose_letter};
use relais::render::document::DocumentImage;
use relais::render::pdf::{InputFile, Layout};
use relais::render::shipped_letter_templates;
use serde_json::json;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">
<rect width="40" height="40" rx="6" fill="#1d4e89"/><text x="48" y="27" font-size="18" fill="#1d4e89">Exemple</text></svg>"##;

/// A typst world with nothing of relais in it: the same fonts, the layout, the files.
struct BareWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    files: Vec<(FileId, Bytes)>,
}

fn id(path: &str) -> FileId {
    RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).unwrap()).intern()
}

impl World for BareWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::AccessDenied) }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.iter().find(|(f, _)| *f == id).map(|(_, b)| b.clone()).ok_or(FileError::AccessDenied)
    }
    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }
    fn today(&self, _: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Datetime::from_ymd(2026, 11, 2)
    }
}

fn bare_world(files: &[InputFile]) -> BareWorld {
    let fonts: Vec<Font> = [
        include_bytes!("../src/render/pdf/fonts/LibertinusSerif-Regular.otf").as_slice(),
        include_bytes!("../src/render/pdf/fonts/LibertinusSerif-Bold.otf"),
        include_bytes!("../src/render/pdf/fonts/LibertinusSerif-Italic.otf"),
        include_bytes!("../src/render/pdf/fonts/LibertinusSerif-SemiboldItalic.otf"),
    ]
    .iter()
    .flat_map(|data| Font::iter(Bytes::new(*data)))
    .collect();
    let mut book = FontBook::new();
    fonts.iter().for_each(|f| book.push(f.info().clone()));
    BareWorld {
        library: LazyHash::new(Library::builder().build()),
        book: LazyHash::new(book),
        fonts,
        main: Source::new(id("/letter.typ"), Layout::Letter.text().to_owned()),
        files: files.iter().map(|f| (id(&f.path), Bytes::new(f.bytes.clone()))).collect(),
    }
}

fn bare_pdf(world: &BareWorld) -> Vec<u8> {
    let document: PagedDocument = typst::compile(world).output.expect("the layout compiles");
    let options = typst_pdf::PdfOptions {
        standards: typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::A_2b]).unwrap(),
        timestamp: Some(typst_pdf::Timestamp::new_utc(Datetime::from_ymd_hms(2026, 11, 2, 9, 30, 0).unwrap())),
        creator: Smart::Custom(Some("relais".into())),
        ..typst_pdf::PdfOptions::default()
    };
    let pdf = typst_pdf::pdf(&document, &options).expect("the PDF is written");
    typst::comemo::evict(30);
    pdf
}

fn report(name: &str, count: usize, elapsed: Duration) -> f64 {
    let ms = elapsed.as_secs_f64() * 1000.0 / count as f64;
    println!("{name:<34} {:>8.1} letters/s {ms:>8.2} ms per letter", 1000.0 / ms);
    ms
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(300);
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1));
    let mut sender = Settings::load(None)?.senders.remove(0);
    sender.logo = Some(DocumentImage::from_bytes(LOGO.as_bytes().to_vec()).map_err(anyhow::Error::msg)?);
    (sender.siret, sender.legal_form, sender.capital) = ("123 456 789 00012".into(), "SAS".into(), "10 000 €".into());
    sender.signature_role = "Gérante".into();
    let recipient: Recipient = Recipient::parse(serde_json::from_value(json!({
        "kind": "professional", "first_name": "Łukasz", "last_name": "Dvořák", "company": "Boulangerie Martin SARL",
        "email": "compta@boulangerie-martin.fr",
        "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon"}}))?)
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let template = shipped_letter_templates().into_iter().find(|t| t.name == "relance-facture").unwrap();
    // Every letter differs (its invoice number and amount): typst memoises what it laid out before, and a
    // benchmark of one document compiled again and again would measure that cache.
    let variables: Vec<_> = (0..count + 10)
        .map(|i| {
            let given = json!({"invoice_number": format!("F-2026-{i:05}"), "amount_due": format!("{}.50", 1000 + i),
                               "due_date": "2026-10-31"});
            relais::render::check_variables(&template, given.as_object().unwrap()).unwrap()
        })
        .collect();
    let id = LetterId::generate();
    let created_at = Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap().timestamp_millis();
    let parts = |i: usize| LetterParts {
        id: &id,
        sender: &sender,
        recipient: &recipient,
        variables: &variables[i],
        reference: Some("dossier-881"),
        created_at,
    };
    let relais_pdf = |i: usize| compose_letter(&template, &parts(i)).expect("composed").to_pdf().expect("typeset");

    let document = compose_letter(&template, &parts(0))?;
    let pages = document.typeset()?.pages();
    let worlds: Vec<BareWorld> = (0..count + 10)
        .map(|i| bare_world(&compose_letter(&template, &parts(i)).expect("composed").layout_files()))
        .collect();
    let first = relais_pdf(0);
    if let Some(path) = out {
        std::fs::write(path, &first)?;
    }
    println!("one letter: {pages} page(s), {} bytes; {count} renders each, warmed up", first.len());
    for (i, world) in worlds.iter().enumerate().skip(count) {
        relais_pdf(i);
        bare_pdf(world);
    }
    let started = Instant::now();
    for world in &worlds[..count] {
        std::hint::black_box(bare_pdf(world));
    }
    let bare = report("bare typst (compile + PDF/A)", count, started.elapsed());
    let started = Instant::now();
    for i in 0..count {
        std::hint::black_box(relais_pdf(i));
    }
    let full = report("relais (template + layout + PDF/A)", count, started.elapsed());
    println!("ratio relais / bare typst: {:.2} ({full:.2} ms against {bare:.2} ms; goal ≤ 2 and ≤ 10 ms)", full / bare);
    Ok(())
}
