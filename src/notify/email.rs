//! Sending email: written as `.eml` files into an outbox folder, or sent through an SMTP server.

use std::path::PathBuf;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSettings, MailTransportKind, SmtpTls};

/// An email to send: plain text, with optional attachments.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<EmailAttachment>,
    /// Names the outbox file (letter id and notice kind), so an operator can find it.
    pub tag: String,
    /// Set when this email answers one: threads it and marks it `Auto-Submitted: auto-replied`.
    pub answering: Option<Thread>,
    /// A Message-ID of our choosing (without angle brackets), when a reply must find its way back.
    pub message_id: Option<String>,
}

/// The message an answer replies to (RFC 5322 threading).
#[derive(Debug, Clone)]
pub struct Thread {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// Its References, without angle brackets.
    pub references: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EmailAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the email could not be built: {0}")]
    Build(String),
    #[error("the outbox could not be written: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("the SMTP server refused or failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// SMTP replies that say the server would not let relais in (530 authentication required, 534 mechanism
/// too weak, 535 bad credentials, 538 encryption required): the operator fixes the account or the server
/// recovers, and the same email then goes through.
const ACCESS_REPLIES: [&str; 4] = ["530", "534", "535", "538"];

impl MailError {
    /// A full disk, a lost connection, a 4xx reply or a refused login may pass; a malformed email or a 5xx
    /// about the message or its recipient will not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Build(_) => false,
            Self::Outbox(_) => true,
            Self::Smtp(e) => match e.status() {
                Some(code) => !e.is_permanent() || ACCESS_REPLIES.contains(&code.to_string().as_str()),
                None => true,
            },
        }
    }
}

/// `Auto-Submitted` (RFC 3834): `auto-generated` for notices, `auto-replied` for answers; well-behaved mail
/// systems answer neither, which keeps relais out of mail loops.
#[derive(Clone)]
struct AutoSubmitted(&'static str);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(value: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(if value.trim() == "auto-replied" { "auto-replied" } else { "auto-generated" }))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_owned())
    }
}

#[derive(Clone)]
enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends the emails relais writes. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Self, MailError> {
        let from: Mailbox = settings.from.parse().map_err(|e| MailError::Build(format!("mail.from: {e}")))?;
        let transport = match settings.transport {
            MailTransportKind::File => Transport::Outbox(settings.outbox_dir.clone()),
            MailTransportKind::Smtp => Transport::Smtp(smtp_transport(settings)?),
        };
        Ok(Self { from, transport })
    }

    /// A Message-ID (without angle brackets) under the domain relais sends from.
    pub fn message_id(&self, local: &str) -> String {
        format!("{local}@{}", self.from.email.domain())
    }

    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.build(email)?;
        match &self.transport {
            Transport::Outbox(dir) => write_to_outbox(dir, &email.tag, &message.formatted()).await,
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(MailError::from),
        }
    }

    fn build(&self, email: &OutgoingEmail) -> Result<Message, MailError> {
        let to: Mailbox = email.to.parse().map_err(|e| MailError::Build(format!("recipient `{}`: {e}", email.to)))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .message_id(email.message_id.as_ref().map(|id| format!("<{id}>")));
        builder = match &email.answering {
            Some(thread) => {
                let mut references: Vec<String> = thread.references.iter().map(|r| format!("<{r}>")).collect();
                references.push(format!("<{}>", thread.message_id));
                builder
                    .in_reply_to(format!("<{}>", thread.message_id))
                    .references(references.join(" "))
                    .header(AutoSubmitted("auto-replied"))
            }
            None => builder.header(AutoSubmitted("auto-generated")),
        };
        let text = SinglePart::plain(email.body.clone());
        let result = if email.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for a in &email.attachments {
                let content_type =
                    ContentType::parse(&a.content_type).map_err(|e| MailError::Build(format!("content type: {e}")))?;
                parts = parts.singlepart(Attachment::new(a.filename.clone()).body(a.bytes.clone(), content_type));
            }
            builder.multipart(parts)
        };
        result.map_err(|e| MailError::Build(e.to_string()))
    }
}

fn smtp_transport(s: &MailSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = |host: &str| TlsParameters::new(host.to_owned()).map_err(MailError::from);
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.smtp_host)
        .port(s.smtp_port)
        .timeout(Some(s.smtp_timeout))
        .tls(match s.smtp_tls {
            SmtpTls::Starttls => Tls::Required(tls(&s.smtp_host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&s.smtp_host)?),
            SmtpTls::None => Tls::None,
        });
    if !s.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(s.smtp_username.clone(), s.smtp_password.expose().to_owned()));
    }
    Ok(builder.build())
}

/// Writes the message under a temporary name, then renames it: a reader never sees half an email.
async fn write_to_outbox(dir: &std::path::Path, tag: &str, bytes: &[u8]) -> Result<(), MailError> {
    tokio::fs::create_dir_all(dir).await?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let unique = ulid::Ulid::new().to_string().to_ascii_lowercase();
    let name = format!("{stamp}-{tag}-{}.eml", &unique[20..]);
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, dir.join(name)).await?;
    Ok(())
}
