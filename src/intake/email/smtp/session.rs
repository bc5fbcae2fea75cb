//! One SMTP/LMTP conversation: the command state machine, its replies, and the hand-over to the sink.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use smtp_proto::{MAIL_BODY_BINARYMIME, MailFrom, RcptTo, Request};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::conn::{Closed, Conn, Data};
use crate::intake::email::authenticate::Arrival;
use crate::intake::email::sink::{Delivery, DeliveryResult};

/// Refused commands tolerated per connection before it is closed (a client that is lost or probing).
const MAX_ERRORS: u32 = 10;
/// Recipients per transaction; relais needs one, a handful covers LMTP fan-out.
const MAX_RECIPIENTS: usize = 100;

/// Whether to keep reading commands.
enum Flow {
    Continue,
    Close,
}

struct Session {
    shared: Arc<Shared>,
    conn: Conn,
    peer: IpAddr,
    /// The EHLO/HELO/LHLO name; `None` until the client greeted (again, after STARTTLS).
    helo: Option<String>,
    mail_from: Option<String>,
    recipients: Vec<String>,
    errors: u32,
}

/// Serves one connection to its end; failures are the client's and are only logged.
pub(super) async fn run(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, shutdown: CancellationToken) {
    let conn = Conn::new(stream, shared.settings.command_timeout);
    let peer = peer.ip().to_canonical();
    let mut session = Session { shared, conn, peer, helo: None, mail_from: None, recipients: Vec::new(), errors: 0 };
    match session.converse(&shutdown).await {
        Ok(()) | Err(Closed::Eof) => {}
        Err(Closed::Timeout) => {
            tracing::debug!(%peer, "mail client timed out");
            // RFC 5321 4.5.3.2: the server may close a stalled session, saying so first.
            let _ = session.conn.reply(421, "4.4.2", "Timeout waiting for the client, closing connection").await;
        }
        Err(e) => tracing::debug!(%peer, error = %e, "mail session ended"),
    }
    session.conn.close().await;
}

impl Session {
    async fn converse(&mut self, shutdown: &CancellationToken) -> Result<(), Closed> {
        let settings = &self.shared.settings;
        let greeting = format!("{} {} relais ready", settings.hostname, if settings.lmtp { "LMTP" } else { "ESMTP" });
        self.conn.reply(220, "2.0.0", &greeting).await?;
        loop {
            let deadline = Instant::now() + self.shared.settings.command_timeout;
            let request = tokio::select! {
                _ = shutdown.cancelled() => {
                    return self.conn.reply(421, "4.3.2", "Service shutting down, try again later").await;
                }
                request = self.conn.next_request(deadline) => request?,
            };
            let flow = match request {
                Ok(request) => self.handle(request).await?,
                Err(e) => self.parse_error(e).await?,
            };
            if let Flow::Close = flow {
                return Ok(());
            }
        }
    }

    async fn handle(&mut self, request: Request<String>) -> Result<Flow, Closed> {
        let lmtp = self.shared.settings.lmtp;
        match request {
            Request::Ehlo { host } if !lmtp => self.ehlo(host).await,
            Request::Lhlo { host } if lmtp => self.ehlo(host).await,
            Request::Helo { host } if !lmtp => {
                self.reset();
                self.helo = Some(host);
                let hostname = self.shared.settings.hostname.clone();
                self.ok(250, "2.0.0", &hostname).await
            }
            Request::Ehlo { .. } | Request::Helo { .. } if lmtp => {
                self.refuse(500, "5.5.1", "This is an LMTP server: greet with LHLO").await
            }
            Request::Lhlo { .. } => self.refuse(500, "5.5.1", "This is an SMTP server: greet with EHLO or HELO").await,
            Request::StartTls => self.start_tls().await,
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data().await,
            Request::Rset => {
                self.reset();
                self.ok(250, "2.0.0", "OK").await
            }
            Request::Noop { .. } => self.ok(250, "2.0.0", "OK").await,
            Request::Vrfy { .. } => self.ok(252, "2.5.0", "Cannot verify the user, but will try delivery").await,
            Request::Help { .. } => self.ok(214, "2.0.0", "See RFC 5321").await,
            Request::Quit => {
                self.conn.reply(221, "2.0.0", "Bye").await?;
                Ok(Flow::Close)
            }
            other => self.refuse(502, "5.5.1", &format!("{} is not implemented", other.name())).await,
        }
    }

