//! `relais template …`: list the templates, check files before they are deployed (exit 1 with the problems,
//! for CI in the repository where the templates live), preview a letter to a PDF, publish a file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use relais::config::Settings;
use relais::letters::preview::{PreviewError, PreviewRequest, preview_letter};
use relais::render::TemplateScope;
use relais::render::catalog::{TemplateCatalog, TemplateKind, seed_files};
use relais::render::checks::check_template;
use relais::startup::build_services;
use relais::store::Store;

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// List the templates: name, kind, published version, draft.
    List,
    /// Check template files (a templates folder with letters/, partials/, emails/, or one .hbs file); exit 1
    /// with every problem at its line and column.
    Check { path: PathBuf },
    /// Render a letter template to a PDF with the variables of a JSON file (examples fill the rest).
    Preview {
        name: String,
        /// A JSON object of variables, or a whole preview request ({"variables", "recipient", "sender"}).
        #[arg(long)]
        vars: Option<PathBuf>,
        #[arg(long, default_value = "letter.pdf")]
        out: PathBuf,
        /// draft, published (default) or the SHA-256 of a version.
        #[arg(long)]
        version: Option<String>,
        #[arg(long, default_value = "default")]
        sender: String,
    },
    /// Publish a file as the new version of a template (created when new).
    Publish {
        name: String,
        file: PathBuf,
        #[arg(long)]
        comment: Option<String>,
    },
}

pub async fn run(settings: Settings, command: TemplateCommand) -> anyhow::Result<()> {
    match command {
        TemplateCommand::Check { path } => check(&path),
        TemplateCommand::List => {
            let catalog = catalog(&settings).await?;
            for t in catalog.list().await? {
                let version = t.published_hash.as_deref().map_or("unpublished", |h| &h[..12]);
                let scope = t.scope.sender().map(|s| format!(" (sender {s})")).unwrap_or_default();
                let draft = if t.draft.is_some() { "  + draft" } else { "" };
                let title = t.letter.as_ref().map(|l| format!("  {}", l.title)).unwrap_or_default();
                println!("{:<8} {}{scope}  {version}{draft}{title}", t.kind.as_str(), t.name);
            }
            Ok(())
        }
        TemplateCommand::Publish { name, file, comment } => {
            let source = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let catalog = catalog(&settings).await?;
            let by = format!("cli {}", std::env::var("USER").unwrap_or_default()).trim().to_owned();
            let problems = catalog.save_draft(&TemplateScope::Shared, &name, &source, &by).await?;
            if !problems.is_empty() {
                print_problems(&file.display().to_string(), &problems);
                anyhow::bail!("{name} was saved as a draft but not published: {} problem(s)", problems.len());
            }
            let hash = catalog.publish(&TemplateScope::Shared, &name, comment.as_deref(), &by).await?;
            println!("{hash}");
            eprintln!("{name}: version {} published", &hash[..12]);
            Ok(())
        }
        TemplateCommand::Preview { name, vars, out, version, sender } => {
            let mut request: PreviewRequest = match &vars {
                None => PreviewRequest::default(),
                Some(path) => preview_request(path)?,
            };
            request.version = request.version.or(version);
            let public_url = settings.server.public_url.clone();
            let services = build_services(settings, public_url).await?;
            let sender = sender.parse().map_err(anyhow::Error::msg)?;
            let preview = match preview_letter(&services, &sender, true, &name, request).await {
                Ok(p) => p,
                Err(PreviewError::Invalid(errors)) => {
                    for e in &errors.0 {
                        eprintln!("{}: {}", e.field, e.message);
                    }
                    anyhow::bail!("the letter cannot be previewed with these values");
                }
                Err(PreviewError::Problems(problems)) => {
                    print_problems(&name, &problems);
                    anyhow::bail!("the template has problems");
                }
                Err(e) => return Err(e.into()),
            };
            std::fs::write(&out, &preview.pdf).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("{}: {} ({} bytes), version {}", name, out.display(), preview.pdf.len(), &preview.version[..12]);
            Ok(())
        }
    }
}

async fn catalog(settings: &Settings) -> anyhow::Result<TemplateCatalog> {
    let store = Store::connect(&settings.database.url, 1).await?;
    Ok(TemplateCatalog::load(store, Some(&settings.storage.templates_dir)).await?)
}

fn preview_request(path: &Path) -> anyhow::Result<PreviewRequest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    if value.get("variables").is_some() {
        Ok(serde_json::from_value(value).with_context(|| format!("{} is not a preview request", path.display()))?)
    } else {
        let variables = value.as_object().cloned().context("the variables file must hold a JSON object")?;
        Ok(PreviewRequest { variables, ..PreviewRequest::default() })
    }
}

/// Checks a folder of templates, or one file (its kind from its folder's name: letters, emails, partials).
fn check(path: &Path) -> anyhow::Result<()> {
    let files: Vec<(TemplateKind, String, String, String)> = if path.is_dir() {
        let nested = ["letters", "emails", "partials"].iter().any(|f| path.join(f).is_dir());
        if nested {
            seed_files(Some(path))?
                .into_iter()
                .filter(|f| f.origin != "embedded")
                .map(|f| (f.kind, f.name, f.source, f.origin))
                .collect()
        } else {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(path)? {
                let p = entry?.path();
                if p.extension().is_some_and(|e| e == "hbs") {
                    found.push(one_file(&p)?);
                }
            }
            found.sort_by(|a, b| a.3.cmp(&b.3));
            found
        }
    } else {
        vec![one_file(path)?]
    };
    anyhow::ensure!(!files.is_empty(), "no .hbs template under {}", path.display());
    let partials: Vec<String> = seed_files(path.is_dir().then_some(path))?
        .into_iter()
        .filter(|f| f.kind == TemplateKind::Partial)
        .map(|f| TemplateKind::stem(&f.name).to_owned())
        .collect();
    let mut count = 0;
    for (kind, name, source, origin) in &files {
        let allowed = match kind {
            TemplateKind::Letter => relais::render::catalog::LETTER_PARTIALS.iter().map(|p| p.to_string()).collect(),
            TemplateKind::Email => partials.clone(),
            TemplateKind::Partial => Vec::new(),
        };
        let problems = check_template(*kind, name, source, &allowed);
        count += problems.len();
        print_problems(origin, &problems);
    }
    anyhow::ensure!(count == 0, "{count} problem(s) in {} template(s)", files.len());
    eprintln!("{} template(s) checked: no problem", files.len());
    Ok(())
}

fn one_file(path: &Path) -> anyhow::Result<(TemplateKind, String, String, String)> {
    let source = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).context("a template file is named NAME.hbs")?;
    let folder = path.parent().and_then(|p| p.file_name()).and_then(|f| f.to_str()).unwrap_or_default();
    let kind = match folder {
        "emails" => TemplateKind::Email,
        "partials" => TemplateKind::Partial,
        _ => TemplateKind::Letter,
    };
    Ok((kind, kind.qualify(stem), source, path.display().to_string()))
}

fn print_problems(origin: &str, problems: &[relais::render::TemplateProblem]) {
    for p in problems {
        let at = match (p.line, p.column) {
            (Some(l), Some(c)) => format!("{l}:{c}:"),
            (Some(l), None) => format!("{l}:"),
            _ => String::new(),
        };
        println!("{origin}:{at} {}: {}", p.code, p.message);
    }
}
