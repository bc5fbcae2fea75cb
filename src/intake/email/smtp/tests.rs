//! Conversations with the receiver over loopback TCP, from a minimal client written here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

use super::{SmtpSettings, serve, tls_config};
use crate::intake::email::authenticate::Arrival;
use crate::intake::email::sink::{Delivery, DeliveryResult, Liveness, MessageSink};

/// Records what it was given and answers what the test chose.
struct Recorder {
    answer: DeliveryResult,
    got: Mutex<Vec<(Vec<u8>, String, Arrival)>>,
}

#[async_trait]
impl MessageSink for Recorder {
    async fn deliver(&self, delivery: Delivery<'_>) -> DeliveryResult {
        assert_eq!(delivery.channel, "smtp");
        let entry = (delivery.raw.to_vec(), delivery.recipient.to_owned(), delivery.arrival);
        self.got.lock().expect("recorder lock").push(entry);
        self.answer.clone()
    }
}

fn settings() -> SmtpSettings {
    SmtpSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        lmtp: false,
        max_message_size: 1000,
        accept_domains: vec!["relais.example.fr".into()],
        hostname: "mx.relais.example.fr".into(),
        tls: None,
        require_tls: false,
        command_timeout: Duration::from_secs(5),
        data_timeout: Duration::from_secs(5),
    }
}

fn done() -> DeliveryResult {
    DeliveryResult::Done { accepted: true, summary: "letter queued".into() }
}

async fn start(settings: SmtpSettings, answer: DeliveryResult) -> (SocketAddr, Arc<Recorder>, Liveness) {
    let sink = Arc::new(Recorder { answer, got: Mutex::new(Vec::new()) });
    let liveness = Liveness::new("smtp");
    let (listener, addr) = bind(&settings).await;
    tokio::spawn(serve(listener, settings, sink.clone(), liveness.clone(), CancellationToken::new()));
    (addr, sink, liveness)
}

async fn bind(settings: &SmtpSettings) -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind(settings.listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

struct Client<R = OwnedReadHalf, W = OwnedWriteHalf> {
    reader: BufReader<R>,
    writer: W,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        let (read, writer) = TcpStream::connect(addr).await.expect("connect").into_split();
        let mut client = Self { reader: BufReader::new(read), writer };
        assert!(client.reply().await.starts_with("220 "));
        client
    }

    /// The TLS handshake after `220` to STARTTLS, trusting the fixture CA.
    async fn start_tls(self) -> Client<ReadHalf<TlsStream<TcpStream>>, WriteHalf<TlsStream<TcpStream>>> {
        let mut roots = rustls::RootCertStore::empty();
        let ca = CertificateDer::from_pem_file(fixture("ca.pem")).expect("ca.pem");
        roots.add(ca).expect("CA accepted");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = self.reader.into_inner().reunite(self.writer).expect("same stream");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.expect("TLS handshake");
        let (read, writer) = tokio::io::split(tls);
        Client { reader: BufReader::new(read), writer }
    }
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    /// One whole reply, all lines of a multi-line one joined by '\n'.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read reply");
            if n == 0 {
                return all;
            }
            all.push_str(line.trim_end());
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
            all.push('\n');
        }
    }

    async fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.expect("write");
    }

    async fn command(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }
}

#[tokio::test]
async fn smtp_delivery_keeps_the_bytes_unstuffed_and_pipelined() {
    let (addr, sink, liveness) = start(settings(), done()).await;
    let mut client = Client::connect(addr).await;
    let ehlo = client.command("EHLO client.example.org").await;
    assert!(ehlo.contains("250-PIPELINING") && ehlo.contains("SIZE 1000") && !ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(ehlo.ends_with("250 ENHANCEDSTATUSCODES"), "{ehlo}");
    // Pipelined as RFC 2920 allows: the envelope in one write, each command still answered in order.
    client.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<letters+x@Relais.Example.FR>\r\nDATA\r\n").await;
    assert!(client.reply().await.starts_with("250 2.1.0"));
    assert!(client.reply().await.starts_with("250 2.1.5"));
    assert!(client.reply().await.starts_with("354"));
    client.send("Subject: hi\r\n\r\n..leading dot\r\nend\r\n.\r\nQUIT\r\n").await;
    assert_eq!(client.reply().await, "250 2.0.0 Message accepted");
    assert!(client.reply().await.starts_with("221"));
    let got = sink.got.lock().expect("lock");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, b"Subject: hi\r\n\r\n.leading dot\r\nend\r\n");
    assert_eq!(got[0].1, "letters+x@Relais.Example.FR");
    let Arrival::Smtp { peer, helo, mail_from } = &got[0].2 else { panic!("not an SMTP arrival") };
    assert_eq!(
        (peer.to_string().as_str(), helo.as_str(), mail_from.as_str()),
        ("127.0.0.1", "client.example.org", "a@example.org")
    );
    assert_eq!(liveness.snapshot().delivered, 1);
    assert!(liveness.snapshot().up);
}