    /// EHLO (or LHLO): a fresh start, and the extensions this receiver really implements.
    async fn ehlo(&mut self, host: String) -> Result<Flow, Closed> {
        self.reset();
        self.helo = Some(host);
        let settings = &self.shared.settings;
        let mut lines = vec![settings.hostname.clone(), "PIPELINING".into(), "8BITMIME".into(), "SMTPUTF8".into()];
        lines.push(format!("SIZE {}", settings.max_message_size));
        if self.shared.tls.is_some() && !self.conn.is_tls() {
            lines.push("STARTTLS".into());
        }
        lines.push("ENHANCEDSTATUSCODES".into());
        let mut reply = String::new();
        for (i, line) in lines.iter().enumerate() {
            let separator = if i + 1 == lines.len() { ' ' } else { '-' };
            reply.push_str(&format!("250{separator}{line}\r\n"));
        }
        self.conn.write(reply.as_bytes()).await?;
        Ok(Flow::Continue)
    }

    /// RFC 3207: after the handshake the client starts over, greeting included.
    async fn start_tls(&mut self) -> Result<Flow, Closed> {
        let Some(acceptor) = self.shared.tls.clone() else {
            return self.refuse(502, "5.5.1", "STARTTLS is not available").await;
        };
        if self.conn.is_tls() {
            return self.refuse(503, "5.5.1", "TLS is already active").await;
        }
        self.conn.reply(220, "2.0.0", "Ready to start TLS").await?;
        let deadline = Instant::now() + self.shared.settings.command_timeout;
        if let Err(e) = self.conn.start_tls(&acceptor, deadline).await {
            tracing::debug!(peer = %self.peer, error = %e, "STARTTLS handshake failed");
            return Ok(Flow::Close);
        }
        self.reset();
        self.helo = None;
        Ok(Flow::Continue)
    }

    async fn mail(&mut self, from: MailFrom<String>) -> Result<Flow, Closed> {
        let settings = &self.shared.settings;
        let max = settings.max_message_size;
        if self.helo.is_none() {
            let greet = if settings.lmtp { "LHLO" } else { "EHLO" };
            return self.refuse(503, "5.5.1", &format!("Send {greet} first")).await;
        }
        if settings.require_tls && !self.conn.is_tls() {
            return self.refuse(530, "5.7.0", "Must issue a STARTTLS command first").await;
        }
        if self.mail_from.is_some() {
            return self.refuse(503, "5.5.1", "Sender already given").await;
        }
        if from.size as u64 > max {
            return self.refuse(552, "5.3.4", &format!("Message size exceeds the limit of {max} bytes")).await;
        }
        if from.flags & MAIL_BODY_BINARYMIME != 0 {
            return self.refuse(504, "5.5.4", "BODY=BINARYMIME is not supported").await;
        }
        self.mail_from = Some(from.address);
        self.ok(250, "2.1.0", "Sender OK").await
    }

    async fn rcpt(&mut self, to: RcptTo<String>) -> Result<Flow, Closed> {
        if self.mail_from.is_none() {
            return self.refuse(503, "5.5.1", "Send MAIL first").await;
        }
        if self.recipients.len() >= MAX_RECIPIENTS {
            return self.ok(452, "4.5.3", "Too many recipients").await;
        }
        let domains = &self.shared.settings.accept_domains;
        if !accepts(domains, &to.address) {
            let reason = format!("relais accepts mail for {} only", domains.join(", "));
            return self.refuse(550, "5.1.1", &reason).await;
        }
        self.recipients.push(to.address);
        self.ok(250, "2.1.5", "Recipient OK").await
    }

