//! API keys: scopes, revocation, last use, the first start, and the `relais api-key` commands.

use std::process::Command;
use std::time::Duration;

use relais::accounts::{self, Scope};
use relais::startup::Application;
use serde_json::Value;

use crate::helpers::{Db, TestEnv, letter_body, spawn_app};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    response.json().await.unwrap()
}

async fn a_revoked_key_is_refused_on_its_next_request(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let admin = app.key_with(&[Scope::Admin]).await;
    assert_eq!(app.get("/v1/letters").await.status(), 200);
    let keys: Value =
        app.client.get(app.url("/v1/api-keys")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let listed = keys["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{keys:#}");
    let ours = listed.iter().find(|k| app.api_key.starts_with(k["prefix"].as_str().unwrap())).expect("the test key");
    assert_eq!(ours["scopes"], serde_json::json!(["letters"]));
    assert!(ours["revoked_at"].is_null());
    assert!(!keys.to_string().contains(&app.api_key), "a listing never shows a secret");

    let id = ours["id"].as_str().unwrap();
    let response = app.client.delete(app.url(&format!("/v1/api-keys/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let revoked: Value = response.json().await.unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    let p = problem(app.get("/v1/letters").await, 401).await;
    assert_eq!(p["code"], "unauthorized");
    let p = problem(app.post_letter(&letter_body("a@example.fr")).await, 401).await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    app.stop().await;
}

async fn a_key_is_refused_what_its_scopes_do_not_allow(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let p = problem(app.get("/v1/api-keys").await, 403).await;
    assert_eq!(p["code"], "missing_scope");
    assert_eq!(p["errors"][0]["field"], "scope");
    assert!(p["detail"].as_str().unwrap().contains("`admin`"), "{p}");

    let templates = app.key_with(&[Scope::Templates]).await;
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&templates).json(&letter_body("a@example.fr")).send().await;
    let p = problem(response.unwrap(), 403).await;
    assert!(p["detail"].as_str().unwrap().contains("`letters`"), "{p}");
    assert_eq!(app.store.pending_jobs(None).await.unwrap(), 0, "nothing was queued");

    let admin = app.key_with(&[Scope::Admin]).await;
    let response =
        app.client.post(app.url("/v1/letters")).bearer_auth(&admin).json(&letter_body("a@example.fr")).send().await;
    assert_eq!(response.unwrap().status(), 202, "admin implies letters");
    app.stop().await;
}

async fn a_key_of_another_sender_cannot_be_revoked_through_the_api(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let other = "cabinet".parse().unwrap();
    let foreign = accounts::create_api_key(&app.store, &other, None, Default::default()).await.unwrap();
    let admin = app.key_with(&[Scope::Admin]).await;
    let url = app.url(&format!("/v1/api-keys/{}", foreign.id));
    let p = problem(app.client.delete(url).bearer_auth(&admin).send().await.unwrap(), 404).await;
    assert_eq!(p["code"], "not_found");
    assert!(app.store.api_key(&foreign.id).await.unwrap().unwrap().revoked_at.is_none());
    let keys: Value =
        app.client.get(app.url("/v1/api-keys")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert!(!keys.to_string().contains(foreign.id.as_str()), "another sender's keys are not listed");
    app.stop().await;
}

async fn keys_made_before_scopes_existed_keep_the_letters_scope(db: Db) {
    let (app, env) = spawn_app(db).await;
    let pool = sqlx::AnyPool::connect(&env.database_url).await.unwrap();
    let secret = format!("{}legacy-key-0123456789", accounts::KEY_PREFIX);
    let hash = relais::letters::files::sha256_hex(secret.as_bytes());
    sqlx::query("INSERT INTO api_keys (id, sender_id, hash, prefix, label, created_at) VALUES ($1, 'default', $2, 'rls_le', NULL, 0)")
        .bind(relais::domain::ApiKeyId::generate().as_str())
        .bind(hash)
        .execute(&pool)
        .await
        .unwrap();
    let response = app.client.get(app.url("/v1/letters")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = app.client.get(app.url("/v1/api-keys")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(response.status(), 403);
    app.stop().await;
}

async fn the_last_use_of_a_key_is_recorded_at_most_once_a_minute(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let key =
        |keys: Vec<relais::store::ApiKeyRecord>| keys.into_iter().find(|k| app.api_key.starts_with(&k.prefix)).unwrap();
    assert!(key(app.store.api_keys(None).await.unwrap()).last_used_at.is_none());
    app.get("/v1/letters").await;
    let mut first = None;
    for _ in 0..100 {
        first = key(app.store.api_keys(None).await.unwrap()).last_used_at;
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = first.expect("the use was recorded");
    for _ in 0..5 {
        app.get("/v1/letters").await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(key(app.store.api_keys(None).await.unwrap()).last_used_at, Some(first), "not rewritten within a minute");
    app.stop().await;
}

async fn the_first_start_makes_an_admin_key_for_the_first_sender_and_says_whose(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    let mut firm = settings.senders[0].clone();
    firm.id = "cabinet-dupont".parse().unwrap();
    settings.senders.insert(0, firm);
    let app = Application::build(settings.clone()).await.expect("app builds");
    let key = app.create_first_key().await.unwrap().expect("a first key on every database");
    assert_eq!(key.sender.as_str(), "cabinet-dupont");
    assert!(key.scopes.allows(Scope::Admin));
    let message = accounts::first_key_message(&key, "http://127.0.0.1:8080/");
    assert!(message.contains("sender `cabinet-dupont`") && message.contains(&key.secret), "{message}");
    assert!(app.create_first_key().await.unwrap().is_none(), "only the very first start makes one");
    let stored = app.services().store.api_keys(None).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].sender_id.as_str(), "cabinet-dupont");
}

async fn the_api_key_commands_create_list_and_revoke(db: Db) {
    let env = TestEnv::new(db).await;
    let relais = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_relais"))
            .args(args)
            .env("RELAIS__DATABASE__URL", &env.database_url)
            .env("RELAIS__STORAGE__PROOFS_DIR", env.path("proofs"))
            .output()
            .expect("relais runs");
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        assert!(out.status.success(), "relais {args:?}: {stderr}");
        (stdout, stderr)
    };
    let (secret, said) = relais(&["api-key", "create", "--scope", "templates", "--scope", "letters", "--label", "ci"]);
    assert!(secret.trim().starts_with(accounts::KEY_PREFIX), "{secret}");
    assert!(said.contains("letters,templates"), "{said}");
    let (listed, _) = relais(&["api-key", "list"]);
    let key: Value = serde_json::from_str(listed.lines().next().expect("one key")).unwrap();
    assert_eq!(key["scopes"], serde_json::json!(["letters", "templates"]));
    assert_eq!(key["label"], "ci");
    assert!(!listed.contains(secret.trim()));
    let id = key["id"].as_str().unwrap();
    relais(&["api-key", "revoke", id]);
    let (listed, _) = relais(&["api-key", "list", "--sender", "default"]);
    let key: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert!(key["revoked_at"].is_string(), "{key}");
}

crate::on_both_databases!(
    a_revoked_key_is_refused_on_its_next_request,
    a_key_is_refused_what_its_scopes_do_not_allow,
    a_key_of_another_sender_cannot_be_revoked_through_the_api,
    keys_made_before_scopes_existed_keep_the_letters_scope,
    the_last_use_of_a_key_is_recorded_at_most_once_a_minute,
    the_first_start_makes_an_admin_key_for_the_first_sender_and_says_whose,
    the_api_key_commands_create_list_and_revoke,
);
