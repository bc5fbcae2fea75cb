//! Approvals: for qualified senders, the letters waiting and a field for the sender's one-time code, which
//! releases them all (the same `letters::approval::approve` as the API and the CLI).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::letters::{Row, row_of};
use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::domain::{LetterId, LetterState, SenderId};
use crate::letters::approval::{ApprovalError, approve, approve_letter};
use crate::services::Services;
use crate::store::LetterSearch;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/console/approvals", get(page).post(submit))
}

pub struct Qualified {
    pub id: String,
    pub letters: Vec<Row>,
    /// Why the code given for this sender was refused.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/approvals.html")]
struct ApprovalsPage {
    c: Chrome,
    senders: Vec<Qualified>,
    released: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    released: Option<usize>,
}

/// The senders the person sees whose provider wants a one-time code, with their waiting letters.
async fn qualified(services: &Services, signed: &Signed) -> Result<Vec<Qualified>, ConsoleError> {
    let mut out = Vec::new();
    for id in &signed.senders {
        let Some(sender) = services.settings.sender(id) else { continue };
        if !services.providers.get(&sender.provider).is_some_and(|p| p.needs_approval(sender)) {
            continue;
        }
        let search = LetterSearch {
            senders: vec![id.clone()],
            state: Some(LetterState::AwaitingApproval),
            limit: 200,
            ..LetterSearch::default()
        };
        let letters = services.store.search_letters(&search).await?;
        out.push(Qualified {
            id: id.to_string(),
            letters: letters.iter().map(|l| row_of(signed, l)).collect(),
            error: None,
        });
    }
    Ok(out)
}

async fn page(State(services): State<Arc<Services>>, signed: Signed, Query(done): Query<Done>) -> PageResult {
    let released = done.released.map(|n| match signed.lang {
        super::i18n::Lang::Fr => format!("Validé : {n} lettre(s) envoyée(s)."),
        super::i18n::Lang::En => format!("Approved: {n} letter(s) sent."),
    });
    let senders = qualified(&services, &signed).await?;
    Ok(render(&ApprovalsPage { c: Chrome::new(&signed, "approvals"), senders, released }))
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    sender: String,
    #[serde(default)]
    code: String,
}

/// Gives the sender's one-time code to its provider for the person signed in: how many letters left (all
/// those waiting, or `letter` only), or why the code was refused, in the person's words.
pub async fn approve_with_code(
    services: &Services,
    signed: &Signed,
    sender: &SenderId,
    code: &str,
    letter: Option<&LetterId>,
) -> Result<Result<usize, String>, ConsoleError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let fr = signed.lang == super::i18n::Lang::Fr;
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(Err(if fr { "Le code a 6 chiffres.".into() } else { "The code has 6 digits.".into() }));
    }
    let approved = match letter {
        Some(letter) => approve_letter(services, sender, &code, signed.email(), letter).await,
        None => approve(services, sender, &code, signed.email()).await,
    };
    match approved {
        Ok(approved) => {
            tracing::info!(sender = %sender, by = %signed.email(), released = approved.released, "approved from the console");
            Ok(Ok(approved.released))
        }
        Err(ApprovalError::InvalidCode(message)) => Ok(Err(if fr {
            format!("Code refusé par le prestataire : {message}")
        } else {
            format!("Code refused: {message}")
        })),
        Err(ApprovalError::NotNeeded(_)) => Err(ConsoleError::NotFound),
        Err(ApprovalError::Provider(p)) if p.is_transient() => Ok(Err(if fr {
            "Le prestataire ne répond pas ; réessayez dans un instant.".into()
        } else {
            "The provider does not answer; try again shortly.".into()
        })),
        Err(e) => Err(ConsoleError::Internal(e.to_string())),
    }
}

async fn submit(State(services): State<Arc<Services>>, signed: Signed, Form(form): Form<CodeForm>) -> PageResult {
    let sender: SenderId = form.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    signed.require_act_for(&sender)?;
    let message = match approve_with_code(&services, &signed, &sender, &form.code, None).await? {
        Ok(n) => return Ok(Redirect::to(&format!("/console/approvals?released={n}")).into_response()),
        Err(message) => message,
    };
    let mut senders = qualified(&services, &signed).await?;
    senders.iter_mut().filter(|q| q.id == sender.as_str()).for_each(|q| q.error = Some(message.clone()));
    let page = ApprovalsPage { c: Chrome::new(&signed, "approvals"), senders, released: None };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}
