//! No configured secret ever leaves relais: after an AR24 outage, a timeout and an error slug, every log
//! line (at trace), API answer, database row, file under the data folder, email and the `check-config`
//! output is searched for each secret.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relais::config::{Ar24Settings, Preset, ProviderSettings, Secret, SenderCallback, Settings};
use serde_json::Value;
use sqlx::{Connection, Row};

use crate::ar24::{mail_for, states};
use crate::callbacks::{Answer, Receiver};
use crate::fake_ar24::{FakeAr24, Stage};
use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, files_in, letter_body, spawn_with};

const SMTP_PASSWORD: &str = "smtp-password-0b7e41d2";
const INGRESS_KEY: &str = "ingress-key-c4a9e803";
const SANDBOX_WEBHOOK_SECRET: &str = "sandbox-webhook-secret-6f28d1b5";
const DATABASE_PASSWORD: &str = "database-password-a81c37e9";
const DOWN_TOKEN: &str = "down-ar24-token-2e6f9b04";
const DOWN_PRIVATE_KEY: &str = "down-ar24-private-key-7c3d5a16";
const HOOK_SECRET: &str = "whsec_hook-secret-5d1e8c27";
/// Callback secrets (`whsec_` and base64 of 32 bytes): a configured endpoint's, the sender's for letters that
/// name a `callback_url`, and one a request gives for its letter.
const ENDPOINT_SECRET: &str = "whsec_ZW5kcG9pbnQtc2VjcmV0LTNmOWEyYzcxLWFiY2RlZg==";
const SENDER_CALLBACK_SECRET: &str = "whsec_c2VuZGVyLWNhbGxiYWNrLXNlY3JldC0wYTRiOGQyNg==";
const REQUEST_CALLBACK_SECRET: &str = "whsec_cmVxdWVzdC1jYWxsYmFjay1zZWNyZXQtOTFjNWU3YjM=";

/// Everything written by `tracing` (and the `log` records of reqwest) in this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn install() -> Self {
        use tracing_subscriber::util::SubscriberInitExt;
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("this test owns the process's logs (run it with nextest, one process per test)");
        captured
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The database URL with a password: PostgreSQL on loopback trusts any password, so it is a real one.
fn with_password(url: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    if url.scheme().starts_with("postgres") {
        url.set_password(Some(DATABASE_PASSWORD)).unwrap();
    }
    url.to_string()
}

fn settings_with_secrets(env: &TestEnv, base_url: &str, token: &str, private_key: &str) -> Settings {
    let mut settings = env.settings();
    settings.database.url = with_password(&env.database_url);
    settings.mail.smtp_password = Secret::new(SMTP_PASSWORD.to_owned());
    settings.intake.mime.ingress_key = Secret::new(INGRESS_KEY.to_owned());
    if let Some(ProviderSettings::Sandbox(sandbox)) = settings.providers.get_mut("sandbox") {
        sandbox.webhook_secret = Secret::new(SANDBOX_WEBHOOK_SECRET.to_owned());
    }
    settings.worker.max_attempts = 2;
    settings.worker.retry_delays = vec![Duration::from_millis(200)];
    settings.worker.resume_every = Duration::from_millis(300);
    let ar24 = Ar24Settings {
        base_url: base_url.parse().unwrap(),
        token: Secret::new(token.to_owned()),
        token_file: None,
        private_key: Secret::new(private_key.to_owned()),
        private_key_file: None,
        webhook_allowed_ips: vec![],
        sync_every: Duration::from_secs(3600),
        timeout: Duration::from_millis(700),
        resend_after: Duration::from_secs(2),
        max_requests_per_second: None,
    };
    settings.providers.insert("ar24".into(), ProviderSettings::Ar24(ar24));
    settings.senders[0].provider = "ar24".into();
    settings.senders[0].provider_user_id = Some("4242".into());
    let mut hook = crate::hooks::hook("stripe", Preset::Stripe, &[HOOK_SECRET], Some("stripe-invoice"));
    hook.template = "relance-facture".into();
    settings.hooks = vec![hook];
    settings.callbacks.allow_http = true;
    settings.callbacks.allow_networks = vec!["127.0.0.0/8".into()];
    settings.senders[0].callback_secret = Secret::new(SENDER_CALLBACK_SECRET.to_owned());
    settings
}

/// A configured endpoint of the sender, on the test's receiver.
fn with_endpoint(mut settings: Settings, url: &str) -> Settings {
    settings.senders[0].callbacks = vec![SenderCallback {
        url: url.parse().unwrap(),
        events: vec![],
        secret: Secret::new(ENDPOINT_SECRET.to_owned()),
        secret_file: None,
        description: None,
    }];
    settings
}

