//! A fake AR24 API server for the integration tests, behaving as providers.md §1 documents AR24: signed
//! requests, encrypted answers, senders, OTP sessions, attachments, letters, proofs and webhooks, plus the
//! faults a test can switch on.

// Each test binary uses only part of this API; the rest is still meant to be there.
#![allow(dead_code)]

mod attachments;
mod auth;
mod lifecycle;
mod mail;
mod model;
mod users;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State as AxumState};
use axum::response::Response;
use axum::routing::get;

pub use model::{FakeAttachment, FakeMail, FakeRequest, FakeUser, Stage};

use model::State;
use wire::Incoming;

const TOKEN: &str = "fake-ar24-token-5d1c0e7a";
const PRIVATE_KEY: &str = "fake-ar24-private-key-93b2f4c8";

/// Longer than any client timeout: a letter stored under `timeout_next_mail` is answered this late.
const HANG: Duration = Duration::from_secs(120);

/// What the server tasks and the test handle share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// When each request arrived (its head, before the body is read), for rate limits.
    arrivals: Mutex<Vec<std::time::Instant>>,
    origin: String,
    http: reqwest::Client,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `http://127.0.0.1:PORT`, the host of the proof URLs.
    fn origin(&self) -> &str {
        &self.origin
    }

    fn log(&self, incoming: &Incoming) {
        self.state().requests.push(incoming.record());
    }

    fn log_plain(&self, method: &str, path: &str, query: &HashMap<String, String>) {
        let request = FakeRequest {
            method: method.into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>(),
            field_names: Vec::new(),
            form: Vec::new(),
            signature: None,
        };
        self.state().requests.push(request);
    }
}

/// A running fake AR24; clones share the same server.
#[derive(Clone)]
pub struct FakeAr24 {
    shared: Arc<Shared>,
}

/// The `/api/` routes, matched on method and path (a trailing slash is tolerated).
#[derive(Clone, Copy)]
enum Route {
    GetUser,
    CreateUser,
    RequestAccess,
    AuthOtp,
    Attachment,
    PostMail,
    GetMail,
    ListMails,
}

fn route_of(method: &str, path: &str) -> Option<Route> {
    let path = path.strip_prefix("/api/")?.trim_end_matches('/');
    let route = match (method, path) {
        ("GET", "user") => Route::GetUser,
        ("POST", "user") => Route::CreateUser,
        ("POST", "user/request_access") => Route::RequestAccess,
        ("POST", "user/auth_otp") => Route::AuthOtp,
        ("POST", "attachment") => Route::Attachment,
        ("POST", "mail") => Route::PostMail,
        ("GET", "mail") => Route::GetMail,
        ("GET", "user/mail") => Route::ListMails,
        _ => return None,
    };
    Some(route)
}

/// `POST /mail`, after the delay the test asked for, if any: AR24 records the letter only then, even when
/// the client has given up and closed the connection meanwhile (the work goes on in its own task).
async fn delayed_post(shared: &Arc<Shared>, incoming: Incoming) -> mail::Posted {
    let delay = shared.state().mail_delays.pop_front();
    let Some(delay) = delay else { return mail::post(shared, &incoming) };
    let shared = shared.clone();
    let recording = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        mail::post(&shared, &incoming)
    });
    recording.await.expect("the fake's recording task")
}

/// Every `/api/` request: log, maintenance, route, authentication, then the route itself.
async fn api(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let incoming = Incoming::read(request).await;
    shared.log(&incoming);
    if shared.state().maintenance {
        return wire::maintenance();
    }
    let Some(route) = route_of(&incoming.method, &incoming.path) else { return wire::not_found() };
    let date = match auth::check(&incoming, TOKEN, PRIVATE_KEY) {
        Ok(date) => date,
        Err(slug) => return wire::error(slug),
    };
    let reply = match route {
        Route::GetUser => users::get(&shared, &incoming),
        Route::CreateUser => users::create(&shared, &incoming),
        Route::RequestAccess => users::request_access(&shared, &incoming),
        Route::AuthOtp => users::auth_otp(&shared, &incoming),
        Route::Attachment => attachments::upload(&shared, &incoming),
        Route::GetMail => mail::get(&shared, &incoming),
        Route::ListMails => mail::list(&shared, &incoming),
        Route::PostMail => match delayed_post(&shared, incoming).await {
            mail::Posted::Answer(reply) => reply,
            mail::Posted::Fail(slug) => return wire::error(&slug),
            mail::Posted::Hang => {
                // AR24 kept the letter; the client only sees its own timeout.
                tokio::time::sleep(HANG).await;
                return wire::error("unknown_error");
            }
        },
    };
    match reply {
        Ok(result) => {
            let encrypt = shared.state().encrypt;
            wire::success(result, encrypt.then_some((PRIVATE_KEY, date.as_str())))
        }
        Err(slug) => wire::error(slug),
    }
}

