//! The dashboard: letters today and this month by state, what needs a person, spend this month per sender,
//! and the health `/readyz` knows, in words.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{Datelike, TimeZone};

use super::session::Signed;
use super::{Chrome, PageResult, render};
use crate::domain::LetterState;
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/console/", get(dashboard))
}

pub struct Count {
    pub state: &'static str,
    pub label: &'static str,
    pub count: i64,
}

pub struct Channel {
    pub name: String,
    pub up: bool,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    c: Chrome,
    today: Vec<Count>,
    month: Vec<Count>,
    attention: Vec<Count>,
    failed_notices: i64,
    spend: Vec<(String, String)>,
    database_up: bool,
    channels: Vec<Channel>,
    providers: String,
    failed_jobs: i64,
}

/// Midnight today and the first of this month, in the senders' time zone (Europe/Paris), as unix ms.
fn day_and_month_start() -> (i64, i64) {
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris);
    let midnight = |d: chrono::NaiveDate| {
        chrono_tz::Europe::Paris
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    };
    let today = now.date_naive();
    (midnight(today), midnight(today.with_day(1).unwrap_or(today)))
}

async fn counts(services: &Services, signed: &Signed, since: i64) -> Result<Vec<Count>, super::ConsoleError> {
    let rows = services.store.count_by_state(&signed.senders, since).await?;
    Ok(LetterState::ALL
        .into_iter()
        .filter_map(|state| {
            let count = rows.iter().find(|(s, _)| *s == state).map(|(_, n)| *n)?;
            Some(Count { state: state.as_str(), label: signed.lang.state(state), count })
        })
        .collect())
}

async fn dashboard(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    let (day, month) = day_and_month_start();
    let mut attention = Vec::new();
    for state in [LetterState::NeedsAttention, LetterState::AwaitingConsent, LetterState::AwaitingApproval] {
        let count = services.store.count_now_in(&signed.senders, state).await?;
        attention.push(Count { state: state.as_str(), label: signed.lang.state(state), count });
    }
    let spend = services
        .store
        .spend_by_sender(&signed.senders, month)
        .await?
        .into_iter()
        .map(|(sender, cents)| (sender, signed.lang.money(cents)))
        .collect();
    let channels = services
        .channels
        .statuses()
        .into_iter()
        .map(|c| Channel { name: c.name, up: c.up, error: c.last_error })
        .collect();
    let page = DashboardPage {
        today: counts(&services, &signed, day).await?,
        month: counts(&services, &signed, month).await?,
        attention,
        failed_notices: services.store.failed_notices().await?,
        spend,
        database_up: services.store.ping().await.is_ok(),
        channels,
        providers: services.providers.iter().map(|p| p.name().to_owned()).collect::<Vec<_>>().join(", "),
        failed_jobs: services.store.failed_jobs().await?,
        c: Chrome::new(&signed, "dashboard"),
    };
    Ok(render(&page))
}
