//! Letters: the searchable list, one letter's page (recipient, template version, cost, the PDF, proofs
//! with their SHA-256, the timeline and whether its chain verifies, notices), cancelling, and downloads.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::i18n::Lang;
use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::domain::{LetterId, LetterState};
use crate::letters::cancel_letter;
use crate::letters::transitions::CancelError;
use crate::providers::ProofKind;
use crate::services::Services;
use crate::store::{AttachmentRecord, LetterRecord, LetterSearch, ProofRecord};

const PAGE_SIZE: i64 = 25;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/console/letters", get(list))
        .route("/console/letters/{id}", get(show))
        .route("/console/letters/{id}/cancel", post(cancel))
        .route("/console/letters/{id}/document", get(document))
        .route("/console/letters/{id}/proofs/{kind}", get(proof))
}

/// One row of the list.
pub struct Row {
    pub id: String,
    pub created: String,
    pub reference: String,
    pub recipient: String,
    pub template: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub cost: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: i64,
}

impl ListQuery {
    /// The query string of this search at another page.
    pub fn at_page(&self, page: i64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("state", &self.state), ("sender", &self.sender), ("template", &self.template), ("q", &self.q)] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        for (k, v) in [("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("page", &page.to_string());
        s.finish()
    }
}

#[derive(Template)]
#[template(path = "console/letters.html")]
struct ListPage {
    c: Chrome,
    q: ListQuery,
    rows: Vec<Row>,
    states: Vec<(&'static str, &'static str)>,
    senders: Vec<String>,
    templates: Vec<String>,
    previous: Option<String>,
    next: Option<String>,
}

fn date_ms(text: &str, end_of_day: bool) -> Option<i64> {
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let day = if end_of_day { day.succ_opt()? } else { day };
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub fn row_of(signed: &Signed, l: &LetterRecord) -> Row {
    Row {
        id: l.id.to_string(),
        created: signed.lang.datetime(l.created_at),
        reference: l.reference.clone().unwrap_or_default(),
        recipient: l.recipient.display_name(),
        template: l.template.clone(),
        state: l.state.as_str(),
        state_label: signed.lang.state(l.state),
        cost: l.cost_cents.map(|c| signed.lang.money(c)).unwrap_or_default(),
    }
}

async fn list(State(services): State<Arc<Services>>, signed: Signed, Query(q): Query<ListQuery>) -> PageResult {
    let senders = match q.sender.parse() {
        Ok(one) if signed.may_see(&one) => vec![one],
        _ => signed.senders.clone(),
    };
    let page = q.page.max(0);
    let search = LetterSearch {
        senders,
        state: q.state.parse().ok(),
        template: Some(q.template.clone()).filter(|t| !t.is_empty()),
        text: Some(q.q.trim().to_owned()).filter(|t| !t.is_empty()),
        created_from: date_ms(&q.from, false),
        created_to: date_ms(&q.to, true),
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE + 1,
    };
    let mut letters =
        if search.senders.is_empty() { Vec::new() } else { services.store.search_letters(&search).await? };
    let more = letters.len() as i64 > PAGE_SIZE;
    letters.truncate(PAGE_SIZE as usize);
    let page = ListPage {
        rows: letters.iter().map(|l| row_of(&signed, l)).collect(),
        states: LetterState::ALL.into_iter().map(|s| (s.as_str(), signed.lang.state(s))).collect(),
        senders: signed.senders.iter().map(|s| s.to_string()).collect(),
        templates: services.templates.names(),
        previous: (page > 0).then(|| q.at_page(page - 1)),
        next: more.then(|| q.at_page(page + 1)),
        q,
        c: Chrome::new(&signed, "letters"),
    };
    Ok(render(&page))
}

/// The letter `id` if the person may see its sender; 404 otherwise (its existence is not revealed).
pub async fn visible_letter(services: &Services, signed: &Signed, id: &str) -> Result<LetterRecord, ConsoleError> {
    let id: LetterId = id.parse().map_err(|_| ConsoleError::NotFound)?;
    services.store.letter(&id).await?.filter(|l| signed.may_see(&l.sender_id)).ok_or(ConsoleError::NotFound)
}

pub struct Event {
    pub at: String,
    pub state: &'static str,
    pub label: &'static str,
    pub detail: String,
}

pub struct Notice {
    pub id: String,
    pub kind: String,
    pub state: &'static str,
    pub at: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "console/letter.html")]
struct LetterPage {
    c: Chrome,
    l: Row,
    sender: String,
    email: String,
    address: Option<Vec<String>>,
    template_title: String,
    version: String,
    provider: String,
    detail: String,
    rendered: bool,
    cancellable: bool,
    /// Waiting, or in doubt: a person may move it onward now (reconciled first, never sent twice).
    retryable: bool,
    attachments: Vec<AttachmentRecord>,
    proofs: Vec<ProofRecord>,
    events: Vec<Event>,
    chain_verified: bool,
    chain_problem: String,
    notices: Vec<Notice>,
    flash: Option<&'static str>,
    /// Waiting for a qualified sender's one-time code, which this person may give.
    approvable: bool,
    approve_error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    #[serde(default)]
    done: String,
}

/// What the page says after an action: `?done=…`.
fn flash_of(done: &str) -> Option<&'static str> {
    match done {
        "cancelled" => Some("cancelled_done"),
        "approved" => Some("approved_done"),
        "not_waiting" => Some("not_waiting"),
        _ => None,
    }
}

