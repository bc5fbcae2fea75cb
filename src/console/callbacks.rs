//! Callback endpoints: the addresses the senders' accounting software hears from, whether each still
//! receives (or was disabled, and why), its latest attempts with the answers, and "enable again", which
//! sends everything it missed. The emails about a failing or disabled endpoint link here.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;

use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::accounts::users::Role;
use crate::domain::SenderId;
use crate::notify::callbacks::enable_and_replay;
use crate::services::Services;
use crate::store::callbacks::EndpointRow;

/// Attempts shown on an endpoint's page, newest first.
const ATTEMPTS_SHOWN: i64 = 50;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/console/callbacks", get(list))
        .route("/console/callbacks/{id}", get(show))
        .route("/console/callbacks/{id}/enable", post(enable))
}

/// One endpoint as a row: never its secret.
pub struct Endpoint {
    pub id: String,
    pub sender: String,
    pub url: String,
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: String,
    pub origin: String,
}

impl Endpoint {
    fn of(row: &EndpointRow, signed: &Signed) -> Self {
        Endpoint {
            id: row.id.clone(),
            sender: row.sender_id.clone(),
            url: row.url.clone(),
            events: row.events.split(',').filter(|e| !e.is_empty()).collect::<Vec<_>>().join(", "),
            enabled: row.state != "disabled",
            disabled_reason: row.disabled_reason.clone().unwrap_or_default(),
            failing_since: row.failing_since.map(|t| signed.lang.datetime(t)).unwrap_or_default(),
            origin: row.origin.clone(),
        }
    }
}

pub struct Attempt {
    pub at: String,
    pub delivery: String,
    pub attempt: i64,
    pub status: String,
    pub ok: bool,
    pub duration_ms: i64,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/callbacks.html")]
struct ListPage {
    c: Chrome,
    endpoints: Vec<Endpoint>,
}

#[derive(Template)]
#[template(path = "console/callback.html")]
struct EndpointPage {
    c: Chrome,
    endpoint: Endpoint,
    attempts: Vec<Attempt>,
    flash: Option<String>,
}

async fn list(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    let mut endpoints = Vec::new();
    for sender in &signed.senders {
        let rows = services.store.callback_endpoints(sender.as_str()).await?;
        endpoints.extend(rows.iter().map(|row| Endpoint::of(row, &signed)));
    }
    Ok(render(&ListPage { c: Chrome::new(&signed, "callbacks"), endpoints }))
}

/// The endpoint, when it belongs to a sender this person may see (else "not found", as for a letter).
async fn visible(services: &Services, signed: &Signed, id: &str) -> Result<EndpointRow, ConsoleError> {
    let row = services.store.callback_endpoint(id).await?.ok_or(ConsoleError::NotFound)?;
    let sender: SenderId = row.sender_id.parse().map_err(|_| ConsoleError::NotFound)?;
    if signed.may_see(&sender) { Ok(row) } else { Err(ConsoleError::NotFound) }
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    #[serde(default)]
    replayed: Option<usize>,
}

async fn show(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let row = visible(&services, &signed, &id).await?;
    let lang = signed.lang;
    let attempts = services
        .store
        .callback_attempts(&row.id, ATTEMPTS_SHOWN)
        .await?
        .into_iter()
        .map(|a| Attempt {
            at: lang.datetime(a.at),
            delivery: a.delivery_id,
            attempt: a.attempt,
            ok: a.status.is_some_and(|s| (200..300).contains(&s)),
            status: a.status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
            duration_ms: a.duration_ms,
            detail: a.error.or(a.response).unwrap_or_default(),
        })
        .collect();
    let flash = q.replayed.map(|n| lang.t("callback_enabled").replace("{n}", &n.to_string()));
    let page =
        EndpointPage { endpoint: Endpoint::of(&row, &signed), attempts, flash, c: Chrome::new(&signed, "callbacks") };
    Ok(render(&page))
}

/// Enables a disabled endpoint again and queues every notification it missed (members and admins).
async fn enable(State(services): State<Arc<Services>>, signed: Signed, Path(id): Path<String>) -> PageResult {
    signed.require(Role::Member)?;
    let row = visible(&services, &signed, &id).await?;
    let replayed = enable_and_replay(&services, &row).await.map_err(|e| ConsoleError::Internal(e.to_string()))?;
    tracing::info!(endpoint = %row.id, by = %signed.email(), replayed, "callback endpoint enabled again");
    Ok(Redirect::to(&format!("/console/callbacks/{}?replayed={replayed}", row.id)).into_response())
}
