//! The fake AR24's letter lifecycle: stage changes driven by the test, the webhook calls they trigger
//! (providers.md §1.7, §1.8) and the proof PDFs served at `/get/proof/{kind}-{id}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use relais::render::pdf::{Block, TextDocument, write_pdf};

use super::Shared;
use super::mail::proof_url;
use super::model::{FakeMail, Stage, paris};
use super::wire;

/// AR24's first webhook attempts time out after 2.5 s (providers.md §1.8).
const WEBHOOK_TIMEOUT: Duration = Duration::from_millis(2500);

/// One webhook call to make after a stage change.
pub struct Event {
    pub url: Option<String>,
    pub form: Vec<(String, String)>,
}

/// Moves a letter to `stage`; an outcome first passes through `Sent` if it has not yet. Returns the events to
/// deliver, in order.
pub fn move_to(shared: &Shared, mail_id: i64, stage: Stage) -> Vec<Event> {
    let mut state = shared.state();
    let mail = state.mail_mut(mail_id).unwrap_or_else(|| panic!("fake AR24: no letter {mail_id}"));
    let mut events = Vec::new();
    if stage != Stage::Sent && !mail.reached(Stage::Sent) {
        events.push(reach(mail, Stage::Sent, shared.origin()));
    }
    events.push(reach(mail, stage, shared.origin()));
    events
}

fn reach(mail: &mut FakeMail, stage: Stage, origin: &str) -> Event {
    let date = paris(Utc::now());
    mail.status = stage.status().to_string();
    mail.dates.insert(stage.date_field().to_string(), date.clone());
    // The payload of providers.md §1.8: id_mail, new_state, proof_url and the date that changed.
    let form = vec![
        ("id_mail".to_string(), mail.id.to_string()),
        ("new_state".to_string(), stage.status().to_string()),
        ("proof_url".to_string(), proof_url(origin, mail, stage)),
        (stage.date_field().to_string(), date),
    ];
    Event { url: mail.webhook.clone(), form }
}

/// POSTs one event form-encoded (providers.md §1.8 example); true when the receiver answered 200. No retry:
/// the test decides whether to call again.
pub async fn deliver(http: &reqwest::Client, event: &Event) -> bool {
    let Some(url) = &event.url else { return false };
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&event.form).finish();
    let sent = http
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .timeout(WEBHOOK_TIMEOUT)
        .send()
        .await;
    sent.is_ok_and(|r| r.status() == StatusCode::OK)
}

/// `GET /get/proof/{kind}-{id}?token=…`: a plain GET whose per-letter token is the only credential
/// (providers.md §1.7); a wrong token is 403, an unknown proof 404 (the fake's choice of codes).
pub async fn proof(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.log_plain("GET", &format!("/get/proof/{file}"), &query);
    if shared.state().maintenance {
        return wire::maintenance();
    }
    let Some((stage, id)) = parse_proof_name(&file) else { return StatusCode::NOT_FOUND.into_response() };
    let state = shared.state();
    let Some(mail) = state.mail(id) else { return StatusCode::NOT_FOUND.into_response() };
    if query.get("token") != Some(&mail.proof_token) {
        return StatusCode::FORBIDDEN.into_response();
    }
    if !mail.reached(stage) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Ok(pdf) = write_pdf(&proof_document(mail, stage)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf")], pdf).into_response()
}

fn parse_proof_name(file: &str) -> Option<(Stage, i64)> {
    let (kind, id) = file.split_once('-')?;
    Some((Stage::from_proof_kind(kind)?, id.parse().ok()?))
}

/// Proofs are PDFs (providers.md §1.7, an inference); this one states the facts a proof carries.
fn proof_document(mail: &FakeMail, stage: Stage) -> TextDocument {
    let date = mail.dates.get(stage.date_field()).cloned().unwrap_or_default();
    let field = |label: &str, value: String| Block::field(label, value);
    TextDocument {
        title: format!("AR24 proof {}-{}", stage.proof_kind(), mail.id),
        author: "AR24 (fake)".into(),
        created: Utc::now(),
        watermark: Some("FAKE AR24 - test document".into()),
        blocks: vec![
            Block::heading(format!("Proof: {}", stage.status())),
            Block::Spacer,
            field("Letter id", mail.id.to_string()),
            field("Sender id", mail.user_id.to_string()),
            field("Recipient", mail.to_email.clone()),
            field("Qualified (eIDAS)", if mail.eidas { "yes" } else { "no" }.into()),
            field("Deposited", mail.date.clone()),
            field(stage.date_field(), date),
        ],
    }
}
