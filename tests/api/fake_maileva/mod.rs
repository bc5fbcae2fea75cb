//! A fake Maileva for the integration tests, behaving as its OpenAPI specs document it (providers.md §2):
//! the OAuth2 token endpoint (`auth`), paper registered letters of `registered_mail/v4` (`sendings`), and
//! their life with proofs and `notification_center/v2` callbacks (`lifecycle`), simple electronic letters of
//! `secured_electronic_mail/v1` moving by themselves as the recipient's email says (`electronic`), the
//! qualified ones of `electronic_qualified_registered_mail/v1` through the same handlers (`qualified`) with
//! their senders' one-time codes of `electronic_mail_emitter/v1` (`emitters`), consent requests of
//! `electronic_consents/v1` answered as the recipient's name says (`consents`), plus the faults a test can
//! switch on (a submit or a creation that hangs after it was stored, a refused submit, expiring tokens).

// Each test binary uses only part of this API; the rest is still meant to be there.
#![allow(dead_code)]

mod auth;
mod consents;
mod electronic;
mod emitters;
mod lifecycle;
mod model;
mod qualified;
mod sendings;
mod simple;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::json;

pub use model::{Api, FakeConsent, FakeRequest, FakeSending, FakeSubscription, Stage};

use model::State as FakeState;

pub const CLIENT_ID: &str = "relais-tests";
pub const CLIENT_SECRET: &str = "fake-maileva-client-secret-7c41";
pub const USERNAME: &str = "cabinet.exemple";
pub const PASSWORD: &str = "fake-maileva-password-2f9e";
pub const TOKEN_PATH: &str = "/auth/realms/services/protocol/openid-connect/token";

/// Longer than any client timeout: a request under `hang_next_*` is answered this late.
const HANG: Duration = Duration::from_secs(120);

pub(crate) struct Shared {
    state: Mutex<FakeState>,
    origin: String,
    http: reqwest::Client,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn origin(&self) -> &str {
        &self.origin
    }
}

/// `{"errors":[{code, message}]}` with `status`.
fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"errors": [{"code": code, "message": message}]}))).into_response()
}

async fn log(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let entry = FakeRequest { method: request.method().to_string(), path: request.uri().path().to_owned() };
    shared.state().requests.push(entry);
    next.run(request).await
}

/// A running fake Maileva; clones share the same server.
#[derive(Clone)]
pub struct FakeMaileva {
    shared: Arc<Shared>,
}

