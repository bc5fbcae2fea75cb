//! Who is signed in: the session cookie (HttpOnly, SameSite=Lax, Secure over https), the check that every
//! page but sign-in has a live session, the CSRF token every state-changing request must carry, and roles.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;

use super::ConsoleError;
use super::i18n::Lang;
use crate::accounts::users::{self, Role};
use crate::domain::SenderId;
use crate::services::Services;
use crate::store::SessionRecord;

pub const SESSION_COOKIE: &str = "relais_session";
/// The form field (or `X-CSRF-Token` header) carrying the session's CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The largest form body read to find its CSRF token (uploads are multipart and carry it in the query).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value of the session (`None` clears it).
pub fn session_cookie(services: &Services, secret: Option<&str>) -> String {
    let secure = if services.public_url.scheme() == "https" { "; Secure" } else { "" };
    match secret {
        Some(secret) => {
            let age = services.settings.console.session_lifetime.as_secs();
            format!("{SESSION_COOKIE}={secret}; Path=/console; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
        }
        None => format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    }
}

/// The signed-in person of a console request.
#[derive(Debug, Clone)]
pub struct Signed {
    pub session: SessionRecord,
    /// The senders this person may see and act for (every configured one for admins and unrestricted users).
    pub senders: Vec<SenderId>,
    pub lang: Lang,
}

impl Signed {
    pub fn email(&self) -> &str {
        &self.session.user.email
    }

    pub fn role(&self) -> Role {
        self.session.user.role
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }

    /// Refuses (403) unless the person's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ConsoleError> {
        if self.role() >= role { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }

    pub fn may_see(&self, sender: &SenderId) -> bool {
        self.senders.contains(sender)
    }

    /// Refuses (403) unless the person is at least a member acting for `sender`.
    pub fn require_act_for(&self, sender: &SenderId) -> Result<(), ConsoleError> {
        self.require(Role::Member)?;
        if self.may_see(sender) { Ok(()) } else { Err(ConsoleError::Forbidden) }
    }

    /// "by claire@cabinet.fr": how the person's actions are recorded.
    pub fn actor(&self) -> String {
        format!("console {}", self.email())
    }
}

fn allowed_senders(services: &Services, session: &SessionRecord) -> Vec<SenderId> {
    let configured = services.settings.senders.iter().map(|s| s.id.clone());
    let user = &session.user;
    if user.role == Role::Admin || user.senders.is_empty() {
        configured.collect()
    } else {
        configured.filter(|s| user.senders.contains(s)).collect()
    }
}

/// Every console page but sign-in and the assets: a live session, or a redirect to sign-in (pages) or 401;
/// and on every request that is not GET or HEAD, the session's CSRF token, or 403 with nothing done.
pub async fn require_session(State(services): State<Arc<Services>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/console/login" || path.starts_with("/console/assets/") || path.starts_with("/console/lang/") {
        return next.run(request).await;
    }
    let lang = Lang::of(request.headers());
    let secret = cookie(request.headers(), SESSION_COOKIE).unwrap_or_default().to_owned();
    let session = match users::session(&services.store, &secret).await {
        Ok(Some(session)) => session,
        Ok(None) if request.method() == Method::GET => {
            let next_page = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/console/");
            let target = format!(
                "/console/login?next={}",
                url::form_urlencoded::byte_serialize(next_page.as_bytes()).collect::<String>()
            );
            return Redirect::to(&target).into_response();
        }
        Ok(None) => return ConsoleError::SignedOut.into_response(),
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    let senders = allowed_senders(&services, &session);
    let signed = Signed { session, senders, lang };
    let request = if matches!(*request.method(), Method::GET | Method::HEAD) {
        request
    } else {
        match checked_csrf(request, signed.csrf()).await {
            Ok(request) => request,
            Err(e) => return e.into_response(),
        }
    };
    let mut request = request;
    request.extensions_mut().insert(signed);
    next.run(request).await
}

fn same_token(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The request back when it carries `expected`: in the `X-CSRF-Token` header, in the query (`?csrf=`,
/// used by upload forms), or as the `csrf` field of a url-encoded form body (read and put back).
async fn checked_csrf(request: Request, expected: &str) -> Result<Request, ConsoleError> {
    if let Some(given) = request.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if same_token(given, expected) { Ok(request) } else { Err(ConsoleError::Csrf) };
    }
    let in_query = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned())
    });
    if let Some(given) = in_query {
        return if same_token(&given, expected) { Ok(request) } else { Err(ConsoleError::Csrf) };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ConsoleError::Csrf);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| ConsoleError::Csrf)?;
    let given = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
    if !given.is_some_and(|g| same_token(&g, expected)) {
        return Err(ConsoleError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

impl FromRequestParts<Arc<Services>> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<Services>) -> Result<Self, ConsoleError> {
        parts.extensions.get::<Signed>().cloned().ok_or(ConsoleError::SignedOut)
    }
}
