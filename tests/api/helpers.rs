//! `spawn_app`: a relais on port 0 with its own database (a SQLite file, or a fresh PostgreSQL database),
//! its own folders and fast sandbox delays; one method per endpoint.

use std::path::{Path, PathBuf};
use std::time::Duration;

use relais::accounts;
use relais::config::{ProviderSettings, Settings};
use relais::domain::SenderId;
use relais::startup::Application;
use relais::store::Store;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Runs the async test body once per backend: `on_both_databases!(name, …)` makes `sqlite::name` and
/// `postgres::name` tests calling `name(Db)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Db::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::helpers::Db::Postgres).await } )*
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests create their databases on (trust auth on loopback).
fn postgres_admin_url() -> String {
    std::env::var("RELAIS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Where one test keeps its database and files; reused by a second app to simulate a restart.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub database_url: String,
}

impl TestEnv {
    pub async fn new(db: Db) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("relais.db").display()),
            Db::Postgres => create_postgres_database().await,
        };
        Self { dir, database_url }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Settings for a test app: port 0, fast sandbox, fast workers, files in the temp dir.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::load(None).expect("default settings");
        s.server.listen = "127.0.0.1:0".parse().unwrap();
        s.server.public_url = "http://127.0.0.1:0".parse().unwrap();
        s.server.shutdown_grace = Duration::from_secs(5);
        s.database.url = self.database_url.clone();
        s.database.max_connections = 4;
        s.storage.proofs_dir = self.path("proofs");
        s.storage.attachments_dir = self.path("attachments");
        s.mail.outbox_dir = self.path("outbox");
        s.audit.anchor_file = self.path("anchors/anchors.jsonl");
        s.audit.anchor_every = Duration::ZERO;
        s.worker.poll_interval = Duration::from_millis(50);
        s.worker.lease = Duration::from_secs(5);
        s.worker.reconcile_after = Duration::from_millis(200);
        if let Some(ProviderSettings::Sandbox(sandbox)) = s.providers.get_mut("sandbox") {
            sandbox.deposit_after = Duration::from_millis(300);
            sandbox.outcome_after = Duration::from_millis(600);
            sandbox.resend_after = Duration::from_millis(300);
        }
        s
    }
}

async fn create_postgres_database() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = format!("relais_test_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must run at {admin} for the postgres tests: {e}"));
    sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create database");
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub struct TestApp {
    pub address: String,
    pub api_key: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub outbox: PathBuf,
    pub proofs_dir: PathBuf,
    pub attachments_dir: PathBuf,
    pub services: std::sync::Arc<relais::services::Services>,
    /// The SMTP/LMTP receiver's port, when `[intake.smtp]` is on (`127.0.0.1:0` in tests picks one).
    pub smtp_port: Option<u16>,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub async fn spawn_app(db: Db) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let app = spawn_with(&env, env.settings()).await;
    (app, env)
}

/// Starts an app on `env` with `settings` (a second app on the same env is a restart).
pub async fn spawn_with(env: &TestEnv, settings: Settings) -> TestApp {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    relais::telemetry::init(false);
    let outbox = settings.mail.outbox_dir.clone();
    let proofs_dir = settings.storage.proofs_dir.clone();
    let attachments_dir = settings.storage.attachments_dir.clone();
    let app = Application::build(settings).await.expect("app builds");
    let services = app.services();
    let store = services.store.clone();
    let sender: SenderId = "default".parse().unwrap();
    let key = accounts::create_api_key(&store, &sender, Some("tests"), Default::default()).await.expect("api key");
    let address = format!("http://127.0.0.1:{}", app.port());
    let smtp_port = app.smtp_addr().map(|addr| addr.port());
    let shutdown = app.shutdown_token();
    let handle = tokio::spawn(async move { app.run_until_stopped().await.expect("app runs") });
    let _ = &env.dir;
    TestApp {
        address,
        api_key: key.secret,
        client: reqwest::Client::new(),
        store,
        outbox,
        proofs_dir,
        attachments_dir,
        services,
        smtp_port,
        shutdown,
        handle: Some(handle),
    }
}

/// The request of the README: a reminder to a professional.
pub fn letter_body(email: &str) -> Value {
    json!({
        "template": "relance-facture",
        "variables": {"invoice_number": "F-2026-0042", "amount_due": "1250.00", "due_date": "2026-10-31"},
        "recipient": {"kind": "professional", "first_name": "Jeanne", "last_name": "Martin",
                      "company": "Boulangerie Martin SARL", "email": email,
                      "address": {"lines": ["12 rue des Lilas"], "postal_code": "69003", "city": "Lyon", "country": "FR"}},
        "reference": "dossier-881",
        "notify_email": "compta@mon-cabinet.fr"
    })
}

/// A small, real PDF to attach.
pub fn sample_pdf() -> Vec<u8> {
    use chrono::TimeZone;
    relais::render::pdf::write_pdf(&relais::render::pdf::TextDocument {
        title: "Facture F-2026-0042".into(),
        author: "Exemple SAS".into(),
        created: chrono::Utc.with_ymd_and_hms(2026, 10, 26, 0, 0, 0).unwrap(),
        watermark: None,
        blocks: vec![relais::render::pdf::Block::paragraph("Facture n° F-2026-0042 : 1 250,00 €")],
    })
    .expect("a sample PDF")
}

