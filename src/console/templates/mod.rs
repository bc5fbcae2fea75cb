//! Templates: the list, and the editor (the text beside a live preview that re-renders as one types, on the
//! example data, edited data or a past letter's; problems at their line), save draft, publish with a
//! comment, history, diff between two versions, and rollback. The shared templates are edited here.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::accounts::users::Role;
use crate::letters::preview::{PreviewError, PreviewRequest, preview_source};
use crate::render::TemplateScope;
use crate::render::catalog::{CatalogError, TemplateKind, VersionRef, content_hash, unified_diff};
use crate::services::Services;
use crate::store::LetterSearch;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/console/templates", get(list))
        .route("/console/templates/{name}", get(editor))
        .route("/console/templates/{name}/preview", post(preview))
        .route("/console/templates/{name}/draft", post(save_draft))
        .route("/console/templates/{name}/publish", post(publish))
        .route("/console/templates/{name}/rollback", post(rollback))
        .route("/console/templates/{name}/diff", get(diff))
}

pub struct Item {
    pub name: String,
    pub title: String,
    pub version: String,
    pub has_draft: bool,
}

#[derive(Template)]
#[template(path = "console/templates.html")]
struct ListPage {
    c: Chrome,
    letters: Vec<Item>,
    emails: Vec<Item>,
}

fn catalog_error(e: CatalogError) -> ConsoleError {
    match e {
        CatalogError::UnknownTemplate(_) | CatalogError::UnknownVersion { .. } | CatalogError::InvalidName(_) => {
            ConsoleError::NotFound
        }
        other => ConsoleError::Internal(other.to_string()),
    }
}

async fn list(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    let all = services.templates.list().await.map_err(catalog_error)?;
    let (mut letters, mut emails) = (Vec::new(), Vec::new());
    for t in all.iter().filter(|t| t.scope == TemplateScope::Shared) {
        let item = Item {
            name: t.name.clone(),
            title: t.letter.as_ref().map(|l| l.title.clone()).unwrap_or_default(),
            version: t.published_hash.as_deref().unwrap_or_default().chars().take(12).collect(),
            has_draft: t.draft.is_some(),
        };
        match t.kind {
            TemplateKind::Letter => letters.push(item),
            _ => emails.push(item),
        }
    }
    Ok(render(&ListPage { c: Chrome::new(&signed, "templates"), letters, emails }))
}

pub struct Problem {
    pub line: String,
    pub message: String,
}

