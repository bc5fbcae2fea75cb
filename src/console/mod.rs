//! The web console at `/console/`: server-rendered pages (askama templates under `templates/console/`,
//! compiled into the binary) over the same services as the API, for people who never read the API
//! reference. Sessions and CSRF in `session`, words in `i18n`, one module per page family.

mod actions;
mod admin;
mod approvals;
mod assets;
mod callbacks;
mod consents;
mod dashboard;
pub mod i18n;
mod letters;
mod login;
mod new_letter;
pub mod session;
mod templates;
mod uploads;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::accounts::users::Role;
use crate::services::Services;
use crate::store::StoreError;
use i18n::Lang;
use session::Signed;

/// What every page shows around its content: the language, who is signed in, the CSRF token of its forms
/// and which part of the navigation is open.
pub struct Chrome {
    pub lang: Lang,
    pub email: String,
    pub role: Role,
    pub csrf: String,
    pub section: &'static str,
}

impl Chrome {
    pub fn new(signed: &Signed, section: &'static str) -> Self {
        Chrome {
            lang: signed.lang,
            email: signed.email().to_owned(),
            role: signed.role(),
            csrf: signed.csrf().to_owned(),
            section,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn can_write(&self) -> bool {
        self.role >= Role::Member
    }

    pub fn role_name(&self) -> &'static str {
        self.lang.t(&format!("role_{}", self.role.as_str()))
    }
}

/// Why a console request failed, shown to the person as a page in both languages.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("signed out")]
    SignedOut,
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ConsoleError::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    status: u16,
    key: &'static str,
}

impl ErrorPage {
    fn t(&self, lang: &str, key: &str) -> &'static str {
        if lang == "en" { Lang::En.t(key) } else { Lang::Fr.t(key) }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, key) = match &self {
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ConsoleError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            ConsoleError::SignedOut => (StatusCode::UNAUTHORIZED, "signed_out"),
            ConsoleError::Internal(cause) => {
                tracing::error!(error = %cause, "console request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let page = ErrorPage { status: status.as_u16(), key };
        (status, render(&page)).into_response()
    }
}

/// A page rendered to HTML; a template that fails to render is an internal error.
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Erreur</title><p>Erreur interne.</p>"))
                .into_response()
        }
    }
}

pub type PageResult = Result<Response, ConsoleError>;

/// Headers of every console answer: a strict Content-Security-Policy (no inline script or style, nothing from
/// elsewhere), no framing by other sites, no MIME sniffing, no referrer, no caching of pages.
async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             frame-src 'self'; object-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `/console/lang/{fr|en}`: remembers the language in a cookie and goes back to the console.
async fn switch_lang(Path(lang): Path<String>) -> Response {
    let lang = if lang == "en" { "en" } else { "fr" };
    let cookie = format!("{}={lang}; Path=/console; SameSite=Lax; Max-Age=31536000", i18n::LANG_COOKIE);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/console/")).into_response()
}

/// The console's routes (with `/` sending people there), behind the session check and the security headers.
pub fn router(services: &Arc<Services>) -> Router<Arc<Services>> {
    Router::new()
        .route("/console/lang/{lang}", get(switch_lang))
        .merge(assets::router())
        .merge(login::router())
        .merge(dashboard::router())
        .merge(new_letter::router(services))
        .merge(letters::router())
        .merge(actions::router())
        .merge(approvals::router())
        .merge(consents::router())
        .merge(templates::router())
        .merge(admin::router())
        .merge(callbacks::router())
        .route("/console/{*rest}", get(|| async { ConsoleError::NotFound }).post(|| async { ConsoleError::NotFound }))
        .layer(axum::middleware::from_fn_with_state(services.clone(), session::require_session))
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .layer(axum::middleware::from_fn(security_headers))
}
