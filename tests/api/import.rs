//! Bulk import of an overdue-invoice CSV: every row checked first (problems named by line and column), and
//! importing the same rows again sends nothing.

use relais::intake::csv::{RowOutcome, check_rows, map_columns, read_table, submit_row};

use serde_json::Value;

use crate::helpers::{Db, TestApp, spawn_app};

const MAPS: [&str; 2] = ["N° facture=invoice_number", "Montant TTC=amount_due"];

async fn an_export_is_checked_row_by_row_then_imported_once(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let services = &app.services;
    let sender = "default".parse().unwrap();
    let template = services.templates.current_for(&sender, "relance-facture").unwrap();
    let bytes = std::fs::read("tests/fixtures/csv/overdue.csv").unwrap();
    let table = read_table(&bytes).unwrap();
    let maps: Vec<String> = MAPS.iter().map(|m| m.to_string()).collect();
    let mapping = map_columns(&table.headers, &template, &maps).unwrap();
    let key = table.headers.iter().position(|h| h == "N° facture");

    let rows = check_rows(services, &sender, &template, &table, &mapping, key);
    let problems: Vec<(usize, String, String)> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().err().map(|e| (r.line, e)))
        .flat_map(|(line, errors)| errors.iter().map(move |e| (line, e.field.clone(), e.message.clone())))
        .collect();
    assert_eq!(
        problems.iter().map(|p| (p.0, p.1.as_str())).collect::<Vec<_>>(),
        [(3, "recipient.email"), (4, "variables.amount_due")]
    );
    assert!(problems[0].2.contains("column `Email`"), "{problems:?}");
    assert!(problems[1].2.contains("column `Montant TTC`"), "{problems:?}");
    assert_eq!(count(&app).await, 0, "checking sends nothing");

    // The good rows of the same export, imported twice: the second run finds every row already imported.
    let text = String::from_utf8(bytes).unwrap();
    let good: Vec<&str> = text.lines().enumerate().filter(|(i, _)| ![2, 3].contains(i)).map(|(_, l)| l).collect();
    let table = read_table(good.join("\n").as_bytes()).unwrap();
    let mut created = Vec::new();
    for run in 0..2 {
        for row in check_rows(services, &sender, &template, &table, &mapping, key) {
            let request = row.result.unwrap_or_else(|e| panic!("line {}: {e:?}", row.line));
            match (run, submit_row(services, request, None, &row.key).await.unwrap()) {
                (0, RowOutcome::Created(id)) => created.push(id),
                (1, RowOutcome::AlreadySent(id)) => assert!(created.contains(&id)),
                (run, _) => panic!("run {run}: unexpected outcome for line {}", row.line),
            }
        }
    }
    assert_eq!(created.len(), 2);
    let letter = app.store.letter(&created[0]).await.unwrap().unwrap();
    assert_eq!(letter.recipient.company.as_deref(), Some("Boulangerie Martin SARL"));
    assert_eq!(
        (letter.variables["amount_due"].as_str(), letter.variables["due_date"].as_str()),
        (Some("1250.40"), Some("2026-10-31"))
    );
    assert_eq!(letter.variables["invoice_number"], "F-2026-101");
    let letter = app.store.letter(&created[1]).await.unwrap().unwrap();
    assert_eq!(letter.recipient.last_name, "Nguyễn");
    assert_eq!(count(&app).await, 2, "the second run sent nothing");
    app.stop().await;
}

/// `POST /v1/imports` with the options of the command line.
async fn post_import(app: &TestApp, csv: &[u8], dry_run: bool) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.to_vec()).file_name("impayes.csv"))
        .text("template", "relance-facture")
        .text("key", "N° facture")
        .text("dry_run", dry_run.to_string());
    for map in MAPS {
        form = form.text("map", map);
    }
    let response = app.client.post(app.url("/v1/imports")).bearer_auth(&app.api_key).multipart(form);
    let response = response.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn outcomes(import: &Value) -> Vec<(u64, String)> {
    let rows = import["rows"].as_array().unwrap();
    rows.iter().map(|r| (r["line"].as_u64().unwrap(), r["outcome"].as_str().unwrap().to_owned())).collect()
}

async fn an_export_posted_to_the_api_is_checked_then_imported_once(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let bytes = std::fs::read("tests/fixtures/csv/overdue.csv").unwrap();
    let (status, problem) = post_import(&app, &bytes, false).await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["rows[3].recipient.email", "rows[4].variables.amount_due"]);
    assert_eq!(count(&app).await, 0, "a file with a bad row sends nothing");

    let (status, checked) = post_import(&app, &bytes, true).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!((checked["state"].as_str(), checked["dry_run"].as_bool()), (Some("checked"), Some(true)));
    let expected = [(2, "valid"), (3, "invalid"), (4, "invalid"), (5, "valid")];
    assert_eq!(outcomes(&checked), expected.map(|(l, o)| (l, o.to_owned())));
    assert_eq!(checked["rows"][1]["errors"][0]["field"], "recipient.email");
    assert_eq!(count(&app).await, 0, "a dry run sends nothing");

    let text = String::from_utf8(bytes).unwrap();
    let good: Vec<&str> = text.lines().enumerate().filter(|(i, _)| ![2, 3].contains(i)).map(|(_, l)| l).collect();
    let good = good.join("\n");
    let (status, first) = post_import(&app, good.as_bytes(), false).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(outcomes(&first), [(2, "created".to_owned()), (3, "created".to_owned())]);
    assert_eq!(first["summary"]["created"], 2);
    let (status, again) = post_import(&app, good.as_bytes(), false).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(outcomes(&again), [(2, "already_sent".to_owned()), (3, "already_sent".to_owned())]);
    assert_eq!(again["rows"][0]["letter"], first["rows"][0]["letter"], "the letter of the first run");
    assert_eq!(count(&app).await, 2, "the second import sent nothing");

    let shown: Value = app.get(&format!("/v1/imports/{}", first["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(shown, first);
    let letter = app.get_letter(first["rows"][0]["letter"].as_str().unwrap()).await;
    assert_eq!(letter["recipient"]["company"], "Boulangerie Martin SARL");
    assert_eq!(app.get("/v1/imports/imp_01jzzzzzzzzzzzzzzzzzzzzzzz").await.status(), 404);
    app.stop().await;
}

async fn count(app: &crate::helpers::TestApp) -> usize {
    let filter = relais::store::LetterFilter { limit: 100, ..Default::default() };
    app.store.list_letters(&"default".parse().unwrap(), &filter).await.unwrap().len()
}

crate::on_both_databases!(
    an_export_is_checked_row_by_row_then_imported_once,
    an_export_posted_to_the_api_is_checked_then_imported_once,
);
