//! Sign-in (`/console/login`: email and password, throttled) and sign-out. The sign-in form carries its own
//! CSRF token, matched against a short-lived cookie (no session exists yet to hold one).

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::i18n::Lang;
use super::session::{self, Signed};
use super::{PageResult, render};
use crate::accounts::users::{self, SignInError};
use crate::services::Services;

const LOGIN_COOKIE: &str = "relais_login";

pub fn router() -> Router<Arc<Services>> {
    Router::new().route("/console/login", get(form).post(submit)).route("/console/logout", post(logout))
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    lang: Lang,
    email: String,
    next: String,
    token: String,
    error: Option<String>,
}

impl LoginPage {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") && !n.contains('\\') => n.to_owned(),
        _ => "/console/".to_owned(),
    }
}

fn login_page(lang: Lang, email: String, next: String, error: Option<String>, status: StatusCode) -> Response {
    let token = crate::accounts::users::generate_password();
    let cookie = format!("{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    let page = LoginPage { lang, email, next, token, error };
    (status, [(header::SET_COOKIE, cookie)], render(&page)).into_response()
}

async fn form(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    login_page(Lang::of(&headers), String::new(), safe_next(q.next.as_deref()), None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    token: String,
}

async fn submit(
    State(services): State<Arc<Services>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = safe_next(Some(&f.next));
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if f.token.is_empty() || f.token != expected {
        let message = lang.t("csrf").to_owned();
        return login_page(lang, f.email, next, Some(message), StatusCode::FORBIDDEN);
    }
    let lifetime = services.settings.console.session_lifetime.as_millis() as i64;
    let ip = client.ip().to_string();
    match users::sign_in(&services.store, &f.email, &f.password, &ip, lifetime).await {
        Ok(opened) => {
            tracing::info!(user = %opened.user.id, "console sign-in");
            let cookie = session::session_cookie(&services, Some(&opened.secret));
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(SignInError::Wrong) => {
            let message = match lang {
                Lang::Fr => "Adresse e-mail ou mot de passe incorrect.".to_owned(),
                Lang::En => "Wrong email or password.".to_owned(),
            };
            login_page(lang, f.email, next, Some(message), StatusCode::UNAUTHORIZED)
        }
        Err(SignInError::Throttled { minutes }) => {
            let message = match lang {
                Lang::Fr => format!("Trop d'essais infructueux : réessayez dans {minutes} minutes."),
                Lang::En => format!("Too many failed attempts: try again in {minutes} minutes."),
            };
            login_page(lang, f.email, next, Some(message), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(SignInError::Store(e)) => super::ConsoleError::from(e).into_response(),
    }
}

async fn logout(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    users::sign_out(&services.store, &signed.session).await?;
    let cookie = session::session_cookie(&services, None);
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console/login")).into_response())
}