async fn show(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    letter_page(&services, &signed, letter, flash_of(&q.done), None).await
}

/// A timeline event's detail in the person's words (relais writes them in English).
fn detail_in(lang: Lang, detail: &str) -> String {
    match lang {
        Lang::Fr => crate::notify::french::detail_in_french(detail),
        Lang::En => detail.to_owned(),
    }
}

/// The letter's page, with what an action just did (`flash`) or why the code given was refused.
pub async fn letter_page(
    services: &Services,
    signed: &Signed,
    letter: LetterRecord,
    flash: Option<&'static str>,
    approve_error: Option<String>,
) -> PageResult {
    // The letter as it is now, with its timeline from the same snapshot (an action may just have moved it).
    let (letter, events) = services.store.letter_with_events(&letter.id).await?.ok_or(ConsoleError::NotFound)?;
    let chain = crate::audit::chain_status(&services.store, &letter.id, &events).await?;
    let lang = signed.lang;
    let notices = services.store.notices_of_letter(&letter.id).await?;
    let address = letter.recipient.address.as_ref().map(|a| {
        let mut lines = a.lines.clone();
        lines.push(format!("{} {} {}", a.postal_code, a.city, a.country));
        lines
    });
    let page = LetterPage {
        sender: letter.sender_id.to_string(),
        email: letter.recipient.email_text().to_owned(),
        address,
        template_title: services.templates.title(&letter.template),
        version: letter.template_hash.chars().take(12).collect(),
        provider: format!("{} {}", letter.provider, letter.provider_ref.clone().unwrap_or_default()),
        detail: letter.state_detail.clone().unwrap_or_default(),
        rendered: letter.content_sha256.is_some(),
        cancellable: letter.state.is_cancellable() && signed.role() >= crate::accounts::users::Role::Member,
        approvable: letter.state == LetterState::AwaitingApproval
            && signed.role() >= crate::accounts::users::Role::Member
            && needs_code(services, &letter),
        approve_error,
        retryable: matches!(letter.state, LetterState::NeedsAttention | LetterState::Queued | LetterState::Ready)
            && signed.role() >= crate::accounts::users::Role::Member,
        attachments: services.store.attachments(&letter.id).await?,
        proofs: services.store.proofs(&letter.id).await?,
        events: events
            .iter()
            .map(|e| Event {
                at: lang.datetime(e.at),
                state: e.state.as_str(),
                label: lang.state(e.state),
                detail: e.detail.as_deref().map(|d| detail_in(lang, d)).unwrap_or_default(),
            })
            .collect(),
        chain_verified: chain.verified,
        chain_problem: chain.problem.unwrap_or_default(),
        notices: notices
            .iter()
            .map(|n| Notice {
                id: n.id.to_string(),
                kind: n.kind.clone(),
                state: n.state.as_str(),
                at: lang.datetime(n.sent_at.or(n.failed_at).unwrap_or(n.created_at)),
                error: n.last_error.clone().unwrap_or_default(),
            })
            .collect(),
        flash,
        l: row_of(signed, &letter),
        c: Chrome::new(signed, "letters"),
    };
    Ok(render(&page))
}

/// True when the letter's sender has a provider that wants the sender's one-time code.
fn needs_code(services: &Services, letter: &LetterRecord) -> bool {
    let Some(sender) = services.settings.sender(&letter.sender_id) else { return false };
    services.providers.get(&sender.provider).is_some_and(|p| p.needs_approval(sender))
}

async fn cancel(State(services): State<Arc<Services>>, signed: Signed, Path(id): Path<String>) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    signed.require_act_for(&letter.sender_id)?;
    match cancel_letter(&services, &letter.sender_id, &letter.id, signed.email()).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/letters/{}?done=cancelled", letter.id)).into_response()),
        // Too late (it left meanwhile): the page shows the state it is in now.
        Err(CancelError::TooLate(_)) => Ok(Redirect::to(&format!("/console/letters/{}", letter.id)).into_response()),
        Err(CancelError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => Err(ConsoleError::Internal(e.to_string())),
    }
}

fn pdf(bytes: Vec<u8>, filename: &str, download: bool) -> Response {
    let disposition = if download { "attachment" } else { "inline" };
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct DownloadQuery {
    #[serde(default)]
    download: bool,
}

async fn document(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    if letter.content_sha256.is_none() {
        return Err(ConsoleError::NotFound);
    }
    let bytes = tokio::fs::read(services.files.document_of(&letter.id))
        .await
        .map_err(|e| ConsoleError::Internal(format!("reading the letter of {}: {e}", letter.id)))?;
    Ok(pdf(bytes, &format!("{}.pdf", letter.id), q.download))
}

async fn proof(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path((id, kind)): Path<(String, String)>,
) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    let kind: ProofKind = kind.parse().map_err(|_| ConsoleError::NotFound)?;
    let record = services
        .store
        .proofs(&letter.id)
        .await?
        .into_iter()
        .find(|p| p.kind == kind.as_str())
        .ok_or(ConsoleError::NotFound)?;
    let bytes = tokio::fs::read(&record.path)
        .await
        .map_err(|e| ConsoleError::Internal(format!("reading a proof of {}: {e}", letter.id)))?;
    Ok(pdf(bytes, &format!("{}-{}.pdf", letter.id, kind.as_str()), true))
}
