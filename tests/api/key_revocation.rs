//! API keys are kept in memory once read, and a revocation still holds: through the API or the console, no
//! request that starts after the revocation's answer gets in; through the command line (another process),
//! within a second.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relais::accounts::Scope;
use relais::accounts::users::Role;
use reqwest::StatusCode;
use tokio::sync::Mutex;

use crate::console::people::{make_user, sign_in};
use crate::helpers::{Db, TestApp, TestEnv, spawn_app};

/// The id of the test's own key (the one `app.get` uses).
async fn own_key_id(app: &TestApp) -> String {
    let keys = app.store.api_keys(None).await.unwrap();
    keys.into_iter().find(|k| app.api_key.starts_with(&k.prefix)).unwrap().id.to_string()
}

async fn a_key_revoked_through_the_api_is_refused_by_every_request_started_after(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let app = Arc::new(app);
    let admin = app.key_with(&[Scope::Admin]).await;
    let id = own_key_id(&app).await;
    assert_eq!(app.get("/v1/letters").await.status(), 200, "the key is read once, and kept");

    // Requests keep coming on four connections while the key is revoked.
    let seen: Arc<Mutex<Vec<(Instant, StatusCode)>>> = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (app, seen, stop) = (app.clone(), seen.clone(), stop.clone());
        callers.spawn(async move {
            while !stop.is_cancelled() {
                let started = Instant::now();
                let status = app.get("/v1/letters").await.status();
                seen.lock().await.push((started, status));
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let delete = app.client.delete(app.url(&format!("/v1/api-keys/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(delete.status(), 200);
    let answered = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    callers.join_all().await;

    let seen = seen.lock().await;
    let before = seen.iter().filter(|(at, _)| *at < answered).count();
    let after: Vec<StatusCode> = seen.iter().filter(|(at, _)| *at >= answered).map(|(_, status)| *status).collect();
    assert!(before > 0 && !after.is_empty(), "{before} requests before the revocation, {} after", after.len());
    assert!(after.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "after the revocation: {after:?}");
    assert_eq!(app.get("/v1/letters").await.status(), 401);
    drop(seen);
    Arc::into_inner(app).expect("the callers are done").stop().await;
}

async fn a_key_revoked_from_the_console_is_refused_at_once(db: Db) {
    let (app, _env) = spawn_app(db).await;
    make_user(&app, "claire@cabinet.fr", Role::Admin).await;
    let id = own_key_id(&app).await;
    assert_eq!(app.get("/v1/letters").await.status(), 200);
    let admin = sign_in(&app, "claire@cabinet.fr").await;
    let csrf = admin.csrf().await;
    let revoked = admin.post(&format!("/console/keys/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/v1/letters").await.status(), 401, "refused from the next request on");
    app.stop().await;
}

async fn a_key_revoked_by_the_command_line_is_refused_within_a_second(db: Db) {
    let env = TestEnv::new(db).await;
    let app = crate::helpers::spawn_with(&env, env.settings()).await;
    let id = own_key_id(&app).await;
    assert_eq!(app.get("/v1/letters").await.status(), 200);
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["api-key", "revoke", &id])
        .env("RELAIS__DATABASE__URL", &env.database_url)
        .env("RELAIS__STORAGE__PROOFS_DIR", env.path("proofs"))
        .output()
        .expect("relais runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let revoked = Instant::now();
    while app.get("/v1/letters").await.status() != 401 {
        assert!(revoked.elapsed() < Duration::from_secs(3), "the running instance still takes the revoked key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The cached key is trusted for one second after it was last read; the command took part of it.
    assert!(revoked.elapsed() <= Duration::from_millis(1_500), "refused after {:?}", revoked.elapsed());
    app.stop().await;
}

crate::on_both_databases!(
    a_key_revoked_through_the_api_is_refused_by_every_request_started_after,
    a_key_revoked_from_the_console_is_refused_at_once,
    a_key_revoked_by_the_command_line_is_refused_within_a_second,
);