#[tokio::test]
async fn lmtp_answers_once_per_recipient() {
    let (addr, sink, _) = start(SmtpSettings { lmtp: true, ..settings() }, done()).await;
    let mut client = Client::connect(addr).await;
    assert!(client.command("EHLO x").await.starts_with("500 5.5.1"));
    assert!(client.command("LHLO client.example.org").await.contains("250 ENHANCEDSTATUSCODES"));
    assert!(client.command("MAIL FROM:<>").await.starts_with("250"));
    assert!(client.command("RCPT TO:<one@relais.example.fr>").await.starts_with("250"));
    assert!(client.command("RCPT TO:<x@elsewhere.example>").await.starts_with("550 5.1.1"));
    assert!(client.command("RCPT TO:<two@relais.example.fr>").await.starts_with("250"));
    assert!(client.command("DATA").await.starts_with("354"));
    client.send("Subject: two\r\n\r\nbody\r\n.\r\n").await;
    assert_eq!(client.reply().await, "250 2.0.0 Message accepted");
    assert_eq!(client.reply().await, "250 2.0.0 Message accepted");
    let recipients: Vec<String> = sink.got.lock().expect("lock").iter().map(|g| g.1.clone()).collect();
    assert_eq!(recipients, ["one@relais.example.fr", "two@relais.example.fr"]);
}

#[tokio::test]
async fn refusals_say_why() {
    let (addr, sink, _) = start(settings(), DeliveryResult::Transient("store down\r\n250 fake".into())).await;
    let mut client = Client::connect(addr).await;
    assert!(client.command("MAIL FROM:<a@example.org>").await.starts_with("503 5.5.1"));
    assert!(client.command("EHLO c").await.starts_with("250"));
    assert!(client.command("RCPT TO:<a@relais.example.fr>").await.starts_with("503 5.5.1"));
    assert!(client.command("MAIL FROM:<a@example.org> SIZE=1001").await.starts_with("552 5.3.4"));
    assert!(client.command("MAIL FROM:<a@example.org> SIZE=900").await.starts_with("250"));
    let refused = client.command("RCPT TO:<a@other.example>").await;
    assert_eq!(refused, "550 5.1.1 relais accepts mail for relais.example.fr only");
    assert!(client.command("DATA").await.starts_with("503 5.5.1"));
    assert!(client.command("RCPT TO:<a@relais.example.fr>").await.starts_with("250"));
    assert!(client.command("DATA").await.starts_with("354"));
    client.send(&format!("{}\r\n.\r\n", "x".repeat(1200))).await;
    assert!(client.reply().await.starts_with("552 5.3.4"));
    assert!(sink.got.lock().expect("lock").is_empty(), "an oversized message is not delivered");
    // The transaction was reset, the session goes on; the sink's reason cannot forge a reply line.
    for line in ["MAIL FROM:<a@example.org>", "RCPT TO:<a@relais.example.fr>", "DATA"] {
        client.command(line).await;
    }
    assert_eq!(client.command("small\r\n.").await, "451 4.3.0 store down  250 fake");
    assert_eq!(client.command("VRFY someone").await.get(..3), Some("252"));
    assert!(client.command("FROB").await.starts_with("500 5.5.1"));
    assert!(client.command("HELP").await.starts_with("214"));
}

#[tokio::test]
async fn too_many_errors_close_the_connection() {
    let (addr, _, _) = start(settings(), done()).await;
    let mut client = Client::connect(addr).await;
    for _ in 0..9 {
        assert!(client.command("FROB").await.starts_with("500"));
    }
    assert_eq!(client.command("FROB").await, "500 5.5.1 Unrecognized command");
    assert!(client.reply().await.starts_with("421 4.7.0"));
    assert_eq!(client.reply().await, "", "connection closed");
}