/// A Stripe event the hook's filter leaves out (signed), and one signed with a wrong secret: neither makes a
/// letter, both are answered.
async fn post_hook_events(app: &TestApp, answers: &mut Answers) {
    let mut event = crate::hooks::fixture("stripe-invoice-overdue");
    event["type"] = serde_json::json!("invoice.paid");
    let body = serde_json::to_vec(&event).unwrap();
    let now = chrono::Utc::now().timestamp();
    for (secret, status) in [(HOOK_SECRET, 200), ("whsec_wrong", 401)] {
        let headers = crate::hooks::sign::stripe("stripe-signature", secret, now, &body);
        let response = crate::hooks::post_hook(app, "stripe", &headers, &body).await;
        assert_eq!(response.status(), status);
        answers.0.push(response.text().await.unwrap());
    }
    answers.get(app, "/v1/hooks/stripe/deliveries").await;
}

/// Every answer the test received, for the search.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    async fn get(&mut self, app: &TestApp, path: &str) -> Value {
        let response = app.get(path).await;
        let text = response.text().await.unwrap();
        self.0.push(text.clone());
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// Every row of every table, as text.
async fn dump_database(url: &str) -> String {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let postgres = url.starts_with("postgres");
    let tables_sql = if postgres {
        "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = 'public'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> =
        sqlx::query(tables_sql).fetch_all(&mut conn).await.unwrap().iter().map(|r| r.get("name")).collect();
    assert!(tables.iter().any(|t| t == "letter_events"), "{tables:?}");
    let mut dump = String::new();
    for table in tables {
        let sql = if postgres {
            format!("SELECT CAST(row_to_json(t) AS TEXT) AS r FROM \"{table}\" t")
        } else {
            let columns: Vec<String> =
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get("name"))
                    .collect();
            let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
            format!("SELECT {} AS r FROM \"{table}\"", quoted.join(" || ',' || "))
        };
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut conn).await.unwrap() {
            dump.push_str(&format!("{table}: {}\n", row.get::<String, _>("r")));
        }
    }
    dump
}

/// `relais check-config --offline` output for a file holding every secret.
fn check_config_output(env: &TestEnv, database_url: &str) -> String {
    let file = env.path("relais.toml");
    let config = format!(
        r#"
[database]
url = "{database_url}"
[mail]
smtp_password = "{SMTP_PASSWORD}"
[intake.mime]
ingress_key = "{INGRESS_KEY}"
[providers.sandbox]
kind = "sandbox"
deposit_after = "1s"
outcome_after = "3s"
webhook_secret = "{SANDBOX_WEBHOOK_SECRET}"
price_cents = 349
[providers.ar24]
kind = "ar24"
base_url = "http://127.0.0.1:1/api/"
token = "{DOWN_TOKEN}"
private_key = "{DOWN_PRIVATE_KEY}"
"#
    );
    std::fs::write(&file, config).unwrap();
    // What `relais check-config` prints (the binary prints exactly this; the shared build folder may hold
    // another build's binary, so the library call is what is tested).
    let settings = Settings::load(Some(&file)).expect("the configuration is valid");
    let text = settings.printable().unwrap();
    assert!(text.contains("[redacted]") && text.contains("postgres://"), "{text}");
    text
}

