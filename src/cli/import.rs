//! `relais import FILE.csv`: letters from an export of overdue invoices. Every row is checked first and
//! every problem reported with its line and column; then the rows are submitted with a progress bar. Each
//! row's key is its idempotency key, so running the same import again sends nothing.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use relais::config::Settings;
use relais::domain::SenderId;
use relais::intake::csv::{RowOutcome, check_rows, key_column, map_columns, read_table, submit_row};
use relais::startup::build_services;

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file (`;` or `,`, UTF-8 or Windows-1252, a header line).
    file: PathBuf,
    #[arg(long, default_value = "default")]
    sender: String,
    /// The letter template of every row.
    #[arg(long)]
    template: String,
    /// Send a column to a field: `--map "Montant TTC=amount_due"`, `--map "Mail=recipient.email"`.
    #[arg(long = "map")]
    maps: Vec<String>,
    /// The column that identifies a row (an invoice number); else a row is identified by all its values.
    #[arg(long)]
    key: Option<String>,
    /// Check every row and say what would be sent; send nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(settings: Settings, args: ImportArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let table = read_table(&bytes)?;
    let sender: SenderId = args.sender.parse().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(settings.sender(&sender).is_some(), "no sender `{sender}` in the configuration ([[senders]])");
    let public_url = settings.server.public_url.clone();
    let services = build_services(settings, public_url).await?;
    let template = services.templates.current_for(&sender, &args.template).with_context(|| {
        format!("no template `{}`; known: {}", args.template, services.templates.names().join(", "))
    })?;
    let mapping = map_columns(&table.headers, &template, &args.maps)?;
    let key_column = args.key.as_deref().map(|name| key_column(&table.headers, name)).transpose()?;
    let ignored: Vec<&str> =
        (0..table.headers.len()).filter(|i| !mapping.contains_key(i)).map(|i| table.headers[i].as_str()).collect();
    if !ignored.is_empty() {
        eprintln!("columns ignored (use --map column=field to use them): {}", ignored.join(", "));
    }
    let rows = check_rows(&services, &sender, &template, &table, &mapping, key_column);
    let mut problems = 0;
    for row in &rows {
        if let Err(errors) = &row.result {
            for e in errors {
                problems += 1;
                println!("{}:{}: {}: {}", args.file.display(), row.line, e.field, e.message);
            }
        }
    }
    anyhow::ensure!(problems == 0, "{problems} problem(s) in {} row(s): nothing was sent", rows.len());
    if args.dry_run {
        eprintln!(
            "{} row(s) checked: each would become a `{}` letter (dry run: nothing sent)",
            rows.len(),
            template.name
        );
        return Ok(());
    }
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid progress template"));
    let (mut created, mut already) = (0, 0);
    for row in rows {
        let Ok(request) = row.result else { continue };
        match submit_row(&services, request, None, &row.key).await.with_context(|| format!("line {}", row.line))? {
            RowOutcome::Created(id) => {
                created += 1;
                bar.println(format!("line {}: {id}", row.line));
            }
            RowOutcome::AlreadySent(id) => {
                already += 1;
                bar.println(format!("line {}: {id} (imported before: not sent again)", row.line));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!("{created} letter(s) submitted, {already} already imported before; `relais serve` sends them");
    Ok(())
}
