//! `/v1/confirmations/{token}`: the link in a confirmation request. GET shows a page with a button (mail
//! systems open links on their own to scan them, so a GET must never send a letter); POST confirms.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::intake::email::confirm::{ConfirmError, confirm};
use crate::services::Services;
use crate::store::now_ms;

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/v1/confirmations/{token}", get(show).post(accept))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family: sans-serif; max-width: 36rem; margin: 3rem auto\"><h1>{title}</h1>{body}</body></html>"
    );
    (status, Html(html)).into_response()
}

fn token_ok(token: &str) -> bool {
    token.len() == 43 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[utoipa::path(
    get,
    path = "/v1/confirmations/{token}",
    tag = "confirmations",
    summary = "The confirmation page of a held emailed request",
    params(("token" = String, Path, description = "From the confirmation link")),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String))
)]
async fn show(State(services): State<Arc<Services>>, Path(token): Path<String>) -> Response {
    let record = if token_ok(&token) { services.store.confirmation(&token).await.ok().flatten() } else { None };
    match record {
        None => {
            page(StatusCode::NOT_FOUND, "Demande introuvable", "<p>Aucune demande n'attend cette confirmation.</p>")
        }
        Some(r) if r.letter_id.is_some() => {
            page(StatusCode::OK, "Déjà confirmée", "<p>Cette lettre est déjà partie.</p>")
        }
        Some(r) if now_ms() > r.expires_at => {
            page(StatusCode::GONE, "Demande expirée", "<p>Sans confirmation à temps, rien n'a été envoyé.</p>")
        }
        Some(_) => page(
            StatusCode::OK,
            "Confirmer l'envoi",
            "<p>La lettre recommandée jointe au message reçu partira dès que vous confirmez. \
             Elle est facturée et produit des effets juridiques.</p>\
             <form method=\"post\"><button type=\"submit\">Envoyer la lettre</button></form>",
        ),
    }
}

#[utoipa::path(
    post,
    path = "/v1/confirmations/{token}",
    tag = "confirmations",
    summary = "Confirm a held emailed request: it is sent",
    params(("token" = String, Path, description = "From the confirmation link")),
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String))
)]
async fn accept(State(services): State<Arc<Services>>, Path(token): Path<String>) -> Response {
    if !token_ok(&token) {
        return page(
            StatusCode::NOT_FOUND,
            "Demande introuvable",
            "<p>Aucune demande n'attend cette confirmation.</p>",
        );
    }
    match confirm(&services, &token, None).await {
        Ok(id) => page(StatusCode::OK, "Lettre envoyée", &format!("<p>La lettre <code>{id}</code> part.</p>")),
        Err(ConfirmError::Unknown) => {
            page(StatusCode::NOT_FOUND, "Demande introuvable", "<p>Aucune demande n'attend cette confirmation.</p>")
        }
        Err(ConfirmError::Expired) => {
            page(StatusCode::GONE, "Demande expirée", "<p>Sans confirmation à temps, rien n'a été envoyé.</p>")
        }
        Err(e) => {
            tracing::error!(error = %e, "a confirmation failed");
            page(StatusCode::SERVICE_UNAVAILABLE, "Réessayez", "<p>La confirmation n'a pas pu être enregistrée.</p>")
        }
    }
}