impl FakeMaileva {
    /// Binds 127.0.0.1:0 and serves until the test's runtime ends.
    pub async fn start() -> FakeMaileva {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake Maileva");
        let origin = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared { state: Mutex::new(FakeState::default()), origin, http: reqwest::Client::new() });
        let rm = "/registered_mail/v4/sendings";
        let ec = "/electronic_consents/v1/consents";
        let em = emitters::ROOT;
        let mut app = Router::new()
            .route(TOKEN_PATH, post(auth::token))
            .route(rm, post(sendings::create).get(sendings::list))
            .route(&format!("{rm}/{{id}}"), get(sendings::get).delete(sendings::delete))
            .route(&format!("{rm}/{{id}}/documents"), post(sendings::add_document))
            .route(&format!("{rm}/{{id}}/recipients"), post(sendings::add_recipient).get(sendings::recipients))
            .route(&format!("{rm}/{{id}}/submit"), post(sendings::submit))
            .route(&format!("{rm}/{{id}}/recipients/{{rid}}/{{document}}"), get(lifecycle::download))
            .route("/notification_center/v2/subscriptions", post(lifecycle::subscribe).get(lifecycle::subscriptions))
            .route("/notification_center/v2/subscriptions/{id}", patch(lifecycle::patch_subscription));
        // Both electronic APIs, on the same handlers.
        for root in [electronic::ROOT, qualified::ROOT] {
            app = app
                .route(root, post(electronic::create).get(electronic::list))
                .route(&format!("{root}/{{id}}"), get(electronic::get).delete(electronic::delete))
                .route(&format!("{root}/{{id}}/documents"), post(electronic::add_document))
                .route(
                    &format!("{root}/{{id}}/recipients"),
                    post(electronic::add_recipient).get(electronic::recipients),
                )
                .route(&format!("{root}/{{id}}/submit"), post(electronic::submit))
                .route(&format!("{root}/{{id}}/recipients/{{rid}}/{{document}}"), get(electronic::download));
        }
        let app = app
            .route(&format!("{em}/{{id}}"), get(emitters::get))
            .route(&format!("{em}/{{id}}/authenticate_by_otp"), post(emitters::authenticate_by_otp))
            .route(ec, post(consents::create))
            .route(&format!("{ec}/{{id}}"), get(consents::get).delete(consents::delete))
            .route(&format!("{ec}/{{id}}/requests"), post(consents::ask))
            .route(&format!("{ec}/{{id}}/download_proof"), get(consents::download_proof))
            .layer(middleware::from_fn(electronic::bare_errors))
            .layer(middleware::from_fn_with_state(shared.clone(), log))
            // Document sizes are judged by the fake's own limit, not by axum's default 2 MB.
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake Maileva server") });
        FakeMaileva { shared }
    }

    /// `http://127.0.0.1:PORT`, relais's `base_url`.
    pub fn base_url(&self) -> String {
        self.shared.origin.clone()
    }

    /// relais's `auth_url`.
    pub fn auth_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.shared.origin)
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.shared.state()
    }

    /// How long new access tokens live (`expires_in`).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state().token_lifetime = lifetime;
    }

    /// Every access token stops working at once (revoked): the next call is answered 401.
    pub fn revoke_tokens(&self) {
        self.state().access_tokens.clear();
    }

    /// The grant types asked for at the token endpoint, in order.
    pub fn grants(&self) -> Vec<String> {
        self.state().grants.clone()
    }

    pub fn set_size_limit(&self, bytes: usize) {
        self.state().size_limit = bytes;
    }

    /// The next submit is stored, then answered two minutes later.
    pub fn hang_next_submit(&self) {
        self.state().hang_next_submit = true;
    }

    /// The next sending is created as a draft, then answered two minutes later.
    pub fn hang_next_create(&self) {
        self.state().hang_next_create = true;
    }

    /// The next submit is refused with this status and error code, and nothing is submitted.
    pub fn fail_next_submit(&self, status: u16, code: &str) {
        self.state().fail_next_submit = Some((status, code.to_owned()));
    }

    pub fn sendings(&self) -> Vec<FakeSending> {
        self.state().sendings.clone()
    }

    /// The submitted sendings whose `custom_id` is `letter`.
    pub fn submitted_for(&self, letter: &str) -> Vec<FakeSending> {
        self.sendings().into_iter().filter(|s| s.submitted && s.custom_id() == Some(letter)).collect()
    }

    /// The one-time code `sender`'s authenticator shows now (`electronic_mail_emitter`): the only code
    /// `authenticate_by_otp` takes for that sender, once.
    pub fn show_otp_code(&self, sender: &str, code: &str) {
        self.state().otp_codes.insert(sender.to_owned(), code.to_owned());
    }

    /// Maileva ends every sender's session for qualified letters (as an hour passing would).
    pub fn end_otp_sessions(&self) {
        self.state().otp_sessions.clear();
    }

    /// The state `GET /senders/{id}` gives for `sender` (`VALIDATED` unless set).
    pub fn set_sender_state(&self, sender: &str, state: &str) {
        self.state().sender_states.insert(sender.to_owned(), state.to_owned());
    }

    /// The consents created (`electronic_consents/v1`), with the requests made to each recipient.
    pub fn consents(&self) -> Vec<FakeConsent> {
        self.state().consents.clone()
    }

    /// The next asking of a recipient (`POST /consents/{id}/requests`) is refused with this code.
    pub fn fail_next_consent_request(&self, code: &str) {
        self.state().fail_next_consent_request = Some(code.to_owned());
    }

    pub fn subscriptions(&self) -> Vec<FakeSubscription> {
        self.state().subscriptions.clone()
    }

    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().requests.clone()
    }

    /// Adds a delivery code to a submitted sending's recipient, without callback.
    pub fn add_code(&self, sending_id: &str, code: &str) {
        let mut state = self.state();
        let sending = state.sending_mut(sending_id).expect("fake Maileva: no such sending");
        let recipient = sending.recipient.as_mut().expect("a recipient");
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        recipient.codes.push((code.to_owned(), now));
    }

    /// Moves a submitted sending to `stage` (deposited first if needed) and calls back every subscription to
    /// its events. True when every callback was answered 201 (and false when none was made).
    pub async fn advance(&self, sending_id: &str, stage: Stage) -> bool {
        let callbacks = lifecycle::move_to(&self.shared, sending_id, stage);
        let mut all = !callbacks.is_empty();
        for callback in &callbacks {
            all &= lifecycle::deliver(&self.shared.http, callback).await;
        }
        all
    }

    /// Moves a sending to `stage` without calling back anyone (a lost callback).
    pub fn advance_silently(&self, sending_id: &str, stage: Stage) {
        lifecycle::move_to(&self.shared, sending_id, stage);
    }
}

/// The parts of a document upload: `document` (its bytes), `metadata` (JSON) and, as the qualified API's
/// schema shows it, `name`.
#[derive(Default)]
struct DocumentParts {
    document: Option<axum::body::Bytes>,
    metadata: Option<serde_json::Value>,
    name: Option<String>,
}

async fn document_parts(multipart: &mut axum::extract::Multipart) -> DocumentParts {
    let mut parts = DocumentParts::default();
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name().unwrap_or_default() {
            "document" => parts.document = field.bytes().await.ok(),
            "metadata" => parts.metadata = field.text().await.ok().and_then(|t| serde_json::from_str(&t).ok()),
            "name" => parts.name = field.text().await.ok(),
            _ => {}
        }
    }
    parts
}
