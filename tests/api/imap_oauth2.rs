//! A mailbox reached with XOAUTH2, as Gmail and Microsoft 365 require: relais obtains access tokens from a
//! token endpoint with its refresh token, keeps the rotated refresh token, and gets a new access token when
//! the server refuses the old one. Dovecot checks each bearer token against a token-introspection endpoint;
//! both endpoints are the fake authorisation server below, on loopback.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Json, Router};
use relais::config::{ImapMailboxSettings, ImapOAuth2Settings, Secret};
use serde_json::{Value, json};

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};
use crate::imap::{Dovecot, letters, mailbox, request, wait_until};

const CLIENT_ID: &str = "relais-client";
const CLIENT_SECRET: &str = "client-secret-5b1d";

/// An authorisation server that rotates refresh tokens on every use (as Microsoft's does) and retires the
/// old one, so a client that does not keep the newest is locked out.
#[derive(Default)]
struct Authority {
    refresh: Option<String>,
    active: HashSet<String>,
    issued: u32,
    refreshes: u32,
}

type Shared = Arc<Mutex<Authority>>;

async fn token(State(authority): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> (StatusCode, Json<Value>) {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut a = authority.lock().unwrap();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client"})));
    }
    if field("grant_type") != "refresh_token" || Some(field("refresh_token")) != a.refresh {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "refresh token unknown"})),
        );
    }
    a.issued += 1;
    a.refreshes += 1;
    let access = format!("access-{}", a.issued);
    let rotated = format!("refresh-{}", a.issued);
    a.active.insert(access.clone());
    a.refresh = Some(rotated.clone());
    let answer = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": rotated});
    (StatusCode::OK, Json(answer))
}

/// RFC 7662 as Dovecot's `oauth2` passdb calls it (`introspection_mode = post`).
async fn introspect(State(authority): State<Shared>, Form(form): Form<Vec<(String, String)>>) -> Json<Value> {
    let token = form.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str()).unwrap_or_default();
    let active = authority.lock().unwrap().active.contains(token);
    Json(json!({"active": active, "username": "test"}))
}

async fn authority(first_refresh: &str) -> (Shared, String) {
    let shared = Shared::default();
    shared.lock().unwrap().refresh = Some(first_refresh.to_owned());
    let app = Router::new()
        .route("/token", post(token))
        .route("/introspect", post(introspect))
        .with_state(shared.clone())
        .into_make_service();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (shared, base)
}

fn oauth2_mailbox(port: u16, base: &str, refresh_file: &std::path::Path) -> ImapMailboxSettings {
    let oauth2 = ImapOAuth2Settings {
        token_url: format!("{base}/token"),
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(CLIENT_SECRET.into()),
        client_secret_file: None,
        refresh_token: Secret::new(std::fs::read_to_string(refresh_file).unwrap().trim().to_owned()),
        refresh_token_file: Some(refresh_file.to_owned()),
        scope: None,
    };
    ImapMailboxSettings { password: Secret::default(), oauth2: Some(oauth2), ..mailbox(port) }
}

async fn spawn_oauth2(db: Db, mailbox: ImapMailboxSettings) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.trusted_authserv_ids = vec!["mx.relais.example.fr".into()];
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings.intake.imap = vec![mailbox];
    let app = spawn_with(&env, settings).await;
    (app, env)
}

/// The first mailbox channel's `last_error` once `/readyz` reports one.
async fn channel_error(app: &TestApp) -> String {
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    loop {
        let readyz: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
        if let Some(error) = readyz["email_channels"][0]["last_error"].as_str() {
            return error.to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no channel error: {readyz}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn an_xoauth2_mailbox_refreshes_its_token_and_keeps_the_rotated_refresh_token(db: Db) {
    let (authority, base) = authority("refresh-0").await;
    let dovecot = Dovecot::start_with_oauth2(format!("{base}/introspect"));
    let secrets = tempfile::tempdir().unwrap();
    let refresh_file = secrets.path().join("refresh-token");
    std::fs::write(&refresh_file, "refresh-0\n").unwrap();
    dovecot.append(&request("oauth-1@cabinet.example.fr")).await;
    let (app, _env) = spawn_oauth2(db, oauth2_mailbox(dovecot.port(), &base, &refresh_file)).await;
    wait_until("the first request filed", || async { dovecot.count("relais.done").await == 1 }).await;
    assert_eq!(letters(&app).await.len(), 1);
    assert_eq!(std::fs::read_to_string(&refresh_file).unwrap().trim(), "refresh-1", "the rotated token is kept");

    // The server revokes the access token before its announced expiry and drops the session: relais is
    // refused once, asks for a new token with the rotated refresh token, and goes on.
    authority.lock().unwrap().active.clear();
    dovecot.kick("test");
    dovecot.append(&request("oauth-2@cabinet.example.fr")).await;
    wait_until("the second request filed", || async { dovecot.count("relais.done").await == 2 }).await;
    assert_eq!(letters(&app).await.len(), 2);
    assert_eq!(authority.lock().unwrap().refreshes, 2, "one refresh per access token refused, no more");
    assert_eq!(std::fs::read_to_string(&refresh_file).unwrap().trim(), "refresh-2");
    app.stop().await;
}

async fn a_revoked_refresh_token_is_reported_without_any_secret(db: Db) {
    let (_authority, base) = authority("refresh-0").await;
    let dovecot = Dovecot::start_with_oauth2(format!("{base}/introspect"));
    let secrets = tempfile::tempdir().unwrap();
    let refresh_file = secrets.path().join("refresh-token");
    std::fs::write(&refresh_file, "refresh-revoked-77\n").unwrap();
    let (app, _env) = spawn_oauth2(db, oauth2_mailbox(dovecot.port(), &base, &refresh_file)).await;
    let error = channel_error(&app).await;
    assert!(error.contains("invalid_grant"), "the channel says why: {error}");
    for secret in ["refresh-revoked-77", CLIENT_SECRET] {
        assert!(!error.contains(secret), "no secret in {error}");
    }
    app.stop().await;
}

crate::on_both_databases!(
    an_xoauth2_mailbox_refreshes_its_token_and_keeps_the_rotated_refresh_token,
    a_revoked_refresh_token_is_reported_without_any_secret,
);