impl FakeAr24 {
    /// Binds 127.0.0.1:0 and serves until the test's runtime ends.
    pub async fn start() -> FakeAr24 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the fake AR24");
        let origin = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrivals: Mutex::new(Vec::new()),
            origin,
            http: reqwest::Client::new(),
        });
        let arrivals = shared.clone();
        let app = Router::new()
            .route("/get/proof/{file}", get(lifecycle::proof))
            .fallback(api)
            // Attachment sizes are judged by the fake's own limit, not by axum's default 2 MB.
            .layer(DefaultBodyLimit::disable())
            .layer(axum::middleware::from_fn(move |request: Request, next: axum::middleware::Next| {
                arrivals.arrivals.lock().unwrap_or_else(|p| p.into_inner()).push(std::time::Instant::now());
                next.run(request)
            }))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake AR24 server") });
        FakeAr24 { shared }
    }

    /// When each request reached the fake, in order of arrival.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.shared.arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `http://127.0.0.1:PORT/api/`, the base URL relais is configured with.
    pub fn base_url(&self) -> String {
        format!("{}/api/", self.shared.origin)
    }

    pub fn token(&self) -> &str {
        TOKEN
    }

    pub fn private_key(&self) -> &str {
        PRIVATE_KEY
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// A ready sender: confirmed, paying, API access granted; identity verified if asked.
    pub fn add_user(&self, email: &str, verified: bool) -> i64 {
        let mut state = self.state();
        let id = state.next_id();
        state.users.push(FakeUser {
            id,
            email: email.to_string(),
            firstname: "Jeanne".into(),
            lastname: "Expéditrice".into(),
            company: String::new(),
            statut: "particulier".into(),
            confirmed: true,
            payment_active: true,
            is_identity_verified: verified,
            api_access: true,
            otp: None,
        });
        id
    }

    /// Flips `payment_active`, `api_access`, `is_identity_verified` or `confirmed`.
    pub fn set_user_flag(&self, id: i64, flag: &str, value: bool) {
        let mut state = self.state();
        let user = state.user_mut(id).unwrap_or_else(|| panic!("fake AR24: no user {id}"));
        match flag {
            "payment_active" => user.payment_active = value,
            "api_access" => user.api_access = value,
            "is_identity_verified" => user.is_identity_verified = value,
            "confirmed" => user.confirmed = value,
            other => panic!("fake AR24: unknown user flag {other}"),
        }
    }

    /// The TOTP code the sender's authenticator shows, as far as the fake is concerned.
    pub fn set_otp(&self, user_id: i64, code: &str) {
        let mut state = self.state();
        let user = state.user_mut(user_id).unwrap_or_else(|| panic!("fake AR24: no user {user_id}"));
        user.otp = Some(code.to_string());
    }

    /// Ages every OTP session past its hour (providers.md §1.4).
    pub fn expire_otp_sessions(&self) {
        let too_old = chrono::Utc::now() - users::OTP_SESSION - chrono::TimeDelta::minutes(1);
        self.state().sessions.iter_mut().for_each(|s| s.opened = too_old);
    }

    pub fn set_maintenance(&self, on: bool) {
        self.state().maintenance = on;
    }

    pub fn set_encrypt(&self, on: bool) {
        self.state().encrypt = on;
    }

    pub fn set_attachment_limit(&self, bytes: usize) {
        self.state().attachment_limit = bytes;
    }

    /// The next `POST /mail` (authenticated) answers this error slug and stores nothing.
    pub fn fail_next_mail(&self, slug: &str) {
        self.state().fail_next_mail = Some(slug.to_string());
    }

    /// The next accepted `POST /mail` stores the letter, then does not answer for two minutes.
    pub fn timeout_next_mail(&self) {
        self.state().timeout_next_mail = true;
    }

    /// Each of the next `POST /mail` takes the next of `delays` before AR24 records the letter and answers.
    pub fn delay_next_mails(&self, delays: &[Duration]) {
        self.state().mail_delays.extend(delays.iter().copied());
    }

    /// The next accepted `POST /mail` is lost: nothing is recorded and no answer comes for two minutes.
    pub fn lose_next_mail(&self) {
        self.state().lose_next_mail = true;
    }

    /// Records `n` letters of `user` now, to other recipients.
    pub fn add_other_mails(&self, user: i64, n: usize) {
        mail::add_other_mails(&mut self.state(), user, n);
    }

    pub fn mails(&self) -> Vec<FakeMail> {
        self.state().mails.clone()
    }

    pub fn mail(&self, id: i64) -> Option<FakeMail> {
        self.state().mail(id).cloned()
    }

    pub fn attachments(&self) -> Vec<FakeAttachment> {
        self.state().attachments.clone()
    }

    pub fn users(&self) -> Vec<FakeUser> {
        self.state().users.clone()
    }

    /// E-mails passed to `POST /user/request_access`, in order.
    pub fn access_requests(&self) -> Vec<String> {
        self.state().access_requests.clone()
    }

    /// Moves a letter to `stage` (through `Sent` first if needed) and calls its webhook once per change.
    /// True when every call answered HTTP 200; false too when the letter has no webhook.
    pub async fn advance(&self, mail_id: i64, stage: Stage) -> bool {
        let events = lifecycle::move_to(&self.shared, mail_id, stage);
        let mut all_ok = true;
        for event in &events {
            all_ok &= lifecycle::deliver(&self.shared.http, event).await;
        }
        all_ok
    }

    /// Gives a letter a status word relais does not know, without any webhook.
    pub fn set_unknown_status(&self, mail_id: i64, status: &str) {
        let mut state = self.state();
        let mail = state.mail_mut(mail_id).unwrap_or_else(|| panic!("fake AR24: no letter {mail_id}"));
        mail.status = status.to_string();
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.state().requests.clone()
    }

    /// The requests to one `/api/` route, e.g. `requests_to("POST", "mail")`.
    pub fn requests_to(&self, method: &str, route: &str) -> Vec<FakeRequest> {
        let path = format!("/api/{route}");
        let same = |r: &FakeRequest| r.method == method && r.path.trim_end_matches('/') == path;
        self.requests().into_iter().filter(same).collect()
    }
}
