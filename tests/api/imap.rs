//! Email intake from a mailbox on a real IMAP server (Debian's Dovecot, started by scripts/dovecot-test):
//! a request appended to the inbox becomes a letter, and the message moves to the done folder only then;
//! the same message twice makes one letter; the server going away and coming back loses nothing.

use std::path::PathBuf;
use std::time::Duration;

use relais::config::{ImapMailboxSettings, Secret};
use relais::intake::email::imap::ImapTls;
use serde_json::Value;
use tokio::net::TcpStream;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestApp, TestEnv, spawn_with};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/dovecot-test");

/// A throwaway Dovecot on a free loopback port, stopped when dropped.
pub(crate) struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    /// Implicit TLS (and STARTTLS on `port`) with the test CA's certificate, when started with TLS.
    tls_port: Option<u16>,
    /// The token-introspection URL of an XOAUTH2-enabled server.
    introspection: Option<String>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Dovecot {
    fn start() -> Self {
        Self::started(false, None)
    }

    fn start_with_tls() -> Self {
        Self::started(true, None)
    }

    /// A server that also takes XOAUTH2 bearer tokens, checked against `introspection` (RFC 7662).
    pub(crate) fn start_with_oauth2(introspection: String) -> Self {
        Self::started(false, Some(introspection))
    }

    /// Dovecot binds its ports itself: a port found free here may be taken by another test before Dovecot
    /// binds it, so a start that fails is tried again on other ports.
    fn started(tls: bool, introspection: Option<String>) -> Self {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let tls_port = tls.then(free_port);
            let dovecot = Dovecot { dir, port: free_port(), tls_port, introspection: introspection.clone() };
            if dovecot.command("start").status().unwrap().success() {
                return dovecot;
            }
        }
        panic!("dovecot did not start on five pairs of free ports");
    }

    pub(crate) fn run(&self, action: &str) {
        assert!(self.command(action).status().unwrap().success(), "dovecot {action} failed");
    }

    fn command(&self, action: &str) -> std::process::Command {
        let mut command = std::process::Command::new(SCRIPT);
        command.arg(action).arg(self.path());
        if action == "start" {
            command.arg(self.port.to_string());
            command.args(self.tls_port.map(|p| p.to_string()));
            if let Some(url) = &self.introspection {
                command.env("DOVECOT_TEST_OAUTH2_INTROSPECTION", url);
            }
        }
        command
    }

    /// Drops every session of `user`, as a server does when it revokes a login.
    pub(crate) fn kick(&self, user: &str) {
        let config = self.path().join("dovecot.conf");
        let status = std::process::Command::new("doveadm").arg("-c").arg(config).args(["kick", user]).status();
        assert!(status.unwrap().success(), "doveadm kick failed");
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    async fn session_of(&self, user: &str) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client.login(user, "secret").await.map_err(|(e, _)| e).unwrap()
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) async fn append(&self, raw: &[u8]) {
        self.append_to("test", raw).await;
    }

    async fn append_to(&self, user: &str, raw: &[u8]) {
        let mut session = self.session_of(user).await;
        session.append("INBOX", None, None, raw).await.unwrap();
        session.logout().await.unwrap();
    }

    /// How many messages a folder holds (`.` is the maildir separator); 0 when it does not exist.
    pub(crate) async fn count(&self, folder: &str) -> u32 {
        self.count_of("test", folder).await
    }

    async fn count_of(&self, user: &str, folder: &str) -> u32 {
        let mut session = self.session_of(user).await;
        let count = session.examine(folder).await.map(|m| m.exists).unwrap_or(0);
        session.logout().await.unwrap();
        count
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = std::process::Command::new(SCRIPT).arg("stop").arg(self.path()).status();
    }
}

async fn spawn_imap(db: Db, dovecot: &Dovecot) -> (TestApp, TestEnv) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.trusted_authserv_ids = vec!["mx.relais.example.fr".into()];
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings.intake.imap = vec![mailbox(dovecot.port)];
    let app = spawn_with(&env, settings).await;
    (app, env)
}

