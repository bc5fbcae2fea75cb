//! What a person can do for a letter that needs one: move a waiting or doubtful letter onward now (the
//! same reconciliation-first retry as `relais letter retry`), send again a notice that gave up, and approve
//! a qualified sender's letter with the sender's one-time code (that letter only).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::approvals::approve_with_code;
use super::letters::{letter_page, visible_letter};
use super::session::Signed;
use super::{ConsoleError, PageResult};
use crate::domain::NoticeId;
use crate::letters::jobs::{RetryError, retry_letter};
use crate::letters::notices::{ResendError, resend_notice};
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/console/letters/{id}/retry", post(retry))
        .route("/console/letters/{id}/notices/{notice}/resend", post(resend))
        .route("/console/letters/{id}/approve", post(approve))
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn approve(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CodeForm>,
) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    signed.require_act_for(&letter.sender_id)?;
    let sender = letter.sender_id.clone();
    match approve_with_code(&services, &signed, &sender, &form.code, Some(&letter.id)).await? {
        Ok(released) => {
            let done = if released == 0 { "not_waiting" } else { "approved" };
            Ok(Redirect::to(&format!("/console/letters/{}?done={done}", letter.id)).into_response())
        }
        Err(message) => {
            let page = letter_page(&services, &signed, letter, None, Some(message)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

async fn retry(State(services): State<Arc<Services>>, signed: Signed, Path(id): Path<String>) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    signed.require_act_for(&letter.sender_id)?;
    match retry_letter(&services, &letter.id).await {
        Ok(_) | Err(RetryError::NothingToRetry(_)) => {}
        Err(RetryError::NotFound(_)) => return Err(ConsoleError::NotFound),
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    }
    tracing::info!(letter = %letter.id, by = %signed.email(), "letter moved onward from the console");
    Ok(Redirect::to(&format!("/console/letters/{}", letter.id)).into_response())
}

async fn resend(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path((id, notice)): Path<(String, String)>,
) -> PageResult {
    let letter = visible_letter(&services, &signed, &id).await?;
    signed.require_act_for(&letter.sender_id)?;
    let notice: NoticeId = notice.parse().map_err(|_| ConsoleError::NotFound)?;
    let belongs = services.store.notice(&notice).await?.is_some_and(|n| n.letter_id == letter.id);
    if !belongs {
        return Err(ConsoleError::NotFound);
    }
    match resend_notice(&services, &notice).await {
        Ok(_) | Err(ResendError::AlreadySent(_)) => {}
        Err(ResendError::NotFound(_)) => return Err(ConsoleError::NotFound),
        Err(e) => return Err(ConsoleError::Internal(e.to_string())),
    }
    Ok(Redirect::to(&format!("/console/letters/{}", letter.id)).into_response())
}