    async fn data(&mut self) -> Result<Flow, Closed> {
        if self.mail_from.is_none() {
            return self.refuse(503, "5.5.1", "Send MAIL first").await;
        }
        if self.recipients.is_empty() {
            return self.refuse(503, "5.5.1", "No valid recipients").await;
        }
        self.conn.reply(354, "", "End data with <CR><LF>.<CR><LF>").await?;
        let settings = &self.shared.settings;
        let (max, deadline) = (settings.max_message_size, Instant::now() + settings.data_timeout);
        let data = self.conn.read_data(max, deadline).await?;
        let replies = match data {
            Data::Complete(message) => self.deliver(&message).await,
            Data::TooLarge => {
                let text = format!("Message size exceeds the limit of {max} bytes");
                vec![(552, "5.3.4", text); self.reply_count()]
            }
        };
        self.reset();
        for (code, esc, text) in replies {
            self.conn.reply(code, esc, &text).await?;
        }
        Ok(Flow::Continue)
    }

    /// Hands the message to the sink and returns the replies. SMTP delivers once, to the first recipient:
    /// the pipeline needs a single address (for its +tag) and one message must not become several letters.
    /// LMTP delivers per recipient, one reply each (RFC 2033).
    async fn deliver(&self, message: &[u8]) -> Vec<(u16, &'static str, String)> {
        let recipients = &self.recipients[..self.reply_count()];
        let mut replies = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let arrival = Arrival::Smtp {
                peer: self.peer,
                helo: self.helo.clone().unwrap_or_default(),
                mail_from: self.mail_from.clone().unwrap_or_default(),
            };
            let delivery = Delivery { raw: message, arrival, recipient, channel: "smtp" };
            let result = self.shared.sink.deliver(delivery).await;
            tracing::info!(peer = %self.peer, %recipient, bytes = message.len(), ?result, "mail received");
            replies.push(match result {
                DeliveryResult::Done { .. } => {
                    self.shared.liveness.delivered();
                    (250, "2.0.0", "Message accepted".to_owned())
                }
                DeliveryResult::Transient(reason) => (451, "4.3.0", reason),
                DeliveryResult::Permanent(reason) => (554, "5.6.0", reason),
            });
        }
        replies
    }

    /// Replies owed after DATA: one in SMTP, one per accepted recipient in LMTP.
    fn reply_count(&self) -> usize {
        if self.shared.settings.lmtp { self.recipients.len() } else { 1 }
    }

    async fn parse_error(&mut self, error: smtp_proto::Error) -> Result<Flow, Closed> {
        use smtp_proto::Error as E;
        match error {
            E::UnknownCommand => self.refuse(500, "5.5.1", "Unrecognized command").await,
            E::ResponseTooLong => self.refuse(500, "5.5.2", "Line too long").await,
            E::InvalidSenderAddress => self.refuse(501, "5.1.7", "Invalid sender address").await,
            E::InvalidRecipientAddress => self.refuse(501, "5.1.3", "Invalid recipient address").await,
            E::SyntaxError { syntax } => self.refuse(501, "5.5.2", &format!("Syntax: {syntax}")).await,
            E::InvalidParameter { param } => self.refuse(501, "5.5.4", &format!("Invalid {param} parameter")).await,
            E::UnsupportedParameter { param } => {
                self.refuse(504, "5.5.4", &format!("Unsupported parameter {param}")).await
            }
            E::NeedsMoreData { .. } | E::InvalidResponse { .. } => self.refuse(500, "5.5.2", "Syntax error").await,
        }
    }

    async fn ok(&mut self, code: u16, esc: &str, text: &str) -> Result<Flow, Closed> {
        self.conn.reply(code, esc, text).await?;
        Ok(Flow::Continue)
    }

    /// A refused command; too many of them end the connection.
    async fn refuse(&mut self, code: u16, esc: &str, text: &str) -> Result<Flow, Closed> {
        self.conn.reply(code, esc, text).await?;
        self.errors += 1;
        if self.errors < MAX_ERRORS {
            return Ok(Flow::Continue);
        }
        self.conn.reply(421, "4.7.0", "Too many errors, closing connection").await?;
        Ok(Flow::Close)
    }

    /// Forgets the mail transaction (RSET, EHLO, after DATA), keeping the greeting.
    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }
}

/// Whether `address` belongs to one of the accepted domains (compared case-insensitively, a trailing
/// dot ignored; internationalised domains compare by their Unicode lowercase).
fn accepts(domains: &[String], address: &str) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_lowercase();
    domains.iter().any(|accepted| accepted.trim_end_matches('.').to_lowercase() == domain)
}
