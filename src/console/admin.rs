//! Administration: API keys (create — the secret shown once —, list with last use, revoke: refused at
//! once), console users (create, disable) for admins, and the senders as the configuration has them.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::session::Signed;
use super::{Chrome, ConsoleError, PageResult, render};
use crate::accounts::users::{self, Role, UserError};
use crate::accounts::{self, Scope, Scopes};
use crate::domain::{ApiKeyId, SenderId, UserId};
use crate::services::Services;

pub fn router() -> Router<Arc<Services>> {
    Router::new()
        .route("/console/keys", get(keys).post(create_key))
        .route("/console/keys/{id}/revoke", post(revoke_key))
        .route("/console/users", get(people).post(create_person))
        .route("/console/users/{id}/disable", post(disable_person))
        .route("/console/senders", get(senders))
}

pub struct Key {
    pub id: String,
    pub sender: String,
    pub prefix: String,
    pub label: String,
    pub scopes: String,
    pub created: String,
    pub last_used: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    c: Chrome,
    keys: Vec<Key>,
    senders: Vec<String>,
    created: Option<String>,
}

async fn keys_page(services: &Services, signed: &Signed, created: Option<String>) -> PageResult {
    signed.require(Role::Admin)?;
    let lang = signed.lang;
    let keys = services
        .store
        .api_keys(None)
        .await?
        .into_iter()
        .map(|k| Key {
            id: k.id.to_string(),
            sender: k.sender_id.to_string(),
            prefix: k.prefix,
            label: k.label.unwrap_or_default(),
            scopes: k.scopes.to_storage(),
            created: lang.datetime(k.created_at),
            last_used: k.last_used_at.map(|t| lang.datetime(t)).unwrap_or_default(),
            revoked: k.revoked_at.map(|t| lang.datetime(t)).unwrap_or_default(),
        })
        .collect();
    let senders = signed.senders.iter().map(|s| s.to_string()).collect();
    Ok(render(&KeysPage { c: Chrome::new(signed, "keys"), keys, senders, created }))
}

async fn keys(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    keys_page(&services, &signed, None).await
}

#[derive(Debug, Deserialize)]
struct KeyForm {
    sender: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    scope: String,
}

async fn create_key(State(services): State<Arc<Services>>, signed: Signed, Form(f): Form<KeyForm>) -> PageResult {
    signed.require(Role::Admin)?;
    let sender: SenderId = f.sender.parse().map_err(|_| ConsoleError::NotFound)?;
    if !signed.may_see(&sender) {
        return Err(ConsoleError::NotFound);
    }
    let scope: Scope = f.scope.parse().unwrap_or(Scope::Letters);
    let label = Some(f.label.trim()).filter(|l| !l.is_empty());
    let key = accounts::create_api_key(&services.store, &sender, label, Scopes::new([scope])).await?;
    tracing::info!(key = %key.id, by = %signed.email(), "API key created from the console");
    // The secret is in this one answer only (the page is not cached: Cache-Control: no-store).
    keys_page(&services, &signed, Some(key.secret)).await
}

async fn revoke_key(State(services): State<Arc<Services>>, signed: Signed, Path(id): Path<String>) -> PageResult {
    signed.require(Role::Admin)?;
    let id: ApiKeyId = id.parse().map_err(|_| ConsoleError::NotFound)?;
    accounts::revoke_api_key(&services.store, &id).await?.ok_or(ConsoleError::NotFound)?;
    Ok(Redirect::to("/console/keys").into_response())
}

pub struct Person {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub senders: String,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<Person>,
    senders: Vec<String>,
    error: Option<String>,
    typed_email: String,
}

async fn people_page(services: &Services, signed: &Signed, error: Option<String>, typed_email: String) -> PageResult {
    signed.require(Role::Admin)?;
    let users = services
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| Person {
            id: u.id.to_string(),
            email: u.email,
            role: signed.lang.t(&format!("role_{}", u.role.as_str())),
            senders: u.senders.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    let senders = services.settings.senders.iter().map(|s| s.id.to_string()).collect();
    let page = UsersPage { c: Chrome::new(signed, "users"), users, senders, error: error.clone(), typed_email };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(&page)).into_response())
}

async fn people(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    people_page(&services, &signed, None, String::new()).await
}

#[derive(Debug, Deserialize)]
struct PersonForm {
    email: String,
    password: String,
    role: String,
    #[serde(default)]
    sender: String,
}

async fn create_person(State(services): State<Arc<Services>>, signed: Signed, Form(f): Form<PersonForm>) -> PageResult {
    signed.require(Role::Admin)?;
    let role: Role = f.role.parse().unwrap_or(Role::Viewer);
    let senders: Vec<SenderId> = f.sender.parse().ok().into_iter().collect();
    match users::create_user(&services.store, &f.email, &f.password, role, senders).await {
        Ok(_) => Ok(Redirect::to("/console/users").into_response()),
        Err(UserError::Store(e)) => Err(e.into()),
        Err(e) => people_page(&services, &signed, Some(e.to_string()), f.email).await,
    }
}

async fn disable_person(State(services): State<Arc<Services>>, signed: Signed, Path(id): Path<String>) -> PageResult {
    signed.require(Role::Admin)?;
    let id: UserId = id.parse().map_err(|_| ConsoleError::NotFound)?;
    if id == signed.session.user.id {
        return Err(ConsoleError::Forbidden);
    }
    let user = services.store.user(&id).await?.ok_or(ConsoleError::NotFound)?;
    users::disable_user(&services.store, &user.email).await.map_err(|e| ConsoleError::Internal(e.to_string()))?;
    Ok(Redirect::to("/console/users").into_response())
}

pub struct Sender {
    pub id: String,
    pub company: String,
    pub email: String,
    pub provider: String,
    pub service: &'static str,
    pub linked: bool,
}

#[derive(Template)]
#[template(path = "console/senders.html")]
struct SendersPage {
    c: Chrome,
    senders: Vec<Sender>,
}

async fn senders(State(services): State<Arc<Services>>, signed: Signed) -> PageResult {
    let senders = services
        .settings
        .senders
        .iter()
        .filter(|s| signed.may_see(&s.id))
        .map(|s| Sender {
            id: s.id.to_string(),
            company: s.company.clone(),
            email: s.email.as_str().to_owned(),
            provider: s.provider.clone(),
            service: s.service.as_str(),
            linked: s.provider_user_id.is_some() || s.provider == "sandbox",
        })
        .collect();
    Ok(render(&SendersPage { c: Chrome::new(&signed, "senders"), senders }))
}
