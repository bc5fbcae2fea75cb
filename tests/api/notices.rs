//! Notices against a real SMTP conversation on loopback: a refused login is tried again up to the limit, a
//! notice that gives up is told on the timeline, listed, degraded in `/readyz` and sent again with its
//! Message-ID; a notice sent again after a crash carries the same Message-ID.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use relais::config::{MailTransportKind, Secret, SmtpTls};
use relais::store::NoticeState;
use serde_json::Value;
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

use crate::helpers::{Db, OUTCOME_TIMEOUT, TestEnv, spawn_with};
use crate::outage::impatient;

/// A minimal SMTP server (RFC 5321 with AUTH PLAIN) that refuses logins with 535 while `refuse` is set.
#[derive(Clone, Default)]
struct LoopbackSmtp {
    refuse: Arc<AtomicBool>,
    logins: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<String>>>,
}

impl LoopbackSmtp {
    async fn start() -> (Self, u16) {
        let server = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(shared.clone().converse(stream));
            }
        });
        (server, port)
    }

    async fn converse(self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 loopback ESMTP\r\n").await;
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-loopback\r\n250 AUTH PLAIN\r\n",
                "AUTH" => {
                    self.logins.fetch_add(1, Ordering::SeqCst);
                    if self.refuse.load(Ordering::SeqCst) {
                        b"535 5.7.8 Authentication credentials invalid\r\n"
                    } else {
                        b"235 2.7.0 Authentication successful\r\n"
                    }
                }
                "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                "DATA" => {
                    let _ = write.write_all(b"354 go ahead\r\n").await;
                    let mut message = String::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line == "." {
                            break;
                        }
                        message.push_str(&line);
                        message.push('\n');
                    }
                    self.received.lock().await.push(message);
                    b"250 OK queued\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"502 5.5.1 unknown command\r\n",
            };
            if write.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

fn message_id(message: &str) -> Option<String> {
    message.lines().find_map(|l| l.strip_prefix("Message-ID: ")).map(|v| v.trim().to_owned())
}

async fn a_notice_refused_by_the_mail_server_is_retried_listed_and_sent_again_when_it_accepts(db: Db) {
    let (smtp, port) = LoopbackSmtp::start().await;
    smtp.refuse.store(true, Ordering::SeqCst);
    let env = TestEnv::new(db).await;
    let mut settings = impatient(env.settings());
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp_host = "127.0.0.1".into();
    settings.mail.smtp_port = port;
    settings.mail.smtp_tls = SmtpTls::None;
    settings.mail.smtp_username = "relais".into();
    settings.mail.smtp_password = Secret::new("not-the-right-one".into());
    settings.mail.smtp_timeout = Duration::from_secs(5);
    let app = spawn_with(&env, settings).await;
    let id = app.submit("jeanne@example.fr").await;
    app.wait_for_state(&id, "delivered", OUTCOME_TIMEOUT).await;

    let notices = app.wait_for_notices(&id, OUTCOME_TIMEOUT).await;
    assert!(notices.len() >= 3 && notices.iter().all(|n| n.state == NoticeState::Failed), "{notices:?}");
    let logins = smtp.logins.load(Ordering::SeqCst);
    assert!(logins >= 2 * notices.len(), "a 535 is tried again up to the limit: {logins} logins");
    let listed: Value = app.get("/v1/notices?state=failed").await.json().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), notices.len(), "{listed:#}");
    assert!(listed["data"][0]["last_error"].as_str().unwrap().contains("535"), "{listed:#}");
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "degraded");
    assert!(ready["problems"].to_string().contains("relais notice resend"), "{ready:#}");
    let letter = app.get_letter(&id).await;
    let told = letter["events"].as_array().unwrap().iter().filter(|e| {
        e["detail"].as_str().is_some_and(|d| d.contains("n'a pas pu être envoyé") && d.contains("notice resend"))
    });
    assert_eq!(told.count(), notices.len(), "each notice that gave up is on the timeline");
    assert!(smtp.received.lock().await.is_empty());

    smtp.refuse.store(false, Ordering::SeqCst);
    for notice in &notices {
        relais::letters::notices::resend_notice(&app.services, &notice.id).await.unwrap();
    }
    let sent = app.wait_for_notices(&id, OUTCOME_TIMEOUT).await;
    assert!(sent.iter().all(|n| n.state == NoticeState::Sent), "{sent:?}");
    let received = smtp.received.lock().await.clone();
    assert_eq!(received.len(), notices.len());
    for notice in &sent {
        let stored = format!("<{}>", notice.message_id.as_deref().unwrap());
        assert!(received.iter().any(|m| message_id(m).as_deref() == Some(stored.as_str())), "{stored}");
    }
    let ready: Value = app.client.get(app.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready:#}");
    app.stop().await;
}

async fn a_notice_sent_again_after_a_crash_carries_the_same_message_id(db: Db) {
    let env = TestEnv::new(db).await;
    let mut settings = env.settings();
    settings.worker.enabled = false;
    let app = spawn_with(&env, settings).await;
    let id = app.submit("crash@example.fr").await;
    let now = relais::store::now_ms();
    let jobs = app.store.claim_jobs("test-worker", now, now + 60_000, 10).await.unwrap();
    let notify = jobs.iter().find(|j| j.kind == "notify").expect("the acceptance notice").clone();
    relais::letters::notices::notify(&app.services, &id.parse().unwrap(), &notify.payload).await.unwrap();
    // The process died after the mail server took the email and before the notice was marked sent.
    let mut conn = sqlx::AnyConnection::connect(&env.database_url).await.unwrap();
    sqlx::query("UPDATE notices SET state = 'pending', sent_at = NULL WHERE letter_id = $1")
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    relais::worker::run_claimed(&app.services, "test-worker", notify).await;
    let emails = app.emails_about(&id);
    assert_eq!(emails.len(), 2, "sent twice: the first attempt's outcome was lost");
    let ids: Vec<Option<String>> =
        emails.iter().map(|(_, raw)| message_id(&String::from_utf8_lossy(raw).replace("\r\n", "\n"))).collect();
    assert!(ids[0].is_some(), "{ids:?}");
    assert_eq!(ids[0], ids[1], "mail clients fold the two into one");
    app.stop().await;
}

crate::on_both_databases!(
    a_notice_refused_by_the_mail_server_is_retried_listed_and_sent_again_when_it_accepts,
    a_notice_sent_again_after_a_crash_carries_the_same_message_id,
);