#[tokio::test]
async fn a_silent_client_gets_421_and_is_dropped() {
    let short = SmtpSettings { command_timeout: Duration::from_millis(300), ..settings() };
    let (addr, _, _) = start(short, done()).await;
    let mut client = Client::connect(addr).await;
    assert!(client.command("EHLO c").await.starts_with("250"));
    let started = std::time::Instant::now();
    assert!(client.reply().await.starts_with("421 4.4.2"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(client.reply().await, "", "connection closed");
}

#[tokio::test]
async fn a_slow_message_gets_421() {
    let short = SmtpSettings { data_timeout: Duration::from_millis(300), ..settings() };
    let (addr, sink, _) = start(short, done()).await;
    let mut client = Client::connect(addr).await;
    for line in ["EHLO c", "MAIL FROM:<a@example.org>", "RCPT TO:<a@relais.example.fr>", "DATA"] {
        client.command(line).await;
    }
    client.send("Subject: never ends\r\n").await;
    assert!(client.reply().await.starts_with("421 4.4.2"));
    assert!(sink.got.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn shutdown_stops_listening_and_tells_idle_clients() {
    let sink = Arc::new(Recorder { answer: done(), got: Mutex::new(Vec::new()) });
    let shutdown = CancellationToken::new();
    let (listener, addr) = bind(&settings()).await;
    let server = tokio::spawn(serve(listener, settings(), sink, Liveness::new("smtp"), shutdown.clone()));
    let mut client = Client::connect(addr).await;
    shutdown.cancel();
    assert!(client.reply().await.starts_with("421 4.3.2"));
    server.await.expect("join").expect("serve");
    assert!(TcpStream::connect(addr).await.is_err());
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

#[test]
fn tls_config_loads_the_fixture_and_explains_failures() {
    assert!(tls_config(&fixture("server.pem"), &fixture("server.key")).is_ok());
    let missing = tls_config(&fixture("absent.pem"), &fixture("server.key")).expect_err("missing file");
    assert!(missing.contains("absent.pem"), "{missing}");
    let no_key = tls_config(&fixture("server.pem"), &fixture("ca.pem")).expect_err("no key in ca.pem");
    assert!(no_key.contains("private key"), "{no_key}");
}

#[tokio::test]
async fn starttls_is_offered_then_withdrawn_and_required_before_mail() {
    let tls = tls_config(&fixture("server.pem"), &fixture("server.key")).expect("tls");
    let (addr, sink, _) = start(SmtpSettings { tls: Some(tls), require_tls: true, ..settings() }, done()).await;
    let mut client = Client::connect(addr).await;
    assert!(client.command("EHLO c").await.contains("250-STARTTLS"));
    assert!(client.command("MAIL FROM:<a@example.org>").await.starts_with("530 5.7.0"));
    assert!(client.command("STARTTLS").await.starts_with("220 2.0.0"));
    let mut client = client.start_tls().await;
    // RFC 3207: the session starts over, so MAIL needs a new EHLO, which no longer offers STARTTLS.
    assert!(client.command("MAIL FROM:<a@example.org>").await.starts_with("503 5.5.1"));
    let ehlo = client.command("EHLO c").await;
    assert!(!ehlo.contains("STARTTLS") && ehlo.contains("SIZE"), "{ehlo}");
    assert!(client.command("STARTTLS").await.starts_with("503"));
    for line in ["MAIL FROM:<a@example.org>", "RCPT TO:<a@relais.example.fr>", "DATA"] {
        assert!(!client.command(line).await.starts_with('5'), "{line}");
    }
    assert_eq!(client.command("Subject: secret\r\n\r\nhi\r\n.").await, "250 2.0.0 Message accepted");
    assert_eq!(sink.got.lock().expect("lock")[0].0, b"Subject: secret\r\n\r\nhi\r\n");
}

#[tokio::test]
async fn plain_text_pipelined_after_starttls_is_dropped() {
    let tls = tls_config(&fixture("server.pem"), &fixture("server.key")).expect("tls");
    let (addr, _, _) = start(SmtpSettings { tls: Some(tls), ..settings() }, done()).await;
    let mut client = Client::connect(addr).await;
    client.command("EHLO c").await;
    // An injected command must not run inside the TLS session (CVE-2011-0411): after the handshake the
    // server answers nothing until the client speaks, so NOOP's reply (not HELP's 214) comes first.
    client.send("STARTTLS\r\nHELP\r\n").await;
    assert!(client.reply().await.starts_with("220 2.0.0"));
    let mut client = client.start_tls().await;
    assert_eq!(client.command("NOOP").await, "250 2.0.0 OK");
}
