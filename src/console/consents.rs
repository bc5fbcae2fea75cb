//! Consents: search by email (with the letters waiting for that address), record one with its proof file
//! (releasing those letters), withdraw one. The same `letters::consent` functions as the API.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::letters::{Row, row_of};
use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::domain::{ConsentId, FieldErrors, LetterState, SenderId};
use crate::letters::consent::{parse_consent, record_consent, withdraw_consent};
use crate::services::Services;
use crate::store::LetterSearch;

/// The largest proof file accepted from the form.
const MAX_PROOF_BYTES: usize = 10 * 1024 * 1024;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route(
            "/console/consents",
            get(page).post(record).layer(axum::extract::DefaultBodyLimit::max(MAX_PROOF_BYTES + 64 * 1024)),
        )
        .route("/console/consents/{id}/withdraw", post(withdraw))
}

pub struct Consent {
    pub id: String,
    pub sender: String,
    pub email: String,
    pub given_at: String,
    pub source: String,
    pub proof_sha256: String,
    pub withdrawn: String,
}

/// What was typed, kept when the form comes back with errors.
#[derive(Debug, Default, Clone)]
pub struct Typed {
    pub sender: String,
    pub email: String,
    pub given_at: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "console/consents.html")]
struct ConsentsPage {
    c: Chrome,
    email: String,
    consents: Vec<Consent>,
    waiting: Vec<Row>,
    senders: Vec<String>,
    typed: Typed,
    errors: Vec<(String, String)>,
    flash: Option<String>,
}

impl ConsentsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    email: String,
    #[serde(default)]
    released: Option<usize>,
    #[serde(default)]
    withdrawn: bool,
}

async fn build(
    services: &Services,
    signed: &Signed,
    email: String,
    typed: Typed,
    errors: Vec<(String, String)>,
    flash: Option<String>,
) -> Result<ConsentsPage, ConsoleError> {
    let mut consents = Vec::new();
    let mut waiting = Vec::new();
    let lang = signed.lang;
    if !email.trim().is_empty() {
        for sender in &signed.senders {
            for c in services.store.consents(sender, email.trim()).await? {
                consents.push(Consent {
                    id: c.id.to_string(),
                    sender: sender.to_string(),
                    email: c.email,
                    given_at: lang.datetime(c.given_at),
                    source: c.source,
                    proof_sha256: c.proof_sha256.unwrap_or_default(),
                    withdrawn: c.withdrawn_at.map(|at| lang.datetime(at)).unwrap_or_default(),
                });
            }
        }
        let search = LetterSearch {
            senders: signed.senders.clone(),
            state: Some(LetterState::AwaitingConsent),
            text: Some(email.trim().to_owned()),
            limit: 100,
            ..LetterSearch::default()
        };
        if !signed.senders.is_empty() {
            waiting = services.store.search_letters(&search).await?.iter().map(|l| row_of(signed, l)).collect();
        }
    }
    Ok(ConsentsPage {
        c: Chrome::new(signed, "consents"),
        email,
        consents,
        waiting,
        senders: signed.senders.iter().map(|s| s.to_string()).collect(),
        typed,
        errors,
        flash,
    })
}

async fn page(State(services): State<Arc<Services>>, signed: Signed, Query(q): Query<SearchQuery>) -> PageResult {
    let fr = signed.lang == super::i18n::Lang::Fr;
    let flash = match (q.released, q.withdrawn) {
        (Some(n), _) if fr => Some(format!("Consentement enregistré ; {n} lettre(s) en attente partent.")),
        (Some(n), _) => Some(format!("Consent recorded; {n} waiting letter(s) leave.")),
        (None, true) if fr => Some("Consentement retiré.".to_owned()),
        (None, true) => Some("Consent withdrawn.".to_owned()),
        _ => None,
    };
    let typed = Typed { email: q.email.clone(), ..Typed::default() };
    Ok(render(&build(&services, &signed, q.email, typed, Vec::new(), flash).await?))
}

/// The fields of the upload form, the proof file read into memory (capped).
async fn read_form(mut multipart: Multipart) -> Result<(Typed, Option<Vec<u8>>), ConsoleError> {
    let mut typed = Typed::default();
    let mut proof = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| ConsoleError::Internal(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "proof" {
            let bytes = field.bytes().await.map_err(|e| ConsoleError::Internal(e.to_string()))?;
            proof = (!bytes.is_empty()).then(|| bytes.to_vec());
            continue;
        }
        let text = field.text().await.unwrap_or_default();
        match name.as_str() {
            "sender" => typed.sender = text,
            "email" => typed.email = text,
            "given_at" => typed.given_at = text,
            "source" => typed.source = text,
            _ => {}
        }
    }
    Ok((typed, proof))
}

fn errors_list(errors: FieldErrors) -> Vec<(String, String)> {
    errors.0.into_iter().map(|e| (e.field, e.message)).collect()
}

async fn record(State(services): State<Arc<Services>>, signed: Signed, multipart: Multipart) -> PageResult {
    let (typed, proof) = read_form(multipart).await?;
    let sender: SenderId = typed.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    signed.require_act_for(&sender)?;
    let given_at = Some(typed.given_at.as_str()).filter(|g| !g.trim().is_empty());
    let mut input = match parse_consent(sender, Some(&typed.email), given_at, Some(typed.source.clone()), proof) {
        Ok(input) => input,
        Err(errors) => {
            let page = build(&services, &signed, String::new(), typed, errors_list(errors), None).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    input.recorded_by = Some(signed.email().to_owned());
    let email = input.email.as_str().to_owned();
    let (_, released) = record_consent(&services, input).await.map_err(|e| ConsoleError::Internal(e.to_string()))?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", &email)
        .append_pair("released", &released.to_string())
        .finish();
    Ok(Redirect::to(&format!("/console/consents?{query}")).into_response())
}

#[derive(Debug, Deserialize)]
struct WithdrawForm {
    sender: String,
    #[serde(default)]
    email: String,
}

async fn withdraw(
    State(services): State<Arc<Services>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> PageResult {
    let sender: SenderId = form.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    signed.require_act_for(&sender)?;
    let id: ConsentId = id.parse().map_err(|_| ConsoleError::NotFound)?;
    if !withdraw_consent(&services, &sender, &id, signed.email()).await? {
        return Err(ConsoleError::NotFound);
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", &form.email)
        .append_pair("withdrawn", "true")
        .finish();
    Ok(Redirect::to(&format!("/console/consents?{query}")).into_response())
}