impl TestApp {
    /// A new key of the default sender with `scopes` (the app's own `api_key` has `letters`).
    pub async fn key_with(&self, scopes: &[relais::accounts::Scope]) -> String {
        let sender: SenderId = "default".parse().unwrap();
        let scopes = relais::accounts::Scopes::new(scopes.iter().copied());
        accounts::create_api_key(&self.store, &sender, Some("tests"), scopes).await.expect("api key").secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_letter(&self, body: &Value) -> reqwest::Response {
        self.post_letter_with_key(body, None).await
    }

    pub async fn post_letter_with_key(&self, body: &Value, idempotency_key: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url("/v1/letters")).bearer_auth(&self.api_key).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Submits `body` and returns the new letter's id.
    pub async fn submit_letter_value(&self, body: &Value) -> String {
        let response = self.post_letter(body).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().expect("id").to_owned()
    }

    /// Submits the README letter and returns its id.
    pub async fn submit(&self, email: &str) -> String {
        let response = self.post_letter(&letter_body(email)).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn get_letter(&self, id: &str) -> Value {
        let response =
            self.client.get(self.url(&format!("/v1/letters/{id}"))).bearer_auth(&self.api_key).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET letter {id}");
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(&self.api_key).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(&self.api_key).json(body).send().await.unwrap()
    }

    /// Polls the letter until it is in `state` (panics with its timeline after `timeout`).
    pub async fn wait_for_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let letter = self.get_letter(id).await;
            if letter["state"] == state {
                return letter;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("letter {id} never reached {state}: {letter:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the letter until `done` holds for it (panics with the letter after `timeout`).
    pub async fn wait_for(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
        loop {
            let letter = self.get_letter(id).await;
            if done(&letter) {
                return letter;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("letter {id}: never {what}: {letter:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Queues a provider sync of the letter, as the periodic sweep does.
    pub async fn queue_sync(&self, id: &str) {
        let letter: relais::domain::LetterId = id.parse().unwrap();
        let now = relais::store::now_ms();
        let mut tx = self.store.begin().await.unwrap();
        let job = relais::store::NewJob {
            kind: relais::letters::jobs::SYNC,
            letter_id: Some(&letter),
            payload: json!({}),
            run_at: now,
        };
        relais::store::jobs::enqueue(&mut tx, job, now).await.unwrap();
        tx.commit().await.unwrap();
        self.store.wake_workers();
    }

    /// Waits until no job is pending for the letter (its notices are sent).
    pub async fn wait_for_jobs(&self, id: &str, timeout: Duration) {
        let letter = id.parse().unwrap();
        let deadline = tokio::time::Instant::now() + timeout;
        while self.store.pending_jobs(Some(&letter)).await.unwrap() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "jobs of {id} still pending");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the answers owed to email requests are sent (they leave once their letter is rendered).
    pub async fn wait_for_answers(&self) {
        let kind = relais::intake::email::accepted::ANSWER;
        let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
        while self.store.pending_jobs_of_kind(kind).await.unwrap() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "answers to email requests still pending");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until every notice about the letter was sent or gave up.
    pub async fn wait_for_notices(&self, id: &str, timeout: Duration) -> Vec<relais::store::NoticeRecord> {
        let sender: SenderId = "default".parse().unwrap();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notices: Vec<_> = self
                .store
                .notices_of(&sender, None, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|n| n.letter_id.as_str() == id)
                .collect();
            if !notices.is_empty() && notices.iter().all(|n| n.state != relais::store::NoticeState::Pending) {
                return notices;
            }
            assert!(tokio::time::Instant::now() < deadline, "notices of {id} still pending: {notices:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `relais letter retry ID`, as the command line does it.
    pub async fn retry_letter(&self, id: &str) -> String {
        relais::letters::jobs::retry_letter(&self.services, &id.parse().unwrap()).await.expect("retry");
        id.to_owned()
    }

    /// The emails in the outbox about a letter, parsed: (notice kind from the file name, raw bytes).
    pub fn emails_about(&self, id: &str) -> Vec<(String, Vec<u8>)> {
        let Ok(entries) = std::fs::read_dir(&self.outbox) else { return vec![] };
        let mut found: Vec<(String, Vec<u8>)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                let kind = name.split_once(&format!("{id}-"))?.1.rsplit_once('-')?.0.to_owned();
                Some((name, kind, std::fs::read(&p).ok()?))
            })
            .map(|(name, kind, bytes)| (format!("{name}\u{0}{kind}"), bytes))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.into_iter().map(|(k, b)| (k.split('\u{0}').nth(1).unwrap_or_default().to_owned(), b)).collect()
    }

    /// Stops the app as SIGTERM would, and waits for it to exit.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.expect("app stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_in(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

pub const OUTCOME_TIMEOUT: Duration = Duration::from_secs(20);