pub(crate) fn mailbox(port: u16) -> ImapMailboxSettings {
    ImapMailboxSettings {
        host: "127.0.0.1".into(),
        port,
        tls: ImapTls::None,
        tls_ca_file: None,
        username: "test".into(),
        password: Secret::new("secret".into()),
        password_file: None,
        oauth2_token_file: None,
        oauth2: None,
        folder: "INBOX".into(),
        done_folder: "relais/done".into(),
        rejected_folder: "relais/rejected".into(),
        address: "lre@relais.example.fr".into(),
        poll_interval: Duration::from_secs(1),
        idle_renew: Duration::from_secs(5),
        command_timeout: Duration::from_secs(10),
    }
}

pub(crate) fn request(message_id: &str) -> Vec<u8> {
    format!(
        "Authentication-Results: mx.relais.example.fr; dmarc=pass header.from=cabinet.example.fr\r\n\
         From: Paul Comptable <paul@cabinet.example.fr>\r\nTo: lre@relais.example.fr\r\n\
         Subject: Relance\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Destinataire : Jeanne Martin\r\nSociété : Boulangerie Martin SARL\r\nEmail : compta@boulangerie-martin.fr\r\n\
         Type : professionnel\r\nNuméro de facture : F-2026-0042\r\nMontant : 1 250,00 €\r\nÉchéance : 31/10/2026\r\n"
    )
    .into_bytes()
}

pub(crate) async fn letters(app: &TestApp) -> Vec<Value> {
    app.get("/v1/letters").await.json::<Value>().await.unwrap()["data"].as_array().unwrap().clone()
}

pub(crate) async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let deadline = tokio::time::Instant::now() + OUTCOME_TIMEOUT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_request_in_the_mailbox_becomes_a_letter_and_moves_to_done(db: Db) {
    let dovecot = Dovecot::start();
    dovecot.append(&request("imap-1@cabinet.example.fr")).await;
    let (app, _env) = spawn_imap(db, &dovecot).await;
    wait_until("moved to done", || async { dovecot.count("relais.done").await == 1 }).await;
    assert_eq!(dovecot.count("INBOX").await, 0);
    let all = letters(&app).await;
    assert_eq!(all.len(), 1, "moved only once its letter was committed");
    app.wait_for_state(all[0]["id"].as_str().unwrap(), "delivered", OUTCOME_TIMEOUT).await;
    let readyz: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(readyz["email_channels"][0]["up"], true, "{readyz}");

    // Arriving while relais watches (IDLE), and the same message again: one letter in all.
    dovecot.append(&request("imap-2@cabinet.example.fr")).await;
    dovecot.append(&request("imap-2@cabinet.example.fr")).await;
    wait_until("both copies filed", || async { dovecot.count("relais.done").await == 3 }).await;
    assert_eq!(letters(&app).await.len(), 2);
    app.stop().await;
}

async fn a_dovecot_restart_loses_nothing_and_duplicates_nothing(db: Db) {
    let dovecot = Dovecot::start();
    let (app, _env) = spawn_imap(db, &dovecot).await;
    dovecot.append(&request("restart-1@cabinet.example.fr")).await;
    wait_until("first filed", || async { dovecot.count("relais.done").await == 1 }).await;
    dovecot.run("stop");
    tokio::time::sleep(Duration::from_secs(1)).await;
    dovecot.run("start");
    dovecot.append(&request("restart-2@cabinet.example.fr")).await;
    wait_until("second filed after the restart", || async { dovecot.count("relais.done").await == 2 }).await;
    assert_eq!(letters(&app).await.len(), 2, "each message made exactly one letter");
    app.stop().await;
}