async fn no_configured_secret_reaches_a_log_an_answer_a_row_a_file_or_an_email(db: Db) {
    let logs = Captured::install();
    let env = TestEnv::new(db).await;
    let mut answers = Answers::default();

    // AR24 unreachable for longer than every attempt.
    let down = settings_with_secrets(&env, "http://127.0.0.1:1/api/", DOWN_TOKEN, DOWN_PRIVATE_KEY);
    let app = spawn_with(&env, down).await;
    let api_key = app.api_key.clone();
    let stranded = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&stranded, "needs_attention", OUTCOME_TIMEOUT).await;
    let told = app.wait_for_notices(&stranded, OUTCOME_TIMEOUT).await;
    assert!(told.iter().any(|n| n.kind == "provider_unreachable"), "the requester was told: {told:?}");
    answers.get(&app, &format!("/v1/letters/{stranded}")).await;
    answers.get(&app, "/readyz").await;
    app.stop().await;

    // AR24 back, but slow once (a timeout after it stored the letter), then refusing once (an error slug).
    let fake = FakeAr24::start().await;
    let user = fake.add_user(crate::ar24::SENDER_EMAIL, true);
    let receiver = Receiver::start(vec![Answer::Status(200)]).await;
    let mut up = settings_with_secrets(&env, &fake.base_url(), fake.token(), fake.private_key());
    up.senders[0].provider_user_id = Some(user.to_string());
    let up = with_endpoint(up, &receiver.url());
    let printed = up.printable().unwrap();
    let app = spawn_with(&env, up).await;
    post_hook_events(&app, &mut answers).await;
    let api_keys = [api_key, app.api_key.clone()];
    let resumed = app.retry_letter(&stranded).await;
    fake.timeout_next_mail();
    let mut with_callback = letter_body("compta@boulangerie-martin.fr");
    with_callback["callback_url"] = receiver.url().into();
    with_callback["callback_secret"] = REQUEST_CALLBACK_SECRET.into();
    let response = app.post_letter(&with_callback).await;
    assert_eq!(response.status(), 202);
    let text = response.text().await.unwrap();
    let slow = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
    answers.0.push(text);
    let slow_mail = mail_for(&fake, &slow).await;
    app.wait_for(&slow, "adopted", |l| l["provider"]["reference"].is_string()).await;
    fake.fail_next_mail("user_no_payment");
    let refused = app.submit("compta@boulangerie-martin.fr").await;
    app.wait_for_state(&refused, "failed", OUTCOME_TIMEOUT).await;
    let resumed_mail = mail_for(&fake, &resumed).await;
    for mail in [slow_mail, resumed_mail] {
        fake.advance(mail, Stage::Delivered).await;
    }
    for id in [&stranded, &slow] {
        let letter = app.wait_for_state(id, "delivered", OUTCOME_TIMEOUT).await;
        assert!(states(&letter).contains(&"deposited".to_owned()));
    }
    for id in [&stranded, &slow, &refused] {
        app.wait_for_jobs(id, OUTCOME_TIMEOUT).await;
        answers.get(&app, &format!("/v1/letters/{id}")).await;
    }
    receiver.wait_for("callbacks signed with each secret", |d| d.len() >= 4).await;
    assert!(!receiver.verified_by_any(&[ENDPOINT_SECRET, REQUEST_CALLBACK_SECRET]).is_empty());
    for path in ["/v1/letters", "/readyz", "/healthz", "/v1/notices", "/v1/notices?state=failed", "/v1/callbacks"] {
        answers.get(&app, path).await;
    }
    let webhook_secrets: Vec<String> =
        fake.mails().iter().filter_map(|m| m.webhook.as_deref()?.rsplit('/').next().map(str::to_owned)).collect();
    assert_eq!(webhook_secrets.len(), 2, "two letters reached AR24");
    app.stop().await;

    let database = dump_database(&with_password(&env.database_url)).await;
    let files: Vec<(String, String)> = files_in(env.dir.path())
        .into_iter()
        .filter_map(|p| Some((p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).ok()?).into_owned())))
        .collect();
    assert!(files.iter().any(|(p, _)| p.ends_with(".eml")), "emails were written");
    let check_config =
        check_config_output(&env, &format!("postgres://relais:{DATABASE_PASSWORD}@127.0.0.1:5432/relais"));
    let logs = logs.text();
    assert!(logs.contains(&stranded) && logs.contains("TRACE"), "the logs were captured at trace");

    let mut secrets: Vec<String> = [
        DOWN_TOKEN,
        DOWN_PRIVATE_KEY,
        fake.token(),
        fake.private_key(),
        SMTP_PASSWORD,
        INGRESS_KEY,
        SANDBOX_WEBHOOK_SECRET,
        DATABASE_PASSWORD,
    ]
    .map(str::to_owned)
    .to_vec();
    secrets.extend(api_keys);
    secrets.extend(webhook_secrets);
    let mut places: Vec<(String, &str)> = vec![
        ("logs".into(), logs.as_str()),
        ("database".into(), database.as_str()),
        ("check-config".into(), check_config.as_str()),
        ("the printed settings".into(), printed.as_str()),
    ];
    places.extend(answers.0.iter().map(|a| ("an API answer".to_owned(), a.as_str())));
    places.extend(files.iter().map(|(p, text)| (format!("file {p}"), text.as_str())));
    let mut hits = Vec::new();
    for secret in &secrets {
        for (place, text) in &places {
            if let Some(at) = text.find(secret.as_str()) {
                let start = (0..=at.saturating_sub(120)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let context: String = text[start..].chars().take(200).collect();
                hits.push(format!("{secret} in {place}: …{context}…"));
            }
        }
    }
    // Callback secrets sign every delivery, so relais keeps them, in the endpoints' rows and nowhere else.
    let outside_endpoints: String =
        database.lines().filter(|l| !l.starts_with("callback_endpoints: ")).collect::<Vec<_>>().join("\n");
    places[1].1 = outside_endpoints.as_str();
    // The SQLite file is that database, searched row by row above.
    places.retain(|(place, _)| !place.contains("relais.db"));
    for secret in [HOOK_SECRET, ENDPOINT_SECRET, SENDER_CALLBACK_SECRET, REQUEST_CALLBACK_SECRET] {
        for (place, text) in &places {
            if text.contains(secret) {
                hits.push(format!("{secret} in {place}"));
            }
        }
    }
    assert!(hits.is_empty(), "{} secret(s) leaked:\n{}", hits.len(), hits.join("\n"));
}

crate::on_both_databases!(no_configured_secret_reaches_a_log_an_answer_a_row_a_file_or_an_email);