pub struct HistoryEntry {
    pub hash: String,
    pub short: String,
    pub action: String,
    pub at: String,
    pub by: String,
    pub comment: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/template_editor.html")]
struct EditorPage {
    c: Chrome,
    name: String,
    title: String,
    is_letter: bool,
    source: String,
    editing_draft: bool,
    draft_by: String,
    problems: Vec<Problem>,
    example: String,
    past_letters: Vec<(String, String)>,
    history: Vec<HistoryEntry>,
    flash: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct EditorQuery {
    #[serde(default)]
    done: String,
}

/// The template's example data as the editable JSON the preview starts from.
fn example_json(services: &Services, name: &str) -> String {
    let Some(template) = services.templates.current(name) else { return "{}".into() };
    let mut variables = Map::new();
    for spec in &template.variables {
        variables.insert(spec.name.clone(), json!(spec.example.clone().unwrap_or_default()));
    }
    serde_json::to_string_pretty(&Value::Object(variables)).unwrap_or_else(|_| "{}".into())
}

async fn editor(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Query(q): Query<EditorQuery>,
) -> PageResult {
    let info = services.templates.get(&TemplateScope::Shared, &name).await.map_err(catalog_error)?;
    let (source, editing_draft) = match &info.draft {
        Some(d) => (d.source.clone(), true),
        None => (info.published_source.clone().unwrap_or_default(), false),
    };
    let problems = services
        .templates
        .check(&name, &source)
        .into_iter()
        .map(|p| Problem { line: p.line.map(|l| l.to_string()).unwrap_or_default(), message: p.message })
        .collect();
    let history = services.templates.history(&TemplateScope::Shared, &name).await.map_err(catalog_error)?;
    let current = info.published_hash.as_deref();
    let lang = signed.lang;
    let search = LetterSearch {
        senders: signed.senders.clone(),
        template: Some(name.clone()),
        limit: 10,
        ..LetterSearch::default()
    };
    let past = if signed.senders.is_empty() { Vec::new() } else { services.store.search_letters(&search).await? };
    let page = EditorPage {
        title: info.letter.as_ref().map(|l| l.title.clone()).unwrap_or_default(),
        is_letter: info.kind == TemplateKind::Letter,
        draft_by: info.draft.as_ref().map(|d| d.updated_by.clone()).unwrap_or_default(),
        source,
        editing_draft,
        problems,
        example: example_json(&services, &name),
        past_letters: past
            .iter()
            .map(|l| {
                let data = serde_json::to_string_pretty(&l.variables).unwrap_or_default();
                (
                    format!(
                        "{} — {}",
                        l.reference.clone().unwrap_or_else(|| l.id.to_string()),
                        l.recipient.display_name()
                    ),
                    data,
                )
            })
            .collect(),
        history: history
            .iter()
            .rev()
            .map(|p| HistoryEntry {
                hash: p.hash.clone(),
                short: p.hash.chars().take(12).collect(),
                action: p.action.clone(),
                at: lang.datetime(p.published_at),
                by: p.published_by.clone(),
                comment: p.comment.clone().unwrap_or_default(),
                current: current == Some(p.hash.as_str()),
            })
            .collect(),
        flash: Some(q.done).filter(|d| !d.is_empty()),
        name,
        c: Chrome::new(&signed, "templates"),
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
struct PreviewBody {
    source: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

/// The live preview: the text as typed (not saved) rendered with the data given; answers JSON with the
/// problems at their line and the letter as HTML (shown in a sandboxed frame), or the fields at fault.
async fn preview(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Json(body): Json<PreviewBody>,
) -> PageResult {
    let Some(sender) = signed.senders.first().cloned() else { return Err(ConsoleError::Forbidden) };
    let problems = services.templates.check(&name, &body.source);
    let request = PreviewRequest { variables: body.variables, ..PreviewRequest::default() };
    let answer = match preview_source(&services, &sender, &name, &body.source, request).await {
        Ok(p) => json!({ "html": p.html, "subject": p.subject, "problems": problems, "errors": [] }),
        Err(PreviewError::Invalid(errors)) => json!({ "html": null, "problems": problems, "errors": errors.0 }),
        Err(PreviewError::Problems(_)) => json!({ "html": null, "problems": problems, "errors": [] }),
        Err(e) => {
            json!({ "html": null, "problems": problems, "errors": [{ "field": "template", "message": e.to_string() }] })
        }
    };
    Ok(Json(answer).into_response())
}

#[derive(Debug, Deserialize)]
struct SourceForm {
    source: String,
}

async fn save_draft(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<SourceForm>,
) -> PageResult {
    signed.require(Role::Member)?;
    let source = form.source.replace("\r\n", "\n");
    services
        .templates
        .save_draft(&TemplateScope::Shared, &name, &source, &signed.actor())
        .await
        .map_err(catalog_error)?;
    Ok(Redirect::to(&format!("/console/templates/{name}?done=draft_saved")).into_response())
}

#[derive(Debug, Deserialize)]
struct PublishForm {
    #[serde(default)]
    comment: String,
}

async fn publish(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<PublishForm>,
) -> PageResult {
    signed.require(Role::Member)?;
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    let done = match services.templates.publish(&TemplateScope::Shared, &name, comment, &signed.actor()).await {
        Ok(_) => "published",
        Err(CatalogError::Problems(_)) => "not_publishable",
        Err(CatalogError::NoDraft(_)) => "no_draft",
        Err(e) => return Err(catalog_error(e)),
    };
    Ok(Redirect::to(&format!("/console/templates/{name}?done={done}")).into_response())
}

#[derive(Debug, Deserialize)]
struct RollbackForm {
    version: String,
    #[serde(default)]
    comment: String,
}

async fn rollback(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<RollbackForm>,
) -> PageResult {
    signed.require(Role::Member)?;
    let comment = Some(form.comment.trim()).filter(|c| !c.is_empty());
    services
        .templates
        .rollback(&TemplateScope::Shared, &name, &form.version, comment, &signed.actor())
        .await
        .map_err(catalog_error)?;
    Ok(Redirect::to(&format!("/console/templates/{name}?done=rolled_back")).into_response())
}

#[derive(Template)]
#[template(path = "console/template_diff.html")]
struct DiffPage {
    c: Chrome,
    name: String,
    from: String,
    to: String,
    lines: Vec<(&'static str, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct DiffQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

async fn diff(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(name): Path<String>,
    Query(q): Query<DiffQuery>,
) -> PageResult {
    let side = |text: &str, default: &str| {
        VersionRef::parse(if text.is_empty() { default } else { text }).ok_or(ConsoleError::NotFound)
    };
    let scope = TemplateScope::Shared;
    let old = services.templates.source_of(&scope, &name, &side(&q.from, "published")?).await.map_err(catalog_error)?;
    let new = services.templates.source_of(&scope, &name, &side(&q.to, "draft")?).await.map_err(catalog_error)?;
    let (from, to) = (content_hash(&old)[..12].to_owned(), content_hash(&new)[..12].to_owned());
    let text = unified_diff(&format!("{name}@{from}"), &old, &format!("{name}@{to}"), &new);
    let lines = text
        .lines()
        .map(|l| {
            let class = match l.chars().next() {
                Some('+') if !l.starts_with("+++") => "add",
                Some('-') if !l.starts_with("---") => "del",
                Some('@') => "hunk",
                _ => "",
            };
            (class, l.to_owned())
        })
        .collect();
    Ok(render(&DiffPage { c: Chrome::new(&signed, "templates"), name, from, to, lines }))
}
