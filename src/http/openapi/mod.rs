//! The OpenAPI 3.1 document of the API (`GET /openapi.json`, `relais openapi`), generated from the handlers'
//! `#[utoipa::path]` annotations and their types; `openapi.json` at the repository root is this document, and
//! a test fails when the two disagree.

mod errors;
mod extras;

pub use errors::{InvalidFields, KeyErrors, OwnedErrors};

use extras::{CallbackWebhooks, SecuritySchemes};
use utoipa::OpenApi;

use crate::http::routes::{
    api_keys, callbacks, confirmations, consent_requests, consents, health, hooks, imports, inbound, letters, notices,
    senders, templates, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "relais",
        description = "A self-hosted gateway for registered letters: submit letters, follow them to their legal \
                       outcome, get the proofs, hear of every change through signed callbacks (see `webhooks`). \
                       Every error is `application/problem+json` (`Problem`)."
    ),
    paths(
        health::healthz, health::readyz,
        letters::create, letters::list, letters::show, letters::cancel, letters::document, letters::proof,
        imports::create, imports::show,
        callbacks::create, callbacks::list, callbacks::show, callbacks::remove, callbacks::attempts,
        callbacks::enable, callbacks::rotate, callbacks::proof_link,
        hooks::deliver, hooks::list, hooks::replay_delivery,
        consents::create, consents::list, consent_requests::create, consent_requests::list,
        senders::create,
        notices::list,
        api_keys::list, api_keys::revoke,
        templates::list, templates::show, templates::versions::list, templates::versions::show,
        templates::versions::save_draft, templates::versions::publish, templates::versions::rollback,
        templates::versions::diff, templates::preview,
        confirmations::show, confirmations::accept,
        inbound::create,
        webhooks::receive, webhooks::receive_for_letter,
    ),
    components(schemas(crate::http::error::Problem, crate::notify::callbacks::CallbackEvent)),
    modifiers(&SecuritySchemes, &CallbackWebhooks),
    tags(
        (name = "letters", description = "Letters: submit, follow, cancel, download"),
        (name = "imports", description = "A CSV of overdue invoices as letters"),
        (name = "callbacks", description = "Signed callbacks (Standard Webhooks) to the requester's endpoints"),
        (name = "hooks", description = "Billing tools' own webhooks, verified by a preset and mapped to letters"),
    )
)]
pub struct ApiDoc;

/// The document, as served and committed: pretty JSON ending with a newline.
pub fn document_json() -> String {
    let mut text = ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}
