//! Signed callbacks: a receiver on loopback verifies every delivery with the Standard Webhooks library; it
//! fails, asks to retry later, answers 410 or redirects; the address guard refuses loopback unless allowed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use relais::config::{HostAddress, Settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_app, spawn_with};

/// What the receiver answers next; the last one repeats.
#[derive(Clone)]
pub enum Answer {
    Status(u16),
    RetryAfter(u16, u64),
    Redirect,
}

#[derive(Default)]
struct Received {
    deliveries: Vec<(HeaderMap, Vec<u8>)>,
    script: Vec<Answer>,
}

/// A callback receiver on 127.0.0.1 answering by script.
pub struct Receiver {
    pub address: SocketAddr,
    state: Arc<Mutex<Received>>,
}

impl Receiver {
    pub async fn start(script: Vec<Answer>) -> Self {
        let state = Arc::new(Mutex::new(Received { deliveries: vec![], script }));
        let shared = state.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let shared = shared.clone();
                async move {
                    let mut s = shared.lock().unwrap();
                    s.deliveries.push((headers, body.to_vec()));
                    let answer = if s.script.len() > 1 { s.script.remove(0) } else { s.script[0].clone() };
                    match answer {
                        Answer::Status(code) => (StatusCode::from_u16(code).unwrap(), HeaderMap::new()),
                        Answer::RetryAfter(code, secs) => {
                            let mut h = HeaderMap::new();
                            h.insert("retry-after", secs.to_string().parse().unwrap());
                            (StatusCode::from_u16(code).unwrap(), h)
                        }
                        Answer::Redirect => {
                            let mut h = HeaderMap::new();
                            h.insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
                            (StatusCode::FOUND, h)
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.address.port())
    }

    pub fn set(&self, script: Vec<Answer>) {
        self.state.lock().unwrap().script = script;
    }

    pub fn deliveries(&self) -> Vec<(HeaderMap, Vec<u8>)> {
        self.state.lock().unwrap().deliveries.clone()
    }

    /// The bodies of the deliveries, each verified with the official Standard Webhooks library.
    pub fn verified(&self, secret: &str) -> Vec<Value> {
        let webhook = standardwebhooks::Webhook::new(secret).unwrap();
        self.deliveries()
            .iter()
            .map(|(headers, body)| {
                webhook.verify(body, headers).expect("every delivery verifies with the Standard Webhooks library");
                serde_json::from_slice(body).unwrap()
            })
            .collect()
    }

    /// The bodies of the deliveries, each verified with one of `secrets` by the Standard Webhooks library.
    pub fn verified_by_any(&self, secrets: &[&str]) -> Vec<Value> {
        let hooks: Vec<_> = secrets.iter().map(|s| standardwebhooks::Webhook::new(s).unwrap()).collect();
        self.deliveries()
            .iter()
            .map(|(headers, body)| {
                assert!(hooks.iter().any(|w| w.verify(body, headers).is_ok()), "a delivery verifies with a secret");
                serde_json::from_slice(body).unwrap()
            })
            .collect()
    }

    pub async fn wait_for(&self, what: &str, done: impl Fn(&[(HeaderMap, Vec<u8>)]) -> bool) {
        let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
        while !done(&self.deliveries()) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Callbacks over http to loopback (what the tests can reach), with a fast retry schedule.
pub fn loopback_settings(env: &TestEnv) -> Settings {
    let mut s = env.settings();
    s.callbacks.allow_http = true;
    s.callbacks.allow_networks = vec!["127.0.0.0/8".into()];
    s.callbacks.retry_schedule =
        ["100ms", "200ms", "300ms"].iter().map(|d| humantime::parse_duration(d).unwrap().into()).collect();
    s
}

async fn subscribe(app: &TestApp, url: &str) -> (String, String) {
    let response = app.post_json("/v1/callbacks", &json!({ "url": url })).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body:#}");
    (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

pub fn types(bodies: &[Value]) -> Vec<String> {
    bodies.iter().map(|b| b["type"].as_str().unwrap().to_owned()).collect()
}

async fn each_state_change_reaches_the_endpoint_signed_with_proof_links(db: Db) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, loopback_settings(&env)).await;
    let receiver = Receiver::start(vec![Answer::Status(204)]).await;
    let (_, secret) = subscribe(&app, &receiver.url()).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    receiver.wait_for("three events", |d| d.len() >= 3).await;

    let bodies = receiver.verified(&secret);
    assert_eq!(types(&bodies), ["letter.accepted", "letter.deposited", "letter.delivered"]);
    let delivered = &bodies[2]["data"];
    assert_eq!((delivered["id"].as_str(), delivered["state"].as_str()), (Some(id.as_str()), Some("delivered")));
    assert_eq!(delivered["reference"], "dossier-881");
    assert_eq!(delivered["template"]["name"], "relance-facture");
    let ids: Vec<String> =
        receiver.deliveries().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert!(ids.iter().all(|i| i.starts_with("msg_")) && ids[0] != ids[1] && ids[1] != ids[2]);

    // The proofs come as links that need no API key, and only with their signature.
    let proofs = delivered["proofs"].as_array().unwrap();
    assert_eq!(proofs.len(), 2, "{proofs:?}");
    for proof in proofs {
        let link = proof["url"].as_str().unwrap();
        let pdf = reqwest::get(link).await.unwrap();
        assert_eq!(pdf.status(), 200);
        assert_eq!(hex::encode(Sha256::digest(pdf.bytes().await.unwrap())), proof["sha256"].as_str().unwrap());
        let forged = link.replace("signature=", "signature=00");
        assert_eq!(reqwest::get(forged).await.unwrap().status(), 403);
    }
    assert!(!bodies.iter().any(|b| b.to_string().contains("JVBER")), "never the PDF inline");
    app.stop().await;
}

async fn failures_are_retried_with_the_same_id_and_410_disables_until_enabled_again(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = loopback_settings(&env);
    // The letter is deposited only once the accepted event has been retried: each answer goes to one event.
    if let Some(relais::config::ProviderSettings::Sandbox(sandbox)) = settings.providers.get_mut("sandbox") {
        sandbox.deposit_after = Duration::from_secs(4);
    }
    let app = spawn_with(&env, settings).await;
    let receiver =
        Receiver::start(vec![Answer::Status(500), Answer::RetryAfter(503, 1), Answer::Redirect, Answer::Status(200)])
            .await;
    let (endpoint, secret) = subscribe(&app, &receiver.url()).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    receiver.wait_for("the accepted event after three failures", |d| d.len() >= 4).await;
    let first: Vec<String> =
        receiver.deliveries()[..4].iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert!(first.iter().all(|i| *i == first[0]), "the webhook-id is stable across retries: {first:?}");
    receiver.verified(&secret);
    // relais records an attempt once it has read the answer: the receiver can see the fourth delivery first.
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    let (attempts, statuses) = loop {
        let attempts: Value = app.get(&format!("/v1/callbacks/{endpoint}/attempts")).await.json().await.unwrap();
        let statuses: Vec<Option<u64>> =
            attempts["attempts"].as_array().unwrap().iter().rev().take(4).map(|a| a["status"].as_u64()).collect();
        if statuses.len() == 4 || tokio::time::Instant::now() > deadline {
            break (attempts, statuses);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(statuses, [Some(500), Some(503), Some(302), Some(200)]);
    let redirect = &attempts["attempts"].as_array().unwrap().iter().find(|a| a["status"] == 302).unwrap()["error"];
    assert!(redirect.as_str().unwrap().contains("redirect"), "{redirect}");

    // 410 Gone disables the endpoint; the sender is told; what it missed is replayed once enabled again.
    receiver.set(vec![Answer::Status(410)]);
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    let disabled = |v: &Value| v["state"] == "disabled";
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    let mut shown: Value = Value::Null;
    while !disabled(&shown) {
        assert!(tokio::time::Instant::now() < deadline, "the endpoint was not disabled: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        shown = app.get(&format!("/v1/callbacks/{endpoint}")).await.json().await.unwrap();
    }
    assert!(shown["disabled_reason"].as_str().unwrap().contains("410"));
    let told = std::fs::read_dir(&app.outbox)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains(&format!("{endpoint}-callback_disabled")));
    assert!(told, "the sender is emailed when its endpoint is disabled");
    let before = receiver.deliveries().len();
    receiver.set(vec![Answer::Status(200)]);
    let enabled: Value =
        app.post_json(&format!("/v1/callbacks/{endpoint}/enable"), &json!({})).await.json().await.unwrap();
    assert_eq!(enabled["state"], "enabled");
    assert!(enabled["replayed"].as_u64().unwrap() >= 1, "{enabled}");
    receiver.wait_for("the replayed events", |d| d.len() >= before + 2).await;
    let replayed = types(&receiver.verified(&secret)[before..]);
    assert!(replayed.contains(&"letter.delivered".to_owned()), "{replayed:?}");
    app.stop().await;
}

async fn deliveries_pending_at_a_restart_are_delivered_after_it(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = loopback_settings(&env);
    settings.callbacks.retry_schedule = vec![humantime::parse_duration("1s").unwrap().into(); 9];
    let app = spawn_with(&env, settings.clone()).await;
    let receiver = Receiver::start(vec![Answer::Status(503)]).await;
    let (_, secret) = subscribe(&app, &receiver.url()).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    receiver.wait_for("a first failed attempt", |d| !d.is_empty()).await;
    app.stop().await;

    receiver.set(vec![Answer::Status(200)]);
    let app = spawn_with(&env, settings).await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    receiver
        .wait_for("every event after the restart", |d| {
            let ok = d.iter().filter(|(_, b)| String::from_utf8_lossy(b).contains("letter.delivered")).count();
            ok >= 1
        })
        .await;
    let bodies = receiver.verified(&secret);
    let mut kinds = types(&bodies);
    kinds.dedup();
    assert_eq!(kinds.first().map(String::as_str), Some("letter.accepted"));
    assert!(kinds.contains(&"letter.delivered".to_owned()));
    app.stop().await;
}

async fn the_address_guard_refuses_loopback_unless_it_is_allowed(db: Db) {
    let (app, _env) = spawn_app(db).await;
    let receiver = Receiver::start(vec![Answer::Status(200)]).await;
    let port = receiver.address.port();
    for url in [
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://[::1]:{port}/hook"),
        "http://example.com/hook".into(),
    ] {
        let response = app.post_json("/v1/callbacks", &json!({ "url": url })).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
    }
    app.stop().await;

    // Names are checked on the address actually connected to: localhost, and a name mapped to 127.0.0.1.
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.callbacks.allow_http = true;
    settings.callbacks.hosts =
        vec![HostAddress { name: "hooks.example.test".into(), address: "127.0.0.1".parse().unwrap() }];
    settings.callbacks.retry_schedule = vec![humantime::parse_duration("50ms").unwrap().into()];
    let app = spawn_with(&env, settings.clone()).await;
    let (localhost, _) = subscribe(&app, &format!("http://localhost:{port}/hook")).await;
    let (mapped, _) = subscribe(&app, &format!("http://hooks.example.test:{port}/hook")).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    for endpoint in [&localhost, &mapped] {
        let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
        loop {
            let attempts: Value = app.get(&format!("/v1/callbacks/{endpoint}/attempts")).await.json().await.unwrap();
            if let Some(error) = attempts["attempts"].as_array().unwrap().iter().find_map(|a| a["error"].as_str()) {
                assert!(error.contains("loopback"), "{error}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no refused attempt for {endpoint}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(receiver.deliveries().is_empty(), "nothing reached the loopback receiver");
    app.stop().await;

    settings.callbacks.allow_networks = vec!["127.0.0.0/8".into()];
    let app = spawn_with(&env, settings).await;
    let (_, secret) = subscribe(&app, &format!("http://hooks.example.test:{port}/hook")).await;
    let id = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;
    receiver.wait_for("a delivery once loopback is allowed", |d| !d.is_empty()).await;
    assert!(!receiver.verified(&secret).is_empty());
    app.stop().await;
}

crate::on_both_databases!(
    each_state_change_reaches_the_endpoint_signed_with_proof_links,
    failures_are_retried_with_the_same_id_and_410_disables_until_enabled_again,
    deliveries_pending_at_a_restart_are_delivered_after_it,
    the_address_guard_refuses_loopback_unless_it_is_allowed,
);