async fn a_mailbox_relais_cannot_log_into_is_reported_down(db: Db) {
    let dovecot = Dovecot::start();
    let env = TestEnv::new(db).await;
    let mut bad = env.settings();
    bad.intake.imap = vec![ImapMailboxSettings { password: Secret::new("wrong".into()), ..mailbox(dovecot.port) }];
    let app = spawn_with(&env, bad).await;
    let mut readyz = Value::Null;
    for _ in 0..100 {
        let response = app.client.get(app.url("/readyz")).send().await.unwrap();
        let status = response.status();
        readyz = response.json().await.unwrap();
        if status == 503 && readyz["email_channels"][0]["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = readyz["email_channels"][0]["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("login failed"), "the channel says why it is down: {readyz}");
    assert!(!error.contains("wrong"), "the password is never shown");
    assert_eq!(readyz["status"], "unavailable");
    app.stop().await;
}

/// A request of the firm, delivered as Dovecot's LDA would for `delivered_to` (None: no such header).
fn firm_request(message_id: &str, delivered_to: Option<&str>, to: &str) -> Vec<u8> {
    let delivered = delivered_to.map(|d| format!("Delivered-To: {d}\r\n")).unwrap_or_default();
    let raw =
        String::from_utf8(request(message_id)).unwrap().replace("To: lre@relais.example.fr", &format!("To: {to}"));
    format!("{delivered}{raw}").into_bytes()
}

async fn in_a_firms_mailbox_the_delivered_to_or_to_address_names_the_client(db: Db) {
    let dovecot = Dovecot::start();
    dovecot
        .append(&firm_request(
            "imap-f1@cabinet.example.fr",
            Some("lre+dupont@relais.example.fr"),
            "lre@relais.example.fr",
        ))
        .await;
    dovecot
        .append(&firm_request("imap-f2@cabinet.example.fr", None, "Relais <lre+martin-btp@relais.example.fr>"))
        .await;
    dovecot.append(&firm_request("imap-f3@cabinet.example.fr", None, "lre@relais.example.fr")).await;
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.trusted_authserv_ids = vec!["mx.relais.example.fr".into()];
    crate::firm::clients(&mut settings);
    settings.intake.imap = vec![mailbox(dovecot.port)];
    let app = spawn_with(&env, settings).await;
    wait_until("all filed", || async {
        dovecot.count("relais.done").await + dovecot.count("relais.rejected").await == 3
    })
    .await;
    let mut senders = vec![];
    for client in crate::firm::CLIENTS {
        let sender: relais::domain::SenderId = client.parse().unwrap();
        let filter = relais::store::LetterFilter { limit: 10, ..Default::default() };
        senders.extend(
            app.store.list_letters(&sender, &filter).await.unwrap().into_iter().map(|l| l.sender_id.to_string()),
        );
    }
    senders.sort();
    assert_eq!(senders, ["dupont", "martin-btp"], "the email naming no client sends nothing");
    assert_eq!(dovecot.count("relais.rejected").await, 1);
    app.stop().await;
}

async fn mailboxes_over_implicit_tls_and_starttls_trust_a_private_ca(db: Db) {
    let dovecot = Dovecot::start_with_tls();
    dovecot.append_to("test", &request("imap-tls-1@cabinet.example.fr")).await;
    dovecot.append_to("other", &request("imap-tls-2@cabinet.example.fr")).await;
    let ca = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem");
    let implicit = ImapMailboxSettings {
        host: "localhost".into(),
        port: dovecot.tls_port.unwrap(),
        tls: ImapTls::Tls,
        tls_ca_file: Some(ca.clone()),
        ..mailbox(dovecot.port)
    };
    let starttls = ImapMailboxSettings {
        tls: ImapTls::Starttls,
        tls_ca_file: Some(ca),
        username: "other".into(),
        ..mailbox(dovecot.port)
    };
    // The same server without the private CA: the public roots do not know it, so that mailbox is down.
    let untrusted = ImapMailboxSettings { username: "nobody".into(), tls_ca_file: None, ..implicit.clone() };
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.intake.trusted_authserv_ids = vec!["mx.relais.example.fr".into()];
    settings.senders[0].allowed_from = vec!["@cabinet.example.fr".into()];
    settings.intake.imap = vec![implicit, starttls, untrusted];
    let app = spawn_with(&env, settings).await;
    wait_until("both filed", || async {
        dovecot.count_of("test", "relais.done").await + dovecot.count_of("other", "relais.done").await == 2
    })
    .await;
    assert_eq!(letters(&app).await.len(), 2);
    let readyz: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    let channels = readyz["email_channels"].as_array().unwrap();
    assert_eq!(channels.iter().filter(|c| c["up"] == true).count(), 2, "{readyz}");
    let down = channels.iter().find(|c| c["up"] != true).expect("the untrusted mailbox is down");
    assert!(down["last_error"].as_str().unwrap_or_default().contains("TLS"), "{down}");
    app.stop().await;
}

crate::on_both_databases!(
    mailboxes_over_implicit_tls_and_starttls_trust_a_private_ca,
    in_a_firms_mailbox_the_delivered_to_or_to_address_names_the_client,
    a_mailbox_relais_cannot_log_into_is_reported_down,
    a_request_in_the_mailbox_becomes_a_letter_and_moves_to_done,
    a_dovecot_restart_loses_nothing_and_duplicates_nothing,
);
