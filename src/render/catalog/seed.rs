//! The seed: the templates shipped in `templates/` (letters, partials, emails). The copies embedded in the
//! binary, overlaid by the files of a `templates/` folder when there is one, so templates can live in git and
//! be deployed by copying files: on start, a file whose content is not yet a known version is published.

use std::path::{Path, PathBuf};

use super::TemplateKind;
use crate::render::templates;

/// One shipped template source and where it came from.
#[derive(Debug, Clone)]
pub struct SeedFile {
    pub kind: TemplateKind,
    /// The qualified name (`mise-en-demeure`, `email.delivered`, `partial.email-summary`).
    pub name: String,
    pub source: String,
    /// `templates/letters/x.hbs`, or `embedded` for the copy compiled into the binary.
    pub origin: String,
}

/// The embedded templates, each replaced by the file of the same name under `dir` when it exists, plus the
/// files under `dir` that are not embedded (new templates). Unreadable files are reported, not skipped
/// silently.
pub fn seed_files(dir: Option<&Path>) -> std::io::Result<Vec<SeedFile>> {
    let embedded = [
        (TemplateKind::Letter, templates::LETTERS),
        (TemplateKind::Partial, templates::PARTIALS),
        (TemplateKind::Email, templates::EMAILS),
    ];
    let mut files: Vec<SeedFile> = embedded
        .iter()
        .flat_map(|(kind, list)| {
            list.iter().map(|(stem, source)| SeedFile {
                kind: *kind,
                name: kind.qualify(stem),
                source: (*source).to_owned(),
                origin: "embedded".into(),
            })
        })
        .collect();
    let Some(dir) = dir.filter(|d| d.is_dir()) else { return Ok(files) };
    for kind in [TemplateKind::Letter, TemplateKind::Partial, TemplateKind::Email] {
        for (stem, path) in hbs_files(&dir.join(kind.folder()))? {
            let source = std::fs::read_to_string(&path)?;
            let file = SeedFile { kind, name: kind.qualify(&stem), source, origin: path.display().to_string() };
            match files.iter_mut().find(|f| f.name == file.name) {
                Some(existing) => *existing = file,
                None => files.push(file),
            }
        }
    }
    Ok(files)
}

/// The `.hbs` files of a folder, by stem, in name order; none when the folder does not exist.
fn hbs_files(folder: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "hbs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            found.push((stem.to_owned(), path.clone()));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_no_folder_the_embedded_templates_are_the_seed() {
        let files = seed_files(None).unwrap();
        assert!(files.iter().any(|f| f.name == "mise-en-demeure" && f.kind == TemplateKind::Letter));
        assert!(files.iter().any(|f| f.name == "email.delivered" && f.kind == TemplateKind::Email));
        assert!(files.iter().all(|f| f.origin == "embedded"));
    }

    #[test]
    fn files_in_the_folder_replace_and_extend_the_embedded_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("letters")).unwrap();
        std::fs::write(dir.path().join("letters/mise-en-demeure.hbs"), "edited").unwrap();
        std::fs::write(dir.path().join("letters/nouvelle.hbs"), "new").unwrap();
        std::fs::write(dir.path().join("letters/notes.txt"), "ignored").unwrap();
        let files = seed_files(Some(dir.path())).unwrap();
        let found = |name: &str| files.iter().find(|f| f.name == name).cloned();
        assert_eq!(found("mise-en-demeure").unwrap().source, "edited");
        assert!(found("mise-en-demeure").unwrap().origin.ends_with("letters/mise-en-demeure.hbs"));
        assert_eq!(found("nouvelle").unwrap().source, "new");
        assert!(found("notes").is_none());
        assert_eq!(files.iter().filter(|f| f.name == "mise-en-demeure").count(), 1);
    }
}
