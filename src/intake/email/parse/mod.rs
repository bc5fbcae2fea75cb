//! Reads a letter request out of a raw email: screens out auto-replies, bounces and mailing lists, picks the
//! template, finds the `Key: value` lines (own text, forwards, quotes, attached .eml), keeps the real
//! attachments and lists every missing piece. Pure: no network, no store, no validation of values.

mod fields;
mod html;
mod lines;
mod mime;
mod problems;
mod screen;
#[cfg(test)]
mod tests;

use mail_parser::{Address, HeaderValue, Message, MessageParser};
use sha2::{Digest, Sha256};

use std::sync::Arc;

use crate::render::LetterTemplate;

pub use lines::fold;

/// What an email asks for, before the letter pipeline validates it (recipient and variables are checked
/// again there with the same rules as the HTTP API).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EmailRequest {
    /// Without the angle brackets.
    pub message_id: Option<String>,
    /// SHA-256 hex of the raw bytes: dedupe across channels.
    pub content_sha256: String,
    /// The From address, domain lowercased.
    pub from: String,
    pub subject: String,
    /// French unless the body's keys are mostly English.
    pub language: Language,
    /// From the receiving address's `+tag`, else a `[tag]` in the subject, else the account's default.
    pub template: String,
    pub recipient: RecipientFields,
    /// By variable name, raw text values as written.
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub reference: Option<String>,
    pub attachments: Vec<EmailAttachment>,
    /// Reply-To if present, for answering.
    pub reply_to: Option<String>,
    /// This message's Message-ID, to thread the answer.
    pub in_reply_to: Option<String>,
    /// This message's References (or its In-Reply-To when it has none), without angle brackets.
    pub references: Vec<String>,
    /// The sender named by an `Expéditeur :` / `Pour le compte de :` / `Sender:` line, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_line: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Language {
    French,
    English,
}

/// The recipient as written in the email; kind is "professional" | "individual" | None.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RecipientFields {
    pub kind: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub address_lines: Vec<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

/// A file the requester attached: not inline signature images or logos, not the attached .eml itself
/// (whose own attachments are listed instead).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EmailAttachment {
    pub filename: String,
    pub content_type: String,
    #[serde(skip)]
    pub bytes: bytes::Bytes,
    pub size: usize,
    pub sha256: String,
}

/// One thing wrong with the email, for the rejection reply: `field` is the key to add or fix (in the
/// email's language, e.g. "Email", "Code postal"), `message` says what to do, in that language, e.g.
/// "Il manque l'adresse e-mail du destinataire : ajoutez une ligne `Email: …`".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Why the email is not a request at all (no reply for these: no mail loops).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Ignored {
    AutoReply,
    Bounce,
    MailingList,
    Unparseable,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Parsed {
    Request(EmailRequest),
    /// A request with problems: every problem at once.
    Rejected {
        request: EmailRequest,
        problems: Vec<Problem>,
    },
    Ignored(Ignored),
}

/// What the pipeline knows beyond the bytes.
pub struct ParseOptions<'a> {
    /// The template named by the receiving address's `+tag`, if any.
    pub template_tag: Option<&'a str>,
    /// Subject tags that name a sender, not a template (`[dupont-sarl]`).
    pub sender_tags: &'a [String],
    /// The earlier emails of a request this one continues (a reply to a rejection), oldest first: their
    /// lines count after this one's (later lines win) and their attachments come first.
    pub earlier: &'a [Vec<u8>],
    pub templates: &'a [Arc<LetterTemplate>],
    /// The sender account's default template.
    pub default_template: &'a str,
}

/// Parses raw RFC 5322 bytes. `to` is the envelope/To address that received it (for the +template part);
/// `default_template` is the sender account's default.
///
/// Bytes with no header or no From address are `Unparseable`: there is nobody to answer.
pub fn parse_email(raw: &[u8], to: &str, templates: &[Arc<LetterTemplate>], default_template: &str) -> Parsed {
    let tag = fields::plus_tag(to);
    let options =
        ParseOptions { template_tag: tag.as_deref(), sender_tags: &[], earlier: &[], templates, default_template };
    parse_request(raw, &options)
}

/// Parses raw RFC 5322 bytes as [`parse_email`] does, with what the pipeline knows (see [`ParseOptions`]).
pub fn parse_request(raw: &[u8], options: &ParseOptions<'_>) -> Parsed {
    let Some(mut message) = MessageParser::default().parse(raw) else {
        return Parsed::Ignored(Ignored::Unparseable);
    };
    if message.headers().is_empty() {
        return Parsed::Ignored(Ignored::Unparseable);
    }
    if let Some(why) = screen::ignored(&message) {
        return Parsed::Ignored(why);
    }
    let Some(from) = first_address(message.from()) else {
        return Parsed::Ignored(Ignored::Unparseable);
    };
    let subject = message.subject().unwrap_or_default().trim().to_owned();
    let mut content = mime::collect(&mut message);
    add_earlier(&mut content, options.earlier);
    let templates = options.templates;
    let choice = fields::choose_template(
        options.template_tag,
        &subject,
        options.sender_tags,
        templates,
        options.default_template,
    );
    let scan = lines::scan(&content.texts, &choice.variables(templates));
    let language = scan.language();
    let found = fields::assemble(&scan);
    let problems = problems::problems(&found, &choice, templates, language);
    let request = EmailRequest {
        message_id: message.message_id().map(str::to_owned),
        content_sha256: hex::encode(Sha256::digest(raw)),
        from,
        subject,
        language,
        template: choice.name.clone(),
        recipient: found.recipient,
        variables: found.variables,
        reference: found.reference,
        attachments: content.attachments,
        reply_to: first_address(message.reply_to()),
        in_reply_to: message.message_id().map(str::to_owned),
        references: references(&message),
        sender_line: found.sender,
    };
    if problems.is_empty() { Parsed::Request(request) } else { Parsed::Rejected { request, problems } }
}

/// The texts of earlier emails go after this one's, latest first (the first occurrence of a line wins, so
/// later lines win); their attachments go before this one's, oldest first.
fn add_earlier(content: &mut mime::Content, earlier: &[Vec<u8>]) {
    let mut attachments = vec![];
    for raw in earlier.iter().rev() {
        let Some(mut message) = MessageParser::default().parse(raw.as_slice()) else { continue };
        let old = mime::collect(&mut message);
        content.texts.extend(old.texts);
        attachments.splice(0..0, old.attachments);
    }
    attachments.append(&mut content.attachments);
    content.attachments = attachments;
}

/// The first address of an address header, its domain lowercased (the local part is case-sensitive).
fn first_address(address: Option<&Address<'_>>) -> Option<String> {
    let address = address?.first()?.address()?.trim();
    if address.is_empty() {
        return None;
    }
    Some(match address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => address.to_owned(),
    })
}

/// What an answer's References must continue: the message's References, or its In-Reply-To when it has
/// none (RFC 5322 §3.6.4); the answering code appends the message's own id.
fn references(message: &Message<'_>) -> Vec<String> {
    let ids = |value: &HeaderValue<'_>| -> Vec<String> {
        match value {
            HeaderValue::Text(id) => vec![id.to_string()],
            HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
            _ => vec![],
        }
    };
    let references = ids(message.references());
    if references.is_empty() { ids(message.in_reply_to()) } else { references }
}
