//! The typst `World` letters and proofs are compiled in: one layout program, a few virtual files (the data
//! as JSON, images), the fonts compiled into the binary, and a pinned date. Nothing is read from the disk.

use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Libertinus Serif (SIL Open Font License, see `fonts/OFL.txt`): Latin, Latin-1, Latin Extended-A and B and
/// Vietnamese. Semibold Italic stands in for Bold Italic, whose cut lacks the Vietnamese horn letters.
const FONTS: [&[u8]; 4] = [
    include_bytes!("fonts/LibertinusSerif-Regular.otf"),
    include_bytes!("fonts/LibertinusSerif-Bold.otf"),
    include_bytes!("fonts/LibertinusSerif-Italic.otf"),
    include_bytes!("fonts/LibertinusSerif-SemiboldItalic.otf"),
];

/// What every compilation shares, built once per process: the standard library and the parsed fonts.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let fonts: Vec<Font> = FONTS.iter().flat_map(|data| Font::iter(Bytes::new(*data))).collect();
        let mut book = FontBook::new();
        for font in &fonts {
            book.push(font.info().clone());
        }
        Shared { library: LazyHash::new(Library::builder().build()), book: LazyHash::new(book), fonts }
    })
}

/// The id of a file of the virtual project, e.g. `/data.json`.
pub(super) fn file_id(path: &str) -> FileId {
    let path = VirtualPath::new(path).expect("virtual paths are absolute and valid");
    RootedPath::new(VirtualRoot::Project, path).intern()
}

/// One compilation: the layout's source, its files and the date `datetime.today()` answers.
pub(super) struct RenderWorld<'a> {
    pub main: Source,
    pub files: &'a [(FileId, Bytes)],
    pub today: Datetime,
}

impl World for RenderWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &shared().library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &shared().book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::AccessDenied) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        self.files.iter().find(|(f, _)| *f == id).map(|(_, b)| b.clone()).ok_or(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        shared().fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}
