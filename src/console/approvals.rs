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
use crate::domain::{LetterState, SenderId};
use crate::letters::approval::{ApprovalError, approve};
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

async fn submit(State(services): State<Arc<Services>>, signed: Signed, Form(form): Form<CodeForm>) -> PageResult {
    let sender: SenderId = form.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    signed.require_act_for(&sender)?;
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    let fr = signed.lang == super::i18n::Lang::Fr;
    let refused = |message: String| {
        let error = Some((sender.to_string(), message));
        (error, None::<usize>)
    };
    let (error, released) = if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        refused(if fr { "Le code a 6 chiffres.".into() } else { "The code has 6 digits.".into() })
    } else {
        match approve(&services, &sender, &code).await {
            Ok(approved) => (None, Some(approved.released)),
            Err(ApprovalError::InvalidCode(message)) => refused(if fr {
                format!("Code refusé par le prestataire : {message}")
            } else {
                format!("Code refused: {message}")
            }),
            Err(ApprovalError::NotNeeded(_)) => return Err(ConsoleError::NotFound),
            Err(ApprovalError::Provider(p)) if p.is_transient() => refused(if fr {
                "Le prestataire ne répond pas ; réessayez dans un instant.".into()
            } else {
                "The provider does not answer; try again shortly.".into()
            }),
            Err(e) => return Err(ConsoleError::Internal(e.to_string())),
        }
    };
    if let Some(n) = released {
        return Ok(Redirect::to(&format!("/console/approvals?released={n}")).into_response());
    }
    let mut senders = qualified(&services, &signed).await?;
    if let Some((id, message)) = error {
        senders.iter_mut().filter(|q| q.id == id).for_each(|q| q.error = Some(message.clone()));
    }
    let page = ApprovalsPage { c: Chrome::new(&signed, "approvals"), senders, released: None };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}
