//! Templates: the list, and the editor (the text beside a live preview that re-renders as one types, on the
//! example data, edited data or a past letter's; problems at their line), history and diff between two
//! versions. The shared templates are the admins' to change; a sender's own versions, its members' (`scope`).
//! What the editor's buttons do is in `actions`.

mod actions;
mod scope;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::render::TemplateScope;
use crate::render::catalog::{CatalogError, TemplateKind, VersionRef, content_hash, unified_diff};
use crate::services::Services;
use crate::store::LetterSearch;

use scope::{Scoped, may_edit};

pub fn router() -> Router<Arc<Services>> {
    let mut router = Router::new()
        .route("/console/templates", get(list))
        .route("/console/templates/{name}/customise", post(actions::customise));
    for base in ["/console/templates/{name}", "/console/senders/{sender}/templates/{name}"] {
        router = router
            .route(base, get(editor))
            .route(&format!("{base}/preview"), post(actions::preview))
            .route(&format!("{base}/preview.pdf"), post(actions::preview_pdf))
            .route(&format!("{base}/draft"), post(actions::save_draft))
            .route(&format!("{base}/publish"), post(actions::publish))
            .route(&format!("{base}/rollback"), post(actions::rollback))
            .route(&format!("{base}/diff"), get(diff));
    }
    router
}

pub struct Item {
    pub href: String,
    /// The sender whose own version this is; empty for a shared template.
    pub sender: String,
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

pub(super) fn catalog_error(e: CatalogError) -> ConsoleError {
    match e {
        CatalogError::UnknownTemplate(_) | CatalogError::UnknownVersion { .. } | CatalogError::InvalidName(_) => {
            ConsoleError::NotFound
        }
        other => ConsoleError::Internal(other.to_string()),
    }
}

/// The shared templates, and the senders' own versions for the senders this person may see.
async fn list(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    let all = services.templates.list().await.map_err(catalog_error)?;
    let (mut letters, mut emails) = (Vec::new(), Vec::new());
    let visible = |scope: &TemplateScope| scope.sender().is_none_or(|s| signed.may_see(s));
    for t in all.iter().filter(|t| visible(&t.scope)) {
        let scoped = Scoped { scope: t.scope.clone(), name: t.name.clone(), editable: false };
        let item = Item {
            href: scoped.base(),
            sender: t.scope.as_str().to_owned(),
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
    /// The editor's URL, the prefix of its actions.
    base: String,
    /// The sender whose own version this is; empty for a shared template.
    sender: String,
    editable: bool,
    /// The senders this person could make their own version for (a shared template, not editable by them).
    customisable_for: Vec<String>,
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
fn example_json(services: &Services, scope: &TemplateScope, name: &str) -> String {
    let current = match scope.sender() {
        Some(sender) => services.templates.current_for(sender, name),
        None => services.templates.current(name),
    };
    let Some(template) = current else { return "{}".into() };
    let mut variables = Map::new();
    for spec in &template.variables {
        variables.insert(spec.name.clone(), json!(spec.example.clone().unwrap_or_default()));
    }
    serde_json::to_string_pretty(&Value::Object(variables)).unwrap_or_else(|_| "{}".into())
}

async fn editor(
    State(services): State<Arc<Services>>,
    signed: Signed,
    template: Scoped,
    Query(q): Query<EditorQuery>,
) -> PageResult {
    let Scoped { scope, name, editable } = &template;
    let name = name.clone();
    let info = services.templates.get(scope, &name).await.map_err(catalog_error)?;
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
    let history = services.templates.history(scope, &name).await.map_err(catalog_error)?;
    let current = info.published_hash.as_deref();
    let lang = signed.lang;
    let senders = match scope.sender() {
        Some(sender) => vec![sender.clone()],
        None => signed.senders.clone(),
    };
    let customisable_for = match scope {
        TemplateScope::Shared if !editable => signed
            .senders
            .iter()
            .filter(|s| may_edit(&signed, &TemplateScope::Sender((*s).clone())))
            .map(|s| s.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let search = LetterSearch { senders, template: Some(name.clone()), limit: 10, ..LetterSearch::default() };
    let past = if search.senders.is_empty() { Vec::new() } else { services.store.search_letters(&search).await? };
    let page = EditorPage {
        base: template.base(),
        sender: scope.as_str().to_owned(),
        editable: *editable,
        customisable_for,
        title: info.letter.as_ref().map(|l| l.title.clone()).unwrap_or_default(),
        is_letter: info.kind == TemplateKind::Letter,
        draft_by: info.draft.as_ref().map(|d| d.updated_by.clone()).unwrap_or_default(),
        source,
        editing_draft,
        problems,
        example: example_json(&services, scope, &name),
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

#[derive(Template)]
#[template(path = "console/template_diff.html")]
struct DiffPage {
    c: Chrome,
    base: String,
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
    template: Scoped,
    Query(q): Query<DiffQuery>,
) -> PageResult {
    let side = |text: &str, default: &str| {
        VersionRef::parse(if text.is_empty() { default } else { text }).ok_or(ConsoleError::NotFound)
    };
    let (scope, name, base) = (&template.scope, template.name.clone(), template.base());
    let old = services.templates.source_of(scope, &name, &side(&q.from, "published")?).await.map_err(catalog_error)?;
    let new = services.templates.source_of(scope, &name, &side(&q.to, "draft")?).await.map_err(catalog_error)?;
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
    Ok(render(&DiffPage { c: Chrome::new(&signed, "templates"), base, name, from, to, lines }))
}
